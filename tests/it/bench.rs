//! `ix bench serve` and `ix bench sim-server`, driven through the real binary: exact token
//! counts, timing against the simulator's ground truth, fault categories, the result-file
//! contract, every backend (TGI, Triton/TensorRT-LLM and DeepSpeed-MII shapes from the
//! simulator), `--profile`, `--lora-modules`, and a real llama.cpp `llama-server` (built by
//! `ci/llama.sh`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{IxCmd, ix, ix_bin, project_root};

/// Several arguments at once (the shared builder takes one at a time).
trait ArgsExt {
    fn args<S: AsRef<std::ffi::OsStr>>(self, args: &[S]) -> Self;
}

impl ArgsExt for IxCmd {
    fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: &[S]) -> Self {
        for arg in args {
            self = self.arg(arg.as_ref());
        }
        self
    }
}

/// The reference's result keys, in order, for `--percentile-metrics ttft,tpot,itl,e2el` and
/// `--metric-percentiles 50,99.9` without metadata or detail.
const RESULT_KEYS: &[&str] = &[
    "date",
    "backend",
    "model_id",
    "tokenizer_id",
    "best_of",
    "num_prompts",
    "request_rate",
    "burstiness",
    "max_concurrency",
    "duration",
    "completed",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "request_goodput:",
    "output_throughput",
    "total_token_throughput",
    "mean_ttft_ms",
    "median_ttft_ms",
    "std_ttft_ms",
    "p50_ttft_ms",
    "p99.9_ttft_ms",
    "mean_tpot_ms",
    "median_tpot_ms",
    "std_tpot_ms",
    "p50_tpot_ms",
    "p99.9_tpot_ms",
    "mean_itl_ms",
    "median_itl_ms",
    "std_itl_ms",
    "p50_itl_ms",
    "p99.9_itl_ms",
    "mean_e2el_ms",
    "median_e2el_ms",
    "std_e2el_ms",
    "p50_e2el_ms",
    "p99.9_e2el_ms",
    "ix",
];

/// Timing-sensitive tests (and the real server) run one at a time: the machine has 2 cores.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn words_tokenizer() -> String {
    project_root().join("tests/data/bench/words-tokenizer.json").display().to_string()
}

/// A server process killed when the test ends (by its pid, never by name).
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = http(self.port, "GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }
}

/// Starts `ix bench sim-server --port 0 <args>` and reads the bound port from its first line.
fn sim_server(args: &[&str]) -> Server {
    let mut child = Command::new(ix_bin())
        .args(["bench", "sim-server", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sim-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the address line");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in sim-server's first line: {line:?}"));
    Server { child, port }
}

/// A minimal HTTP/1.1 request over a fresh connection: (status, body).
fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        .expect("write request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// Runs `ix bench serve` with `args` plus a result file, returning (stdout, result JSON).
fn serve(base_url: &str, args: &[&str]) -> (String, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ix(["bench", "serve", "--base-url", base_url, "--disable-tqdm", "--save-result"])
        .args(args)
        .arg("--result-dir")
        .arg(dir.path())
        .args(&["--result-filename", "result.json"])
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(dir.path().join("result.json")).expect("result file written");
    (output.stdout, serde_json::from_str(&text).expect("result file is JSON"))
}

fn number(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("missing number `{key}` in {value}"))
}

#[test]
fn sim_server_counts_tokens_exactly_and_writes_the_reference_keys() {
    let server = sim_server(&[]);
    let (stdout, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--dataset-name",
            "random",
            "--random-input-len",
            "32",
            "--random-output-len",
            "16",
            "--random-range-ratio",
            "0.5",
            "--num-prompts",
            "40",
            "--max-concurrency",
            "8",
            "--ignore-eos",
            "--num-warmups",
            "0",
            "--percentile-metrics",
            "ttft,tpot,itl,e2el",
            "--metric-percentiles",
            "50,99.9",
        ],
    );
    let keys: Vec<&str> = result.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, RESULT_KEYS);
    assert_eq!(result["completed"], 40);
    assert_eq!(result["max_concurrency"], 8);
    assert_eq!(result["request_rate"], "inf");
    assert_eq!(result["request_goodput:"], Value::Null);
    let truth = server.get_json("/ground-truth");
    assert_eq!(truth["requests"], 40);
    // Every token the server sent is counted, from usage on the finish chunk (COMPAT.md).
    assert_eq!(result["total_output_tokens"], truth["tokens"]);
    assert_eq!(result["ix"]["output_tokens_source"], "usage");
    // Keep-alive: 8 connections for 40 requests, each connect timed on its own.
    assert_eq!(result["ix"]["new_connections"], 8);
    assert!(number(&result["ix"], "mean_connect_ms") > 0.0);
    // The words tokenizer round-trips exactly, so lengths land in [floor(32·0.5), 32].
    let total_input = number(&result, "total_input_tokens");
    assert!((16.0 * 40.0..=32.0 * 40.0).contains(&total_input), "{total_input}");
    assert!(stdout.contains("avg_token_mismatch=0.00"), "{stdout}");
    assert!(stdout.contains("Serving Benchmark Result"), "{stdout}");
    assert!(stdout.contains("P99.9 ITL (ms):"), "{stdout}");
}

