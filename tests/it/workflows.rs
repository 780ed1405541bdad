//! The repository's GitHub workflows: the run-sweep pipeline's shell steps run locally in order,
//! read from the workflow files themselves (plan -> matrix -> `ix run --task` per entry ->
//! collect -> aggregate -> summary); every `run:` block passes shellcheck and takes event data
//! only through `env:`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ix::yaml::{Node, NodeKind};

use crate::run::{OK_SCRIPT, Project, SCRIPT, entry};
use crate::util::project_root;

fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.kind {
        NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
        _ => None,
    }
}

fn load(name: &str) -> Node {
    let text = std::fs::read_to_string(project_root().join(".github/workflows").join(name)).expect("workflow");
    ix::yaml::parse(ix::source::FileId(0), &text).expect("valid YAML")
}

/// The `run:` text of the step with `id` in `job` of `workflow`.
fn step(workflow: &str, job: &str, id: &str) -> String {
    let root = load(workflow);
    let steps = get(&root, "jobs").and_then(|j| get(j, job)).and_then(|j| get(j, "steps")).expect("steps");
    let NodeKind::Seq(steps) = &steps.kind else { panic!("steps is a list") };
    steps
        .iter()
        .find(|s| get(s, "id").and_then(Node::as_str) == Some(id))
        .and_then(|s| get(s, "run"))
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("{workflow}: job {job} has no step {id}"))
        .to_string()
}

fn all_run_blocks() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(project_root().join(".github/workflows"))
        .expect("workflows")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().expect("name").to_string_lossy().into_owned();
        let root = load(&name);
        let Some(Node { kind: NodeKind::Map(jobs), .. }) = get(&root, "jobs") else { continue };
        for (job_name, job) in jobs {
            let Some(Node { kind: NodeKind::Seq(steps), .. }) = get(job, "steps") else { continue };
            for (idx, step) in steps.iter().enumerate() {
                if let Some(run) = get(step, "run").and_then(Node::as_str) {
                    blocks.push((format!("{name}: {}[{idx}]", job_name.as_str().unwrap_or("?")), run.to_string()));
                }
            }
        }
    }
    blocks
}

