//! `ix bench sim-server`: an OpenAI-compatible streaming simulator with configurable pacing and
//! fault injection that records what it actually sent (`GET /ground-truth[?skip=N]`).
//!
//! Hand-rolled HTTP/1.1 with keep-alive and chunked SSE bodies on tokio. Streams are shaped like
//! llama.cpp's `llama-server` (REAL-SERVER.md): completions send one chunk per token, then a
//! `finish_reason: "length"` chunk with empty text that also carries `usage`; chat sends a
//! role-only first delta, content deltas, a finish chunk with an empty delta and then a separate
//! `choices: []` usage chunk; both end with `data: [DONE]`. `POST …/generate_stream` answers
//! like TGI (body with `inputs`: a `:` comment, then `data:{…}` lines without the space, one per
//! token, the last with `generated_text` and, when asked, `details`) or like Triton/TensorRT-LLM
//! (body with `text_input`: `data: {…"text_output"…}` per token); `POST /generate` answers like
//! DeepSpeed-MII (one `{"text": [...]}` when the last token would have been produced).
//! `POST /start_profile` and `/stop_profile` are counted (404 with `--no-profiler`).
//!
//! Ground truth: a stream's start is the kernel's receive time of its request's first bytes
//! (`SO_TIMESTAMPNS`; elsewhere, when the request was read); a chunk's time is when the write
//! holding it returned. TTFT = first choice chunk − start; ITL = gaps between
//! consecutive choice chunks (chunks sharing a write have a zero gap). Timers are absolute
//! (`start + ttft + k·itl`), so tokio's millisecond rounding does not accumulate.
//! It is a fixture and demo backend: it does not tokenize (prompt tokens = whitespace words).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "sim_text.rs"]
mod text;
use text::{full_response, prompt_word_iter, prompt_words};

/// Pacing, lengths and fault rates of the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub model: String,
    pub ttft: Duration,
    pub itl: Duration,
    /// Output length when a request sets no `max_tokens`.
    pub default_output_len: u64,
    /// Stop after this many tokens unless the request sets `ignore_eos` (simulated EOS).
    pub eos_after: Option<u64>,
    /// Fraction of streaming requests answered with HTTP 500.
    pub error_rate: f64,
    /// Fraction of streams whose connection is dropped halfway.
    pub drop_rate: f64,
    /// Fraction of streams that stall halfway for `stall`.
    pub stall_rate: f64,
    pub stall: Duration,
    pub seed: u64,
    /// Whether `/start_profile` and `/stop_profile` exist (a vLLM started with a profiler).
    pub profiler: bool,
    /// Prefix-cache pool in blocks (0: nothing is cached; `/metrics` still counts).
    pub kv_blocks: usize,
    /// Words per cache block.
    pub block_size: usize,
    /// Extra TTFT per uncached prompt word.
    pub prefill_per_token: Duration,
    /// Prompt + `max_tokens` above this is refused with HTTP 400 (a context-length error).
    pub max_model_len: Option<u64>,
    pub metrics_flavour: super::sim_cache::MetricsFlavour,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            model: "sim".into(),
            ttft: Duration::ZERO,
            itl: Duration::ZERO,
            default_output_len: 16,
            eos_after: None,
            error_rate: 0.0,
            drop_rate: 0.0,
            stall_rate: 0.0,
            stall: Duration::from_millis(100),
            seed: 0,
            profiler: true,
            kv_blocks: 0,
            block_size: 16,
            prefill_per_token: Duration::ZERO,
            max_model_len: None,
            metrics_flavour: super::sim_cache::MetricsFlavour::Vllm,
        }
    }
}

/// What the server sent, since start (or the last reset).
#[derive(Debug, Default)]
struct GroundTruth {
    /// One entry per stream that ran to `[DONE]`.
    streams: Vec<StreamTruth>,
    injected_errors: u64,
    injected_drops: u64,
    injected_stalls: u64,
    profile_starts: u64,
    profile_stops: u64,
    /// Per admitted chat/completions request: (arrival index, prompt words, cached words).
    cached: Vec<(u64, u64, u64)>,
}

/// What one completed stream sent. `idx` is the arrival order of generation requests, so
/// `GET /ground-truth?skip=N` can leave out warm-up requests that all arrived first.
#[derive(Debug, Clone)]
struct StreamTruth {
    idx: u64,
    ttft: Option<f64>,
    itl_sum: f64,
    itl_count: u64,
    max_itl: f64,
    tokens: u64,
    /// The `model` the request named (the served model for APIs that name none).
    model: String,
    api: Api,
}

