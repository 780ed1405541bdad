//! Trace loading (AGENTIC.md §2): Weka traces (`traces.jsonl`, a folder of per-trace `*.json`, or
//! the Hugging Face cache layout) and Mooncake rows, turned into [`Trace`]s made of conversations
//! (the root and one child per subagent) with their dependencies and recorded gaps.
//!
//! Owns validation of every field (a bad trace is a [`Diag`] naming the file, the line and the
//! field, spanning the line) and the theoretical prefix-cache counts of §5.2. It does not build
//! prompts (`prompt`) nor decide when anything is sent (`schedule`).
//!
//! Hidden-agent chain splitting (§2.2, version-dependent upstream) is not done: every subagent
//! entry is one child conversation and top-level requests stay in the root.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diag::Diag;
use crate::source::{FileId, SourceMap, Span};

mod mooncake;
pub use mooncake::parse_mooncake;

/// Which loader reads the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    Weka,
    Mooncake,
}

/// A loaded corpus: the traces in file order and where they came from.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub traces: Vec<Trace>,
    pub format: TraceFormat,
    /// The path as given (file or folder), for the result's `dataset` provenance.
    pub path: PathBuf,
}

/// One recorded agent session: its conversations (index 0 is the root).
#[derive(Debug, Clone)]
pub struct Trace {
    pub id: Arc<str>,
    pub block_size: u32,
    pub tool_tokens: u64,
    pub system_tokens: u64,
    /// Seeds the content of hash blocks: per trace for Weka's local ids, shared for Mooncake's
    /// global ids.
    pub scope: u64,
    pub conversations: Vec<Conversation>,
}

/// A chain of requests sent one after another: the root or one subagent.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// `<trace>` for the root, `<trace>::sa:<agent_id>` for a subagent.
    pub id: Arc<str>,
    pub requests: Vec<TraceRequest>,
    /// How a child hangs off the root; `None` for the root.
    pub link: Option<ChildLink>,
}

/// Where a child conversation starts and which root request waits for it.
#[derive(Debug, Clone)]
pub struct ChildLink {
    /// Root request after whose completion the child starts.
    pub anchor: usize,
    /// Root request that waits for the child; `None` for a background child.
    pub join: Option<usize>,
    /// Seconds from the anchor's completion to the child's first request
    /// (`entry.t − anchor.t − anchor.api_time`, ≥ 0).
    pub spawn_offset: f64,
    /// The subagent's recorded end (`t + duration_ms`, else the latest inner `t + api_time`).
    pub recorded_end: f64,
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct TraceRequest {
    /// Start, seconds from the trace start.
    pub t: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub hash_ids: Vec<u64>,
    pub api_time: f64,
    /// End-to-start gap after the previous request of the same conversation (≥ 0); for a root
    /// request that joins children, the gap after the latest recorded child end.
    pub gap: f64,
    /// Children (conversation indexes) this request waits for.
    pub joins: Vec<usize>,
    /// Theoretical prefix-cache (hit, total) blocks over one seen-set per trace (§5.2).
    pub theoretical_hit: u32,
    pub theoretical_total: u32,
}

impl Trace {
    /// Top-level requests of the root conversation.
    pub fn root(&self) -> &Conversation {
        &self.conversations[0]
    }

    /// Whether a play can start mid-way (§2.2: at least 2 top-level requests).
    pub fn can_start_midway(&self) -> bool {
        self.root().requests.len() >= 2
    }
}

/// The loader's options.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub format: TraceFormat,
    /// Mooncake `--isl-block-size` (Weka traces carry their own `block_size`).
    pub mooncake_block_size: u32,
    /// `--max-context-length`: traces whose peak `in + out` exceeds it are dropped whole.
    pub max_context_length: Option<u64>,
    /// `--num-dataset-entries`: keep at most this many traces (file order).
    pub max_entries: Option<usize>,
}

/// What loading produced: the corpus (when no error was found) and every diagnostic.
pub struct Loaded {
    pub corpus: Option<Corpus>,
    pub sources: SourceMap,
    pub diags: Vec<Diag>,
}

