//! The live driver: the [`Schedule`] on tokio's clock, every request through the bench HTTP
//! client (`bench::Sender`, the same transports and SSE parsing as single-turn runs), server
//! metrics scraped alongside, and the client's own saturation measured as in single-turn runs.
//!
//! Decisions (COMPAT.md): TTFT is the first chunk with text (a role-only delta is not one);
//! ISL/OSL are the server's `usage` counts when it reports them, else the recorded lengths and
//! the text chunks; requests still in flight a grace period after the profiling end are
//! cancelled and recorded with `was_cancelled`; the live failed-request gate applies once 10
//! profiling requests have completed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::prompt::{self, RenderKey, TurnPlan};
use super::record::{AgenticRecord, RecordError, correlation_id};
use super::schedule::{Dispatch, Phase, Schedule};
use super::server_metrics::{self, Scrapes};
use super::trace::Trace;
use crate::bench::client::{self, ApiKind, ErrorKind, RequestTemplate};
use crate::bench::{BenchError, HttpClient, Progress, Sender};

/// Error texts that mean the prompt did not fit the context (§4.6); more come from
/// `AIPERF_AGENTX_CONTEXT_OVERFLOW_SUBSTRINGS` ([`overflow_substrings`]).
pub const OVERFLOW: &[&str] = &[
    "context length",
    "maximum context",
    "context_length_exceeded",
    "prompt is too long",
    "exceeds the available context size",
];

/// The built-in overflow texts plus the comma-separated extra ones of `extra` (the value of
/// `AIPERF_AGENTX_CONTEXT_OVERFLOW_SUBSTRINGS`), lowercased.
pub fn overflow_substrings(extra: Option<&str>) -> Vec<String> {
    let mut needles: Vec<String> = OVERFLOW.iter().map(|s| (*s).to_owned()).collect();
    for part in extra.unwrap_or("").split(',') {
        let part = part.trim().to_lowercase();
        if !part.is_empty() && !needles.contains(&part) {
            needles.push(part);
        }
    }
    needles
}

/// Whether an error message means a context overflow.
pub fn is_overflow(message: &str, needles: &[String]) -> bool {
    let message = message.to_lowercase();
    needles.iter().any(|needle| message.contains(needle.as_str()))
}

/// How a live replay talks to the server.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The chat completions URL.
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub http_client: HttpClient,
    pub timeout: Duration,
    /// In-flight requests are cancelled this long after the profiling end.
    pub grace: Duration,
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    pub seed: u64,
    /// `/metrics` to scrape (none: no server metrics).
    pub metrics_url: Option<String>,
    /// Live gate: cancel the run once profiling errors / completions exceeds it.
    pub failed_request_threshold: f64,
    /// `--warmup-grace-period`: the warm-up ends this long after the start even if requests
    /// are still in flight (they are cancelled).
    pub warmup_grace: Duration,
    /// Lowercased error texts that mean a context overflow ([`overflow_substrings`]).
    pub overflow_substrings: Vec<String>,
}

/// What a live replay produced.
pub struct LiveRun {
    /// In completion order.
    pub records: Vec<AgenticRecord>,
    pub scrapes: Scrapes,
    pub wall: Duration,
    pub aborted: bool,
    /// A root conversation's warm-up request failed (§4.3): the run was aborted.
    pub warmup_failed: Option<String>,
    pub idle_jumps: u64,
    pub loop_lag_p99: Duration,
    pub cpu_utilization: f64,
    pub saturated: bool,
    pub chunks: u64,
}

struct Done {
    id: u64,
    outcome: client::RequestOutcome,
    returned: Instant,
}

