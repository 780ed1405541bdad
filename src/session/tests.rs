//! Plan sessions: re-plans equal fresh plans, store writes between plans are seen.

use std::path::{Path, PathBuf};

use super::{PlanRequest, PlanSession};
use crate::expand::EvalMode;
use crate::expand::select::{JobSelection, sweep_jobs};
use crate::plan::PlanOptions;
use crate::workspace;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn request(dir: &Path, configs: &[&str], evals: Option<EvalMode>) -> PlanRequest {
    PlanRequest {
        config_files: configs.iter().map(|c| dir.join(c).to_string_lossy().into_owned()).collect(),
        runner_config: Some(dir.join("runners.yaml").to_string_lossy().into_owned()),
        selection: JobSelection { evals, ..JobSelection::all() },
        options: PlanOptions::default(),
        evals: Default::default(),
        images: Default::default(),
    }
}

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

fn count(log: &[String], query: &str) -> usize {
    log.iter().filter(|line| line.starts_with(&format!("{query}("))).count()
}

/// Every (id, hash, manifest) of a plan, to compare a re-plan with a fresh one.
fn tasks(session: &mut PlanSession) -> Vec<(String, String, String)> {
    let planned = session.plan(None);
    assert!(planned.diags.is_empty(), "{:?}", planned.diags);
    let tasks = planned.plan.as_ref().expect("a plan").graph.tasks.iter();
    let tasks = tasks
        .map(|t| (t.id.to_string(), format!("{:?}", t.hash), format!("{:?} {:?}", t.manifest.entries(), t.origin)))
        .collect();
    // As `--watch` does: the next plan may patch this graph.
    session.recycle(planned);
    tasks
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The per-entry salsa path gives exactly the sweep and jobs of whole-file lowering.
#[test]
fn incremental_load_equals_whole_file_load_on_the_vendor_files() {
    let reference = std::env::var_os("IX_REFERENCE_DIR")
        .map_or_else(|| manifest_dir().join("../shared/reference"), std::path::PathBuf::from);
    let configs = reference.join("configs");
    if !configs.join("nvidia-master.yaml").is_file() {
        assert_eq!(
            std::env::var("IX_ALLOW_MISSING_REFERENCE").as_deref(),
            Ok("1"),
            "reference data missing at {} (set IX_REFERENCE_DIR)",
            reference.display()
        );
        return;
    }
    for evals in [None, Some(EvalMode::Mark)] {
        let request = request(&configs, &["nvidia-master.yaml", "amd-master.yaml"], evals);
        let mut session = PlanSession::new(request.clone(), &configs);
        let (fast, _) = session.incremental.load_entries(&request).expect("the vendor files split into entries");
        let whole = workspace::load(&request.config_files, request.runner_config.as_deref());
        assert!(!whole.has_errors());
        let jobs = sweep_jobs(&whole.sweep, whole.runners.as_ref().unwrap(), &request.selection).unwrap();
        assert_eq!(fast.loaded.sweep, whole.sweep);
        assert_eq!(fast.jobs(), jobs.as_slice());
        assert!(jobs.len() > 1000);
    }
}

#[test]
fn an_edit_recomputes_only_the_entry_it_touches() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
    let sweep = dir.path().join("sweep.yaml");
    let mut session =
        PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo().with_query_log(dir.path());
    let first = tasks(&mut session);
    let log = session.take_query_log();
    assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (2, 2), "{log:?}");
    assert_eq!(session.last_keyed(), 3, "two concurrencies of the first entry, one of the second");

    // A comment above the first entry moves both entries: nothing is lowered or keyed.
    edit(&sweep, "demo-fp8-h100-vllm:\n", "# moved\n\ndemo-fp8-h100-vllm:\n");
    let moved = tasks(&mut session);
    let log = session.take_query_log();
    assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (0, 0), "{log:?}");
    assert_eq!(session.last_keyed(), 0);
    assert_eq!(first.iter().map(|t| &t.1).collect::<Vec<_>>(), moved.iter().map(|t| &t.1).collect::<Vec<_>>());
    // Reused manifests carry the moved lines (shifted when read).
    let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
    assert_eq!(moved, tasks(&mut fresh));
    assert_ne!(first.iter().map(|t| &t.2).collect::<Vec<_>>(), moved.iter().map(|t| &t.2).collect::<Vec<_>>());

    // Whitespace at the end of the first entry: it is lowered again, to the same value, so
    // nothing downstream runs.
    edit(&sweep, "    - { tp: 2, conc-start: 4, conc-end: 8 }\n", "    - { tp: 2, conc-start: 4, conc-end: 8 }\n\n\n");
    tasks(&mut session);
    let log = session.take_query_log();
    assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (1, 0), "{log:?}");
    assert_eq!(session.last_keyed(), 0);

    // A real edit of the second entry: only it is lowered, expanded and keyed again.
    edit(&sweep, "release:1.0", "release:1.0.1");
    let edited = tasks(&mut session);
    let log = session.take_query_log();
    assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (1, 1), "{log:?}");
    assert_eq!(session.last_keyed(), 1);

    // The memoized re-plan equals a fresh plan, manifest origins included.
    let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
    assert_eq!(edited, tasks(&mut fresh));
}

