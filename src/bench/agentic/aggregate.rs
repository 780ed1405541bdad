//! InferenceX's agentic aggregate (`$RESULT_FILENAME.json`, AGENTIC.md §5.4) and the validation
//! verdict (§5.5), computed from aiperf's artifact files so that `ix`'s own runs and upstream
//! artifacts go through the same code.
//!
//! Formulas and quirks are upstream's, kept for conformance: `tpot` = the ITL statistics,
//! `intvty.pXX` = 1/`itl.pXX`, population std, 1-s QPS windows without the partial last one,
//! `output_expected` looked up by (trace, turn) over top-level requests only, 5-decimal rounding
//! with integral values ≥ 1 written as integers. The run's identity (hardware, model, TP…) comes
//! from InferenceX's job environment ([`RunContext::from_env`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::record::{AgenticRecord, read_records};
use super::server_metrics;

/// The job identity the aggregate's top-level fields carry.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub hw: String,
    pub conc: u64,
    pub image: String,
    pub recipe_fingerprint: String,
    pub model: String,
    pub model_prefix: String,
    pub framework: String,
    pub precision: String,
    pub spec_decoding: String,
    pub disagg: bool,
    pub is_multinode: bool,
    pub tp: u64,
    pub ep: u64,
    pub dp_attention: String,
    pub kv_offloading: String,
    /// `KV_OFFLOAD_BACKEND_METADATA` (JSON) when offloading, else null.
    pub kv_offload_backend: Value,
    pub total_cpu_dram_gb: u64,
    pub pp: u64,
    pub dcp_size: u64,
    pub pcp_size: u64,
}

impl RunContext {
    /// Reads InferenceX's job variables (`RUNNER_TYPE`, `CONC`, `TP`, …) through `get`.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> RunContext {
        let text = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let number = |name: &str, default: u64| get(name).and_then(|v| v.trim().parse().ok()).unwrap_or(default);
        let flag = |name: &str| matches!(get(name).as_deref().map(str::trim), Some("true" | "1" | "True"));
        let kv_offloading = text("KV_OFFLOADING", "none");
        let kv_offload_backend = if kv_offloading == "none" {
            Value::Null
        } else {
            get("KV_OFFLOAD_BACKEND_METADATA")
                .and_then(|meta| serde_json::from_str(&meta).ok())
                .or_else(|| get("KV_OFFLOAD_BACKEND").map(|name| json!({"name": name})))
                .unwrap_or(Value::Null)
        };
        RunContext {
            hw: text("RUNNER_TYPE", ""),
            conc: number("CONC", 0),
            image: text("IMAGE", ""),
            recipe_fingerprint: text("RECIPE_FINGERPRINT", ""),
            model: text("MODEL", ""),
            model_prefix: text("MODEL_PREFIX", ""),
            framework: text("FRAMEWORK", ""),
            precision: text("PRECISION", ""),
            spec_decoding: text("SPEC_DECODING", "none"),
            disagg: flag("DISAGG"),
            is_multinode: flag("IS_MULTINODE"),
            tp: number("TP", 1),
            ep: number("EP_SIZE", 1),
            dp_attention: text("DP_ATTENTION", "false"),
            total_cpu_dram_gb: if kv_offloading == "none" { 0 } else { number("TOTAL_CPU_DRAM_GB", 0) },
            kv_offloading,
            kv_offload_backend,
            pp: number("PP_SIZE", 1),
            dcp_size: number("DCP_SIZE", 1),
            pcp_size: number("PCP_SIZE", 1),
        }
    }
}

/// Why the aggregate could not be computed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AggregateError {
    #[error("cannot read `{path}`: {source}")]
    #[diagnostic(
        code(ix::bench::agentic_artifacts),
        help("expected aiperf's artifact folder (profile_export.jsonl, profile_export_aiperf.json)")
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not valid JSON: {message}")]
    #[diagnostic(code(ix::bench::agentic_artifacts))]
    Json { path: PathBuf, message: String },
    #[error("{0}")]
    #[diagnostic(
        code(ix::bench::server_metrics_family),
        help("known families: vllm:, sglang:, llamacpp:, atom:, dynamo_")
    )]
    Metrics(String),
}

