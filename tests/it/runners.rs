//! One rule for the runner table on every verb (`workspace::runner_config`): the
//! `--runner-config` given, plus the runner types `.ix` sweeps declare inline or reference with
//! `runners "…"` (the file given wins for a name both define); with no `--runner-config`, a
//! sweep that declares its runner types needs no other file.

use std::path::Path;

use crate::util::{ix, project_root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A project with the repository's sweeps, scripts and launchers, and no runners file at its
/// root, `configs/` or `.github/configs/`: only the sweeps say where their runners are.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["sweeps", "benchmarks", "runners"] {
        copy_dir(&project_root().join(sub), &dir.path().join(sub));
    }
    std::fs::remove_file(dir.path().join("runners/runners.yaml")).ok();
    dir
}

#[test]
fn check_reads_the_runners_file_a_sweep_references() {
    let dir = project();
    let out = ix(["check", "sweeps/nvidia.ix"]).current_dir(dir.path()).run().expect_code(0);
    assert!(out.stderr.contains("no errors"), "{}", out.stderr);
    // A sweep naming a runner type its runners file lacks is an error at the same table.
    let text = std::fs::read_to_string(dir.path().join("sweeps/nvidia.ix")).unwrap();
    std::fs::write(dir.path().join("sweeps/nvidia.ix"), text.replacen("runner h200", "runner h300", 1)).unwrap();
    let out = ix(["check", "sweeps/nvidia.ix"]).current_dir(dir.path()).run().expect_code(1);
    assert!(out.stderr.contains("h300"), "{}", out.stderr);
}

#[test]
fn plan_uses_the_runners_file_a_sweep_references() {
    let dir = project();
    let out = ix(["plan", "sweeps/nvidia.ix", "--state-dir", ".ix", "--format", "json"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(!out.stderr.contains("has no nodes"), "{}", out.stderr);
    for node in ["h200-lab_0", "b200-lab_0", "gb200-rack_0"] {
        assert!(out.stdout.contains(node), "{node} in:\n{}", out.stdout);
    }
    // Inline runner types need no file either.
    let out = ix(["plan", "sweeps/demo.ix", "--state-dir", ".ix"]).current_dir(dir.path()).run().expect_code(0);
    assert!(out.stdout.contains("local_0"), "{}", out.stdout);
}

#[test]
fn a_given_runners_file_wins_for_the_names_it_defines() {
    let dir = project();
    // `h200` now runs on a B200 node; `b200` and `gb200` still come from the sweep's file.
    std::fs::write(dir.path().join("other-runners.yaml"), "h200:\n- 'b200-lab_1'\n").unwrap();
    let out = ix(["plan", "sweeps/nvidia.ix", "--runner-config", "other-runners.yaml", "--state-dir", ".ix"])
        .args_from(&["--format", "json"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(!out.stdout.contains("h200-lab_0"), "{}", out.stdout);
    assert!(out.stdout.contains("llama70b-fp8-h200-vllm/1k1k/tp8-ep1-dpa0-none/c4/b200-lab_1"), "{}", out.stdout);
    assert!(out.stdout.contains("gb200-rack_0"), "{}", out.stdout);
}

#[test]
fn run_plans_with_the_runners_file_a_sweep_references() {
    let dir = project();
    let out =
        ix(["run", "sweeps/nvidia.ix", "--dry-run", "--state-dir", ".ix"]).current_dir(dir.path()).run().expect_code(0);
    assert!(out.stdout.contains("h200-lab_0"), "{}{}", out.stdout, out.stderr);
    assert!(!dir.path().join(".ix").join("records").exists(), "a dry run records nothing");
}

#[test]
fn matrix_joins_a_sweeps_inline_and_referenced_runner_types() {
    let dir = project();
    let out = ix(["matrix", "full-sweep", "--config-files", "sweeps/demo.ix", "--single-node"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(out.stdout.contains("\"runner\": \"local\""), "{}{}", out.stdout, out.stderr);
    let out = ix(["matrix", "full-sweep", "--config-files", "sweeps/nvidia.ix", "--single-node"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(out.stdout.contains("\"runner\": \"h200\""), "{}{}", out.stdout, out.stderr);
    // The nodes come from the table: a runner-node filter that matches none of them leaves no job.
    let out = ix(["matrix", "full-sweep", "--config-files", "sweeps/nvidia.ix", "--single-node"])
        .args_from(&["--runner-node-filter", "h200-lab_1"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("h200-lab_1"), "{}{}", out.stdout, out.stderr);
}

#[test]
fn collect_artifacts_plans_with_the_runners_file_a_sweep_references() {
    let dir = project();
    std::fs::create_dir(dir.path().join("artifacts")).unwrap();
    let out = ix(["collect-artifacts", "artifacts", "--config-files", "sweeps/nvidia.ix", "--state-dir", ".ix"])
        .current_dir(dir.path())
        .run()
        .expect_code(0);
    assert!(out.stdout.contains("0 folded"), "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_lowered_sweep_plans_with_the_runners_file_it_references() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&project_root().join("tests/data/plan/small"), dir.path());
    let out = ix(["lower", "sweep.yaml", "--runners", "runners.yaml"]).current_dir(dir.path()).run().expect_code(0);
    assert!(out.stdout.contains("runners \"runners.yaml\""), "{}", out.stdout);
    std::fs::create_dir(dir.path().join("sweeps")).unwrap();
    // Beside the runners file it names, and in a folder of its own (the path is relative to it).
    std::fs::write(dir.path().join("lowered.ix"), &out.stdout).unwrap();
    std::fs::write(dir.path().join("sweeps/lowered.ix"), out.stdout.replace("\"runners.yaml\"", "\"../runners.yaml\""))
        .unwrap();
    std::fs::rename(dir.path().join("runners.yaml"), dir.path().join("runners-of-the-sweep.yaml")).unwrap();
    for sweep in ["lowered.ix", "sweeps/lowered.ix"] {
        let text = std::fs::read_to_string(dir.path().join(sweep)).unwrap();
        std::fs::write(dir.path().join(sweep), text.replace("runners.yaml\"", "runners-of-the-sweep.yaml\"")).unwrap();
        let out = ix(["plan", sweep, "--state-dir", ".ix"]).current_dir(dir.path()).run().expect_code(0);
        assert!(out.stdout.contains("h100-cr_0") && out.stdout.contains("b200-nv_0"), "{sweep}: {}", out.stdout);
    }
}