#[test]
fn jsonl_and_sharegpt_datasets() {
    let server = sim_server(&["--output-len", "3"]);
    let data = project_root().join("tests/data/bench");
    let jsonl = data.join("prompts.jsonl").display().to_string();
    let (stdout, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--dataset-name",
            "jsonl",
            "--dataset-path",
            &jsonl,
            "--num-prompts",
            "10",
            "--random-output-len",
            "2",
            "--ignore-eos",
        ],
    );
    assert_eq!(result["completed"], 3, "{stdout}");
    assert_eq!(result["total_input_tokens"], 4 + 6 + 4);
    assert_eq!(result["total_output_tokens"], 5 + 7 + 2);
    let sharegpt = data.join("sharegpt.json").display().to_string();
    let (stdout, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--dataset-name",
            "sharegpt",
            "--dataset-path",
            &sharegpt,
            "--num-prompts",
            "10",
            "--ignore-eos",
        ],
    );
    assert_eq!(result["completed"], 2, "{stdout}");
    assert_eq!(result["total_input_tokens"], 3 + 5);
    assert_eq!(result["total_output_tokens"], 6 + 2);
}

#[test]
fn goodput_metadata_and_rate_are_recorded() {
    let server = sim_server(&["--ttft-ms", "5", "--itl-ms", "1"]);
    let (_, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "org/sim-model",
            "--tokenizer",
            &words_tokenizer(),
            "--random-input-len",
            "4",
            "--random-output-len",
            "4",
            "--num-prompts",
            "20",
            "--request-rate",
            "200",
            "--burstiness",
            "2",
            "--goodput",
            "ttft:1000",
            "e2el:1000",
            "--metadata",
            "gpu=none",
            "run=a=b",
            "--ignore-eos",
            // Warm-ups without a concurrency cap run uncapped (the reference crashes here).
            "--num-warmups",
            "4",
        ],
    );
    assert_eq!(server.get_json("/ground-truth")["requests"], 24);
    assert_eq!(result["request_rate"], 200.0);
    assert_eq!(result["burstiness"], 2.0);
    assert_eq!(result["max_concurrency"], Value::Null);
    assert_eq!(result["gpu"], "none");
    assert_eq!(result["run"], "a", "anything after a second `=` is dropped, as in the reference");
    // Every request meets generous SLOs, so goodput equals throughput.
    assert_eq!(result["request_goodput:"], result["request_throughput"]);
    // A precomputed schedule: 20 requests at 200/s take about 0.1 s, not more.
    assert!(number(&result, "duration") < 1.0, "{result}");
}

#[test]
fn chat_backend_against_sim_counts_usage_chunk_with_both_http_clients() {
    let server = sim_server(&[]);
    for http_client in ["raw", "reqwest"] {
        let (_, result) = serve(
            &server.base_url(),
            &[
                "--model",
                "sim",
                "--tokenizer",
                &words_tokenizer(),
                "--backend",
                "openai-chat",
                "--endpoint",
                "/v1/chat/completions",
                "--random-input-len",
                "16",
                "--random-output-len",
                "8",
                "--num-prompts",
                "10",
                "--max-concurrency",
                "2",
                "--ignore-eos",
                "--http-client",
                http_client,
            ],
        );
        assert_eq!(result["completed"], 10, "{http_client}");
        assert_eq!(result["total_output_tokens"], 80, "{http_client}");
        assert_eq!(result["total_input_tokens"], 160, "{http_client}");
    }
    // Two clients of 2 connections each (keep-alive reuses them), plus this query's own.
    assert_eq!(server.get_json("/ground-truth")["connections_accepted"], 5);
}

