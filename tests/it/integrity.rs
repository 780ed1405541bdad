//! Issue #17, item 2 (silent data loss): a reused record whose artifact blob is missing or does
//! not match its address is not done. `ix plan` says why and reruns it, `ix run` repairs the
//! store, `ix state verify` names the records, and `ix report` / `ix results summary` fail on
//! malformed record files instead of dropping their rows.

use std::path::{Path, PathBuf};

use crate::run::{OK_SCRIPT, Project, SCRIPT, entry, summary_line};
use crate::util::ix;

/// The CAS path of the first artifact of the record of the first task whose id starts with
/// `prefix`, read from the store's record files (a checksum line, then the JSON body).
fn blob_of(store: &Path, prefix: &str) -> PathBuf {
    for entry in std::fs::read_dir(store.join("tasks")).expect("tasks") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("record");
        let (_, body) = text.split_once('\n').expect("checksum line");
        let record: serde_json::Value = serde_json::from_str(body).expect("record json");
        if record["id"].as_str().is_some_and(|id| id.starts_with(prefix)) {
            let digest = record["artifacts"][0]["blake3"].as_str().expect("an artifact");
            return store.join("cas").join(digest);
        }
    }
    panic!("no record of a `{prefix}` task in {}", store.display())
}

fn plan(project: &Project, extra: &[&str]) -> crate::util::IxOutput {
    ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(extra)
        .current_dir(project.path())
        .run()
}

fn verify(project: &Project) -> crate::util::IxOutput {
    ix(["state", "verify", "--state-dir", ".ix"]).current_dir(project.path()).run()
}

fn project() -> Project {
    let project = Project::new(&entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1]"), &[(SCRIPT, OK_SCRIPT)]);
    let first = project.run(&[]).expect_code(0);
    assert_eq!(summary_line(&first), "6 done, 0 reused, 0 failed, 0 skipped, 0 cancelled", "{}", first.stderr);
    project
}

// Issue #17: a missing bench blob was reused ("null" downstream, the row lost).
#[test]
fn a_missing_artifact_blob_reruns_its_task_and_is_restored() {
    let project = project();
    let store = project.path().join(".ix");
    let blob = blob_of(&store, "bench/");
    std::fs::remove_file(&blob).expect("remove blob");

    let out = verify(&project).expect_code(1);
    assert!(
        out.stderr.contains("task `bench/tiny-fp32-local-sim/") && out.stderr.contains("is missing"),
        "{}",
        out.stderr
    );

    let out = plan(&project, &["--format", "json"]).expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan json");
    let bench = doc["tasks"].as_array().expect("tasks").iter().find(|t| t["kind"] == "bench").expect("bench");
    assert_eq!(bench["action"], "run", "{bench}");
    assert_eq!(bench["reasons"][0]["kind"], "artifact_missing", "{bench}");
    let human = plan(&project, &[]).expect_code(0);
    assert!(human.stdout.contains("artifact missing"), "{}", human.stdout);

    let rerun = project.run(&[]).expect_code(0);
    assert!(summary_line(&rerun).starts_with("5 done, 1 reused"), "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(blob.is_file(), "the rerun wrote the blob again");
    let out = verify(&project).expect_code(0);
    assert!(out.stdout.contains("0 corrupt"), "{}", out.stdout);
    assert_eq!(
        summary_line(&project.run(&[]).expect_code(0)),
        "nothing to run: all 6 tasks are up to date (state .ix)"
    );
}

// Issue #17: a byte-flipped blob made `ix run` exit 2, and `--force` could not repair it (the
// store kept the damaged blob because one already existed at that address).
#[test]
fn a_byte_flipped_blob_is_found_rerun_and_repaired() {
    let project = project();
    let store = project.path().join(".ix");
    let blob = blob_of(&store, "result/");
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[3] ^= 0x01;
    std::fs::write(&blob, &bytes).expect("flip");

    let out = verify(&project).expect_code(1);
    assert!(
        out.stderr.contains("task `result/tiny-fp32-local-sim/") && out.stderr.contains("is corrupt"),
        "{}",
        out.stderr
    );
    // A plain plan only stats blobs (same size: not seen); `--verify-artifacts` reads them.
    let out = plan(&project, &["--verify-artifacts"]).expect_code(0);
    assert!(out.stdout.contains("artifact corrupt"), "{}", out.stdout);

    let forced = project.run(&["--force", "result/*"]).expect_code(0);
    assert!(summary_line(&forced).starts_with("4 done, 2 reused"), "{}\n{}", forced.stdout, forced.stderr);
    let out = verify(&project).expect_code(0);
    assert!(out.stdout.contains("0 corrupt"), "{}", out.stdout);

    // The same damage without `--force`: `ix run` checks the blobs it reuses and reruns the task.
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[3] ^= 0x01;
    std::fs::write(&blob, &bytes).expect("flip");
    let rerun = project.run(&[]).expect_code(0);
    assert!(summary_line(&rerun).starts_with("4 done, 2 reused"), "{}\n{}", rerun.stdout, rerun.stderr);
    let _ = verify(&project).expect_code(0);
}

#[test]
fn a_truncated_blob_is_reported_corrupt_by_a_plain_plan() {
    let project = project();
    let blob = blob_of(&project.path().join(".ix"), "bench/");
    let bytes = std::fs::read(&blob).expect("blob");
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).expect("truncate");
    let out = plan(&project, &["--format", "json"]).expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan json");
    let bench = doc["tasks"].as_array().expect("tasks").iter().find(|t| t["kind"] == "bench").expect("bench");
    assert_eq!(bench["reasons"][0]["kind"], "artifact_corrupt", "{bench}");
    assert!(bench["reasons"][0]["detail"].as_str().is_some_and(|d| d.contains("the record says")), "{bench}");
}

// Issue #17: `ix results summary` and `ix report` skipped unreadable records without a word.
#[test]
fn summary_and_report_fail_on_malformed_records_unless_asked_to_skip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = serde_json::json!({
        "is_multinode": false, "infmax_model_prefix": "tiny", "model": "m", "hw": "h100", "framework": "vllm",
        "precision": "fp8", "isl": 1024, "osl": 1024, "tp": 1, "ep": 1, "dp_attention": false, "conc": 4,
        "median_ttft": 0.01, "median_tpot": 0.002, "median_intvty": 500.0, "median_e2el": 1.0,
        "tput_per_gpu": 100.0, "output_tput_per_gpu": 50.0, "input_tput_per_gpu": 50.0
    });
    std::fs::write(dir.path().join("agg_good.json"), record.to_string()).expect("write");
    std::fs::write(dir.path().join("agg_lost.json"), "null").expect("write");
    std::fs::write(dir.path().join("agg_cut.json"), "{\"is_multinode\": fal").expect("write");

    for verb in [&["results", "summary"][..], &["report", "--format", "md"][..]] {
        let out = ix(verb.iter().copied()).arg(dir.path()).run().expect_code(1);
        assert!(
            out.stderr.contains("agg_lost.json") && out.stderr.contains("agg_cut.json"),
            "{verb:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("--skip-malformed"), "{verb:?}: {}", out.stderr);
        let out = ix(verb.iter().copied()).arg(dir.path()).arg("--skip-malformed").run().expect_code(0);
        assert!(out.stderr.contains("warning: skipped malformed record file") && out.stderr.contains("agg_lost.json"));
        assert!(out.stdout.contains("| tiny") || out.stdout.contains("tiny"), "{verb:?}: {}", out.stdout);
    }
}
