//! Every task kind does its real work, and every input that can change a result is in its key:
//! the environment a script gets against its task's key, and eval tasks run as their own tasks
//! (the benchmark script in eval-only mode, lm-eval against the simulator or a real llama.cpp
//! server), turned on, off and edited without rerunning benchmarks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::evals::{llama_dir, lm_eval_bin};
use crate::run::{Project, entry};
use crate::util::{IxOutput, ix, project_root};

/// A benchmark script that dumps the environment it got, then writes a raw result.
const ENV_DUMP_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
env -0 > "$PWD/env.dump"
printf '{"max_concurrency": %s, "model_id": "m", "total_token_throughput": 1.0, "output_throughput": 1.0, "median_ttft_ms": 1.0, "median_tpot_ms": 1.0, "median_e2el_ms": 1.0, "median_itl_ms": 1.0}\n' "$CONC" > "$RESULT_FILENAME.json"
"#;

/// Variables bash itself sets in every script, and the one the test harness gives `ix`.
const SHELL_VARS: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_", "NO_COLOR"];

fn env_dumps(project: &Path) -> Vec<BTreeMap<String, String>> {
    let mut dumps = Vec::new();
    for dir in std::fs::read_dir(project.join(".ix/work")).unwrap().flatten() {
        let Ok(bytes) = std::fs::read(dir.path().join("env.dump")) else { continue };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let vars = text.split('\0').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.into(), v.into()));
        dumps.push(vars.collect());
    }
    dumps
}

#[test]
fn every_variable_a_script_gets_from_ix_is_in_its_key_or_set_by_the_executor() {
    let master = entry("tiny-fp32-local-sim", "sim", "img:1", "conc-start: 2, conc-end: 2");
    let project = Project::new(&master, &[(crate::run::SCRIPT, ENV_DUMP_SCRIPT)]);
    let _ = project.run(&[]).expect_code(0);
    let dumps = env_dumps(project.path());
    assert_eq!(dumps.len(), 1, "one bench task ran");
    // The aggregate record says which image (by digest) produced the numbers: for the local
    // launcher (no container) the running ix.
    let record = std::fs::read_dir(project.path().join(".ix/work"))
        .unwrap()
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()))
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("agg_tiny_")))
        .expect("the result task's record");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(record["image"], "img:1");
    assert!(record["image_digest"].as_str().is_some_and(|d| d.starts_with("blake3:") && d.len() == 71), "{record}");
    let dump = &dumps[0];
    let why = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--state-dir", ".ix"])
        .arg("--why")
        .arg("bench/tiny-fp32-local-sim/1k1k/tp1-ep1-dpa0-none/c2/local_0")
        .current_dir(project.path())
        .run()
        .expect_code(0);
    // `NAME=value  (key K)` lines for the contract, `NAME  (set by the executor ...)` for the rest.
    let section = why.stdout.split("  environment (").nth(1).expect("an environment section");
    let mut keyed: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut executor = Vec::new();
    for line in section.lines().skip(1) {
        let line = line.trim();
        if let Some((name, rest)) = line.split_once("  (set by the executor") {
            assert!(rest.contains(':'), "each executor variable says why it cannot change a result: {line}");
            executor.push(name.to_string());
        } else if let Some((assignment, key)) = line.split_once("  (key ") {
            let (name, value) = assignment.split_once('=').expect("NAME=value");
            let key = key.split([',', ')']).next().unwrap_or_default().to_string();
            keyed.insert(name.to_string(), (value.to_string(), key));
        }
    }
    let inputs = why.stdout.split("  inputs (").nth(1).unwrap().split("  environment (").next().unwrap();
    let mut checked = 0;
    for (name, value) in dump {
        let inherited = std::env::var(name).is_ok_and(|ours| ours == *value);
        if inherited || SHELL_VARS.contains(&name.as_str()) {
            continue;
        }
        checked += 1;
        match keyed.get(name) {
            Some((expected, key)) => {
                assert_eq!(value, expected, "`{name}` as the script got it and as --why shows it");
                // The key holds the same value (the image by its digest).
                let line = format!("    {key}  ");
                let input = inputs.lines().find(|l| l.starts_with(&line)).unwrap_or_else(|| panic!("no input `{key}`"));
                if key != "image" {
                    assert!(input[line.len()..].starts_with(value.as_str()), "`{name}`: {input}");
                }
            }
            None => assert!(executor.contains(name), "`{name}={value}` is neither in the key nor an executor variable"),
        }
    }
    assert!(checked >= 20, "the script got the contract ({checked} variables from ix)");
    // Every contract variable reached the script.
    for name in keyed.keys() {
        assert!(dump.contains_key(name), "`{name}` is in the key but the script did not get it");
    }
}

