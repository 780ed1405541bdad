//! `ix matrix`: every generator case of both InferenceX conformance suites (Feb 2026 and today's
//! HEAD), through the real binary.
//!
//! Job lists are compared as parsed JSON (object key order free, list order exact); error cases
//! by exit code and by the identifiers in `error-contains`. HEAD cases 28 and 29 pin HEAD's
//! rejection of Feb-format files, which `ix` reads by design; for them the test checks that `ix`
//! produces what the Feb rules produce (COMPAT.md lists both).

use std::path::Path;

use crate::util::{ix, reference_dir};

/// Runs one conformance case; returns a description of the mismatch, if any.
fn run_case(reference: &Path, case: &Path) -> Option<String> {
    let args = std::fs::read_to_string(case.join("args")).expect("args");
    let expected_code: i32 =
        std::fs::read_to_string(case.join("exit-code")).expect("exit-code").trim().parse().unwrap();
    let out = ix(["matrix"]).current_dir(reference);
    let out = args.split_whitespace().fold(out, |cmd, arg| cmd.arg(arg)).run();
    if out.code != expected_code {
        return Some(format!("exit code {} (expected {expected_code})\nstderr: {}", out.code, out.stderr));
    }
    if expected_code == 0 {
        if out.stdout.lines().count() != 1 {
            return Some("output is not exactly one line".to_string());
        }
        let got: serde_json::Value = match serde_json::from_str(&out.stdout) {
            Ok(value) => value,
            Err(err) => return Some(format!("stdout is not JSON: {err}")),
        };
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap()).unwrap();
        if got != expected {
            let (got, expected) = (got.as_array().unwrap(), expected.as_array().unwrap());
            let first = got.iter().zip(expected).position(|(a, b)| a != b);
            return Some(format!("{} jobs (expected {}), first difference at {first:?}", got.len(), expected.len()));
        }
    } else if let Ok(contains) = std::fs::read_to_string(case.join("error-contains")) {
        for needle in contains.lines().filter(|line| !line.is_empty()) {
            if !out.stderr.contains(needle) {
                return Some(format!("stderr lacks `{needle}`:\n{}", out.stderr));
            }
        }
    }
    None
}

