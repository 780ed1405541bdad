//! `ix run`: the engine's plan executed by the local executor end to end on tiny bash
//! benchmark scripts written by each test, plus the GitHub Actions entry points
//! (`--gha-matrix`, `--task`, `collect-artifacts`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{IxOutput, ix};

/// Defines `write_raw [EXTRA_JSON_FIELDS]`: writes a raw benchmark result (the keys
/// `results::process` needs) for `$CONC` as `$RESULT_FILENAME.json`, plus the given fields.
macro_rules! write_raw_fn {
    () => {
        r#"write_raw() {
  printf '{"max_concurrency": %s, "model_id": "tiny-model", "total_token_throughput": 200.0, "output_throughput": 100.0, "median_ttft_ms": 10.0, "median_tpot_ms": 2.0, "median_e2el_ms": 70.0, "median_itl_ms": 2.0%s}\n' "$CONC" "${1:+, $1}" > "$RESULT_FILENAME.json"
}
"#
    };
}

/// A benchmark script that writes its result file, echoing the contract values it got.
pub(crate) const OK_SCRIPT: &str = concat!(
    "#!/usr/bin/env bash\nset -euo pipefail\n",
    write_raw_fn!(),
    r#"sleep "${SLEEP_SECS:-0}"
write_raw "$(printf '"tp": %s, "image": "%s", "runner": "%s"' "$TP" "$IMAGE" "$RUNNER_NAME")"
"#
);

/// The script every single-node job of these tests runs (the naming rules give
/// `benchmarks/tiny_fp32_local.sh` whatever the framework).
pub(crate) const SCRIPT: &str = "tiny_fp32_local.sh";

/// A temporary project: master config, runners config, the local launcher and benchmark scripts.
pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn entry(key: &str, framework: &str, image: &str, concs: &str) -> String {
    format!(
        "{key}:\n  image: '{image}'\n  model: tiny-model\n  model-prefix: tiny\n  runner: local\n  precision: fp32\n  framework: {framework}\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - {{ tp: 1, {concs} }}\n"
    )
}

impl Project {
    pub(crate) fn new(master: &str, scripts: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = Project { dir };
        project.write("configs/master.yaml", master);
        project.write("configs/runners.yaml", "local:\n- local_0\n- local_1\n");
        let launcher =
            std::fs::read_to_string(crate::util::project_root().join("runners/launch_local.sh")).expect("launcher");
        project.write("runners/launch_local.sh", &launcher);
        for (name, body) in scripts {
            project.write(&format!("benchmarks/{name}"), body);
        }
        project
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    pub(crate) fn run(&self, extra: &[&str]) -> IxOutput {
        ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
            .args_from(extra)
            .current_dir(self.path())
            .env_remove("CI")
            .run()
    }

    /// The raw bench results (`<RESULT_FILENAME>.json`) in the task work folders.
    pub(crate) fn results(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.path().join(".ix/work"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .flat_map(|dir| {
                std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>()).unwrap_or_default()
            })
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                name.starts_with("tiny_") && name.ends_with(".json")
            })
            .collect();
        found.sort();
        found
    }
}

/// The counts line of `ix run` (`N done, …` or `nothing to run: …`).
pub(crate) fn summary_line(out: &IxOutput) -> &str {
    out.stdout.lines().find(|l| l.contains(" done, ") || l.starts_with("nothing to run")).unwrap_or("")
}

fn bench_id(key: &str, conc: i64) -> String {
    format!("bench/{key}/1k1k/tp1-ep1-dpa0-none/c{conc}/local_0")
}

#[test]
fn runs_everything_then_nothing_then_only_what_changed() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 4");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let first = project.run(&[]).expect_code(0);
    // launch, three bench + three result tasks, collect, summary, report.
    assert_eq!(summary_line(&first), "10 done, 0 reused, 0 failed, 0 skipped, 0 cancelled", "{}", first.stderr);
    assert_eq!(project.results().len(), 3);
    let agg = std::fs::read_dir(project.path().join(".ix/work"))
        .expect("work")
        .flatten()
        .find_map(|e| std::fs::read_to_string(e.path().join("agg_tiny-fp32-local-sim.json")).ok())
        .expect("collect output");
    let agg: serde_json::Value = serde_json::from_str(&agg).expect("json");
    let concs: Vec<i64> = agg.as_array().expect("list").iter().map(|r| r["conc"].as_i64().expect("conc")).collect();
    assert_eq!(concs, [1, 2, 4]);
    assert!(agg[0]["tput_per_gpu"].is_number(), "aggregate records: {agg}");
    assert_eq!(first.stdout.lines().filter(|l| l.starts_with("| tiny")).count(), 3, "{}", first.stdout);
    assert!(project.path().join("report.html").is_file());

    let second = project.run(&[]).expect_code(0);
    assert_eq!(summary_line(&second), "nothing to run: all 10 tasks are up to date (state .ix)");
    assert!(!second.stderr.contains("done "), "{}", second.stderr);

    // A new concurrency value: its bench and result tasks, and the aggregates.
    project.write("configs/master.yaml", &entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 8"));
    let third = project.run(&[]).expect_code(0);
    assert_eq!(summary_line(&third), "5 done, 7 reused, 0 failed, 0 skipped, 0 cancelled", "{}", third.stderr);
    assert!(third.stderr.contains(&format!("done    {}", bench_id("tiny-fp32-local-sim", 8))), "{}", third.stderr);

    // Editing the benchmark script changes every task that runs it (the launch task stays).
    project.write(&format!("benchmarks/{SCRIPT}"), &format!("{OK_SCRIPT}# edited\n"));
    let fourth = project.run(&[]).expect_code(0);
    assert_eq!(summary_line(&fourth), "11 done, 1 reused, 0 failed, 0 skipped, 0 cancelled");
}

