//! `ix evals ...`: collecting lm-eval outputs (golden table and rows), thresholds, and one real
//! run of lm-eval against llama.cpp's `llama-server` with a five-item task file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::util::{ix, project_root};

/// Copies the eval fixture to a temp dir and pins file times (git does not keep them), so "newest
/// lm-eval file wins" is deterministic.
fn eval_fixture() -> tempfile::TempDir {
    let source = project_root().join("tests/data/results/evals");
    let work = tempfile::tempdir().unwrap();
    copy_dir(&source, work.path());
    let pin = |relative: &str, secs: u64| {
        let file = std::fs::File::options().write(true).open(work.path().join(relative)).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
    };
    pin("b200_fp8_sglang/results_2026-01-10T03-15-22.json", 1_768_000_000);
    // The stale file sorts first by name but is older: mtime, not name, decides.
    pin("b200_fp8_sglang/results_2020-01-01T00-00-00.json", 1_577_836_800);
    work
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&path, &target);
        } else if path.extension().is_none_or(|ext| ext != "md") {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn collect_gives_rows_table_and_aggregate() {
    let fixture = eval_fixture();
    let out = tempfile::tempdir().unwrap();
    let output =
        ix(["evals", "collect"]).arg(fixture.path()).arg("demo").arg("--out-dir").arg(out.path()).run().expect_code(0);
    // A missing or changed snapshot fails (`cargo insta review` to accept a change).
    insta::assert_snapshot!("evals-collect-table", output.stdout);
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("agg_eval_demo.json")).unwrap()).unwrap();
    // Sets without an lm-eval file, and folders without meta_env.json, give no rows.
    assert_eq!(rows.len(), 3);
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "model",
            "hw",
            "framework",
            "precision",
            "spec_decoding",
            "tp",
            "ep",
            "conc",
            "dp_attention",
            "task",
            "em_strict",
            "em_strict_se",
            "em_flexible",
            "em_flexible_se",
            "n_eff",
            "source",
            "score",
            "score_name",
            "score_se"
        ]
    );
    assert_eq!(rows[0]["model"], "deepseek-ai/DeepSeek-R1-0528", "the newest lm-eval file wins");
    assert_eq!(rows[0]["n_eff"], 1319);
    assert_eq!(rows[1]["task"], "arc_easy");
    assert_eq!(rows[1]["score_name"], "acc", "without filters, accuracy is the score");
    assert_eq!(rows[1]["em_strict"], Value::Null);
    assert_eq!(rows[2]["framework"], "vllm", "lower-cased from meta");
    assert_eq!(rows[2]["dp_attention"], "true");
    assert_eq!(rows[2]["model"], "from-config", "the task config's metadata.model when model_name is absent");
}

#[test]
fn collect_of_an_empty_directory_says_nothing_was_found() {
    let work = tempfile::tempdir().unwrap();
    let output = ix(["evals", "collect", ".", "none"]).current_dir(work.path()).run().expect_code(0);
    assert_eq!(output.stdout, "> No eval results found to summarize.\n");
    assert_eq!(std::fs::read_to_string(work.path().join("agg_eval_none.json")).unwrap(), "[]");
}

#[test]
fn thresholds_turn_a_regression_into_a_failure() {
    let fixture = eval_fixture();
    let out = tempfile::tempdir().unwrap();
    let passing = out.path().join("ok.yaml");
    std::fs::write(
        &passing,
        "- task: gsm8k\n  model: deepseek-ai/DeepSeek-R1-0528\n  min_score: 0.95\n- task: arc_easy\n  min_score: 0.5\n",
    )
    .unwrap();
    let _ = ix(["evals", "collect"])
        .arg(fixture.path())
        .arg("demo")
        .arg("--out-dir")
        .arg(out.path())
        .arg("--thresholds")
        .arg(&passing)
        .run()
        .expect_code(0);

    let failing = out.path().join("strict.json");
    std::fs::write(&failing, r#"[{"task": "gsm8k", "model": "deepseek-ai/DeepSeek-R1-0528", "min_score": 0.96}, {"task": "gsm8k", "model": "other/model", "min_score": 0.99}]"#).unwrap();
    let output = ix(["evals", "collect"])
        .arg(fixture.path())
        .arg("demo")
        .arg("--out-dir")
        .arg(out.path())
        .arg("--thresholds")
        .arg(&failing)
        .run()
        .expect_code(1);
    assert!(
        output.stderr.contains("eval regression: task `gsm8k` of model `deepseek-ai/DeepSeek-R1-0528`"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("scored 95.22%, below the minimum 96.00%"), "{}", output.stderr);
    assert_eq!(output.stderr.matches("eval regression").count(), 1, "the other model's threshold does not apply");
    assert!(out.path().join("agg_eval_demo.json").exists(), "the aggregate is written before failing");

    let broken = out.path().join("broken.yaml");
    std::fs::write(&broken, "- task: gsm8k\n").unwrap();
    let output =
        ix(["evals", "collect"]).arg(fixture.path()).arg("demo").arg("--thresholds").arg(&broken).run().expect_code(1);
    assert!(output.stderr.contains("min_score"), "{}", output.stderr);
}

/// `${IX_LLAMA_DIR:-${IX_CACHE:-$HOME/.cache/ix}/llama-0.3.36}` (built by ci/llama.sh).
pub(crate) fn llama_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IX_LLAMA_DIR") {
        return PathBuf::from(dir);
    }
    cache_dir().join("llama-0.3.36")
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("IX_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/ix"),
    }
}