#[test]
fn conformance_cases_match_the_reference_generator() {
    let Some(reference) = reference_dir() else { return };
    let mut cases: Vec<_> = std::fs::read_dir(reference.join("conformance"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("args").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 52, "expected the 52 generator cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run_case(&reference, case).map(|why| format!("{}: {why}", case.display())))
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// HEAD cases that `ix` answers differently by design, each checked by its own test below.
const HEAD_CASES_ACCEPTED_BY_DESIGN: [&str; 2] = ["28-err-feb-format-master", "29-err-feb-format-runners"];

#[test]
fn head_conformance_cases_match_todays_generator() {
    let Some(reference) = reference_dir() else { return };
    let head = reference.join("head");
    let mut cases: Vec<_> = std::fs::read_dir(head.join("conformance"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("args").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 52, "expected the 52 HEAD generator cases");
    let failures: Vec<String> = cases
        .iter()
        .filter(|case| !HEAD_CASES_ACCEPTED_BY_DESIGN.iter().any(|name| case.ends_with(name)))
        .filter_map(|case| run_case(&head, case).map(|why| format!("{}: {why}", case.display())))
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// HEAD case 28: a Feb-2026 master file is read with the Feb rules (HEAD itself rejects it), so
/// its jobs equal the Feb generator's for the same file.
#[test]
fn feb_master_with_todays_runners_gives_the_feb_jobs() {
    let Some(reference) = reference_dir() else { return };
    let out = ix(["matrix", "full-sweep", "--single-node"])
        .args_from(&["--config-files", "../configs/nvidia-master.yaml", "../configs/amd-master.yaml"])
        .args_from(&["--runner-config", "configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(0);
    let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let feb_case = reference.join("conformance/01-fs-single-all/expected.json");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(feb_case).unwrap()).unwrap();
    assert_eq!(got.as_array().map(Vec::len), expected.as_array().map(Vec::len));
    assert!(got == expected, "Feb jobs differ from the Feb generator's");
}

/// HEAD case 29: a Feb-2026 runners file is today's `labels:` without `hardware:`, so today's
/// masters expand until an agentic entry needs DRAM offload sizing, which then fails naming
/// the missing hardware entry (HEAD rejects the file itself).
#[test]
fn feb_runners_with_todays_masters_lack_hardware_for_offload_sizing() {
    let Some(reference) = reference_dir() else { return };
    let out = ix(["matrix", "full-sweep", "--single-node", "--config-files", "configs/amd-master.yaml"])
        .args_from(&["--runner-config", "../configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("available-cpu-dram-mib"), "{}", out.stderr);
    assert!(out.stderr.contains("ix::matrix::missing-runner-hardware"), "{}", out.stderr);
    let fixed = ix(["matrix", "full-sweep", "--single-node", "--scenario-type", "fixed-seq-len"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "../configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(0);
    let with_head_runners = ix(["matrix", "full-sweep", "--single-node", "--scenario-type", "fixed-seq-len"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(0);
    assert_eq!(fixed.stdout, with_head_runners.stdout);
    assert_ne!(fixed.stdout, "[]\n");
}

#[test]
fn a_run_mixing_formats_is_an_error_naming_the_entry() {
    let Some(reference) = reference_dir() else { return };
    let out = ix(["matrix", "full-sweep", "--single-node"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "../configs/amd-master.yaml"])
        .args_from(&["--runner-config", "configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("ix::config::mixed-formats"), "{}", out.stderr);
    assert!(out.stderr.contains("../configs/amd-master.yaml"), "{}", out.stderr);
}

#[test]
fn feb_only_flags_are_usage_errors_on_todays_configs_and_back() {
    let Some(reference) = reference_dir() else { return };
    let head_flag_on_feb = ix(["matrix", "full-sweep", "--single-node", "--no-evals"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(2);
    assert!(head_flag_on_feb.stderr.contains("--no-evals"), "{}", head_flag_on_feb.stderr);
    let both_kinds = ix(["matrix", "full-sweep", "--single-node", "--multi-node", "--no-evals"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(0);
    let neither = ix(["matrix", "full-sweep", "--no-evals"])
        .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference.join("head"))
        .run()
        .expect_code(0);
    assert_eq!(both_kinds.stdout, neither.stdout);
}

#[test]
fn empty_result_is_exactly_brackets() {
    let Some(reference) = reference_dir() else { return };
    let out = ix(["matrix", "full-sweep", "--single-node", "--runner-type", "gb200"])
        .args_from(&["--config-files", "configs/nvidia-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(0);
    assert_eq!(out.stdout, "[]\n");
}

#[test]
fn output_uses_python_separators_on_one_line() {
    let Some(reference) = reference_dir() else { return };
    let out = ix(["matrix", "test-config", "--config-keys", "gptoss-fp4-h100-vllm", "--conc", "4"])
        .args_from(&["--config-files", "configs/nvidia-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(0);
    assert!(out.stdout.starts_with("[{\"image\": \""), "{}", out.stdout);
    assert!(out.stdout.contains("\", \"model\": \""));
}

#[test]
fn option_prefixes_are_accepted_and_ambiguous_ones_rejected() {
    let Some(reference) = reference_dir() else { return };
    let long = ix(["matrix", "full-sweep", "--single-node", "--model-prefix", "gptoss", "--max-conc", "8"])
        .args_from(&["--config-files", "configs/nvidia-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(0);
    let short = ix(["matrix", "full-sweep", "--single", "--model", "gptoss", "--max-c", "8"])
        .args_from(&["--config-files", "configs/nvidia-master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(0);
    assert_eq!(long.stdout, short.stdout);
    assert_ne!(long.stdout, "[]\n");
    let ambiguous = ix(["matrix", "full-sweep", "--single-node", "--runner", "h100"])
        .args_from(&["--config-files", "configs/nvidia-master.yaml"])
        .current_dir(&reference)
        .run()
        .expect_code(2);
    assert!(ambiguous.stdout.is_empty(), "{}", ambiguous.stdout);
}

#[test]
fn degenerate_step_size_is_an_error_not_an_endless_loop() {
    let Some(reference) = reference_dir() else { return };
    for step in ["1", "0", "-2"] {
        let out = ix(["matrix", "full-sweep", "--single-node", "--step-size", step])
            .args_from(&["--config-files", "configs/amd-master.yaml", "--runner-config", "configs/runners.yaml"])
            .current_dir(&reference)
            .run();
        assert_ne!(out.code, 0, "step {step} accepted");
        assert!(out.stderr.contains("ix::matrix::invalid-step-size"), "{}", out.stderr);
    }
}

/// `ix matrix` writes each job's text straight from its fields; it must equal the JSON value
/// other commands build (`Job::to_json`) written by `write_python_json`, byte for byte and key
/// order included (the conformance cases above compare parsed JSON, where order is free). Every
/// job of both HEAD masters (fixed and agentic, single and multi-node, routers, offload
/// backends, eval marks of each flag) and of both Feb masters, in both key orders.
#[test]
fn job_text_is_the_json_value_written_in_its_key_order() {
    use ix::expand::{self, FullSweep, HeadEvals, KeyOrder, NodeMode};
    let Some(reference) = reference_dir() else { return };
    let path = |rel: &str| reference.join(rel).to_string_lossy().into_owned();
    let mut keys_seen = std::collections::BTreeSet::new();
    for dir in ["head/configs", "configs"] {
        let configs = [path(&format!("{dir}/nvidia-master.yaml")), path(&format!("{dir}/amd-master.yaml"))];
        let loaded = ix::workspace::load(&configs, Some(&path(&format!("{dir}/runners.yaml"))));
        assert!(!loaded.has_errors(), "{dir}: {:?}", loaded.diags);
        let runners = loaded.runners.as_ref().expect("runners");
        for (evals_only, all_evals) in [(false, false), (true, false), (false, true)] {
            // The Feb generator expands one node kind per run.
            let modes: &[NodeMode] =
                if dir.starts_with("head") { &[NodeMode::Both] } else { &[NodeMode::Single, NodeMode::Multi] };
            let mut jobs = Vec::new();
            for &mode in modes {
                jobs.extend(expand::full_sweep(&loaded.sweep, runners, &FullSweep::new(mode)).unwrap());
            }
            if dir.starts_with("head") {
                expand::mark_evals_head(&mut jobs, HeadEvals { evals_only, all_evals });
            }
            assert!(jobs.len() > 400, "{dir}: {} jobs", jobs.len());
            for job in &jobs {
                for order in [KeyOrder::Sweep, KeyOrder::RunnerModel] {
                    let value = job.to_json(order);
                    let mut text = String::new();
                    job.write_json(order, &mut text);
                    assert_eq!(text, expand::to_python_json(&value), "{dir}: {}", job.exp_name);
                    keys_seen.extend(value.as_object().unwrap().keys().cloned());
                }
            }
        }
    }
    for key in ["router", "kv-offload-backend", "prefill", "eval-conc", "eval-only", "eval-all-concs", "duration"] {
        assert!(keys_seen.contains(key), "no job has `{key}`");
    }
}
