//! One request to an inference server, timed chunk by chunk.
//!
//! Owns the request bodies of every backend (LOAD-GENERATOR.md §5: OpenAI completions and chat,
//! TGI and Triton/TensorRT-LLM `generate_stream`, DeepSpeed-MII's non-streaming `generate`), the
//! token-event rules and per-chunk timestamps ([`StreamState`], shared with `raw_http`), the
//! classification of failures, and the reqwest transport. It does not pace, count slots or
//! aggregate: it turns one prompt into one [`RequestOutcome`].
//!
//! Timestamps: every chunk's time is read once, right after its bytes come off the connection and
//! before any parsing; all events completed by that read share it. The clock is `Instant` (one
//! monotonic clock for the whole run).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use super::dataset::Prompt;
use super::sse::{LineParser, MAX_LINE_BYTES, SseEvent, SseParser};

/// Which request function (and so which body and which token-event rules) a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// `/v1/completions` (reference backends vllm, openai, sglang, lmdeploy, scalellm).
    Completions,
    /// `/v1/chat/completions` (reference backend openai-chat).
    Chat,
    /// Hugging Face TGI `…/generate_stream` (reference backend tgi): one line per token.
    Tgi,
    /// Triton's `…/generate_stream` with TensorRT-LLM (reference backend tensorrt-llm): one line
    /// per token.
    TensorRtLlm,
    /// DeepSpeed-MII's `generate` (reference backend deepspeed-mii): one JSON answer, no stream.
    DeepspeedMii,
}

impl ApiKind {
    /// Whether the body is a stream of token events (TTFT and ITL are observable).
    pub fn streams(self) -> bool {
        !matches!(self, ApiKind::DeepspeedMii)
    }

    /// Whether every token event carries exactly one token (the events are a token count).
    pub fn events_are_tokens(self) -> bool {
        matches!(self, ApiKind::Tgi | ApiKind::TensorRtLlm)
    }

