//! `ix plan`: a temporary copy of a small project, planned, recorded through the test-only
//! `--record-fake` path, edited, and planned again; each edit must rerun exactly the affected
//! tasks with the right reasons.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{IxOutput, ix, ix_bin, project_root};

/// A temporary copy of `tests/data/plan/small`.
struct Project {
    dir: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&project_root().join("tests/data/plan/small"), dir.path());
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn plan(&self, extra: &[&str]) -> IxOutput {
        ix(["plan", "sweep.yaml"]).args_from(extra).current_dir(self.dir.path()).run()
    }

    /// The JSON plan as task id -> (action, reasons).
    fn json(&self, extra: &[&str]) -> (Value, BTreeMap<String, (String, Vec<Value>)>) {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        let out = self.plan(&args).expect_code(0);
        let doc: Value = serde_json::from_str(&out.stdout).expect("plan is JSON");
        let tasks = doc["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|task| {
                (
                    task["id"].as_str().unwrap().to_string(),
                    (task["action"].as_str().unwrap().to_string(), task["reasons"].as_array().unwrap().clone()),
                )
            })
            .collect();
        (doc, tasks)
    }

    fn record_all(&self) {
        let _ = self.plan(&["--record-fake", "success"]).expect_code(0);
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} lacks {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Ids of the tasks that run, sorted.
    fn running(&self) -> Vec<String> {
        let (_, tasks) = self.json(&[]);
        tasks.into_iter().filter(|(_, (action, _))| action == "run").map(|(id, _)| id).collect()
    }
}

const H100_C4: &str = "bench/demo-fp8-h100-vllm/1k1k/tp2-ep1-dpa0-none/c4/h100-cr_0";
const H100_C8: &str = "bench/demo-fp8-h100-vllm/1k1k/tp2-ep1-dpa0-none/c8/h100-cr_0";
const B200_C16: &str = "bench/demo-fp4-b200-trt/1k8k/tp4-ep1-dpa0-none/c16/b200-nv_0";