/// A project whose benchmark writes a raw result, and whose eval mode starts the simulator and
/// runs lm-eval against it through benchmark_lib.sh's `run_eval`.
fn eval_project() -> Project {
    // 1k8k: the only seq-len the reference's eval marking picks (largest conc at the tp).
    let master =
        entry("tiny-fp32-local-sim", "sim", "img:1", "conc-start: 1, conc-end: 2").replace("osl: 1024", "osl: 8192");
    let script = r#"#!/usr/bin/env bash
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=benchmark_lib.sh
source "$here/benchmark_lib.sh"
if eval_only; then
  log="$PWD/sim.log"
  : > "$log"
  "$IX_BIN" bench sim-server --host 127.0.0.1 --port 0 --model "$MODEL" --ttft-ms 1 --itl-ms 0 --eos-after 6 > "$log" 2>&1 &
  pid=$!
  trap 'stop_server "$pid"' EXIT
  port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")"
    [ -n "$port" ] && break
    sleep 0.05
  done
  run_eval --port "$port" --concurrent-requests "$EVAL_CONC"
  exit 0
fi
printf '{"max_concurrency": %s, "model_id": "m", "total_token_throughput": 1.0, "output_throughput": 1.0, "median_ttft_ms": 1.0, "median_tpot_ms": 1.0, "median_e2el_ms": 1.0, "median_itl_ms": 1.0}\n' "$CONC" > "$RESULT_FILENAME.json"
"#;
    let lib = std::fs::read_to_string(project_root().join("benchmarks/benchmark_lib.sh")).unwrap();
    let project = Project::new(&master, &[(crate::run::SCRIPT, script), ("benchmark_lib.sh", &lib)]);
    for file in ["utils/evals/ix_smoke.yaml", "utils/evals/data/ix_smoke.jsonl"] {
        project.write(file, &std::fs::read_to_string(project_root().join(file)).unwrap());
    }
    project.write("evals.yaml", "task: ix_smoke\nnum-fewshot: 0\nlimit: 3\n");
    project
}

fn require(paths: &[PathBuf]) {
    let missing: Vec<String> = paths.iter().filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    assert!(missing.is_empty(), "missing {missing:?}: run ci/llama.sh and ci/results.sh (`bash ci/setup.sh`)");
}

fn run(project: &Project, extra: &[&str]) -> IxOutput {
    ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(extra)
        .current_dir(project.path())
        .env("IX_LM_EVAL", lm_eval_bin())
        .env_remove("CI")
        .run()
}

/// `ix run --dry-run` lines as (verb, task id).
fn dry_run(project: &Project, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["--dry-run"];
    args.extend_from_slice(extra);
    let out = run(project, &args).expect_code(0);
    out.stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_string(), words.nth(1)?.to_string()))
        })
        .collect()
}

fn running(plan: &[(String, String)], prefix: &str) -> Vec<String> {
    plan.iter().filter(|(verb, id)| verb == "run" && id.starts_with(prefix)).map(|(_, id)| id.clone()).collect()
}

