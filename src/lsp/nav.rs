//! Go to definition, find references and document symbols.

use std::collections::BTreeSet;

use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams, GotoDefinitionResponse,
    Location, Range, ReferenceParams, SymbolKind, Uri,
};

use crate::lsp::hover::{Target, target, with_plan};
use crate::lsp::{Doc, Server, cursor, path_to_uri, text};
use crate::source::{FileId, Span, Spanned};
use crate::syntax::ast::{BodyItem, Decl, Field, File, PointLine, Value};
use crate::yaml::{self, Node, NodeKind};

/// Names declared in a `.ix` file and where they are used.
#[derive(Default)]
struct DslNames {
    /// (kind, name, span): `template`, `runner`, `precision`/`framework` (enum values).
    decls: Vec<(&'static str, String, Span)>,
    /// (kind, name, span) of every use.
    uses: Vec<(&'static str, String, Span)>,
}

fn dsl_names(file: &File) -> DslNames {
    let mut names = DslNames::default();
    for decl in &file.decls {
        match &decl.node {
            Decl::Template(block) | Decl::Sweep(block) => {
                if matches!(decl.node, Decl::Template(_)) {
                    names.decls.push(("template", block.name.value.clone(), block.name.span));
                }
                for parent in &block.parents {
                    names.uses.push(("template", parent.value.clone(), parent.span));
                }
                for item in &block.items {
                    if let BodyItem::Field(Field { name, value: Some(value), .. }) = &item.node
                        && let Value::Ident(text) | Value::Str(text) = &value.value
                    {
                        let kind = match name.value.as_str() {
                            "runner" => "runner",
                            "precision" => "precision",
                            "framework" => "framework",
                            _ => continue,
                        };
                        names.uses.push((kind, text.clone(), value.span));
                    }
                }
            }
            Decl::Runner { name, .. } => names.decls.push(("runner", name.value.clone(), name.span)),
            Decl::Enum { name, values, .. } => {
                let kind = if name.value == "precision" { "precision" } else { "framework" };
                for value in values {
                    names.decls.push((kind, value.value.clone(), value.span));
                }
            }
            _ => {}
        }
    }
    names
}

fn location(root: &std::path::Path, path: &str, file_text: &str, span: Option<Span>) -> Option<Location> {
    let uri: Uri = path_to_uri(root, path).parse().ok()?;
    let range = span.map_or(Range::default(), |span| text::range(file_text, span.start as usize, span.end as usize));
    Some(Location { uri, range })
}

/// The runner type `name` in the runners files the document's check read (its span there).
fn runner_def(server: &Server, doc: &Doc, name: &str) -> Option<Location> {
    let checked = server.check_with_runners(doc);
    let runner: &Spanned<String> = &checked.runners.types.iter().find(|r| r.name.value == name)?.name;
    let source = checked.sources.get(runner.span.file);
    location(&server.root, &source.path, &source.text, Some(runner.span))
}

pub(crate) fn definition(server: &mut Server, params: &GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let position = &params.text_document_position_params;
    let doc = server.doc(&position.text_document.uri)?;
    let offset = text::offset(&doc.text, position.position);
    let (word, _, _) = cursor::word_at(&doc.text, offset);
    let inside = |span: Span| (span.start as usize..=span.end as usize).contains(&offset);
    if doc.is_dsl() {
        if let (Some(ast), _) = crate::syntax::parse(FileId(0), &doc.text) {
            let names = dsl_names(&ast);
            if let Some((kind, name, _)) = names.uses.iter().find(|(_, _, span)| inside(*span)) {
                if let Some((_, _, span)) = names.decls.iter().find(|(k, n, _)| k == kind && n == name) {
                    let uri = position.text_document.uri.clone();
                    let range = text::range(&doc.text, span.start as usize, span.end as usize);
                    return Some(GotoDefinitionResponse::Scalar(Location { uri, range }));
                }
                if *kind == "runner" {
                    return runner_def(server, doc, name).map(GotoDefinitionResponse::Scalar);
                }
            }
        }
    } else {
        let (_, prefix) = cursor::line_prefix(&doc.text, offset);
        if prefix.trim_start().trim_start_matches("- ").starts_with("runner:") {
            return runner_def(server, doc, &word).map(GotoDefinitionResponse::Scalar);
        }
    }
    // A sweep: the benchmark scripts and launchers its jobs resolve to.
    let Target::Entry { key, point } = target(doc, offset) else { return None };
    let path = doc.path.clone();
    let root = server.root.clone();
    let files = with_plan(server, &path, |planned, _| {
        let mut files = BTreeSet::new();
        if let Some(plan) = &planned.plan {
            for task in &plan.graph.tasks {
                if let Some(bench) = &task.bench
                    && planned
                        .expanded
                        .jobs()
                        .get(bench.job_idx)
                        .is_some_and(|job| job.origin.key == key && crate::lsp::hover::in_point(job, point))
                {
                    files.insert(bench.script.to_string());
                    files.insert(bench.launcher.to_string());
                }
            }
        }
        files
    });
    let locations: Vec<Location> = files.iter().filter_map(|file| location(&root, file, "", None)).collect();
    (!locations.is_empty()).then_some(GotoDefinitionResponse::Array(locations))
}

pub(crate) fn references(server: &mut Server, params: &ReferenceParams) -> Option<Vec<Location>> {
    let position = &params.text_document_position;
    let uri = position.text_document.uri.clone();
    let doc = server.doc(&uri)?;
    let offset = text::offset(&doc.text, position.position);
    let (word, _, _) = cursor::word_at(&doc.text, offset);
    let range = |span: Span| text::range(&doc.text, span.start as usize, span.end as usize);
    let mut out = Vec::new();
    if doc.is_dsl() {
        let (Some(ast), _) = crate::syntax::parse(FileId(0), &doc.text) else { return None };
        let names = dsl_names(&ast);
        let inside = |span: Span| (span.start as usize..=span.end as usize).contains(&offset);
        let (kind, name) = names
            .uses
            .iter()
            .chain(&names.decls)
            .find(|(_, _, span)| inside(*span))
            .map(|(kind, name, _)| (*kind, name.clone()))?;
        let all = names.decls.iter().filter(|_| params.context.include_declaration).chain(&names.uses);
        for (k, n, span) in all {
            if *k == kind && *n == name {
                out.push(Location { uri: uri.clone(), range: range(*span) });
            }
        }
    } else {
        // Runner names: every `runner: NAME` of the document, and the runners file's definition.
        for (idx, line) in doc.text.split_inclusive('\n').scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        }) {
            let trimmed = line.trim_start();
            if let Some(value) = trimmed.strip_prefix("runner:") {
                let value_trimmed = value.trim();
                if value_trimmed == word {
                    let col =
                        idx + (line.len() - trimmed.len()) + "runner:".len() + (value.len() - value.trim_start().len());
                    out.push(Location { uri: uri.clone(), range: text::range(&doc.text, col, col + word.len()) });
                }
            }
        }
        if out.is_empty() {
            return None;
        }
        if params.context.include_declaration
            && let Some(def) = runner_def(server, doc, &word)
        {
            out.push(def);
        }
    }
    Some(out)
}

