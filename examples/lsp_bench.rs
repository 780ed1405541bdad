//! Language-server benchmark: an edit sequence replayed through the protocol against a running
//! `ix lsp`, timed from the change notification to the diagnostics that answer it.
//!
//!     cargo run --release --example lsp_bench -- IX_BINARY DIR [ROUNDS]
//!
//! `DIR` is a project with today's InferenceX layout (`configs/nvidia-master.yaml`,
//! `configs/amd-master.yaml`, `configs/runners.yaml`, stub scripts, optionally a state store
//! `.ix`); `bench/lsp.sh` prepares one. The benchmark opens both master configs and the project's
//! `.ix` sweeps (`DIR/sweeps/*.ix`), then `ROUNDS` times (default 50) in the nvidia config:
//! a valid one-character edit (a `conc-end` digit) and its undo, and an error-introducing one
//! (a letter typed into a key) and its undo, each timed until its `publishDiagnostics`; then
//! hovers on an entry key (jobs, task counts and reasons through the plan session). Prints
//! min, median and max of each, and the server's peak resident memory (`VmHWM`).

#![allow(clippy::print_stdout)] // a benchmark program: its figures are its output

use std::io::BufReader;
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request};
use serde_json::{Value, json};

fn send(stdin: &mut ChildStdin, message: Message) {
    message.write(stdin).expect("write to ix lsp");
}

/// Reads until the diagnostics of `uri` (or the response `id`) arrive.
fn wait(stdout: &mut BufReader<ChildStdout>, uri: Option<&str>, id: Option<i32>) -> Value {
    loop {
        match Message::read(stdout).expect("read from ix lsp") {
            Some(Message::Notification(n))
                if n.method == "textDocument/publishDiagnostics"
                    && Some(n.params["uri"].as_str().unwrap_or("")) == uri =>
            {
                return n.params;
            }
            Some(Message::Response(r)) if id.is_some() && r.id == id.unwrap().into() => {
                return r.result.unwrap_or(Value::Null);
            }
            Some(_) => {}
            None => panic!("ix lsp closed its output"),
        }
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<4} min {:>7.2} ms  median {:>7.2} ms  max {:>7.2} ms",
        times.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (ix, dir) = (&args[1], Path::new(&args[2]).canonicalize().expect("DIR"));
    let rounds: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(50);
    let mut child = Command::new(ix)
        .args(["lsp", "--root", &dir.to_string_lossy()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ix lsp");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    send(
        &mut stdin,
        Message::Request(Request { id: 1.into(), method: "initialize".into(), params: json!({"capabilities": {}}) }),
    );
    wait(&mut stdout, None, Some(1));
    send(&mut stdin, Message::Notification(Notification { method: "initialized".into(), params: json!({}) }));
    let mut files = vec![dir.join("configs/nvidia-master.yaml"), dir.join("configs/amd-master.yaml")];
    if let Ok(entries) = std::fs::read_dir(dir.join("sweeps")) {
        let mut sweeps: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "ix")).collect();
        sweeps.sort();
        files.extend(sweeps);
    }
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read a file to open");
        let params = json!({"textDocument": {"uri": uri(path), "languageId": "yaml", "version": 1, "text": text}});
        let started = Instant::now();
        send(&mut stdin, Message::Notification(Notification { method: "textDocument/didOpen".into(), params }));
        let diags = wait(&mut stdout, Some(&uri(path)), None);
        println!(
            "open {} ({} lines): {} diagnostic(s) in {:.1} ms",
            path.strip_prefix(&dir).unwrap_or(path).display(),
            text.lines().count(),
            diags["diagnostics"].as_array().map_or(0, Vec::len),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let nvidia = &files[0];
    let text = std::fs::read_to_string(nvidia).expect("nvidia config");
    let lines: Vec<&str> = text.lines().collect();
    let conc_line = lines.iter().position(|l| l.contains("conc-end: ")).expect("a conc-end line");
    let conc_col = lines[conc_line].find("conc-end: ").unwrap() + "conc-end: ".len();
    let key_line = lines.iter().position(|l| l.trim_start().starts_with("precision:")).expect("a precision line");
    let key_col = lines[key_line].find("precision").unwrap();
    let target = uri(nvidia);
    let mut version = 1;
    let mut change = |stdin: &mut ChildStdin, line: usize, start: usize, end: usize, new: &str| {
        version += 1;
        let params = json!({"textDocument": {"uri": target, "version": version}, "contentChanges": [{"range": {"start": {"line": line, "character": start}, "end": {"line": line, "character": end}}, "text": new}]});
        send(stdin, Message::Notification(Notification { method: "textDocument/didChange".into(), params }));
    };
    let (mut valid, mut error, mut undo) = (Vec::new(), Vec::new(), Vec::new());
    let old_digit = &lines[conc_line][conc_col..conc_col + 1];
    let new_digit = if old_digit == "9" { "8" } else { "9" };
    let mut last_error_count = 0;
    for _ in 0..rounds {
        for (line, col, new, old, into_error) in
            [(conc_line, conc_col, new_digit, old_digit, false), (key_line, key_col, "x", "", true)]
        {
            let started = Instant::now();
            change(&mut stdin, line, col, col + old.len(), new);
            let diags = wait(&mut stdout, Some(&target), None);
            let elapsed = started.elapsed();
            if into_error {
                error.push(elapsed);
                last_error_count = diags["diagnostics"].as_array().map_or(0, Vec::len);
            } else {
                valid.push(elapsed);
            }
            let started = Instant::now();
            change(&mut stdin, line, col, col + new.len(), old);
            wait(&mut stdout, Some(&target), None);
            undo.push(started.elapsed());
        }
    }
    stats("diagnostics after a valid 1-char edit", valid);
    stats(&format!("diagnostics after an error edit ({last_error_count} diag)"), error);
    stats("diagnostics after the undo", undo);
    let entry_line = lines.iter().position(|l| !l.starts_with([' ', '#', '-']) && l.ends_with(':')).expect("an entry");
    let mut hovers = Vec::new();
    let mut first_hover = String::new();
    for round in 0..rounds.max(2) {
        let params = json!({"textDocument": {"uri": target}, "position": {"line": entry_line, "character": 1}});
        let started = Instant::now();
        send(
            &mut stdin,
            Message::Request(Request { id: (100 + round as i32).into(), method: "textDocument/hover".into(), params }),
        );
        let result = wait(&mut stdout, None, Some(100 + round as i32));
        let elapsed = started.elapsed();
        if round == 0 {
            first_hover = result["contents"]["value"].as_str().unwrap_or("").to_string();
            println!("first hover (plans both files' session cold): {:.1} ms", elapsed.as_secs_f64() * 1000.0);
        } else {
            hovers.push(elapsed);
        }
    }
    stats("hover on an entry (jobs, tasks, plan reasons)", hovers);
    println!("--- hover text ---\n{}\n---", first_hover.lines().take(12).collect::<Vec<_>>().join("\n"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    for line in status.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
        println!("ix lsp {line}");
    }
    send(&mut stdin, Message::Request(Request { id: 9999.into(), method: "shutdown".into(), params: Value::Null }));
    wait(&mut stdout, None, Some(9999));
    send(&mut stdin, Message::Notification(Notification { method: "exit".into(), params: Value::Null }));
    let _ = child.wait();
}
