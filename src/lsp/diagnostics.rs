//! `ix check` diagnostics as LSP `Diagnostic`s, grouped by the file they point into.
//!
//! The code is the `ix` code, the message the `ix` message, the help follows it (`help: …`),
//! secondary labels become related information, and a "did you mean `X`?" help carries its
//! replacement in `data` for the code action.

use std::collections::BTreeMap;

use lsp_server::Notification;
use lsp_types::notification::Notification as _;
use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, PublishDiagnosticsParams,
    Range, Uri,
};

use crate::diag::{Diag, Level};
use crate::lsp::{path_to_uri, text};
use crate::source::{SourceMap, Span};
use crate::workspace::Checked;

/// The diagnostics of one check by URI; those without a location go to `doc_uri`.
pub(crate) fn to_lsp(checked: &Checked, doc_path: &str, doc_uri: &str) -> BTreeMap<String, Vec<Diagnostic>> {
    let uri_of = |path: &str| if path == doc_path { doc_uri.to_string() } else { file_uri(path) };
    let mut out: BTreeMap<String, Vec<Diagnostic>> = BTreeMap::new();
    out.insert(doc_uri.to_string(), Vec::new());
    for diag in &checked.diags {
        let (uri, range) = match &diag.primary {
            Some(label) => {
                (uri_of(&checked.sources.get(label.span.file).path), span_range(&checked.sources, label.span))
            }
            None => (doc_uri.to_string(), Range::default()),
        };
        out.entry(uri).or_default().push(diagnostic(&checked.sources, diag, range));
    }
    out
}

/// The LSP range of a span of a loaded file.
pub(crate) fn span_range(sources: &SourceMap, span: Span) -> Range {
    let text = &sources.get(span.file).text;
    text::range(text, span.start as usize, span.end as usize)
}

fn diagnostic(sources: &SourceMap, diag: &Diag, range: Range) -> Diagnostic {
    let mut message = diag.message.clone();
    if let Some(label) = &diag.primary
        && !label.message.is_empty()
    {
        message.push_str(&format!(" ({})", label.message));
    }
    if let Some(help) = &diag.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related = diag
        .secondary
        .iter()
        .filter_map(|label| {
            let uri: Uri = file_uri(&sources.get(label.span.file).path).parse().ok()?;
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range: span_range(sources, label.span) },
                message: label.message.clone(),
            })
        })
        .collect::<Vec<_>>();
    Diagnostic {
        range,
        severity: Some(match diag.level {
            Level::Error => DiagnosticSeverity::ERROR,
            Level::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diag.code.to_string())),
        source: Some("ix".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data: diag.help.as_deref().and_then(suggestion).map(|fix| serde_json::json!({ "replacement": fix })),
        ..Diagnostic::default()
    }
}

/// The `X` of a "did you mean `X`?" help.
pub(crate) fn suggestion(help: &str) -> Option<String> {
    let rest = help.split("did you mean `").nth(1)?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

pub(crate) fn publish(uri: &str, diagnostics: Vec<Diagnostic>) -> Notification {
    let uri: Uri = uri.parse().unwrap_or_else(|_| "file:///".parse().expect("a valid URI"));
    Notification::new(
        lsp_types::notification::PublishDiagnostics::METHOD.to_string(),
        PublishDiagnosticsParams { uri, diagnostics, version: None },
    )
}

pub(crate) fn clear(uri: &str) -> Notification {
    publish(uri, Vec::new())
}

fn file_uri(path: &str) -> String {
    path_to_uri(std::path::Path::new("/"), path)
}