/// Which API a generation request used; picks the body it is read from and the stream shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Completions,
    Chat,
    Tgi,
    TensorRtLlm,
    Mii,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Completions => "completions",
            Api::Chat => "chat",
            Api::Tgi => "tgi",
            Api::TensorRtLlm => "tensorrt-llm",
            Api::Mii => "deepspeed-mii",
        }
    }
}

struct State {
    config: SimConfig,
    truth: Mutex<GroundTruth>,
    counter: AtomicU64,
    connections: AtomicU64,
    started: Instant,
    cache: Mutex<super::sim_cache::PrefixCache>,
}

/// Binds the listening socket (port 0 = any free port).
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Serves until `shutdown` resolves; in-flight connections are dropped then.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let state = Arc::new(State {
        truth: Mutex::new(GroundTruth::default()),
        counter: AtomicU64::new(0),
        connections: AtomicU64::new(0),
        started: Instant::now(),
        cache: Mutex::new(super::sim_cache::PrefixCache::new(config.block_size, config.kv_blocks)),
        config,
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                rx_time::enable(&stream);
                state.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(stream, state.clone()));
            }
        }
    }
}

/// A parsed request: method, path, body, and whether the client asked to close.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
    /// Kernel receive time of the request's first bytes, if known.
    arrival: Option<Instant>,
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Request> {
    // The request's arrival is the kernel's receive time of its first bytes, when the kernel
    // provides one (a request already buffered behind the previous one has none).
    let mut arrival = None;
    let head_end = loop {
        if let Some(pos) = find(buffer, b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 16 * 1024];
        let first = buffer.is_empty();
        let (n, stamp) = rx_time::read(stream, &mut chunk).await.ok()?;
        if first && arrival.is_none() {
            arrival = stamp;
        }
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if buffer.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let mut content_length = 0usize;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    let body_start = head_end + 4;
    while buffer.len() < body_start + content_length {
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[body_start..body_start + content_length].to_vec();
    buffer.drain(..body_start + content_length);
    Some(Request { method, path, body, close, arrival })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buffer = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut buffer).await {
        let received = request.arrival.map_or_else(Instant::now, |arrival| arrival.min(Instant::now()));
        if request.method == "POST" {
            // Let every connection that is ready take its arrival time before any of them does
            // the (comparatively slow) JSON work: in a burst of requests, ground truth then
            // starts close to arrival instead of after the other requests' processing.
            tokio::task::yield_now().await;
        }
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let skip = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("skip="))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let keep = match (request.method.as_str(), path) {
            ("GET", "/health") => respond_json(&mut stream, 200, &json!({"status": "ok"})).await,
            ("GET", "/v1/models") => {
                let models = json!({"object": "list", "data": [{"id": state.config.model, "object": "model", "owned_by": "ix"}]});
                respond_json(&mut stream, 200, &models).await
            }
            ("GET", "/metrics") => {
                let text = state
                    .cache
                    .lock()
                    .map(|cache| cache.exposition(state.config.metrics_flavour, &state.config.model))
                    .unwrap_or_default();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                );
                stream.write_all(response.as_bytes()).await.is_ok()
            }
            ("GET", "/ground-truth") => respond_json(&mut stream, 200, &ground_truth(&state, skip)).await,
            ("POST", "/ground-truth/reset") => {
                if let Ok(mut truth) = state.truth.lock() {
                    *truth = GroundTruth::default();
                }
                // Arrival indices restart too, so `?skip=N` counts from the reset.
                state.counter.store(0, Ordering::Relaxed);
                respond_json(&mut stream, 200, &json!({"reset": true})).await
            }
            ("POST", "/start_profile" | "/stop_profile") if state.config.profiler => {
                if let Ok(mut truth) = state.truth.lock() {
                    if path == "/start_profile" {
                        truth.profile_starts += 1;
                    } else {
                        truth.profile_stops += 1;
                    }
                }
                respond_json(&mut stream, 200, &json!({})).await
            }
            ("POST", "/v1/completions") => {
                generate(&mut stream, &state, &request.body, Api::Completions, received).await
            }
            ("POST", "/v1/chat/completions") => generate(&mut stream, &state, &request.body, Api::Chat, received).await,
            ("POST", "/generate") => generate(&mut stream, &state, &request.body, Api::Mii, received).await,
            // TGI or Triton: decided by the body's shape once it is parsed.
            ("POST", path) if path.ends_with("/generate_stream") => {
                generate(&mut stream, &state, &request.body, Api::Tgi, received).await
            }
            _ => respond_json(&mut stream, 404, &json!({"error": {"message": "not found", "code": 404}})).await,
        };
        if !keep || request.close {
            break;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    }
}

