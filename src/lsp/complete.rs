//! Completion (field names valid at the cursor, enum values, runner and template names), code
//! actions for diagnostics that carry a "did you mean" fix, and formatting (`ix fmt`).

use std::collections::{BTreeSet, HashMap};

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CompletionItem, CompletionItemKind,
    CompletionParams, CompletionResponse, DocumentFormattingParams, TextEdit, WorkspaceEdit,
};

use crate::lsp::{Server, cursor, fields, text};
use crate::source::FileId;
use crate::syntax::ast::Decl;

fn item(label: &str, kind: CompletionItemKind) -> CompletionItem {
    let detail = fields::lookup(label).map(|(ty, doc)| format!("{ty} · {doc}"));
    CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..CompletionItem::default() }
}

pub(crate) fn completion(server: &mut Server, params: &CompletionParams) -> Option<CompletionResponse> {
    let position = &params.text_document_position;
    let doc = server.doc(&position.text_document.uri)?;
    let offset = text::offset(&doc.text, position.position);
    let (_, prefix) = cursor::line_prefix(&doc.text, offset);
    let words: Vec<&str> = prefix.split_whitespace().collect();
    let typing_first = words.is_empty() || (words.len() == 1 && !prefix.ends_with(char::is_whitespace));
    let mut values: Vec<String> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    if doc.is_dsl() {
        let field = if prefix.ends_with(char::is_whitespace) {
            words.last()
        } else {
            words.len().checked_sub(2).and_then(|i| words.get(i))
        };
        // Declared names, from the last parse that worked (or none).
        let (ast, _) = crate::syntax::parse(FileId(0), &doc.text);
        let mut declared: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for decl in ast.iter().flat_map(|file| &file.decls) {
            match &decl.node {
                Decl::Template(block) => {
                    declared.entry("template").or_default().insert(block.name.value.clone());
                }
                Decl::Runner { name, .. } => {
                    declared.entry("runner").or_default().insert(name.value.clone());
                }
                Decl::Enum { name, values, .. } => {
                    declared
                        .entry(if name.value == "precision" { "precision" } else { "framework" })
                        .or_default()
                        .extend(values.iter().map(|v| v.value.clone()));
                }
                _ => {}
            }
        }
        let depth = brace_depth(&doc.text[..offset.min(doc.text.len())]);
        if words.first() == Some(&"sweep") && prefix.contains(':') {
            values.extend(declared.remove("template").unwrap_or_default());
        } else if !typing_first && let Some(field) = field {
            match *field {
                "precision" => {
                    values.extend(crate::ir::lower::PRECISIONS.iter().map(|s| s.to_string()));
                    values.extend(declared.remove("precision").unwrap_or_default());
                }
                "framework" => {
                    values.extend(crate::ir::lower::FRAMEWORKS.iter().map(|s| s.to_string()));
                    values.extend(declared.remove("framework").unwrap_or_default());
                }
                "runner" => {
                    values.extend(declared.remove("runner").unwrap_or_default());
                    values.extend(runner_names(server, &doc.path, &doc.text));
                }
                "spec" => values.extend(fields::SPEC_VALUES.iter().map(|s| s.to_string())),
                _ if depth >= 2 || words.first() == Some(&"at") => keys.extend(fields::DSL_POINT_ITEMS),
                _ => {}
            }
        } else if depth == 0 {
            keys.extend(["template", "sweep", "runner", "enum", "runners"]);
        } else if depth == 1 {
            keys.extend(fields::DSL_FIELDS);
            keys.push("at");
        } else {
            keys.extend(fields::DSL_POINT_ITEMS);
        }
    } else {
        let line = prefix.trim_start().trim_start_matches("- ").trim_start_matches('{').trim_start();
        match line.split_once(':') {
            Some((key, _)) => match key.trim() {
                "precision" => values.extend(crate::ir::lower::PRECISIONS.iter().map(|s| s.to_string())),
                "framework" => values.extend(crate::ir::lower::FRAMEWORKS.iter().map(|s| s.to_string())),
                "runner" => values.extend(runner_names(server, &doc.path, &doc.text)),
                "spec-decoding" => values.extend(fields::SPEC_VALUES.iter().map(|s| s.to_string())),
                "dp-attn" | "multinode" | "disagg" | "kv-offloading" => {
                    values.extend(["true".to_string(), "false".to_string()])
                }
                _ => {}
            },
            None => {
                let parents = cursor::yaml_parents(&doc.text, offset);
                let parent = match parents.len() {
                    0 => return Some(CompletionResponse::Array(Vec::new())),
                    1 => None,
                    _ => parents.last().map(String::as_str),
                };
                keys.extend(fields::yaml_keys(parent));
            }
        }
    }
    let mut items: Vec<CompletionItem> = keys.iter().map(|key| item(key, CompletionItemKind::FIELD)).collect();
    let mut seen = BTreeSet::new();
    items
        .extend(values.iter().filter(|v| seen.insert(v.to_string())).map(|v| item(v, CompletionItemKind::ENUM_MEMBER)));
    Some(CompletionResponse::Array(items))
}

/// `{` minus `}` before the cursor, outside strings and comments.
fn brace_depth(text: &str) -> i32 {
    let mut depth = 0i32;
    for line in text.lines().chain(text.ends_with('\n').then_some("")) {
        let mut in_str = false;
        for ch in line.chars() {
            match ch {
                '"' => in_str = !in_str,
                '#' if !in_str => break,
                '{' if !in_str => depth += 1,
                '}' if !in_str => depth = (depth - 1).max(0),
                _ => {}
            }
        }
    }
    depth
}

/// Runner type names the document's check knows (inline, referenced, or the project's runners file).
fn runner_names(server: &Server, path: &str, text: &str) -> Vec<String> {
    let doc = crate::lsp::Doc { path: path.to_string(), text: text.to_string() };
    server.check_with_runners(&doc).runners.types.iter().map(|r| r.name.value.clone()).collect()
}

#[allow(clippy::mutable_key_type)] // `WorkspaceEdit::changes` is keyed by `Uri`
pub(crate) fn code_actions(server: &mut Server, params: &CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
    server.doc(&params.text_document.uri)?;
    let mut out = Vec::new();
    for diag in &params.context.diagnostics {
        let Some(fix) = diag.data.as_ref().and_then(|data| data.get("replacement")).and_then(|v| v.as_str()) else {
            continue;
        };
        let edit = TextEdit { range: diag.range, new_text: fix.to_string() };
        let changes = HashMap::from([(params.text_document.uri.clone(), vec![edit])]);
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("replace with `{fix}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diag.clone()]),
            edit: Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    Some(out)
}

/// `ix fmt` of a `.ix` buffer: one edit replacing the whole text (none when already formatted;
/// an error when it does not parse).
pub(crate) fn format(server: &mut Server, params: &DocumentFormattingParams) -> Option<Vec<TextEdit>> {
    let doc = server.doc(&params.text_document.uri)?;
    if !doc.is_dsl() {
        return None;
    }
    let (ast, _) = crate::syntax::parse(FileId(0), &doc.text);
    let formatted = crate::syntax::format::format_file(&ast?);
    if formatted == doc.text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit { range: text::range(&doc.text, 0, doc.text.len()), new_text: formatted }])
}
