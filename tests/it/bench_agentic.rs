//! `ix bench serve --dataset-name weka|mooncake`: the agentic replay through the real binary, as
//! a `--dry-run` on a virtual clock and live against `ix bench sim-server` (exact prompt sizes,
//! the artifact files and the InferenceX aggregate), plus trace errors.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{ix, ix_bin, reference_dir};

struct Sim {
    child: Child,
    port: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim(args: &[&str]) -> Sim {
    let mut child = Command::new(ix_bin())
        .args(["bench", "sim-server", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sim-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address line");
    let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    Sim { child, port }
}

fn traces(reference: &Path) -> PathBuf {
    reference.join("agentic/traces.jsonl")
}

fn records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("aiperf_artifacts/profile_export.jsonl")).expect("records");
    text.lines().map(|line| serde_json::from_str(line).expect("record JSON")).collect()
}

/// Recorded `in` per (conversation id, turn), from the traces file.
fn recorded_inputs(path: &Path) -> HashMap<(String, u64), u64> {
    let mut map = HashMap::new();
    for line in std::fs::read_to_string(path).expect("traces").lines() {
        let trace: Value = serde_json::from_str(line).expect("trace");
        let id = trace["id"].as_str().expect("id").to_owned();
        let mut turn = 0;
        for request in trace["requests"].as_array().expect("requests") {
            if request["type"] == "subagent" {
                let name = format!("{id}::sa:{}", request["agent_id"].as_str().expect("agent"));
                for (idx, inner) in request["requests"].as_array().expect("inner").iter().enumerate() {
                    map.insert((name.clone(), idx as u64), inner["in"].as_u64().expect("in"));
                }
            } else {
                map.insert((id.clone(), turn), request["in"].as_u64().expect("in"));
                turn += 1;
            }
        }
    }
    map
}

#[test]
fn dry_run_writes_the_artifacts_and_the_aggregate() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "serve", "--model", "m", "--dataset-name", "weka", "--dry-run"])
        .arg("--dataset-path")
        .arg(traces(&reference))
        .args_from(&["--concurrency", "6", "--benchmark-duration", "60", "--result-filename", "agentic"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("agentic.json")).expect("result")).expect("json");
    assert_eq!(result["scenario_type"], "agentic-coding");
    assert_eq!(result["conc"], 6);
    let ok = result["num_requests_successful"].as_u64().expect("count");
    let records = records(dir.path());
    let profiled = records.iter().filter(|r| r["metadata"]["benchmark_phase"] == "profiling").count() as u64;
    assert_eq!(ok, profiled);
    assert!(records.iter().filter(|r| r["metadata"]["benchmark_phase"] == "warmup").count() == 6);
    // A dry run sends the recorded lengths; its cached counts never exceed the prompt.
    let inputs = recorded_inputs(&traces(&reference));
    for record in &records {
        let key = (
            record["metadata"]["conversation_id"].as_str().expect("id").to_owned(),
            record["metadata"]["turn_index"].as_u64().expect("turn"),
        );
        let isl = record["metrics"]["input_sequence_length"]["value"].as_u64().expect("isl");
        assert_eq!(Some(&isl), inputs.get(&key), "{key:?}");
    }
    let rate = result["request_metrics"]["cache"]["theoretical_cache_hit_rate"].as_f64().expect("rate");
    assert!(rate > 0.5 && rate < 0.8, "{rate}");
    assert!(out.stderr.contains("Validated aiperf request error rate: 0/"), "{}", out.stderr);
}