async fn respond_json(stream: &mut TcpStream, status: u16, body: &Value) -> bool {
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    stream.write_all(response.as_bytes()).await.is_ok()
}

fn ground_truth(state: &State, skip: u64) -> Value {
    let Ok(truth) = state.truth.lock() else { return json!({}) };
    let streams: Vec<&StreamTruth> = truth.streams.iter().filter(|stream| stream.idx >= skip).collect();
    let mut ttfts: Vec<f64> = streams.iter().filter_map(|stream| stream.ttft).collect();
    ttfts.sort_by(f64::total_cmp);
    let itl_sum: f64 = streams.iter().map(|stream| stream.itl_sum).sum();
    let itl_count: u64 = streams.iter().map(|stream| stream.itl_count).sum();
    let mean = |sum: f64, n: usize| if n == 0 { 0.0 } else { sum / n as f64 };
    let mut models: BTreeMap<&str, u64> = BTreeMap::new();
    let mut apis: BTreeMap<&str, u64> = BTreeMap::new();
    for stream in &streams {
        *models.entry(stream.model.as_str()).or_insert(0) += 1;
        *apis.entry(stream.api.name()).or_insert(0) += 1;
    }
    let cached: Vec<&(u64, u64, u64)> = truth.cached.iter().filter(|(idx, _, _)| *idx >= skip).collect();
    let prompt_words: u64 = cached.iter().map(|c| c.1).sum();
    let cached_words: u64 = cached.iter().map(|c| c.2).sum();
    json!({
        "prompt_tokens": prompt_words,
        "cached_tokens": cached_words,
        "cache_hit_rate": if prompt_words == 0 { 0.0 } else { cached_words as f64 / prompt_words as f64 },
        "cached_by_request": cached.iter().map(|(idx, prompt, hit)| json!([idx, prompt, hit])).collect::<Vec<_>>(),
        "requests": streams.len(),
        "models": models,
        "apis": apis,
        "profile_starts": truth.profile_starts,
        "profile_stops": truth.profile_stops,
        "tokens": streams.iter().map(|stream| stream.tokens).sum::<u64>(),
        "mean_ttft_ms": mean(ttfts.iter().sum(), ttfts.len()) * 1000.0,
        "p99_ttft_ms": super::metrics::percentile(&ttfts, 99.0) * 1000.0,
        "mean_itl_ms": mean(itl_sum, itl_count as usize) * 1000.0,
        "max_itl_ms": streams.iter().map(|stream| stream.max_itl).fold(0.0, f64::max) * 1000.0,
        "itl_samples": itl_count,
        "injected_errors": truth.injected_errors,
        "injected_drops": truth.injected_drops,
        "injected_stalls": truth.injected_stalls,
        "connections_accepted": state.connections.load(Ordering::Relaxed),
        "cpu_s": process_cpu_seconds(),
        "uptime_s": state.started.elapsed().as_secs_f64(),
    })
}

