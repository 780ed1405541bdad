//! Tests of the results database on SQLite (PostgreSQL: `tests/it/history.rs`, against a real
//! server) and of compare over synthetic stores read through the real ingest path.

use super::compare::{CompareOptions, Verdict, compare};
use super::synth::{SynthOptions, write_store};
use super::*;

/// A temporary folder, on tmpfs where there is one: the synthetic stores fsync every record.
fn tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir")
}

fn synth(dir: &std::path::Path, seed: u64, slower: Option<(usize, f64)>) -> Vec<Point> {
    let options = SynthOptions { configs: 300, repeats: 5, noise_pct: 1.0, seed, slower };
    write_store(dir, &options).expect("synthetic store");
    points_from_store(dir).expect("ingest").points
}

fn open_sqlite(dir: &std::path::Path) -> ResultsDb {
    ResultsDb::open(&DbUrl::Sqlite(dir.join("results.sqlite"))).expect("open sqlite")
}

#[test]
fn times_are_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_796_454_933), "2026-12-05T07:15:33Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
}

#[test]
fn task_ids_give_key_node_and_repeat() {
    let (key, node, repeat) = ingest::parse_task_id("result/k1/1k1k/tp1-ep1-dpa0-none/c4/local_0");
    assert_eq!((key.as_str(), node.as_str(), repeat), ("k1", "local_0", 0));
    let (key, node, repeat) = ingest::parse_task_id("result/k1/1k1k/tp1-ep1-dpa0-none/c4/local_0/repeat-3");
    assert_eq!((key.as_str(), node.as_str(), repeat), ("k1", "local_0", 3));
}

#[test]
fn a_store_becomes_points_with_provenance() {
    let dir = tempdir();
    let options = SynthOptions { configs: 3, repeats: 2, noise_pct: 1.0, seed: 1, slower: None };
    write_store(&dir.path().join("store"), &options).expect("store");
    let points = points_from_store(&dir.path().join("store")).expect("points").points;
    assert_eq!(points.len(), 6);
    let point = &points[1];
    assert_eq!(point.task_id, "result/synth0/1k1k/cfg0/local_0/repeat-1");
    assert_eq!((point.repeat, point.runner_node.as_str(), point.config_key.as_str()), (1, "local_0", "synth0"));
    assert_eq!((point.image.as_str(), point.image_digest.as_deref()), ("synth:1", Some("sha256:5e7e")));
    assert_eq!(point.scripts, "benchmarks/synth.sh=blake3:0123abcd");
    assert!(point.bench_hash.is_some() && point.ended_at.is_some() && point.started_at.is_some());
    assert!(point.identity.contains("conc=1") && point.identity.contains("tp=1"), "{}", point.identity);
    assert!(point.metrics.iter().any(|(name, _)| name == "median_tpot"));
    assert!(!point.metrics.iter().any(|(name, _)| name == "conc"), "identity fields are not metrics");
    // The two repeats of a configuration share its identity; configurations differ.
    assert_eq!(points[0].identity, points[1].identity);
    assert_ne!(points[0].identity, points[2].identity);
}

#[test]
fn ingesting_twice_changes_nothing_and_reads_back() {
    let dir = tempdir();
    let options = SynthOptions { configs: 4, repeats: 2, noise_pct: 1.0, seed: 2, slower: None };
    write_store(&dir.path().join("store"), &options).expect("store");
    let points = points_from_store(&dir.path().join("store")).expect("points").points;
    let run = ingest::run_of(&points, "store", Some("base".into()), None);
    let mut db = open_sqlite(dir.path());
    assert_eq!(db.ingest(&run, &points).expect("ingest"), 8);
    let again = ingest::run_of(&points, "store", Some("base".into()), None);
    assert_eq!(again.run_id, run.run_id, "the run id comes from the points");
    assert_eq!(db.ingest(&again, &points).expect("ingest again"), 0);
    let runs = db.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].points, 8);
    assert_eq!(db.find_run("latest").expect("latest").run_id, run.run_id);
    assert_eq!(db.find_run("base").expect("by label").run_id, run.run_id);
    assert!(matches!(db.find_run("nope"), Err(HistoryError::NoRun { .. })));
    let read = db.run_points(&run.run_id).expect("points");
    assert_eq!(read, points, "a run reads back exactly as ingested");
    if let ResultsDb::Sqlite { conn, .. } = &db {
        let metrics: i64 = conn.query_row("SELECT COUNT(*) FROM metrics", [], |r| r.get(0)).expect("count");
        assert_eq!(metrics as usize, points.iter().map(|p| p.metrics.len()).sum::<usize>());
    }
}