/// Runs a step's script with bash under `env`, in `dir`.
fn run_step(script: &str, dir: &Path, env: &BTreeMap<&str, String>) -> String {
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env_remove("CI")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "step failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn run_sweep_steps_run_locally_in_order() {
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 4");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let dir = project.path();
    let bin_dir = crate::util::ix_bin().parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut env: BTreeMap<&str, String> = BTreeMap::new();
    env.insert("PATH", path);
    env.insert("IX_CONFIG_FILES", "configs/master.yaml".into());
    env.insert("IX_RUNNER_CONFIG", "configs/runners.yaml".into());
    env.insert("IX_STATE", ".ix/state".into());
    env.insert("GITHUB_OUTPUT", dir.join("plan-output").display().to_string());
    env.insert("GITHUB_STEP_SUMMARY", dir.join("summary.md").display().to_string());

    run_step(&step("run-sweep.yml", "plan", "plan"), dir, &env);
    let output = std::fs::read_to_string(dir.join("plan-output")).expect("plan output");
    let matrix: serde_json::Value =
        serde_json::from_str(output.lines().find_map(|l| l.strip_prefix("matrix_0=")).expect("matrix_0"))
            .expect("json");
    let entries = matrix["include"].as_array().expect("include").clone();
    assert_eq!(entries.len(), 3);

    // Each matrix job: a fresh state, its artifact in its own folder (as download-artifact lays them out).
    let run_task = step("benchmark-tmpl.yml", "benchmark", "run-task");
    for (idx, item) in entries.iter().enumerate() {
        let task = item["task"].as_str().expect("task").to_string();
        let mut job_env = env.clone();
        job_env.insert("IX_STATE", format!(".ix/job-{idx}"));
        job_env.insert("ARTIFACT_DIR", format!("artifacts/task-{task}"));
        job_env.insert("TASK", task);
        run_step(&run_task, dir, &job_env);
    }
    let collected = run_step(&step("run-sweep.yml", "collect", "collect"), dir, &env);
    assert!(collected.contains("3 folded, 0 rejected"), "{collected}");
    run_step(&step("run-sweep.yml", "collect", "aggregate"), dir, &env);
    run_step(&step("run-sweep.yml", "collect", "summary"), dir, &env);
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary");
    // launch, 3 bench, 3 result, collect, summary, report.
    assert!(summary.contains("10 tasks finished, 0 not finished."), "{summary}");
    assert!(summary.contains("| done | `"), "{summary}");
    let report = std::fs::read_to_string(dir.join("report/report.html")).expect("report.html");
    assert!(report.contains("<svg"), "the report has charts");

    // `ix plan` agrees: everything is reused.
    let plan = crate::util::ix([
        "plan",
        "configs/master.yaml",
        "--runner-config",
        "configs/runners.yaml",
        "--state-dir",
        ".ix/state",
    ])
    .args_from(&["--format", "json"])
    .current_dir(dir)
    .run()
    .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    let tasks = doc["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 10);
    assert!(tasks.iter().all(|t| t["action"] == "reuse"), "{}", plan.stdout);

    // The next sweep (state restored) plans nothing.
    std::fs::write(dir.join("plan-output"), "").expect("reset");
    run_step(&step("run-sweep.yml", "plan", "plan"), dir, &env);
    let output = std::fs::read_to_string(dir.join("plan-output")).expect("plan output");
    assert!(output.starts_with("chunks=[]\ncount=0\n"), "{output}");

    // A new perf-changelog entry forces its config key's bench tasks to rerun.
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=ix", "-c", "user.email=ix@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(dir.join(".gitignore"), ".ix/\nartifacts/\n").expect("write");
    std::fs::write(dir.join("perf-changelog.yaml"), "# changelog\n").expect("write");
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let entry = "- config-keys:\n    - tiny-fp32-*\n  description:\n    - \"new sim\"\n  pr-link: https://e/pull/1\n";
    std::fs::write(dir.join("perf-changelog.yaml"), format!("# changelog\n{entry}")).expect("write");
    git(&["commit", "-q", "-am", "entry"]);
    std::fs::write(dir.join("plan-output"), "").expect("reset");
    let mut forced_env = env.clone();
    forced_env.insert("CHANGELOG_BASE", "HEAD~1".into());
    let stdout = run_step(&step("run-sweep.yml", "plan", "plan"), dir, &forced_env);
    assert!(stdout.contains("perf-changelog entry at line 2 forces tiny-fp32-local-sim"), "{stdout}");
    let output = std::fs::read_to_string(dir.join("plan-output")).expect("plan output");
    assert!(output.starts_with("chunks=[0]\ncount=3\n"), "{output}");
}

#[test]
fn run_blocks_take_event_data_only_through_env() {
    let offenders: Vec<String> =
        all_run_blocks().into_iter().filter(|(_, run)| run.contains("${{")).map(|(name, _)| name).collect();
    assert!(offenders.is_empty(), "expressions interpolated into run: scripts: {offenders:?}");
}

#[test]
fn run_blocks_pass_shellcheck() {
    let mut failures = Vec::new();
    for (name, run) in all_run_blocks() {
        let script = format!("#!/usr/bin/env bash\nset -euo pipefail\n{run}");
        let out = Command::new("shellcheck")
            .args(["-s", "bash", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(script.as_bytes())?;
                child.wait_with_output()
            })
            .expect("shellcheck (installed by ci/setup.sh)");
        if !out.status.success() {
            failures.push(format!("{name}:\n{}", String::from_utf8_lossy(&out.stdout)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fork_pull_requests_never_reach_self_hosted_runners() {
    let root = load("run-sweep.yml");
    let condition = get(&root, "jobs").and_then(|j| get(j, "plan")).and_then(|p| get(p, "if")).and_then(Node::as_str);
    let condition = condition.expect("plan has an if");
    assert!(condition.contains("github.event.pull_request.head.repo.full_name == github.repository"), "{condition}");
    let comment = load("pr-comment-sweep.yml");
    let jobs = get(&comment, "jobs").expect("jobs");
    let permission_check = step("pr-comment-sweep.yml", "parse", "args");
    assert!(!permission_check.is_empty());
    let text = std::fs::read_to_string(project_root().join(".github/workflows/pr-comment-sweep.yml")).expect("read");
    assert!(text.contains("collaborators/$ACTOR/permission") && text.contains("admin|maintain|write)"));
    assert!(get(jobs, "approve").and_then(|a| get(a, "environment")).is_some());
}
