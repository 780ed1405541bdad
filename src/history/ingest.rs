//! Reading a state store into [`Point`]s: every current, successful `result` and `eval` record,
//! its aggregate record(s) and its provenance, gathered from the records the store already
//! keeps (the result's bench record for the image, scripts, sweep file and timing).
//!
//! "Current" means the latest record of its task id (`by-id`): older records of a task whose
//! inputs changed since stay in the store but are not part of what the store says now.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

use super::{HistoryError, Point, PointKind, Run};
use crate::dag::hash::Digest;
use crate::state::{Outcome, StateStore, StoredRecord};

/// The columns of `points` in the order both backends select them.
pub(crate) const POINT_COLUMNS: &str = "p.result_hash, p.artifact, p.part, p.kind, p.task_id, p.config_key, \
     p.identity, p.repeat_idx, p.image, p.image_digest, p.scripts, p.sweep_file, p.runner_node, p.started_at, \
     p.ended_at, p.record, p.bench_hash";

/// What [`points_from_store`] found.
#[derive(Debug, Default)]
pub struct StoreSnapshot {
    pub points: Vec<Point>,
    /// Current records of a kind that holds results but failed (not ingested).
    pub failed: usize,
}

fn store_error(dir: &Path, cause: impl std::fmt::Display) -> HistoryError {
    HistoryError::Store { dir: dir.to_path_buf(), cause: cause.to_string() }
}

/// The points of every current, successful result and eval record of the store at `dir`, in
/// task id order. A record whose artifact is missing or is not JSON is an error, never skipped.
pub fn points_from_store(dir: &Path) -> Result<StoreSnapshot, HistoryError> {
    let store = StateStore::open_existing(dir)
        .map_err(|e| store_error(dir, e))?
        .ok_or_else(|| store_error(dir, "no state store there (no `tasks/` folder)"))?;
    let tasks = dir.join("tasks");
    let mut names: Vec<_> = fs::read_dir(&tasks)
        .map_err(|e| store_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    let mut snapshot = StoreSnapshot::default();
    for name in names {
        let Some(hash) = name.to_str().and_then(|n| n.strip_suffix(".json")).and_then(Digest::from_hex) else {
            continue;
        };
        let Some(record) = store.get(hash).map_err(|e| store_error(dir, e))? else { continue };
        if record.kind != "result" && record.kind != "eval" {
            continue;
        }
        if store.latest_hash_for_id(&record.id).map_err(|e| store_error(dir, e))? != Some(hash) {
            continue;
        }
        if record.outcome != Outcome::Success {
            snapshot.failed += 1;
            continue;
        }
        snapshot.points.extend(points_of_record(&store, dir, &record)?);
    }
    snapshot.points.sort_by(|a, b| (&a.task_id, a.part).cmp(&(&b.task_id, b.part)));
    Ok(snapshot)
}

/// The points of one task's record (by its hash), the same points [`points_from_store`] reads
/// for it: none when the record is not a successful `result` or `eval`, or is not there.
pub fn points_of_task(dir: &Path, task_hash: &str) -> Result<Vec<Point>, HistoryError> {
    let store = StateStore::open_existing(dir)
        .map_err(|e| store_error(dir, e))?
        .ok_or_else(|| store_error(dir, "no state store there (no `tasks/` folder)"))?;
    let Some(hash) = Digest::from_hex(task_hash) else { return Ok(Vec::new()) };
    let Some(record) = store.get(hash).map_err(|e| store_error(dir, e))? else { return Ok(Vec::new()) };
    if (record.kind != "result" && record.kind != "eval") || record.outcome != Outcome::Success {
        return Ok(Vec::new());
    }
    points_of_record(&store, dir, &record)
}

/// Provenance shared by every record of one task.
struct Provenance {
    bench_hash: Option<String>,
    image: String,
    image_digest: Option<String>,
    scripts: String,
    sweep_file: Option<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
}

/// The provenance of a task from the record that ran its script: the bench record of a
/// result, the eval record itself.
fn provenance(store: &StateStore, dir: &Path, record: &StoredRecord) -> Result<Provenance, HistoryError> {
    let runner = if record.kind == "result" {
        let bench_id = format!("bench/{}", record.id.strip_prefix("result/").unwrap_or(&record.id));
        store.latest_for_id(&bench_id).map_err(|e| store_error(dir, e))?
    } else {
        Some(record.clone())
    };
    let mut found = Provenance {
        bench_hash: None,
        image: String::new(),
        image_digest: None,
        scripts: String::new(),
        sweep_file: None,
        started_at: None,
        ended_at: None,
    };
    let Some(runner) = runner else { return Ok(found) };
    found.bench_hash = Some(runner.hash.to_hex());
    let mut scripts = Vec::new();
    for entry in &runner.manifest {
        if entry.name == "image" {
            match entry.value.strip_suffix(crate::dag::task_key::UNRESOLVED_SUFFIX) {
                Some(image) => found.image = image.to_string(),
                None => {
                    let (image, digest) = entry.value.rsplit_once(' ').unwrap_or((&entry.value, ""));
                    found.image = image.to_string();
                    found.image_digest = (!digest.is_empty()).then(|| digest.to_string());
                }
            }
            found.sweep_file = entry.origin.as_ref().map(|origin| origin.file.to_string());
        } else if let Some(path) = ["script ", "launcher ", "sourced "].iter().find_map(|p| entry.name.strip_prefix(p))
        {
            scripts.push(format!("{path}={}", entry.value));
        }
    }
    found.scripts = scripts.join("; ");
    // The end is when the store recorded the task; the start that minus the measured duration.
    let record_path = dir.join("tasks").join(format!("{}.json", runner.hash.to_hex()));
    let ended = fs::metadata(&record_path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| since.as_secs() as i64);
    let duration = runner
        .artifacts
        .first()
        .filter(|_| runner.kind == "bench")
        .and_then(|artifact| store.get_blob(artifact.digest).ok().flatten())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|raw| raw.get("duration").and_then(Value::as_f64))
        .filter(|d| d.is_finite() && *d >= 0.0);
    if let Some(ended) = ended {
        found.ended_at = Some(super::rfc3339(ended));
        found.started_at = duration.map(|d| super::rfc3339(ended - d.ceil() as i64));
    }
    Ok(found)
}

