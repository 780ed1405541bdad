//! `ix lsp`: the server driven in-process (`ix::lsp::Server`) and over a pipe (the real binary),
//! and a randomized edit sequence compared with a fresh check after every edit.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};

use lsp_server::{Message, Notification, Request};
use lsp_types::Diagnostic;
use serde_json::{Value, json};

use crate::util::{ix, ix_bin, project_root};

const BROKEN: &str = "enum precision { fp32 }\nenum framework { sim, sim-fast }\n\nrunner local { local_0 }\n\ntemplate tiny {\n  image \"ix/sim:latest\"\n  model \"ix/tiny-sim\"\n  prefix tiny\n  precision fp32\n  runner local\n  at 128/32: tp 1 conc 1..=4\n}\n\nsweep a : tiny {\n  framework sim-fsat\n}\n";

fn uri(path: &Path) -> String {
    ix::lsp::path_to_uri(Path::new("/"), &path.to_string_lossy())
}

fn notification(method: &str, params: Value) -> Notification {
    Notification { method: method.to_string(), params }
}

fn open(path: &Path, text: &str) -> Notification {
    notification(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(path), "languageId": "ix", "version": 1, "text": text}}),
    )
}

fn change(path: &Path, range: Option<[u32; 4]>, text: &str) -> Notification {
    let change = match range {
        Some([l0, c0, l1, c1]) => {
            json!({"range": {"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}}, "text": text})
        }
        None => json!({"text": text}),
    };
    notification(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(path), "version": 2}, "contentChanges": [change]}),
    )
}

/// The diagnostics published for `uri` among `out` (the last publication).
fn published(out: &[Notification], uri: &str) -> Option<Vec<Diagnostic>> {
    out.iter()
        .filter(|n| n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri)
        .last()
        .map(|n| serde_json::from_value(n.params["diagnostics"].clone()).unwrap())
}

fn request(server: &mut ix::lsp::Server, method: &str, params: Value) -> Value {
    let response = server.request(Request { id: ix::lsp::request_id(1), method: method.to_string(), params });
    assert!(response.error.is_none(), "{method}: {:?}", response.error);
    response.result.unwrap_or(Value::Null)
}

fn at(path: &Path, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri(path)}, "position": {"line": line, "character": character}})
}

#[test]
fn diagnostics_appear_as_you_type_and_clear_when_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ix");
    let mut server = ix::lsp::Server::new(dir.path().to_path_buf());
    let out = server.notification(open(&path, BROKEN));
    let diags = published(&out, &uri(&path)).unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    let diag = &diags[0];
    assert_eq!(diag.code, Some(lsp_types::NumberOrString::String("ix::dsl::unknown-enum-value".into())));
    // `framework sim-fsat` is on line 16 (0-based 15), the value at columns 12..20.
    assert_eq!((diag.range.start.line, diag.range.start.character, diag.range.end.character), (15, 12, 20));
    assert!(diag.message.contains("did you mean `sim-fast`?"), "{}", diag.message);
    // The code action offers the fix.
    let actions = request(
        &mut server,
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&path)}, "range": diag.range, "context": {"diagnostics": [diag]}}),
    );
    assert_eq!(actions[0]["edit"]["changes"][uri(&path)][0]["newText"], "sim-fast");
    // Fix it: the diagnostic is cleared.
    let out = server.notification(change(&path, Some([15, 12, 15, 20]), "sim-fast"));
    assert_eq!(published(&out, &uri(&path)).unwrap(), Vec::new());
    // A comment line above, then a point field at the wrong level: reported where it was typed.
    let out = server.notification(change(&path, Some([14, 0, 14, 0]), "# 𝄞\n"));
    assert_eq!(published(&out, &uri(&path)).unwrap(), Vec::new());
    let out = server.notification(change(&path, Some([16, 2, 16, 2]), "tp 3\n  "));
    let diags = published(&out, &uri(&path)).unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, Some(lsp_types::NumberOrString::String("ix::dsl::unknown-field".into())));
    assert_eq!((diags[0].range.start.line, diags[0].range.start.character), (16, 2));
}

#[test]
fn diagnostics_equal_ix_check_over_a_pipe_with_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ix");
    std::fs::write(&path, BROKEN).unwrap();
    let check = ix(["check", "--format", "json", &path.to_string_lossy()]).run();
    let expected: Value = serde_json::from_str(&check.stdout).unwrap();
    let mut child = Command::new(ix_bin())
        .args(["lsp", "--root", &dir.path().to_string_lossy()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let send = |stdin: &mut std::process::ChildStdin, message: Message| message.write(stdin).unwrap();
    send(
        &mut stdin,
        Message::Request(Request { id: 1.into(), method: "initialize".into(), params: json!({"capabilities": {}}) }),
    );
    let Some(Message::Response(init)) = Message::read(&mut stdout).unwrap() else { panic!("no initialize response") };
    assert_eq!(init.result.unwrap()["capabilities"]["hoverProvider"], true);
    send(&mut stdin, Message::Notification(notification("initialized", json!({}))));
    send(&mut stdin, Message::Notification(open(&path, BROKEN)));
    let diags = loop {
        match Message::read(&mut stdout).unwrap() {
            Some(Message::Notification(n)) if n.method == "textDocument/publishDiagnostics" => {
                break serde_json::from_value::<Vec<Diagnostic>>(n.params["diagnostics"].clone()).unwrap();
            }
            Some(_) => continue,
            None => panic!("server closed"),
        }
    };
    let expected = expected.as_array().unwrap();
    assert_eq!(diags.len(), expected.len());
    for (got, want) in diags.iter().zip(expected) {
        assert_eq!(got.code, Some(lsp_types::NumberOrString::String(want["code"].as_str().unwrap().into())));
        assert!(got.message.starts_with(want["message"].as_str().unwrap()));
        // `ix check` counts lines and columns from 1, LSP from 0.
        assert_eq!(got.range.start.line as u64 + 1, want["start"]["line"].as_u64().unwrap(), "{want}");
        assert_eq!(got.range.start.character as u64 + 1, want["start"]["column"].as_u64().unwrap(), "{want}");
        assert!(got.message.ends_with(&format!("help: {}", want["help"].as_str().unwrap())));
    }
    send(&mut stdin, Message::Request(Request { id: 2.into(), method: "shutdown".into(), params: Value::Null }));
    send(&mut stdin, Message::Notification(notification("exit", Value::Null)));
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