/// 5-decimal rounding; integral values with |v| ≥ 1 become integers (upstream's `_round`).
pub fn round(value: f64) -> Value {
    if !value.is_finite() {
        return Value::Null;
    }
    let rounded: f64 = format!("{value:.5}").parse().unwrap_or(value);
    if rounded.abs() >= 1.0 && rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        Value::from(rounded as i64)
    } else {
        Value::from(rounded)
    }
}

/// Rounds every float inside a value like the aggregate's (for fields `ix` adds).
pub fn round_value(value: Value) -> Value {
    round_all(value)
}

/// Rounds every float inside a value (integers stay).
fn round_all(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => round(n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => Value::Array(items.into_iter().map(round_all).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, round_all(v))).collect()),
        other => other,
    }
}

/// `pP`: linear interpolation at rank (n−1)·P/100 over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (sorted.len() - 1) as f64 * p / 100.0;
    let low = rank.floor() as usize;
    let high = low + 1;
    if high >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

fn population_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64).sqrt()
}

/// `{mean, p50, p75, p90, p95, std}` (unrounded); `None` when empty.
fn stats(values: &[f64]) -> Option<[f64; 6]> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    Some([
        mean,
        percentile(&sorted, 50.0),
        percentile(&sorted, 75.0),
        percentile(&sorted, 90.0),
        percentile(&sorted, 95.0),
        population_std(&sorted),
    ])
}

fn stats_json(values: &[f64]) -> Value {
    match stats(values) {
        Some([mean, p50, p75, p90, p95, std]) => {
            json!({"mean": mean, "p50": p50, "p75": p75, "p90": p90, "p95": p95, "std": std})
        }
        None => json!({}),
    }
}

/// `1/stats(x)` for mean and percentiles, `std` of the per-value reciprocals.
fn reciprocal_stats(values: &[f64]) -> Value {
    match stats(values) {
        Some([mean, p50, p75, p90, p95, _]) => {
            let inverse: Vec<f64> = values.iter().map(|v| 1.0 / v).collect();
            json!({"mean": 1.0 / mean, "p50": 1.0 / p50, "p75": 1.0 / p75, "p90": 1.0 / p90, "p95": 1.0 / p95,
                "std": population_std(&inverse)})
        }
        None => json!({}),
    }
}

/// 1-s windows of completions from the first end (the partial last window dropped).
fn qps(records: &[&AgenticRecord]) -> Value {
    let mut ends: Vec<f64> = records.iter().map(|r| r.end_ns as f64 / 1e9).collect();
    if ends.len() < 2 {
        return json!({});
    }
    ends.sort_by(f64::total_cmp);
    let (first, last) = (ends[0], ends[ends.len() - 1]);
    let mut samples = Vec::new();
    let mut window = 0.0;
    while first + window + 1.0 <= last {
        let (lo, hi) = (first + window, first + window + 1.0);
        samples.push(ends.iter().filter(|&&e| e >= lo && e < hi).count() as f64);
        window += 1.0;
    }
    let mut out = Map::new();
    out.insert("window_seconds".into(), 1.into());
    out.insert("samples".into(), samples.len().into());
    match stats(&samples) {
        Some([mean, p50, p75, p90, p95, std]) => {
            for (key, value) in [("mean", mean), ("p50", p50), ("p75", p75), ("p90", p90), ("p95", p95), ("std", std)] {
                out.insert(key.into(), value.into());
            }
        }
        None => {
            out.insert("mean".into(), (ends.len() as f64 / (last - first)).into());
        }
    }
    Value::Object(out)
}

