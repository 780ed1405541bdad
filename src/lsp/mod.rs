//! `ix lsp`: a Language Server Protocol server over stdio.
//!
//! One process holds the workspace: open editor buffers (which override the files on disk),
//! the project's runners file, and a [`session::PlanSession`] per sweep file for hovers that
//! say what would run (its salsa database, `db::ProjectDb`, holds the project's `benchmarks/`
//! and `runners/` files as inputs, re-read only when they change). Diagnostics come from
//! [`workspace::check_sources`], the function `ix check` runs, so both report the same codes,
//! spans, help and related spans.
//!
//! Every handler runs under `catch_unwind`: a bug answers the request with an error and logs
//! it, and the server goes on. Positions are UTF-16 as LSP requires (`text`).

mod complete;
mod cursor;
mod diagnostics;
mod fields;
mod hover;
mod incremental;
mod nav;
pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, InitializeParams, OneOf,
    PositionEncodingKind, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde_json::Value;

use crate::session::PlanSession;
use crate::workspace::{CheckFile, Checked, check_sources};

/// One open editor buffer.
pub(crate) struct Doc {
    /// The absolute path, which diagnostics name.
    pub(crate) path: String,
    pub(crate) text: String,
}

impl Doc {
    pub(crate) fn is_dsl(&self) -> bool {
        crate::workspace::is_dsl_path(&self.path)
    }
}

/// The server's state: the workspace root, open buffers and what was published.
pub struct Server {
    pub(crate) root: PathBuf,
    pub(crate) docs: HashMap<String, Doc>,
    /// For each open document, the URIs its last check published diagnostics to.
    published: HashMap<String, Vec<String>>,
    /// Plan sessions by sweep path (kept between hovers: their salsa database and memo).
    pub(crate) sessions: HashMap<String, PlanSession>,
    /// Master-config buffers as salsa inputs, checked entry by entry.
    pub(crate) incremental: incremental::Incremental,
    /// The last plan of each sweep file, with the state store's folder stamps it was made with:
    /// reused by hovers while no input and no store folder changed.
    pub(crate) plans: HashMap<String, (Vec<Option<std::time::SystemTime>>, crate::session::Planned)>,
    /// What `ix plan` finds missing for each document's saved file (as warnings), from the last
    /// open or save.
    saved_warnings: HashMap<String, Option<Checked>>,
}

