//! Per-request records of an agentic replay and aiperf's artifact files made from them
//! (AGENTIC.md §5.1-5.2): `profile_export.jsonl` (one record per request, completion order) and
//! `profile_export_aiperf.json` (the run aggregate InferenceX reads).
//!
//! Owns the record type, its JSON shape and reading it back (the aggregate is computed from the
//! files, so `ix` and upstream artifacts go through the same code). Times are wall-clock ns only
//! here, at the serialization edge.

use std::path::Path;

use serde_json::{Value, json};

/// A failed request's error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub code: Option<u16>,
    pub kind: String,
    pub message: String,
}

/// One request of a replay, as written to `profile_export.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgenticRecord {
    pub session_num: u64,
    pub x_correlation_id: String,
    pub root_correlation_id: String,
    pub conversation_id: String,
    pub turn_index: usize,
    pub start_ns: u64,
    pub ack_ns: Option<u64>,
    pub end_ns: u64,
    /// When the schedule wanted the request sent (ix field: replay fidelity).
    pub scheduled_ns: Option<u64>,
    pub worker_id: String,
    pub phase: String,
    pub was_cancelled: bool,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub ttft_ms: Option<f64>,
    pub latency_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    pub full_itl_ms: Option<f64>,
    pub usage_prompt_tokens: Option<u64>,
    pub usage_completion_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    /// Client-side theoretical prefix-cache blocks (hit, total) of §5.2.
    pub theoretical: Option<(u32, u32)>,
    pub error: Option<RecordError>,
}

/// `{session:08x}-0000-4000-8000-{lane:012x}`: a stable UUID-shaped id per conversation play.
pub fn correlation_id(session_num: u64, lane: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", session_num & 0xFFFF_FFFF, lane)
}

fn metric(value: Value, unit: &str) -> Value {
    json!({"value": value, "unit": unit})
}

impl AgenticRecord {
    /// The aiperf record shape (plus `ix_*` metadata that upstream readers ignore).
    pub fn to_json(&self) -> Value {
        let mut metadata = serde_json::Map::new();
        metadata.insert("session_num".into(), self.session_num.into());
        metadata.insert("x_correlation_id".into(), self.x_correlation_id.clone().into());
        metadata.insert("root_correlation_id".into(), self.root_correlation_id.clone().into());
        metadata.insert("conversation_id".into(), self.conversation_id.clone().into());
        metadata.insert("turn_index".into(), self.turn_index.into());
        metadata.insert("request_start_ns".into(), self.start_ns.into());
        metadata.insert("request_ack_ns".into(), self.ack_ns.map_or(Value::Null, Value::from));
        metadata.insert("worker_id".into(), self.worker_id.clone().into());
        metadata.insert("benchmark_phase".into(), self.phase.clone().into());
        metadata.insert("was_cancelled".into(), self.was_cancelled.into());
        metadata
            .insert("cancellation_time_ns".into(), if self.was_cancelled { self.end_ns.into() } else { Value::Null });
        metadata.insert("request_end_ns".into(), self.end_ns.into());
        if let Some(scheduled) = self.scheduled_ns {
            metadata.insert("ix_scheduled_start_ns".into(), scheduled.into());
        }
        let mut metrics = serde_json::Map::new();
        let mut put_tokens = |name: &str, value: Option<u64>| {
            if let Some(value) = value {
                metrics.insert(name.into(), metric(value.into(), "tokens"));
            }
        };
        put_tokens("input_sequence_length", self.input_tokens);
        if self.error.is_none() {
            put_tokens("output_sequence_length", self.output_tokens);
        }
        let mut put_ms = |name: &str, value: Option<f64>| {
            if let Some(value) = value {
                metrics.insert(name.into(), metric(value.into(), "ms"));
            }
        };
        if self.error.is_none() {
            put_ms("time_to_first_token", self.ttft_ms);
            put_ms("request_latency", self.latency_ms);
            put_ms("inter_token_latency", self.itl_ms);
            put_ms("full_response_inter_token_latency", self.full_itl_ms);
            let mut put_tokens = |name: &str, value: Option<u64>| {
                if let Some(value) = value {
                    metrics.insert(name.into(), metric(value.into(), "tokens"));
                }
            };
            put_tokens("usage_prompt_tokens", self.usage_prompt_tokens);
            put_tokens("usage_completion_tokens", self.usage_completion_tokens);
            put_tokens("usage_prompt_cache_read_tokens", self.cached_tokens);
        }
        if let Some((hit, total)) = self.theoretical {
            metrics.insert("ix_theoretical_prefix_cache_hit_blocks".into(), metric(hit.into(), "blocks"));
            metrics.insert("ix_theoretical_prefix_cache_total_blocks".into(), metric(total.into(), "blocks"));
        }
        let error = match &self.error {
            Some(error) => json!({"code": error.code, "type": error.kind, "message": error.message}),
            None => Value::Null,
        };
        json!({"metadata": metadata, "metrics": metrics, "error": error})
    }