#[test]
fn a_newer_ix_opens_and_migrates_an_older_database() {
    let dir = tempdir();
    let url = DbUrl::Sqlite(dir.path().join("old.sqlite"));
    {
        // A database written by an `ix` that knew only migration 1, with one point in it.
        let mut db = sqlite::open(&dir.path().join("old.sqlite")).expect("open");
        db.migrate(1).expect("migrate to 1");
        assert_eq!(db.schema_version().expect("version"), 1);
        if let ResultsDb::Sqlite { conn, .. } = &db {
            conn.execute_batch(
                "INSERT INTO runs VALUES ('r1', 'old', NULL, '0.0.9', 'store', '2026-01-01T00:00:00Z');
                 INSERT INTO points VALUES ('p', 'h', 'a', 0, 'fixed', 'result/k/1k1k/tp1/c1/n0', 'k', 'tp=1', 0,
                   'img', NULL, '', NULL, 'n0', NULL, NULL, '{\"median_tpot\": 0.5}');
                 INSERT INTO run_points VALUES ('r1', 'p');",
            )
            .expect("v1 rows");
        }
    }
    let mut db = ResultsDb::open(&url).expect("reopen with the current ix");
    assert_eq!(db.schema_version().expect("version"), schema::VERSION);
    let points = db.run_points("r1").expect("old points");
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].bench_hash, None, "a column added by migration 2 is empty for old rows");
    assert_eq!(points[0].metrics, vec![("median_tpot".to_string(), 0.5)]);
    drop(db);
    // An `ix` older than the database refuses it.
    if let Ok(ResultsDb::Sqlite { conn, .. }) = sqlite::open(&dir.path().join("old.sqlite")) {
        conn.execute("UPDATE ix_schema SET version = 99", []).expect("bump");
    }
    assert!(matches!(ResultsDb::open(&url), Err(HistoryError::NewerSchema { found: 99, .. })));
}

#[test]
fn a_planted_five_percent_regression_is_flagged_alone() {
    let dir = tempdir();
    let base = synth(&dir.path().join("base"), 10, None);
    let head = synth(&dir.path().join("head"), 11, Some((137, 5.0)));
    let comparison = compare(&base, &head, &CompareOptions::default());
    let planted = super::compare::label_of(&head[137 * 5]);
    assert_eq!(comparison.regressed_configs(), vec![planted.as_str()], "{}", render::to_text(&comparison, false));
    assert_eq!(comparison.count(Verdict::Improved), 0);
    assert!(comparison.count(Verdict::Regressed) >= 4, "every latency and throughput metric of it");
    assert!(comparison.only_base.is_empty() && comparison.only_head.is_empty());
    assert_eq!(comparison.rows.len(), 300 * 6);
}

#[test]
fn a_change_below_the_noise_is_not_flagged() {
    let dir = tempdir();
    let base = synth(&dir.path().join("base"), 20, None);
    let head = synth(&dir.path().join("head"), 21, Some((42, 0.5)));
    let comparison = compare(&base, &head, &CompareOptions::default());
    assert_eq!(comparison.count(Verdict::Regressed), 0, "{}", render::to_text(&comparison, false));
    assert_eq!(comparison.count(Verdict::Improved), 0);
}

#[test]
fn without_repeats_the_threshold_decides() {
    let options = CompareOptions::default();
    let row = super::compare::judge("median_tpot", &[1.0], &[1.06], &options).expect("row");
    assert_eq!((row.verdict, row.rule), (Verdict::Regressed, super::compare::Rule::Threshold));
    let row = super::compare::judge("tput_per_gpu", &[1.0], &[1.06], &options).expect("row");
    assert_eq!(row.verdict, Verdict::Improved);
    let row = super::compare::judge("median_tpot", &[1.0], &[1.04], &options).expect("row");
    assert_eq!(row.verdict, Verdict::WithinNoise);
}

#[test]
fn markdown_and_json_state_the_verdicts() {
    let dir = tempdir();
    let base = synth(&dir.path().join("base"), 30, None);
    let head = synth(&dir.path().join("head"), 31, Some((5, 8.0)));
    let comparison = compare(&base, &head, &CompareOptions::default());
    let markdown = render::to_markdown(&comparison, "ix compare");
    assert!(markdown.contains("#### Regressions") && markdown.contains("🔴 regressed"), "{markdown}");
    assert!(markdown.contains("Welch's t-test"), "the rule is stated");
    assert!(markdown.len() < 65_536, "fits a pull request comment: {}", markdown.len());
    let json: serde_json::Value = serde_json::from_str(&render::to_json(&comparison)).expect("json");
    assert_eq!(json["schema"], "ix.compare/v1");
    assert_eq!(json["regressed"].as_u64(), Some(comparison.count(Verdict::Regressed) as u64));
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(comparison.rows.len()));
}