/// CPU time (user + system) of this process, in seconds.
fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// A cheap deterministic hash of (seed, request index) to a fraction in [0, 1).
fn fraction(seed: u64, idx: u64, salt: u64) -> f64 {
    let mut x = seed ^ idx.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Appends one SSE event as one HTTP chunk.
fn push_event(out: &mut Vec<u8>, payload: &str) {
    push_line_event(out, "data: ", payload);
}

/// Appends `<prefix><payload>\n\n` as one HTTP chunk (TGI writes `data:` without the space).
fn push_line_event(out: &mut Vec<u8>, prefix: &str, payload: &str) {
    let len = prefix.len() + payload.len() + 2;
    out.extend_from_slice(format!("{len:x}\r\n{prefix}").as_bytes());
    out.extend_from_slice(payload.as_bytes());
    out.extend_from_slice(b"\n\n\r\n");
}

/// What a generation request asked for, read from whichever body shape its API uses.
struct Ask {
    max_tokens: Option<u64>,
    /// `ignore_eos`, or a minimum length (TensorRT-LLM `min_length`, MII `min_tokens`).
    min_tokens: u64,
    ignore_eos: bool,
    stream: bool,
    include_usage: bool,
    /// TGI `parameters.details`.
    details: bool,
    prompt_tokens: u64,
    model: Option<String>,
}

fn ask(request: &Value, api: Api) -> Ask {
    let u64_at = |pointer: &str| request.pointer(pointer).and_then(Value::as_u64);
    let bool_at = |pointer: &str| request.pointer(pointer).and_then(Value::as_bool).unwrap_or(false);
    let words = |pointer: &str| {
        request.pointer(pointer).and_then(Value::as_str).map_or(0, |text| text.split_whitespace().count() as u64)
    };
    let model = request.get("model").and_then(Value::as_str).map(str::to_owned);
    match api {
        Api::Completions | Api::Chat => Ask {
            max_tokens: u64_at("/max_tokens").or_else(|| u64_at("/max_completion_tokens")),
            min_tokens: 0,
            ignore_eos: bool_at("/ignore_eos"),
            stream: bool_at("/stream"),
            include_usage: bool_at("/stream_options/include_usage"),
            details: false,
            prompt_tokens: prompt_words(request, api == Api::Chat),
            model,
        },
        Api::Tgi => Ask {
            max_tokens: u64_at("/parameters/max_new_tokens"),
            min_tokens: 0,
            ignore_eos: false,
            stream: true,
            include_usage: false,
            details: bool_at("/parameters/details"),
            prompt_tokens: words("/inputs"),
            model: None,
        },
        Api::TensorRtLlm => Ask {
            max_tokens: u64_at("/max_tokens"),
            min_tokens: u64_at("/min_length").unwrap_or(0),
            ignore_eos: false,
            stream: true,
            include_usage: false,
            details: false,
            prompt_tokens: words("/text_input"),
            model: None,
        },
        Api::Mii => Ask {
            max_tokens: u64_at("/max_tokens"),
            min_tokens: u64_at("/min_tokens").unwrap_or(0),
            ignore_eos: false,
            stream: false,
            include_usage: false,
            details: false,
            prompt_tokens: words("/prompt"),
            model,
        },
    }
}

/// Streams one completion; returns whether the connection stays usable.
async fn generate(stream: &mut TcpStream, state: &State, body: &[u8], api: Api, received: Instant) -> bool {
    let config = &state.config;
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return respond_json(stream, 400, &json!({"error": {"message": "invalid JSON body", "code": 400}})).await;
    };
    let api = if api == Api::Tgi && request.get("text_input").is_some() { Api::TensorRtLlm } else { api };
    let chat = api == Api::Chat;
    let openai = matches!(api, Api::Completions | Api::Chat);
    let asked = ask(&request, api);
    let idx = state.counter.fetch_add(1, Ordering::Relaxed);
    let inject = |rate: f64, salt: u64| rate > 0.0 && fraction(config.seed, idx, salt) < rate;
    if inject(config.error_rate, 1) {
        if let Ok(mut truth) = state.truth.lock() {
            truth.injected_errors += 1;
        }
        return respond_json(stream, 500, &json!({"error": {"message": "injected failure", "code": 500}})).await;
    }
    let drop_stream = inject(config.drop_rate, 2);
    let stall_stream = inject(config.stall_rate, 3);
    let max_tokens = asked.max_tokens.unwrap_or(config.default_output_len);
    let n_tokens = match config.eos_after {
        Some(eos) if !asked.ignore_eos => max_tokens.min(eos.max(asked.min_tokens)),
        _ => max_tokens,
    };
    let include_usage = asked.include_usage;
    let prompt_tokens = asked.prompt_tokens;
    let model = asked.model.clone().unwrap_or_else(|| config.model.clone());
    if let Some(limit) = config.max_model_len.filter(|&limit| openai && prompt_tokens + max_tokens > limit) {
        let message = format!(
            "This model's maximum context length is {limit} tokens. However, you requested {} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion).",
            prompt_tokens + max_tokens
        );
        return respond_json(
            stream,
            400,
            &json!({"error": {"message": message, "type": "BadRequestError", "code": 400}}),
        )
        .await;
    }
    // The prefix cache: hit, pinning and the TTFT of the uncached part.
    let mut hold = CacheHold { state, pinned: Vec::new(), generated: 0, admitted: false };
    let mut cached_tokens = 0;
    if openai {
        let hashes = match state.cache.lock() {
            Ok(cache) => cache.block_hashes(prompt_word_iter(&request, chat)),
            Err(_) => Vec::new(),
        };
        if let Ok(mut cache) = state.cache.lock() {
            let admitted = cache.admit(prompt_tokens, &hashes);
            cached_tokens = admitted.cached_tokens;
            hold.pinned = admitted.pinned;
            hold.admitted = true;
        }
        if let Ok(mut truth) = state.truth.lock() {
            truth.cached.push((idx, prompt_tokens, cached_tokens));
        }
    }
    hold.generated = n_tokens;
    let ttft = config.ttft + config.prefill_per_token * prompt_tokens.saturating_sub(cached_tokens) as u32;
    if api == Api::Mii {
        // Non-streaming: the answer leaves when the last token would have been produced.
        let due = received + ttft + config.itl * n_tokens.saturating_sub(1) as u32;
        tokio::time::sleep_until(due.into()).await;
        let text: String = (0..n_tokens).map(|k| if k == 0 { " Hello" } else { " tok" }).collect();
        if !respond_json(stream, 200, &json!({"text": [text]})).await {
            return false;
        }
        record(state, StreamTruth::new(idx, model, api, n_tokens), received, &[]);
        return true;
    }
    if !asked.stream {
        return respond_json(stream, 200, &full_response(&model, chat, n_tokens, prompt_tokens)).await;
    }

    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    let paced = !ttft.is_zero() || !config.itl.is_zero();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    out.extend_from_slice(head);
    if api == Api::Tgi {
        // TGI's keep-alive comment: a client must skip it.
        out.extend_from_slice(b"3\r\n:\n\n\r\n");
    }
    if paced && stream.write_all(&out).await.is_err() {
        return false;
    }
    if paced {
        out.clear();
    }
    let id = format!("sim-{idx}");
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": n_tokens, "total_tokens": prompt_tokens + n_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens}});
    let mut choice_times: Vec<Instant> = Vec::with_capacity(n_tokens as usize + 2);
    let mut choices_in_buffer = 0usize;
    let halfway = n_tokens / 2;
    let mut stall_shift = Duration::ZERO;

    // Token events are rendered once per stream and copied per token (the zero-latency
    // benchmarks need the simulator to be much faster than the client).
    let frame = |payload: Value| {
        let mut bytes = Vec::new();
        push_event(&mut bytes, &payload.to_string());
        bytes
    };
    let token_payload = |text: &str| match api {
        Api::Chat => json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}),
        Api::TensorRtLlm => json!({"model_name": model, "model_version": "1", "sequence_end": false,
                "sequence_id": 0, "sequence_start": false, "text_output": text}),
        _ => json!({"id": id, "object": "text_completion", "created": 0, "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": null}]}),
    };
    let first_frame = frame(token_payload(" Hello"));
    let rest_frame = frame(token_payload(" tok"));
    let role_frame = frame(json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]}));
    // TGI events carry their index, so they are rendered one by one (with `format!`: the
    // zero-latency benchmarks need this to stay much cheaper than the client's parsing).
    let tgi_frame = |k: u64| {
        let text = if k == 0 { " Hello" } else { " tok" };
        let last = k + 1 == n_tokens;
        let generated = if last {
            let text: String = (0..n_tokens).map(|k| if k == 0 { " Hello" } else { " tok" }).collect();
            Value::from(text).to_string()
        } else {
            "null".to_owned()
        };
        let details = if last && asked.details {
            format!(r#"{{"finish_reason":"length","generated_tokens":{n_tokens},"seed":null}}"#)
        } else {
            "null".to_owned()
        };
        let payload = format!(
            r#"{{"index":{},"token":{{"id":{k},"text":"{text}","logprob":-0.5,"special":false}},"generated_text":{generated},"details":{details}}}"#,
            k + 1
        );
        let mut bytes = Vec::new();
        push_line_event(&mut bytes, "data:", &payload);
        bytes
    };
    if !paced {
        out.reserve(rest_frame.len() * n_tokens as usize + 512);
    }

    // Event k (0-based) of n_tokens token events, then the closing events.
    for k in 0..n_tokens {
        if paced {
            if stall_stream && k == halfway && k > 0 {
                stall_shift = config.stall;
                if let Ok(mut truth) = state.truth.lock() {
                    truth.injected_stalls += 1;
                }
            }
            let due = received + ttft + config.itl * k as u32 + stall_shift;
            tokio::time::sleep_until(due.into()).await;
        }
        if drop_stream && k == halfway && k > 0 {
            let _ = stream.write_all(&out).await;
            if let Ok(mut truth) = state.truth.lock() {
                truth.injected_drops += 1;
            }
            let _ = stream.shutdown().await;
            return false;
        }
        if chat && k == 0 {
            out.extend_from_slice(&role_frame);
            choices_in_buffer += 1;
        }
        if api == Api::Tgi {
            out.extend_from_slice(&tgi_frame(k));
        } else {
            out.extend_from_slice(if k == 0 { &first_frame } else { &rest_frame });
        }
        choices_in_buffer += 1;
        if k + 1 == n_tokens && openai {
            // The finish chunk goes out with the last token, as llama-server does.
            push_finish(&mut out, chat, &id, &model, include_usage, &usage);
            choices_in_buffer += 1;
        }
        if paced {
            if stream.write_all(&out).await.is_err() {
                return false;
            }
            let now = Instant::now();
            choice_times.extend(std::iter::repeat_n(now, choices_in_buffer));
            choices_in_buffer = 0;
            out.clear();
        }
    }
    if n_tokens == 0 && openai {
        if paced {
            tokio::time::sleep_until((received + ttft).into()).await;
        }
        push_finish(&mut out, chat, &id, &model, include_usage, &usage);
        choices_in_buffer += 1;
    }
    if chat && include_usage {
        let usage_chunk = json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [], "usage": usage});
        push_event(&mut out, &usage_chunk.to_string());
    }
    if openai {
        push_event(&mut out, "[DONE]");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    if stream.write_all(&out).await.is_err() {
        return false;
    }
    let now = Instant::now();
    choice_times.extend(std::iter::repeat_n(now, choices_in_buffer));
    record(state, StreamTruth::new(idx, model, api, n_tokens), received, &choice_times);
    true
}

