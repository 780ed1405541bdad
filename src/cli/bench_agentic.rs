//! `ix bench serve --dataset-name weka|mooncake`: flags in, the agentic replay (live or
//! `--dry-run`), aiperf's artifact files, InferenceX's aggregate and its verdict out.
//!
//! Owns flag validation and printing; all replay logic lives in `crate::bench::agentic`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::ExitStatus;
use super::args::{BenchServeArgs, TracesArgs};
use super::bench::FlagError;
use crate::bench::agentic::aggregate::{self, RunContext};
use crate::bench::agentic::dry_run::{self, LatencyModel};
use crate::bench::agentic::live::{self, LiveConfig};
use crate::bench::agentic::record::{self, AgenticRecord};
use crate::bench::agentic::schedule::{Schedule, ScheduleConfig};
use crate::bench::agentic::trace::{self, LoadOptions, TraceFormat};
use crate::bench::agentic::{prompt, server_metrics};
use crate::bench::{HttpClient, Progress};

fn flag(flag: &'static str, value: impl ToString, reason: &str) -> ExitStatus {
    let error = FlagError::Value { flag, value: value.to_string(), reason: reason.to_owned() };
    eprintln!("{:?}", miette::Report::new(error));
    ExitStatus::Error
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value))
}

pub(crate) fn serve(args: &BenchServeArgs) -> ExitStatus {
    let agentic = &args.agentic;
    let format = if args.dataset_name == "weka" { TraceFormat::Weka } else { TraceFormat::Mooncake };
    let Some(path) = &args.dataset_path else {
        eprintln!("{:?}", miette::Report::new(FlagError::DatasetPath(args.dataset_name.clone())));
        return ExitStatus::Error;
    };
    let lanes = agentic.concurrency.or(args.max_concurrency).unwrap_or(1);
    if lanes == 0 {
        return flag("concurrency", 0, "must be at least 1");
    }
    let Some(duration) = seconds(agentic.benchmark_duration).filter(|d| !d.is_zero()) else {
        return flag("benchmark-duration", agentic.benchmark_duration, "must be a positive number of seconds");
    };
    let Some(grace) = seconds(agentic.benchmark_grace_period) else {
        return flag("benchmark-grace-period", agentic.benchmark_grace_period, "must be a number of seconds >= 0");
    };
    let (Some(trace_cap), Some(system_cap)) =
        (seconds(agentic.trace_idle_gap_cap_seconds), seconds(agentic.system_idle_gap_cap_seconds))
    else {
        return flag(
            "trace-idle-gap-cap-seconds",
            agentic.trace_idle_gap_cap_seconds,
            "idle caps must be seconds >= 0",
        );
    };
    let Some(warmup_grace) = seconds(agentic.warmup_grace_period) else {
        return flag("warmup-grace-period", agentic.warmup_grace_period, "must be a number of seconds >= 0");
    };
    let (lo, hi) = (agentic.trajectory_start_min_ratio, agentic.trajectory_start_max_ratio);
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo > hi {
        return flag("trajectory-start-min-ratio", format!("{lo}..{hi}"), "ratios must satisfy 0 <= min <= max <= 1");
    }
    if !(0.0..=1.0).contains(&agentic.failed_request_threshold) {
        return flag("failed-request-threshold", agentic.failed_request_threshold, "must be in [0, 1]");
    }
    let extra = match &agentic.extra_inputs {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => return flag("extra-inputs", text, "expected a JSON object"),
        },
        None => None,
    };
    let http_client = match args.http_client.as_str() {
        "raw" => HttpClient::Raw,
        "reqwest" => HttpClient::Reqwest,
        other => return flag("http-client", other, "expected `raw` or `reqwest`"),
    };
    if args.backend != "openai-chat" && !agentic.dry_run {
        eprintln!("note: the agentic replay sends chat requests (as `--backend openai-chat`)");
    }

    let options = LoadOptions {
        format,
        mooncake_block_size: agentic.isl_block_size.max(1),
        max_context_length: agentic.max_context_length,
        max_entries: agentic.num_dataset_entries,
    };
    let prepared = std::time::Instant::now();
    let loaded = trace::load(path, &options);
    if !loaded.diags.is_empty() {
        let rendered = crate::diag::render(&loaded.sources, &loaded.diags, crate::diag::RenderOptions::for_terminal());
        eprint!("{rendered}");
    }
    let Some(corpus) = loaded.corpus else { return ExitStatus::Failure };
    drop(loaded.sources);
    let plans: Vec<Vec<Vec<prompt::TurnPlan>>> = corpus
        .traces
        .iter()
        .map(|trace| trace.conversations.iter().map(|c| prompt::plan_conversation(trace, c)).collect())
        .collect();
    let n_requests: usize = corpus.traces.iter().flat_map(|t| &t.conversations).map(|c| c.requests.len()).sum();
    eprintln!(
        "dataset: {} traces, {} conversations, {} requests prepared in {:.2} s",
        corpus.traces.len(),
        corpus.traces.iter().map(|t| t.conversations.len()).sum::<usize>(),
        n_requests,
        prepared.elapsed().as_secs_f64()
    );
    let run_id = if agentic.dry_run {
        agentic.random_seed
    } else {
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    };
    let config = ScheduleConfig {
        lanes,
        duration,
        warmup_requests_per_lane: agentic.warmup_requests_per_lane,
        start_min_ratio: lo,
        start_max_ratio: hi,
        trace_idle_cap: Some(trace_cap),
        system_idle_cap: Some(system_cap),
        phase_gap: Duration::ZERO,
        seed: agentic.random_seed,
        run_id,
        initial: None,
        picks: None,
        max_profiling_requests: None,
        start_by_time: agentic.trajectory_start_by == "time",
        warmup_spread: agentic.warmup_mode == "spread",
    };
    let mut schedule = Schedule::new(&corpus.traces, config);
    let base = match &args.base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => format!("http://{}:{}", args.host, args.port),
    };
    let endpoint = if args.endpoint == "/v1/completions" { "/v1/chat/completions" } else { args.endpoint.as_str() };
    let (records, scrapes, diagnostics) = if agentic.dry_run {
        let model = LatencyModel {
            ttft_base: seconds(agentic.dry_run_ttft_ms / 1000.0).unwrap_or_default(),
            per_uncached_token: seconds(agentic.dry_run_ms_per_uncached_token / 1000.0).unwrap_or_default(),
            itl: seconds(agentic.dry_run_itl_ms / 1000.0).unwrap_or_default(),
            ..LatencyModel::default()
        };
        let origin = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let run = dry_run::run(&mut schedule, &model, origin);
        (run.records, None, json!({"dry_run": true, "idle_jumps": run.idle_jumps}))
    } else {
        let metrics_url = match agentic.server_metrics.as_deref() {
            Some("none") => None,
            Some(url) => Some(url.to_owned()),
            None => Some(format!("{base}/metrics")),
        };
        let config = LiveConfig {
            url: format!("{base}{endpoint}"),
            model: args.served_model_name.clone().unwrap_or_else(|| args.model.clone()),
            api_key: std::env::var("OPENAI_API_KEY").ok(),
            http_client,
            timeout: Duration::from_secs(6 * 3600),
            grace,
            extra,
            seed: agentic.random_seed,
            metrics_url,
            failed_request_threshold: agentic.failed_request_threshold,
            warmup_grace,
            overflow_substrings: live::overflow_substrings(
                std::env::var("AIPERF_AGENTX_CONTEXT_OVERFLOW_SUBSTRINGS").ok().as_deref(),
            ),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("error: cannot start the async runtime: {err}");
                return ExitStatus::Error;
            }
        };
        let progress = Arc::new(Progress::default());
        let run = match runtime.block_on(live::run(&corpus.traces, &plans, &mut schedule, &config, progress)) {
            Ok(run) => run,
            Err(err) => {
                eprintln!("{:?}", miette::Report::new(err));
                return ExitStatus::Error;
            }
        };
        if let Some(failure) = &run.warmup_failed {
            eprintln!("error: a root conversation's warm-up request failed ({failure}); the run was aborted");
        } else if run.aborted {
            eprintln!(
                "error: the failed-request rate exceeded --failed-request-threshold {}; the run was cancelled",
                agentic.failed_request_threshold
            );
        }
        let diagnostics = json!({
            "dry_run": false,
            "idle_jumps": run.idle_jumps,
            "run_cancelled": run.aborted,
            "warmup_failed": run.warmup_failed,
            "client_saturated": run.saturated,
            "loop_lag_p99_ms": run.loop_lag_p99.as_secs_f64() * 1000.0,
            "cpu_utilization": run.cpu_utilization,
            "wall_seconds": run.wall.as_secs_f64(),
            "streamed_chunks": run.chunks,
        });
        (run.records, (!run.scrapes.snapshots.is_empty()).then_some(run.scrapes), diagnostics)
    };
    let cancelled = diagnostics["run_cancelled"] == Value::Bool(true);
    let status = write_outputs(args, &corpus.path, corpus.traces.len(), &records, scrapes.as_ref(), diagnostics, lanes);
    // A cancelled run (live error gate, failed root warm-up) exits non-zero like aiperf's.
    if cancelled && matches!(status, ExitStatus::Success) { ExitStatus::Failure } else { status }
}

