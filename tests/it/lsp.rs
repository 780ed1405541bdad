//! `ix lsp`: the server driven in-process (`ix::lsp::Server`) and over a pipe (the real binary),
//! and a randomized edit sequence compared with a fresh check after every edit.

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
        .rfind(|n| n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri)
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

/// The project's own demo sweep: hover, definition, references, completion, formatting, symbols.
#[test]
fn features_on_the_demo_sweep() {
    let root = project_root();
    let path = root.join("sweeps/demo.ix");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut server = ix::lsp::Server::new(root.clone());
    server.notification(open(&path, &text));
    let line_of = |needle: &str| text.lines().position(|line| line.contains(needle)).unwrap() as u32;
    // Hover on a field: its meaning and type.
    let hover = request(&mut server, "textDocument/hover", at(&path, line_of("  precision fp32"), 4));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("`precision`") && value.contains("enum"), "{value}");
    // Hover on a sweep: its jobs and tasks.
    let sweep_line = line_of("sweep tiny-fp32-local-sim-fast");
    let hover = request(&mut server, "textDocument/hover", at(&path, sweep_line, 8));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("**3 job(s)**"), "{value}");
    assert!(value.contains("128/32: concurrency 1, 2, 4"), "{value}");
    assert!(value.contains("bench/tiny-fp32-local-sim-fast/128_32/tp1-ep1-dpa0-none/c1/local_0"), "{value}");
    // Definition of a parent template: the template's name.
    let parent_col = text.lines().nth(sweep_line as usize).unwrap().find(": tiny").unwrap() as u32 + 3;
    let def = request(&mut server, "textDocument/definition", at(&path, sweep_line, parent_col));
    assert_eq!(def["range"]["start"]["line"], line_of("template tiny"));
    // Definition of a sweep: the benchmark script and launcher it resolves to.
    let def = request(&mut server, "textDocument/definition", at(&path, sweep_line, 8));
    let uris: Vec<&str> = def.as_array().unwrap().iter().map(|l| l["uri"].as_str().unwrap()).collect();
    assert!(uris.iter().any(|u| u.ends_with("/benchmarks/tiny_fp32_local.sh")), "{uris:?}");
    assert!(uris.iter().any(|u| u.ends_with("/runners/launch_local.sh")), "{uris:?}");
    // References of the template: the declaration and the three sweeps.
    let refs = request(
        &mut server,
        "textDocument/references",
        json!({"textDocument": {"uri": uri(&path)}, "position": {"line": sweep_line, "character": parent_col}, "context": {"includeDeclaration": true}}),
    );
    assert_eq!(refs.as_array().unwrap().len(), 4, "{refs}");
    // Completion of enum values after `framework `, and of field names on an empty line.
    let framework_line = line_of("  framework sim-fast");
    server.notification(change(&path, Some([framework_line, 12, framework_line, 20]), ""));
    let items = request(&mut server, "textDocument/completion", at(&path, framework_line, 12));
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"sim-fast") && labels.contains(&"vllm"), "{labels:?}");
    server.notification(change(&path, Some([framework_line, 2, framework_line, 12]), ""));
    let items = request(&mut server, "textDocument/completion", at(&path, framework_line, 2));
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"image") && labels.contains(&"at") && !labels.contains(&"conc"), "{labels:?}");
    // Formatting: badly indented text comes back canonical.
    server.notification(change(&path, None, &text.replace("  image", "        image")));
    let edits = request(
        &mut server,
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&path)}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits[0]["newText"], text);
    // Symbols: the template and the three sweeps, with their `at` blocks and points.
    let symbols = request(&mut server, "textDocument/documentSymbol", json!({"textDocument": {"uri": uri(&path)}}));
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "precision",
            "framework",
            "local",
            "tiny",
            "tiny-fp32-local-sim",
            "tiny-fp32-local-sim-fast",
            "tiny-fp32-local-sim-slow"
        ]
    );
    assert_eq!(symbols[3]["children"][0]["children"][0]["name"], "tp 1 conc 1..=4");
}