#[allow(deprecated)]
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: Range,
    selection: Range,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: if name.is_empty() { "?".to_string() } else { name },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

pub(crate) fn symbols(server: &mut Server, params: &DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let doc = server.doc(&params.text_document.uri)?;
    let range = |span: Span| text::range(&doc.text, span.start as usize, span.end as usize);
    let mut out = Vec::new();
    if doc.is_dsl() {
        let (Some(ast), _) = crate::syntax::parse(FileId(0), &doc.text) else {
            return Some(DocumentSymbolResponse::Nested(out));
        };
        for decl in &ast.decls {
            match &decl.node {
                Decl::Template(block) | Decl::Sweep(block) => {
                    let (kind, what) = if matches!(decl.node, Decl::Template(_)) {
                        (SymbolKind::CLASS, "template")
                    } else {
                        (SymbolKind::OBJECT, "sweep")
                    };
                    let mut children = Vec::new();
                    for item in &block.items {
                        if let BodyItem::At(at) = &item.node {
                            let seqs: Vec<String> =
                                at.seqs.iter().map(|s| format!("{}/{}", s.isl.value, s.osl.value)).collect();
                            let points = at
                                .points
                                .iter()
                                .filter_map(|line| match &line.node {
                                    PointLine::Point(point) => Some(symbol(
                                        crate::syntax::format::point_text(point),
                                        Some("point".into()),
                                        SymbolKind::FIELD,
                                        range(point.span),
                                        range(point.span),
                                        Vec::new(),
                                    )),
                                    PointLine::Comment(_) => None,
                                })
                                .collect();
                            children.push(symbol(
                                format!("at {}", seqs.join(", ")),
                                None,
                                SymbolKind::NAMESPACE,
                                range(at.span),
                                range(at.span),
                                points,
                            ));
                        }
                    }
                    out.push(symbol(
                        block.name.value.clone(),
                        Some(what.into()),
                        kind,
                        range(block.span),
                        range(block.name.span),
                        children,
                    ));
                }
                Decl::Runner { name, span, .. } => out.push(symbol(
                    name.value.clone(),
                    Some("runner".into()),
                    SymbolKind::INTERFACE,
                    range(*span),
                    range(name.span),
                    Vec::new(),
                )),
                Decl::Enum { name, span, .. } => out.push(symbol(
                    name.value.clone(),
                    Some("enum".into()),
                    SymbolKind::ENUM,
                    range(*span),
                    range(name.span),
                    Vec::new(),
                )),
                _ => {}
            }
        }
    } else if let Ok(root) = yaml::parse(FileId(0), &doc.text)
        && let NodeKind::Map(entries) = &root.kind
    {
        for (key, value) in entries {
            let name = key.as_str().unwrap_or("?").to_string();
            let children = yaml_blocks(value, &range);
            out.push(symbol(
                name,
                Some("sweep".into()),
                SymbolKind::OBJECT,
                range(key.span.to(value.span)),
                range(key.span),
                children,
            ));
        }
    }
    Some(DocumentSymbolResponse::Nested(out))
}