fn write_outputs(
    args: &BenchServeArgs,
    dataset_path: &Path,
    n_traces: usize,
    records: &[AgenticRecord],
    scrapes: Option<&server_metrics::Scrapes>,
    mut diagnostics: Value,
    lanes: usize,
) -> ExitStatus {
    let agentic = &args.agentic;
    let result_dir = args.result_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let artifacts = agentic.output_artifact_dir.clone().unwrap_or_else(|| result_dir.join("aiperf_artifacts"));
    if let Err(err) = std::fs::create_dir_all(&artifacts) {
        eprintln!("error: cannot create `{}`: {err}", artifacts.display());
        return ExitStatus::Error;
    }
    let profiling: Vec<&AgenticRecord> = records.iter().filter(|r| r.phase == "profiling").collect();
    let start = profiling.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = profiling.iter().map(|r| r.end_ns).max().unwrap_or(0);
    let dataset = json!({
        "source_type": "local_file",
        "loader": if args.dataset_name == "weka" { "weka_trace" } else { "mooncake_trace" },
        "path": dataset_path.file_name().map_or_else(|| dataset_path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        "num_dataset_entries": n_traces,
    });
    let mut reasons = Vec::new();
    if agentic.dry_run {
        reasons.push("dry_run".to_owned());
    }
    if agentic.benchmark_duration < 900.0 {
        reasons.push("unsafe_override".to_owned());
    } else if !coverage_ok(&profiling, start, agentic.benchmark_duration) {
        reasons.push("insufficient_profile_metric_coverage".to_owned());
    }
    let summary =
        record::aiperf_summary(records, end.saturating_sub(start) as f64 / 1e9, &dataset, reasons.is_empty(), &reasons);
    // Replay fidelity: scheduled vs actual send time of profiling requests.
    let mut lags: Vec<f64> =
        profiling.iter().filter_map(|r| r.scheduled_ns.map(|s| r.start_ns.saturating_sub(s) as f64 / 1e6)).collect();
    lags.sort_by(f64::total_cmp);
    if !lags.is_empty() {
        let p = |q: f64| crate::bench::metrics::percentile(&lags, q);
        diagnostics["send_lag_p50_ms"] = p(50.0).into();
        diagnostics["send_lag_p99_ms"] = p(99.0).into();
    }
    let written = record::write_records(&artifacts.join("profile_export.jsonl"), records)
        .and_then(|()| std::fs::write(artifacts.join("profile_export_aiperf.json"), pretty(&summary)));
    let first_start = records.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let slices = record::client_timeslices(records, first_start, agentic.slice_duration);
    let written =
        written.and_then(|()| std::fs::write(artifacts.join("client_timeslices.json"), pretty(&slices))).and_then(
            |()| std::fs::write(artifacts.join("client_timelines.json"), pretty(&record::client_timelines(records))),
        );
    let export = scrapes.map(|s| server_metrics::export(s, agentic.slice_duration));
    let written = written.and_then(|()| match &export {
        Some(export) => std::fs::write(artifacts.join("server_metrics_export.json"), pretty(export)),
        None => Ok(()),
    });
    if let Err(err) = written {
        eprintln!("error: cannot write the artifacts in `{}`: {err}", artifacts.display());
        return ExitStatus::Error;
    }
    let env = |name: &str| std::env::var(name).ok();
    let mut context = RunContext::from_env(&env);
    if context.conc == 0 {
        context.conc = lanes as u64;
    }
    if context.model.is_empty() {
        context.model = args.model.clone();
    }
    let expected = if args.dataset_name == "weka" {
        let traces = if dataset_path.is_dir() { dataset_path.join("traces.jsonl") } else { dataset_path.to_owned() };
        aggregate::expected_outputs(&traces)
    } else {
        Default::default()
    };
    let logs = server_metrics::read_logs(&result_dir);
    let mut result = match aggregate::aggregate(records, &summary, export.as_ref(), &logs, &context, &expected) {
        Ok(result) => result,
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            return ExitStatus::Failure;
        }
    };
    let verdict = aggregate::validate(&summary, agentic.failed_request_threshold);
    // Client-side cache view (AGENTIC.md §5.7): Σcached / ΣISL over successful profiling records.
    let ok: Vec<&&AgenticRecord> = profiling.iter().filter(|r| r.error.is_none()).collect();
    let isl: u64 = ok.iter().filter_map(|r| r.input_tokens).sum();
    let cached: Option<u64> = ok.iter().map(|r| r.cached_tokens).sum();
    diagnostics["reported_prompt_cache_hit_rate"] =
        cached.filter(|_| isl > 0).map_or(Value::Null, |c| (c as f64 / isl as f64).into());
    let overflows = summary.pointer("/context_overflow_count/avg").and_then(Value::as_u64).unwrap_or(0);
    diagnostics["context_overflow_count"] = overflows.into();
    if overflows > 0 {
        eprintln!(
            "warning: {overflows} profiling request(s) exceeded the server's context length{}",
            if summary.pointer("/metadata/submission_valid") == Some(&Value::Bool(false)) {
                " (over 1 %: submission_valid is false, context_overflow_rate_exceeded)"
            } else {
                ""
            }
        );
    }
    diagnostics["ttft_by_context_length"] = record::ttft_by_context_length(records, 8);
    diagnostics["validation"] = json!({"passed": verdict.passed, "message": verdict.message});
    result["ix"] = aggregate::round_value(diagnostics);
    let name = args.result_filename.clone().unwrap_or_else(|| "agentic_result.json".to_owned());
    let name = if name.ends_with(".json") { name } else { format!("{name}.json") };
    if let Err(err) = std::fs::write(result_dir.join(&name), pretty(&result)) {
        eprintln!("error: cannot write `{}`: {err}", result_dir.join(&name).display());
        return ExitStatus::Error;
    }
    print_summary(&result);
    if verdict.passed {
        eprintln!("{}", verdict.message);
        ExitStatus::Success
    } else {
        eprintln!("{}", verdict.message);
        ExitStatus::Failure
    }
}