/// Recorded output lengths by (trace id, top-level turn), for `output_expected`.
pub type ExpectedOutputs = HashMap<(String, usize), u64>;

/// Reads `out` of every top-level request of a Weka `traces.jsonl`.
pub fn expected_outputs(traces: &Path) -> ExpectedOutputs {
    let mut map = HashMap::new();
    let Ok(text) = std::fs::read_to_string(traces) else { return map };
    for line in text.lines() {
        let Ok(trace) = serde_json::from_str::<Value>(line) else { continue };
        let Some(id) = trace.get("id").and_then(Value::as_str) else { continue };
        let requests = trace.get("requests").and_then(Value::as_array).cloned().unwrap_or_default();
        let top = requests.iter().filter(|r| matches!(r.get("type").and_then(Value::as_str), Some("n" | "s")));
        for (turn, request) in top.enumerate() {
            if let Some(out) = request.get("out").and_then(Value::as_u64) {
                map.insert((id.to_owned(), turn), out);
            }
        }
    }
    map
}

/// The Hugging Face cache's `cc-traces-weka` snapshot, as upstream finds it.
pub fn find_cached_traces() -> Option<PathBuf> {
    let hub = std::env::var_os("HF_HUB_CACHE").map(PathBuf::from).or_else(|| {
        std::env::var_os("HF_HOME")
            .map(|home| PathBuf::from(home).join("hub"))
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/huggingface/hub")))
    })?;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&hub).ok()?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("datasets--semianalysisai--cc-traces-weka") {
            continue;
        }
        for snapshot in std::fs::read_dir(entry.path().join("snapshots")).into_iter().flatten().filter_map(Result::ok) {
            let candidate = snapshot.path().join("traces.jsonl");
            if candidate.is_file() {
                found.push(candidate);
            }
        }
    }
    found.sort();
    found.pop()
}

fn read_json(path: &Path) -> Result<Value, AggregateError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| AggregateError::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|err| AggregateError::Json { path: path.to_owned(), message: err.to_string() })
}

/// The aggregate of a result folder (`<dir>/aiperf_artifacts/…`, `<dir>/server.log`).
pub fn aggregate_dir(
    result_dir: &Path,
    context: &RunContext,
    expected: &ExpectedOutputs,
) -> Result<Value, AggregateError> {
    let artifacts = result_dir.join("aiperf_artifacts");
    let records_path = artifacts.join("profile_export.jsonl");
    let records =
        read_records(&records_path).map_err(|source| AggregateError::Read { path: records_path.clone(), source })?;
    let summary = read_json(&artifacts.join("profile_export_aiperf.json"))?;
    let metrics_path = artifacts.join("server_metrics_export.json");
    let metrics = if metrics_path.is_file() { Some(read_json(&metrics_path)?) } else { None };
    let logs = server_metrics::read_logs(result_dir);
    aggregate(&records, &summary, metrics.as_ref(), &logs, context, expected)
}