/// Runs `4·C` requests (after `C` warm-ups that open the connections, as InferenceX's warm-ups
/// do) against a paced simulator; returns (result, ground truth without the warm-ups).
fn paced_run(concurrency: usize) -> (Value, Value) {
    let server = sim_server(&["--ttft-ms", "50", "--itl-ms", "11"]);
    let _serial = TIMING.lock();
    let concurrency_text = concurrency.to_string();
    let prompts_text = (4 * concurrency).to_string();
    let (_, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--random-input-len",
            "8",
            "--random-output-len",
            "24",
            "--random-range-ratio",
            "0.5",
            "--num-prompts",
            &prompts_text,
            "--max-concurrency",
            &concurrency_text,
            "--num-warmups",
            &concurrency_text,
            "--ignore-eos",
            "--percentile-metrics",
            "ttft,itl",
        ],
    );
    let truth = server.get_json(&format!("/ground-truth?skip={concurrency}"));
    assert_eq!(result["completed"], 4 * concurrency);
    assert_eq!(truth["requests"], 4 * concurrency);
    assert_eq!(result["total_output_tokens"], truth["tokens"]);
    (result, truth)
}

/// (mean TTFT, p99 TTFT, mean ITL) errors of the client against the server, in ms.
fn timing_errors(result: &Value, truth: &Value) -> (f64, f64, f64) {
    (
        number(result, "mean_ttft_ms") - number(truth, "mean_ttft_ms"),
        number(result, "p99_ttft_ms") - number(truth, "p99_ttft_ms"),
        number(result, "mean_itl_ms") - number(truth, "mean_itl_ms"),
    )
}

#[test]
fn timing_matches_ground_truth_at_concurrency_64() {
    // The targets; the debug build measured ~0.2 ms here (BENCHMARKS.md has release figures).
    // Two cores are shared with every other test of the suite, so one retry is allowed; a run that
    // still misses must have been flagged by the client as saturated, never reported as accurate.
    let mut context = String::new();
    for attempt in 0..2 {
        let (result, truth) = paced_run(64);
        let (ttft_error, p99_error, itl_error) = timing_errors(&result, &truth);
        if ttft_error.abs() < 1.0 && p99_error.abs() < 5.0 && itl_error.abs() < 0.1 {
            return;
        }
        context = format!(
            "attempt {attempt}: mean TTFT off by {ttft_error} ms, p99 by {p99_error} ms, ITL by {itl_error} ms\n{result}\n{truth}"
        );
        if attempt == 1 {
            let saturated = result["ix"]["client_saturated"].as_bool().expect("client_saturated");
            assert!(saturated, "inaccurate and not flagged as saturated\n{context}");
        }
    }
    #[allow(clippy::print_stderr)] // tells a reader of the test log why the check passed
    {
        eprintln!("timing missed twice under load but the client flagged it as saturated\n{context}");
    }
}

/// The saturation flag must mean something: under an easy load (two streams) it is never set, so
/// the tests above cannot pass merely because the flag is always on.
#[test]
fn an_easy_load_is_never_flagged_as_saturated() {
    for concurrency in [1, 2] {
        let (result, _) = paced_run(concurrency);
        assert_eq!(result["ix"]["client_saturated"], false, "concurrency {concurrency}: {result}");
    }
}

/// At C = 1024 a debug build sharing two cores with the simulator may not keep up; then it must
/// say so (`client_saturated`) instead of reporting its own delay as the server's. The release
/// figures at 1024 and 4096 are in BENCHMARKS.md (`ix bench selftest`).
#[test]
fn high_concurrency_is_accurate_or_flagged_as_saturated() {
    let (result, truth) = paced_run(1024);
    let (ttft_error, _, itl_error) = timing_errors(&result, &truth);
    let saturated = result["ix"]["client_saturated"].as_bool().expect("client_saturated");
    assert!(
        saturated || (ttft_error.abs() < 1.0 && itl_error.abs() < 0.1),
        "TTFT off by {ttft_error} ms, ITL by {itl_error} ms, yet not flagged\n{result}\n{truth}"
    );
}

