//! `ix results ...`: the reference conformance cases (process-result, summarize) run through the
//! real binary, plus the behaviour `ix` adds (lenient mode, formats, collect order, success rate).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{ix, reference_dir};

/// Every variable the process step reads; removed before a case sets its own.
const CONTRACT_VARS: [&str; 25] = [
    "RUNNER_TYPE",
    "FRAMEWORK",
    "PRECISION",
    "SPEC_DECODING",
    "RESULT_FILENAME",
    "ISL",
    "OSL",
    "DISAGG",
    "MODEL_PREFIX",
    "IMAGE",
    "IS_MULTINODE",
    "PREFILL_GPUS",
    "DECODE_GPUS",
    "PREFILL_NUM_WORKERS",
    "PREFILL_TP",
    "PREFILL_EP",
    "PREFILL_DP_ATTN",
    "DECODE_NUM_WORKERS",
    "DECODE_TP",
    "DECODE_EP",
    "DECODE_DP_ATTN",
    "TP",
    "EP_SIZE",
    "DP_ATTENTION",
    "CONC",
];

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

fn read_env(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// Numeric comparison (relative 1e-12) of two JSON values; object key order must match too.
fn assert_json_close(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() <= 1e-12 * e.abs().max(1e-300), "{at}: {a} != {e}");
        }
        (Value::Object(a), Value::Object(e)) => {
            let a_keys: Vec<&String> = a.keys().collect();
            let e_keys: Vec<&String> = e.keys().collect();
            assert_eq!(a_keys, e_keys, "{at}: key order differs");
            for (key, value) in e {
                assert_json_close(&a[key], value, &format!("{at}.{key}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: length differs");
            for (idx, (a, e)) in a.iter().zip(e).enumerate() {
                assert_json_close(a, e, &format!("{at}[{idx}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

fn run_process_case(case: &Path, extra_args: &[&str]) -> (crate::util::IxOutput, tempfile::TempDir, String) {
    let env = read_env(&case.join("env"));
    let result_filename = env.iter().find(|(key, _)| key == "RESULT_FILENAME").map(|(_, v)| v.clone()).unwrap();
    let work = tempfile::tempdir().unwrap();
    if case.join("input.json").exists() {
        std::fs::copy(case.join("input.json"), work.path().join(format!("{result_filename}.json"))).unwrap();
    }
    let mut cmd = ix(["results", "process"]).current_dir(work.path());
    for arg in extra_args {
        cmd = cmd.arg(*arg);
    }
    for var in CONTRACT_VARS {
        cmd = cmd.env_remove(var);
    }
    for (key, value) in &env {
        cmd = cmd.env(key, value);
    }
    (cmd.run(), work, result_filename)
}

#[test]
fn process_result_conformance_cases() {
    let Some(reference) = reference_dir() else { return };
    let cases = case_dirs(&reference.join("conformance/process-result"));
    assert!(cases.len() >= 12, "expected the 12 process-result cases");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let exit_code: i32 = std::fs::read_to_string(case.join("exit-code")).unwrap().trim().parse().unwrap();
        let (output, work, result_filename) = run_process_case(&case, &[]);
        let output = output.expect_code(exit_code);
        if exit_code == 0 {
            let expected: Value = serde_json::from_slice(&std::fs::read(case.join("expected.json")).unwrap()).unwrap();
            let printed: Value = serde_json::from_str(&output.stdout).unwrap();
            assert_json_close(&printed, &expected, &format!("{name} stdout"));
            let written = std::fs::read_to_string(work.path().join(format!("agg_{result_filename}.json"))).unwrap();
            assert!(!written.ends_with('\n'), "{name}: the agg file has no trailing newline, as in the reference");
            assert_json_close(&serde_json::from_str(&written).unwrap(), &expected, &format!("{name} file"));
        } else if let Ok(contains) = std::fs::read_to_string(case.join("error-contains")) {
            for needle in contains.lines().filter(|line| !line.is_empty()) {
                assert!(output.stderr.contains(needle), "{name}: stderr lacks `{needle}`:\n{}", output.stderr);
            }
        }
    }
}

#[test]
fn process_lenient_turns_zero_tpot_into_null_interactivity() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/process-result/11-err-zero-std-tpot");
    let (output, _work, _) = run_process_case(&case, &[]);
    let output = output.expect_code(1);
    assert!(output.stderr.contains("std_tpot_ms"), "{}", output.stderr);
    assert!(output.stderr.contains("--lenient"), "{}", output.stderr);
    let (output, _work, _) = run_process_case(&case, &["--lenient"]);
    let record: Value = serde_json::from_str(&output.expect_code(0).stdout).unwrap();
    assert_eq!(record["std_intvty"], Value::Null);
    assert_eq!(record["median_intvty"], 200.0);
    assert_eq!(record["std_tpot"], 0.0);
}

#[test]
fn process_null_metric_is_a_clear_error_or_null_when_lenient() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/process-result/01-single-node-tp8");
    let env = read_env(&case.join("env"));
    let result_filename = env.iter().find(|(key, _)| key == "RESULT_FILENAME").map(|(_, v)| v.clone()).unwrap();
    let mut raw: Value = serde_json::from_slice(&std::fs::read(case.join("input.json")).unwrap()).unwrap();
    raw["p99_tpot_ms"] = Value::Null;
    for (flag, code) in [(None, 1), (Some("--lenient"), 0)] {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join(format!("{result_filename}.json")), raw.to_string()).unwrap();
        let mut cmd = ix(["results", "process", "--dir"]).arg(work.path());
        if let Some(flag) = flag {
            cmd = cmd.arg(flag);
        }
        for (key, value) in &env {
            cmd = cmd.env(key, value);
        }
        let output = cmd.run().expect_code(code);
        if code == 1 {
            assert!(output.stderr.contains("p99_tpot_ms"), "{}", output.stderr);
        } else {
            let record: Value = serde_json::from_str(&output.stdout).unwrap();
            assert_eq!(record["p99_tpot"], Value::Null);
            assert_eq!(record["p99_intvty"], Value::Null);
        }
    }
}

/// The summary's markdown with `ix`'s notice lines (where the reference prints its disclaimer
/// paragraph, which the expected files omit) removed.
fn without_notice(markdown: &str) -> String {
    markdown.split_inclusive('\n').filter(|line| !line.starts_with("> ")).collect()
}

#[test]
fn summarize_conformance_cases() {
    let Some(reference) = reference_dir() else { return };
    for case in case_dirs(&reference.join("conformance/summarize")) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let exit_code: i32 = std::fs::read_to_string(case.join("exit-code")).unwrap().trim().parse().unwrap();
        let output = ix(["results", "summary", "results/"]).current_dir(&case).run().expect_code(exit_code);
        if exit_code == 0 {
            let expected = std::fs::read_to_string(case.join("expected.md")).unwrap();
            assert_eq!(without_notice(&output.stdout), expected, "{name}");
        } else if let Ok(contains) = std::fs::read_to_string(case.join("error-contains")) {
            for needle in contains.lines().filter(|line| !line.is_empty()) {
                assert!(output.stderr.contains(needle), "{name}: stderr lacks `{needle}`:\n{}", output.stderr);
            }
        }
    }
}

#[test]
fn summary_lenient_leaves_missing_metrics_empty() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/summarize/03-err-missing-e2el");
    let output = ix(["results", "summary", "results/", "--lenient"]).current_dir(&case).run().expect_code(0);
    let row = output.stdout.lines().find(|line| line.starts_with("| gptoss")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // Columns: "", Model .. Conc (11), TTFT, TPOT, Interactivity, E2EL, ...
    assert_eq!(cells[12], "80.25");
    assert_eq!(cells[15], "", "E2EL is empty: {row}");
    assert_eq!(cells[16], "561.5");
}

#[test]
fn summary_csv_and_json_formats() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/summarize/01-single-and-multi");
    let csv = ix(["results", "summary", "results/", "--format", "csv"]).current_dir(&case).run().expect_code(0).stdout;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Model,Served Model,Hardware,Framework,Precision,ISL,OSL,TP,EP,DP Attention,Conc,TTFT (ms)")
    );
    assert_eq!(
        lines.next().unwrap(),
        "dsr1,deepseek-ai/DeepSeek-R1-0528,B200,SGLANG,FP8,1024,1024,8,1,false,64,640.12,6.7011,149.22923102177253,61.9874,2341.81527375,1137.6672625,1204.1480112499999"
    );
    assert_eq!(csv.split("\n\n").count(), 2, "two sections separated by one empty line");
    let json =
        ix(["results", "summary", "results/", "--format", "json"]).current_dir(&case).run().expect_code(0).stdout;
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["single_node"].as_array().unwrap().len(), 3);
    assert_eq!(json["multi_node"].as_array().unwrap().len(), 2);
    assert_eq!(json["multi_node"][0]["Decode GPUs"], 4);
    assert_eq!(json["single_node"][2]["Hardware"], "H200");
}