fn result_of(bench: &str) -> String {
    bench.replacen("bench/", "result/", 1)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn kinds(reasons: &[Value]) -> Vec<&str> {
    reasons.iter().map(|r| r["kind"].as_str().unwrap()).collect()
}

#[test]
fn a_fresh_plan_runs_every_task_as_new() {
    let project = Project::new();
    let (doc, tasks) = project.json(&[]);
    assert_eq!(doc["schema"], "ix.plan/v1");
    assert_eq!(doc["plan"].as_str().unwrap().len(), 64);
    assert_eq!(tasks.len(), 12, "{tasks:#?}");
    for (id, (action, reasons)) in &tasks {
        assert_eq!(action, "run", "{id}");
        assert_eq!(kinds(reasons)[0], "new", "{id}");
    }
    let bench = doc["tasks"].as_array().unwrap().iter().find(|t| t["id"] == H100_C4).unwrap();
    assert_eq!(bench["script"], "benchmarks/demo_fp8_h100.sh");
    assert_eq!(bench["launcher"], "runners/launch_h100-cr.sh");
    assert_eq!(bench["deps"][0], "launch/h100/h100-cr/vllm/vllm-openai");
}

#[test]
fn recorded_tasks_are_all_reused() {
    let project = Project::new();
    let before = project.json(&[]).0["plan"].clone();
    project.record_all();
    assert!(project.running().is_empty());
    let (doc, _) = project.json(&[]);
    assert_eq!(doc["plan"], before, "recording does not change the graph hash");
    assert_eq!(doc["summary"]["reuse"], 12);
    let human = project.plan(&[]).expect_code(0);
    assert!(human.stdout.contains("reuse     12"), "{}", human.stdout);
}

#[test]
fn changing_one_image_reruns_exactly_its_tasks() {
    let project = Project::new();
    project.record_all();
    project.edit("sweep.yaml", "vllm-openai:v0.10.0", "vllm-openai:v0.11.0");
    let expected = sorted(vec![
        "launch/h100/h100-cr/vllm/vllm-openai".into(),
        H100_C4.into(),
        H100_C8.into(),
        result_of(H100_C4),
        result_of(H100_C8),
        "collect/demo-fp8-h100-vllm".into(),
        "summary".into(),
        "report".into(),
    ]);
    assert_eq!(project.running(), expected);
    let (_, tasks) = project.json(&[]);
    let reasons = &tasks[H100_C4].1;
    let image = reasons.iter().find(|r| r["kind"] == "input_changed").expect("input_changed reason");
    assert_eq!(image["input"], "image");
    // Nothing recorded a digest for either tag: both are keyed by their reference.
    assert_eq!(image["old"], "vllm/vllm-openai:v0.10.0 (unresolved)");
    assert_eq!(image["new"], "vllm/vllm-openai:v0.11.0 (unresolved)");
    assert_eq!(image["span"]["file"], "sweep.yaml");
    assert_eq!(image["span"]["line"], 2);
    // The record carries the reference: the result task is keyed by it too.
    assert_eq!(kinds(&tasks[&result_of(H100_C4)].1), vec!["input_changed", "upstream_changed"]);
    let human = project.plan(&[]).expect_code(0);
    assert!(
        human
            .stdout
            .contains("input changed: image vllm/vllm-openai:v0.10.0 (unresolved) -> vllm/vllm-openai:v0.11.0 (unresolved) (sweep.yaml:2:10)"),
        "{}",
        human.stdout
    );
}

#[test]
fn changing_one_script_line_reruns_only_its_jobs() {
    let project = Project::new();
    project.record_all();
    project.edit("benchmarks/demo_fp4_b200_trt.sh", "check_env_vars MODEL TP CONC", "check_env_vars MODEL TP CONC ISL");
    let expected = sorted(vec![
        B200_C16.into(),
        result_of(B200_C16),
        "collect/demo-fp4-b200-trt".into(),
        "summary".into(),
        "report".into(),
    ]);
    assert_eq!(project.running(), expected);
    let (_, tasks) = project.json(&[]);
    let reasons = &tasks[B200_C16].1;
    assert_eq!(kinds(reasons), vec!["script_changed"]);
    assert_eq!(reasons[0]["file"], "benchmarks/demo_fp4_b200_trt.sh");
}

#[test]
fn changing_a_sourced_file_reruns_every_script_that_sources_it() {
    let project = Project::new();
    project.record_all();
    project.edit("benchmarks/benchmark_lib.sh", "check_env_vars() { :; }", "check_env_vars() { true; }");
    let (_, tasks) = project.json(&[]);
    for bench in [H100_C4, H100_C8, B200_C16] {
        assert_eq!(tasks[bench].0, "run");
        assert_eq!(tasks[bench].1[0]["file"], "benchmarks/benchmark_lib.sh", "{bench}");
    }
    assert_eq!(tasks["launch/h100/h100-cr/vllm/vllm-openai"].0, "reuse");
}

#[test]
fn changing_a_script_that_a_script_or_launcher_runs_reruns_its_jobs() {
    let project = Project::new();
    std::fs::write(project.path("benchmarks/trt_server.sh"), "#!/usr/bin/env bash\necho serve\n").unwrap();
    project.edit(
        "benchmarks/demo_fp4_b200_trt.sh",
        "check_env_vars MODEL TP CONC",
        "check_env_vars MODEL TP CONC\nexec bash \"$(dirname \"$0\")/trt_server.sh\"",
    );
    std::fs::write(project.path("runners/launch_common.sh"), "#!/usr/bin/env bash\necho launch\n").unwrap();
    let launcher = std::fs::read_to_string(project.path("runners/launch_h100-cr.sh")).unwrap();
    std::fs::write(
        project.path("runners/launch_h100-cr.sh"),
        format!("{launcher}\nhere=\"$(dirname \"$0\")\"\nIX_GPU=1 exec bash \"$here/launch_common.sh\"\n"),
    )
    .unwrap();
    project.record_all();
    assert!(project.running().is_empty());

    // A script the benchmark script execs.
    project.edit("benchmarks/trt_server.sh", "echo serve", "echo serve --fast");
    let (_, tasks) = project.json(&[]);
    assert_eq!(tasks[B200_C16].0, "run");
    assert_eq!(tasks[B200_C16].1[0]["file"], "benchmarks/trt_server.sh");
    for bench in [H100_C4, H100_C8] {
        assert_eq!(tasks[bench].0, "reuse", "{bench}");
    }
    project.record_all();

    // A script the launcher execs: its benchmarks rerun, the image is still the same.
    project.edit("runners/launch_common.sh", "echo launch", "echo launch --privileged");
    let (_, tasks) = project.json(&[]);
    for bench in [H100_C4, H100_C8] {
        assert_eq!(tasks[bench].0, "run", "{bench}");
        assert_eq!(tasks[bench].1[0]["file"], "runners/launch_common.sh", "{bench}");
    }
    assert_eq!(tasks[B200_C16].0, "reuse");
    assert_eq!(tasks["launch/h100/h100-cr/vllm/vllm-openai"].0, "reuse");
}

#[test]
fn changing_one_concurrency_adds_exactly_the_new_point() {
    let project = Project::new();
    project.record_all();
    project.edit("sweep.yaml", "conc-end: 8", "conc-end: 16");
    let new_bench = "bench/demo-fp8-h100-vllm/1k1k/tp2-ep1-dpa0-none/c16/h100-cr_0";
    let expected = sorted(vec![
        new_bench.into(),
        result_of(new_bench),
        "collect/demo-fp8-h100-vllm".into(),
        "summary".into(),
        "report".into(),
    ]);
    assert_eq!(project.running(), expected);
    let (_, tasks) = project.json(&[]);
    assert_eq!(kinds(&tasks[new_bench].1), vec!["new"]);
    assert_eq!(kinds(&tasks["collect/demo-fp8-h100-vllm"].1), vec!["upstream_changed"]);
}

#[test]
fn a_failed_record_reruns_with_previous_failed() {
    let project = Project::new();
    project.record_all();
    project.edit("sweep.yaml", "conc-end: 8", "conc-end: 16");
    let new_bench = "bench/demo-fp8-h100-vllm/1k1k/tp2-ep1-dpa0-none/c16/h100-cr_0";
    let _ = project.plan(&["--record-fake", "failed", "--record-fake-filter", new_bench]).expect_code(0);
    let (_, tasks) = project.json(&[]);
    assert_eq!(kinds(&tasks[new_bench].1), vec!["previous_failed"]);
}

#[test]
fn force_selects_tasks_by_id_glob_and_by_input() {
    let project = Project::new();
    project.record_all();
    let (_, tasks) = project.json(&["--force", "bench/demo-fp4*"]);
    assert_eq!(tasks[B200_C16].0, "run");
    assert_eq!(tasks[B200_C16].1[0]["kind"], "forced");
    assert_eq!(tasks[B200_C16].1[0]["selector"], "bench/demo-fp4*");
    assert_eq!(tasks[B200_C16].1[0]["by"], "--force bench/demo-fp4*");
    assert_eq!(tasks[H100_C4].0, "reuse");
    let (_, tasks) = project.json(&["--force", "runner=h100"]);
    assert_eq!(tasks[H100_C4].1[0]["kind"], "forced");
    assert_eq!(tasks[B200_C16].0, "reuse");
}

#[test]
fn why_shows_the_manifest_diff_with_script_and_launcher() {
    let project = Project::new();
    project.record_all();
    project.edit("sweep.yaml", "tp: 4, conc-list: [16]", "tp: 8, conc-list: [16]");
    // tp is part of the id, so this is a new task; change the model instead for a diff.
    project.edit("sweep.yaml", "tp: 8, conc-list: [16]", "tp: 4, conc-list: [16]");
    project.edit("sweep.yaml", "model: org/demo-fp4", "model: org/demo-fp4-v2");
    let out = project.plan(&["--why", B200_C16]).expect_code(0);
    assert!(
        out.stdout.contains("input changed: model org/demo-fp4 -> org/demo-fp4-v2 (sweep.yaml:16:10)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("script benchmarks/demo_fp4_b200_trt.sh  blake3:"), "{}", out.stdout);
    assert!(out.stdout.contains("launcher runners/launch_b200-nv.sh  blake3:"), "{}", out.stdout);
    assert!(out.stdout.contains("(was "), "{}", out.stdout);
    let missing = project.plan(&["--why", "bench/nope"]).expect_code(1);
    assert!(missing.stderr.contains("no task `bench/nope`"));
}

#[test]
fn a_missing_script_is_an_error_at_the_jobs_point() {
    let project = Project::new();
    std::fs::remove_file(project.path("benchmarks/demo_fp4_b200_trt.sh")).unwrap();
    std::fs::remove_file(project.path("runners/launch_h100-cr.sh")).unwrap();
    let out = project.plan(&[]).expect_code(1);
    assert!(out.stderr.contains("ix::plan::missing-script"), "{}", out.stderr);
    assert!(out.stderr.contains("script `benchmarks/demo_fp4_b200_trt.sh` does not exist"), "{}", out.stderr);
    // Labelled at the search-space point of the job that needs the file.
    assert!(out.stderr.contains("sweep.yaml:26:7"), "{}", out.stderr);
    assert!(out.stderr.contains("ix::plan::missing-launcher"), "{}", out.stderr);
    assert!(out.stderr.contains("sweep.yaml:13:7"), "{}", out.stderr);
}

#[test]
fn exit_code_flag_reports_pending_work() {
    let project = Project::new();
    let _ = project.plan(&["--exit-code"]).expect_code(1);
    project.record_all();
    let _ = project.plan(&["--exit-code"]).expect_code(0);
}

#[test]
fn watch_replans_after_an_edit_and_reports_the_time() {
    use std::io::{BufRead, BufReader};
    let project = Project::new();
    let mut child = std::process::Command::new(ix_bin())
        .args(["plan", "sweep.yaml", "--watch", "--watch-limit", "1"])
        .current_dir(project.dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("watching for changes"), "{line}");
    project.edit("benchmarks/demo_fp8_h100.sh", "check_env_vars MODEL TP CONC", "check_env_vars MODEL TP CONC OSL");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(rest.contains("re-planned in"), "{rest}");
    assert!(rest.contains("1 project file(s) changed"), "{rest}");
}

/// Creates a stub for every script and launcher `ix plan` reports missing; returns how many.
fn stub_missing(dir: &Path, args: &[&str]) -> usize {
    let out = ix(["plan"]).args_from(args).current_dir(dir).run();
    let mut created = 0;
    for line in out.stderr.lines() {
        for what in ["script `", "launcher `"] {
            let Some(start) = line.find(what) else { continue };
            let rest = &line[start + what.len()..];
            let Some(end) = rest.find("` does not exist") else { continue };
            let path = dir.join(&rest[..end]);
            if !path.exists() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, format!("#!/usr/bin/env bash\necho {}\n", &rest[..end])).unwrap();
                created += 1;
            }
        }
    }
    created
}

#[test]
fn plans_both_vendor_files_with_single_multi_node_and_eval_tasks() {
    let Some(reference) = crate::util::reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for name in ["nvidia-master.yaml", "amd-master.yaml", "runners.yaml"] {
        std::fs::copy(reference.join("configs").join(name), dir.path().join(name)).unwrap();
    }
    let args = ["nvidia-master.yaml", "amd-master.yaml", "--run-evals"];
    // One runner type of the nvidia file has no nodes in the vendor runners file.
    let out = ix(["plan"]).args_from(&args).current_dir(dir.path()).run().expect_code(1);
    assert!(out.stderr.contains("ix::plan::unknown-runner"), "{}", out.stderr);
    let mut runners = std::fs::read_to_string(dir.path().join("runners.yaml")).unwrap();
    runners.push_str("h200-multinode-slurm:\n- 'h200-dgxc-slurm_0'\n");
    std::fs::write(dir.path().join("runners.yaml"), runners).unwrap();
    assert!(stub_missing(dir.path(), &args) > 10);
    assert_eq!(stub_missing(dir.path(), &args), 0);
    let out = ix(["plan", "--format", "json"]).args_from(&args).current_dir(dir.path()).run().expect_code(0);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let tasks = doc["tasks"].as_array().unwrap();
    let count = |kind: &str| tasks.iter().filter(|t| t["kind"] == kind).count();
    assert_eq!(count("bench"), count("result"));
    assert!(count("bench") > 1000, "{}", count("bench"));
    assert!(count("eval") > 0);
    assert_eq!((count("summary"), count("report")), (1, 1));
    let multi = tasks
        .iter()
        .find(|t| t["kind"] == "bench" && t["id"].as_str().unwrap().contains("_d"))
        .expect("a multi-node bench task");
    assert!(multi["script"].as_str().unwrap().starts_with("benchmarks/"), "{multi}");
    let ids: std::collections::HashSet<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), tasks.len(), "task ids are unique");
    for task in tasks {
        for dep in task["deps"].as_array().unwrap() {
            assert!(ids.contains(dep.as_str().unwrap()));
        }
    }
    // Deterministic: the same inputs give the same graph hash.
    let again = ix(["plan", "--format", "json"]).args_from(&args).current_dir(dir.path()).run().expect_code(0);
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(doc["plan"], again["plan"]);
}