#[test]
fn injected_faults_are_counted_by_category() {
    let server = sim_server(&["--itl-ms", "1", "--error-rate", "0.2", "--drop-rate", "0.2", "--seed", "3"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ix(["bench", "serve", "--base-url", &server.base_url(), "--disable-tqdm", "--save-detailed"])
        .args(&["--model", "sim", "--tokenizer", &words_tokenizer(), "--random-input-len", "8"])
        .args(&["--random-output-len", "8", "--num-prompts", "100", "--max-concurrency", "10", "--ignore-eos"])
        .arg("--result-dir")
        .arg(dir.path())
        .args(&["--result-filename", "faults.json"])
        .run()
        .expect_code(0);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("faults.json")).expect("result")).expect("JSON");
    let truth = server.get_json("/ground-truth");
    let completed = result["completed"].as_u64().expect("completed");
    let failed = result["ix"]["failed"].as_u64().expect("failed");
    assert_eq!(completed + failed, 100, "sent = completed + failed");
    assert_eq!(result["ix"]["sent"], 100);
    let injected_errors = truth["injected_errors"].as_u64().expect("errors");
    let injected_drops = truth["injected_drops"].as_u64().expect("drops");
    assert!(injected_errors > 0 && injected_drops > 0, "{truth}");
    assert_eq!(result["ix"]["errors_by_kind"]["http_status"].as_u64().unwrap_or(0), injected_errors);
    assert_eq!(result["ix"]["errors_by_kind"]["stream"].as_u64().unwrap_or(0), injected_drops);
    assert_eq!(completed, truth["requests"].as_u64().expect("requests"));
    // Failed requests stay out of the latency lists and count 0 output tokens.
    let errors = result["errors"].as_array().expect("errors list");
    let output_lens = result["output_lens"].as_array().expect("output_lens");
    for (error, len) in errors.iter().zip(output_lens) {
        if error != "" {
            assert_eq!(len, 0);
        }
    }
    assert_eq!(result["total_output_tokens"], completed * 8);
    // Per-request schedule timing and error categories come with --save-detailed.
    assert_eq!(result["ix"]["scheduled_s"].as_array().map(Vec::len), Some(100));
    assert_eq!(result["ix"]["slot_wait_s"].as_array().map(Vec::len), Some(100));
    let kinds = result["ix"]["error_kinds"].as_array().expect("error_kinds");
    assert_eq!(kinds.iter().filter(|kind| *kind == "http_status").count() as u64, injected_errors);
    assert!(output.stdout.contains("Failed requests:"), "{}", output.stdout);
}

#[test]
fn injected_stalls_show_in_itl_but_do_not_fail() {
    let server = sim_server(&["--itl-ms", "1", "--stall-rate", "0.5", "--stall-ms", "150", "--seed", "1"]);
    let (_, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--random-input-len",
            "4",
            "--random-output-len",
            "6",
            "--num-prompts",
            "12",
            "--max-concurrency",
            "12",
            "--ignore-eos",
            "--percentile-metrics",
            "itl",
            "--metric-percentiles",
            "100",
        ],
    );
    let truth = server.get_json("/ground-truth");
    assert!(truth["injected_stalls"].as_u64().expect("stalls") > 0, "{truth}");
    assert_eq!(result["completed"], 12);
    // The longest gap the client saw is the stall the server made.
    let max_itl = number(&result, "p100_itl_ms");
    assert!((max_itl - number(&truth, "max_itl_ms")).abs() < 5.0, "{max_itl} vs {truth}");
    assert!(max_itl >= 140.0, "{max_itl}");
}

#[test]
fn sim_server_answers_health_and_models_and_stops_on_sigterm() {
    let mut server = sim_server(&["--model", "demo"]);
    assert_eq!(server.get_json("/health")["status"], "ok");
    assert_eq!(server.get_json("/v1/models")["data"][0]["id"], "demo");
    assert_eq!(http(server.port, "GET", "/nope").0, 404);
    let pid = server.child.id() as i32;
    // SAFETY: signals our own child by its pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "sim-server exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "sim-server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn flag_errors_are_reported_before_any_request() {
    let output = ix(["bench", "serve", "--model", "m", "--backend", "nope"]).run().expect_code(2);
    assert!(output.stderr.contains("ix::bench::backend"), "{}", output.stderr);
    let output = ix(["bench", "serve", "--model", "m", "--backend", "openai-chat"]).run().expect_code(2);
    assert!(output.stderr.contains("ix::bench::endpoint"), "{}", output.stderr);
    let output = ix(["bench", "serve", "--model", "m", "--goodput", "ttft:-1"]).run().expect_code(2);
    assert!(output.stderr.contains("goodput"), "{}", output.stderr);
    let output = ix(["bench", "serve", "--model", "/nonexistent/model"]).run().expect_code(2);
    assert!(output.stderr.contains("ix::bench::tokenizer_not_found"), "{}", output.stderr);
}

#[test]
fn unreachable_server_fails_every_request_with_connect_errors() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ix(["bench", "serve", "--base-url", &format!("http://127.0.0.1:{port}"), "--disable-tqdm"])
        .args(&["--model", "sim", "--tokenizer", &words_tokenizer(), "--num-prompts", "3", "--random-input-len", "4"])
        .args(&["--save-result", "--result-filename", "down.json"])
        .arg("--result-dir")
        .arg(dir.path())
        .run()
        .expect_code(1);
    assert!(output.stderr.contains("no request completed"), "{}", output.stderr);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("down.json")).expect("result")).expect("JSON");
    assert_eq!(result["completed"], 0);
    assert_eq!(result["ix"]["errors_by_kind"]["connect"], 3);
    assert_eq!(result["mean_ttft_ms"], 0.0);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The folder `ci/llama.sh` fills: `$IX_LLAMA_DIR`, else `${IX_CACHE:-$HOME/.cache/ix}/llama-0.3.36`.
