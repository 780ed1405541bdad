//! `ix changelog`: the 14 perf-changelog conformance cases, each replayed in a real temporary
//! git repository (base and head commits tagged `base` and `head`), plus `check` diagnostics.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{ix, reference_dir};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=ix", "-c", "user.email=ix@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
}

/// A repository with the reference master configs and the two changelog revisions.
fn replay_repo(reference: &Path, base: &[u8], head: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let configs = dir.path().join(".github/configs");
    std::fs::create_dir_all(&configs).expect("mkdir");
    for name in ["amd-master.yaml", "nvidia-master.yaml", "runners.yaml"] {
        std::fs::copy(reference.join("configs").join(name), configs.join(name)).expect("copy config");
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("perf-changelog.yaml"), base).expect("write base");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    git(dir.path(), &["tag", "base"]);
    std::fs::write(dir.path().join("perf-changelog.yaml"), head).expect("write head");
    git(dir.path(), &["commit", "-q", "--allow-empty", "-am", "head"]);
    git(dir.path(), &["tag", "head"]);
    dir
}

/// Buckets compared as multisets: each list sorted by its elements' canonical JSON.
fn normalize(mut value: Value) -> Value {
    for side in ["single_node", "multi_node"] {
        if let Some(Value::Object(buckets)) = value.get_mut(side) {
            for list in buckets.values_mut() {
                if let Value::Array(items) = list {
                    items.sort_by_key(canonical);
                }
            }
        }
    }
    value
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k:?}:{}", canonical(&map[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[test]
fn changelog_conformance_cases() {
    let Some(reference) = reference_dir() else { return };
    let cases_dir = reference.join("conformance/changelog");
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir).expect("cases").flatten().map(|e| e.path()).collect();
    cases.sort();
    assert_eq!(cases.len(), 14);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("name").to_string_lossy().into_owned();
        let read = |file: &str| std::fs::read(case.join(file)).expect(file);
        let repo = replay_repo(&reference, &read("base.yaml"), &read("head.yaml"));
        let out = ix(["changelog", "jobs", "--base-ref", "base", "--head-ref", "head"])
            .args_from(&["--changelog-file", "perf-changelog.yaml"])
            .current_dir(repo.path())
            .run();
        let expected_code: i32 = String::from_utf8_lossy(&read("exit-code")).trim().parse().expect("exit code");
        if out.code != expected_code {
            failures
                .push(format!("{name}: exit {} (expected {expected_code})\n{}{}", out.code, out.stdout, out.stderr));
            continue;
        }
        if expected_code == 0 {
            assert_eq!(out.stdout.lines().count(), 1, "{name}: one line of JSON");
            let actual: Value = serde_json::from_str(&out.stdout).expect("json");
            let expected: Value = serde_json::from_slice(&read("expected.json")).expect("expected json");
            if normalize(actual) != normalize(expected) {
                failures.push(format!("{name}: output differs"));
            }
        } else if let Ok(needles) = std::fs::read_to_string(case.join("error-contains")) {
            let all = format!("{}{}", out.stdout, out.stderr);
            for needle in needles.lines().filter(|l| !l.is_empty()) {
                if !all.contains(needle) {
                    failures.push(format!("{name}: error lacks `{needle}`:\n{all}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_points_at_the_offending_line_of_the_head_file() {
    let Some(reference) = reference_dir() else { return };
    let base =
        b"- config-keys:\n    - dsr1-fp8-b200-sglang\n  description:\n    - \"x\"\n  pr-link: https://e/pull/1\n";
    let head =
        [&base[..], b"\n- config-keys:\n    - no-such-key\n  description:\n    - \"y\"\n  pr-link: https://e/pull/2\n"]
            .concat();
    let repo = replay_repo(&reference, base, &head);
    let out =
        ix(["changelog", "check", "--base", "base", "--head", "head"]).current_dir(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("ix::changelog::unknown-key"), "{}", out.stderr);
    assert!(out.stderr.contains("perf-changelog.yaml:8:"), "{}", out.stderr);
}

#[test]
fn check_diffs_against_the_merge_base() {
    let Some(reference) = reference_dir() else { return };
    let entry = |key: &str, pr: u32| {
        format!("- config-keys:\n    - {key}\n  description:\n    - \"d\"\n  pr-link: https://e/pull/{pr}\n\n")
    };
    let base = entry("dsr1-fp8-b200-sglang", 1);
    let repo =
        replay_repo(&reference, base.as_bytes(), format!("{base}{}", entry("dsr1-fp8-b200-sglang", 2)).as_bytes());
    // main moves on with another entry after the branch (tag `head`) forked from `base`.
    git(repo.path(), &["checkout", "-q", "-b", "newer", "base"]);
    std::fs::write(repo.path().join("perf-changelog.yaml"), format!("{base}{}", entry("dsr1-fp8-b200-sglang", 3)))
        .expect("write");
    git(repo.path(), &["commit", "-q", "-am", "main moves on"]);
    let ok = ix(["changelog", "check", "--base", "newer", "--head", "head"]).current_dir(repo.path()).run();
    let ok = ok.expect_code(0);
    assert_eq!(ok.stdout, "ok: 1 changelog entry added\n");
    // The reference's base-tip diff sees main's newer entry as a deletion.
    let tip = ix(["changelog", "jobs", "--base-ref", "newer", "--head-ref", "head", "--base-tip"])
        .current_dir(repo.path())
        .run()
        .expect_code(1);
    assert!(tip.stderr.contains("pull/3"), "{}", tip.stderr);
}

#[test]
fn check_rejects_a_missing_final_newline() {
    let Some(reference) = reference_dir() else { return };
    let base =
        b"- config-keys:\n    - dsr1-fp8-b200-sglang\n  description:\n    - \"x\"\n  pr-link: https://e/pull/1\n";
    let head =
        [&base[..], b"- config-keys:\n    - dsr1*\n  description:\n    - \"y\"\n  pr-link: https://e/pull/2"].concat();
    let repo = replay_repo(&reference, base, &head);
    let out =
        ix(["changelog", "check", "--base", "base", "--head", "head"]).current_dir(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("ix::changelog::missing-final-newline"), "{}", out.stderr);
}

#[test]
fn keys_lists_forced_config_keys_with_their_entry_line() {
    let Some(reference) = reference_dir() else { return };
    let base =
        b"- config-keys:\n    - dsr1-fp8-b200-sglang\n  description:\n    - \"x\"\n  pr-link: https://e/pull/1\n";
    let head = [
        &base[..],
        b"\n- config-keys:\n    - gptoss-fp4-b200-*\n  description:\n    - \"y\"\n  pr-link: https://e/pull/2\n",
    ]
    .concat();
    let repo = replay_repo(&reference, base, &head);
    let out =
        ix(["changelog", "keys", "--base", "base", "--head", "head"]).current_dir(repo.path()).run().expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.starts_with("gptoss-fp4-b200-") && l.ends_with("\t7")), "{}", out.stdout);
}

#[test]
fn check_warns_about_reruns_no_new_entry_covers() {
    use crate::run::{OK_SCRIPT, Project, entry};
    let master = format!(
        "{}{}",
        entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 1"),
        entry("tiny-fp32-local-simx", "simx", "img", "conc-start: 1, conc-end: 1")
    );
    let project = Project::new(&master, &[("tiny_fp32_local.sh", OK_SCRIPT)]);
    let launcher =
        std::fs::read_to_string(crate::util::project_root().join("runners/launch_local.sh")).expect("launcher");
    project.write("runners/launch_local.sh", &launcher);
    project.write(".gitignore", ".ix/\n");
    project.write("perf-changelog.yaml", "# changelog\n");
    let dir = project.path();
    let _ = ix(["run", "--engine", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--state", ".ix"])
        .current_dir(dir)
        .run()
        .expect_code(0);
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["tag", "base"]);
    // The script changes both keys' numbers; the new entry explains only one of them.
    project.write("benchmarks/tiny_fp32_local.sh", &format!("{OK_SCRIPT}# faster\n"));
    project.write(
        "perf-changelog.yaml",
        "# changelog\n- config-keys:\n    - tiny-fp32-local-sim\n  description:\n    - \"faster\"\n  pr-link: https://e/pull/3\n",
    );
    git(dir, &["commit", "-q", "-am", "head"]);
    let out = ix(["changelog", "check", "--base", "base", "--config-files", "configs/master.yaml"])
        .args_from(&["--runner-config", "configs/runners.yaml", "--warn-uncovered", ".ix"])
        .current_dir(dir)
        .run()
        .expect_code(0);
    assert!(out.stderr.contains("no new perf-changelog entry covers `tiny-fp32-local-simx`"), "{}", out.stderr);
    assert!(out.stderr.contains("script changed: benchmarks/tiny_fp32_local.sh"), "{}", out.stderr);
    assert!(!out.stderr.contains("covers `tiny-fp32-local-sim`"), "{}", out.stderr);
}

/// A repository in today's layout (`configs/`): the HEAD master configs and runners, replaced
/// per revision by a case's `configs-base/` / `configs-head/` files where it has them.
fn replay_head_repo(reference: &Path, case: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let configs = dir.path().join("configs");
    std::fs::create_dir_all(&configs).expect("mkdir");
    let write_side = |side: &str| {
        for name in ["amd-master.yaml", "nvidia-master.yaml", "runners.yaml"] {
            let special = case.join(format!("configs-{side}")).join(name);
            let source = if special.is_file() { special } else { reference.join("head/configs").join(name) };
            std::fs::copy(source, configs.join(name)).expect("copy config");
        }
        std::fs::copy(case.join(format!("{side}.yaml")), dir.path().join("perf-changelog.yaml")).expect("changelog");
    };
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write_side("base");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    git(dir.path(), &["tag", "base"]);
    write_side("head");
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "head"]);
    git(dir.path(), &["tag", "head"]);
    dir
}

#[test]
fn head_changelog_conformance_cases() {
    let Some(reference) = reference_dir() else { return };
    let cases_dir = reference.join("head/conformance/changelog");
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir).expect("cases").flatten().map(|e| e.path()).collect();
    cases.sort();
    assert_eq!(cases.len(), 8);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("name").to_string_lossy().into_owned();
        let repo = replay_head_repo(&reference, case);
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let extra: Vec<&str> = extra.split_whitespace().collect();
        let out = ix(["changelog", "jobs", "--base-ref", "base", "--head-ref", "head"])
            .args_from(&["--changelog-file", "perf-changelog.yaml"])
            .args_from(&extra)
            .current_dir(repo.path())
            .run();
        let expected_code: i32 =
            std::fs::read_to_string(case.join("exit-code")).expect("exit code").trim().parse().expect("exit code");
        if out.code != expected_code {
            failures
                .push(format!("{name}: exit {} (expected {expected_code})\n{}{}", out.code, out.stdout, out.stderr));
            continue;
        }
        if expected_code == 0 {
            assert_eq!(out.stdout.lines().count(), 1, "{name}: one line of JSON");
            let actual: Value = serde_json::from_str(&out.stdout).expect("json");
            let expected: Value =
                serde_json::from_slice(&std::fs::read(case.join("expected.json")).unwrap()).expect("expected json");
            if actual != expected {
                failures.push(format!("{name}: output differs\n got: {actual}\nwant: {expected}"));
            }
        } else if let Ok(needles) = std::fs::read_to_string(case.join("error-contains")) {
            let all = format!("{}{}", out.stdout, out.stderr);
            for needle in needles.lines().filter(|l| !l.is_empty()) {
                if !all.contains(needle) {
                    failures.push(format!("{name}: error lacks `{needle}`:\n{all}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// An `append-only` entry forces no rerun of its config: the points it adds are new tasks by
/// content hashing, and the published ones stay reused; a regular entry forces its key.
#[test]
fn append_only_entries_force_nothing() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("head/conformance/changelog/07-append-only-new-points");
    let repo = replay_head_repo(&reference, &case);
    let out =
        ix(["changelog", "keys", "--base", "base", "--head", "head"]).current_dir(repo.path()).run().expect_code(0);
    assert_eq!(out.stdout, "", "append-only keys must not be forced");
    let regular = reference.join("head/conformance/changelog/02-wildcard-single-and-multi-node");
    let repo = replay_head_repo(&reference, &regular);
    let out =
        ix(["changelog", "keys", "--base", "base", "--head", "head"]).current_dir(repo.path()).run().expect_code(0);
    assert!(out.stdout.contains("dsr1-fp4-b200-sglang\t"), "{}", out.stdout);
}

/// Expansion errors of `ix changelog jobs` (here DRAM offload sizing on a runner label without
/// a `hardware:` entry) are diagnostics naming the config, never a crash.
#[test]
fn changelog_expansion_errors_are_diagnostics() {
    let Some(reference) = reference_dir() else { return };
    let case = reference.join("head/conformance/changelog/01-real-last-two-entries");
    let repo = replay_head_repo(&reference, &case);
    let runners = std::fs::read_to_string(repo.path().join("configs/runners.yaml")).unwrap();
    let cut = runners.find("\nhardware:").unwrap();
    std::fs::write(repo.path().join("configs/runners.yaml"), &runners[..cut + 1]).unwrap();
    let out = ix(["changelog", "jobs", "--base-ref", "base", "--head-ref", "head"]).current_dir(repo.path()).run();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ix::matrix::missing-runner-hardware"), "{}", out.stderr);
    assert!(out.stderr.contains("minimaxm3-fp4-b300-trtllm-agentic-mtp"), "{}", out.stderr);
}