fn push_finish(out: &mut Vec<u8>, chat: bool, id: &str, model: &str, include_usage: bool, usage: &Value) {
    let mut finish = if chat {
        json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    } else {
        json!({"id": id, "object": "text_completion", "created": 0, "model": model,
            "choices": [{"index": 0, "text": "", "logprobs": null, "finish_reason": "length"}]})
    };
    if include_usage && !chat {
        finish["usage"] = usage.clone();
    }
    push_event(out, &finish.to_string());
}

impl StreamTruth {
    fn new(idx: u64, model: String, api: Api, tokens: u64) -> Self {
        StreamTruth { idx, ttft: None, itl_sum: 0.0, itl_count: 0, max_itl: 0.0, tokens, model, api }
    }
}

/// Records a completed stream; `choice_times` are its token events' write times (none for a
/// non-streaming answer, whose TTFT is not observable).
fn record(state: &State, mut stream: StreamTruth, received: Instant, choice_times: &[Instant]) {
    stream.ttft = choice_times.first().map(|first| (*first - received).as_secs_f64());
    for pair in choice_times.windows(2) {
        let gap = (pair[1] - pair[0]).as_secs_f64();
        stream.itl_sum += gap;
        stream.itl_count += 1;
        stream.max_itl = stream.max_itl.max(gap);
    }
    if let Ok(mut truth) = state.truth.lock() {
        truth.streams.push(stream);
    }
}

/// Unpins a request's cache blocks and counts its output when its handler returns.
struct CacheHold<'a> {
    state: &'a State,
    pinned: Vec<u64>,
    generated: u64,
    admitted: bool,
}

impl Drop for CacheHold<'_> {
    fn drop(&mut self) {
        if self.admitted
            && let Ok(mut cache) = self.state.cache.lock()
        {
            cache.release(&self.pinned, self.generated);
        }
    }
}

/// Kernel receive timestamps (`SO_TIMESTAMPNS`) so ground truth starts when a request reached
/// the socket, not when this single-threaded server got around to reading it.
#[cfg(target_os = "linux")]
#[path = "sim_rx_time.rs"]
mod rx_time;

/// Without kernel timestamps the arrival is when the server read the request.
#[cfg(not(target_os = "linux"))]
mod rx_time {
    use std::time::Instant;

    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    pub(super) fn enable(_stream: &TcpStream) {}

    pub(super) async fn read(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, Option<Instant>)> {
        Ok((stream.read(buf).await?, None))
    }
}