fn points_of_record(store: &StateStore, dir: &Path, record: &StoredRecord) -> Result<Vec<Point>, HistoryError> {
    let Some(artifact) = record.artifacts.first() else { return Ok(Vec::new()) };
    let bytes = store
        .get_blob(artifact.digest)
        .map_err(|e| store_error(dir, e))?
        .ok_or_else(|| store_error(dir, format!("task `{}`: artifact `{}` is missing", record.id, artifact.name)))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        store_error(dir, format!("task `{}`: artifact `{}` is not JSON: {e}", record.id, artifact.name))
    })?;
    let provenance = provenance(store, dir, record)?;
    let (config_key, runner_node, repeat) = parse_task_id(&record.id);
    let mut points = Vec::new();
    let mut stack = vec![value];
    let mut records = Vec::new();
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.into_iter().rev()),
            Value::Object(map) => records.push(map),
            _ => {}
        }
    }
    for fields in records {
        let kind = if fields.contains_key("is_multinode") {
            if fields.contains_key("scenario_type") { PointKind::Agentic } else { PointKind::Fixed }
        } else if fields.contains_key("task") && fields.contains_key("score") {
            PointKind::Eval
        } else {
            continue;
        };
        points.push(Point {
            result_hash: record.hash.to_hex(),
            artifact: artifact.digest.to_hex(),
            part: points.len() as u32,
            kind,
            task_id: record.id.clone(),
            config_key: config_key.clone(),
            identity: super::identity_of(&fields),
            repeat,
            bench_hash: provenance.bench_hash.clone(),
            image: provenance.image.clone(),
            image_digest: provenance.image_digest.clone(),
            scripts: provenance.scripts.clone(),
            sweep_file: provenance.sweep_file.clone(),
            runner_node: runner_node.clone(),
            started_at: provenance.started_at.clone(),
            ended_at: provenance.ended_at.clone(),
            metrics: metrics_of(&fields),
            record: Value::Object(fields).to_string(),
        });
    }
    Ok(points)
}