/// The §5.4 aggregate from parsed inputs.
pub fn aggregate(
    records: &[AgenticRecord],
    summary: &Value,
    server: Option<&Value>,
    logs: &str,
    context: &RunContext,
    expected: &ExpectedOutputs,
) -> Result<Value, AggregateError> {
    let mut warmup_dropped = 0u64;
    let mut error_dropped = 0u64;
    let mut categories: Map<String, Value> = Map::new();
    let mut kept: Vec<&AgenticRecord> = Vec::new();
    for record in records {
        if let Some(error) = &record.error {
            error_dropped += 1;
            let count = categories.get(&error.kind).and_then(Value::as_u64).unwrap_or(0);
            categories.insert(error.kind.clone(), (count + 1).into());
        } else if record.phase != "profiling" {
            warmup_dropped += 1;
        } else {
            kept.push(record);
        }
    }
    let ms = |f: fn(&AgenticRecord) -> Option<f64>| -> Vec<f64> {
        kept.iter().filter_map(|r| f(r)).filter(|v| v.is_finite() && *v > 0.0).map(|v| v / 1000.0).collect()
    };
    let ttft = ms(|r| r.ttft_ms);
    let e2el = ms(|r| r.latency_ms);
    let itl = ms(|r| r.itl_ms);
    let full_itl = ms(|r| r.full_itl_ms);
    let isl: Vec<f64> = kept.iter().filter_map(|r| r.input_tokens).map(|v| v as f64).collect();
    let osl: Vec<f64> = kept.iter().filter_map(|r| r.output_tokens).map(|v| v as f64).collect();
    let norm: Vec<f64> = kept
        .iter()
        .filter_map(|r| {
            let (latency, out) = (r.latency_ms? / 1000.0, r.output_tokens? as f64);
            (latency > 0.0 && out > 0.0).then_some(latency / out)
        })
        .collect();
    let output_expected: Vec<f64> = kept
        .iter()
        .filter_map(|r| {
            let trace = r.conversation_id.split("::").next().unwrap_or("");
            expected.get(&(trace.to_owned(), r.turn_index)).map(|&v| v as f64)
        })
        .collect();
    let start = kept.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = kept.iter().map(|r| r.end_ns).max().unwrap_or(0);
    let duration = end.saturating_sub(start) as f64 / 1e9;
    let (sum_in, sum_out): (f64, f64) = (isl.iter().sum(), osl.iter().sum());
    let per_second = |total: f64| if duration > 0.0 { total / duration } else { 0.0 };
    let gpus = (context.tp * context.pp * context.pcp_size).max(1) as f64;
    let theoretical = summary.get("theoretical_prefix_cache_hit");
    let theoretical_rate = theoretical.and_then(|t| {
        match (t.get("sum").and_then(Value::as_f64), t.get("count").and_then(Value::as_f64)) {
            (Some(sum), Some(count)) if count > 0.0 => Some(sum / count),
            _ => t.get("avg").and_then(Value::as_f64).map(|avg| avg / 100.0),
        }
    });
    let mut cache = Map::new();
    cache.insert("theoretical_cache_hit_rate".into(), theoretical_rate.map_or(Value::Null, Value::from));
    let request_metrics = json!({
        "qps": qps(&kept),
        "latency": {
            "ttft": stats_json(&ttft),
            "e2el": stats_json(&e2el),
            "itl": stats_json(&itl),
            "tpot": stats_json(&itl),
            "intvty": reciprocal_stats(&itl),
            "e2e_norm_intvty": reciprocal_stats(&norm),
            "full_response_itl": stats_json(&full_itl),
            "full_response_intvty": reciprocal_stats(&full_itl),
        },
        "tokens": {
            "input": stats_json(&isl),
            "output_actual": stats_json(&osl),
            "output_expected": stats_json(&output_expected),
        },
        "throughput": {
            "input": {"tokens_per_second": per_second(sum_in)},
            "output": {"tokens_per_second": per_second(sum_out)},
            "total": {"tokens_per_second": per_second(sum_in + sum_out)},
            "duration_seconds": duration,
            "per_gpu": {
                "total_tput_tps": per_second(sum_in + sum_out) / gpus,
                "output_tput_tps": per_second(sum_out) / gpus,
                "input_tput_tps": per_second(sum_in) / gpus,
            },
        },
        "cache": cache,
    });
    let server =
        server_metrics::summarize(server, logs, &context.framework, kept.len() as u64, sum_in as u64, sum_out as u64)
            .map_err(AggregateError::Metrics)?;
    let pool = server.pointer("/kv_cache/gpu_total_tokens").cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("hw".into(), context.hw.clone().into());
    out.insert("conc".into(), context.conc.into());
    out.insert("image".into(), context.image.clone().into());
    out.insert("recipe_fingerprint".into(), context.recipe_fingerprint.clone().into());
    out.insert("model".into(), context.model.clone().into());
    out.insert("infmax_model_prefix".into(), context.model_prefix.clone().into());
    out.insert("framework".into(), context.framework.clone().into());
    out.insert("precision".into(), context.precision.clone().into());
    out.insert("spec_decoding".into(), context.spec_decoding.clone().into());
    out.insert("disagg".into(), context.disagg.into());
    out.insert("scenario_type".into(), "agentic-coding".into());
    out.insert("is_multinode".into(), context.is_multinode.into());
    out.insert("tp".into(), context.tp.into());
    out.insert("ep".into(), context.ep.into());
    out.insert("dp_attention".into(), context.dp_attention.clone().into());
    out.insert("kv_offloading".into(), context.kv_offloading.clone().into());
    out.insert("kv_offload_backend".into(), context.kv_offload_backend.clone());
    out.insert("allocated_cpu_dram_gb".into(), context.total_cpu_dram_gb.into());
    out.insert("num_requests_total".into(), records.len().into());
    out.insert("num_requests_successful".into(), kept.len().into());
    out.insert(
        "request_accounting".into(),
        json!({
            "records_total": records.len(),
            "records_profiled": kept.len(),
            "records_dropped_total": warmup_dropped + error_dropped,
            "records_warmup_dropped": warmup_dropped,
            "records_error_dropped": error_dropped,
            "error_categories": categories,
        }),
    );
    out.insert("pp".into(), context.pp.into());
    out.insert("dcp_size".into(), context.dcp_size.into());
    out.insert("pcp_size".into(), context.pcp_size.into());
    if let Some(dataset) = summary.pointer("/metadata/dataset") {
        out.insert("dataset".into(), dataset.clone());
    }
    out.insert("request_metrics".into(), request_metrics);
    out.insert("server_metrics".into(), server);
    out.insert("kv_cache_pool_tokens".into(), pool);
    Ok(round_all(Value::Object(out)))
}