fn llama_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IX_LLAMA_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("IX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ix"));
    cache.join("llama-0.3.36")
}

/// Starts the real llama-server with the tiny model; panics with the fix when it is missing.
fn llama_server() -> (Server, PathBuf) {
    let dir = llama_dir();
    let binary = dir.join("bin/llama-server");
    let model = dir.join("model/tiny.gguf");
    let tokenizer = dir.join("model/tokenizer");
    for needed in [&binary, &model, &tokenizer.join("tokenizer.json")] {
        assert!(needed.exists(), "{} is missing: run `ci/llama.sh` first (or set IX_LLAMA_DIR)", needed.display());
    }
    let port = free_port();
    let child = Command::new(&binary)
        .arg("-m")
        .arg(&model)
        .args([
            "--alias",
            "tiny",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            "16384",
            "-np",
            "8",
            "-t",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn llama-server");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && http(port, "GET", "/health").0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "llama-server did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, tokenizer)
}

/// Σ of requested output lengths, from the `output_lens: min=…, max=…, mean=…` summary line.
fn requested_output_total(stdout: &str, n_prompts: f64) -> u64 {
    let line = stdout.lines().find(|line| line.starts_with("output_lens:")).expect("output_lens line");
    let mean: f64 = line.rsplit("mean=").next().and_then(|m| m.trim().parse().ok()).expect("mean");
    (mean * n_prompts).round() as u64
}

#[test]
fn real_llama_server_completions_and_chat() {
    let _serial = TIMING.lock();
    let (server, tokenizer) = llama_server();
    let tokenizer = tokenizer.display().to_string();
    for (backend, endpoint) in [("vllm", "/v1/completions"), ("openai-chat", "/v1/chat/completions")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = ix(["bench", "serve", "--base-url", &server.base_url(), "--disable-tqdm", "--save-detailed"])
            .args(&["--model", "tiny", "--tokenizer", &tokenizer, "--backend", backend, "--endpoint", endpoint])
            .args(&["--dataset-name", "random", "--random-input-len", "128", "--random-output-len", "32"])
            .args(&["--random-range-ratio", "0.8", "--num-prompts", "32", "--max-concurrency", "4"])
            .args(&["--request-rate", "inf", "--ignore-eos", "--num-warmups", "8"])
            .args(&["--percentile-metrics", "ttft,tpot,itl,e2el", "--result-filename", "real.json"])
            .arg("--result-dir")
            .arg(dir.path())
            .run()
            .expect_code(0);
        let result: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("real.json")).expect("result"))
                .expect("JSON");
        assert_eq!(result["completed"], 32, "{backend}: {}", output.stdout);
        assert_eq!(result["ix"]["failed"], 0, "{backend}");
        // ignore_eos: every request streams exactly what it asked for; usage is read from the
        // finish chunk that also carries choices (the reference reports 0 here for completions).
        assert_eq!(result["total_output_tokens"], requested_output_total(&output.stdout, 32.0), "{backend}");
        // Same numbers as the reference on the same data (REAL-SERVER.md): seed 0 → 3702 tokens.
        assert_eq!(result["total_input_tokens"], 3702, "{backend}");
        for len in result["input_lens"].as_array().expect("input_lens") {
            let len = len.as_u64().expect("int");
            assert!((102..=128).contains(&len), "{backend}: input length {len}");
        }
        if backend == "vllm" {
            // The server's count matches the client's (chat adds the template on the server).
            assert_eq!(result["ix"]["server_prompt_tokens"], result["total_input_tokens"]);
        }
        assert!(number(&result, "mean_tpot_ms") > 0.0);
    }
    // --use-chat-template: the ChatML template of the tiny model wraps each prompt; REAL-SERVER.md
    // saw the reference's prompts land at 104–128 tokens with a mismatch of ~9 (the template).
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ix(["bench", "serve", "--base-url", &server.base_url(), "--disable-tqdm", "--save-detailed"])
        .args(&["--model", "tiny", "--tokenizer", &tokenizer, "--random-input-len", "128", "--random-output-len", "8"])
        .args(&["--random-range-ratio", "0.8", "--num-prompts", "16", "--max-concurrency", "4", "--ignore-eos"])
        .args(&["--use-chat-template", "--result-filename", "chat-template.json"])
        .arg("--result-dir")
        .arg(dir.path())
        .run()
        .expect_code(0);
    assert!(output.stdout.contains("avg_token_mismatch=9.00"), "{}", output.stdout);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("chat-template.json")).expect("result"))
            .expect("JSON");
    assert_eq!(result["completed"], 16);
    for len in result["input_lens"].as_array().expect("input_lens") {
        assert!((104..=128).contains(&len.as_u64().expect("int")), "input length {len}");
    }
    // The server counts the same tokens: the template's markers are special tokens it parses.
    assert_eq!(result["ix"]["server_prompt_tokens"], result["total_input_tokens"]);
}

