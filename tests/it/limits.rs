//! Issue #17, items 3, 5, 6, 8 and 9: hostile inputs end as bounded, spanned diagnostics
//! (alias bombs, runaway sweeps, huge tokens, overflowing numbers, invalid UTF-8, unreadable
//! stores), and every diagnostic names what it is about.

use crate::util::ix;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// A `.ix` sweep of one single-node point with `conc` as its concurrency.
fn sweep_with(conc: &str) -> String {
    format!(
        "enum precision {{ fp32 }}\nenum framework {{ sim }}\nrunner local {{ local_0 }}\n\
         sweep big {{\n  image \"ix/sim:latest\"\n  model \"m\"\n  prefix tiny\n  precision fp32\n  \
         framework sim\n  runner local\n  at 128/32: tp 1 conc {conc}\n}}\n"
    )
}

// Issue #17: a 386-byte alias bomb made `ix check` exhaust 2 GB and abort (exit 134).
#[test]
fn a_yaml_alias_bomb_is_a_spanned_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    let path = write(dir.path(), "bomb.yaml", &text);
    for verb in [&["check"][..], &["plan"][..]] {
        let out = ix(verb.iter().copied()).arg(&path).current_dir(dir.path()).run().expect_code(1);
        assert!(out.stderr.contains("ix::yaml::alias-expansion"), "{verb:?}: {}", out.stderr);
        assert!(out.stderr.contains("bomb.yaml:"), "{verb:?}: {}", out.stderr);
    }
}

// Issue #17: a 200,000-value concurrency list took `ix plan` 80 s and 10.5 GB.
#[test]
fn a_runaway_concurrency_list_fails_fast_with_its_span_and_the_limit_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values: Vec<String> = (1..=200_000).map(|v| v.to_string()).collect();
    let path = write(dir.path(), "big.ix", &sweep_with(&format!("[{}]", values.join(", "))));
    let started = std::time::Instant::now();
    let out = ix(["plan"]).arg(&path).current_dir(dir.path()).run().expect_code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(out.stderr.contains("ix::plan::too-many-jobs"), "{}", &out.stderr[..out.stderr.len().min(2000)]);
    assert!(out.stderr.contains("big.ix:11:"), "{}", &out.stderr[..out.stderr.len().min(2000)]);
    assert!(out.stderr.contains("200000 jobs from this point") && out.stderr.contains("--max-jobs 200000"));
    assert!(out.stderr.len() < 10_000, "{} bytes of diagnostics", out.stderr.len());

    // The flag raises the limit (small numbers keep this fast).
    std::fs::create_dir_all(dir.path().join("benchmarks")).expect("mkdir");
    write(&dir.path().join("benchmarks"), "tiny_fp32_local.sh", "#!/bin/bash\n");
    std::fs::create_dir_all(dir.path().join("runners")).expect("mkdir");
    write(&dir.path().join("runners"), "launch_local.sh", "#!/bin/bash\n");
    let path = write(dir.path(), "small.ix", &sweep_with("[1, 2, 3, 4, 5, 6]"));
    let out = ix(["plan", "--max-jobs", "5"]).arg(&path).current_dir(dir.path()).run().expect_code(1);
    assert!(out.stderr.contains("the sweep expands to 6 jobs, more than the limit of 5"), "{}", out.stderr);
    let out = ix(["plan", "--max-jobs", "6", "--format", "json"]).arg(&path).current_dir(dir.path()).run();
    let out = out.expect_code(0);
    assert!(out.stdout.contains("\"bench/big/128_32/tp1-ep1-dpa0-none/c6/local_0\""), "{}", out.stdout);
}