#[test]
fn live_replay_against_the_simulator_sends_exact_prompt_sizes() {
    let Some(reference) = reference_dir() else { return };
    let server = sim(&["--ttft-ms", "5", "--itl-ms", "1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "serve", "--backend", "openai-chat", "--model", "sim", "--dataset-name", "weka"])
        .arg("--dataset-path")
        .arg(traces(&reference))
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", server.port))
        .args_from(&["--concurrency", "3", "--benchmark-duration", "3", "--trace-idle-gap-cap-seconds", "0.2"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let inputs = recorded_inputs(&traces(&reference));
    let records = records(dir.path());
    assert!(records.len() > 20, "{}", records.len());
    for record in records.iter().filter(|r| r["error"].is_null()) {
        let key = (
            record["metadata"]["conversation_id"].as_str().expect("id").to_owned(),
            record["metadata"]["turn_index"].as_u64().expect("turn"),
        );
        // The server counts words: the recorded tokens plus the one-word cache-bust marker.
        let isl = record["metrics"]["input_sequence_length"]["value"].as_u64().expect("isl");
        assert_eq!(Some(isl - 1), inputs.get(&key).copied(), "{key:?}");
        let ttft = record["metrics"]["time_to_first_token"]["value"].as_f64().expect("ttft");
        assert!((5.0..200.0).contains(&ttft), "{ttft}");
    }
    // Lanes replaying the same trace carry different markers: correlation ids are unique per play.
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("agentic_result.json")).expect("result"))
            .expect("json");
    assert_eq!(result["ix"]["client_saturated"], false);
    assert!(result["request_metrics"]["latency"]["ttft"]["mean"].as_f64().expect("ttft") >= 0.005);
}

#[test]
fn bad_traces_are_reported_with_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("traces.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"block_size\":64,\"requests\":[{\"t\":0,\"type\":\"s\",\"in\":64,\"out\":1,\"hash_ids\":[0]}]}\n{\"id\":\"b\",\"block_size\":64,\"requests\":[{\"t\":0,\"type\":\"s\",\"in\":-3,\"out\":1,\"hash_ids\":[0]}]}\n",
    )
    .expect("write");
    let out = ix(["bench", "serve", "--model", "m", "--dataset-name", "weka", "--dry-run"])
        .arg("--dataset-path")
        .arg(&path)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ix::bench::trace_field"), "{}", out.stderr);
    assert!(out.stderr.contains("line 2: field `requests[0].in`"), "{}", out.stderr);
    assert!(out.stderr.contains("traces.jsonl"), "{}", out.stderr);
    let missing =
        ix(["bench", "serve", "--model", "m", "--dataset-name", "mooncake", "--dataset-path", "/nonexistent"]).run();
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("ix::bench::trace_read"), "{}", missing.stderr);
}

#[test]
fn mooncake_rows_replay_in_a_dry_run() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "serve", "--model", "m", "--dataset-name", "mooncake", "--dry-run"])
        .arg("--dataset-path")
        .arg(reference.join("agentic/mooncake.jsonl"))
        .args_from(&["--isl-block-size", "64", "--concurrency", "2", "--benchmark-duration", "30"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("agentic_result.json")).expect("result"))
            .expect("json");
    assert_eq!(result["dataset"]["loader"], "mooncake_trace");
    assert!(result["num_requests_successful"].as_u64().expect("count") > 10);
}

/// A live replay against a simulator with a prefix cache of `kv_blocks` blocks; returns the
/// result, the records and the simulator's ground truth.
fn cached_replay(reference: &Path, kv_blocks: &str) -> (Value, Vec<Value>, Value) {
    let server = sim(&["--ttft-ms", "2", "--itl-ms", "1", "--kv-blocks", kv_blocks, "--prefill-ms-per-token", "0.005"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "serve", "--backend", "openai-chat", "--model", "sim", "--dataset-name", "weka"])
        .arg("--dataset-path")
        .arg(traces(reference))
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", server.port))
        .args_from(&["--concurrency", "4", "--benchmark-duration", "3", "--trace-idle-gap-cap-seconds", "0.1"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("agentic_result.json")).expect("result"))
            .expect("json");
    let (status, body) = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        write!(stream, "GET /ground-truth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("response");
        (head.contains(" 200 "), body.to_owned())
    };
    assert!(status);
    (result, records(dir.path()), serde_json::from_str(&body).expect("ground truth"))
}