    /// Reads a record written by `to_json` or by aiperf. `None` for a line that is not one.
    pub fn from_json(value: &Value) -> Option<AgenticRecord> {
        let metadata = value.get("metadata")?;
        let metrics = value.get("metrics").cloned().unwrap_or(Value::Null);
        let number = |name: &str| metrics.get(name).and_then(|m| m.get("value")).and_then(Value::as_f64);
        let tokens = |name: &str| number(name).map(|v| v.max(0.0) as u64);
        let text = |name: &str| metadata.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        let error = match value.get("error") {
            None | Some(Value::Null) => None,
            Some(error) => Some(RecordError {
                code: error.get("code").and_then(Value::as_u64).map(|c| c as u16),
                kind: error_category(error),
                message: error.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            }),
        };
        let hit = tokens("ix_theoretical_prefix_cache_hit_blocks");
        let total = tokens("ix_theoretical_prefix_cache_total_blocks");
        Some(AgenticRecord {
            session_num: metadata.get("session_num").and_then(Value::as_u64).unwrap_or(0),
            x_correlation_id: text("x_correlation_id"),
            root_correlation_id: text("root_correlation_id"),
            conversation_id: text("conversation_id"),
            turn_index: metadata.get("turn_index").and_then(Value::as_u64).unwrap_or(0) as usize,
            start_ns: metadata.get("request_start_ns").and_then(Value::as_u64).unwrap_or(0),
            ack_ns: metadata.get("request_ack_ns").and_then(Value::as_u64),
            end_ns: metadata.get("request_end_ns").and_then(Value::as_u64).unwrap_or(0),
            scheduled_ns: metadata.get("ix_scheduled_start_ns").and_then(Value::as_u64),
            worker_id: text("worker_id"),
            phase: metadata.get("benchmark_phase").and_then(Value::as_str).unwrap_or("profiling").to_owned(),
            was_cancelled: metadata.get("was_cancelled").and_then(Value::as_bool).unwrap_or(false),
            input_tokens: tokens("input_sequence_length"),
            output_tokens: tokens("output_sequence_length"),
            ttft_ms: number("time_to_first_token"),
            latency_ms: number("request_latency"),
            itl_ms: number("inter_token_latency"),
            full_itl_ms: number("full_response_inter_token_latency"),
            usage_prompt_tokens: tokens("usage_prompt_tokens"),
            usage_completion_tokens: tokens("usage_completion_tokens"),
            cached_tokens: tokens("usage_prompt_cache_read_tokens"),
            theoretical: hit.zip(total).map(|(h, t)| (h as u32, t as u32)),
            error,
        })
    }
}

/// Error type of a context-length failure (§4.6): its own category in the aggregate's
/// `error_categories` and in `context_overflow_count`.
pub const CONTEXT_OVERFLOW: &str = "context_overflow";