/// Every kind of edit, re-planned by a watch session (which patches the previous graph
/// where it can), gives exactly the tasks of a fresh plan: ids, hashes, manifests with
/// their origins, and task origins.
#[test]
fn patched_re_plans_equal_fresh_plans() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
    let sweep = dir.path().join("sweep.yaml");
    let script = dir.path().join("benchmarks/demo_fp8_h100.sh");
    let lib = dir.path().join("benchmarks/benchmark_lib.sh");
    let launcher = dir.path().join("runners/launch_b200-nv.sh");
    let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
    tasks(&mut session);
    let mut step = |name: &str, edit: &dyn Fn(), patches: bool| {
        // Stamps are mtime and size: every edit here changes the size.
        edit();
        session.refresh();
        let before = session.patched();
        let (jobs, sweep) = {
            let planned = session.plan(None);
            let expanded = planned.expanded.clone();
            session.recycle(planned);
            (expanded.jobs().to_vec(), expanded.loaded.sweep.clone())
        };
        assert_eq!(session.patched() - before, usize::from(patches), "{name}: patched?");
        let replanned = tasks(&mut session);
        let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
        let fresh_expanded = fresh.plan(None).expanded;
        assert_eq!(jobs, fresh_expanded.jobs(), "{name}: jobs");
        assert_eq!(sweep, fresh_expanded.loaded.sweep, "{name}: sweep");
        let fresh = tasks(&mut fresh);
        let differ = replanned.iter().zip(&fresh).find(|(a, b)| a != b);
        assert!(differ.is_none(), "{name}: first difference (re-planned, fresh): {differ:#?}");
        assert_eq!(replanned.len(), fresh.len(), "{name}");
        // Planning again with nothing changed patches (and changes nothing).
        assert_eq!(session.patched() - before, usize::from(patches) + 1, "{name}: patched again?");
    };
    let append = |path: &Path, line: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        std::fs::write(path, format!("{text}{line}\n")).unwrap();
    };
    step("script line", &|| append(&script, "echo edited"), true);
    step("sourced file", &|| append(&lib, "# lib edit"), true);
    step(
        "lines above both entries",
        &|| edit(&sweep, "demo-fp8-h100-vllm:\n", "# a\n# b\n\ndemo-fp8-h100-vllm:\n"),
        true,
    );
    step("model of the first entry", &|| edit(&sweep, "model: org/demo\n", "model: org/demo-v2\n"), true);
    step("one line fewer above", &|| edit(&sweep, "# a\n# b\n", "# ab\n"), true);
    step(
        "concurrency range (same job count)",
        &|| edit(&sweep, "conc-start: 4, conc-end: 8", "conc-start: 8, conc-end: 16"),
        true,
    );
    step(
        "concurrency range (one job more)",
        &|| edit(&sweep, "conc-start: 8, conc-end: 16", "conc-start: 8, conc-end: 32"),
        false,
    );
    step("image tag (new launch task)", &|| edit(&sweep, "release:1.0", "release:1.1"), false);
    step("launcher", &|| append(&launcher, "# launcher edit"), false);
    step("nothing", &|| {}, true);
    step(
        "new entry (the list of entries changed)",
        &|| {
            append(
                &sweep,
                "demo-fp8-h100-vllm-b:\n  image: vllm/vllm-openai:v0.10.0\n  model: org/demo\n  model-prefix: demo\n  runner: h100\n  precision: fp8\n  framework: vllm\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - { tp: 4, conc-list: [2] }",
            )
        },
        false,
    );
    step("script line after that", &|| append(&script, "echo again"), true);
    // A field after the search space, then a comment line between the point and that field:
    // the job is the same (its spans relative to the entry too), its manifest origins are not.
    step(
        "precision after the search space",
        &|| {
            edit(&sweep, "  precision: fp8\n", "");
            edit(&sweep, "demo-fp4-b200-trt:\n", "  precision: fp8\ndemo-fp4-b200-trt:\n");
        },
        true,
    );
    step(
        "comment line between the point and the field",
        &|| edit(&sweep, "  precision: fp8\ndemo-fp4", "  # note\n  precision: fp8\ndemo-fp4"),
        true,
    );
    step(
        "comment made longer, same lines",
        &|| edit(&sweep, "  # note\n  precision: fp8", "  # a longer note\n  precision: fp8"),
        true,
    );
}