/// Runs 12 fixed-length requests (16 in, 8 out) of `backend` at `endpoint` with each HTTP
/// client; returns the last result and checks what every backend must satisfy.
fn backend_run(server: &Server, backend: &str, endpoint: &str) -> Value {
    let mut last = Value::Null;
    for http_client in ["raw", "reqwest"] {
        let (stdout, result) = serve(
            &server.base_url(),
            &[
                "--model",
                "sim",
                "--tokenizer",
                &words_tokenizer(),
                "--backend",
                backend,
                "--endpoint",
                endpoint,
                "--random-input-len",
                "16",
                "--random-output-len",
                "8",
                "--num-prompts",
                "12",
                "--max-concurrency",
                "4",
                "--ignore-eos",
                "--http-client",
                http_client,
                "--percentile-metrics",
                "ttft,tpot,itl,e2el",
            ],
        );
        let context = format!("{backend} {http_client}: {stdout}\n{result}");
        assert_eq!(result["backend"], backend, "{context}");
        assert_eq!(result["completed"], 12, "{context}");
        assert_eq!(result["ix"]["failed"], 0, "{context}");
        // Every request got exactly what it asked for, and the client counted all of it.
        assert_eq!(result["total_output_tokens"], 12 * 8, "{context}");
        assert_eq!(result["total_input_tokens"], 12 * 16, "{context}");
        assert!(number(&result, "mean_e2el_ms") > 0.0, "{context}");
        assert!(number(&result, "mean_tpot_ms") > 0.0, "{context}");
        last = result;
    }
    let truth = server.get_json("/ground-truth");
    assert_eq!(truth["requests"], 24, "{truth}");
    assert_eq!(truth["tokens"], 24 * 8, "{truth}");
    last
}

#[test]
fn tgi_backend_streams_generate_stream_and_counts_details() {
    let server = sim_server(&["--itl-ms", "1"]);
    let result = backend_run(&server, "tgi", "/generate_stream");
    // TGI's `details.generated_tokens` (asked for in the body) is the server's own count.
    assert_eq!(result["ix"]["output_tokens_source"], "usage");
    assert_eq!(result["ix"]["streamed"], true);
    assert!(number(&result, "mean_itl_ms") > 0.0, "{result}");
    assert_eq!(server.get_json("/ground-truth")["apis"], serde_json::json!({"tgi": 24}));
}

#[test]
fn tensorrt_llm_backend_counts_one_token_per_line() {
    let server = sim_server(&["--itl-ms", "1"]);
    let result = backend_run(&server, "tensorrt-llm", "/v2/models/ensemble/generate_stream");
    // Triton reports no count; every line is one token event.
    assert_eq!(result["ix"]["output_tokens_source"], "chunks");
    assert!(number(&result, "mean_itl_ms") > 0.0, "{result}");
    assert_eq!(server.get_json("/ground-truth")["apis"], serde_json::json!({"tensorrt-llm": 24}));
}

#[test]
fn tensorrt_llm_min_length_holds_the_output_length_past_eos() {
    let server = sim_server(&["--eos-after", "3"]);
    let args = ["--model", "sim", "--tokenizer", &words_tokenizer(), "--backend", "tensorrt-llm"];
    let args = [&args[..], &["--endpoint", "/generate_stream", "--random-input-len", "4", "--random-output-len", "8"]];
    let (_, with) = serve(&server.base_url(), &[args.concat(), vec!["--num-prompts", "4", "--ignore-eos"]].concat());
    assert_eq!(with["total_output_tokens"], 4 * 8, "min_length = output length keeps generating");
    let (_, without) = serve(&server.base_url(), &[args.concat(), vec!["--num-prompts", "4"]].concat());
    assert_eq!(without["total_output_tokens"], 4 * 3, "the simulated EOS stops it");
}

#[test]
fn deepspeed_mii_backend_is_one_answer_per_request() {
    let server = sim_server(&["--ttft-ms", "5", "--itl-ms", "1"]);
    let result = backend_run(&server, "deepspeed-mii", "/generate");
    // No stream: the text is tokenized, TTFT is 0 and no ITL sample exists, as in the reference.
    assert_eq!(result["ix"]["output_tokens_source"], "tokenizer");
    assert_eq!(result["ix"]["streamed"], false);
    assert_eq!(result["mean_ttft_ms"], 0.0);
    assert_eq!(result["mean_itl_ms"], 0.0);
    // The answer leaves after TTFT + 7 ITL = 12 ms; E2EL is the full response time.
    assert!(number(&result, "mean_e2el_ms") >= 11.0, "{result}");
    assert_eq!(server.get_json("/ground-truth")["apis"], serde_json::json!({"deepspeed-mii": 24}));
}