/// The capabilities `ix lsp` announces.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into(), ":".into()]),
            ..CompletionOptions::default()
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one client on `connection` until it asks to exit. `root` overrides the workspace
/// folder the client names (else the current directory).
pub fn serve(connection: &Connection, root: Option<PathBuf>) -> Result<(), String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let params = connection.initialize(caps).map_err(|e| format!("initialize: {e}"))?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    #[allow(deprecated)]
    let client_root = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| folder.uri.clone())
        .or(params.root_uri.clone())
        .and_then(|uri| uri_to_path(&uri));
    let root = root.or(client_root).or_else(|| std::env::current_dir().ok()).unwrap_or_else(|| PathBuf::from("."));
    let root = root.canonicalize().unwrap_or(root);
    let mut server = Server::new(root);
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                    return Ok(());
                }
                let response = server.request(request);
                send(connection, Message::Response(response));
            }
            Message::Notification(notification) => {
                if notification.method == lsp_types::notification::Exit::METHOD {
                    return Ok(());
                }
                for out in server.notification(notification) {
                    send(connection, Message::Notification(out));
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn send(connection: &Connection, message: Message) {
    let _ = connection.sender.send(message);
}

/// A `window/logMessage` notification.
fn log(message: String) -> Notification {
    Notification::new(
        lsp_types::notification::LogMessage::METHOD.to_string(),
        lsp_types::LogMessageParams { typ: lsp_types::MessageType::ERROR, message },
    )
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

impl Server {
    pub fn new(root: PathBuf) -> Server {
        Server {
            incremental: incremental::Incremental::new(&root),
            root,
            docs: HashMap::new(),
            published: HashMap::new(),
            sessions: HashMap::new(),
            plans: HashMap::new(),
            saved_warnings: HashMap::new(),
        }
    }

    /// Answers one request; a handler that fails or panics answers with an error.
    pub fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let method = request.method.clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.dispatch(&request)));
        match outcome {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(payload) => {
                let message = format!("ix lsp: internal error in `{method}`: {}", panic_text(payload.as_ref()));
                let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{message}\n").as_bytes());
                Response::new_err(id, ErrorCode::InternalError as i32, message)
            }
        }
    }

    fn dispatch(&mut self, request: &Request) -> Result<Value, (ErrorCode, String)> {
        use lsp_types::request::*;
        let params = request.params.clone();
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        let value = match request.method.as_str() {
            HoverRequest::METHOD => to_value(hover::hover(self, &serde_json::from_value(params).map_err(bad)?)),
            GotoDefinition::METHOD => to_value(nav::definition(self, &serde_json::from_value(params).map_err(bad)?)),
            References::METHOD => to_value(nav::references(self, &serde_json::from_value(params).map_err(bad)?)),
            DocumentSymbolRequest::METHOD => {
                to_value(nav::symbols(self, &serde_json::from_value(params).map_err(bad)?))
            }
            Completion::METHOD => to_value(complete::completion(self, &serde_json::from_value(params).map_err(bad)?)),
            CodeActionRequest::METHOD => {
                to_value(complete::code_actions(self, &serde_json::from_value(params).map_err(bad)?))
            }
            Formatting::METHOD => to_value(complete::format(self, &serde_json::from_value(params).map_err(bad)?)),
            _ => return Err((ErrorCode::MethodNotFound, format!("ix lsp does not handle `{}`", request.method))),
        };
        Ok(value)
    }

    /// Handles one notification; returns what to send (diagnostics, logs). A panic is logged.
    pub fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        let method = notification.method.clone();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.notify(notification))) {
            Ok(out) => out,
            Err(payload) => {
                vec![log(format!("ix lsp: internal error in `{method}`: {}", panic_text(payload.as_ref())))]
            }
        }
    }

    fn notify(&mut self, notification: Notification) -> Vec<Notification> {
        use lsp_types::notification::*;
        let params = notification.params;
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                let Some(path) = uri_to_path(&uri) else { return Vec::new() };
                let doc = Doc { path: path.to_string_lossy().into_owned(), text: params.text_document.text };
                self.docs.insert(uri.as_str().to_string(), doc);
                self.refresh_warnings(uri.as_str());
                self.publish(uri.as_str())
            }
            DidChangeTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let key = params.text_document.uri.as_str().to_string();
                let Some(doc) = self.docs.get_mut(&key) else { return Vec::new() };
                for change in &params.content_changes {
                    text::apply_change(&mut doc.text, change);
                }
                self.publish(&key)
            }
            DidCloseTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(params) else {
                    return Vec::new();
                };
                let key = params.text_document.uri.as_str().to_string();
                self.docs.remove(&key);
                self.saved_warnings.remove(&key);
                // Diagnostics of a closed file are cleared (`ix check` on save still reports them).
                self.published
                    .remove(&key)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|uri| diagnostics::clear(&uri))
                    .collect()
            }
            DidSaveTextDocument::METHOD | DidChangeWatchedFiles::METHOD => {
                // Project files (scripts, launchers, runners) may have changed: every open
                // document is checked again (plan sessions see what changed when next asked).
                let keys: Vec<String> = self.docs.keys().cloned().collect();
                for key in &keys {
                    self.refresh_warnings(key);
                }
                keys.iter().flat_map(|key| self.publish(key)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Plans the saved file of document `key` and keeps what it finds missing, for [`Server::publish`].
    fn refresh_warnings(&mut self, key: &str) {
        let Some(path) = self.docs.get(key).map(|doc| doc.path.clone()) else { return };
        let warnings = if std::path::Path::new(&path).is_file() { hover::plan_warnings(self, &path) } else { None };
        self.saved_warnings.insert(key.to_string(), warnings);
    }

    /// Checks the open document `key` and returns its `publishDiagnostics` notifications (one
    /// per file its diagnostics point into, and an empty one for each file that had some last time).
    fn publish(&mut self, key: &str) -> Vec<Notification> {
        let Some(doc) = self.docs.get(key) else { return Vec::new() };
        let incremental = if doc.is_dsl() { None } else { self.incremental.check(&doc.path, &doc.text) };
        let checked = incremental.unwrap_or_else(|| check_doc(doc));
        let mut by_uri = diagnostics::to_lsp(&checked, &doc.path, key);
        // A saved file without errors: also the scripts and launchers its jobs need that do not
        // exist (`ix plan`'s problems, as warnings; planned at open and save, not per keystroke).
        if let Some(Some(warnings)) = self.saved_warnings.get(key)
            && !checked.diags.iter().any(crate::diag::Diag::is_error)
            && std::fs::metadata(&doc.path).is_ok_and(|meta| meta.len() == doc.text.len() as u64)
            && std::fs::read(&doc.path).is_ok_and(|saved| saved == doc.text.as_bytes())
        {
            for (uri, diags) in diagnostics::to_lsp(warnings, &doc.path, key) {
                by_uri.entry(uri).or_default().extend(diags);
            }
        }
        let mut out = Vec::new();
        let previous = self.published.remove(key).unwrap_or_default();
        for uri in &previous {
            if !by_uri.contains_key(uri) {
                out.push(diagnostics::clear(uri));
            }
        }
        let mut now = Vec::new();
        for (uri, diags) in by_uri {
            now.push(uri.clone());
            out.push(diagnostics::publish(&uri, diags));
        }
        self.published.insert(key.to_string(), now);
        out
    }

    /// The document behind a URI.
    pub(crate) fn doc(&self, uri: &Uri) -> Option<&Doc> {
        self.docs.get(uri.as_str())
    }

    /// The runners file of the project, by the rules of `ix plan` (relative to the root).
    pub(crate) fn runners_file(&self) -> Option<String> {
        ["runners.yaml", "configs/runners.yaml", ".github/configs/runners.yaml", "runners/runners.yaml"]
            .into_iter()
            .map(|path| self.root.join(path))
            .find(|path| path.is_file())
            .map(|path| path.to_string_lossy().into_owned())
    }

    /// The document checked together with the project's runners file (a master config needs
    /// it to expand), for hovers and navigation; diagnostics use [`check_doc`].
    pub(crate) fn check_with_runners(&self, doc: &Doc) -> Checked {
        let runners: Vec<CheckFile> = if doc.is_dsl() {
            Vec::new()
        } else {
            self.runners_file()
                .filter(|path| *path != doc.path)
                .map(|path| self.check_file(&path))
                .into_iter()
                .collect()
        };
        check_sources(&[CheckFile { path: doc.path.clone(), text: Some(Arc::from(doc.text.as_str())) }], &runners)
    }

    /// A file as `check_sources` takes it: the open buffer when there is one, else the disk.
    pub(crate) fn check_file(&self, path: &str) -> CheckFile {
        let open = self.docs.values().find(|doc| doc.path == path);
        CheckFile { path: path.to_string(), text: open.map(|doc| Arc::from(doc.text.as_str())) }
    }
}

/// What `ix check PATH` reports for a document, on the buffer's text.
pub fn check_doc_text(path: &str, text: &str) -> Checked {
    check_sources(&[CheckFile { path: path.to_string(), text: Some(Arc::from(text)) }], &[])
}

fn check_doc(doc: &Doc) -> Checked {
    check_doc_text(&doc.path, &doc.text)
}

fn to_value<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The path of a `file://` URI (percent-decoded); `None` for other schemes.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let text = uri.as_str();
    let rest = text.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'%'
            && idx + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&bytes[idx + 1..idx + 3]).unwrap_or("zz"), 16)
        {
            out.push(byte);
            idx += 3;
            continue;
        }
        out.push(bytes[idx]);
        idx += 1;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out).into_owned()))
}

/// The `file://` URI of a path (absolute, or relative to `root`).
pub fn path_to_uri(root: &Path, path: &str) -> String {
    let full = if Path::new(path).is_absolute() { PathBuf::from(path) } else { root.join(path) };
    let mut out = String::from("file://");
    for byte in full.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A request id for tests and benchmarks.
pub fn request_id(n: i32) -> RequestId {
    RequestId::from(n)
}

/// The diagnostics of a check as the server publishes them, by URI (the document's own under
/// `doc_uri`): what tests compare a live server with.
pub fn lsp_diagnostics(
    checked: &Checked,
    doc_path: &str,
    doc_uri: &str,
) -> std::collections::BTreeMap<String, Vec<lsp_types::Diagnostic>> {
    diagnostics::to_lsp(checked, doc_path, doc_uri)
}