/// Random sequences of edits (sweep lines added and removed above, between and inside
/// entries, field values, concurrency ranges, scripts, the sourced library): after every
/// edit the watch session's plan and jobs equal a fresh session's.
#[test]
fn random_edit_sequences_re_plan_like_fresh_plans() {
    use rand::{Rng, SeedableRng};
    for seed in 0..24u64 {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
        let sweep = dir.path().join("sweep.yaml");
        let scripts = [dir.path().join("benchmarks/demo_fp8_h100.sh"), dir.path().join("benchmarks/benchmark_lib.sh")];
        let original = std::fs::read_to_string(&sweep).unwrap();
        let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
        tasks(&mut session);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut patched = 0;
        for step in 0..25 {
            let text = std::fs::read_to_string(&sweep).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let edited = match rng.random_range(0..12) {
                // A comment line at a random place (top level or inside an entry).
                0 => {
                    // Often just above the first `precision` (which op 9 moves after the points).
                    let precision = lines.iter().position(|line| *line == "  precision: fp8");
                    let at = match precision {
                        Some(at) if rng.random_bool(0.3) => at,
                        _ => rng.random_range(0..=lines.len()),
                    };
                    let indent = if at == 0 || rng.random_bool(0.5) { "" } else { "  " };
                    let mut out = lines.clone();
                    let comment = format!("{indent}# note {step}");
                    out.insert(at, &comment);
                    out.join("\n") + "\n"
                }
                // Remove a comment line, if any.
                1 => match lines.iter().position(|line| line.trim_start().starts_with('#')) {
                    Some(at) => {
                        let mut out = lines.clone();
                        out.remove(at);
                        out.join("\n") + "\n"
                    }
                    None => text.clone(),
                },
                2 => text.replacen("model: org/demo\n", &format!("model: org/demo-{step}\n"), 1),
                3 => {
                    let end = [8, 16, 32][rng.random_range(0..3)];
                    let re = regex_free_replace(&text, "conc-end: ", &end.to_string());
                    re.unwrap_or(text.clone())
                }
                4 => text.replacen("conc-list: [16]", "conc-list: [16, 32]", 1).replacen(
                    "conc-list: [16, 32, 32]",
                    "conc-list: [16]",
                    1,
                ),
                5 => {
                    let script = &scripts[rng.random_range(0..2)];
                    let body = std::fs::read_to_string(script).unwrap();
                    std::fs::write(script, format!("{body}# edit {step}\n")).unwrap();
                    text.clone()
                }
                6 => original.clone(),
                7 if text.contains("release:1.0") => text.replacen("release:1.0", "release:1.1", 1),
                7 => text.replacen("release:1.1", "release:1.0", 1),
                8 => {
                    let launcher = dir.path().join("runners/launch_h100-cr.sh");
                    let body = std::fs::read_to_string(&launcher).unwrap();
                    std::fs::write(&launcher, format!("{body}# edit {step}\n")).unwrap();
                    text.clone()
                }
                // Move the first entry's `precision` after its search space, or back: comment
                // lines inserted after a job's point then move a field its key holds.
                9 | 10 => {
                    let mut out = lines.clone();
                    if let Some(at) = out.iter().position(|line| *line == "  precision: fp8") {
                        let space = out.iter().position(|line| *line == "    search-space:").unwrap_or(0);
                        out.remove(at);
                        let end = out.iter().position(|line| *line == "demo-fp4-b200-trt:").unwrap_or(out.len());
                        let runner = out.iter().position(|line| *line == "  runner: h100").map_or(1, |i| i + 1);
                        out.insert(if at > space { runner } else { end }, "  precision: fp8");
                    }
                    out.join("\n") + "\n"
                }
                // Add a third entry, or remove it.
                _ => match text.find("demo-fp8-h100-vllm-b:") {
                    Some(at) => text[..at].to_string(),
                    None => format!(
                        "{text}demo-fp8-h100-vllm-b:\n  image: vllm/vllm-openai:v0.10.0\n  model: org/demo\n  model-prefix: demo\n  runner: h100\n  precision: fp8\n  framework: vllm\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - {{ tp: 4, conc-list: [2] }}\n"
                    ),
                },
            };
            std::fs::write(&sweep, &edited).unwrap();
            session.refresh();
            let before = session.patched();
            let replanned = tasks(&mut session);
            patched += session.patched() - before;
            let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
            let fresh = tasks(&mut fresh);
            let differ = replanned.iter().zip(&fresh).find(|(a, b)| a != b);
            assert!(
                differ.is_none() && replanned.len() == fresh.len(),
                "seed {seed} step {step}: {differ:#?}\n{edited}"
            );
        }
        assert!(patched >= 3, "seed {seed}: only {patched} of 25 re-plans patched");
    }
}