const FAIL_ON_CONC_2: &str = concat!(
    "#!/usr/bin/env bash\nset -euo pipefail\n",
    write_raw_fn!(),
    r#"if [ "$FRAMEWORK" = simfail ] && [ "$CONC" = 2 ]; then echo "conc 2 breaks on purpose" >&2; exit 3; fi
write_raw
"#
);

#[test]
fn a_failing_task_skips_its_dependents_and_the_rest_is_recorded() {
    let master = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 4"),
        entry("tiny-fp32-local-simfail", "simfail", "img", "conc-start: 1, conc-end: 4")
    );
    let project = Project::new(&master, &[(SCRIPT, FAIL_ON_CONC_2)]);
    let out = project.run(&[]).expect_code(1);
    // sim: 3 benches, 3 results and its collect done; simfail: conc 1 and 4 done, conc 2 failed,
    // its result, its collect, the summary and the report skipped.
    assert_eq!(summary_line(&out), "12 done, 0 reused, 1 failed, 4 skipped, 0 cancelled", "{}", out.stderr);
    let failed = bench_id("tiny-fp32-local-simfail", 2);
    assert!(out.stdout.contains(&format!("failed: {failed}: the script exited with status 3")), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!("skipped collect/tiny-fp32-local-simfail: `{failed}` did not finish")),
        "{}",
        out.stderr
    );
    let log = std::fs::read_dir(project.path().join(".ix/logs"))
        .expect("logs")
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("conc 2 breaks on purpose")));
    assert!(log, "the failing task's stderr is in its log file");
    assert_eq!(project.results().len(), 5);
    // Rerun: only the failed task runs again (and fails again).
    let again = project.run(&[]).expect_code(1);
    assert_eq!(summary_line(&again), "0 done, 12 reused, 1 failed, 4 skipped, 0 cancelled");
}

const FAIL_ONCE: &str = concat!(
    "#!/usr/bin/env bash\nset -euo pipefail\n",
    write_raw_fn!(),
    r#"marker="$MARKER_DIR/$CONC"
if [ ! -e "$marker" ]; then touch "$marker"; echo "first attempt fails" >&2; exit 1; fi
write_raw
"#
);

#[test]
fn retries_recover_a_task_that_fails_once() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 1");
    let project = Project::new(&master, &[(SCRIPT, FAIL_ONCE)]);
    let markers = tempfile::tempdir().expect("tempdir");
    let without = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(project.path())
        .env("MARKER_DIR", markers.path())
        .run()
        .expect_code(1);
    assert!(summary_line(&without).contains("1 failed"));
    std::fs::remove_dir_all(markers.path()).expect("reset markers");
    std::fs::create_dir_all(markers.path()).expect("reset markers");
    let with = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--retries", "2", "--retry-backoff", "0.05"])
        .current_dir(project.path())
        .env("MARKER_DIR", markers.path())
        .run()
        .expect_code(0);
    // The launch task was recorded by the first run.
    assert_eq!(summary_line(&with), "5 done, 1 reused, 0 failed, 0 skipped, 0 cancelled");
    let retry = format!("retry   {} after attempt 1", bench_id("tiny-fp32-local-sim", 1));
    assert!(with.stderr.contains(&retry), "{}", with.stderr);
}

#[test]
fn config_values_reach_scripts_verbatim_and_execute_nothing() {
    let canary = tempfile::tempdir().expect("tempdir");
    let canary_file = canary.path().join("pwned");
    let image = format!("img; rm -rf / $(touch {}) `id` \"q\" \\ end", canary_file.display());
    let master = entry("tiny-fp32-local-sim", "sim", "IMAGE_PLACEHOLDER", "conc-start: 1, conc-end: 1")
        .replace("'IMAGE_PLACEHOLDER'", &format!("'{}'", image.replace('\'', "''")));
    let script = concat!(
        "#!/usr/bin/env bash\nset -euo pipefail\n",
        write_raw_fn!(),
        "printf '%s' \"$IMAGE\" > image.txt\nwrite_raw\n"
    );
    let project = Project::new(&master, &[(SCRIPT, script)]);
    let _ = project.run(&[]).expect_code(0);
    let seen = std::fs::read_dir(project.path().join(".ix/work"))
        .expect("work")
        .flatten()
        .find_map(|e| std::fs::read(e.path().join("image.txt")).ok())
        .expect("image.txt");
    assert_eq!(String::from_utf8_lossy(&seen), image);
    assert!(!canary_file.exists(), "a value was executed by a shell");
}