/// §5.4's category: the first non-empty `type|error_type|code|class|status`, else the message's
/// first line up to `:` (at most 120 characters).
pub fn error_category(error: &Value) -> String {
    for key in ["type", "error_type", "code", "class", "status"] {
        match error.get(key) {
            Some(Value::String(text)) if !text.trim().is_empty() => return text.trim().to_owned(),
            Some(Value::Number(n)) => return n.to_string(),
            _ => {}
        }
    }
    let message = error.get("message").and_then(Value::as_str).unwrap_or("unknown");
    let first = message.lines().next().unwrap_or("").split(':').next().unwrap_or("").trim();
    let first = if first.is_empty() { "unknown" } else { first };
    first.chars().take(120).collect()
}

/// Reads `profile_export.jsonl`. Lines that are not records are skipped.
pub fn read_records(path: &Path) -> std::io::Result<Vec<AgenticRecord>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| AgenticRecord::from_json(&value))
        .collect())
}

/// Writes `profile_export.jsonl` (records in the order given).
pub fn write_records(path: &Path, records: &[AgenticRecord]) -> std::io::Result<()> {
    let mut text = String::new();
    for record in records {
        text.push_str(&record.to_json().to_string());
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// The run aggregate aiperf writes (`profile_export_aiperf.json`): what InferenceX reads.
pub fn aiperf_summary(
    records: &[AgenticRecord],
    duration_s: f64,
    dataset: &Value,
    submission_valid: bool,
    invalid_reasons: &[String],
) -> Value {
    let profiling = records.iter().filter(|r| r.phase == "profiling" && !r.was_cancelled);
    let (mut ok, mut errors, mut hit, mut total, mut overflows) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for record in profiling {
        if let Some(error) = &record.error {
            errors += 1;
            if error.kind == CONTEXT_OVERFLOW {
                overflows += 1;
            }
        } else {
            ok += 1;
            if let Some((h, t)) = record.theoretical {
                hit += u64::from(h);
                total += u64::from(t);
            }
        }
    }
    let avg = if total > 0 { hit as f64 * 100.0 / total as f64 } else { 0.0 };
    // §4.6: context overflows above 1 % of the responses invalidate the submission.
    let mut reasons = invalid_reasons.to_vec();
    let overflow_exceeded = overflows as f64 > 0.01 * (ok + errors) as f64;
    if overflow_exceeded {
        reasons.push("context_overflow_rate_exceeded".to_owned());
    }
    let submission_valid = submission_valid && !overflow_exceeded;
    json!({
        "request_count": {"tag": "request_count", "header": "Request Count", "unit": "requests", "avg": ok},
        "error_request_count": {"tag": "error_request_count", "header": "Error Request Count", "unit": "requests", "avg": errors},
        "completed_request_count": {"tag": "completed_request_count", "header": "Completed Request Count", "unit": "requests", "avg": ok + errors},
        "context_overflow_count": {"tag": "context_overflow_count", "header": "Context Overflow Count", "unit": "requests", "avg": overflows},
        "benchmark_duration": {"tag": "benchmark_duration", "header": "Benchmark Duration", "unit": "sec", "avg": duration_s},
        "theoretical_prefix_cache_hit": {
            "tag": "theoretical_prefix_cache_hit", "header": "Theoretical Prefix Cache Hit", "unit": "%",
            "avg": avg, "current": avg, "sum": hit, "count": total
        },
        "metadata": {
            "scenario": "inferencex-agentx-mvp",
            "submission_valid": submission_valid,
            "submission_invalid_reasons": reasons,
            "dataset": dataset,
        }
    })
}

/// The client's own 1 s series (AGENTIC.md §5.7), readable without server metrics: per
/// window from `origin_ns`, the completions (successful and failed) ending in it, their input
/// and output tokens, and the requests and session trees (a root's first start to its last end)
/// active at any time in it. Warm-up requests count too (the phase boundary is a window edge
/// only by chance); `client_timeslices.json` beside the aiperf artifacts.
pub fn client_timeslices(records: &[AgenticRecord], origin_ns: u64, slice_s: f64) -> Value {
    let slice_ns = (slice_s.max(0.001) * 1e9) as u64;
    let index = |ns: u64| (ns.saturating_sub(origin_ns) / slice_ns) as usize;
    let Some(last) = records.iter().map(|r| r.end_ns.max(r.start_ns)).max() else {
        return json!({"slice_duration": slice_s, "slices": []});
    };
    let n = index(last) + 1;
    let (mut done, mut errors, mut input, mut output) = (vec![0u64; n], vec![0u64; n], vec![0u64; n], vec![0u64; n]);
    let mut active = vec![0i64; n + 1];
    let mut trees: std::collections::HashMap<&str, (u64, u64)> = std::collections::HashMap::new();
    for record in records {
        let end = index(record.end_ns.max(record.start_ns));
        done[end] += 1;
        if record.error.is_some() {
            errors[end] += 1;
        } else {
            input[end] += record.input_tokens.unwrap_or(0);
            output[end] += record.output_tokens.unwrap_or(0);
        }
        active[index(record.start_ns)] += 1;
        active[end + 1] -= 1;
        let tree = trees.entry(record.root_correlation_id.as_str()).or_insert((record.start_ns, record.end_ns));
        tree.0 = tree.0.min(record.start_ns);
        tree.1 = tree.1.max(record.end_ns);
    }
    let mut tree_active = vec![0i64; n + 1];
    for (start, end) in trees.values() {
        tree_active[index(*start)] += 1;
        tree_active[index((*end).max(*start)) + 1] -= 1;
    }
    let (mut requests_now, mut trees_now) = (0i64, 0i64);
    let slices: Vec<Value> = (0..n)
        .map(|i| {
            requests_now += active[i];
            trees_now += tree_active[i];
            json!({
                "start": i as f64 * slice_s,
                "completions": done[i],
                "errors": errors[i],
                "input_tokens": input[i],
                "output_tokens": output[i],
                "active_requests": requests_now,
                "active_trees": trees_now,
            })
        })
        .collect();
    json!({"slice_duration": slice_s, "origin_ns": origin_ns, "slices": slices})
}

/// Per-tree timelines (AGENTIC.md §5.7): one entry per play (root correlation id), in start
/// order: its lane, root conversation, first start and last end (ns), the phases it sent in,
/// its requests and failures.
pub fn client_timelines(records: &[AgenticRecord]) -> Value {
    let mut trees: Vec<(&str, Vec<&AgenticRecord>)> = Vec::new();
    let mut by_root: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for record in records {
        let idx = *by_root.entry(record.root_correlation_id.as_str()).or_insert_with(|| {
            trees.push((record.root_correlation_id.as_str(), Vec::new()));
            trees.len() - 1
        });
        trees[idx].1.push(record);
    }
    let mut out: Vec<Value> = trees
        .into_iter()
        .map(|(tree, members)| {
            let start = members.iter().map(|r| r.start_ns).min().unwrap_or(0);
            let end = members.iter().map(|r| r.end_ns).max().unwrap_or(0);
            let lane = u64::from_str_radix(tree.rsplit('-').next().unwrap_or(""), 16).ok();
            let root = members.iter().find(|r| !r.conversation_id.contains("::")).unwrap_or(&members[0]);
            let root_conversation = root.conversation_id.split("::").next().unwrap_or("").to_owned();
            let mut phases: Vec<&str> = members.iter().map(|r| r.phase.as_str()).collect();
            phases.sort_unstable();
            phases.dedup();
            json!({
                "tree": tree,
                "lane": lane,
                "trace": root_conversation,
                "start_ns": start,
                "end_ns": end,
                "phases": phases,
                "requests": members.len(),
                "errors": members.iter().filter(|r| r.error.is_some()).count(),
            })
        })
        .collect();
    out.sort_by_key(|tree| tree["start_ns"].as_u64());
    Value::Array(out)
}

/// TTFT against context length (AGENTIC.md §5.7; the report's "TTFT vs context length"):
/// successful profiling records sorted by input length, cut into `bins` groups of equal count
/// (fewer when there are fewer records), each `{context_tokens_mean, ttft_p50_ms, requests}`.
pub fn ttft_by_context_length(records: &[AgenticRecord], bins: usize) -> Value {
    let mut points: Vec<(u64, f64)> = records
        .iter()
        .filter(|r| r.phase == "profiling" && r.error.is_none())
        .filter_map(|r| Some((r.input_tokens?, r.ttft_ms.filter(|t| t.is_finite())?)))
        .collect();
    points.sort_by_key(|&(isl, _)| isl);
    let bins = bins.clamp(1, points.len().max(1));
    let mut out = Vec::new();
    for b in 0..bins {
        let (lo, hi) = (b * points.len() / bins, (b + 1) * points.len() / bins);
        let chunk = &points[lo..hi];
        if chunk.is_empty() {
            continue;
        }
        let mean = chunk.iter().map(|&(isl, _)| isl as f64).sum::<f64>() / chunk.len() as f64;
        let mut ttfts: Vec<f64> = chunk.iter().map(|&(_, t)| t).collect();
        ttfts.sort_by(f64::total_cmp);
        out.push(json!({
            "context_tokens_mean": mean.round(),
            "ttft_p50_ms": crate::bench::metrics::percentile(&ttfts, 50.0),
            "requests": chunk.len(),
        }));
    }
    Value::Array(out)
}

/// Test helpers shared with the CLI's tests.
#[cfg(test)]
pub mod tests_support {
    pub use super::context_tests::blank;
}

#[cfg(test)]
mod context_tests {
    use super::*;

    fn record(isl: u64, ttft: f64, phase: &str, failed: bool) -> AgenticRecord {
        let mut r = blank();
        r.input_tokens = Some(isl);
        r.ttft_ms = Some(ttft);
        r.phase = phase.into();
        if failed {
            r.error = Some(RecordError { code: Some(500), kind: "http_status".into(), message: "x".into() });
        }
        r
    }

    pub fn blank() -> AgenticRecord {
        AgenticRecord {
            session_num: 0,
            x_correlation_id: String::new(),
            root_correlation_id: String::new(),
            conversation_id: String::new(),
            turn_index: 0,
            start_ns: 0,
            ack_ns: None,
            end_ns: 0,
            scheduled_ns: None,
            worker_id: String::new(),
            phase: String::new(),
            was_cancelled: false,
            input_tokens: None,
            output_tokens: None,
            ttft_ms: None,
            latency_ms: None,
            itl_ms: None,
            full_itl_ms: None,
            usage_prompt_tokens: None,
            usage_completion_tokens: None,
            cached_tokens: None,
            theoretical: None,
            error: None,
        }
    }

    #[test]
    fn client_timeslices_count_completions_tokens_and_active_requests_and_trees() {
        let at = |start_s: f64, end_s: f64, root: &str, failed: bool| {
            let mut r = record(100, 5.0, "profiling", failed);
            r.start_ns = (start_s * 1e9) as u64;
            r.end_ns = (end_s * 1e9) as u64;
            r.output_tokens = Some(10);
            r.root_correlation_id = root.into();
            r
        };
        let records = vec![at(0.2, 0.8, "a", false), at(0.9, 2.5, "a", false), at(1.1, 1.4, "b", true)];
        let series = client_timeslices(&records, 0, 1.0);
        let slices = series["slices"].as_array().unwrap();
        assert_eq!(slices.len(), 3);
        let column = |key: &str| slices.iter().map(|s| s[key].as_i64().unwrap()).collect::<Vec<i64>>();
        assert_eq!(column("completions"), [1, 1, 1]);
        assert_eq!(column("errors"), [0, 1, 0]);
        assert_eq!(column("input_tokens"), [100, 0, 100], "failed requests bring no tokens");
        assert_eq!(column("output_tokens"), [10, 0, 10]);
        assert_eq!(column("active_requests"), [2, 2, 1]);
        assert_eq!(column("active_trees"), [1, 2, 1]);
        assert_eq!(client_timeslices(&[], 0, 1.0)["slices"], json!([]));
    }

    #[test]
    fn client_timelines_group_records_by_tree() {
        let at = |start: u64, end: u64, root: &str, conversation: &str, phase: &str| {
            let mut r = record(100, 5.0, phase, false);
            (r.start_ns, r.end_ns) = (start, end);
            r.root_correlation_id = root.into();
            r.conversation_id = conversation.into();
            r
        };
        let records = vec![
            at(5, 9, "00000002-0000-4000-8000-000000000003", "t2", "profiling"),
            at(1, 4, "00000001-0000-4000-8000-000000000001", "t1", "warmup"),
            at(4, 8, "00000001-0000-4000-8000-000000000001", "t1::sa:x", "profiling"),
        ];
        let trees = client_timelines(&records);
        let trees = trees.as_array().unwrap();
        assert_eq!(trees.len(), 2);
        assert_eq!(trees[0]["trace"], "t1");
        assert_eq!(trees[0]["lane"], 1);
        assert_eq!((trees[0]["start_ns"].as_u64(), trees[0]["end_ns"].as_u64()), (Some(1), Some(8)));
        assert_eq!(trees[0]["phases"], json!(["profiling", "warmup"]));
        assert_eq!(trees[0]["requests"], 2);
        assert_eq!(trees[1]["lane"], 3);
    }

    #[test]
    fn overflows_above_one_percent_invalidate_the_submission() {
        let overflow = |r: &mut AgenticRecord| {
            r.error = Some(RecordError { code: Some(400), kind: CONTEXT_OVERFLOW.into(), message: "context".into() });
        };
        let mut records: Vec<AgenticRecord> = (0..100).map(|i| record(1000 + i, 5.0, "profiling", false)).collect();
        overflow(&mut records[0]);
        let summary = aiperf_summary(&records, 1.0, &Value::Null, true, &[]);
        assert_eq!(summary["context_overflow_count"]["avg"], 1);
        assert_eq!(summary["error_request_count"]["avg"], 1);
        assert_eq!(summary["metadata"]["submission_valid"], true, "1 of 100 is not above 1 %");
        overflow(&mut records[1]);
        let summary = aiperf_summary(&records, 1.0, &Value::Null, true, &["dry_run".into()]);
        assert_eq!(summary["metadata"]["submission_valid"], false);
        assert_eq!(
            summary["metadata"]["submission_invalid_reasons"],
            json!(["dry_run", "context_overflow_rate_exceeded"])
        );
    }

    #[test]
    fn bins_are_equal_count_sorted_by_context_and_skip_warmup_and_errors() {
        let mut records: Vec<AgenticRecord> =
            (0..8u64).rev().map(|i| record(1000 * (i + 1), 10.0 * (i + 1) as f64, "profiling", false)).collect();
        records.push(record(99_000, 1.0, "warmup", false));
        records.push(record(99_000, 1.0, "profiling", true));
        let bins = ttft_by_context_length(&records, 4);
        let bins = bins.as_array().unwrap();
        assert_eq!(bins.len(), 4);
        assert_eq!(bins[0]["context_tokens_mean"], 1500.0);
        assert_eq!(bins[0]["ttft_p50_ms"], 15.0);
        assert_eq!(bins[3]["context_tokens_mean"], 7500.0);
        assert_eq!(bins[3]["requests"], 2);
        assert_eq!(ttft_by_context_length(&records[..1], 8).as_array().unwrap().len(), 1);
        assert_eq!(ttft_by_context_length(&[], 8), serde_json::json!([]));
    }
}