    /// Whether requests name a model (and so `--lora-modules` can pick one).
    pub fn sends_model(self) -> bool {
        matches!(self, ApiKind::Completions | ApiKind::Chat)
    }
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
    /// The server reported an error inside a 200 stream (`{"error": …}`).
    Server,
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
            ErrorKind::Server => "server_error",
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
    /// The server's own output-token count: `usage.completion_tokens` from any chunk that
    /// carried it, or TGI's `details.generated_tokens`.
    pub usage_completion_tokens: Option<u64>,
    /// `usage.prompt_tokens` as the server counted them.
    pub usage_prompt_tokens: Option<u64>,
    /// `usage.prompt_tokens_details.cached_tokens`: prompt tokens the server took from its cache.
    pub usage_cached_tokens: Option<u64>,
    /// Time of the first chunk with non-empty text (a chat role-only delta is not one); the
    /// agentic replay's TTFT (AGENTIC.md §5.1).
    pub first_content: Option<Duration>,
    /// Time of the last chunk with non-empty text.
    pub last_content: Option<Duration>,
    /// Chunks with non-empty text.
    pub content_chunks: u64,
    /// Number of token chunks seen.
    pub n_chunks: u64,
    /// Time spent opening a new TCP connection for this request (inside TTFT, as in the
    /// reference); `None` when a kept-alive connection was reused or the transport cannot tell.
    pub connect: Option<Duration>,
    pub generated_text: String,
    pub error: Option<RequestError>,
    /// An OpenAI stream that ended without `data: [DONE]`. Still a success, as in the reference,
    /// but counted apart (`incomplete_streams` in the result).
    pub incomplete_stream: bool,
    /// `{"error": …}` events inside a 200 OpenAI stream. The reference ignores them (the
    /// request counts as a success); they are counted apart (`error_events` in the result).
    pub error_events: u32,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
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

/// One line of a TGI `generate_stream` body.
#[derive(Deserialize)]
struct TgiChunk<'a> {
    #[serde(default, borrow)]
    token: Option<TgiToken<'a>>,
    #[serde(default, borrow)]
    generated_text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    details: Option<TgiDetails>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct TgiToken<'a> {
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
struct TgiDetails {
    #[serde(default)]
    generated_tokens: Option<u64>,
}

/// One line of a Triton/TensorRT-LLM `generate_stream` body.
#[derive(Deserialize)]
struct TritonChunk<'a> {
    #[serde(default, borrow)]
    text_output: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

/// Builds the JSON body of one request (LOAD-GENERATOR.md §5). `model` is the name sent by the
/// backends that send one (the template's, or a `--lora-modules` pick).
pub fn request_body(template: &RequestTemplate, prompt: &Prompt, model: &str) -> Vec<u8> {
    let (text, max_tokens) = (&*prompt.text, prompt.output_len);
    let mut body = serde_json::Map::new();
    match template.api {
        ApiKind::Tgi => {
            let mut parameters = serde_json::Map::new();
            parameters.insert("best_of".into(), template.best_of.into());
            parameters.insert("max_new_tokens".into(), max_tokens.into());
            parameters.insert("do_sample".into(), true.into());
            // TGI rejects temperature 0 and top_p 1.
            parameters.insert("temperature".into(), 0.01.into());
            parameters.insert("top_p".into(), 0.99.into());
            if prompt.prompt_len > 0 {
                parameters.insert("truncate".into(), prompt.prompt_len.into());
            }
            // Not in the reference: asks for `details.generated_tokens` on the last event.
            parameters.insert("details".into(), true.into());
            body.insert("inputs".into(), text.into());
            body.insert("parameters".into(), Value::Object(parameters));
            return to_bytes(body);
        }
        ApiKind::TensorRtLlm => {
            body.insert("accumulate_tokens".into(), true.into());
            body.insert("text_input".into(), text.into());
            body.insert("temperature".into(), 0.0.into());
            body.insert("top_p".into(), 1.0.into());
            body.insert("max_tokens".into(), max_tokens.into());
            body.insert("stream".into(), true.into());
            if template.ignore_eos {
                body.insert("min_length".into(), max_tokens.into());
            }
            return to_bytes(body);
        }
        ApiKind::DeepspeedMii => {
            body.insert("prompt".into(), text.into());
            body.insert("max_tokens".into(), max_tokens.into());
            // DeepSpeed-MII rejects temperature 0.
            body.insert("temperature".into(), 0.01.into());
            body.insert("top_p".into(), 1.0.into());
            if template.ignore_eos {
                // Not in the reference: MII has no `ignore_eos`, but `min_tokens` holds the length.
                body.insert("min_tokens".into(), max_tokens.into());
            }
            return to_bytes(body);
        }
        ApiKind::Completions | ApiKind::Chat => {}
    }
    body.insert("model".into(), model.into());
    match template.api {
        ApiKind::Completions => {
            body.insert("prompt".into(), text.into());
            body.insert("temperature".into(), 0.0.into());
            body.insert("best_of".into(), template.best_of.into());
            body.insert("max_tokens".into(), max_tokens.into());
            body.insert("logprobs".into(), serde_json::Value::Null);
        }
        ApiKind::Chat => {
            body.insert(
                "messages".into(),
                serde_json::json!([{"role": "user", "content": [{"type": "text", "text": text}]}]),
            );
            body.insert("temperature".into(), 0.0.into());
            body.insert("max_completion_tokens".into(), max_tokens.into());
        }
        ApiKind::Tgi | ApiKind::TensorRtLlm | ApiKind::DeepspeedMii => {}
    }
    body.insert("stream".into(), true.into());
    body.insert("stream_options".into(), serde_json::json!({"include_usage": true}));
    if template.ignore_eos {
        body.insert("ignore_eos".into(), true.into());
    }
    to_bytes(body)
}

fn to_bytes(body: serde_json::Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
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

/// How a response body is cut into events.
enum Framing {
    /// Server-Sent Events (OpenAI completions and chat).
    Sse(SseParser),
    /// One payload per line (`generate_stream`).
    Lines(LineParser),
    /// The whole body is one JSON document (DeepSpeed-MII).
    Whole(Vec<u8>),
}

/// The state of one response body being read: framing plus the token-event clock.
pub(crate) struct StreamState {
    api: ApiKind,
    framing: Framing,
    events: Vec<SseEvent>,
    last_token: Option<Instant>,
    last_any: Option<Instant>,
    /// When the last body bytes came off the connection (the non-streaming latency end).
    last_read: Option<Instant>,
    /// Whether `data: [DONE]` arrived.
    saw_done: bool,
}

impl StreamState {
    pub(crate) fn new(api: ApiKind) -> Self {
        let framing = match api {
            ApiKind::Completions | ApiKind::Chat => Framing::Sse(SseParser::new()),
            ApiKind::Tgi | ApiKind::TensorRtLlm => Framing::Lines(LineParser::new()),
            ApiKind::DeepspeedMii => Framing::Whole(Vec::new()),
        };
        StreamState {
            api,
            framing,
            events: Vec::new(),
            last_token: None,
            last_any: None,
            last_read: None,
            saw_done: false,
        }
    }

    /// Feeds body bytes that came off the connection at `now`.
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        now: Instant,
        outcome: &mut RequestOutcome,
    ) -> Result<(), RequestError> {
        self.last_read = Some(now);
        let overflowed = match &mut self.framing {
            Framing::Sse(parser) => {
                parser.feed(bytes, &mut self.events);
                parser.overflowed()
            }
            Framing::Lines(parser) => {
                parser.feed(bytes, &mut self.events);
                parser.overflowed()
            }
            Framing::Whole(body) => {
                if body.len() + bytes.len() > MAX_LINE_BYTES {
                    true
                } else {
                    body.extend_from_slice(bytes);
                    return Ok(());
                }
            }
        };
        if overflowed {
            return Err(RequestError {
                kind: ErrorKind::Parse,
                message: format!("the response holds a line, event or body over {} bytes", MAX_LINE_BYTES),
            });
        }
        self.handle_events(now, outcome)
    }

    /// Ends a body that ended cleanly: sets the latency, or the `no_tokens` error.
    pub(crate) fn finish(mut self, outcome: &mut RequestOutcome) {
        let now = Instant::now();
        match &mut self.framing {
            Framing::Sse(parser) => parser.finish(&mut self.events),
            Framing::Lines(parser) => parser.finish(&mut self.events),
            Framing::Whole(body) => {
                let end = self.last_read.unwrap_or(now);
                if let Err(error) = whole_response(body, outcome) {
                    outcome.error = Some(error);
                    return;
                }
                outcome.latency = end - outcome.sent_at;
                return;
            }
        }
        if let Err(error) = self.handle_events(now, outcome) {
            outcome.error = Some(error);
            return;
        }
        outcome.incomplete_stream = matches!(self.framing, Framing::Sse(_)) && !self.saw_done;
        let end = match self.api {
            ApiKind::Chat => self.last_any,
            _ => self.last_token,
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

    /// A token event at `now`: TTFT for the first, an ITL sample for every later one.
    fn token_event(&mut self, now: Instant, outcome: &mut RequestOutcome) {
        match self.last_token {
            None => outcome.ttft = now - outcome.sent_at,
            Some(previous) => outcome.itl_s.push((now - previous).as_secs_f32()),
        }
        self.last_token = Some(now);
        outcome.n_chunks += 1;
    }

    fn handle_events(&mut self, now: Instant, outcome: &mut RequestOutcome) -> Result<(), RequestError> {
        let mut events = std::mem::take(&mut self.events);
        let handled = events.drain(..).try_for_each(|event| match event {
            SseEvent::Data(payload) => self.handle_payload(&payload, now, outcome),
            SseEvent::Done => {
                self.saw_done = true;
                Ok(())
            }
        });
        self.events = events;
        handled
    }

    fn handle_payload(
        &mut self,
        payload: &str,
        now: Instant,
        outcome: &mut RequestOutcome,
    ) -> Result<(), RequestError> {
        let parse_error = |err: serde_json::Error| RequestError {
            kind: ErrorKind::Parse,
            message: format!("invalid JSON chunk: {err}"),
        };
        self.last_any = Some(now);
        match self.api {
            ApiKind::Completions | ApiKind::Chat => {
                let chunk: Chunk<'_> = serde_json::from_str(payload).map_err(parse_error)?;
                if chunk.error.is_some() {
                    outcome.error_events += 1;
                }
                if let Some(first) = chunk.choices.as_ref().and_then(|choices| choices.first()) {
                    self.token_event(now, outcome);
                    let text = match self.api {
                        ApiKind::Completions => first.text.as_deref(),
                        _ => first.delta.as_ref().and_then(|delta| delta.content.as_deref()),
                    };
                    if let Some(text) = text {
                        if !text.is_empty() {
                            let at = now - outcome.sent_at;
                            outcome.first_content.get_or_insert(at);
                            outcome.last_content = Some(at);
                            outcome.content_chunks += 1;
                        }
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
                    if let Some(cached) = usage.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens) {
                        outcome.usage_cached_tokens = Some(cached);
                    }
                }
            }
            ApiKind::Tgi => {
                let chunk: TgiChunk<'_> = serde_json::from_str(payload).map_err(parse_error)?;
                if let Some(error) = chunk.error {
                    return Err(server_error(&error));
                }
                self.token_event(now, outcome);
                match (&chunk.generated_text, &chunk.token) {
                    // The last event carries the whole text (special tokens left out).
                    (Some(text), _) => outcome.generated_text = text.to_string(),
                    (None, Some(token)) if !token.special => {
                        outcome.generated_text.push_str(token.text.as_deref().unwrap_or(""))
                    }
                    _ => {}
                }
                if let Some(tokens) = chunk.details.and_then(|details| details.generated_tokens) {
                    outcome.usage_completion_tokens = Some(tokens);
                }
            }
            ApiKind::TensorRtLlm => {
                let chunk: TritonChunk<'_> = serde_json::from_str(payload).map_err(parse_error)?;
                if let Some(error) = chunk.error {
                    return Err(server_error(&error));
                }
                self.token_event(now, outcome);
                if let Some(text) = chunk.text_output {
                    outcome.generated_text.push_str(&text);
                }
            }
            ApiKind::DeepspeedMii => {}
        }
        Ok(())
    }
}

/// An `{"error": …}` object the server sent inside a 200 response.
fn server_error(error: &Value) -> RequestError {
    let message = match error {
        Value::String(text) => text.clone(),
        other => other.get("message").and_then(Value::as_str).map_or_else(|| other.to_string(), str::to_owned),
    };
    RequestError { kind: ErrorKind::Server, message: format!("server error: {message}") }
}

/// Reads a non-streaming answer: MII's `{"text": [..]}` (or a plain string), or an OpenAI
/// completion's `choices[0].text` with its `usage`.
fn whole_response(body: &[u8], outcome: &mut RequestOutcome) -> Result<(), RequestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| RequestError { kind: ErrorKind::Parse, message: format!("invalid JSON response: {err}") })?;
    if let Some(error) = value.get("error") {
        return Err(server_error(error));
    }
    let text = match value.get("text") {
        Some(Value::Array(texts)) => texts.first().and_then(Value::as_str),
        Some(Value::String(text)) => Some(text.as_str()),
        _ => value.pointer("/choices/0/text").and_then(Value::as_str),
    };
    let Some(text) = text else {
        return Err(RequestError {
            kind: ErrorKind::Parse,
            message: "the response has no `text` (nor `choices[0].text`)".into(),
        });
    };
    outcome.generated_text = text.to_owned();
    outcome.usage_completion_tokens = value.pointer("/usage/completion_tokens").and_then(Value::as_u64);
    outcome.usage_prompt_tokens = value.pointer("/usage/prompt_tokens").and_then(Value::as_u64);
    Ok(())
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
        usage_cached_tokens: None,
        first_content: None,
        last_content: None,
        content_chunks: 0,
        n_chunks: 0,
        connect: None,
        generated_text: String::new(),
        error: None,
        incomplete_stream: false,
        error_events: 0,
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn template(api: ApiKind, ignore_eos: bool) -> RequestTemplate {
        RequestTemplate { url: String::new(), api, model: "m".into(), ignore_eos, best_of: 1, api_key: None }
    }

    fn body(api: ApiKind, ignore_eos: bool) -> Value {
        let prompt = Prompt { text: Arc::from("hi there"), prompt_len: 2, output_len: 7 };
        serde_json::from_slice(&request_body(&template(api, ignore_eos), &prompt, "lora-1")).expect("JSON body")
    }

    /// Feeds `pieces` as separate reads, 1 ms apart, and finishes the body.
    fn read(api: ApiKind, pieces: &[&[u8]]) -> RequestOutcome {
        let mut outcome = new_outcome();
        let mut state = StreamState::new(api);
        let start = outcome.sent_at;
        for (idx, piece) in pieces.iter().enumerate() {
            let now = start + Duration::from_millis(idx as u64 + 1);
            if let Err(error) = state.feed(piece, now, &mut outcome) {
                outcome.error = Some(error);
                return outcome;
            }
        }
        state.finish(&mut outcome);
        outcome
    }

    #[test]
    fn bodies_follow_each_backend() {
        let tgi = body(ApiKind::Tgi, true);
        assert_eq!(tgi["inputs"], "hi there");
        assert_eq!(tgi["parameters"]["max_new_tokens"], 7);
        assert_eq!(tgi["parameters"]["truncate"], 2);
        assert_eq!(tgi["parameters"]["temperature"], 0.01);
        assert_eq!(tgi["parameters"]["details"], true);
        assert!(tgi.get("ignore_eos").is_none() && tgi.get("model").is_none(), "{tgi}");
        let trt = body(ApiKind::TensorRtLlm, true);
        assert_eq!(trt["text_input"], "hi there");
        assert_eq!((trt["max_tokens"].as_u64(), trt["min_length"].as_u64()), (Some(7), Some(7)));
        assert_eq!((trt["stream"].as_bool(), trt["accumulate_tokens"].as_bool()), (Some(true), Some(true)));
        assert!(body(ApiKind::TensorRtLlm, false).get("min_length").is_none());
        let mii = body(ApiKind::DeepspeedMii, true);
        assert_eq!((mii["prompt"].as_str(), mii["max_tokens"].as_u64()), (Some("hi there"), Some(7)));
        assert_eq!(mii["min_tokens"], 7);
        assert!(mii.get("stream").is_none(), "{mii}");
        let completions = body(ApiKind::Completions, true);
        assert_eq!(completions["model"], "lora-1");
        assert_eq!(completions["ignore_eos"], true);
        assert_eq!(body(ApiKind::Chat, false)["model"], "lora-1");
    }

    #[test]
    fn tgi_stream_uses_details_and_the_last_generated_text() {
        let outcome = read(
            ApiKind::Tgi,
            &[
                b":\n\ndata:{\"index\":1,\"token\":{\"id\":1,\"text\":\" a\",\"special\":false},\"generated_text\":null,\"details\":null}\n",
                b"\ndata:{\"index\":2,\"token\":{\"id\":2,\"text\":\" b\",\"special\":false},",
                b"\"generated_text\":\" a b\",\"details\":{\"finish_reason\":\"length\",\"generated_tokens\":2}}\r\n\r\n",
            ],
        );
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.n_chunks, 2);
        assert_eq!(outcome.usage_completion_tokens, Some(2));
        assert_eq!(outcome.generated_text, " a b");
        assert_eq!(outcome.ttft, Duration::from_millis(1));
        assert_eq!(outcome.latency, Duration::from_millis(3));
        assert_eq!(outcome.itl_s.len(), 1);
    }

