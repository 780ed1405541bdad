//! One streamed request to an OpenAI-compatible server, timed chunk by chunk.
//!
//! Owns the request bodies of the `completions` and `chat` backends (LOAD-GENERATOR.md §5), the
//! token-event rules and per-chunk timestamps ([`StreamState`], shared with `raw_http`), the
//! classification of failures, and the reqwest transport. It does not pace, count slots or
//! aggregate: it turns one prompt into one [`RequestOutcome`].
//!
//! Timestamps: every chunk's time is read once, right after its bytes come off the connection and
//! before any parsing; all events completed by that read share it. The clock is `Instant` (one
//! monotonic clock for the whole run).

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::sse::{SseEvent, SseParser};

/// Which request function (and so which body and which token-event rules) a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// `/v1/completions` (reference backends vllm, openai, sglang, lmdeploy, scalellm).
    Completions,
    /// `/v1/chat/completions` (reference backend openai-chat).
    Chat,
}

/// Everything a request needs that is the same for every request of a run.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub url: String,
    pub api: ApiKind,
    pub model: String,
    pub ignore_eos: bool,
    pub best_of: u32,
    pub api_key: Option<String>,
}

/// Why a request failed; the category names are what the result file counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The server answered with a status other than 200.
    HttpStatus,
    /// The TCP connection could not be made.
    Connect,
    /// The connection broke while the body was streaming (reset, truncated chunked body).
    Stream,
    /// A payload that is not the JSON we expect.
    Parse,
    /// The stream ended cleanly but carried no token chunk.
    NoTokens,
    /// The request or its stream timed out.
    Timeout,
    /// Anything else reqwest reports.
    Other,
}

impl ErrorKind {
    /// The stable name used in the result file.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Connect => "connect",
            ErrorKind::Stream => "stream",
            ErrorKind::Parse => "parse",
            ErrorKind::NoTokens => "no_tokens",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

/// A failure: its category and a one-line message.
#[derive(Debug, Clone)]
pub struct RequestError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What one request produced. Times are offsets from the request's own start (`sent_at`).
#[derive(Debug, Clone)]
pub struct RequestOutcome {
    /// When the request was handed to the HTTP client.
    pub sent_at: Instant,
    /// Time of the first token chunk (TTFT); zero when there was none.
    pub ttft: Duration,
    /// Gaps between consecutive token chunks, in seconds (f32 keeps ~1 ns resolution at ITL
    /// scales and a quarter of a `Duration`'s memory; a run can hold tens of millions).
    pub itl_s: Vec<f32>,
    /// End-to-end latency (last token chunk; chat: last chunk of any kind).
    pub latency: Duration,
    /// `usage.completion_tokens` from any chunk that carried it.
    pub usage_completion_tokens: Option<u64>,
    /// `usage.prompt_tokens` as the server counted them.
    pub usage_prompt_tokens: Option<u64>,
    /// Number of token chunks seen.
    pub n_chunks: u64,
    /// Time spent opening a new TCP connection for this request (inside TTFT, as in the
    /// reference); `None` when a kept-alive connection was reused or the transport cannot tell.
    pub connect: Option<Duration>,
    pub generated_text: String,
    pub error: Option<RequestError>,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// Builds the JSON body of one request (LOAD-GENERATOR.md §5.1, §5.2).
pub fn request_body(template: &RequestTemplate, prompt: &str, max_tokens: u64) -> Vec<u8> {
    let mut body = serde_json::Map::new();
    body.insert("model".into(), template.model.clone().into());
    match template.api {
        ApiKind::Completions => {
            body.insert("prompt".into(), prompt.into());
            body.insert("temperature".into(), 0.0.into());
            body.insert("best_of".into(), template.best_of.into());
            body.insert("max_tokens".into(), max_tokens.into());
            body.insert("logprobs".into(), serde_json::Value::Null);
        }
        ApiKind::Chat => {
            body.insert(
                "messages".into(),
                serde_json::json!([{"role": "user", "content": [{"type": "text", "text": prompt}]}]),
            );
            body.insert("temperature".into(), 0.0.into());
            body.insert("max_completion_tokens".into(), max_tokens.into());
        }
    }
    body.insert("stream".into(), true.into());
    body.insert("stream_options".into(), serde_json::json!({"include_usage": true}));
    if template.ignore_eos {
        body.insert("ignore_eos".into(), true.into());
    }
    serde_json::to_vec(&serde_json::Value::Object(body)).unwrap_or_default()
}

/// Sends one request and reads its stream to the end.
pub async fn send(http: &reqwest::Client, template: &RequestTemplate, body: Vec<u8>) -> RequestOutcome {
    let body = bytes::Bytes::from(body);
    let build = || {
        let builder = http.post(&template.url).header("content-type", "application/json").body(body.clone());
        match &template.api_key {
            Some(key) => builder.header("authorization", format!("Bearer {key}")),
            None => builder,
        }
    };
    let mut outcome = new_outcome();
    let mut response = match build().send().await {
        Ok(response) => response,
        // A kept-alive connection the server closed while idle (llama-server closes after a
        // number of requests per connection) fails before the server saw the request: retry
        // once on a fresh connection. The clock keeps running from the first attempt.
        Err(err) if is_stale_connection(&err) => match build().send().await {
            Ok(response) => response,
            Err(err) => {
                outcome.error = Some(classify(&err));
                return outcome;
            }
        },
        Err(err) => {
            outcome.error = Some(classify(&err));
            return outcome;
        }
    };
    if response.status() != reqwest::StatusCode::OK {
        let status = response.status();
        outcome.error =
            Some(RequestError { kind: ErrorKind::HttpStatus, message: format!("HTTP {}", status.as_u16()) });
        return outcome;
    }
    let mut stream = StreamState::new(template.api);
    loop {
        let piece = match response.chunk().await {
            Ok(Some(piece)) => piece,
            Ok(None) => break,
            Err(err) => {
                outcome.error = Some(classify(&err));
                return outcome;
            }
        };
        let now = Instant::now();
        if let Err(error) = stream.feed(&piece, now, &mut outcome) {
            outcome.error = Some(error);
            return outcome;
        }
    }
    stream.finish(&mut outcome);
    outcome
}

/// The state of one response body being read: SSE framing plus the token-event clock.
pub(crate) struct StreamState {
    api: ApiKind,
    parser: SseParser,
    events: Vec<SseEvent>,
    last_token: Option<Instant>,
    last_any: Option<Instant>,
}

impl StreamState {
    pub(crate) fn new(api: ApiKind) -> Self {
        StreamState { api, parser: SseParser::new(), events: Vec::new(), last_token: None, last_any: None }
    }