#[test]
fn generate_stream_backends_reject_other_endpoints() {
    for (backend, example) in [("tgi", "/generate_stream"), ("tensorrt-llm", "/v2/models/ensemble/generate_stream")] {
        let output = ix(["bench", "serve", "--model", "m", "--backend", backend]).run().expect_code(2);
        assert!(output.stderr.contains("ix::bench::endpoint"), "{}", output.stderr);
        assert!(output.stderr.contains(&format!("endpoint `/v1/completions` does not fit backend `{backend}`")));
        assert!(output.stderr.contains("generate_stream"), "{}", output.stderr);
        // The help names a working endpoint (the renderer may wrap it, so compare without spaces).
        let flat: String = output.stderr.split_whitespace().collect();
        assert!(flat.contains(&format!("--endpoint{example}")), "{}", output.stderr);
    }
    let output = ix(["bench", "serve", "--model", "m", "--backend", "deepspeed-mii", "--endpoint", "/generate_stream"])
        .run()
        .expect_code(2);
    assert!(output.stderr.contains("does not fit backend `deepspeed-mii`"), "{}", output.stderr);
    let output = ix(["bench", "serve", "--model", "m", "--backend", "tensorrt-llm", "--endpoint", "/generate_stream"])
        .args(&["--best-of", "2"])
        .run()
        .expect_code(2);
    assert!(output.stderr.contains("--best-of"), "{}", output.stderr);
    let output = ix(["bench", "serve", "--model", "m", "--backend", "tgi", "--endpoint", "/generate_stream"])
        .args(&["--lora-modules", "a"])
        .run()
        .expect_code(2);
    assert!(output.stderr.contains("--lora-modules") && output.stderr.contains("sends no model name"));
}

#[test]
fn profile_brackets_the_measured_run() {
    let server = sim_server(&[]);
    let common = ["--model", "sim", "--tokenizer", &words_tokenizer(), "--random-input-len", "4"];
    let (_, result) = serve(&server.base_url(), &[&common[..], &["--num-prompts", "5", "--profile"]].concat());
    assert_eq!(result["completed"], 5);
    let truth = server.get_json("/ground-truth");
    assert_eq!((truth["profile_starts"].as_u64(), truth["profile_stops"].as_u64()), (Some(1), Some(1)), "{truth}");

    // A server without a profiler: a clear error after the warm-ups, before any measured request.
    let bare = sim_server(&["--no-profiler"]);
    let output = ix(["bench", "serve", "--base-url", &bare.base_url(), "--disable-tqdm", "--profile"])
        .args(&common)
        .args(&["--num-prompts", "5", "--num-warmups", "2"])
        .run()
        .expect_code(2);
    assert!(output.stderr.contains("ix::bench::profile_start"), "{}", output.stderr);
    assert!(output.stderr.contains("/start_profile") && output.stderr.contains("HTTP 404"), "{}", output.stderr);
    let truth = bare.get_json("/ground-truth");
    assert_eq!(truth["requests"], 2, "only the warm-ups ran: {truth}");
}

#[test]
fn lora_modules_spread_requests_like_python_random_choice() {
    let server = sim_server(&[]);
    let (_, result) = serve(
        &server.base_url(),
        &[
            "--model",
            "sim",
            "--tokenizer",
            &words_tokenizer(),
            "--random-input-len",
            "4",
            "--random-output-len",
            "2",
            "--num-prompts",
            "60",
            "--max-concurrency",
            "6",
            "--num-warmups",
            "3",
            "--seed",
            "5",
            "--lora-modules",
            "lora-a",
            "lora-b",
            "lora-c",
        ],
    );
    assert_eq!(result["completed"], 60);
    // CPython: random.seed(5); Counter(random.choice(names) for _ in range(60)).
    let measured = server.get_json("/ground-truth?skip=3");
    assert_eq!(measured["models"], serde_json::json!({"lora-a": 28, "lora-b": 16, "lora-c": 16}));
    // Warm-ups keep the base model, as in the reference.
    assert_eq!(server.get_json("/ground-truth")["models"]["sim"], 3);
}