/// The lm-eval executable: `$IX_LM_EVAL`, else the venv ci/results.sh makes.
pub(crate) fn lm_eval_bin() -> PathBuf {
    match std::env::var_os("IX_LM_EVAL") {
        Some(path) => PathBuf::from(path),
        None => cache_dir().join("lm-eval-0.4.13/bin/lm_eval"),
    }
}

/// Stops the server by its pid when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_llama_server(dir: &Path, log: &Path) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(dir.join("bin/llama-server"))
        .args(["-m"])
        .arg(dir.join("model/tiny.gguf"))
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
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200") {
                return (server, port);
            }
        }
        assert!(
            Instant::now() < deadline,
            "llama-server did not become healthy:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn run_evaluates_a_task_file_against_llama_server_end_to_end() {
    let llama = llama_dir();
    let lm_eval = lm_eval_bin();
    let missing: Vec<String> = [llama.join("bin/llama-server"), llama.join("model/tiny.gguf"), lm_eval.clone()]
        .iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("IX_ALLOW_MISSING_EVAL_TOOLS").as_deref() == Ok("1"),
            "missing {missing:?}: run ci/llama.sh and ci/results.sh (or set IX_ALLOW_MISSING_EVAL_TOOLS=1 to skip on purpose)"
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (_server, port) = start_llama_server(&llama, &work.path().join("server.log"));
    let set = work.path().join("evals/cpu_fp32_llamacpp");
    let output = ix([
        "evals",
        "run",
        "--model",
        "tiny",
        "--task",
        "ix_smoke",
        "--num-fewshot",
        "0",
        "--max-gen-tokens",
        "8",
        "--concurrent-requests",
        "4",
    ])
    .arg("--server")
    .arg(format!("http://127.0.0.1:{port}"))
    .arg("--tasks-dir")
    .arg(project_root().join("utils/evals"))
    .arg("--out")
    .arg(&set)
    .arg("--lm-eval")
    .arg(&lm_eval)
    .env("RUNNER_TYPE", "cpu")
    .env("FRAMEWORK", "llama.cpp")
    .env("RESULT_FILENAME", "tiny_1k1k_fp32_llamacpp_tp1-ep1-dpafalse_conc4_cpu_0")
    .env_remove("PRECISION")
    .env("TP", "1")
    .env("CONC", "4")
    .env("MODEL", "tiny")
    .env("ISL", "1024")
    .env("OSL", "8")
    .env("DP_ATTENTION", "false")
    .run();
    let output = output.expect_code(0);
    let results_file = PathBuf::from(output.stdout.trim());
    assert!(results_file.starts_with(&set) && results_file.is_file(), "{}", output.stdout);
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(set.join("meta_env.json")).unwrap()).unwrap();
    assert_eq!(
        meta,
        serde_json::json!({"framework": "llama.cpp", "precision": "fp32", "spec_decoding": "none", "tp": 1, "conc": 4, "ep": 1,
            "dp_attention": false, "model": "tiny", "hw": "cpu", "isl": "1024", "osl": "8"}),
        "precision parsed from RESULT_FILENAME"
    );
    assert!(!set.join(".lm-eval-raw").exists(), "lm-eval's folder is flattened away");

    let out = tempfile::tempdir().unwrap();
    let _ = ix(["evals", "collect"])
        .arg(set.parent().unwrap())
        .arg("smoke")
        .arg("--out-dir")
        .arg(out.path())
        .run()
        .expect_code(0);
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("agg_eval_smoke.json")).unwrap()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["task"], "ix_smoke");
    assert_eq!(rows[0]["n_eff"], 5, "n_eff is the item count");
    assert_eq!(rows[0]["hw"], "CPU");
    let score = rows[0]["score"].as_f64().expect("a strict-match score");
    assert!((0.0..=1.0).contains(&score));

    // A random-weight model cannot reach 90%: the threshold check fails.
    let thresholds = out.path().join("thresholds.yaml");
    std::fs::write(&thresholds, "- task: ix_smoke\n  min_score: 0.9\n").unwrap();
    let output = ix(["evals", "collect"])
        .arg(set.parent().unwrap())
        .arg("smoke")
        .arg("--out-dir")
        .arg(out.path())
        .arg("--thresholds")
        .arg(&thresholds)
        .run()
        .expect_code(1);
    assert!(output.stderr.contains("eval regression: task `ix_smoke`"), "{}", output.stderr);
}