/// The human plan after an image edit, against a snapshot (`cargo insta review` after an intended
/// change). Paths are relative and hashes are content-derived, so it is stable.
#[test]
fn human_plan_groups_reruns_by_root_cause() {
    let project = Project::new();
    project.record_all();
    project.edit("sweep.yaml", "vllm-openai:v0.10.0", "vllm-openai:v0.11.0");
    project.edit("benchmarks/demo_fp4_b200_trt.sh", "check_env_vars MODEL TP CONC", "check_env_vars MODEL TP");
    let out = project.plan(&[]).expect_code(0);
    insta::assert_snapshot!("human-image-and-script-edit", out.stdout);
}

#[test]
fn a_corrupt_record_is_a_cache_miss_never_a_reuse() {
    let project = Project::new();
    project.record_all();
    let (doc, _) = project.json(&[]);
    let bench = doc["tasks"].as_array().unwrap().iter().find(|t| t["id"] == B200_C16).unwrap();
    let record = project.path(".ix/tasks").join(format!("{}.json", bench["hash"].as_str().unwrap()));
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, text.replace("\"success\"", "\"failed!\"")).unwrap();
    let (_, tasks) = project.json(&[]);
    assert_eq!(tasks[B200_C16].0, "run");
    assert_eq!(kinds(&tasks[B200_C16].1), vec!["cache_missing"]);
    assert!(tasks[B200_C16].1[0]["detail"].as_str().unwrap().contains("checksum mismatch"));
    assert_eq!(tasks[H100_C4].0, "reuse");
    let human = project.plan(&[]).expect_code(0);
    assert!(human.stdout.contains("warning: state store:"), "{}", human.stdout);
}