/// A master config of today's InferenceX format: hover on an entry, completion of keys and
/// enum values at the cursor, definition of a runner in the runners file.
#[test]
fn features_on_a_master_config() {
    let Some(reference) = crate::util::reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("configs")).unwrap();
    let runners = reference.join("head/configs/runners.yaml");
    std::fs::copy(&runners, dir.path().join("configs/runners.yaml")).unwrap();
    let text = std::fs::read_to_string(reference.join("head/configs/nvidia-master.yaml")).unwrap();
    let path = dir.path().join("configs/nvidia-master.yaml");
    std::fs::write(&path, &text).unwrap();
    let mut server = ix::lsp::Server::new(dir.path().to_path_buf());
    let out = server.notification(open(&path, &text));
    // It checks clean; the project has none of its scripts: warnings name the expected paths.
    let warnings = published(&out, &uri(&path)).unwrap();
    assert!(warnings.len() > 50, "{}", warnings.len());
    for warning in &warnings {
        assert_eq!(warning.severity, Some(lsp_types::DiagnosticSeverity::WARNING));
        let Some(lsp_types::NumberOrString::String(code)) = &warning.code else { panic!("{warning:?}") };
        let expected = match code.as_str() {
            "ix::plan::missing-script" => "script `benchmarks/",
            "ix::plan::missing-launcher" => "launcher `runners/",
            other => panic!("{other}"),
        };
        assert!(warning.message.contains(expected), "{}", warning.message);
    }
    assert!(warnings.iter().any(|w| w.message.contains("script `benchmarks/single_node/fixed_seq_len/")));
    let first_key = text.lines().position(|l| !l.starts_with([' ', '#', '-']) && l.ends_with(':')).unwrap() as u32;
    let hover = request(&mut server, "textDocument/hover", at(&path, first_key, 1));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("job(s)**") && value.contains("concurrency"), "{value}");
    let runner_line = text.lines().position(|l| l.trim_start().starts_with("runner:")).unwrap() as u32;
    let col = text.lines().nth(runner_line as usize).unwrap().find("runner:").unwrap() as u32 + 9;
    let def = request(&mut server, "textDocument/definition", at(&path, runner_line, col));
    assert!(def["uri"].as_str().unwrap().ends_with("configs/runners.yaml"), "{def}");
    let items = request(&mut server, "textDocument/completion", at(&path, runner_line, col - 1));
    assert!(items.as_array().unwrap().len() > 3, "runner names: {items}");
    // A key position inside a search-space point: point fields.
    let conc_line = text.lines().position(|l| l.contains("conc-start:")).unwrap() as u32;
    let indent = text.lines().nth(conc_line as usize).unwrap().find("conc-start").unwrap() as u32;
    server.notification(change(
        &path,
        Some([conc_line, 0, conc_line, 0]),
        &format!("{}\n", " ".repeat(indent as usize)),
    ));
    let items = request(&mut server, "textDocument/completion", at(&path, conc_line, indent));
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"conc-list") && labels.contains(&"dp-attn") && !labels.contains(&"image"), "{labels:?}");
}

/// A client-side model of the document: edits are made at (line, UTF-16 column) positions the
/// test computes on its own, clamped the way LSP servers clamp (past the end of a line: its end;
/// past the last line: the end of the text; inside a surrogate pair: before the character).
fn model_offset(text: &str, line: u32, character: u32) -> usize {
    let mut start = 0;
    for (idx, l) in text.split('\n').enumerate() {
        if idx as u32 == line {
            let mut units = 0;
            for (byte, ch) in l.char_indices() {
                if units + ch.len_utf16() as u32 > character {
                    return start + byte;
                }
                units += ch.len_utf16() as u32;
            }
            return start + l.len();
        }
        start += l.len() + 1;
    }
    text.len()
}