#[test]
fn summary_appends_markdown_to_github_step_summary() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/summarize/02-single-only");
    let work = tempfile::tempdir().unwrap();
    let step_summary = work.path().join("summary.md");
    std::fs::write(&step_summary, "before\n").unwrap();
    let output = ix(["results", "summary", "results/", "--format", "json"])
        .current_dir(&case)
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .run()
        .expect_code(0);
    let written = std::fs::read_to_string(&step_summary).unwrap();
    assert!(written.starts_with("before\n## Single-Node Results\n"), "{written}");
    let expected = std::fs::read_to_string(case.join("expected.md")).unwrap();
    assert_eq!(without_notice(&written["before\n".len()..]), expected);
    assert!(output.stdout.starts_with('{'));
}

#[test]
fn collect_lists_every_json_in_path_order() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("conformance/summarize/01-single-and-multi");
    let out = tempfile::tempdir().unwrap();
    let _ = ix(["results", "collect"])
        .arg(case.join("results"))
        .arg("sweep")
        .arg("--out-dir")
        .arg(out.path())
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(out.path().join("agg_sweep.json")).unwrap();
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    let order: Vec<(&str, i64)> =
        list.iter().map(|r| (r["hw"].as_str().unwrap(), r["conc"].as_i64().unwrap())).collect();
    // bmk_a/agg_01, bmk_a/agg_02, bmk_b/agg_03, bmk_b/agg_04, bmk_c/agg_06.
    assert_eq!(
        order,
        [("b200", 64), ("b200-trt", 256), ("b200-multinode-slurm", 1214), ("b200-multinode-slurm", 512), ("h200", 128)]
    );
    assert!(text.starts_with("[\n  {\n    \"hw\""), "2-space indent");
}