/// Reads a dataset path (file or folder) and parses it. IO problems are diagnostics too.
pub fn load(path: &Path, options: &LoadOptions) -> Loaded {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let files = match dataset_files(path) {
        Ok(files) => files,
        Err(diag) => return Loaded { corpus: None, sources, diags: vec![*diag] },
    };
    let mut texts = Vec::new();
    for file in &files {
        match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => texts.push(sources.add(file.display().to_string(), Arc::from(text))),
                Err(_) => diags.push(
                    Diag::error("ix::bench::trace_read", format!("`{}` is not UTF-8 text", file.display()))
                        .help("traces are JSON lines"),
                ),
            },
            Err(err) => {
                diags.push(Diag::error("ix::bench::trace_read", format!("cannot read `{}`: {err}", file.display())))
            }
        }
    }
    let mut traces = Vec::new();
    for &file in &texts {
        match options.format {
            TraceFormat::Weka => parse_weka(&sources, file, &mut traces, &mut diags),
            TraceFormat::Mooncake => {
                parse_mooncake(&sources, file, options.mooncake_block_size, &mut traces, &mut diags)
            }
        }
    }
    if let Some(limit) = options.max_context_length {
        traces.retain(|trace: &Trace| peak_context(trace) <= limit);
    }
    if let Some(max) = options.max_entries {
        traces.truncate(max);
    }
    if diags.iter().any(Diag::is_error) {
        return Loaded { corpus: None, sources, diags };
    }
    if traces.is_empty() {
        diags.push(
            Diag::error("ix::bench::trace_empty", format!("`{}` holds no usable trace", path.display()))
                .help("check --max-context-length and the file contents"),
        );
        return Loaded { corpus: None, sources, diags };
    }
    let corpus = Corpus { traces, format: options.format, path: path.to_owned() };
    Loaded { corpus: Some(corpus), sources, diags }
}

/// Parses one Weka text (JSON lines, or one object per file) into traces; used by `load` and tests.
pub fn parse_weka(sources: &SourceMap, file: FileId, traces: &mut Vec<Trace>, diags: &mut Vec<Diag>) {
    let text = sources.get(file).text.clone();
    let trimmed = text.trim_start();
    // A per-trace `*.json` file may be pretty-printed: one object spanning the whole file.
    if trimmed.starts_with('{') && serde_json::from_str::<Value>(&text).is_ok() && !text.trim().contains("}\n{") {
        let span = Span::new(file, 0, text.len());
        parse_weka_value(&text, span, 1, traces, diags);
        return;
    }
    // One trace per line: lines are parsed on all cores, results joined in file order.
    let all: Vec<(usize, usize, &str)> = lines(&text).collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(all.len().max(1));
    let chunk = all.len().div_ceil(workers.max(1)).max(1);
    let parsed: Vec<(Vec<Trace>, Vec<Diag>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let (mut traces, mut diags) = (Vec::new(), Vec::new());
                    for &(line_no, start, line) in part {
                        let span = Span::new(file, start, start + line.len());
                        parse_weka_value(line, span, line_no, &mut traces, &mut diags);
                    }
                    (traces, diags)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap_or_default()).collect()
    });
    for (mut part_traces, mut part_diags) in parsed {
        traces.append(&mut part_traces);
        diags.append(&mut part_diags);
    }
}

fn parse_weka_value(text: &str, span: Span, line_no: usize, traces: &mut Vec<Trace>, diags: &mut Vec<Diag>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            diags.push(
                Diag::error("ix::bench::trace_json", format!("line {line_no}: invalid JSON: {err}"))
                    .at(span, "not a JSON object"),
            );
            return;
        }
    };
    let mut ctx = Ctx { span, line_no, diags, failed: false };
    if let Some(trace) = weka_trace(&mut ctx, &value)
        && !ctx.failed
    {
        traces.push(trace);
    }
}

/// Error context of one line: where it is and whether anything failed.
struct Ctx<'a> {
    span: Span,
    line_no: usize,
    diags: &'a mut Vec<Diag>,
    failed: bool,
}

