//! `ix check`: golden diagnostics for every validation condition of the YAML front end.
//!
//! Each entry of `tests/data/config/err` is a case: a file (`*.runners.yaml` files are checked as
//! runners configs) or a folder whose files are checked together, in name order. The rendered
//! diagnostics (fixed width, no colour) are compared with the insta snapshot `<case>.snap`; a
//! missing or changed snapshot fails (`cargo insta review`).

use std::path::{Path, PathBuf};

use crate::util::{IxOutput, ix, project_root};

fn data_dir(kind: &str) -> PathBuf {
    project_root().join("tests/data/config").join(kind)
}

fn case_args(dir: &Path, case: &Path) -> Vec<String> {
    let relative = |path: &Path| path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
    let files: Vec<PathBuf> = if case.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(case).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    } else {
        vec![case.to_path_buf()]
    };
    let mut args = Vec::new();
    for file in files {
        if file.to_string_lossy().ends_with(".runners.yaml") {
            args.push("--runner-config".to_string());
        }
        args.push(relative(&file));
    }
    args
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    cases.sort();
    cases
}

fn check(dir: &Path, args: &[String]) -> IxOutput {
    args.iter().fold(ix(["check"]), |cmd, arg| cmd.arg(arg)).current_dir(dir).run()
}

#[test]
fn invalid_configs_render_golden_diagnostics() {
    let dir = data_dir("err");
    for case in cases(&dir) {
        let out = check(&dir, &case_args(&dir, &case)).expect_code(1);
        // An insta snapshot beside the case (`<case>.snap`): a missing or changed one fails and
        // writes `<case>.snap.new` (`cargo insta review` to accept).
        let name = case.with_extension("").file_name().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ snapshot_path => dir.clone(), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, out.stderr);
        });
    }
}

#[test]
fn every_validation_code_has_a_golden_case() {
    let dir = data_dir("err");
    let mut all = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "snap") {
            all.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    for code in [
        "ix::yaml::syntax",
        "ix::config::not-a-mapping",
        "ix::config::wildcard-key",
        "ix::config::duplicate-key",
        "ix::config::duplicate-config-key",
        "ix::config::unknown-field",
        "ix::config::missing-field",
        "ix::config::invalid-type",
        "ix::config::misplaced-field",
        "ix::config::invalid-spec-decoding",
        "ix::config::conc-both-forms",
        "ix::config::conc-missing",
        "ix::config::conc-range-reversed",
        "ix::config::nonpositive-concurrency",
        "ix::config::nonpositive-value",
        "ix::runners::not-a-list",
        "ix::runners::empty-list",
        "ix::runners::invalid-node",
        "ix::runners::duplicate-runner-type",
        "ix::runners::invalid-node-name",
        "ix::config::forbidden-setting",
        "ix::config::invalid-file-name",
        "ix::config::no-scenarios",
        "ix::config::mixed-formats",
        "ix::config::single-node-disagg",
        "ix::config::p2p-on-single-node",
        "ix::config::invalid-parallel-size",
        "ix::config::tp-not-divisible-by-dcp",
        "ix::config::hardware-on-one-worker",
        "ix::config::both-scopes",
        "ix::config::disagg-without-p2p",
        "ix::config::version-is-image",
        "ix::config::empty-string",
        "ix::config::agentic-runner-not-cluster",
        "ix::config::dram-utilization-missing",
        "ix::config::dram-utilization-range",
        "ix::config::offload-backend-pairing",
        "ix::config::invalid-kv-offloading",
        "ix::config::agentic-shape",
        "ix::config::agentic-shape-mismatch",
        "ix::runners::unknown-section",
        "ix::runners::invalid-hardware",
    ] {
        assert!(all.contains(code), "no golden case renders `{code}`");
    }
}

#[test]
fn valid_configs_have_no_diagnostics() {
    let dir = data_dir("ok");
    for case in cases(&dir) {
        let out = check(&dir, &case_args(&dir, &case)).expect_code(0);
        assert!(out.stderr.contains("no errors"), "{}", out.stderr);
    }
}

#[test]
fn missing_files_are_reported_with_their_path() {
    let out = ix(["check", "no/such/file.yaml"]).current_dir(&data_dir("ok")).run().expect_code(1);
    assert!(out.stderr.contains("ix::config::file-missing"), "{}", out.stderr);
    assert!(out.stderr.contains("no/such/file.yaml"), "{}", out.stderr);
}

#[test]
fn json_format_carries_positions_codes_and_help() {
    let dir = data_dir("err");
    let out = ix(["check", "--format", "json", "unknown-field.yaml"]).current_dir(&dir).run().expect_code(1);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let diags = diags.as_array().unwrap();
    assert_eq!(diags.len(), 4, "{}", out.stdout);
    let typo = diags.iter().find(|d| d["message"].as_str().unwrap().contains("conc-ned")).unwrap();
    assert_eq!(typo["code"], "ix::config::unknown-field");
    assert_eq!(typo["severity"], "error");
    assert_eq!(typo["path"], "unknown-field.yaml");
    assert_eq!(typo["start"]["line"], 15);
    assert_eq!(typo["help"], "did you mean `conc-end`?");
    let text = std::fs::read_to_string(dir.join("unknown-field.yaml")).unwrap();
    let range = &typo["byte_range"];
    let (start, end) = (range[0].as_u64().unwrap() as usize, range[1].as_u64().unwrap() as usize);
    assert_eq!(&text[start..end], "conc-ned");
}

/// INFERENCEX-HEAD §0: of today's master configs and the 14 archived files, exactly the three
/// archives that lack `kv-p2p-transfer` on a `disagg: true` entry fail, each naming its entries.
#[test]
fn todays_configs_and_archive_validate_as_in_inferencex() {
    let Some(reference) = crate::util::reference_dir() else { return };
    let head = reference.join("head");
    let mut files = vec!["configs/nvidia-master.yaml".to_string(), "configs/amd-master.yaml".to_string()];
    let mut archived: Vec<String> = std::fs::read_dir(head.join("configs/deprecated"))
        .unwrap()
        .map(|e| format!("configs/deprecated/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    archived.sort();
    assert_eq!(archived.len(), 14);
    files.extend(archived);
    let failing =
        ["nvidia-gptoss-master.yaml", "nvidia-minimaxm2.5-m2.7-master.yaml", "amd-minimaxm2.5-m2.7-master.yaml"];
    for file in &files {
        let out = ix(["check", file.as_str()]).current_dir(&head).run();
        if failing.iter().any(|name| file.ends_with(name)) {
            assert_eq!(out.code, 1, "{file} should fail: {}", out.stderr);
            assert!(out.stderr.contains("ix::config::disagg-without-p2p"), "{file}: {}", out.stderr);
        } else {
            assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        }
    }
    let runners = ix(["check", "configs/runners.yaml"]).current_dir(&head).run().expect_code(0);
    assert!(runners.stderr.contains("no errors"), "{}", runners.stderr);
}

#[test]
fn real_vendor_configs_are_valid() {
    let Some(reference) = crate::util::reference_dir() else { return };
    let out = ix(["check", "configs/nvidia-master.yaml", "configs/amd-master.yaml", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(0);
    assert!(out.stderr.contains("checked 3 file(s): no errors"), "{}", out.stderr);
}