#[test]
fn an_empty_contract_variable_fails_before_the_script_starts() {
    let master = entry("tiny-fp32-local-sim", "sim", "", "conc-start: 1, conc-end: 1");
    let script = "#!/usr/bin/env bash\ntouch started\nprintf '{}' > \"$RESULT_FILENAME.json\"\n";
    let project = Project::new(&master, &[(SCRIPT, script)]);
    let out = project.run(&["--retries", "3"]).expect_code(1);
    assert!(out.stdout.contains("missing or empty environment variables: IMAGE"), "{}", out.stdout);
    // Its result, collect, summary and report are skipped; the script never started.
    assert!(summary_line(&out).contains("1 failed, 4 skipped"), "{}", out.stdout);
    assert!(!out.stderr.contains("retry "), "{}", out.stderr);
    assert!(project.results().is_empty());
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 1");
    let script = "#!/usr/bin/env bash\n(sleep 31.7; touch survived) &\nsleep 31.7\n";
    let project = Project::new(&master, &[(SCRIPT, script)]);
    let started = std::time::Instant::now();
    let out = project.run(&["--timeout", "0.5"]).expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(out.stdout.contains("timed out"), "{}", out.stdout);
    std::thread::sleep(Duration::from_millis(300));
    let survivors = std::process::Command::new("pgrep").args(["-f", "sleep 31.7"]).output().expect("pgrep");
    // Nothing else runs `sleep 31.7`; nothing of this group may be left.
    assert!(String::from_utf8_lossy(&survivors.stdout).trim().is_empty(), "a child survived the timeout");
}

/// Kills `ix run` with SIGKILL after `delay`, then checks that the store loads and that a rerun
/// completes exactly the remainder.
fn kill_and_resume(delay: Duration) {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 64");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let mut child = std::process::Command::new(crate::util::ix_bin())
        .args(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "-j", "2"])
        .current_dir(project.path())
        .env("SLEEP_SECS", "0.4")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let locked = project.path().join(".ix/lock").exists();
    // Let orphaned scripts of the killed run finish: they must not confuse the next run.
    std::thread::sleep(Duration::from_millis(400));
    // Finished = recorded (a result written just before the kill, without its record, is not).
    let finished = std::fs::read_dir(project.path().join(".ix/tasks"))
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
        .unwrap_or(0);
    let plan = project.run(&["--dry-run"]).expect_code(0);
    let reused = plan.stdout.lines().filter(|l| l.starts_with("reuse ")).count();
    assert_eq!(reused, finished, "every stored result is a finished task");
    let rerun = project.run(&[]).expect_code(0);
    // Seven points: launch, 7 bench, 7 result, collect, summary, report.
    let expected = if finished == 18 {
        "nothing to run: all 18 tasks are up to date (state .ix)".to_string()
    } else {
        format!("{} done, {finished} reused, 0 failed, 0 skipped, 0 cancelled", 18 - finished)
    };
    assert_eq!(summary_line(&rerun), expected, "{}", rerun.stderr);
    // Killed after it took the lock: the next command (here the dry run) takes the stale lock
    // over and says so.
    let took_over = plan.stderr.contains("took over a stale lock") || rerun.stderr.contains("took over a stale lock");
    assert_eq!(took_over, locked, "{}{}", plan.stderr, rerun.stderr);
}

#[test]
fn sigkill_early_loses_nothing() {
    kill_and_resume(Duration::from_millis(150));
}

#[test]
fn sigkill_mid_run_loses_nothing() {
    kill_and_resume(Duration::from_millis(700));
}

#[test]
fn sigkill_late_loses_nothing() {
    kill_and_resume(Duration::from_millis(1300));
}

#[test]
fn gha_matrix_chunks_a_600_task_plan() {
    let concs: Vec<String> = (1..=600).map(|c| c.to_string()).collect();
    let master = entry("tiny-fp32-local-sim", "sim", "img", &format!("conc-list: [{}]", concs.join(", ")));
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let output = project.path().join("github_output");
    let _ = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--gha-matrix"])
        .current_dir(project.path())
        .env("GITHUB_OUTPUT", &output)
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(&output).expect("output");
    let mut sizes = Vec::new();
    let mut all = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some((name, value)) = line.split_once('=')
            && name.starts_with("matrix_")
        {
            let chunk: serde_json::Value = serde_json::from_str(value).expect("chunk json");
            let include = chunk["include"].as_array().expect("include");
            sizes.push(include.len());
            for item in include {
                all.insert(item["task"].as_str().expect("task").to_string());
                assert_eq!(item["runner"], "local");
            }
        }
    }
    assert!(text.starts_with("chunks=[0,1,2]\ncount=600\n"), "{text}");
    assert_eq!(sizes, [256, 256, 88]);
    assert_eq!(all.len(), 600);
}