#[test]
fn client_cache_counts_match_the_simulator_prefix_cache() {
    let Some(reference) = reference_dir() else { return };
    let (result, records, truth) = cached_replay(&reference, "100000");
    // Every cached count the client recorded is what the server reports having cached.
    let client_cached: u64 =
        records.iter().filter_map(|r| r["metrics"]["usage_prompt_cache_read_tokens"]["value"].as_u64()).sum();
    assert_eq!(client_cached, truth["cached_tokens"].as_u64().expect("cached"), "{truth}");
    assert!(client_cached > 0);
    // The server's /metrics hit rate over the profiling window matches the per-request counts.
    let server_rate = result["server_metrics"]["cache"]["overall_cache_hit_rate"].as_f64().expect("server rate");
    let reported = result["ix"]["reported_prompt_cache_hit_rate"].as_f64().expect("reported rate");
    assert!((server_rate - reported).abs() < 0.02, "server {server_rate} vs client {reported}");
    assert_eq!(result["server_metrics"]["adapter"], "vllm");
    // With a pool large enough, the live hit rate is the theoretical one within block rounding
    // and start-point effects.
    let theoretical = result["request_metrics"]["cache"]["theoretical_cache_hit_rate"].as_f64().expect("theory");
    assert!((reported - theoretical).abs() < 0.1, "{reported} vs {theoretical}");

    // A pool smaller than the live working set evicts: the hit rate falls.
    let (small, _, small_truth) = cached_replay(&reference, "48");
    let small_rate = small["ix"]["reported_prompt_cache_hit_rate"].as_f64().expect("rate");
    assert!(small_rate < reported - 0.1, "{small_rate} vs {reported}; {small_truth}");
}

/// The folder `ci/llama.sh` fills (as in `bench.rs`).
fn llama_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IX_LLAMA_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("IX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ix"));
    cache.join("llama-0.3.36")
}

/// Starts the real llama-server (prompt cache on, `--metrics`) with `slots` slots.
fn llama(slots: &str, cache_ram: Option<&str>) -> Sim {
    let dir = llama_dir();
    let (binary, model) = (dir.join("bin/llama-server"), dir.join("model/tiny.gguf"));
    for needed in [&binary, &model] {
        assert!(needed.exists(), "{} is missing: run `ci/llama.sh` first (or set IX_LLAMA_DIR)", needed.display());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut command = Command::new(&binary);
    command.arg("-m").arg(&model).args(["--alias", "tiny", "--host", "127.0.0.1", "--port", &port.to_string()]);
    command.args(["-c", "16384", "-np", slots, "-t", "1", "--metrics"]);
    if let Some(ram) = cache_ram {
        command.args(["--cache-ram", ram]);
    }
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn llama-server");
    let server = Sim { child, port };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        use std::io::{Read, Write};
        let healthy = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut stream| {
            let _ = write!(stream, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            response.starts_with("HTTP/1.1 200")
        });
        if healthy {
            return server;
        }
        assert!(std::time::Instant::now() < deadline, "llama-server did not become healthy");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A 2-lane replay of the reference traces (those that fit a slot) against llama-server.
fn llama_replay(reference: &Path, server: &Sim) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "serve", "--backend", "openai-chat", "--model", "tiny", "--dataset-name", "weka"])
        .arg("--dataset-path")
        .arg(traces(reference))
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", server.port))
        .args_from(&["--concurrency", "2", "--benchmark-duration", "8", "--trace-idle-gap-cap-seconds", "0.1"])
        .args_from(&["--max-context-length", "3000"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("agentic_result.json")).expect("result"))
            .expect("json");
    (result, records(dir.path()))
}

#[test]
fn real_llama_server_reuses_prompts_and_reports_them() {
    let Some(reference) = reference_dir() else { return };
    let server = llama("2", None);
    let (result, records) = llama_replay(&reference, &server);
    // Later turns of a conversation report cached prompt tokens.
    let later: Vec<&Value> = records
        .iter()
        .filter(|r| r["error"].is_null() && r["metadata"]["benchmark_phase"] == "profiling")
        .filter(|r| r["metadata"]["turn_index"].as_u64().is_some_and(|turn| turn >= 1))
        .collect();
    assert!(later.len() >= 4, "{}", later.len());
    let hits = later
        .iter()
        .filter(|r| r["metrics"]["usage_prompt_cache_read_tokens"]["value"].as_u64().unwrap_or(0) > 100)
        .count();
    assert!(hits * 10 >= later.len() * 8, "{hits} of {} later turns hit the cache", later.len());
    // The server's own counters (llamacpp: adapter) agree with the per-request counts.
    assert_eq!(result["server_metrics"]["adapter"], "llamacpp");
    let server_rate = result["server_metrics"]["cache"]["overall_cache_hit_rate"].as_f64().expect("server rate");
    let reported = result["ix"]["reported_prompt_cache_hit_rate"].as_f64().expect("reported rate");
    assert!((server_rate - reported).abs() < 0.03, "server {server_rate} vs client {reported}");
    assert!(reported > 0.4, "{reported}");
    drop(server);

    // No host prompt cache and a single slot for two lanes: every turn lands on a slot the other
    // lane overwrote, so hits shrink to the shared template prefix.
    let server = llama("1", Some("0"));
    let (thrashed, _) = llama_replay(&reference, &server);
    let thrashed_rate = thrashed["ix"]["reported_prompt_cache_hit_rate"].as_f64().expect("rate");
    assert!(thrashed_rate < reported - 0.2, "{thrashed_rate} vs {reported}");
}