#[test]
fn evals_are_tasks_of_their_own_turned_on_off_and_edited_without_rerunning_benchmarks() {
    require(&[lm_eval_bin()]);
    let project = eval_project();
    let _ = run(&project, &[]).expect_code(0);
    assert!(running(&dry_run(&project, &[]), "").is_empty(), "a plain rerun does nothing");

    // Evals on: only the eval task (and the aggregates that gather it) run.
    let plan = dry_run(&project, &["--run-evals"]);
    let eval_id = "eval/tiny-fp32-local-sim/1k8k/tp1-ep1-dpa0-none/c2/local_0".to_string();
    assert_eq!(
        running(&plan, "eval/"),
        std::slice::from_ref(&eval_id),
        "only the largest conc is an eval (reference §5)"
    );
    assert!(running(&plan, "bench/").is_empty() && running(&plan, "launch/").is_empty(), "{plan:?}");
    let out = run(&project, &["--run-evals"]).expect_code(0);
    assert!(out.stdout.contains("### Accuracy evals"), "the summary shows the eval: {}", out.stdout);
    assert!(out.stdout.contains("ix_smoke"), "{}", out.stdout);
    let report = std::fs::read_to_string(project.path().join("report.html")).unwrap();
    assert!(report.contains("Accuracy evals") && report.contains("ix_smoke"), "the report shows the eval");
    let artifact = std::fs::read_dir(project.path().join(".ix/work"))
        .unwrap()
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()))
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("eval_tiny")))
        .expect("the eval task's artifact");
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(artifact).unwrap()).unwrap();
    assert_eq!(rows[0]["task"], "ix_smoke");
    assert_eq!(rows[0]["conc"], 2);
    assert!(running(&dry_run(&project, &["--run-evals"]), "").is_empty(), "evals are recorded");

    // Evals off again: nothing reruns (the plain run's aggregates are still recorded).
    assert!(running(&dry_run(&project, &[]), "").is_empty());

    // An eval setting changed: only evals (and what gathers them) rerun.
    project.write("evals.yaml", "task: ix_smoke\nnum-fewshot: 1\nlimit: 3\n");
    let plan = dry_run(&project, &["--run-evals"]);
    assert_eq!(running(&plan, "eval/"), std::slice::from_ref(&eval_id));
    assert!(running(&plan, "bench/").is_empty(), "{plan:?}");
    let why = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--run-evals"])
        .arg("--why")
        .arg(&eval_id)
        .current_dir(project.path())
        .run()
        .expect_code(0);
    assert!(why.stdout.contains("input changed: eval-num-fewshot 0 -> 1 (evals.yaml:2:14)"), "{}", why.stdout);
    assert!(why.stdout.contains("EVAL_TASK=ix_smoke  (key eval-task)"), "{}", why.stdout);

    // A threshold the simulator cannot meet fails the eval with score, threshold and its place.
    project.write(
        "evals.yaml",
        "task: ix_smoke\nnum-fewshot: 1\nlimit: 3\nthresholds:\n  - task: ix_smoke\n    min-score: 0.9\n",
    );
    let out = run(&project, &["--run-evals"]).expect_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("is below its threshold 0.9 (evals.yaml:5:5)"), "{all}");
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--run-evals"])
        .arg("--why")
        .arg(&eval_id)
        .current_dir(project.path())
        .run()
        .expect_code(0);
    assert!(plan.stdout.contains("previous run failed"), "{}", plan.stdout);
    assert!(running(&dry_run(&project, &[]), "").is_empty(), "benchmarks never reran");
}

#[test]
fn an_eval_task_runs_lm_eval_against_a_real_llama_cpp_server() {
    let llama = llama_dir();
    require(&[llama.join("bin/llama-server"), llama.join("model/tiny.gguf"), lm_eval_bin()]);
    let project = eval_project();
    // Eval mode: the repository's own llama.cpp script (REAL-SERVER.md); benchmarks stay tiny.
    let script = r#"#!/usr/bin/env bash
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
if [ "${EVAL_ONLY:-false}" = true ]; then
  exec bash "$here/tiny_fp32_local_llamacpp.sh"
fi
printf '{"max_concurrency": %s, "model_id": "m", "total_token_throughput": 1.0, "output_throughput": 1.0, "median_ttft_ms": 1.0, "median_tpot_ms": 1.0, "median_e2el_ms": 1.0, "median_itl_ms": 1.0}\n' "$CONC" > "$RESULT_FILENAME.json"
"#;
    project.write("benchmarks/tiny_fp32_local.sh", script);
    let real = std::fs::read_to_string(project_root().join("benchmarks/tiny_fp32_local_llamacpp.sh")).unwrap();
    project.write("benchmarks/tiny_fp32_local_llamacpp.sh", &real);
    let _ = run(&project, &[]).expect_code(0);
    let run_llama = |extra: &[&str]| {
        ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
            .args_from(extra)
            .current_dir(project.path())
            .env("IX_LM_EVAL", lm_eval_bin())
            .env("IX_LLAMA_DIR", &llama)
            .env("LLAMA_SERVER", llama.join("bin/llama-server"))
            .env("LLAMA_MODEL", llama.join("model/tiny.gguf"))
            .env_remove("CI")
            .run()
    };
    // Evals on: only the eval task (and the aggregates gathering it) run, against llama-server.
    let out = run_llama(&["--run-evals"]).expect_code(0);
    assert!(out.stdout.contains("### Accuracy evals") && out.stdout.contains("ix_smoke"), "{}", out.stdout);
    assert!(out.stderr.contains("done    eval/tiny-fp32-local-sim"), "{}", out.stderr);
    assert!(!out.stderr.contains("start   bench/"), "no benchmark reran: {}", out.stderr);
    // Evals off: nothing reruns.
    let off = run_llama(&[]).expect_code(0);
    assert!(off.stdout.starts_with("nothing to run"), "{}", off.stdout);
    // An eval setting edited: the eval reruns, no benchmark does.
    project.write("evals.yaml", "task: ix_smoke\nnum-fewshot: 1\nlimit: 3\n");
    let edited = run_llama(&["--run-evals"]).expect_code(0);
    assert!(edited.stderr.contains("done    eval/tiny-fp32-local-sim"), "{}", edited.stderr);
    assert!(!edited.stderr.contains("start   bench/"), "no benchmark reran: {}", edited.stderr);
}
