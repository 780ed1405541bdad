//! Synthetic runs with seeded noise, written as a real state store (bench and result records
//! through [`StateStore::record`]) or as points: what the compare tests plant regressions in
//! and what `ix results history-bench` times. Nothing here is used by a real run.

use std::path::Path;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use super::{HistoryError, Point, PointKind};
use crate::dag::hash::file_digest;
use crate::dag::task_key::ManifestEntry;
use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};

/// How to make a synthetic run.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Configurations (distinct identities).
    pub configs: usize,
    /// Values per configuration (repeat indices 0..repeats).
    pub repeats: u32,
    /// The standard deviation of the multiplicative noise, in percent.
    pub noise_pct: f64,
    pub seed: u64,
    /// `(config index, percent)`: that configuration is this much slower (latencies up,
    /// throughputs down by the same factor).
    pub slower: Option<(usize, f64)>,
}

/// The aggregate record of configuration `config`, repeat `repeat`.
fn record(config: usize, factor: &mut dyn FnMut() -> f64, slower: f64) -> serde_json::Map<String, serde_json::Value> {
    let conc = 1usize << (config % 8);
    let tp = 1usize << (config / 8 % 4);
    let key = format!("synth{}", config / 32);
    let speed = 1.0 + (config % 7) as f64 / 10.0;
    let value = serde_json::json!({
        "hw": "local",
        "conc": conc,
        "image": "synth:1",
        "model": "synth-model",
        "infmax_model_prefix": key,
        "framework": "sim",
        "precision": "fp8",
        "spec_decoding": "none",
        "disagg": false,
        "isl": 1024,
        "osl": 1024,
        "is_multinode": false,
        "tp": tp,
        "ep": 1,
        "dp_attention": "false",
        "tput_per_gpu": 1000.0 * speed * conc as f64 * factor() / slower,
        "output_tput_per_gpu": 500.0 * speed * conc as f64 * factor() / slower,
        "median_ttft": 0.02 / speed * factor() * slower,
        "median_tpot": 0.003 / speed * factor() * slower,
        "median_e2el": 3.1 / speed * factor() * slower,
        "median_intvty": 330.0 * speed * factor() / slower,
    });
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

fn each_record(options: &SynthOptions, mut emit: impl FnMut(usize, u32, serde_json::Map<String, serde_json::Value>)) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let noise = Normal::new(0.0, options.noise_pct / 100.0).unwrap_or_else(|_| Normal::new(0.0, 0.0).expect("0"));
    for config in 0..options.configs {
        let slower = match options.slower {
            Some((planted, pct)) if planted == config => 1.0 + pct / 100.0,
            _ => 1.0,
        };
        for repeat in 0..options.repeats {
            let mut factor = || (1.0 + noise.sample(&mut rng)).max(0.01);
            emit(config, repeat, record(config, &mut factor, slower));
        }
    }
}

fn task_suffix(config: usize, repeat: u32) -> String {
    let repeat = if repeat > 0 { format!("/repeat-{repeat}") } else { String::new() };
    format!("synth{}/1k1k/cfg{config}/local_0{repeat}", config / 32)
}

/// Writes a synthetic run into the state store at `dir`: per value a bench record (image,
/// script, raw result with a duration) and its result record (the aggregate).
pub fn write_store(dir: &Path, options: &SynthOptions) -> Result<usize, HistoryError> {
    let store_error =
        |e: crate::state::StateError| HistoryError::Store { dir: dir.to_path_buf(), cause: e.to_string() };
    let store = StateStore::open(dir).map_err(store_error)?;
    let mut written = 0;
    let mut failure = None;
    each_record(options, |config, repeat, fields| {
        if failure.is_some() {
            return;
        }
        let suffix = task_suffix(config, repeat);
        let salt = format!("{}:{}", options.seed, options.slower.map_or(0.0, |s| s.1));
        let bench_hash = file_digest(format!("bench/{suffix}/{salt}").as_bytes());
        let result_hash = file_digest(format!("result/{suffix}/{salt}").as_bytes());
        let entry =
            |name: &'static str, value: &str| ManifestEntry { name: name.into(), value: value.into(), origin: None };
        let bench = TaskRecord {
            id: format!("bench/{suffix}"),
            kind: "bench".into(),
            outcome: Outcome::Success,
            manifest: vec![
                entry("image", "synth:1 sha256:5e7e"),
                entry("script benchmarks/synth.sh", "blake3:0123abcd"),
            ],
            artifacts: vec![("raw.json".into(), ArtifactSource::Bytes(br#"{"duration": 12.5}"#.to_vec()))],
        };
        let result = TaskRecord {
            id: format!("result/{suffix}"),
            kind: "result".into(),
            outcome: Outcome::Success,
            manifest: vec![entry("upstream bench", &bench_hash.to_hex())],
            artifacts: vec![(
                "agg.json".into(),
                ArtifactSource::Bytes(serde_json::Value::Object(fields).to_string().into_bytes()),
            )],
        };
        match store.record(bench_hash, bench).and_then(|_| store.record(result_hash, result)) {
            Ok(_) => written += 1,
            Err(e) => failure = Some(e),
        }
    });
    match failure {
        Some(e) => Err(store_error(e)),
        None => Ok(written),
    }
}

/// A synthetic run as points (what an ingest of [`write_store`]'s store gives, without the
/// store), for timing the database.
pub fn points(options: &SynthOptions) -> Vec<Point> {
    let mut points = Vec::new();
    each_record(options, |config, repeat, fields| {
        let suffix = task_suffix(config, repeat);
        let record = serde_json::Value::Object(fields.clone()).to_string();
        points.push(Point {
            result_hash: file_digest(format!("result/{suffix}/{}", options.seed).as_bytes()).to_hex(),
            artifact: file_digest(record.as_bytes()).to_hex(),
            part: 0,
            kind: PointKind::Fixed,
            task_id: format!("result/{suffix}"),
            config_key: format!("synth{}", config / 32),
            identity: super::identity_of(&fields),
            repeat,
            bench_hash: None,
            image: "synth:1".into(),
            image_digest: Some("sha256:5e7e".into()),
            scripts: "benchmarks/synth.sh=blake3:0123abcd".into(),
            sweep_file: Some("configs/synth.yaml".into()),
            runner_node: "local_0".into(),
            started_at: Some("2026-12-05T07:00:00Z".into()),
            ended_at: Some("2026-12-05T07:00:13Z".into()),
            metrics: super::ingest::metrics_of(&fields),
            record,
        });
    });
    points
}