#[test]
fn node_expansion_gives_one_launch_per_cluster_launcher() {
    let project = Project::new();
    std::fs::write(project.path("runners.yaml"), "h100:\n- 'h100-cr_0'\n- 'h100-cw_0'\nb200:\n- 'b200-nv_0'\n")
        .unwrap();
    let out = project.plan(&["--runner-node-filter", "h100"]).expect_code(1);
    assert!(out.stderr.contains("launcher `runners/launch_h100-cw.sh` does not exist"), "{}", out.stderr);
    std::fs::write(project.path("runners/launch_h100-cw.sh"), "#!/usr/bin/env bash\n").unwrap();
    let (_, tasks) = project.json(&["--runner-node-filter", "h100"]);
    let launches: Vec<&String> = tasks.keys().filter(|id| id.starts_with("launch/")).collect();
    assert_eq!(launches, ["launch/h100/h100-cr/vllm/vllm-openai", "launch/h100/h100-cw/vllm/vllm-openai"]);
    assert!(tasks.contains_key("bench/demo-fp8-h100-vllm/1k1k/tp2-ep1-dpa0-none/c4/h100-cw_0"));
    assert!(!tasks.keys().any(|id| id.contains("b200")), "the filter drops the b200 entry");
}

/// Runs `ix plan --watch --format json` across `edits` (one re-plan each) and returns every plan
/// it printed.
fn watch_plans(project: &Project, edits: &[(&str, &str, &str)]) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let limit = edits.len().to_string();
    let mut child = std::process::Command::new(ix_bin())
        .args(["plan", "sweep.yaml", "--format", "json", "--watch", "--watch-limit", &limit])
        .current_dir(project.dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut plans = Vec::new();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    plans.push(std::mem::take(&mut line));
    for (file, from, to) in edits {
        project.edit(file, from, to);
        stdout.read_line(&mut line).unwrap();
        plans.push(std::mem::take(&mut line));
    }
    assert!(child.wait().unwrap().success());
    plans
}