#[test]
fn results_summary_shows_agentic_aggregates_in_their_own_section() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(reference.join("agentic/run-vllm.expected.json"), dir.path().join("agentic.json")).expect("copy");
    let out = ix(["results", "summary"]).arg(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("## Agentic Results"), "{}", out.stdout);
    let row = out.stdout.lines().find(|line| line.contains("synthetic/tiny")).expect("the record's row");
    // Median TTFT in ms, interactivity, per-GPU throughput and both hit rates of the aggregate.
    for cell in ["27.4", "1202.75", "0.6654", "0.6499", "cpu-sim"] {
        assert!(row.contains(cell), "{cell} missing in {row}");
    }
    assert!(!out.stdout.contains("Single-Node Results"), "{}", out.stdout);
}

#[test]
fn results_summary_json_keeps_agentic_rows_apart() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(reference.join("agentic/run-sglang.expected.json"), dir.path().join("agentic.json")).expect("copy");
    let out = ix(["results", "summary", "--format", "json"]).arg(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("summary JSON");
    assert_eq!(json["agentic"][0]["Framework"], "sglang", "{json}");
    assert_eq!(json["agentic"][0]["Server Cache Hit Rate"], 0.64988, "{json}");
    assert!(json.get("multi_node").is_none(), "{json}");
}

#[test]
fn html_report_charts_agentic_aggregates() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["run-vllm", "run-sglang"] {
        std::fs::copy(reference.join(format!("agentic/{name}.expected.json")), dir.path().join(format!("{name}.json")))
            .expect("copy");
    }
    let html = dir.path().join("report.html");
    let out = ix(["report"]).arg(dir.path()).arg("-o").arg(&html).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&html).expect("report");
    assert!(text.contains("<h2>Agentic replay</h2>"), "no agentic section");
    for title in ["Throughput per GPU vs interactivity", "Server prefix-cache hit rate vs users", "TTFT vs users"] {
        assert!(text.contains(title), "{title} missing");
    }
    // One series per framework: both runs are charted.
    assert!(text.contains("CPU-SIM vllm FP8") && text.contains("CPU-SIM sglang FP8"), "series missing");
    assert!(!text.contains("No aggregate records"));
}

/// Small synthetic traces from `ix bench traces` (prompts of ~1k growing to 4k words).
fn synth_traces(dir: &Path) -> PathBuf {
    let path = dir.join("traces.jsonl");
    let out = ix(["bench", "traces", "--traces", "8", "--min-turns", "8", "--max-turns", "12"])
        .args_from(&["--initial-tokens", "1024", "--max-prompt-tokens", "4096", "--max-subagents", "2"])
        .args_from(&["--max-output-tokens", "32", "--max-api-time", "0.2", "--think-time", "0.05", "--output"])
        .arg(&path)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("wrote 8 traces"), "{}", out.stderr);
    path
}

fn live_replay(server: &Sim, traces: &Path, dir: &Path, extra: &[&str]) -> crate::util::IxOutput {
    ix(["bench", "serve", "--backend", "openai-chat", "--model", "sim", "--dataset-name", "weka"])
        .arg("--dataset-path")
        .arg(traces)
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", server.port))
        .args_from(&["--concurrency", "4", "--trace-idle-gap-cap-seconds", "0.1"])
        .args_from(extra)
        .arg("--result-dir")
        .arg(dir)
        .run()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json")
}