/// `ix plan --format gha-matrix` writes what `ix run --gha-matrix` writes (one implementation),
/// in chunks of at most 256, and sums it up on stderr.
#[test]
fn plan_gha_matrix_equals_run_gha_matrix_in_chunks_of_256() {
    let concs: Vec<String> = (1..=300).map(|c| c.to_string()).collect();
    let master = entry("tiny-fp32-local-sim", "sim", "img", &format!("conc-list: [{}]", concs.join(", ")));
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let run_output = project.path().join("run_output");
    let _ =
        ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--gha-matrix"])
            .current_dir(project.path())
            .env("GITHUB_OUTPUT", &run_output)
            .run()
            .expect_code(0);
    let plan_output = project.path().join("plan_output");
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--format", "gha-matrix"])
        .current_dir(project.path())
        .env("GITHUB_OUTPUT", &plan_output)
        .run()
        .expect_code(0);
    assert!(
        plan.stderr.contains(
            "matrix: 300 benchmark task(s) to run in 2 chunk(s) of at most 256 (0 reused), written to $GITHUB_OUTPUT"
        ),
        "{}",
        plan.stderr
    );
    let text = std::fs::read_to_string(&plan_output).expect("plan output");
    assert!(text.starts_with("chunks=[0,1]\ncount=300\n"), "{text}");
    let sizes: Vec<usize> = text
        .lines()
        .filter_map(|line| line.strip_prefix("matrix_"))
        .map(|line| {
            let chunk: serde_json::Value = serde_json::from_str(line.split_once('=').expect("=").1).expect("json");
            chunk["include"].as_array().expect("include").len()
        })
        .collect();
    assert_eq!(sizes, [256, 44]);
    assert_eq!(text, std::fs::read_to_string(&run_output).expect("run output"));
}

const COUNT_CONCURRENT: &str = concat!(
    "#!/usr/bin/env bash\nset -euo pipefail\n",
    write_raw_fn!(),
    r#"touch "$MARKER_DIR/$CONC"
sleep 0.5
running=$(find "$MARKER_DIR" -type f | wc -l)
rm "$MARKER_DIR/$CONC"
write_raw "$(printf '"running": %s, "node": "%s"' "$running" "$RUNNER_NAME")"
"#
);

fn max_running(project: &Project, extra: &[&str]) -> (i64, std::collections::BTreeSet<String>) {
    let markers = tempfile::tempdir().expect("tempdir");
    let _ = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(extra)
        .current_dir(project.path())
        .env("MARKER_DIR", markers.path())
        .run()
        .expect_code(0);
    let mut max = 0;
    let mut nodes = std::collections::BTreeSet::new();
    for path in project.results() {
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
        if let Some(running) = value.get("running").and_then(serde_json::Value::as_i64) {
            max = max.max(running);
            nodes.insert(value["node"].as_str().expect("node").to_string());
        }
    }
    (max, nodes)
}

#[test]
fn runner_nodes_and_jobs_bound_concurrency() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 32");
    let project = Project::new(&master, &[(SCRIPT, COUNT_CONCURRENT)]);
    // Two nodes of runner type `local`: never more than two tasks at once, on both nodes.
    let (max, nodes) = max_running(&project, &["-j", "8"]);
    std::fs::remove_dir_all(project.path().join(".ix")).expect("reset state");
    assert_eq!(max, 2);
    assert_eq!(nodes.into_iter().collect::<Vec<_>>(), ["local_0", "local_1"]);
    let (max, _) = max_running(&project, &["-j", "1"]);
    assert_eq!(max, 1);
}

#[test]
fn interrupting_stops_running_tasks_and_keeps_finished_ones() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 4");
    let script = concat!(
        "#!/usr/bin/env bash\nset -euo pipefail\n",
        write_raw_fn!(),
        "if [ \"$CONC\" = 4 ]; then sleep 45.3; fi\nwrite_raw\n"
    );
    let project = Project::new(&master, &[(SCRIPT, script)]);
    let child = std::process::Command::new(crate::util::ix_bin())
        .args(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while project.results().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "the quick tasks never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals the ix child this test spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // Done: launch, two benches and their results; stopped: the slow bench and everything after it.
    let line = stdout.lines().find(|l| l.contains(" done, ")).unwrap_or("");
    assert_eq!(line, "5 done, 0 reused, 0 failed, 0 skipped, 5 cancelled (interrupted)", "{stdout}");
    let survivors = std::process::Command::new("pgrep").args(["-f", "sleep 45.3"]).output().expect("pgrep");
    assert!(
        String::from_utf8_lossy(&survivors.stdout).trim().is_empty(),
        "the running task survived: {}",
        String::from_utf8_lossy(&survivors.stdout)
    );
    assert!(!project.path().join(".ix/lock").exists(), "the lock is released");
}