    /// Feeds body bytes that came off the connection at `now`.
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        now: Instant,
        outcome: &mut RequestOutcome,
    ) -> Result<(), RequestError> {
        self.parser.feed(bytes, &mut self.events);
        handle_events(self.api, &mut self.events, now, outcome, &mut self.last_token, &mut self.last_any)
    }

    /// Ends a body that ended cleanly: sets the latency, or the `no_tokens` error.
    pub(crate) fn finish(mut self, outcome: &mut RequestOutcome) {
        let now = Instant::now();
        self.parser.finish(&mut self.events);
        if let Err(error) =
            handle_events(self.api, &mut self.events, now, outcome, &mut self.last_token, &mut self.last_any)
        {
            outcome.error = Some(error);
            return;
        }
        let end = match self.api {
            ApiKind::Completions => self.last_token,
            ApiKind::Chat => self.last_any,
        };
        match (self.last_token, end) {
            (Some(_), Some(end)) => outcome.latency = end - outcome.sent_at,
            _ => {
                outcome.error = Some(RequestError {
                    kind: ErrorKind::NoTokens,
                    message: "the stream ended without a token chunk".into(),
                })
            }
        }
    }
}

/// A fresh outcome whose clock starts now.
pub(crate) fn new_outcome() -> RequestOutcome {
    RequestOutcome {
        sent_at: Instant::now(),
        ttft: Duration::ZERO,
        itl_s: Vec::new(),
        latency: Duration::ZERO,
        usage_completion_tokens: None,
        usage_prompt_tokens: None,
        n_chunks: 0,
        connect: None,
        generated_text: String::new(),
        error: None,
    }
}

fn handle_events(
    api: ApiKind,
    events: &mut Vec<SseEvent>,
    now: Instant,
    outcome: &mut RequestOutcome,
    last_token: &mut Option<Instant>,
    last_any: &mut Option<Instant>,
) -> Result<(), RequestError> {
    for event in events.drain(..) {
        let SseEvent::Data(payload) = event else { continue };
        let chunk: Chunk<'_> = serde_json::from_str(&payload)
            .map_err(|err| RequestError { kind: ErrorKind::Parse, message: format!("invalid JSON chunk: {err}") })?;
        *last_any = Some(now);
        if let Some(first) = chunk.choices.as_ref().and_then(|choices| choices.first()) {
            match *last_token {
                None => outcome.ttft = now - outcome.sent_at,
                Some(previous) => outcome.itl_s.push((now - previous).as_secs_f32()),
            }
            *last_token = Some(now);
            outcome.n_chunks += 1;
            let text = match api {
                ApiKind::Completions => first.text.as_deref(),
                ApiKind::Chat => first.delta.as_ref().and_then(|delta| delta.content.as_deref()),
            };
            if let Some(text) = text {
                outcome.generated_text.push_str(text);
            }
        }
        // Deliberate fix (COMPAT.md): usage is read from every chunk, also from one with choices.
        if let Some(usage) = &chunk.usage {
            if usage.completion_tokens.is_some() {
                outcome.usage_completion_tokens = usage.completion_tokens;
            }
            if usage.prompt_tokens.is_some() {
                outcome.usage_prompt_tokens = usage.prompt_tokens;
            }
        }
    }
    Ok(())
}

/// Whether a send failed because a pooled connection was already closed by the server.
fn is_stale_connection(err: &reqwest::Error) -> bool {
    if err.is_connect() || err.is_timeout() {
        return false;
    }
    // hyper's `IncompleteMessage`, recognised by its message (hyper is not a direct dependency).
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.to_string().contains("connection closed before message completed") {
            return true;
        }
        source = cause.source();
    }
    false
}

fn classify(err: &reqwest::Error) -> RequestError {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_connect() {
        ErrorKind::Connect
    } else if err.is_body() || err.is_decode() || err.is_request() {
        ErrorKind::Stream
    } else {
        ErrorKind::Other
    };
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    RequestError { kind, message }
}
