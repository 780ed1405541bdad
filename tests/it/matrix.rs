//! `ix matrix`: every generator case of the InferenceX conformance suite, through the real binary.
//!
//! Job lists are compared as parsed JSON (object key order free, list order exact); error cases
//! by exit code and by the identifiers in `error-contains`.

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