/// Thousands of random edits (valid and invalid positions, non-ASCII text, reversed and
/// out-of-range ranges, a referenced runners file deleted and restored under the server): after
/// each, the published diagnostics equal a fresh check of the same text read from disk.
#[test]
fn random_edits_publish_what_a_fresh_check_reports() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(project_root().join("sweeps/demo.ix")).unwrap();
    let ix_text = format!("runners \"runners.yaml\"\n{demo}");
    let runners = "h100:\n- h100-a_0\n- h100-a_1\n";
    let entry = |key: &str| {
        format!(
            "{key}:\n  image: vllm/vllm-openai:v0.10.0\n  model: deepseek-ai/DeepSeek-R1\n  model-prefix: dsr1\n  precision: fp8\n  framework: vllm\n  runner: h100\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - {{ tp: 8, conc-start: 4, conc-end: 64 }}\n    - tp: 4\n      conc-list: [1, 2]\n\n"
        )
    };
    // Several entries: the server checks them one by one (salsa), the fresh check the whole file.
    let yaml_text = format!("# header\n{}{}{}", entry("dsr1-fp8-h100-vllm"), entry("dsr1-fp8-h100-sglang"), entry("b"));
    let yaml_text = yaml_text.as_str();
    std::fs::write(dir.path().join("runners.yaml"), runners).unwrap();
    let pieces = [
        "",
        "x",
        "  ",
        "\n",
        "tp 2",
        "conc 1..=8",
        "{",
        "}",
        "\"",
        ":",
        "é",
        "𝄞",
        "- ",
        "isl: 8",
        "framework sim",
        "\t",
        "#",
        "at 1k/1k: tp 1 conc 4",
        "runner: h100",
        "prefix tiny\n",
    ];
    for (name, initial, seed) in [("edit.ix", ix_text.as_str(), 15u64), ("edit.yaml", yaml_text, 16u64)] {
        let path = dir.path().join(name);
        std::fs::write(&path, initial).unwrap();
        let key = uri(&path);
        let mut server = ix::lsp::Server::new(dir.path().to_path_buf());
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut model = initial.to_string();
        server.notification(open(&path, &model));
        for step in 0..1500 {
            if rng.random_ratio(1, 50) {
                // Files deleted under the server (the runners file the sweep names, the document itself).
                let victim = if rng.random_bool(0.5) { dir.path().join("runners.yaml") } else { path.clone() };
                if victim.exists() {
                    std::fs::remove_file(&victim).unwrap();
                } else {
                    std::fs::write(&victim, if victim == path { initial } else { runners }).unwrap();
                }
            }
            let n_lines = model.split('\n').count() as u32;
            let mut pos = || (rng.random_range(0..n_lines + 2), rng.random_range(0..30u32));
            let (a, b) = (pos(), pos());
            let new_text = pieces[rng.random_range(0..pieces.len())];
            let (oa, ob) = (model_offset(&model, a.0, a.1), model_offset(&model, b.0, b.1));
            // Raw positions as sent (either order, possibly past the end or inside a character).
            let (first, second) = if oa <= ob { (a, b) } else { (b, a) };
            let (start, full_end) = (oa.min(ob), oa.max(ob));
            // Mostly small edits: a long range is cut to a few characters after its start.
            let cut = model[start..full_end].char_indices().nth(3).map(|(i, _)| start + i);
            let (end, end_at) = match cut {
                Some(end) if rng.random_ratio(9, 10) => {
                    let p = ix::lsp::text::position(&model, end);
                    (end, (p.line, p.character))
                }
                _ => (full_end, second),
            };
            let reversed = rng.random_bool(0.2);
            let range =
                if reversed { [end_at.0, end_at.1, first.0, first.1] } else { [first.0, first.1, end_at.0, end_at.1] };
            let out = if rng.random_ratio(1, 100) {
                model = new_text.repeat(3);
                server.notification(change(&path, None, &model))
            } else {
                model.replace_range(start..end, new_text);
                server.notification(change(&path, Some(range), new_text))
            };
            let got = published(&out, &key).unwrap_or_else(|| panic!("step {step}: nothing published"));
            // `ix plan`'s missing-script warnings (a saved file without errors) are not `ix check`'s.
            let got: Vec<Diagnostic> = got
                .into_iter()
                .filter(|d| !matches!(&d.code, Some(lsp_types::NumberOrString::String(code)) if code.starts_with("ix::plan::")))
                .collect();
            // A fresh check: the same text, written to a file of the same path, read from disk.
            let disk = std::fs::read(&path).ok();
            std::fs::write(&path, &model).unwrap();
            let fresh = ix::workspace::check_sources(&[ix::workspace::CheckFile::disk(&path.to_string_lossy())], &[]);
            match disk {
                Some(bytes) => std::fs::write(&path, bytes).unwrap(),
                None => std::fs::remove_file(&path).unwrap(),
            }
            let want = ix::lsp::lsp_diagnostics(&fresh, &path.to_string_lossy(), &key).remove(&key).unwrap_or_default();
            assert_eq!(got, want, "{name} step {step}: text {model:?}");
        }
    }
}

/// With a state store, a hover on a sweep says how many of its tasks would run and why; after
/// the saved file changes (and `didSave`), the reason is `ix plan`'s.
#[test]
fn hover_counts_tasks_that_would_run_against_the_state_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = project_root();
    for file in ["sweeps/demo.ix", "benchmarks/tiny_fp32_local.sh", "runners/launch_local.sh"] {
        std::fs::create_dir_all(dir.path().join(file).parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), dir.path().join(file)).unwrap();
    }
    // A launcher that starts a container (no host mark): the image identity is then the same in
    // this test process and in the `ix` that records the store.
    std::fs::write(dir.path().join("runners/launch_local.sh"), "#!/usr/bin/env bash\nexec \"$@\"\n").unwrap();
    let recorded = ix(["plan", "sweeps/demo.ix", "--record-fake", "success"]).current_dir(dir.path()).run();
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    let path = dir.path().join("sweeps/demo.ix");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut server = ix::lsp::Server::new(dir.path().to_path_buf());
    server.notification(open(&path, &text));
    let line = text.lines().position(|l| l.starts_with("sweep tiny-fp32-local-sim-slow")).unwrap() as u32;
    let hover = request(&mut server, "textDocument/hover", at(&path, line, 8));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("run 0 · reuse 7"), "{value}");
    // Give the slow engine its own image, save: its bench, result and collect tasks would run.
    let edited = text.replace("  framework sim-slow\n", "  framework sim-slow\n  image \"ix/sim:v2\"\n");
    std::fs::write(&path, &edited).unwrap();
    server.notification(change(&path, None, &edited));
    server.notification(notification("textDocument/didSave", json!({"textDocument": {"uri": uri(&path)}})));
    let hover = request(&mut server, "textDocument/hover", at(&path, line, 8));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("run 7 · reuse 0"), "{value}");
    assert!(value.contains("input changed: image ix/sim:latest"), "{value}");
}