#[test]
fn eval_rows_are_points_compared_by_score() {
    use crate::dag::hash::file_digest;
    use crate::dag::task_key::ManifestEntry;
    use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};
    let dir = tempdir();
    let write = |name: &str, score: f64| {
        let store = StateStore::open(&dir.path().join(name)).expect("store");
        let row = serde_json::json!([{
            "model": "m", "hw": "B200", "framework": "sglang", "precision": "fp8", "tp": 8, "ep": 1, "conc": 32,
            "task": "gsm8k", "em_strict": score, "score": score, "score_name": "em_strict", "score_se": 0.01,
        }]);
        let record = TaskRecord {
            id: "eval/k/1k1k/tp8-ep1-dpa0-none/c32/b200_0".into(),
            kind: "eval".into(),
            outcome: Outcome::Success,
            manifest: vec![ManifestEntry { name: "image".into(), value: "img sha256:ab".into(), origin: None }],
            artifacts: vec![("evals.json".into(), ArtifactSource::Bytes(row.to_string().into_bytes()))],
        };
        store.record(file_digest(format!("{name}{score}").as_bytes()), record).expect("record");
        points_from_store(&dir.path().join(name)).expect("points").points
    };
    let base = write("base", 0.92);
    let head = write("head", 0.80);
    assert_eq!(base.len(), 1);
    assert_eq!((base[0].kind, base[0].image_digest.as_deref()), (PointKind::Eval, Some("sha256:ab")));
    assert!(base[0].identity.contains("task=gsm8k"), "{}", base[0].identity);
    let comparison = compare(&base, &head, &CompareOptions::default());
    let score = comparison.rows.iter().find(|r| r.metric == "score").expect("score row");
    assert_eq!((score.verdict, score.label.as_str()), (Verdict::Regressed, "k gsm8k"));
}

/// A store holding, per reference agentic aggregate (`run-<name>.expected.json`), a successful
/// `result` record, its per-GPU throughput scaled by `tput_factor`.
fn agentic_store(dir: &std::path::Path, tput_factor: f64) -> Option<()> {
    use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};
    let reference = std::env::var_os("IX_REFERENCE_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"), Into::into)
        .join("agentic");
    if !reference.join("run-vllm.expected.json").is_file() {
        assert_eq!(std::env::var("IX_ALLOW_MISSING_REFERENCE").as_deref(), Ok("1"), "no {}", reference.display());
        return None;
    }
    let store = StateStore::open(dir).expect("store");
    for name in ["vllm", "sglang"] {
        let text = std::fs::read_to_string(reference.join(format!("run-{name}.expected.json"))).expect("reference");
        let mut record: serde_json::Value = serde_json::from_str(&text).expect("json");
        let tput = record.pointer_mut("/request_metrics/throughput/per_gpu/total_tput_tps").expect("tput");
        *tput = (tput.as_f64().expect("number") * tput_factor).into();
        let id = format!("result/agentic-{name}/agentic/tp2/c4/local_0");
        let hash = crate::dag::hash::file_digest(format!("{id}:{tput_factor}").as_bytes());
        let task = TaskRecord {
            id,
            kind: "result".into(),
            outcome: Outcome::Success,
            manifest: Vec::new(),
            artifacts: vec![("agg.json".into(), ArtifactSource::Bytes(record.to_string().into_bytes()))],
        };
        store.record(hash, task).expect("record");
    }
    Some(())
}

#[test]
fn agentic_records_are_ingested_and_compared_by_identity_with_their_headline_metrics() {
    let (base_dir, head_dir) = (tempdir(), tempdir());
    if agentic_store(base_dir.path(), 1.0).is_none() || agentic_store(head_dir.path(), 0.8).is_none() {
        return;
    }
    let base = points_from_store(base_dir.path()).expect("ingest").points;
    assert_eq!(base.len(), 2);
    assert!(base.iter().all(|p| p.kind == PointKind::Agentic && p.identity.contains("scenario_type=agentic-coding")));
    let metric = |point: &Point, name: &str| point.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    assert_eq!(metric(&base[0], "tput_per_gpu"), Some(1202.7488));
    assert_eq!(metric(&base[0], "median_ttft"), Some(0.0274));
    assert_eq!(metric(&base[0], "server_cache_hit_rate"), Some(0.64988));
    // Through the database and back: the same points, metrics included.
    let mut db = open_sqlite(base_dir.path());
    let run = ingest::run_of(&base, "agentic", None, None);
    assert_eq!(db.ingest(&run, &base).expect("ingest"), 2);
    assert_eq!(db.ingest(&run, &base).expect("again"), 0);
    let stored = db.run_points(&run.run_id).expect("points");
    assert_eq!(metric(&stored[1], "server_cache_hit_rate"), Some(0.64988));
    // The head is 20% slower per GPU in both frameworks; TTFT and cache hit rate are unchanged.
    let head = points_from_store(head_dir.path()).expect("ingest").points;
    let comparison = compare(&stored, &head, &CompareOptions::default());
    assert!(comparison.only_base.is_empty() && comparison.only_head.is_empty(), "{comparison:?}");
    let rows = |metric: &str| comparison.rows.iter().filter(|r| r.metric == metric).collect::<Vec<_>>();
    let tput = rows("tput_per_gpu");
    assert_eq!(tput.len(), 2, "one row per framework: {comparison:?}");
    assert!(tput.iter().all(|r| r.verdict == Verdict::Regressed && (r.percent.expect("%") + 20.0).abs() < 1e-6));
    assert_ne!(tput[0].identity, tput[1].identity);
    for name in ["median_ttft", "server_cache_hit_rate"] {
        assert!(rows(name).len() == 2 && rows(name).iter().all(|r| r.verdict == Verdict::WithinNoise), "{name}");
    }
    assert_eq!(comparison.regressed_configs().len(), 2);
}