impl Ctx<'_> {
    fn error(&mut self, field: &str, message: impl std::fmt::Display) {
        self.failed = true;
        self.diags.push(
            Diag::error("ix::bench::trace_field", format!("line {}: field `{field}`: {message}", self.line_no))
                .at(self.span, format!("in `{field}`")),
        );
    }

    fn object<'v>(&mut self, value: &'v Value, field: &str) -> Option<&'v Map<String, Value>> {
        match value.as_object() {
            Some(object) => Some(object),
            None => {
                self.error(field, "expected an object");
                None
            }
        }
    }

    fn uint(&mut self, object: &Map<String, Value>, path: &str, key: &str, default: Option<u64>) -> Option<u64> {
        match object.get(key) {
            None | Some(Value::Null) if default.is_some() => default,
            None => {
                self.error(&format!("{path}{key}"), "missing");
                None
            }
            Some(value) => match value.as_u64() {
                Some(n) => Some(n),
                None => {
                    self.error(&format!("{path}{key}"), format!("expected a non-negative integer, found `{value}`"));
                    None
                }
            },
        }
    }

    fn float(&mut self, object: &Map<String, Value>, path: &str, key: &str, default: Option<f64>) -> Option<f64> {
        match object.get(key) {
            None | Some(Value::Null) if default.is_some() => default,
            None => {
                self.error(&format!("{path}{key}"), "missing");
                None
            }
            Some(value) => match value.as_f64() {
                Some(x) if x.is_finite() && x >= 0.0 => Some(x),
                _ => {
                    self.error(&format!("{path}{key}"), format!("expected a non-negative number, found `{value}`"));
                    None
                }
            },
        }
    }

    fn string<'v>(&mut self, object: &'v Map<String, Value>, path: &str, key: &str) -> Option<&'v str> {
        match object.get(key) {
            Some(Value::String(text)) => Some(text),
            None => {
                self.error(&format!("{path}{key}"), "missing");
                None
            }
            Some(value) => {
                self.error(&format!("{path}{key}"), format!("expected a string, found `{value}`"));
                None
            }
        }
    }

    fn hash_ids(&mut self, object: &Map<String, Value>, path: &str) -> Option<Vec<u64>> {
        let field = format!("{path}hash_ids");
        match object.get("hash_ids") {
            Some(Value::Array(items)) => {
                let mut ids = Vec::with_capacity(items.len());
                for (idx, item) in items.iter().enumerate() {
                    match item.as_u64() {
                        Some(id) => ids.push(id),
                        None => {
                            self.error(
                                &format!("{field}[{idx}]"),
                                format!("expected a non-negative integer, found `{item}`"),
                            );
                            return None;
                        }
                    }
                }
                Some(ids)
            }
            None => {
                self.error(&field, "missing");
                None
            }
            Some(value) => {
                self.error(&field, format!("expected an array of block ids, found `{value}`"));
                None
            }
        }
    }
}

const TRACE_KEYS: &[&str] =
    &["id", "models", "block_size", "hash_id_scope", "tool_tokens", "system_tokens", "requests", "totals"];
const REQUEST_KEYS: &[&str] = &[
    "t",
    "type",
    "model",
    "in",
    "out",
    "hash_ids",
    "input_types",
    "output_types",
    "stop",
    "api_time",
    "think_time",
    "ttft",
];
const SUBAGENT_KEYS: &[&str] = &[
    "t",
    "type",
    "agent_id",
    "subagent_type",
    "duration_ms",
    "total_tokens",
    "tool_use_count",
    "status",
    "models",
    "tool_tokens",
    "system_tokens",
    "requests",
];

fn unknown_keys(ctx: &mut Ctx<'_>, object: &Map<String, Value>, path: &str, known: &[&str]) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            let hint = crate::diag::did_you_mean(key, known.iter().copied())
                .map(|name| format!(" (did you mean `{name}`?)"))
                .unwrap_or_default();
            ctx.error(&format!("{path}{key}"), format!("unknown field{hint}"));
        }
    }
}

/// A request as read, before the conversation structure is known.
struct RawRequest {
    t: f64,
    input_tokens: u64,
    output_tokens: u64,
    hash_ids: Vec<u64>,
    api_time: f64,
}