/// A stand-in `docker` that records its argv and environment, then does what `docker run`
/// would with the mounts it was given: runs the script with the repo mount mapped back.
const FAKE_DOCKER: &str = r#"#!/usr/bin/env bash
set -euo pipefail
if [ "$1" = info ]; then exit 0; fi
# The launch task: `pull IMAGE`, then `image inspect --format {{json .RepoDigests}} IMAGE`.
if [ "$1" = pull ]; then printf '%s\n' "$2" >> "$DOCKER_LOG/pulled"; exit 0; fi
if [ "$1" = image ] && [ "$2" = inspect ]; then
  printf '["docker.io/library/img@sha256:%s"]\n' "$(printf 'ab%.0s' $(seq 32))"
  exit 0
fi
printf '%s\n' "$@" > "$DOCKER_LOG/argv"
workdir="" repo="" image="" script=""
prev=""
for arg in "$@"; do
  case "$prev" in
    -v) case "$arg" in
          *:/workspace/) workdir="${arg%:/workspace/}" ;;
          *:/ix/repo:ro) repo="${arg%:/ix/repo:ro}" ;;
        esac ;;
  esac
  prev="$arg"
done
script="${*: -1}"
image="${*: -2:1}"
printf '%s' "$image" > "$DOCKER_LOG/image"
cd "$workdir"
exec bash "$repo${script#/ix/repo}"
"#;

