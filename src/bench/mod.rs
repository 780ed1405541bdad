//! The load generator behind `ix bench serve`, usable as a library: build a dataset
//! ([`dataset`]), describe the run ([`RunConfig`]), call [`run`] (or [`run_blocking`]) and get a
//! [`RunRecord`]; [`result::result_json`] turns it into the reference's result file.
//!
//! Data flow: dataset → precomputed schedule ([`pacing`]) → dispatcher (schedule, then a
//! concurrency slot) → one task per request ([`client`], SSE framing in [`sse`]) → per-request
//! records → [`metrics`] → [`result`]. [`sim_server`] is the built-in streaming simulator used as a
//! test fixture and demo backend.
//!
//! Invariants: one monotonic clock (`Instant`) for every time; a request's clock starts after it
//! holds its concurrency slot (the reference's semantics), and the slot wait and dispatch lag are
//! recorded apart; failed requests are counted by category and never enter latency statistics.
//! This module prints nothing; progress is published through [`Progress`] counters.

pub mod agentic;
pub mod client;
pub mod dataset;
pub mod metrics;
pub mod numpy_rng;
pub mod pacing;
pub mod py_random;
pub mod raw_http;
pub mod result;
pub mod selftest;
pub mod sim_cache;
pub mod sim_server;
pub mod sse;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokenizers::Tokenizer;

pub use client::{ApiKind, ErrorKind, RequestOutcome, RequestTemplate};
pub use dataset::Prompt;
pub use metrics::{Metric, Metrics, Slos};

/// Whole-run failures (a failed request is data, not an error).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BenchError {
    #[error("cannot build the HTTP client: {0}")]
    #[diagnostic(code(ix::bench::http_client))]
    HttpClient(String),
    #[error("cannot start the async runtime")]
    #[diagnostic(code(ix::bench::runtime))]
    Runtime(#[source] std::io::Error),
    #[error("the dataset is empty")]
    #[diagnostic(code(ix::bench::empty_dataset), help("check --num-prompts and the dataset file"))]
    EmptyDataset,
    #[error("cannot start the profiler: POST {url} failed: {reason}")]
    #[diagnostic(
        code(ix::bench::profile_start),
        help("the server must expose `/start_profile` (vLLM: set VLLM_TORCH_PROFILER_DIR; SGLang: always on)")
    )]
    ProfileStart { url: String, reason: String },
    #[error("the benchmark did not finish within {} s", .0.as_secs_f64())]
    #[diagnostic(
        code(ix::bench::run_timeout),
        help(
            "raise --run-timeout if the run needs longer; check that the server answers (--request-timeout bounds each request)"
        )
    )]
    RunTimeout(Duration),
}

/// How a run is driven. Everything that is the same for all requests.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub template: RequestTemplate,
    /// Requests per second; infinity sends everything at once.
    pub request_rate: f64,
    pub burstiness: f64,
    pub max_concurrency: Option<usize>,
    pub num_warmups: usize,
    pub seed: u64,
    pub percentiles: Vec<f64>,
    pub slos: Option<Slos>,
    /// Reuse connections between requests (the reference opens one per request).
    pub keepalive: bool,
    pub timeout: Duration,
    /// The whole run (warm-ups, requests, profiling) must end within this; `None` = no limit.
    pub run_timeout: Option<Duration>,
    /// Keep every generated text (for `--save-detailed`); otherwise a text is dropped as soon as
    /// the server's usage made it unnecessary for counting.
    pub keep_text: bool,
    /// Worker threads of the client's runtime; 1 = a single-threaded event loop.
    pub client_threads: usize,
    /// Which HTTP implementation sends the requests.
    pub http_client: HttpClient,
    /// `--lora-modules`: each measured request's `model` is one of these, picked as the
    /// reference's `random.choice` picks it (warm-ups keep the template's model).
    pub lora_modules: Vec<String>,
    /// `--profile`: the base URL whose `/start_profile` and `/stop_profile` bracket the run.
    pub profile_base: Option<String>,
}