/// The sequence-length blocks of a master-config entry (both formats) with their points.
fn yaml_blocks(entry: &Node, range: &dyn Fn(Span) -> Range) -> Vec<DocumentSymbol> {
    let get = |node: &'_ Node, name: &str| -> Option<Node> {
        match &node.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v.clone()),
            _ => None,
        }
    };
    let mut lists = Vec::new();
    if let Some(list) = get(entry, "seq-len-configs") {
        lists.push(list);
    }
    if let Some(scenarios) = get(entry, "scenarios")
        && let Some(list) = get(&scenarios, "fixed-seq-len")
    {
        lists.push(list);
    }
    let mut out = Vec::new();
    for list in lists {
        let NodeKind::Seq(blocks) = &list.kind else { continue };
        for block in blocks {
            let num = |name| {
                get(block, name).map_or("?".to_string(), |n| match n.kind {
                    NodeKind::Int(v) => v.to_string(),
                    _ => "?".to_string(),
                })
            };
            let points = match get(block, "search-space").map(|n| n.kind) {
                Some(NodeKind::Seq(points)) => points
                    .iter()
                    .map(|point| {
                        symbol(
                            point_label(point),
                            Some("point".into()),
                            SymbolKind::FIELD,
                            range(point.span),
                            range(point.span),
                            Vec::new(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.push(symbol(
                format!("{}/{}", num("isl"), num("osl")),
                None,
                SymbolKind::NAMESPACE,
                range(block.span),
                range(block.span),
                points,
            ));
        }
    }
    out
}

fn point_label(point: &Node) -> String {
    let NodeKind::Map(entries) = &point.kind else { return "point".to_string() };
    let parts: Vec<String> = entries
        .iter()
        .filter_map(|(k, v)| {
            let value = match &v.kind {
                NodeKind::Int(n) => n.to_string(),
                NodeKind::Bool(b) => b.to_string(),
                NodeKind::Str(s) => s.clone(),
                NodeKind::Seq(items) => format!("[{}]", items.len()),
                _ => return None,
            };
            Some(format!("{} {value}", k.as_str()?))
        })
        .collect();
    if parts.is_empty() { "point".to_string() } else { parts.join(" ") }
}