fn weka_request(ctx: &mut Ctx<'_>, object: &Map<String, Value>, path: &str) -> Option<RawRequest> {
    unknown_keys(ctx, object, path, REQUEST_KEYS);
    let t = ctx.float(object, path, "t", None);
    let input_tokens = ctx.uint(object, path, "in", None);
    let output_tokens = ctx.uint(object, path, "out", None);
    let hash_ids = ctx.hash_ids(object, path);
    let api_time = ctx.float(object, path, "api_time", Some(0.0));
    let _ = ctx.float(object, path, "think_time", Some(0.0));
    Some(RawRequest {
        t: t?,
        input_tokens: input_tokens?,
        output_tokens: output_tokens?,
        hash_ids: hash_ids?,
        api_time: api_time?,
    })
}

/// A subagent entry as read.
struct RawSubagent {
    t: f64,
    agent_id: String,
    duration: Option<f64>,
    requests: Vec<RawRequest>,
}

fn weka_trace(ctx: &mut Ctx<'_>, value: &Value) -> Option<Trace> {
    let object = ctx.object(value, "(trace)")?;
    unknown_keys(ctx, object, "", TRACE_KEYS);
    let id = ctx.string(object, "", "id").map(str::to_owned);
    let block_size = ctx.uint(object, "", "block_size", None);
    if let Some(0) = block_size {
        ctx.error("block_size", "must be greater than 0");
    }
    if let Some(block_size) = block_size.filter(|&b| b > u64::from(u32::MAX)) {
        ctx.error("block_size", format!("{block_size} is too large"));
    }
    match object.get("hash_id_scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(scope)) if scope == "local" => {}
        Some(other) => ctx.error("hash_id_scope", format!("only `\"local\"` is supported, found `{other}`")),
    }
    let tool_tokens = ctx.uint(object, "", "tool_tokens", Some(0));
    let system_tokens = ctx.uint(object, "", "system_tokens", Some(0));
    let Some(Value::Array(items)) = object.get("requests") else {
        ctx.error("requests", if object.contains_key("requests") { "expected an array" } else { "missing" });
        return None;
    };
    let mut top = Vec::new();
    // Subagents with the index of the first top-level request after them.
    let mut subagents: Vec<(RawSubagent, usize)> = Vec::new();
    for (idx, item) in items.iter().enumerate() {
        let path = format!("requests[{idx}].");
        let Some(entry) = ctx.object(item, &format!("requests[{idx}]")) else { continue };
        match entry.get("type").and_then(Value::as_str) {
            Some("n" | "s") => {
                if let Some(request) = weka_request(ctx, entry, &path) {
                    top.push(request);
                }
            }
            Some("subagent") => {
                unknown_keys(ctx, entry, &path, SUBAGENT_KEYS);
                let t = ctx.float(entry, &path, "t", None);
                let agent_id = ctx.string(entry, &path, "agent_id").map(str::to_owned);
                let duration = match entry.get("duration_ms") {
                    None | Some(Value::Null) => Some(None),
                    Some(value) => match value.as_f64() {
                        Some(ms) if ms.is_finite() && ms >= 0.0 => Some(Some(ms / 1000.0)),
                        _ => {
                            ctx.error(
                                &format!("{path}duration_ms"),
                                format!("expected a non-negative number, found `{value}`"),
                            );
                            None
                        }
                    },
                };
                let mut inner = Vec::new();
                match entry.get("requests") {
                    Some(Value::Array(requests)) => {
                        for (inner_idx, request) in requests.iter().enumerate() {
                            let inner_path = format!("{path}requests[{inner_idx}].");
                            let Some(request) = ctx.object(request, &format!("{path}requests[{inner_idx}]")) else {
                                continue;
                            };
                            match request.get("type").and_then(Value::as_str) {
                                Some("n" | "s") => {
                                    if let Some(request) = weka_request(ctx, request, &inner_path) {
                                        inner.push(request);
                                    }
                                }
                                _ => ctx.error(&format!("{inner_path}type"), "expected `\"n\"` or `\"s\"`"),
                            }
                        }
                    }
                    Some(_) => ctx.error(&format!("{path}requests"), "expected an array"),
                    None => ctx.error(&format!("{path}requests"), "missing"),
                }
                if let (Some(t), Some(agent_id), Some(duration)) = (t, agent_id, duration) {
                    let next_top = top.len();
                    subagents.push((RawSubagent { t, agent_id, duration, requests: inner }, next_top));
                }
            }
            Some(other) => {
                ctx.error(&format!("{path}type"), format!("unknown request type `{other}` (expected n, s or subagent)"))
            }
            None => ctx.error(&format!("{path}type"), "missing"),
        }
    }
    let (id, block_size, tool_tokens, system_tokens) = (id?, block_size?, tool_tokens?, system_tokens?);
    if ctx.failed {
        return None;
    }
    if top.is_empty() {
        ctx.error("requests", "a trace needs at least one top-level request");
        return None;
    }
    let id: Arc<str> = Arc::from(id.as_str());
    let mut conversations = vec![Conversation { id: id.clone(), requests: Vec::new(), link: None }];
    let mut root_requests: Vec<TraceRequest> = Vec::with_capacity(top.len());
    for (idx, raw) in top.iter_mut().enumerate() {
        let gap = if idx == 0 { 0.0 } else { (raw.t - (previous_end(idx, &root_requests))).max(0.0) };
        root_requests.push(request_of(raw, gap));
    }
    let mut seen_agents = HashSet::new();
    for (sub, next_top) in subagents {
        // No preceding parent request: dropped (§2.2). No following one: a background child.
        if next_top == 0 || sub.requests.is_empty() {
            continue;
        }
        let anchor = next_top - 1;
        let join = (next_top < top.len()).then_some(next_top);
        let mut name = format!("{id}::sa:{}", sub.agent_id);
        if !seen_agents.insert(name.clone()) {
            name = format!("{name}:{}", conversations.len());
        }
        // Nested `t` below the subagent's `t` is relative to it (legacy fixtures).
        let mut absolute: Vec<RawRequest> = sub
            .requests
            .into_iter()
            .map(|r| RawRequest { t: if r.t < sub.t { r.t + sub.t } else { r.t }, ..r })
            .collect();
        let recorded_end = match sub.duration {
            Some(duration) => sub.t + duration,
            None => absolute.iter().map(|r| r.t + r.api_time).fold(sub.t, f64::max),
        };
        let anchor_end = top[anchor].t + top[anchor].api_time;
        let spawn_offset = (absolute[0].t - anchor_end).max(0.0);
        let mut requests: Vec<TraceRequest> = Vec::with_capacity(absolute.len());
        for (idx, raw) in absolute.iter_mut().enumerate() {
            let gap = if idx == 0 { 0.0 } else { (raw.t - previous_end(idx, &requests)).max(0.0) };
            requests.push(request_of(raw, gap));
        }
        let child = conversations.len();
        if let Some(join) = join {
            root_requests[join].joins.push(child);
        }
        conversations.push(Conversation {
            id: Arc::from(name.as_str()),
            requests,
            link: Some(ChildLink { anchor, join, spawn_offset, recorded_end }),
        });
    }
    // A joining request waits for its children, then its recorded gap after their latest end.
    for idx in 0..root_requests.len() {
        if root_requests[idx].joins.is_empty() {
            continue;
        }
        let latest_end = root_requests[idx]
            .joins
            .iter()
            .filter_map(|&child| conversations[child].link.as_ref().map(|link| link.recorded_end))
            .fold(f64::MIN, f64::max);
        root_requests[idx].gap = (top[idx].t - latest_end).max(0.0);
    }
    conversations[0].requests = root_requests;
    let mut trace =
        Trace { scope: scope_of(&id), id, block_size: block_size as u32, tool_tokens, system_tokens, conversations };
    stamp_theoretical(&mut trace);
    Some(trace)
}