    #[test]
    fn tgi_stream_without_details_or_final_text_accumulates_tokens() {
        let outcome = read(
            ApiKind::Tgi,
            &[b"data:{\"token\":{\"text\":\"x\",\"special\":false}}\n\ndata:{\"token\":{\"text\":\"</s>\",\"special\":true}}\n\n"],
        );
        assert_eq!((outcome.n_chunks, outcome.usage_completion_tokens), (2, None));
        assert_eq!(outcome.generated_text, "x", "special tokens are left out, as TGI's generated_text does");
    }

    #[test]
    fn error_events_fail_the_request() {
        let outcome = read(
            ApiKind::Tgi,
            &[b"data:{\"token\":{\"text\":\"x\"}}\n\ndata:{\"error\":\"overloaded\",\"error_type\":\"x\"}\n\n"],
        );
        let error = outcome.error.expect("an error");
        assert_eq!((error.kind, error.message.as_str()), (ErrorKind::Server, "server error: overloaded"));
        let outcome = read(ApiKind::TensorRtLlm, &[b"data: {\"error\":{\"message\":\"bad input\"}}\n\n"]);
        assert_eq!(outcome.error.expect("an error").message, "server error: bad input");
        let outcome = read(ApiKind::TensorRtLlm, &[b"data: not json\n\n"]);
        assert_eq!(outcome.error.expect("an error").kind, ErrorKind::Parse);
    }