/// llama-server answers the deepspeed-mii body on its OpenAI completions endpoint without a
/// stream (`choices[0].text` and `usage`), which exercises the non-streaming path end to end; it
/// has no profiler, so `--profile` must stop with a clear error.
#[test]
fn real_llama_server_non_streaming_and_missing_profiler() {
    let _serial = TIMING.lock();
    let (server, tokenizer) = llama_server();
    let tokenizer = tokenizer.display().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ix(["bench", "serve", "--base-url", &server.base_url(), "--disable-tqdm", "--save-result"])
        .args(&["--model", "tiny", "--tokenizer", &tokenizer, "--backend", "deepspeed-mii"])
        .args(&["--endpoint", "/v1/completions", "--random-input-len", "128", "--random-output-len", "32"])
        .args(&["--random-range-ratio", "0.8", "--num-prompts", "32", "--max-concurrency", "4"])
        .args(&["--percentile-metrics", "ttft,tpot,itl,e2el", "--result-filename", "mii.json"])
        .arg("--result-dir")
        .arg(dir.path())
        .run()
        .expect_code(0);
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("mii.json")).expect("result")).expect("JSON");
    assert_eq!(result["completed"], 32, "{}", output.stdout);
    assert_eq!(result["total_input_tokens"], 3702, "the same prompts as the streaming backends");
    // The answer's `usage` is the count; it cannot exceed what was asked for.
    assert_eq!(result["ix"]["output_tokens_source"], "usage");
    let output_tokens = result["total_output_tokens"].as_u64().expect("int");
    assert!(output_tokens > 0 && output_tokens <= requested_output_total(&output.stdout, 32.0), "{result}");
    assert_eq!(result["mean_ttft_ms"], 0.0);
    assert!(number(&result, "mean_e2el_ms") > 0.0);

    let output = ix(["bench", "serve", "--base-url", &server.base_url(), "--disable-tqdm", "--profile"])
        .args(&["--model", "tiny", "--tokenizer", &tokenizer, "--num-prompts", "2", "--random-input-len", "8"])
        .run()
        .expect_code(2);
    assert!(output.stderr.contains("ix::bench::profile_start"), "{}", output.stderr);
}

/// A server on loopback that accepts every connection and, per `answer`, writes something (or
/// nothing) and keeps the connection open until the test process ends.
fn hostile_server(answer: fn(&mut TcpStream)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read(&mut head);
            answer(&mut stream);
            held.push(stream);
        }
    });
    port
}

fn hostile_serve(port: u16, extra: &[&str]) -> (crate::util::IxOutput, Option<Value>, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let output = ix(["bench", "serve", "--base-url", &format!("http://127.0.0.1:{port}"), "--disable-tqdm"])
        .args(&["--model", "sim", "--tokenizer", &words_tokenizer(), "--num-prompts", "2", "--random-input-len", "4"])
        .args(&["--max-concurrency", "1", "--save-result", "--result-filename", "r.json"])
        .args(extra)
        .arg("--result-dir")
        .arg(dir.path())
        .run();
    let elapsed = started.elapsed();
    let result = std::fs::read_to_string(dir.path().join("r.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    (output, result, elapsed)
}

/// Issue 17 item 7: a server that never answers costs `--request-timeout` per request, and
/// `--run-timeout` bounds the whole run (exit 2, no result), instead of six hours per request.
#[test]
fn a_server_that_never_answers_is_bounded_by_the_timeouts() {
    let port = hostile_server(|_| {});
    for http_client in ["raw", "reqwest"] {
        let (out, result, elapsed) = hostile_serve(port, &["--request-timeout", "0.5", "--http-client", http_client]);
        assert_eq!(out.code, 1, "{http_client}: {}", out.stderr);
        let result = result.expect("a result file");
        assert_eq!(result["ix"]["errors_by_kind"]["timeout"], 2, "{http_client}: {result}");
        assert!(elapsed < Duration::from_secs(20), "{http_client}: took {elapsed:?}");
    }
    let (out, result, elapsed) = hostile_serve(port, &["--run-timeout", "1"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("ix::bench::run_timeout"), "{}", out.stderr);
    assert!(result.is_none(), "a timed-out run writes no result");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    let out = ix(["bench", "serve", "--model", "m", "--request-timeout", "0"]).run().expect_code(2);
    assert!(out.stderr.contains("request-timeout"), "{}", out.stderr);
}

/// Issue 17 item 7: an SSE line longer than the bound fails its request (`parse`) instead of
/// being buffered whole; here a 24 MiB line that is otherwise a valid token chunk.
#[test]
fn an_over_long_sse_line_fails_the_request() {
    let port = hostile_server(|stream| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(b"data: {\"choices\":[{\"text\":\"");
        let block = vec![b'x'; 1 << 20];
        for _ in 0..24 {
            if stream.write_all(&block).is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"\"}]}\n\ndata: [DONE]\n\n");
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let (out, result, _) = hostile_serve(port, &["--request-timeout", "60"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let result = result.expect("a result file");
    assert_eq!(result["completed"], 0, "{result}");
    assert_eq!(result["ix"]["errors_by_kind"]["parse"], 2, "{result}");
}