// Issue #17: a 4 MB token gave 66 MB of diagnostics (the whole line under every label).
#[test]
fn a_huge_token_gives_bounded_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "A".repeat(4 << 20);
    let path =
        write(dir.path(), "tok.ix", &format!("sweep s {{\n  image \"{token}\"\n  bogus 1\n  framework {token}\n}}\n"));
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(out.stderr.contains("unknown field `bogus`"), "{}", &out.stderr[..out.stderr.len().min(3000)]);
    assert!(out.stderr.contains("tok.ix:3:3"), "{}", &out.stderr[..out.stderr.len().min(3000)]);
    assert!(out.stderr.len() < 64 * 1024, "{} bytes of diagnostics", out.stderr.len());
    let out = ix(["check", "--format", "json"]).arg(&path).run().expect_code(1);
    assert!(out.stdout.len() < 64 * 1024, "{} bytes of JSON diagnostics", out.stdout.len());
}

// Issue #17: `at 9223372036854775807/1` made max-model-len wrap to a negative value.
#[test]
fn lengths_whose_max_model_len_overflows_are_rejected_in_both_front_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "wrap.ix", &sweep_with("[1]").replace("at 128/32", "at 9223372036854775807/1"));
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(out.stderr.contains("ix::dsl::length-overflow") && out.stderr.contains("wrap.ix:11:6"), "{}", out.stderr);
    let yaml = "k:\n  image: i\n  model: m\n  model-prefix: p\n  runner: h100\n  precision: fp8\n  framework: vllm\n  \
                multinode: false\n  seq-len-configs:\n  - isl: 9223372036854775807\n    osl: 1\n    search-space:\n    \
                - { tp: 1, conc-start: 1, conc-end: 1 }\n";
    let path = write(dir.path(), "wrap.yaml", yaml);
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(
        out.stderr.contains("ix::config::length-overflow") && out.stderr.contains("wrap.yaml:11:10"),
        "{}",
        out.stderr
    );
}

// Issue #17: invalid UTF-8 was "cannot read input file" with no offset.
#[test]
fn invalid_utf8_in_a_sweep_is_spanned_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.ix");
    std::fs::write(&path, b"sweep s {\n  image \"caf\xe9\"\n}\n").expect("write");
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(out.stderr.contains("ix::config::invalid-utf8"), "{}", out.stderr);
    assert!(
        out.stderr.contains("not valid UTF-8 (byte offset 22)") && out.stderr.contains("byte 0xe9"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("bad.ix:2:13"), "{}", out.stderr);
}

// Issue #17: an unusable state dir said "cannot access …/lock" without the OS reason, and a
// record path that is a folder was reported as the store folder.
#[test]
fn state_store_errors_name_the_path_and_the_os_cause() {
    use crate::run::{OK_SCRIPT, Project, SCRIPT, entry};
    let project = Project::new(&entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1]"), &[(SCRIPT, OK_SCRIPT)]);
    project.write("blocker", "a file where the store's parent folder should be");
    let out = project.run(&["--state", "blocker/.ix"]).expect_code(2);
    assert!(
        out.stderr.contains("blocker/.ix") && out.stderr.contains("Not a directory (os error 20)"),
        "{}",
        out.stderr
    );

    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--format", "json"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let bench = plan["tasks"].as_array().expect("tasks").iter().find(|t| t["kind"] == "bench").expect("bench");
    let record = format!("tasks/{}.json", bench["hash"].as_str().expect("hash"));
    std::fs::create_dir_all(project.path().join(".ix").join(&record)).expect("mkdir");
    let out = project.run(&[]);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(all.contains(&record) && all.contains("Is a directory (os error 21)"), "{all}");
}

/// A loopback server answering every POST with a 200 SSE completions stream of two tokens:
/// request `i` ends with `[DONE]` (`i % 3 == 0`), is cut before `[DONE]` (`1`), or carries an
/// `{"error": …}` event before `[DONE]` (`2`). Returns its address.
fn quirky_sse_server() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for (idx, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut content_length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; content_length];
            let _ = reader.read_exact(&mut body);
            let token = |text: &str| format!("data: {{\"choices\":[{{\"text\":\"{text}\"}}]}}\n\n");
            let mut events = format!("{}{}", token("a"), token("b"));
            match idx % 3 {
                0 => events.push_str("data: [DONE]\n\n"),
                1 => {}
                _ => events.push_str("data: {\"error\":{\"message\":\"overloaded\"}}\n\ndata: [DONE]\n\n"),
            }
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{events}"
            );
        }
    });
    address
}