    #[test]
    fn triton_stream_counts_lines_and_concatenates_text_output() {
        let outcome = read(
            ApiKind::TensorRtLlm,
            &[b"data: {\"text_output\":\" a\",\"model_name\":\"ensemble\"}\n\nda", b"ta: {\"text_output\":\" b\"}\n\n"],
        );
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!((outcome.n_chunks, outcome.generated_text.as_str()), (2, " a b"));
        assert_eq!(outcome.latency, Duration::from_millis(2), "the line completed by the second read");
        assert!(read(ApiKind::TensorRtLlm, &[b"\n\n"]).error.is_some_and(|e| e.kind == ErrorKind::NoTokens));
    }

    #[test]
    fn mii_reads_the_whole_answer_with_ttft_zero() {
        let outcome = read(ApiKind::DeepspeedMii, &[b"{\"text\": [\" a b", b" c\"]}"]);
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        assert_eq!(outcome.generated_text, " a b c");
        assert_eq!((outcome.ttft, outcome.latency), (Duration::ZERO, Duration::from_millis(2)));
        assert!(outcome.itl_s.is_empty());
        let outcome =
            read(ApiKind::DeepspeedMii, &[b"{\"choices\":[{\"text\":\"z\"}],\"usage\":{\"completion_tokens\":1}}"]);
        assert_eq!((outcome.generated_text.as_str(), outcome.usage_completion_tokens), ("z", Some(1)));
        let outcome = read(ApiKind::DeepspeedMii, &[b"{\"text\": \"plain\"}"]);
        assert_eq!(outcome.generated_text, "plain");
        let outcome = read(ApiKind::DeepspeedMii, &[b"{\"answer\": 1}"]);
        assert_eq!(outcome.error.expect("an error").kind, ErrorKind::Parse);
    }
}