/// `text` with the number after the first `key` replaced by `value`.
fn regex_free_replace(text: &str, key: &str, value: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let end = at + text[at..].find(|c: char| !c.is_ascii_digit())?;
    Some(format!("{}{value}{}", &text[..at], &text[end..]))
}

/// A watch session keeps store records between plans, and still sees what another process
/// writes (a record added, one corrupted) on the next plan.
#[test]
fn a_session_sees_store_writes_between_plans() {
    use crate::plan::Action;
    use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
    let store = StateStore::open(&dir.path().join(".ix")).unwrap();
    let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
    let actions = |session: &mut PlanSession| {
        let planned = session.plan(Some(&store));
        let plan = planned.plan.expect("a plan");
        plan.graph.tasks.iter().zip(&plan.tasks).map(|(t, p)| (t.id.to_string(), t.hash, p.action)).collect::<Vec<_>>()
    };
    let first = actions(&mut session);
    assert!(first.iter().all(|(_, _, action)| *action == Action::Run));
    // Another process records every launch and bench task (after a pause longer than a
    // coarse file-time tick, so the folder's times differ from those of the last plan).
    std::thread::sleep(std::time::Duration::from_millis(20));
    for (id, hash, _) in first.iter().filter(|(id, _, _)| id.starts_with("launch/") || id.starts_with("bench/")) {
        let record = TaskRecord {
            id: id.clone(),
            kind: "bench".into(),
            outcome: Outcome::Success,
            manifest: Vec::new(),
            artifacts: vec![("out.json".into(), ArtifactSource::Bytes(b"{}".to_vec()))],
        };
        store.record(*hash, record).unwrap();
    }
    let second = actions(&mut session);
    let reused: Vec<&str> =
        second.iter().filter(|(_, _, a)| *a == Action::Reuse).map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(reused.len(), 5, "{second:?}");
    assert!(reused.iter().all(|id| id.starts_with("launch/") || id.starts_with("bench/")));
    // The same plan again comes from the cache, with the same answer.
    assert_eq!(actions(&mut session), second);
    // A record corrupted behind the session's back is not trusted.
    let (_, hash, _) = second.iter().find(|(id, _, _)| id.starts_with("bench/")).unwrap();
    let path = dir.path().join(".ix/tasks").join(format!("{}.json", hash.to_hex()));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("success", "failed!")).unwrap();
    // The folder changes when a file is renamed into it (every store write does that).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let tmp = dir.path().join(".ix/tasks/touch.tmp");
    std::fs::write(&tmp, "").unwrap();
    std::fs::remove_file(&tmp).unwrap();
    let third = actions(&mut session);
    assert_eq!(third.iter().filter(|(_, _, a)| *a == Action::Reuse).count(), 4, "{third:?}");
}

/// A runners file a `.ix` sweep references is watched like the sweep: editing it is a change.
#[test]
fn a_runners_file_a_sweep_references_is_watched() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&manifest_dir().join("sweeps"), dir.path());
    let sweep = dir.path().join("nvidia.ix").to_string_lossy().into_owned();
    let request = PlanRequest { config_files: vec![sweep], runner_config: None, ..request(dir.path(), &[], None) };
    let mut session = PlanSession::new(request, dir.path()).with_memo();
    let planned = session.plan(None);
    assert!(planned.expanded.loaded.runners.as_ref().is_some_and(|table| table.get("gb200").is_some()));
    assert!(!session.changed(), "nothing changed yet");
    let runners = dir.path().join("runners.yaml");
    let text = std::fs::read_to_string(&runners).unwrap();
    std::fs::write(&runners, text.replace("'gb200-rack_0'", "'gb200-rack_0'\n- 'gb200-rack_1'")).unwrap();
    assert!(session.changed(), "the referenced runners file changed");
    session.plan(None);
    assert!(!session.changed(), "re-planned");
}
