//! The result file: the reference's JSON object, key for key and in its order
//! (LOAD-GENERATOR.md §8.2), plus `ix`'s own additions nested under one `ix` key.
//!
//! The top-level key names are a contract read by InferenceX's `process_result.py` (every key
//! ending in `ms` and every key containing `tpot` is picked up), so additions never go at the top
//! level. This is the serialization edge: durations become seconds or milliseconds only here.

use serde_json::{Map, Value, json};

use super::RunRecord;
use super::metrics::Metric;

/// What the result file echoes from the command line.
#[derive(Debug, Clone)]
pub struct ResultHeader {
    pub date: String,
    pub backend: String,
    pub model_id: String,
    pub tokenizer_id: String,
    pub best_of: u32,
    pub num_prompts: usize,
    pub metadata: Vec<(String, String)>,
    pub request_rate: f64,
    pub burstiness: f64,
    pub max_concurrency: Option<usize>,
    pub selected_metrics: Vec<Metric>,
    pub percentiles: Vec<f64>,
    pub save_detailed: bool,
}

/// `p99`, `p99.9`: the integer when the percentile is whole.
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 { format!("{}", p as i64) } else { format!("{p}") }
}

/// The current local time as `YYYYMMDD-HHMMSS`.
pub fn local_date() -> String {
    // SAFETY: time/localtime_r write only into the values we own.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return "19700101-000000".into();
        }
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    }
}

/// The reference's default file name: `<backend>-<rate>qps[-concurrency<C>]-<model>-<date>.json`.
pub fn default_file_name(header: &ResultHeader) -> String {
    let rate = if header.request_rate.is_finite() { format!("{:?}", header.request_rate) } else { "inf".into() };
    let model = header.model_id.rsplit('/').next().unwrap_or(&header.model_id);
    let concurrency = header.max_concurrency.map(|c| format!("-concurrency{c}")).unwrap_or_default();
    format!("{}-{rate}qps{concurrency}-{model}-{}.json", header.backend, header.date)
}

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// Builds the result object.
pub fn result_json(header: &ResultHeader, record: &RunRecord) -> Value {
    let metrics = &record.metrics;
    let mut out = Map::new();
    out.insert("date".into(), header.date.clone().into());
    out.insert("backend".into(), header.backend.clone().into());
    out.insert("model_id".into(), header.model_id.clone().into());
    out.insert("tokenizer_id".into(), header.tokenizer_id.clone().into());
    out.insert("best_of".into(), header.best_of.into());
    out.insert("num_prompts".into(), header.num_prompts.into());
    for (key, value) in &header.metadata {
        out.insert(key.clone(), value.clone().into());
    }
    out.insert(
        "request_rate".into(),
        if header.request_rate.is_finite() { float(header.request_rate) } else { "inf".into() },
    );
    out.insert("burstiness".into(), float(header.burstiness));
    out.insert("max_concurrency".into(), header.max_concurrency.map_or(Value::Null, |c| c.into()));
    out.insert("duration".into(), float(record.duration.as_secs_f64()));
    out.insert("completed".into(), metrics.completed.into());
    out.insert("total_input_tokens".into(), metrics.total_input_tokens.into());
    out.insert("total_output_tokens".into(), metrics.total_output_tokens.into());
    out.insert("request_throughput".into(), float(metrics.request_throughput));
    out.insert("request_goodput:".into(), metrics.request_goodput.map_or(Value::Null, float));
    out.insert("output_throughput".into(), float(metrics.output_throughput));
    out.insert("total_token_throughput".into(), float(metrics.total_token_throughput));
    if header.save_detailed {
        let requests = &record.requests;
        out.insert("input_lens".into(), requests.iter().map(|r| r.prompt_len).collect());
        out.insert("output_lens".into(), requests.iter().map(|r| r.output_tokens).collect());
        let ok = |r: &&super::RequestRecord| r.outcome.error.is_none();
        out.insert(
            "ttfts".into(),
            requests.iter().map(|r| if ok(&r) { float(r.outcome.ttft.as_secs_f64()) } else { float(0.0) }).collect(),
        );
        out.insert(
            "itls".into(),
            requests
                .iter()
                .map(|r| Value::Array(r.outcome.itl_s.iter().map(|gap| float(f64::from(*gap))).collect()))
                .collect(),
        );
        out.insert(
            "generated_texts".into(),
            requests.iter().map(|r| Value::String(r.outcome.generated_text.clone())).collect(),
        );
        out.insert(
            "errors".into(),
            requests
                .iter()
                .map(|r| Value::String(r.outcome.error.as_ref().map(|e| e.message.clone()).unwrap_or_default()))
                .collect(),
        );
    }
    for metric in Metric::ALL {
        if !header.selected_metrics.contains(&metric) {
            continue;
        }
        let stats = metrics.stats(metric);
        let key = metric.key();
        out.insert(format!("mean_{key}_ms"), float(stats.mean));
        out.insert(format!("median_{key}_ms"), float(stats.median));
        out.insert(format!("std_{key}_ms"), float(stats.std));
        for (p, value) in &stats.percentiles {
            out.insert(format!("p{}_{key}_ms", percentile_label(*p)), float(*value));
        }
    }
    out.insert("ix".into(), ix_extras(header, record));
    Value::Object(out)
}