#[test]
fn success_rate_counts_jobs_per_sku() {
    let Some(reference) = reference_dir() else { return };
    let work = tempfile::tempdir().unwrap();
    let jobs = serde_json::json!({"jobs": [
        {"name": "benchmark b200-trt / dsr1 1k1k tp8", "conclusion": "success"},
        {"name": "benchmark b200 / dsr1 1k1k tp4", "conclusion": "failure"},
        {"name": "benchmark gb200 / dsr1 multi", "conclusion": "success"},
        {"name": "benchmark GB200 / dsr1 multi", "conclusion": "skipped"},
        {"name": "benchmark mi355x / gptoss", "conclusion": "cancelled"},
        {"name": "collect results", "conclusion": "success"}
    ]});
    std::fs::write(work.path().join("jobs.json"), jobs.to_string()).unwrap();
    let output = ix(["results", "success-rate", "rates", "--jobs", "jobs.json", "--runners"])
        .arg(reference.join("configs/runners.yaml"))
        .current_dir(work.path())
        .run()
        .expect_code(0);
    let rates: Value = serde_json::from_str(&std::fs::read_to_string(work.path().join("rates.json")).unwrap()).unwrap();
    assert_eq!(rates["b200"], serde_json::json!({"n_success": 1, "total": 2}));
    assert_eq!(rates["gb200"], serde_json::json!({"n_success": 1, "total": 1}));
    assert_eq!(rates["mi355x"], serde_json::json!({"n_success": 0, "total": 1}));
    assert_eq!(rates["h100"], serde_json::json!({"n_success": 0, "total": 0}), "zeros included");
    assert!(output.stdout.contains("| B200   |"), "{}", output.stdout);
    assert!(output.stdout.contains("50.0%"), "{}", output.stdout);
    assert!(!output.stdout.contains("H100"), "SKUs without jobs are not printed:\n{}", output.stdout);
}