/// The §5.5 verdict on `profile_export_aiperf.json`: errors/completed ≤ threshold (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub errors: u64,
    pub completed: u64,
    pub message: String,
}

/// Validates a run summary against the failed-request threshold.
pub fn validate(summary: &Value, threshold: f64) -> Verdict {
    let number = |key: &str| summary.get(key).and_then(|m| m.get("avg")).and_then(Value::as_f64);
    let successes = number("request_count").filter(|v| v.is_finite() && *v >= 0.0);
    let Some(successes) = successes else {
        return Verdict {
            passed: false,
            errors: 0,
            completed: 0,
            message: "ERROR: `request_count.avg` is missing or invalid".into(),
        };
    };
    let errors = number("error_request_count").unwrap_or(0.0).max(0.0);
    let completed = number("completed_request_count").unwrap_or(successes + errors);
    let (errors_n, completed_n) = (errors as u64, completed as u64);
    if completed <= 0.0 {
        return Verdict {
            passed: false,
            errors: errors_n,
            completed: completed_n,
            message: "ERROR: no request completed".into(),
        };
    }
    let rate = errors / completed;
    let passed = rate <= threshold;
    let message = if passed {
        format!(
            "Validated aiperf request error rate: {errors_n}/{completed_n} = {:.3}% <= {:.3}%",
            rate * 100.0,
            threshold * 100.0
        )
    } else {
        format!(
            "ERROR: aiperf request error rate exceeded the benchmark limit: {errors_n}/{completed_n} = {:.3}% > {:.3}%",
            rate * 100.0,
            threshold * 100.0
        )
    };
    Verdict { passed, errors: errors_n, completed: completed_n, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "../shared/reference/agentic";

    fn context(framework: &str) -> RunContext {
        let vars: HashMap<&str, &str> = [
            ("MODEL", "synthetic/tiny"),
            ("MODEL_PREFIX", "synth"),
            ("PRECISION", "fp8"),
            ("TP", "2"),
            ("PP_SIZE", "1"),
            ("DCP_SIZE", "1"),
            ("PCP_SIZE", "1"),
            ("EP_SIZE", "1"),
            ("DP_ATTENTION", "false"),
            ("CONC", "4"),
            ("RUNNER_TYPE", "cpu-sim"),
            ("IMAGE", "ix-sim"),
            ("RECIPE_FINGERPRINT", ""),
            ("SPEC_DECODING", "none"),
            ("DISAGG", "false"),
            ("IS_MULTINODE", "false"),
            ("FRAMEWORK", framework),
        ]
        .into_iter()
        .collect();
        let mut vars: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        if framework == "sglang" {
            vars.insert("KV_OFFLOADING".into(), "dram".into());
            vars.insert("KV_OFFLOAD_BACKEND".into(), "hicache".into());
            vars.insert("KV_OFFLOAD_BACKEND_METADATA".into(), r#"{"name":"hicache"}"#.into());
            vars.insert("TOTAL_CPU_DRAM_GB".into(), "64".into());
        } else {
            vars.insert("KV_OFFLOADING".into(), "none".into());
        }
        RunContext::from_env(&|name| vars.get(name).cloned())
    }

    /// Key-for-key equality, reporting the first differing path.
    fn assert_same(got: &Value, want: &Value, path: &str) {
        match (got, want) {
            (Value::Object(a), Value::Object(b)) => {
                let keys_a: Vec<&String> = a.keys().collect();
                let keys_b: Vec<&String> = b.keys().collect();
                assert_eq!(keys_a, keys_b, "keys at {path}");
                for (key, value) in b {
                    assert_same(&a[key], value, &format!("{path}.{key}"));
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                assert_eq!(a.len(), b.len(), "length at {path}");
                for (idx, (x, y)) in a.iter().zip(b).enumerate() {
                    assert_same(x, y, &format!("{path}[{idx}]"));
                }
            }
            _ => assert_eq!(got, want, "value at {path}"),
        }
    }

    #[test]
    fn aggregate_equals_upstream_for_vllm_and_sglang_runs() {
        let expected = expected_outputs(Path::new(&format!("{REFERENCE}/traces.jsonl")));
        for framework in ["vllm", "sglang"] {
            let dir = PathBuf::from(format!("{REFERENCE}/run-{framework}"));
            let got = aggregate_dir(&dir, &context(framework), &expected).expect("aggregate");
            let want: Value = serde_json::from_str(
                &std::fs::read_to_string(format!("{REFERENCE}/run-{framework}.expected.json")).expect("expected"),
            )
            .expect("json");
            assert_same(&got, &want, framework);
        }
    }

    #[test]
    fn validation_is_inclusive_and_reports_the_rate() {
        let summary =
            read_json(Path::new(&format!("{REFERENCE}/run-vllm/aiperf_artifacts/profile_export_aiperf.json")))
                .expect("summary");
        let pass = validate(&summary, 0.10);
        assert!(pass.passed);
        assert_eq!(pass.message, "Validated aiperf request error rate: 2/51 = 3.922% <= 10.000%");
        let fail = validate(&summary, 0.03);
        assert!(!fail.passed);
        assert_eq!(
            fail.message,
            "ERROR: aiperf request error rate exceeded the benchmark limit: 2/51 = 3.922% > 3.000%"
        );
        // Equal passes (the gate is inclusive).
        let edge = json!({"request_count": {"avg": 9}, "error_request_count": {"avg": 1}});
        assert!(validate(&edge, 0.10).passed);
        assert!(!validate(&json!({}), 0.10).passed);
    }

    #[test]
    fn rounding_follows_upstream() {
        assert_eq!(round(2.0), json!(2));
        assert_eq!(round(0.123456), json!(0.12346));
        assert_eq!(round(1202.74880001), json!(1202.7488));
        assert_eq!(round(0.0), json!(0.0));
    }
}
