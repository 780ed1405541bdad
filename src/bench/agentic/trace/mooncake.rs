//! Mooncake traces (AGENTIC.md §2.3): one request per row, sessions by `session_id`, block
//! ids global across the file.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::{Conversation, Ctx, Trace, TraceRequest, lines};
use crate::diag::Diag;
use crate::source::{FileId, SourceMap, Span};

/// Parses Mooncake rows: sessions by `session_id` (rows are sequential turns, `delay` ms
/// end-to-start), rows without one are single-request sessions.
pub fn parse_mooncake(
    sources: &SourceMap,
    file: FileId,
    block_size: u32,
    traces: &mut Vec<Trace>,
    diags: &mut Vec<Diag>,
) {
    let text = sources.get(file).text.clone();
    let mut by_session: HashMap<String, usize> = HashMap::new();
    for (line_no, start, line) in lines(&text) {
        let span = Span::new(file, start, start + line.len());
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(err) => {
                diags.push(
                    Diag::error("ix::bench::trace_json", format!("line {line_no}: invalid JSON: {err}"))
                        .at(span, "not a JSON object"),
                );
                continue;
            }
        };
        let mut ctx = Ctx { span, line_no, diags, failed: false };
        let Some(object) = ctx.object(&value, "(row)") else { continue };
        let input_tokens = match (object.get("input_length"), object.get("text_input")) {
            (Some(_), _) => ctx.uint(object, "", "input_length", None),
            (None, Some(Value::String(text))) => Some(text.split_whitespace().count() as u64),
            _ => {
                ctx.error("input_length", "missing (or give `text_input`)");
                None
            }
        };
        let output_tokens = ctx.uint(object, "", "output_length", None);
        let hash_ids = ctx.hash_ids(object, "");
        let delay = ctx.float(object, "", "delay", Some(0.0));
        let timestamp = ctx.float(object, "", "timestamp", Some(0.0));
        let session = match object.get("session_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => {
                ctx.error("session_id", format!("expected a string, found `{other}`"));
                None
            }
        };
        let (Some(input_tokens), Some(output_tokens), Some(hash_ids), Some(delay), Some(timestamp)) =
            (input_tokens, output_tokens, hash_ids, delay, timestamp)
        else {
            continue;
        };
        if ctx.failed {
            continue;
        }
        let blocks = u64::from(block_size.max(1));
        // The last block may be partial: 0 < in − (n−1)·B ≤ B.
        if !hash_ids.is_empty() {
            let n = hash_ids.len() as u64;
            let full = (n - 1).saturating_mul(blocks);
            if input_tokens <= full || input_tokens - full > blocks {
                ctx.error(
                    "hash_ids",
                    format!("{n} blocks of {blocks} tokens do not fit `input_length` {input_tokens}"),
                );
                continue;
            }
        }
        let session_name = session.unwrap_or_else(|| format!("row-{line_no}"));
        let trace_idx = match by_session.get(&session_name) {
            Some(&idx) => idx,
            None => {
                let id: Arc<str> = Arc::from(session_name.as_str());
                traces.push(Trace {
                    id: id.clone(),
                    block_size,
                    tool_tokens: 0,
                    system_tokens: 0,
                    scope: 0,
                    conversations: vec![Conversation { id, requests: Vec::new(), link: None }],
                });
                by_session.insert(session_name, traces.len() - 1);
                traces.len() - 1
            }
        };
        let requests = &mut traces[trace_idx].conversations[0].requests;
        let t = match requests.last() {
            Some(previous) => previous.t + previous.api_time + delay / 1000.0,
            None => timestamp / 1000.0,
        };
        let gap = if requests.is_empty() { 0.0 } else { delay / 1000.0 };
        requests.push(TraceRequest {
            t,
            input_tokens,
            output_tokens,
            hash_ids,
            api_time: 0.0,
            gap,
            joins: Vec::new(),
            theoretical_hit: 0,
            theoretical_total: 0,
        });
    }
    // Global ids: one seen-set over the whole file in row order.
    let mut seen = HashSet::new();
    for trace in traces.iter_mut() {
        for request in &mut trace.conversations[0].requests {
            let hit = request.hash_ids.iter().take_while(|id| seen.contains(*id)).count();
            request.theoretical_hit = hit as u32;
            request.theoretical_total = request.hash_ids.len() as u32;
            seen.extend(request.hash_ids.iter().copied());
        }
    }
}