/// §4.6: a profiling phase of the minimum duration must keep receiving TTFT observations
/// (successful records) through at least 98 % of its length.
fn coverage_ok(profiling: &[&AgenticRecord], start_ns: u64, duration_s: f64) -> bool {
    let last = profiling.iter().filter(|r| r.error.is_none() && r.ttft_ms.is_some()).map(|r| r.end_ns).max();
    last.is_some_and(|last| last.saturating_sub(start_ns) as f64 / 1e9 >= 0.98 * duration_s)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn print_summary(result: &Value) {
    let get = |pointer: &str| result.pointer(pointer).map_or_else(|| "-".to_owned(), Value::to_string);
    println!("{:=^60}", " Agentic Replay Result ");
    for (label, pointer) in [
        ("Successful requests:", "/num_requests_successful"),
        ("Failed requests:", "/request_accounting/records_error_dropped"),
        ("Duration (s):", "/request_metrics/throughput/duration_seconds"),
        ("Total throughput (tok/s):", "/request_metrics/throughput/total/tokens_per_second"),
        ("Mean TTFT (s):", "/request_metrics/latency/ttft/mean"),
        ("P90 TTFT (s):", "/request_metrics/latency/ttft/p90"),
        ("Mean ITL (s):", "/request_metrics/latency/itl/mean"),
        ("Interactivity p50 (tok/s/user):", "/request_metrics/latency/intvty/p50"),
        ("Theoretical cache hit rate:", "/request_metrics/cache/theoretical_cache_hit_rate"),
        ("Reported prompt cache hit rate:", "/ix/reported_prompt_cache_hit_rate"),
        ("Server cache hit rate:", "/server_metrics/cache/overall_cache_hit_rate"),
        ("Send lag p99 (ms):", "/ix/send_lag_p99_ms"),
        ("Client saturated:", "/ix/client_saturated"),
    ] {
        println!("{label:<40} {}", get(pointer));
    }
    println!("{:=<60}", "");
}

/// `ix bench traces`: seeded synthetic Weka traces of the chosen size.
pub(crate) fn traces(args: &TracesArgs) -> ExitStatus {
    use crate::bench::agentic::synth::{self, SynthSpec};
    let spec = SynthSpec {
        traces: args.traces,
        seed: args.seed,
        min_turns: args.min_turns,
        max_turns: args.max_turns,
        initial_tokens: args.initial_tokens,
        max_prompt_tokens: args.max_prompt_tokens,
        max_subagents: args.max_subagents,
        max_output_tokens: args.max_output_tokens,
        max_api_time: args.max_api_time,
        think_time: args.think_time,
        compaction_rate: args.compaction_rate,
    };
    if let Err(reason) = synth::check(&spec) {
        eprintln!("error: {reason}");
        return ExitStatus::Error;
    }
    let started = std::time::Instant::now();
    let written = if args.output.as_os_str() == "-" {
        synth::write(&spec, &mut std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        std::fs::File::create(&args.output)
            .and_then(|file| synth::write(&spec, &mut std::io::BufWriter::with_capacity(1 << 20, file)))
    };
    match written {
        Ok(bytes) => {
            eprintln!(
                "wrote {} traces ({:.1} MB) to {} in {:.2} s",
                spec.traces,
                bytes as f64 / 1e6,
                args.output.display(),
                started.elapsed().as_secs_f64()
            );
            ExitStatus::Success
        }
        Err(err) => {
            eprintln!("error: cannot write `{}`: {err}", args.output.display());
            ExitStatus::Error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_coverage_needs_observations_through_98_percent_of_the_phase() {
        let record = |end_s: f64, ok: bool| {
            let mut r = record::tests_support::blank();
            r.end_ns = (end_s * 1e9) as u64;
            r.ttft_ms = ok.then_some(5.0);
            if !ok {
                r.error =
                    Some(record::RecordError { code: Some(500), kind: "http_status".into(), message: "x".into() });
            }
            r
        };
        let (a, b, c) = (record(100.0, true), record(890.0, true), record(899.0, false));
        assert!(coverage_ok(&[&a, &b], 0, 900.0), "890 of 900 s");
        assert!(!coverage_ok(&[&a, &c], 0, 900.0), "only errors after 100 s");
        assert!(!coverage_ok(&[], 0, 900.0));
    }
}