/// §4.6: a context-length 400 is its own error category, ends its play, is counted in
/// `context_overflow_count`, and above 1 % of the responses invalidates the submission.
#[test]
fn context_overflows_are_their_own_category_and_invalidate_above_one_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = synth_traces(dir.path());
    let server = sim(&["--ttft-ms", "1", "--itl-ms", "0.5", "--max-model-len", "3000"]);
    let out =
        live_replay(&server, &traces, dir.path(), &["--benchmark-duration", "2", "--failed-request-threshold", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("exceeded the server's context length"), "{}", out.stderr);
    let overflows: Vec<Value> =
        records(dir.path()).into_iter().filter(|r| r["error"]["type"] == "context_overflow").collect();
    assert!(!overflows.is_empty());
    assert!(overflows.iter().all(|r| r["error"]["code"] == 400), "{:?}", overflows[0]);
    let summary = json_file(&dir.path().join("aiperf_artifacts/profile_export_aiperf.json"));
    let count = summary["context_overflow_count"]["avg"].as_u64().expect("count");
    assert!(count > 0);
    assert_eq!(summary["metadata"]["submission_valid"], false);
    let reasons = summary["metadata"]["submission_invalid_reasons"].as_array().expect("reasons");
    assert!(reasons.contains(&Value::from("context_overflow_rate_exceeded")), "{reasons:?}");
    let result = json_file(&dir.path().join("agentic_result.json"));
    assert_eq!(
        result["request_accounting"]["error_categories"]["context_overflow"], count,
        "{}",
        result["request_accounting"]
    );
    assert_eq!(result["ix"]["context_overflow_count"], count);
    // The client's own 1 s series covers every record.
    let slices = json_file(&dir.path().join("aiperf_artifacts/client_timeslices.json"));
    let slices = slices["slices"].as_array().expect("slices");
    let completions: u64 = slices.iter().map(|s| s["completions"].as_u64().unwrap()).sum();
    assert_eq!(completions as usize, records(dir.path()).len());
    assert!(slices.iter().any(|s| s["active_trees"].as_u64().unwrap() >= 2), "4 lanes run trees side by side");
    let trees = json_file(&dir.path().join("aiperf_artifacts/client_timelines.json"));
    let trees = trees.as_array().expect("trees");
    let lanes: std::collections::BTreeSet<u64> = trees.iter().filter_map(|t| t["lane"].as_u64()).collect();
    assert_eq!(lanes, (0..4).collect(), "every lane has a timeline");
    let requests: u64 = trees.iter().map(|t| t["requests"].as_u64().unwrap()).sum();
    assert_eq!(requests as usize, records(dir.path()).len());
    // An overflow ends its play: no later turn of that conversation in the same play.
    for overflow in &overflows {
        let later = records(dir.path()).into_iter().any(|r| {
            r["metadata"]["x_correlation_id"] == overflow["metadata"]["x_correlation_id"]
                && r["metadata"]["turn_index"].as_u64() > overflow["metadata"]["turn_index"].as_u64()
        });
        assert!(!later, "a turn after the overflow of {}", overflow["metadata"]);
    }
}

/// §4.3: a root conversation's failed warm-up request aborts the run with a non-zero exit.
#[test]
fn a_failed_root_warmup_request_aborts_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = synth_traces(dir.path());
    let server = sim(&["--error-rate", "1"]);
    let out = live_replay(&server, &traces, dir.path(), &["--benchmark-duration", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("warm-up request failed"), "{}", out.stderr);
    let all = records(dir.path());
    assert!(all.iter().all(|r| r["metadata"]["benchmark_phase"] == "warmup"), "nothing was profiled");
    let result = json_file(&dir.path().join("agentic_result.json"));
    assert!(result["ix"]["warmup_failed"].as_str().is_some_and(|s| s.contains("HTTP 500")), "{}", result["ix"]);
    assert_eq!(result["ix"]["run_cancelled"], true);
}

/// §4.3: `--warmup-grace-period` ends a warm-up that has not drained: its requests in flight are
/// cancelled and profiling starts on time.
#[test]
fn warmup_grace_period_cancels_a_slow_warmup_and_profiling_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = synth_traces(dir.path());
    let server = sim(&["--ttft-ms", "1500", "--itl-ms", "1"]);
    let extra = ["--benchmark-duration", "1", "--warmup-grace-period", "0.3", "--warmup-requests-per-lane", "2"];
    let out = live_replay(&server, &traces, dir.path(), &extra);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = records(dir.path());
    let warmup: Vec<&Value> = all.iter().filter(|r| r["metadata"]["benchmark_phase"] == "warmup").collect();
    assert_eq!(warmup.len(), 4, "one start-point request per lane, all cut off");
    for record in &warmup {
        assert_eq!(record["metadata"]["was_cancelled"], true);
        assert!(record["error"]["message"].as_str().unwrap().contains("warm-up grace period"));
    }
    let profiled: Vec<&Value> =
        all.iter().filter(|r| r["metadata"]["benchmark_phase"] == "profiling" && r["error"].is_null()).collect();
    assert!(profiled.len() >= 4, "{} profiled", profiled.len());
    // Profiling began at the grace period, not after the 1.5 s warm-up requests.
    let first_warmup = warmup.iter().filter_map(|r| r["metadata"]["request_start_ns"].as_u64()).min().unwrap();
    let first_profiled = profiled.iter().filter_map(|r| r["metadata"]["request_start_ns"].as_u64()).min().unwrap();
    assert!(first_profiled - first_warmup < 1_000_000_000, "{} ms", (first_profiled - first_warmup) / 1_000_000);
}