/// `ix`'s additions: failures by category, token-count source, client self-diagnosis and the
/// per-request timing of the schedule (only with detail).
fn ix_extras(header: &ResultHeader, record: &RunRecord) -> Value {
    let diagnostics = &record.diagnostics;
    let ms = |d: std::time::Duration| float(d.as_secs_f64() * 1000.0);
    let mut extras = Map::new();
    extras.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    extras.insert("sent".into(), record.requests.len().into());
    extras.insert("failed".into(), record.failed.into());
    extras.insert("errors_by_kind".into(), json!(record.errors_by_kind));
    // Successes the reference counts but that deserve a look: streams cut before `[DONE]`, and
    // `{"error": …}` events inside a 200 stream (requests with at least one).
    let successes = || record.requests.iter().filter(|r| r.outcome.error.is_none());
    extras.insert("incomplete_streams".into(), successes().filter(|r| r.outcome.incomplete_stream).count().into());
    extras.insert("error_events".into(), successes().filter(|r| r.outcome.error_events > 0).count().into());
    extras.insert("output_tokens_source".into(), record.output_tokens_source.name().into());
    extras.insert("server_prompt_tokens".into(), record.server_prompt_tokens.map_or(Value::Null, Value::from));
    extras.insert("streamed".into(), record.streamed.into());
    if let Some(error) = &record.profile_stop_error {
        extras.insert("profile_stop_error".into(), error.clone().into());
    }
    extras.insert("client_saturated".into(), diagnostics.saturated.into());
    extras.insert("client_cpu_utilization".into(), float(diagnostics.cpu_utilization));
    extras.insert("loop_lag_p99_ms".into(), ms(diagnostics.loop_lag_p99));
    extras.insert("loop_lag_max_ms".into(), ms(diagnostics.loop_lag_max));
    extras.insert("dispatch_lag_p99_ms".into(), ms(diagnostics.dispatch_lag_p99));
    let connects: Vec<f64> =
        record.requests.iter().filter_map(|r| r.outcome.connect).map(|d| d.as_secs_f64() * 1000.0).collect();
    extras.insert("new_connections".into(), connects.len().into());
    extras.insert(
        "mean_connect_ms".into(),
        if connects.is_empty() { Value::Null } else { float(connects.iter().sum::<f64>() / connects.len() as f64) },
    );
    let mut waits: Vec<f64> = record.requests.iter().map(|r| r.slot_wait.as_secs_f64() * 1000.0).collect();
    waits.sort_by(f64::total_cmp);
    extras.insert("mean_slot_wait_ms".into(), float(waits.iter().sum::<f64>() / waits.len().max(1) as f64));
    extras.insert("p99_slot_wait_ms".into(), float(super::metrics::percentile(&waits, 99.0)));
    if header.save_detailed {
        let requests = &record.requests;
        extras.insert("scheduled_s".into(), requests.iter().map(|r| float(r.scheduled.as_secs_f64())).collect());
        extras.insert("sent_s".into(), requests.iter().map(|r| float(r.sent.as_secs_f64())).collect());
        extras.insert("slot_wait_s".into(), requests.iter().map(|r| float(r.slot_wait.as_secs_f64())).collect());
        extras.insert(
            "connect_s".into(),
            requests.iter().map(|r| r.outcome.connect.map_or(Value::Null, |d| float(d.as_secs_f64()))).collect(),
        );
        extras.insert(
            "error_kinds".into(),
            requests
                .iter()
                .map(|r| r.outcome.error.as_ref().map_or(Value::Null, |e| Value::from(e.kind.name())))
                .collect(),
        );
    }
    Value::Object(extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(rate: f64, concurrency: Option<usize>) -> ResultHeader {
        ResultHeader {
            date: "20261128-120000".into(),
            backend: "vllm".into(),
            model_id: "org/Model-7B".into(),
            tokenizer_id: "org/Model-7B".into(),
            best_of: 1,
            num_prompts: 10,
            metadata: Vec::new(),
            request_rate: rate,
            burstiness: 1.0,
            max_concurrency: concurrency,
            selected_metrics: Vec::new(),
            percentiles: vec![99.0],
            save_detailed: false,
        }
    }

    #[test]
    fn default_file_name_follows_the_reference() {
        assert_eq!(
            default_file_name(&header(f64::INFINITY, Some(64))),
            "vllm-infqps-concurrency64-Model-7B-20261128-120000.json"
        );
        assert_eq!(default_file_name(&header(2.0, None)), "vllm-2.0qps-Model-7B-20261128-120000.json");
    }

    #[test]
    fn percentile_labels() {
        assert_eq!(percentile_label(99.0), "99");
        assert_eq!(percentile_label(99.9), "99.9");
    }
}