/// End (`t + api_time`) of the request before `idx`.
fn previous_end(idx: usize, requests: &[TraceRequest]) -> f64 {
    requests.get(idx - 1).map_or(0.0, |r| r.t + r.api_time)
}

/// Takes a raw request's ids (the raw request is not used again).
fn request_of(raw: &mut RawRequest, gap: f64) -> TraceRequest {
    TraceRequest {
        t: raw.t,
        input_tokens: raw.input_tokens,
        output_tokens: raw.output_tokens,
        hash_ids: std::mem::take(&mut raw.hash_ids),
        api_time: raw.api_time,
        gap,
        joins: Vec::new(),
        theoretical_hit: 0,
        theoretical_total: 0,
    }
}

/// A stable 64-bit id of a trace (content seeding).
fn scope_of(id: &str) -> u64 {
    let hash = blake3::hash(id.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// §5.2: one seen-set per trace, requests in recorded `t` order (ties: root first, then children
/// in entry order); hit = leading run of already-seen ids.
fn stamp_theoretical(trace: &mut Trace) {
    let mut order: Vec<(f64, usize, usize)> = Vec::new();
    for (conv_idx, conversation) in trace.conversations.iter().enumerate() {
        for (req_idx, request) in conversation.requests.iter().enumerate() {
            order.push((request.t, conv_idx, req_idx));
        }
    }
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut seen = HashSet::new();
    for (_, conv_idx, req_idx) in order {
        let request = &mut trace.conversations[conv_idx].requests[req_idx];
        let hit = request.hash_ids.iter().take_while(|id| seen.contains(*id)).count();
        request.theoretical_hit = hit as u32;
        request.theoretical_total = request.hash_ids.len() as u32;
        seen.extend(request.hash_ids.iter().copied());
    }
}

/// Peak `in + out` over every request of a trace.
fn peak_context(trace: &Trace) -> u64 {
    trace
        .conversations
        .iter()
        .flat_map(|c| c.requests.iter())
        .map(|r| r.input_tokens.saturating_add(r.output_tokens))
        .max()
        .unwrap_or(0)
}

/// Non-empty lines with their 1-based number and byte offset.
fn lines(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut offset = 0;
    text.split('\n').enumerate().filter_map(move |(idx, line)| {
        let start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        (!line.trim().is_empty()).then_some((idx + 1, start, line))
    })
}

/// The files of a dataset path: a file; a folder's `traces.jsonl`; a folder of `*.json`/`*.jsonl`
/// (sorted); or the Hugging Face cache layout `datasets--*/snapshots/*/traces.jsonl`.
fn dataset_files(path: &Path) -> Result<Vec<PathBuf>, Box<Diag>> {
    let missing = || {
        Box::new(
            Diag::error("ix::bench::trace_read", format!("dataset path `{}` does not exist", path.display()))
                .help("give a traces.jsonl file or a folder of per-trace *.json files"),
        )
    };
    let metadata = std::fs::metadata(path).map_err(|_| missing())?;
    if metadata.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let direct = path.join("traces.jsonl");
    if direct.is_file() {
        return Ok(vec![direct]);
    }
    let snapshots = path.join("snapshots");
    if snapshots.is_dir() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&snapshots)
            .map_err(|_| missing())?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("traces.jsonl"))
            .filter(|candidate| candidate.is_file())
            .collect();
        found.sort();
        if let Some(last) = found.pop() {
            return Ok(vec![last]);
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|_| missing())?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "jsonl")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Box::new(
            Diag::error("ix::bench::trace_read", format!("folder `{}` holds no trace file", path.display()))
                .help("expected traces.jsonl, per-trace *.json files or a Hugging Face dataset snapshot"),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Trace>, Vec<Diag>) {
        let mut sources = SourceMap::new();
        let file = sources.add("t.jsonl".into(), Arc::from(text));
        let (mut traces, mut diags) = (Vec::new(), Vec::new());
        parse_weka(&sources, file, &mut traces, &mut diags);
        (traces, diags)
    }

    fn reference() -> Vec<Trace> {
        let text = std::fs::read_to_string("../shared/reference/agentic/traces.jsonl").expect("reference traces");
        let (traces, diags) = parse(&text);
        assert!(diags.is_empty(), "{diags:?}");
        traces
    }

    #[test]
    fn reference_traces_build_conversations_and_links() {
        let traces = reference();
        assert_eq!(traces.len(), 8);
        let t003 = &traces[2];
        assert_eq!(&*t003.conversations[1].id, "cc-synth-003::sa:explore_001");
        let link = t003.conversations[1].link.as_ref().expect("child");
        assert_eq!((link.anchor, link.join), (1, Some(2)));
        assert!((link.spawn_offset - 0.1).abs() < 1e-9, "{}", link.spawn_offset);
        assert!((t003.root().requests[2].gap - 0.4).abs() < 1e-9);
        // 006: two children on one branch; turn 3 joins both.
        let t006 = &traces[5];
        assert_eq!(t006.root().requests[3].joins, vec![1, 2]);
        assert!((t006.root().requests[3].gap - 0.35).abs() < 1e-9);
        // 007: background child (no following parent turn).
        assert_eq!(traces[6].conversations[1].link.as_ref().map(|l| l.join), Some(None));
        // Theoretical counts from the README: 003's subagent first request hits 4 of 9, 002's
        // compaction turn 7 of 14.
        let first = &t003.conversations[1].requests[0];
        assert_eq!((first.theoretical_hit, first.theoretical_total), (4, 9));
        let compaction = &traces[1].root().requests[2];
        assert_eq!((compaction.theoretical_hit, compaction.theoretical_total), (7, 14));
        assert!(traces.iter().all(Trace::can_start_midway));
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let good = r#"{"id":"a","block_size":64,"requests":[{"t":0,"type":"s","in":64,"out":1,"hash_ids":[0]}]}"#;
        let bad = r#"{"id":"b","block_size":64,"requests":[{"t":0,"type":"s","in":64,"out":1,"hash_ids":[0,"x"]}]}"#;
        let (traces, diags) = parse(&format!("{good}\n{bad}\n{{\"id\":\"c\",\"blok_size\":64,\"requests\":[]}}\n"));
        assert_eq!(traces.len(), 1);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert!(messages[0].starts_with("line 2: field `requests[0].hash_ids[1]`"), "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("line 3: field `blok_size`: unknown field (did you mean `block_size`?)")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("line 3: field `block_size`: missing")), "{messages:?}");
        let span = diags[0].primary.as_ref().expect("span").span;
        assert_eq!(span.start as usize, good.len() + 1);
    }

    #[test]
    fn mooncake_rows_become_sessions() {
        let text = std::fs::read_to_string("../shared/reference/agentic/mooncake.jsonl").expect("mooncake");
        let mut sources = SourceMap::new();
        let file = sources.add("m.jsonl".into(), Arc::from(text.as_str()));
        let (mut traces, mut diags) = (Vec::new(), Vec::new());
        parse_mooncake(&sources, file, 64, &mut traces, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(traces.iter().map(|t| t.root().requests.len()).sum::<usize>(), 44);
        let first = &traces[0];
        assert_eq!(&*first.id, "cc-synth-001");
        assert!((first.root().requests[1].gap - 1.1).abs() < 1e-9);
        // A partial block that does not fit is an error naming the field.
        let bad = r#"{"session_id":"s","input_length":10,"output_length":1,"hash_ids":[1,2]}"#;
        let file = sources.add("bad.jsonl".into(), Arc::from(bad));
        let (mut traces, mut diags) = (Vec::new(), Vec::new());
        parse_mooncake(&sources, file, 64, &mut traces, &mut diags);
        assert!(traces.is_empty() || traces[0].root().requests.is_empty());
        assert!(diags[0].message.contains("field `hash_ids`"), "{:?}", diags[0]);
    }

    proptest::proptest! {
        #[test]
        fn weka_loader_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn mooncake_loader_never_panics(text in "\\PC{0,300}", block in 0u32..100) {
            let mut sources = SourceMap::new();
            let file = sources.add("m".into(), Arc::from(text.as_str()));
            let (mut traces, mut diags) = (Vec::new(), Vec::new());
            parse_mooncake(&sources, file, block, &mut traces, &mut diags);
        }

        #[test]
        fn weka_loader_never_panics_on_mutated_traces(cut in 0usize..3000, byte in 0u8..128) {
            let text = std::fs::read_to_string("../shared/reference/agentic/traces.jsonl").unwrap_or_default();
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let idx = cut % bytes.len();
                bytes[idx] = byte;
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let _ = parse(&text);
        }
    }
}