#[test]
fn bench_command_reports_each_phase() {
    let output = ix(["results", "bench", "--records", "200"]).run().expect_code(0);
    for phase in ["process", "collect", "summary", "total"] {
        assert!(output.stdout.contains(phase), "{}", output.stdout);
    }
}

/// A loopback stand-in for the GitHub API: answers each request with `respond(request line and
/// headers)` and records the requests.
fn fake_github(respond: fn(&str) -> (u16, String)) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                request.push_str(&line);
            }
            let (status, body) = respond(&request);
            log.lock().unwrap().push(request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn success_rate_lists_jobs_of_all_attempts_from_the_github_api() {
    let Some(reference) = reference_dir() else { return };
    let (url, seen) = fake_github(|request| {
        let job = |name: &str, conclusion: &str| serde_json::json!({"name": name, "conclusion": conclusion});
        if request.contains("page=1 ") {
            let jobs: Vec<Value> = (0..100).map(|idx| job(&format!("bench h200 / {idx}"), "success")).collect();
            (200, serde_json::json!({"total_count": 101, "jobs": jobs}).to_string())
        } else {
            (200, serde_json::json!({"total_count": 101, "jobs": [job("bench mi355x / 0", "failure")]}).to_string())
        }
    });
    let work = tempfile::tempdir().unwrap();
    let _ = ix(["results", "success-rate", "rates", "--runners"])
        .arg(reference.join("configs/runners.yaml"))
        .current_dir(work.path())
        .env("GITHUB_API_URL", &url)
        .env("GITHUB_TOKEN", "secret-token")
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env("GITHUB_RUN_ID", "42")
        .run()
        .expect_code(0);
    let rates: Value = serde_json::from_str(&std::fs::read_to_string(work.path().join("rates.json")).unwrap()).unwrap();
    assert_eq!(rates["h200"], serde_json::json!({"n_success": 100, "total": 100}));
    assert_eq!(rates["mi355x"], serde_json::json!({"n_success": 0, "total": 1}));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "two pages: {seen:?}");
    assert!(
        seen[0].starts_with("GET /repos/owner/repo/actions/runs/42/jobs?filter=all&per_page=100&page=1 "),
        "{}",
        seen[0]
    );
    assert!(seen[0].to_lowercase().contains("authorization: bearer secret-token"), "{}", seen[0]);
}

#[test]
fn success_rate_writes_null_when_the_github_token_is_refused() {
    let Some(reference) = reference_dir() else { return };
    let (url, _seen) = fake_github(|_| (401, r#"{"message": "Bad credentials"}"#.to_string()));
    let work = tempfile::tempdir().unwrap();
    let output = ix(["results", "success-rate", "rates", "--runners"])
        .arg(reference.join("configs/runners.yaml"))
        .current_dir(work.path())
        .env("GITHUB_API_URL", &url)
        .env("GITHUB_TOKEN", "expired")
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env("GITHUB_RUN_ID", "42")
        .run()
        .expect_code(0);
    assert!(output.stderr.contains("refused the token (HTTP 401)"), "{}", output.stderr);
    assert_eq!(std::fs::read_to_string(work.path().join("rates.json")).unwrap(), "null");

    let output = ix(["results", "success-rate", "rates", "--runners"])
        .arg(reference.join("configs/runners.yaml"))
        .current_dir(work.path())
        .env_remove("GITHUB_TOKEN")
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env_remove("GITHUB_RUN_ID")
        .run()
        .expect_code(1);
    assert!(output.stderr.contains("GITHUB_TOKEN") && output.stderr.contains("GITHUB_RUN_ID"), "{}", output.stderr);
    assert!(!output.stderr.contains("GITHUB_REPOSITORY"), "{}", output.stderr);
}