// Issue #17: a stream cut before `[DONE]` and an `{"error": …}` event in a 200 stream counted as
// plain successes. They still count (as in the reference) but are flagged.
#[test]
fn cut_streams_and_error_events_are_flagged_in_the_result_and_the_summary() {
    let base_url = quirky_sse_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let tokenizer = crate::util::project_root().join("tests/data/bench/words-tokenizer.json");
    let out = ix(["bench", "serve", "--base-url", &base_url, "--disable-tqdm", "--save-result", "--model", "m"])
        .arg("--tokenizer")
        .arg(&tokenizer)
        .args_from(&["--random-input-len", "4", "--random-output-len", "2", "--num-prompts", "6"])
        .args_from(&["--max-concurrency", "1", "--ignore-eos", "--result-filename", "r.json", "--result-dir"])
        .arg(dir.path())
        .run()
        .expect_code(0);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).expect("result")).expect("json");
    assert_eq!(result["completed"], 6, "the reference's count is kept: {result}");
    assert_eq!(result["ix"]["incomplete_streams"], 2, "{}", result["ix"]);
    assert_eq!(result["ix"]["error_events"], 2, "{}", result["ix"]);
    assert!(out.stdout.contains("of which cut before [DONE]:") && out.stdout.contains("of which with error events:"));
}

// Issue #17: an image starting with `-` reached `docker run` unguarded.
#[test]
fn an_image_that_looks_like_an_option_is_rejected_at_check_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "k:\n  image: --privileged\n  model: m\n  model-prefix: p\n  runner: h100\n  precision: fp8\n  \
                framework: vllm\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    \
                search-space:\n    - { tp: 1, conc-start: 1, conc-end: 1 }\n";
    let path = write(dir.path(), "image.yaml", yaml);
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(
        out.stderr.contains("ix::config::invalid-image") && out.stderr.contains("image.yaml:2:10"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("config entry `k`"), "{}", out.stderr);
}

// Issue #17: `ix lower` printed `decode 0 x …` for an aggregated multi-node entry, which the
// DSL checker then rejected; a key that is not an identifier could not be printed at all.
#[test]
fn every_accepted_master_config_lowers_to_a_dsl_file_that_checks() {
    let corpus = crate::util::project_root().join("tests/data/fuzz/yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["aggregated-multinode.yaml", "odd-names.yaml", "small.yaml"] {
        let _ = ix(["check"]).arg(corpus.join(name)).run().expect_code(0);
        let lowered = ix(["lower"]).arg(corpus.join(name)).run().expect_code(0);
        let path = write(dir.path(), &name.replace(".yaml", ".ix"), &lowered.stdout);
        let out = ix(["check"]).arg(&path).run().expect_code(0);
        assert!(out.stderr.contains("no errors"), "{name}: {}\n{}", out.stderr, lowered.stdout);
    }
}

// Issue #17: a validation error far below its entry's key did not name the key.
#[test]
fn master_config_errors_name_their_config_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = String::from("my-entry:\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n");
    yaml.push_str("  framework: vllm\n  runner: h100\n  multinode: false\n  seq-len-configs:\n");
    for _ in 0..20 {
        yaml.push_str("  - isl: 1024\n    osl: 1024\n    search-space:\n    - { tp: 8, conc-list: [4] }\n");
    }
    yaml.push_str("  - isl: 1024\n    osl: 1024\n    search-space:\n    - { tp: 8, conc-start: 64, conc-end: 4 }\n");
    let path = write(dir.path(), "far.yaml", &yaml);
    let out = ix(["check"]).arg(&path).run().expect_code(1);
    assert!(
        out.stderr.contains("config entry `my-entry`: `conc-start` (64) is greater than `conc-end` (4)"),
        "{}",
        out.stderr
    );
}