/// §4.2 (newer aiperf): `--trajectory-start-by time` draws the start instant over the recorded
/// span; a ratio of 0 starts every lane at turn 0, of 1 at the last startable turn.
#[test]
fn start_points_by_time_follow_the_ratios() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = synth_traces(dir.path());
    let start_turns = |ratio: &str| -> Vec<u64> {
        let out_dir = tempfile::tempdir().expect("tempdir");
        let out = ix(["bench", "serve", "--model", "m", "--dataset-name", "weka", "--dry-run"])
            .arg("--dataset-path")
            .arg(&traces)
            .args_from(&["--concurrency", "8", "--benchmark-duration", "1", "--trajectory-start-by", "time"])
            .args_from(&["--trajectory-start-min-ratio", ratio, "--trajectory-start-max-ratio", ratio])
            .arg("--result-dir")
            .arg(out_dir.path())
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let mut turns: Vec<u64> = records(out_dir.path())
            .iter()
            .filter(|r| {
                r["metadata"]["benchmark_phase"] == "warmup"
                    && !r["metadata"]["conversation_id"].as_str().unwrap().contains("::")
            })
            .map(|r| r["metadata"]["turn_index"].as_u64().unwrap())
            .collect();
        turns.sort_unstable();
        turns
    };
    assert_eq!(start_turns("0"), vec![0; 8]);
    let last = start_turns("1");
    assert!(last.iter().all(|&t| t >= 6), "8+ turns per trace: the start is n - 2 >= 6: {last:?}");
    let bad =
        ix(["bench", "serve", "--model", "m", "--dataset-name", "weka", "--dry-run", "--trajectory-start-by", "day"])
            .arg("--dataset-path")
            .arg(&traces)
            .run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// The real llama-server's context error (`exceed_context_size_error`, "exceeds the available
/// context size", REAL-SERVER.md) is recognised as a context overflow: 8 slots of a 16k context
/// give 2k tokens per slot, and the synthetic prompts grow to 4k words.
#[test]
fn real_llama_server_context_errors_count_as_overflows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = synth_traces(dir.path());
    let server = llama("8", None);
    let out = ix(["bench", "serve", "--backend", "openai-chat", "--model", "tiny", "--dataset-name", "weka"])
        .arg("--dataset-path")
        .arg(&traces)
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", server.port))
        .args_from(&["--concurrency", "2", "--benchmark-duration", "4", "--trace-idle-gap-cap-seconds", "0.1"])
        .args_from(&["--failed-request-threshold", "1"])
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let all = records(dir.path());
    let overflows: Vec<&Value> = all.iter().filter(|r| r["error"]["type"] == "context_overflow").collect();
    assert!(!overflows.is_empty(), "no overflow among {} records", all.len());
    assert!(
        overflows
            .iter()
            .all(|r| r["error"]["message"].as_str().unwrap().contains("exceeds the available context size"))
    );
    assert!(all.iter().any(|r| r["error"].is_null()), "shorter prompts still succeed");
}

#[test]
fn bench_traces_refuses_bad_sizes_and_unwritable_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ix(["bench", "traces", "--traces", "0", "--output"]).arg(dir.path().join("t.jsonl")).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--traces must be at least 1"), "{}", out.stderr);
    let out = ix(["bench", "traces", "--min-turns", "9", "--max-turns", "3", "--output"])
        .arg(dir.path().join("t.jsonl"))
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = ix(["bench", "traces", "--traces", "1", "--output"]).arg(dir.path().join("missing/t.jsonl")).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
}