#[test]
fn watch_replans_equal_fresh_plans_after_sweep_and_script_edits() {
    let project = Project::new();
    project.record_all();
    let edits = [
        ("sweep.yaml", "vllm-openai:v0.10.0", "vllm-openai:v0.11.0"),
        ("benchmarks/demo_fp4_b200_trt.sh", "check_env_vars MODEL TP CONC", "check_env_vars MODEL"),
        ("sweep.yaml", "model: org/demo\n", "# a new line shifts every later span\n  model: org/demo\n"),
    ];
    let plans = watch_plans(&project, &edits);
    assert_eq!(plans.len(), 4);
    let fresh = project.plan(&["--format", "json"]).expect_code(0);
    assert_eq!(plans[3], fresh.stdout, "the memoized re-plan equals a fresh plan");
    let doc: Value = serde_json::from_str(&plans[1]).unwrap();
    let running: Vec<&str> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "run")
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(running.contains(&H100_C4) && !running.contains(&B200_C16), "{running:?}");
}

/// An invalid entry makes the per-entry (salsa) load fall back to whole-file lowering, so the
/// diagnostic points at the right line of the file, not of the entry.
#[test]
fn an_invalid_second_entry_is_reported_at_its_file_position() {
    let project = Project::new();
    let sweep = project.path("sweep.yaml");
    let text = std::fs::read_to_string(&sweep).unwrap();
    std::fs::write(&sweep, text.replace("tp: 4, conc-list", "tp: four, conc-list")).unwrap();
    let out = project.plan(&[]).expect_code(1);
    assert!(out.stderr.contains("ix::config::invalid-type"), "{}", out.stderr);
    assert!(out.stderr.contains("sweep.yaml:26:13"), "{}", out.stderr);
}