/// The HTTP implementation behind the requests (same measurements, different costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpClient {
    /// `raw_http` for `http://` URLs (one task wake-up per read), reqwest otherwise.
    Raw,
    /// reqwest/hyper for everything.
    Reqwest,
}

/// One way of sending a request, shared by all request tasks of a run (also the agentic replay's).
pub(crate) enum Sender {
    Raw(raw_http::RawPool),
    Reqwest(reqwest::Client),
}

impl Sender {
    /// The transport a run uses for `url` (`pool` idle connections for reqwest).
    pub(crate) fn new(
        kind: HttpClient,
        url: &str,
        keepalive: bool,
        pool: usize,
        timeout: Duration,
    ) -> Result<Sender, BenchError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if kind == HttpClient::Raw
            && let Some(pool) = raw_http::RawPool::new(url, keepalive)
        {
            return Ok(Sender::Raw(pool));
        }
        let http = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(if keepalive { pool.max(1) } else { 0 })
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            .no_proxy()
            .timeout(timeout)
            .build()
            .map_err(|err| BenchError::HttpClient(err.to_string()))?;
        Ok(Sender::Reqwest(http))
    }

    pub(crate) async fn send(&self, template: &RequestTemplate, body: Vec<u8>) -> RequestOutcome {
        match self {
            Sender::Raw(pool) => raw_http::send(pool, template, &body).await,
            Sender::Reqwest(http) => client::send(http, template, body).await,
        }
    }
}

impl RunConfig {
    /// Defaults matching the reference, for a given target.
    pub fn new(template: RequestTemplate) -> Self {
        RunConfig {
            template,
            request_rate: f64::INFINITY,
            burstiness: 1.0,
            max_concurrency: None,
            num_warmups: 0,
            seed: 0,
            percentiles: vec![99.0],
            slos: None,
            keepalive: true,
            timeout: Duration::from_secs(6 * 3600),
            run_timeout: None,
            keep_text: false,
            client_threads: 1,
            http_client: HttpClient::Raw,
            lora_modules: Vec::new(),
            profile_base: None,
        }
    }
}

/// Live counters a caller may display while the run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    pub finished: AtomicU64,
    pub failed: AtomicU64,
    pub chunks: AtomicU64,
}

/// One measured request: what was asked, when, and what came back.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub prompt_len: u64,
    pub requested_output_len: u64,
    /// Due time from the schedule, as an offset from the run start.
    pub scheduled: Duration,
    /// How late the dispatcher reached the request (client lag), before any slot wait.
    pub dispatch_lag: Duration,
    /// Time spent waiting for a concurrency slot (not part of TTFT/E2EL).
    pub slot_wait: Duration,
    /// When the request's clock started, as an offset from the run start.
    pub sent: Duration,
    /// Output tokens as counted (usage, else tokenizer, else chunks); 0 when failed.
    pub output_tokens: u64,
    pub outcome: RequestOutcome,
}

/// Where the output token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The server's own count (`usage.completion_tokens`, TGI's `details.generated_tokens`).
    Usage,
    /// The run's tokenizer on the generated text.
    Tokenizer,
    /// The number of token events (`tgi`/`tensorrt-llm`: one token per event; otherwise the
    /// last resort without a tokenizer).
    Chunks,
    Mixed,
}

impl TokenSource {
    pub fn name(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::Chunks => "chunks",
            TokenSource::Mixed => "mixed",
        }
    }
}

/// The client's view of itself during the measured run.
#[derive(Debug, Clone)]
pub struct ClientDiagnostics {
    /// Event-loop scheduling delay probed every 5 ms (p99, max).
    pub loop_lag_p99: Duration,
    pub loop_lag_max: Duration,
    pub dispatch_lag_p99: Duration,
    /// Client CPU time / (wall time × worker threads).
    pub cpu_utilization: f64,
    pub saturated: bool,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub duration: Duration,
    pub requests: Vec<RequestRecord>,
    pub metrics: Metrics,
    pub failed: u64,
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    pub output_tokens_source: TokenSource,
    /// Σ `usage.prompt_tokens` over successful requests that reported it.
    pub server_prompt_tokens: Option<u64>,
    pub diagnostics: ClientDiagnostics,
    /// Whether the backend streams (false: TTFT is not observable and is reported as 0).
    pub streamed: bool,
    /// `--profile`: why `/stop_profile` failed, when it did (the measurements stand).
    pub profile_stop_error: Option<String>,
}

