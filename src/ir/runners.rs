//! runners.yaml lowered into a [`RunnerTable`]: runner type → node names, in file order.
//!
//! Checks REFERENCE-SEMANTICS §1.7 (value not a list, non-string node, empty list) and, beyond
//! the reference, duplicate runner types. Both formats are read: the Feb-2026 flat map, and
//! today's `labels:` (the same map) plus `hardware:` (host facts for DRAM offload sizing,
//! INFERENCEX-HEAD §1.11), told apart by a top-level `labels` mapping. Today's file writes
//! integers with underscores (`3_095_781`), which YAML 1.1 (InferenceX's reader) takes as
//! integers; so does this module. Reading the file is the caller's job.

use std::collections::HashMap;

use crate::diag::Diag;
use crate::ir::{Format, Hardware, RunnerTable, RunnerType};
use crate::source::{FileId, SourceMap, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

/// Lowers a runners file, appending diagnostics.
pub fn lower_runners(sources: &SourceMap, file: FileId, diags: &mut Vec<Diag>) -> RunnerTable {
    match yaml::parse(file, &sources.get(file).text) {
        Ok(root) => lower_runners_root(sources, file, &root, diags),
        Err(diag) => {
            diags.push(diag);
            RunnerTable::default()
        }
    }
}

/// Lowers the parsed YAML tree of a runners file, appending diagnostics.
pub fn lower_runners_root(sources: &SourceMap, file: FileId, root: &Node, diags: &mut Vec<Diag>) -> RunnerTable {
    let source = sources.get(file);
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
    let labels =
        entries.iter().find(|(key, value)| key.as_str() == Some("labels") && matches!(value.kind, NodeKind::Map(_)));
    if let Some((_, labels)) = labels {
        return lower_head_runners(entries, labels, diags);
    }
    lower_labels(entries, diags)
}

/// Today's runners.yaml: `labels:` (checked like a Feb file) and optional `hardware:`; any
/// other top-level section is an error.
fn lower_head_runners(entries: &[(Node, Node)], labels: &Node, diags: &mut Vec<Diag>) -> RunnerTable {
    let NodeKind::Map(label_entries) = &labels.kind else { return RunnerTable::default() };
    let mut table = lower_labels(label_entries, diags);
    table.format = Format::Head;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (key, value) in entries {
        let name = key.as_str().unwrap_or("");
        if let Some(first) = seen.get(name) {
            diags.push(
                Diag::error("ix::runners::duplicate-section", format!("section `{name}` is defined twice"))
                    .at(key.span, "defined again here")
                    .also(*first, "first defined here"),
            );
            continue;
        }
        seen.insert(name, key.span);
        match name {
            "labels" => {}
            "hardware" => table.hardware = lower_hardware(value, diags),
            _ => diags.push(
                Diag::error(
                    "ix::runners::unknown-section",
                    format!("unknown top-level section `{name}` in runner config"),
                )
                .at(key.span, "unknown section")
                .help("today's runners.yaml holds only `labels` and `hardware`"),
            ),
        }
    }
    table
}

/// `hardware:` entries: exactly `available-cpu-dram-mib` and `gpus-per-node`, both integers > 0.
fn lower_hardware(node: &Node, diags: &mut Vec<Diag>) -> Vec<Hardware> {
    let NodeKind::Map(entries) = &node.kind else {
        if node.kind != NodeKind::Null {
            diags.push(
                Diag::error(
                    "ix::runners::invalid-hardware",
                    format!("`hardware` must be a mapping, found {}", node.type_name()),
                )
                .at(node.span, "expected a mapping of labels to host facts"),
            );
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            diags.push(
                Diag::error("ix::runners::invalid-type", "hardware keys must be strings")
                    .at(key.span, format!("found {}", key.type_name())),
            );
            continue;
        };
        if out.iter().any(|h: &Hardware| h.key.value == name) {
            diags.push(
                Diag::error("ix::runners::duplicate-hardware", format!("hardware entry `{name}` is defined twice"))
                    .at(key.span, "defined again here"),
            );
            continue;
        }
        let NodeKind::Map(fields) = &value.kind else {
            diags.push(
                Diag::error("ix::runners::invalid-hardware", format!("hardware entry `{name}` must be a mapping"))
                    .at(value.span, format!("found {}", value.type_name())),
            );
            continue;
        };
        let mut dram = None;
        let mut gpus = None;
        let mut ok = true;
        for (field, field_value) in fields {
            let slot = match field.as_str() {
                Some("available-cpu-dram-mib") => &mut dram,
                Some("gpus-per-node") => &mut gpus,
                _ => {
                    diags.push(
                        Diag::error(
                            "ix::runners::invalid-hardware",
                            format!("unknown field `{}` in hardware entry `{name}`", field.as_str().unwrap_or("?")),
                        )
                        .at(field.span, "unknown field")
                        .help("valid fields: available-cpu-dram-mib, gpus-per-node"),
                    );
                    ok = false;
                    continue;
                }
            };
            match yaml11_int(field_value) {
                Some(v) if v > 0 => *slot = Some(v),
                _ => {
                    diags.push(
                        Diag::error(
                            "ix::runners::invalid-hardware",
                            format!(
                                "`{}` of hardware entry `{name}` must be a positive integer",
                                field.as_str().unwrap_or("?")
                            ),
                        )
                        .at(field_value.span, "expected an integer of at least 1"),
                    );
                    ok = false;
                }
            }
        }
        for (field, slot) in [("available-cpu-dram-mib", dram), ("gpus-per-node", gpus)] {
            if slot.is_none() && ok {
                diags.push(
                    Diag::error("ix::runners::invalid-hardware", format!("hardware entry `{name}` lacks `{field}`"))
                        .at(key.span, format!("`{field}` is required")),
                );
                ok = false;
            }
        }
        if let (true, Some(available_cpu_dram_mib), Some(gpus_per_node)) = (ok, dram, gpus) {
            out.push(Hardware { key: Spanned::new(name.to_string(), key.span), available_cpu_dram_mib, gpus_per_node });
        }
    }
    out
}

/// An integer as YAML 1.1 reads it: a plain integer, or digits with `_` separators.
fn yaml11_int(node: &Node) -> Option<i64> {
    match &node.kind {
        NodeKind::Int(value) => Some(*value),
        NodeKind::Str(text) => {
            let digits = text.strip_prefix('+').unwrap_or(text);
            let valid = digits.starts_with(|c: char| c.is_ascii_digit())
                && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
            if valid { digits.replace('_', "").parse().ok() } else { None }
        }
        _ => None,
    }
}

/// A map of runner types (labels) to node lists, as in a Feb-2026 runners.yaml.
fn lower_labels(entries: &[(Node, Node)], diags: &mut Vec<Diag>) -> RunnerTable {
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