/// A `.ix` sweep that declares its runner types inline plans without any runners file (none
/// given, no `runners.yaml` in the working folder), and with `--watch`'s memo too.
#[test]
fn an_ix_sweep_with_inline_runners_needs_no_runners_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = project_root();
    let sweep = root.join("sweeps/demo.ix");
    let project = root.to_string_lossy().into_owned();
    let out = ix(["plan", sweep.to_str().unwrap(), "--project-dir", &project, "--state-dir", ".ix"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(
        out.stdout.starts_with("plan ") && out.stdout.contains(" · 24 tasks from 9 jobs "),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(!dir.path().join("runners.yaml").exists() && !dir.path().join(".ix/work").exists());
    let missing = ix(["plan", sweep.to_str().unwrap(), "--project-dir", &project, "--runner-config", "nope.yaml"])
        .current_dir(dir.path())
        .run()
        .expect_code(1);
    assert!(missing.stderr.contains("nope.yaml"), "{}", missing.stderr);
}

/// `--config-keys` keeps only the jobs of the named entries (in the fast and the whole load);
/// an unknown key is an error naming it, with a did-you-mean.
#[test]
fn config_keys_select_entries_and_unknown_keys_are_diagnosed() {
    let project = Project::new();
    let (_, all) = project.json(&[]);
    let (_, only) = project.json(&["--config-keys", "demo-fp4-b200-trt"]);
    let benches = |tasks: &BTreeMap<String, (String, Vec<Value>)>, key: &str| {
        tasks.keys().filter(|id| id.starts_with("bench/") && id.contains(key)).count()
    };
    assert!(benches(&all, "demo-fp8-h100-vllm") > 0 && benches(&all, "demo-fp4-b200-trt") > 0);
    assert_eq!(benches(&only, "demo-fp8-h100-vllm"), 0, "{only:?}");
    assert_eq!(benches(&only, "demo-fp4-b200-trt"), benches(&all, "demo-fp4-b200-trt"));
    assert!(only.keys().all(|id| !id.contains("demo-fp8-h100-vllm")), "{only:?}");

    let wrong = project.plan(&["--config-keys", "demo-fp4-b200-trt", "demo-fp8-h100-vlm"]).expect_code(1);
    assert!(wrong.stderr.contains("config key(s) not found: demo-fp8-h100-vlm"), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("did you mean `demo-fp8-h100-vllm`?"), "{}", wrong.stderr);
}

/// A project in today's InferenceX layout (`configs/`): `ix check` and `ix plan` default to its
/// master configs and runners file, and agentic jobs name scripts under
/// `benchmarks/single_node/agentic/`; a missing one is a plan-time error at the config key.
#[test]
fn todays_layout_is_the_default_and_agentic_scripts_live_under_single_node() {
    let Some(reference) = crate::util::reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("configs")).unwrap();
    std::fs::copy(reference.join("head/configs/runners.yaml"), root.join("configs/runners.yaml")).unwrap();
    let master = std::fs::read_to_string(reference.join("head/configs/amd-master.yaml")).unwrap();
    let key = "qwen3.5-fp8-mi325x-sglang-agentic-mtp:";
    let start = master.find(&format!("\n{key}")).unwrap() + 1;
    let end = master[start + key.len()..].find("\n\n").map_or(master.len(), |at| start + key.len() + at + 1);
    std::fs::write(root.join("configs/amd-master.yaml"), &master[start..end]).unwrap();
    let check = ix(["check"]).current_dir(root).run().expect_code(0);
    assert!(check.stderr.contains("checked 2 file(s): no errors"), "{}", check.stderr);
    let missing = ix(["plan"]).current_dir(root).run().expect_code(1);
    assert!(missing.stderr.contains("ix::plan::missing-script"), "{}", missing.stderr);
    assert!(missing.stderr.contains("benchmarks/single_node/agentic/qwen3.5_fp8_mi325x_mtp.sh"), "{}", missing.stderr);
    assert!(missing.stderr.contains("qwen3.5-fp8-mi325x-sglang-agentic-mtp"), "{}", missing.stderr);
    for (path, text) in [
        ("runners/launch_mi325x-amds.sh", "#!/usr/bin/env bash\nexit 0\n"),
        ("benchmarks/single_node/agentic/qwen3.5_fp8_mi325x_mtp.sh", "#!/usr/bin/env bash\nexit 0\n"),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    let plan = ix(["plan", "--format", "json"]).current_dir(root).run().expect_code(0);
    // `ix run` reads the same default masters (issue 13: `configs/` for every verb).
    let dry = ix(["run", "--dry-run"]).current_dir(root).run().expect_code(0);
    assert!(dry.stdout.contains("bench/qwen3.5-fp8-mi325x-sglang-agentic-mtp/"), "{}", dry.stdout);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let text = plan.to_string();
    assert!(text.contains("bench/qwen3.5-fp8-mi325x-sglang-agentic-mtp/"), "{text}");
    assert!(text.contains("benchmarks/single_node/agentic/qwen3.5_fp8_mi325x_mtp.sh"), "{text}");
    // Today's eval rule for agentic jobs: one eval per config and node, at the largest
    // concurrency (tp8, conc 80 here), kept alone by `--evals-only`.
    let evals = ix(["plan", "--evals-only"]).current_dir(root).run().expect_code(0);
    assert!(evals.stdout.contains("7 tasks from 1 jobs"), "{}", evals.stdout);
    assert!(evals.stdout.contains("eval 1"), "{}", evals.stdout);
}