/// Runs a benchmark on a runtime of its own (for callers without one).
pub fn run_blocking(
    config: &RunConfig,
    prompts: &[Prompt],
    tokenizer: Option<Arc<Tokenizer>>,
    progress: Arc<Progress>,
) -> Result<RunRecord, BenchError> {
    let runtime = if config.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(config.client_threads).enable_all().build()
    }
    .map_err(BenchError::Runtime)?;
    runtime.block_on(async {
        match config.run_timeout {
            Some(limit) => tokio::time::timeout(limit, run(config, prompts, tokenizer, progress))
                .await
                .unwrap_or(Err(BenchError::RunTimeout(limit))),
            None => run(config, prompts, tokenizer, progress).await,
        }
    })
}

/// Raises the open-file limit to its hard maximum (each in-flight request holds a socket).
pub(crate) fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// CPU time (user + system) this process has used.
pub(crate) fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        let seconds = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, (tv.tv_usec as u32) * 1000);
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// Runs warm-ups, then the measured run, and aggregates the result.
pub async fn run(
    config: &RunConfig,
    prompts: &[Prompt],
    tokenizer: Option<Arc<Tokenizer>>,
    progress: Arc<Progress>,
) -> Result<RunRecord, BenchError> {
    if prompts.is_empty() {
        return Err(BenchError::EmptyDataset);
    }
    raise_fd_limit();
    // reqwest is built without a default TLS provider; https targets use ring. Already installed
    // (by another caller in this process) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw_pool = match config.http_client {
        HttpClient::Raw => raw_http::RawPool::new(&config.template.url, config.keepalive),
        HttpClient::Reqwest => None,
    };
    let sender = Arc::new(match raw_pool {
        Some(pool) => Sender::Raw(pool),
        None => {
            let pool = if config.keepalive { config.max_concurrency.unwrap_or(prompts.len()).max(1) } else { 0 };
            let http = reqwest::Client::builder()
                .http1_only()
                .pool_max_idle_per_host(pool)
                .pool_idle_timeout(None)
                .tcp_nodelay(true)
                .no_proxy()
                .timeout(config.timeout)
                .build()
                .map_err(|err| BenchError::HttpClient(err.to_string()))?;
            Sender::Reqwest(http)
        }
    });
    let template = Arc::new(config.template.clone());

    // Warm-up: copies of request 0, capped like the run (uncapped without a cap), discarded.
    if config.num_warmups > 0 {
        let cap = Arc::new(tokio::sync::Semaphore::new(config.max_concurrency.unwrap_or(config.num_warmups)));
        let mut handles = Vec::with_capacity(config.num_warmups);
        for _ in 0..config.num_warmups {
            let (sender, template, cap) = (sender.clone(), template.clone(), cap.clone());
            let body = client::request_body(&template, &prompts[0], &template.model);
            handles.push(tokio::spawn(async move {
                let _permit = cap.acquire_owned().await;
                sender.send(&template, body).await
            }));
        }
        for handle in handles {
            let _ = handle.await;
        }
    }

    // The reference draws the adapters after the warm-ups, before the profiler starts.
    let lora_picks = if config.lora_modules.is_empty() {
        Vec::new()
    } else {
        py_random::choices(config.seed as u32, config.lora_modules.len(), prompts.len())
    };
    if let Some(base) = &config.profile_base {
        let url = format!("{base}/start_profile");
        profile_request(&url, config.template.api_key.as_deref(), config.timeout)
            .await
            .map_err(|reason| BenchError::ProfileStart { url: url.clone(), reason })?;
    }

    let offsets = pacing::schedule(prompts.len(), config.request_rate, config.burstiness, config.seed);
    let semaphore = config.max_concurrency.map(|cap| Arc::new(tokio::sync::Semaphore::new(cap.max(1))));
    let stop_probe = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(lag_probe(stop_probe.clone()));
    let cpu_start = cpu_time();
    let start = Instant::now();

    let mut handles = Vec::with_capacity(prompts.len());
    let mut dispatch_lags = Vec::with_capacity(prompts.len());
    let mut previous_acquired = start;
    for (idx, prompt) in prompts.iter().enumerate() {
        let scheduled = offsets[idx];
        if !scheduled.is_zero() {
            tokio::time::sleep_until((start + scheduled).into()).await;
        }
        let ready = Instant::now();
        let permit = match &semaphore {
            Some(semaphore) => semaphore.clone().acquire_owned().await.ok(),
            None => None,
        };
        let acquired = Instant::now();
        // Own lateness only: not counting time the dispatcher spent blocked on earlier slots.
        let due = (start + scheduled).max(previous_acquired);
        let dispatch_lag = ready.saturating_duration_since(due);
        previous_acquired = acquired;
        dispatch_lags.push(dispatch_lag);
        let (sender, template, progress) = (sender.clone(), template.clone(), progress.clone());
        let model = lora_picks.get(idx).map_or(template.model.as_str(), |&pick| config.lora_modules[pick].as_str());
        let body = client::request_body(&template, prompt, model);
        let (prompt_len, requested_output_len) = (prompt.prompt_len, prompt.output_len);
        let keep_text = config.keep_text;
        let timeout = config.timeout;
        handles.push(tokio::spawn(async move {
            let mut outcome = match tokio::time::timeout(timeout, sender.send(&template, body)).await {
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
            drop(permit);
            // The text is needed only when it will be tokenized for the count.
            if !keep_text && (outcome.usage_completion_tokens.is_some() || template.api.events_are_tokens()) {
                outcome.generated_text = String::new();
            }
            progress.finished.fetch_add(1, Ordering::Relaxed);
            progress.chunks.fetch_add(outcome.n_chunks, Ordering::Relaxed);
            if outcome.error.is_some() {
                progress.failed.fetch_add(1, Ordering::Relaxed);
            }
            RequestRecord {
                prompt_len,
                requested_output_len,
                scheduled,
                dispatch_lag,
                slot_wait: acquired.saturating_duration_since(start + scheduled).saturating_sub(dispatch_lag),
                sent: outcome.sent_at.saturating_duration_since(start),
                output_tokens: 0,
                outcome,
            }
        }));
    }
    let mut requests = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(record) => requests.push(record),
            Err(err) => return Err(BenchError::HttpClient(format!("request task failed: {err}"))),
        }
    }
    let duration = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_start);
    stop_probe.store(true, Ordering::Relaxed);
    let lags = probe.await.unwrap_or_default();
    // Outside the duration (unlike the reference): flushing a trace is not serving time.
    let profile_stop_error = match &config.profile_base {
        Some(base) => {
            let url = format!("{base}/stop_profile");
            profile_request(&url, config.template.api_key.as_deref(), config.timeout)
                .await
                .err()
                .map(|reason| format!("POST {url} failed: {reason}"))
        }
        None => None,
    };

    // Output tokens: the server's count, else the token events where each is one token, else the
    // tokenizer on the text, else the chunk count.
    let events_are_tokens = config.template.api.events_are_tokens();
    let mut sources = (false, false, false);
    for record in &mut requests {
        if record.outcome.error.is_some() {
            continue;
        }
        record.output_tokens = match (record.outcome.usage_completion_tokens, &tokenizer) {
            (Some(tokens), _) => {
                sources.0 = true;
                tokens
            }
            (None, _) if events_are_tokens => {
                sources.2 = true;
                record.outcome.n_chunks
            }
            (None, Some(tokenizer)) => {
                sources.1 = true;
                dataset::count_tokens(tokenizer, &record.outcome.generated_text).unwrap_or(record.outcome.n_chunks)
            }
            (None, None) => {
                sources.2 = true;
                record.outcome.n_chunks
            }
        };
    }
    let output_tokens_source = match sources {
        (_, false, false) => TokenSource::Usage,
        (false, true, false) => TokenSource::Tokenizer,
        (false, false, true) => TokenSource::Chunks,
        _ => TokenSource::Mixed,
    };

    let samples: Vec<metrics::SuccessSample> = requests
        .iter()
        .filter(|r| r.outcome.error.is_none())
        .map(|r| metrics::SuccessSample {
            ttft: r.outcome.ttft,
            latency: r.outcome.latency,
            itl_s: &r.outcome.itl_s,
            output_tokens: r.output_tokens,
            prompt_len: r.prompt_len,
        })
        .collect();
    let metrics = metrics::compute(&samples, duration, &config.percentiles, config.slos.as_ref());
    let mut errors_by_kind = BTreeMap::new();
    for record in &requests {
        if let Some(error) = &record.outcome.error {
            *errors_by_kind.entry(error.kind.name()).or_insert(0) += 1;
        }
    }
    let failed = errors_by_kind.values().sum();
    let server_prompt_tokens = {
        let reported: Vec<u64> = requests
            .iter()
            .filter(|r| r.outcome.error.is_none())
            .filter_map(|r| r.outcome.usage_prompt_tokens)
            .collect();
        (!reported.is_empty()).then(|| reported.iter().sum())
    };

    let mut lag_ms: Vec<f64> = lags.iter().map(|lag| lag.as_secs_f64()).collect();
    lag_ms.sort_by(f64::total_cmp);
    let mut dispatch_ms: Vec<f64> = dispatch_lags.iter().map(|lag| lag.as_secs_f64()).collect();
    dispatch_ms.sort_by(f64::total_cmp);
    let loop_lag_p99 = Duration::from_secs_f64(metrics::percentile(&lag_ms, 99.0));
    let dispatch_lag_p99 = Duration::from_secs_f64(metrics::percentile(&dispatch_ms, 99.0));
    let cpu_utilization = cpu.as_secs_f64() / (duration.as_secs_f64().max(1e-9) * config.client_threads.max(1) as f64);
    let finite_rate = config.request_rate.is_finite();
    let saturated = loop_lag_p99 > Duration::from_millis(1)
        || cpu_utilization > 0.8
        || (finite_rate && dispatch_lag_p99 > Duration::from_millis(1));
    let diagnostics = ClientDiagnostics {
        loop_lag_p99,
        loop_lag_max: lags.iter().copied().max().unwrap_or_default(),
        dispatch_lag_p99,
        cpu_utilization,
        saturated,
    };
    Ok(RunRecord {
        duration,
        requests,
        metrics,
        failed,
        errors_by_kind,
        output_tokens_source,
        server_prompt_tokens,
        diagnostics,
        streamed: config.template.api.streams(),
        profile_stop_error,
    })
}

/// POSTs an empty JSON object to a profiler control URL; `Err` holds why it failed.
async fn profile_request(url: &str, api_key: Option<&str>, timeout: Duration) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http =
        reqwest::Client::builder().http1_only().no_proxy().timeout(timeout).build().map_err(|err| err.to_string())?;
    let mut request = http.post(url).header("content-type", "application/json").body("{}");
    if let Some(key) = api_key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.map_err(|err| {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        message
    })?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("HTTP {}", status.as_u16())) }
}

/// Measures how long a ready task waits to be polled: every 5 ms it yields and times the return.
pub(crate) async fn lag_probe(stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut lags = Vec::new();
    let mut interval = tokio::time::interval(Duration::from_millis(5));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        let before = Instant::now();
        tokio::task::yield_now().await;
        lags.push(before.elapsed());
    }
    lags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_request_reports_why_it_failed() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // Port 1 on loopback: nothing listens there.
        let reason = runtime
            .block_on(profile_request("http://127.0.0.1:1/stop_profile", None, Duration::from_secs(5)))
            .expect_err("nothing listens on port 1");
        assert!(reason.to_lowercase().contains("connect"), "{reason}");
    }
}