/// Runs the replay to its end (duration, then in-flight completion within the grace period).
pub async fn run(
    traces: &[Trace],
    plans: &[Vec<Vec<TurnPlan>>],
    schedule: &mut Schedule<'_>,
    config: &LiveConfig,
    progress: Arc<Progress>,
) -> Result<LiveRun, BenchError> {
    crate::bench::raise_fd_limit();
    let sender = Arc::new(Sender::new(config.http_client, &config.url, true, 1024, config.timeout)?);
    let template = Arc::new(RequestTemplate {
        url: config.url.clone(),
        api: ApiKind::Chat,
        model: config.model.clone(),
        ignore_eos: true,
        best_of: 1,
        api_key: config.api_key.clone(),
    });
    let origin_ns = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let start = Instant::now();
    let ns = |at: Instant| origin_ns + at.saturating_duration_since(start).as_nanos() as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(std::sync::Mutex::new(Scrapes {
        url: config.metrics_url.clone().unwrap_or_default(),
        snapshots: Vec::new(),
    }));
    let scraper = config.metrics_url.clone().map(|url| {
        let (stop, scrapes) = (stop.clone(), scrapes.clone());
        tokio::spawn(async move {
            loop {
                let at = start.elapsed().as_secs_f64();
                if let Some(samples) = server_metrics::scrape(&url).await
                    && let Ok(mut scrapes) = scrapes.lock()
                {
                    scrapes.snapshots.push((at, samples));
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    });
    // The scrape taken when profiling starts: the window's baseline.
    let mut baseline: Option<f64> = None;
    let probe = tokio::spawn(crate::bench::lag_probe(stop.clone()));
    let cpu_start = crate::bench::cpu_time();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let mut in_flight: HashMap<u64, (Dispatch, tokio::task::AbortHandle, Instant)> = HashMap::new();
    let mut records: Vec<(Instant, AgenticRecord)> = Vec::new();
    let mut next_id = 0u64;
    let (mut profiled_ok, mut profiled_errors) = (0u64, 0u64);
    let mut aborted = false;
    let mut warmup_failed: Option<String> = None;
    let mut chunks = 0u64;
    loop {
        let now = start.elapsed();
        let mut burst = 0usize;
        while let Some(dispatch) = schedule.pop_due(now) {
            // A burst (every lane at the profiling start) must not hold the event loop: reads
            // of running streams are timed by it.
            burst += 1;
            if burst.is_multiple_of(4) {
                tokio::task::yield_now().await;
            }
            let play = &schedule.plays[dispatch.play];
            let trace = &traces[play.trace];
            let request = &trace.conversations[dispatch.conversation].requests[dispatch.request];
            let plan = &plans[play.trace][dispatch.conversation][dispatch.request];
            let key = RenderKey {
                seed: config.seed,
                trace,
                conversation_key: dispatch.conversation as u64,
                turn: dispatch.request,
                hash_ids: &request.hash_ids,
                marker: Some(&play.marker),
            };
            let messages = prompt::render(plan, &key);
            let body = prompt::body(&config.model, &messages, dispatch.max_tokens, config.extra.as_ref());
            let (sender, template, tx) = (sender.clone(), template.clone(), tx.clone());
            let id = next_id;
            next_id += 1;
            let timeout = config.timeout;
            let handle = tokio::spawn(async move {
                let outcome = match tokio::time::timeout(timeout, sender.send(&template, body)).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let mut outcome = client::new_outcome();
                        outcome.error = Some(client::RequestError {
                            kind: ErrorKind::Timeout,
                            message: format!("no complete response within {} s", timeout.as_secs()),
                        });
                        outcome
                    }
                };
                let _ = tx.send(Done { id, outcome, returned: Instant::now() });
            });
            in_flight.insert(id, (dispatch, handle.abort_handle(), Instant::now()));
        }
        if in_flight.is_empty() && (schedule.finished() || schedule.finished_dispatching()) {
            break;
        }
        let wake = if schedule.finished_dispatching() { None } else { schedule.next_due(start.elapsed()) };
        let grace_end = schedule.profiling_end().map(|end| end + config.grace);
        let warmup_end = (schedule.phase() == Phase::Warmup).then_some(config.warmup_grace);
        let deadline = [wake, grace_end, warmup_end].into_iter().flatten().min();
        let message = match deadline {
            Some(deadline) => tokio::select! {
                message = rx.recv() => message,
                _ = tokio::time::sleep_until((start + deadline).into()) => None,
            },
            None => rx.recv().await,
        };
        if let Some(done) = message {
            let Some((dispatch, _, _)) = in_flight.remove(&done.id) else { continue };
            chunks += done.outcome.n_chunks;
            progress.finished.fetch_add(1, Ordering::Relaxed);
            let record = build_record(
                traces,
                schedule,
                &dispatch,
                &done,
                ns(done.outcome.sent_at),
                ns(done.returned),
                origin_ns,
            );
            let mut record = record;
            let overflow = record.error.as_ref().is_some_and(|e| is_overflow(&e.message, &config.overflow_substrings));
            if overflow && let Some(error) = &mut record.error {
                error.kind = super::record::CONTEXT_OVERFLOW.to_owned();
            }
            if dispatch.phase == Phase::Warmup
                && dispatch.conversation == 0
                && !overflow
                && let Some(error) = &record.error
            {
                warmup_failed =
                    Some(format!("{} turn {}: {}", record.conversation_id, dispatch.request, error.message));
                aborted = true;
            }
            if record.error.is_some() {
                progress.failed.fetch_add(1, Ordering::Relaxed);
            }
            if dispatch.phase == Phase::Profiling {
                if record.error.is_some() {
                    profiled_errors += 1;
                } else {
                    profiled_ok += 1;
                }
            }
            records.push((done.returned, record));
            schedule.complete(&dispatch, done.returned.saturating_duration_since(start), overflow);
            if baseline.is_none() && schedule.phase() == Phase::Profiling {
                let at = start.elapsed().as_secs_f64();
                baseline = Some(at);
                if let Some(url) = &config.metrics_url
                    && let Some(samples) = server_metrics::scrape(url).await
                    && let Ok(mut scrapes) = scrapes.lock()
                {
                    scrapes.snapshots.push((at, samples));
                }
            }
            let completed = profiled_ok + profiled_errors;
            if completed >= 10 && profiled_errors as f64 / completed as f64 > config.failed_request_threshold {
                aborted = true;
            }
        }
        if schedule.phase() == Phase::Warmup && !aborted && start.elapsed() >= config.warmup_grace {
            // §4.3: the warm-up ends at its grace period; what is still in flight is cancelled
            // (and completed in the schedule, so its tree goes on in profiling).
            let now = Instant::now();
            schedule.end_warmup(now.saturating_duration_since(start));
            for (_, (dispatch, handle, sent)) in in_flight.drain() {
                handle.abort();
                records.push((
                    now,
                    cancelled_record(traces, schedule, &dispatch, ns(sent), ns(now), "warm-up grace period"),
                ));
                schedule.complete(&dispatch, now.saturating_duration_since(start), false);
            }
            continue;
        }
        let past_grace = grace_end.is_some_and(|grace| start.elapsed() >= grace);
        if aborted || past_grace {
            let now = Instant::now();
            for (_, (dispatch, handle, sent)) in in_flight.drain() {
                handle.abort();
                let why = if aborted { "run cancellation" } else { "benchmark grace period" };
                records.push((now, cancelled_record(traces, schedule, &dispatch, ns(sent), ns(now), why)));
            }
            break;
        }
    }
    let wall = start.elapsed();
    let cpu = crate::bench::cpu_time().saturating_sub(cpu_start);
    stop.store(true, Ordering::Relaxed);
    let lags = probe.await.unwrap_or_default();
    if let Some(task) = scraper {
        let _ = task.await;
    }
    let mut scrapes = scrapes.lock().map(|s| s.clone()).unwrap_or_default();
    scrapes.snapshots.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Keep the profiling window, from the scrape taken at its start.
    if let Some(begin) = baseline {
        let first = scrapes.snapshots.iter().position(|(at, _)| *at >= begin).unwrap_or(0);
        scrapes.snapshots.drain(..first);
        for snapshot in &mut scrapes.snapshots {
            snapshot.0 = (snapshot.0 - begin).max(0.0);
        }
    }
    let mut lag_s: Vec<f64> = lags.iter().map(Duration::as_secs_f64).collect();
    lag_s.sort_by(f64::total_cmp);
    let loop_lag_p99 = Duration::from_secs_f64(crate::bench::metrics::percentile(&lag_s, 99.0).max(0.0));
    let cpu_utilization = cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    records.sort_by_key(|(at, _)| *at);
    Ok(LiveRun {
        records: records.into_iter().map(|(_, r)| r).collect(),
        scrapes,
        wall,
        aborted,
        warmup_failed,
        idle_jumps: schedule.idle_jumps.count,
        loop_lag_p99,
        cpu_utilization,
        saturated: loop_lag_p99 > Duration::from_millis(1) || cpu_utilization > 0.8,
        chunks,
    })
}

/// The record of a request cancelled in flight (`was_cancelled`, error type `cancelled`).
fn cancelled_record(
    traces: &[Trace],
    schedule: &Schedule<'_>,
    dispatch: &Dispatch,
    start_ns: u64,
    end_ns: u64,
    why: &str,
) -> AgenticRecord {
    let trace = &traces[schedule.plays[dispatch.play].trace];
    let request = &trace.conversations[dispatch.conversation].requests[dispatch.request];
    let mut record = base_record(trace, dispatch, start_ns, end_ns);
    record.input_tokens = Some(request.input_tokens);
    record.was_cancelled = true;
    record.error =
        Some(RecordError { code: None, kind: "cancelled".into(), message: format!("cancelled at the {why}") });
    record
}

fn base_record(trace: &Trace, dispatch: &Dispatch, start_ns: u64, end_ns: u64) -> AgenticRecord {
    let conversation = &trace.conversations[dispatch.conversation];
    let request = &conversation.requests[dispatch.request];
    AgenticRecord {
        session_num: dispatch.session_num,
        x_correlation_id: correlation_id(dispatch.session_num, dispatch.lane),
        root_correlation_id: correlation_id(dispatch.root_session_num, dispatch.lane),
        conversation_id: conversation.id.to_string(),
        turn_index: dispatch.request,
        start_ns,
        ack_ns: None,
        end_ns,
        scheduled_ns: None,
        worker_id: "worker_0".into(),
        phase: dispatch.phase.name().to_owned(),
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
        theoretical: Some((request.theoretical_hit, request.theoretical_total)),
        error: None,
    }
}

fn build_record(
    traces: &[Trace],
    schedule: &Schedule<'_>,
    dispatch: &Dispatch,
    done: &Done,
    start_ns: u64,
    end_ns: u64,
    origin_ns: u64,
) -> AgenticRecord {
    let trace = &traces[schedule.plays[dispatch.play].trace];
    let request = &trace.conversations[dispatch.conversation].requests[dispatch.request];
    let outcome = &done.outcome;
    let mut record = base_record(trace, dispatch, start_ns, end_ns);
    record.scheduled_ns = Some(origin_ns + dispatch.due.as_nanos() as u64);
    record.input_tokens = Some(outcome.usage_prompt_tokens.unwrap_or(request.input_tokens));
    if let Some(error) = &outcome.error {
        let code = error.message.strip_prefix("HTTP ").and_then(|rest| rest.get(..3)).and_then(|c| c.parse().ok());
        record.error = Some(RecordError { code, kind: error.kind.name().to_owned(), message: error.message.clone() });
        return record;
    }
    let output = outcome.usage_completion_tokens.unwrap_or(outcome.content_chunks);
    let ms = |d: Duration| d.as_nanos() as f64 / 1e6;
    let ttft = outcome.first_content.unwrap_or(outcome.ttft);
    let latency = outcome.last_content.unwrap_or(outcome.latency);
    let end = done.returned.saturating_duration_since(outcome.sent_at);
    record.output_tokens = Some(output);
    record.ttft_ms = Some(ms(ttft));
    record.latency_ms = Some(ms(latency));
    if output >= 2 {
        record.itl_ms = Some(ms(latency.saturating_sub(ttft)) / (output - 1) as f64);
        record.full_itl_ms = Some(ms(end.saturating_sub(ttft)) / (output - 1) as f64);
    }
    record.usage_prompt_tokens = outcome.usage_prompt_tokens;
    record.usage_completion_tokens = outcome.usage_completion_tokens;
    record.cached_tokens = outcome.usage_cached_tokens;
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_texts_include_the_environment_extension() {
        let built_in = overflow_substrings(None);
        assert!(is_overflow("This model's maximum context length is 4096 tokens", &built_in));
        assert!(is_overflow("HTTP 400: request (5358 tokens) exceeds the available context size", &built_in));
        assert!(!is_overflow("HTTP 500: internal error", &built_in));
        assert!(!is_overflow("Input Is Far Too Big For Me", &built_in));
        let extended = overflow_substrings(Some(" too big for me , ,Prompt Is Too Long"));
        assert!(is_overflow("Input Is Far Too Big For Me", &extended));
        assert_eq!(extended.len(), OVERFLOW.len() + 1, "duplicates and empty parts are dropped");
    }
}