/// `(config key, runner node, repeat)` of `<kind>/<key>/…/<node>[/repeat-<n>]`.
pub(crate) fn parse_task_id(id: &str) -> (String, String, u32) {
    let mut parts: Vec<&str> = id.split('/').collect();
    let repeat = match parts.last().and_then(|last| last.strip_prefix("repeat-")).and_then(|n| n.parse().ok()) {
        Some(repeat) => {
            parts.pop();
            repeat
        }
        None => 0,
    };
    let key = parts.get(1).copied().unwrap_or_default().to_string();
    let node = if parts.len() > 2 { parts.last().copied().unwrap_or_default().to_string() } else { String::new() };
    (key, node, repeat)
}

/// The headline metrics of an agentic aggregate (AGENTIC.md §5.4), nested in its record, under
/// the names the fixed-length records and the report's agentic charts use.
pub(crate) const AGENTIC_METRICS: &[(&str, &str)] = &[
    ("tput_per_gpu", "/request_metrics/throughput/per_gpu/total_tput_tps"),
    ("output_tput_per_gpu", "/request_metrics/throughput/per_gpu/output_tput_tps"),
    ("median_ttft", "/request_metrics/latency/ttft/p50"),
    ("median_tpot", "/request_metrics/latency/tpot/p50"),
    ("median_e2el", "/request_metrics/latency/e2el/p50"),
    ("median_intvty", "/request_metrics/latency/intvty/p50"),
    ("server_cache_hit_rate", "/server_metrics/cache/overall_cache_hit_rate"),
    ("theoretical_cache_hit_rate", "/request_metrics/cache/theoretical_cache_hit_rate"),
];

/// The numeric fields of a record that are not part of its identity, in record order; for an
/// agentic record (`scenario_type`) then its nested [`AGENTIC_METRICS`] that it has.
pub(crate) fn metrics_of(fields: &Map<String, Value>) -> Vec<(String, f64)> {
    let mut metrics: Vec<(String, f64)> = fields
        .iter()
        .filter(|(name, _)| !super::IDENTITY_FIELDS.contains(&name.as_str()))
        .filter_map(|(name, value)| match value {
            Value::Number(number) => number.as_f64().map(|v| (name.clone(), v)),
            _ => None,
        })
        .collect();
    if fields.contains_key("scenario_type") {
        let nested = |pointer: &str| {
            let mut parts = pointer.trim_start_matches('/').split('/');
            let mut value = fields.get(parts.next()?)?;
            for part in parts {
                value = value.get(part)?;
            }
            value.as_f64()
        };
        for (name, pointer) in AGENTIC_METRICS {
            if let Some(value) = nested(pointer).filter(|_| !fields.contains_key(*name)) {
                metrics.push(((*name).to_string(), value));
            }
        }
    }
    metrics
}

/// [`metrics_of`] of a record stored as JSON text (empty when it is not an object).
pub(crate) fn metrics_of_text(text: &str) -> Vec<(String, f64)> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => metrics_of(&fields),
        _ => Vec::new(),
    }
}

/// The run of a set of points: its id is a blake3 over their sorted natural keys.
pub fn run_of(points: &[Point], source: &str, label: Option<String>, git_commit: Option<String>) -> Run {
    let mut keys: Vec<String> = points.iter().map(|p| format!("{}:{}:{}", p.result_hash, p.artifact, p.part)).collect();
    keys.sort();
    let mut hasher = blake3::Hasher::new_derive_key("ix 2026-12 results-run v1");
    for key in &keys {
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
    }
    let run_id = hasher.finalize().to_hex()[..16].to_string();
    Run {
        run_id,
        label,
        git_commit,
        ix_version: env!("CARGO_PKG_VERSION").to_string(),
        source: source.to_string(),
        ingested_at: super::now_rfc3339(),
    }
}

/// The commit checked out in the git work tree holding `dir`, if it is in one.
pub fn git_commit(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !commit.is_empty()).then_some(commit)
}
