//! runners.yaml lowered into a [`RunnerTable`]: runner type → node names, in file order.
//!
//! Checks REFERENCE-SEMANTICS §1.7 (value not a list, non-string node, empty list) and, beyond
//! the reference, duplicate runner types. Reading the file is the caller's job.

use std::collections::HashMap;

use crate::diag::Diag;
use crate::ir::{RunnerTable, RunnerType};
use crate::source::{FileId, SourceMap, Span, Spanned};
use crate::yaml::{self, NodeKind};

/// Lowers a runners file, appending diagnostics.
pub fn lower_runners(sources: &SourceMap, file: FileId, diags: &mut Vec<Diag>) -> RunnerTable {
    let source = sources.get(file);
    let root = match yaml::parse(file, &source.text) {
        Ok(root) => root,
        Err(diag) => {
            diags.push(diag);
            return RunnerTable::default();
        }
    };
    let NodeKind::Map(entries) = &root.kind else {
        diags.push(
            Diag::error(
                "ix::runners::not-a-mapping",
                format!("runner config `{}` must map runner types to lists of nodes", source.path),
            )
            .at(root.span, format!("found {}", root.type_name())),
        );
        return RunnerTable::default();
    };
    let mut table = RunnerTable::default();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            diags.push(
                Diag::error("ix::runners::invalid-type", "runner types must be strings")
                    .at(key.span, format!("found {}", key.type_name())),
            );
            continue;
        };
        if let Some(first) = seen.get(name) {
            diags.push(
                Diag::error("ix::runners::duplicate-runner-type", format!("runner type `{name}` is defined twice"))
                    .at(key.span, "defined again here")
                    .also(*first, "first defined here"),
            );
            continue;
        }
        seen.insert(name.to_string(), key.span);
        let NodeKind::Seq(items) = &value.kind else {
            diags.push(
                Diag::error(
                    "ix::runners::not-a-list",
                    format!("runner type `{name}` must be a list of node names, got {}", value.type_name()),
                )
                .at(value.span, "expected a list"),
            );
            continue;
        };
        if items.is_empty() {
            diags.push(
                Diag::error("ix::runners::empty-list", format!("runner type `{name}` cannot be an empty list"))
                    .at(value.span, "no nodes"),
            );
            continue;
        }
        let mut nodes = Vec::new();
        for item in items {
            match item.as_str() {
                Some(node) => {
                    let node = Spanned::new(node.to_string(), item.span);
                    diags.extend(crate::naming::file_name_diag("ix::runners::invalid-node-name", "a node name", &node));
                    nodes.push(node);
                }
                None => diags.push(
                    Diag::error(
                        "ix::runners::invalid-node",
                        format!("runner type `{name}` must contain only strings (node names)"),
                    )
                    .at(item.span, format!("found {}", item.type_name())),
                ),
            }
        }
        table.types.push(RunnerType { name: Spanned::new(name.to_string(), key.span), nodes });
    }
    table
}