#[test]
fn docker_executor_builds_the_reference_argv_and_forwards_values_by_name() {
    let master = entry("tiny-fp32-local-sim", "sim", "img:1", "conc-start: 1, conc-end: 1");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let fake = tempfile::tempdir().expect("tempdir");
    let docker = fake.path().join("docker");
    std::fs::write(&docker, FAKE_DOCKER).expect("write");
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", fake.path().display(), std::env::var("PATH").unwrap_or_default());
    let out = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--executor", "local=docker", "--docker-no-gpus"])
        .current_dir(project.path())
        .env("PATH", path)
        .env("DOCKER_LOG", fake.path())
        .env_remove("HF_HUB_CACHE")
        .run()
        .expect_code(0);
    // No registry answers here: the launch runs first and records the digest the engine reports,
    // then the rest is planned with it (the launch counts as reused there).
    assert!(out.stderr.contains("warning: cannot resolve `img:1`"), "{}", out.stderr);
    assert_eq!(summary_line(&out), "5 done, 1 reused, 0 failed, 0 skipped, 0 cancelled", "{}", out.stderr);
    let argv = std::fs::read_to_string(fake.path().join("argv")).expect("argv");
    let argv: Vec<&str> = argv.lines().collect();
    assert_eq!(&argv[..6], ["run", "--rm", "--init", "--network=host", "--ipc=host", argv[5]]);
    assert!(argv[5].starts_with("--name=ix-"));
    assert!(argv.windows(2).any(|w| w == ["-e", "RESULT_FILENAME"]));
    assert!(argv.windows(2).any(|w| w == ["-w", "/workspace/"]));
    assert_eq!(argv[argv.len() - 3], "--entrypoint=/bin/bash");
    assert_eq!(argv[argv.len() - 1], "/ix/repo/benchmarks/tiny_fp32_local.sh");
    assert!(!argv.iter().any(|a| a.contains("conc") || a.contains("tiny-model")), "values are never in argv");
    assert_eq!(std::fs::read_to_string(fake.path().join("image")).expect("image"), "img:1");
    // The launch task pulled the image first and recorded the digest the engine reported.
    assert_eq!(std::fs::read_to_string(fake.path().join("pulled")).expect("pulled").trim(), "docker.io/library/img:1");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--executor", "docker"])
        .arg("--why")
        .arg("bench/tiny-fp32-local-sim/1k1k/tp1-ep1-dpa0-none/c1/local_0")
        .current_dir(project.path())
        .run()
        .expect_code(0);
    assert!(plan.stdout.contains(&format!("image  img:1 {digest}")), "{}", plan.stdout);

    // A reference that is no image reference never reaches the engine: its launch fails.
    let hostile =
        Project::new(&entry("tiny-fp32-local-sim", "sim", "img:1; $(id)", "conc-list: [1]"), &[(SCRIPT, OK_SCRIPT)]);
    let out = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--executor", "local=docker", "--docker-no-gpus"])
        .current_dir(hostile.path())
        .env("PATH", format!("{}:{}", fake.path().display(), std::env::var("PATH").unwrap_or_default()))
        .env("DOCKER_LOG", fake.path())
        .run()
        .expect_code(1);
    assert!(out.stdout.contains("invalid image reference"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(fake.path().join("pulled")).expect("pulled").lines().count(), 1, "no pull");
}

/// `ix run` records in the engine's store, so `ix plan` afterwards reuses everything; failures
/// are recorded too (`ix plan` says why they rerun); `--force` reruns what it selects.
#[test]
fn ix_plan_agrees_with_ix_run_on_failures_and_forcing() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 4");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let run = |extra: &[&str]| project.run(extra);
    let first = run(&[]).expect_code(0);
    let summary = summary_line(&first).to_string();
    assert!(summary.ends_with(" done, 0 reused, 0 failed, 0 skipped, 0 cancelled"), "{summary}\n{}", first.stderr);
    let n_tasks: usize = summary.split(' ').next().and_then(|n| n.parse().ok()).expect("count");
    assert!(first.stderr.contains("done    bench/"), "{}", first.stderr);

    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--state-dir", ".ix"])
        .args_from(&["--format", "json"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let actions: Vec<&str> =
        doc["tasks"].as_array().expect("tasks").iter().map(|t| t["action"].as_str().expect("action")).collect();
    assert_eq!(actions.len(), n_tasks);
    assert!(actions.iter().all(|a| *a == "reuse"), "{actions:?}");

    let second = run(&[]).expect_code(0);
    assert_eq!(summary_line(&second), format!("nothing to run: all {n_tasks} tasks are up to date (state .ix)"));

    // A failing bench task is recorded as failed: `ix plan` says why it reruns.
    project.write("benchmarks/tiny_fp32_local.sh", "#!/usr/bin/env bash\nexit 4\n");
    let failing = run(&[]).expect_code(1);
    assert!(failing.stdout.contains("3 failed"), "{}", failing.stdout);
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--state-dir", ".ix"])
        .args_from(&["--format", "json"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    assert!(plan.stdout.contains("previous_failed"), "{}", plan.stdout);
    project.write("benchmarks/tiny_fp32_local.sh", OK_SCRIPT);

    // Forcing the bench tasks reruns them and everything downstream, not the launch task.
    let forced = run(&["--force", "bench/*"]).expect_code(0);
    let line = summary_line(&forced).to_string();
    assert_eq!(line, format!("{} done, 1 reused, 0 failed, 0 skipped, 0 cancelled", n_tasks - 1));

    // An edited script reruns its bench tasks and what depends on them, nothing else.
    project.write("benchmarks/tiny_fp32_local.sh", &format!("{OK_SCRIPT}# edited\n"));
    let third = run(&[]).expect_code(0);
    assert_eq!(summary_line(&third), format!("{} done, 1 reused, 0 failed, 0 skipped, 0 cancelled", n_tasks - 1));
}

#[test]
fn gha_matrix_task_and_collect_round_trip_and_tampering_is_rejected() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let base = ["--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"];
    let matrix =
        ix(["run"]).args_from(&base).args_from(&["--state", ".ix", "--gha-matrix"]).current_dir(project.path()).run();
    let matrix = matrix.expect_code(0);
    let chunk: serde_json::Value =
        serde_json::from_str(matrix.stdout.lines().find_map(|l| l.strip_prefix("matrix_0=")).expect("matrix_0"))
            .expect("json");
    let tasks: Vec<String> = chunk["include"]
        .as_array()
        .expect("include")
        .iter()
        .map(|e| e["task"].as_str().expect("task").into())
        .collect();
    assert_eq!(tasks.len(), 2, "{}", matrix.stdout);
    for (idx, task) in tasks.iter().enumerate() {
        let _ = ix(["run"])
            .args_from(&base)
            .args_from(&[
                "--task",
                task,
                "--state",
                &format!(".job{idx}"),
                "--artifact-dir",
                &format!("artifacts/{idx}"),
            ])
            .current_dir(project.path())
            .run()
            .expect_code(0);
    }
    // A tampered copy of the first artifact is rejected; the two good ones are folded.
    let good = project.path().join(format!("artifacts/0/{}", tasks[0]));
    let bad = project.path().join(format!("artifacts/9/{}", tasks[0]));
    std::fs::create_dir_all(&bad).expect("mkdir");
    for file in std::fs::read_dir(&good).expect("artifact").flatten() {
        let text = std::fs::read_to_string(file.path()).expect("read");
        let text = if file.file_name() == "manifest.json" {
            text
        } else {
            text.replace("\"max_concurrency\": 1,", "\"max_concurrency\": 7,")
        };
        std::fs::write(bad.join(file.file_name()), text).expect("write");
    }
    let collect = ix(["collect-artifacts", "artifacts", "--state", ".ix"])
        .args_from(&["--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(project.path())
        .run()
        .expect_code(1);
    assert!(collect.stdout.contains("2 folded, 1 rejected"), "{}\n{}", collect.stdout, collect.stderr);
    assert!(collect.stderr.contains("does not match the manifest"), "{}", collect.stderr);
    // The collect job then runs the in-process tasks (launch, result, collect, summary, report).
    let rest =
        ix(["run"]).args_from(&base).args_from(&["--state", ".ix", "--collect-only"]).current_dir(project.path()).run();
    let rest = rest.expect_code(0);
    // launch, two results, collect, summary, report.
    assert_eq!(summary_line(&rest), "6 done, 2 reused, 0 failed, 0 skipped, 0 cancelled", "{}", rest.stdout);
    // The engine's plan now reuses everything.
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--state-dir", ".ix"])
        .args_from(&["--format", "json"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let actions: Vec<&str> =
        doc["tasks"].as_array().expect("tasks").iter().map(|t| t["action"].as_str().expect("action")).collect();
    assert!(actions.len() > 2 && actions.iter().all(|a| *a == "reuse"), "{actions:?}");
}

pub(crate) const MULTINODE_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
for c in $CONC_LIST; do
  printf '{"max_concurrency": %s, "model_id": "tiny-model", "total_token_throughput": 400.0, "output_throughput": 200.0, "median_tpot_ms": 2.0, "mode": "%s", "prefill_tp": %s}\n' "$c" "$PREFILL_MODE" "$PREFILL_TP" \
    > "${RESULT_FILENAME}_conc${c}_gpus_4_ctx_2_gen_2.json"
done
"#;

#[test]
fn runs_multinode_jobs_with_their_contract_and_settings() {
    let master = "tiny-fp32-local-simmn:\n  image: img\n  model: tiny-model\n  model-prefix: tiny\n  runner: local\n  precision: fp32\n  framework: simmn\n  multinode: true\n  disagg: true\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - conc-list: [4, 8]\n      prefill:\n        num-worker: 1\n        tp: 2\n        ep: 2\n        dp-attn: false\n        additional-settings:\n        - \"PREFILL_MODE=fast; $(id)\"\n      decode:\n        num-worker: 1\n        tp: 2\n        ep: 2\n        dp-attn: false\n";
    let project = Project::new(master, &[("tiny_fp32_local_simmn.sh", MULTINODE_SCRIPT)]);
    let out = project.run(&[]).expect_code(0);
    assert!(
        summary_line(&out).ends_with(" done, 0 reused, 0 failed, 0 skipped, 0 cancelled"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("## Multi-Node Results"), "{}", out.stdout);
    let folded = walk_json(&project.path().join(".ix/work"))
        .into_iter()
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .find(|value| value[0]["file"].is_string())
        .expect("folded multi-node result");
    let items = folded.as_array().expect("list");
    let concs: Vec<i64> = items.iter().map(|i| i["result"]["max_concurrency"].as_i64().expect("conc")).collect();
    assert_eq!(concs, [4, 8]);
    assert_eq!(items[0]["result"]["mode"], "fast; $(id)");
    assert!(
        items[0]["file"].as_str().expect("file").contains("_prefill-tp2-ep2-dpfalse-nw1_decode-tp2-ep2-dpfalse-nw1_")
    );
    let plan = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--state-dir", ".ix"])
        .args_from(&["--format", "json"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    assert!(doc["tasks"].as_array().expect("tasks").iter().all(|t| t["action"] == "reuse"), "{}", plan.stdout);
}

fn walk_json(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_json(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            found.extend(std::fs::read_to_string(&path).ok());
        }
    }
    found
}

/// `--changelog-base REF`: the config keys of perf-changelog entries added since REF force their
/// bench tasks, and the dry run says which entry forced them.
#[test]
fn perf_changelog_entries_force_their_keys_with_the_entry_line() {
    let master = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2"),
        entry("tiny-fp32-local-other", "other", "img", "conc-start: 1, conc-end: 1")
    );
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let dir = project.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=ix", "-c", "user.email=ix@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    project.write(".gitignore", ".ix/\nreport.html\n");
    project.write("perf-changelog.yaml", "# changelog\n");
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let _ = project.run(&[]).expect_code(0);
    let entry_text =
        "- config-keys:\n    - tiny-fp32-local-sim\n  description:\n    - \"faster\"\n  pr-link: https://e/pull/1\n";
    project.write("perf-changelog.yaml", &format!("# changelog\n{entry_text}"));
    git(&["commit", "-q", "-am", "entry"]);

    let plan = project.run(&["--changelog-base", "HEAD~1", "--dry-run"]).expect_code(0);
    let forced: Vec<&str> =
        plan.stdout.lines().filter(|l| l.ends_with("(forced by perf-changelog entry at line 2)")).collect();
    assert_eq!(forced.len(), 2, "the two bench tasks of the named key:\n{}", plan.stdout);
    assert!(forced.iter().all(|l| l.contains(" bench/tiny-fp32-local-sim/")), "{forced:?}");
    assert!(
        plan.stdout.lines().any(|l| l.starts_with("reuse ") && l.contains("bench/tiny-fp32-local-other/")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("forcing bench/tiny-fp32-local-sim/* (forced by perf-changelog entry at line 2)"),
        "{}",
        plan.stderr
    );

    let run = project.run(&["--changelog-base", "HEAD~1"]).expect_code(0);
    let benches = run.stderr.lines().filter(|l| l.starts_with("done    bench/")).count();
    assert_eq!(benches, 2, "{}", run.stderr);
}

/// `ix plan --changelog-base REF` forces the keys of added perf-changelog entries (the same rules
/// as `ix run`) and warns about bench tasks that rerun for changed inputs with no entry.
#[test]
fn plan_changelog_base_forces_entries_and_warns_about_uncovered_reruns() {
    let master = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2"),
        entry("tiny-fp32-local-other", "other", "img", "conc-start: 1, conc-end: 1")
    );
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let dir = project.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=ix", "-c", "user.email=ix@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    project.write(".gitignore", ".ix/\nreport.html\n");
    project.write("perf-changelog.yaml", "# changelog\n");
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let _ = project.run(&[]).expect_code(0);
    let entry_text =
        "- config-keys:\n    - tiny-fp32-local-sim\n  description:\n    - \"faster\"\n  pr-link: https://e/pull/1\n";
    project.write("perf-changelog.yaml", &format!("# changelog\n{entry_text}"));
    let changed = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2"),
        entry("tiny-fp32-local-other", "other", "img2", "conc-start: 1, conc-end: 1")
    );
    project.write("configs/master.yaml", &changed);
    git(&["commit", "-q", "-am", "entry"]);

    let plan =
        ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--changelog-base", "HEAD~1"])
            .args_from(&["--format", "json"])
            .current_dir(dir)
            .run()
            .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let mut forced = Vec::new();
    for task in doc["tasks"].as_array().expect("tasks") {
        let id = task["id"].as_str().expect("id");
        let reasons = task["reasons"].to_string();
        if reasons.contains("perf-changelog entry at line 2") {
            forced.push(id.to_string());
        }
    }
    forced.sort();
    assert_eq!(
        forced,
        [
            "bench/tiny-fp32-local-sim/1k1k/tp1-ep1-dpa0-none/c1/local_0",
            "bench/tiny-fp32-local-sim/1k1k/tp1-ep1-dpa0-none/c2/local_0"
        ],
        "{}",
        plan.stdout
    );
    let warnings: Vec<&str> = plan.stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{}", plan.stderr);
    assert!(
        warnings[0].contains("bench/tiny-fp32-local-other/")
            && warnings[0].ends_with("but no new perf-changelog entry covers `tiny-fp32-local-other`"),
        "{}",
        warnings[0]
    );

    let human =
        ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--changelog-base", "HEAD~1"])
            .current_dir(dir)
            .run()
            .expect_code(0);
    assert!(human.stdout.contains("forced by perf-changelog entry at line 2"), "{}", human.stdout);
    let without = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(dir)
        .run()
        .expect_code(0);
    assert!(
        !without.stderr.contains("warning:") && !without.stdout.contains("perf-changelog"),
        "{}{}",
        without.stdout,
        without.stderr
    );
}

/// `ix run --config-keys K`: only the named entry's tasks run; an unknown key is refused with
/// a did-you-mean before anything runs.
#[test]
fn run_config_keys_runs_only_the_named_entries() {
    let master = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2"),
        entry("tiny-fp32-local-other", "other", "img", "conc-start: 1, conc-end: 1")
    );
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let wrong = project.run(&["--config-keys", "tiny-fp32-local-otter"]).expect_code(1);
    assert!(wrong.stderr.contains("config key(s) not found: tiny-fp32-local-otter"), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("did you mean `tiny-fp32-local-other`?"), "{}", wrong.stderr);
    assert!(project.results().is_empty());

    let run = project.run(&["--config-keys", "tiny-fp32-local-other"]).expect_code(0);
    let benches: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("done    bench/")).collect();
    assert_eq!(benches.len(), 1, "{}", run.stderr);
    assert!(benches[0].contains("bench/tiny-fp32-local-other/"), "{benches:?}");
    let dry = project.run(&["--dry-run"]).expect_code(0);
    let pending: Vec<&str> = dry.stdout.lines().filter(|l| l.starts_with("run ") && l.contains(" bench/")).collect();
    assert_eq!(pending.len(), 2, "the other entry's two points are still to run:\n{}", dry.stdout);
    assert!(pending.iter().all(|l| l.contains(" bench/tiny-fp32-local-sim/")), "{pending:?}");
}
