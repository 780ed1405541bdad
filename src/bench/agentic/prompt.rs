//! Request building (AGENTIC.md §3): deterministic synthetic content per hash-id block, the role
//! segments of every turn (pre-canned assistant turns), the per-play cache-bust marker and the
//! chat body.
//!
//! Content is word-level: every token is one word of a fixed synthetic vocabulary, so a server
//! that counts whitespace-separated words (`ix bench sim-server`) sees exactly the recorded
//! `in` tokens (plus the one-word marker). A block's words depend only on (run seed, trace scope,
//! hash id), so the same id renders the same text in every turn, subagent and lane; tokens
//! without a block (the partial tail, missing blocks) depend on (conversation, turn).
//! Plans ([`TurnPlan`]) are built for the whole corpus up front; text is rendered at send time,
//! so memory stays proportional to the traces, not to the prompts.

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::trace::{Conversation, Trace};

/// A message role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// Blocks `[start, end)` of the turn's `hash_ids` rendered as one role's text, plus `tail`
/// unhashed words (only the last user segment has a tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub role: Role,
    pub start: u32,
    pub end: u32,
    pub tail: u32,
}

/// The message structure of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnPlan {
    pub segments: Vec<Segment>,
}

impl TurnPlan {
    /// Words the plan renders (without the marker): Σ blocks × block size + tails.
    pub fn words(&self, block_size: u32) -> u64 {
        self.segments.iter().map(|s| u64::from(s.end - s.start) * u64::from(block_size) + u64::from(s.tail)).sum()
    }
}

/// Plans every request of a conversation (§3.2, pre-canned mode).
pub fn plan_conversation(trace: &Trace, conversation: &Conversation) -> Vec<TurnPlan> {
    let block = u64::from(trace.block_size.max(1));
    let mut plans: Vec<TurnPlan> = Vec::with_capacity(conversation.requests.len());
    let mut segments: Vec<Segment> = Vec::new();
    for (idx, request) in conversation.requests.iter().enumerate() {
        let full_blocks = request.input_tokens / block;
        let covered = (request.hash_ids.len() as u64).min(full_blocks) as u32;
        let tail = (request.input_tokens % block + block * full_blocks.saturating_sub(request.hash_ids.len() as u64))
            .min(u64::from(u32::MAX)) as u32;
        if idx == 0 {
            segments.clear();
            let declared = trace.tool_tokens + trace.system_tokens;
            let mut system = (declared.div_ceil(block)).min(u64::from(covered)) as u32;
            // Every request ends with a user message holding at least one word.
            if system == covered && tail == 0 && system > 0 {
                system -= 1;
            }
            if system > 0 {
                segments.push(Segment { role: Role::System, start: 0, end: system, tail: 0 });
            }
            segments.push(Segment { role: Role::User, start: system, end: covered, tail });
        } else {
            let previous = &conversation.requests[idx - 1];
            let lcp = previous.hash_ids.iter().zip(&request.hash_ids).take_while(|(a, b)| a == b).count() as u32;
            let lcp = lcp.min(covered);
            truncate(&mut segments, lcp);
            let new = covered - lcp;
            let user_survived = segments.iter().any(|s| s.role == Role::User);
            let mut assistant =
                if user_survived { (previous.output_tokens.div_ceil(block)).min(u64::from(new)) as u32 } else { 0 };
            if assistant == new && tail == 0 && assistant > 0 {
                assistant -= 1;
            }
            if assistant > 0 {
                segments.push(Segment { role: Role::Assistant, start: lcp, end: lcp + assistant, tail: 0 });
            }
            if new - assistant > 0 || tail > 0 {
                segments.push(Segment { role: Role::User, start: lcp + assistant, end: covered, tail });
            }
            if segments.is_empty() {
                segments.push(Segment { role: Role::User, start: 0, end: 0, tail: 0 });
            }
        }
        plans.push(TurnPlan { segments: segments.clone() });
    }
    plans
}

/// Cuts the segments to `blocks` hashed blocks, dropping tails (they were unhashed).
fn truncate(segments: &mut Vec<Segment>, blocks: u32) {
    segments.retain_mut(|segment| {
        segment.tail = 0;
        segment.end = segment.end.min(blocks);
        segment.start < segment.end
    });
}

/// The synthetic vocabulary: 4096 pronounceable words of 2-3 letters pairs.
fn vocabulary() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
        const VOWELS: &[u8] = b"aeiou";
        let syllables: Vec<[u8; 2]> = CONSONANTS.iter().flat_map(|&c| VOWELS.iter().map(move |&v| [c, v])).collect();
        let mut words = Vec::with_capacity(4096);
        'outer: for a in &syllables {
            for b in &syllables {
                words.push(String::from_utf8_lossy(&[a[0], a[1], b[0], b[1]]).into_owned());
                if words.len() == 4096 {
                    break 'outer;
                }
            }
        }
        words
    })
}

/// SplitMix64: one well-mixed 64-bit value per input.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Appends `count` words drawn from `key` (the same key always gives the same words).
fn push_words(out: &mut String, key: u64, count: u32) {
    let words = vocabulary();
    let mut state = mix(key);
    for idx in 0..count {
        if idx % 5 == 0 && idx > 0 {
            state = mix(state);
        }
        let word = &words[((state >> ((idx % 5) * 12)) & 0xFFF) as usize];
        if !out.is_empty() && !out.ends_with(['\n', ' ']) {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Everything rendering needs besides the plan.
pub struct RenderKey<'a> {
    pub seed: u64,
    pub trace: &'a Trace,
    pub conversation_key: u64,
    pub turn: usize,
    pub hash_ids: &'a [u64],
    /// `[rid:<12 hex>]`, prepended to the first user message.
    pub marker: Option<&'a str>,
}

/// Renders a plan into chat messages `(role, content)`; consecutive segments of one role are one
/// message (strict chat templates reject two user messages in a row).
pub fn render(plan: &TurnPlan, key: &RenderKey<'_>) -> Vec<(Role, String)> {
    let mut messages: Vec<(Role, String)> = Vec::with_capacity(plan.segments.len());
    let block_size = key.trace.block_size;
    let scope = key.trace.scope ^ mix(key.seed);
    let mut marked = false;
    for segment in &plan.segments {
        let text = match messages.last_mut() {
            Some((role, text)) if *role == segment.role => text,
            _ => {
                messages.push((segment.role, String::new()));
                &mut messages.last_mut().expect("just pushed").1
            }
        };
        if segment.role == Role::User && !marked {
            if let Some(marker) = key.marker {
                let _ = write!(text, "{marker}\n\n");
            }
            marked = true;
        }
        text.reserve((segment.end - segment.start) as usize * block_size as usize * 5);
        for block in segment.start..segment.end {
            let id = key.hash_ids.get(block as usize).copied().unwrap_or(u64::from(block));
            push_words(text, scope ^ mix(id.wrapping_add(1)), block_size);
        }
        if segment.tail > 0 {
            let tail_key = mix(key.conversation_key ^ mix(key.turn as u64 ^ 0x7A11)) ^ mix(key.seed);
            push_words(text, tail_key, segment.tail);
        }
    }
    messages
}

/// The cache-bust marker of a play (§3.3): a digest of the run id, the lane's recycle pass, the
/// lane and the trace id, as `[rid:<12 hex>]`.
pub fn marker(run_id: u64, pass: u64, lane: usize, trace_id: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&run_id.to_le_bytes());
    hasher.update(&pass.to_le_bytes());
    hasher.update(&(lane as u64).to_le_bytes());
    hasher.update(trace_id.as_bytes());
    let hex = hasher.finalize().to_hex();
    format!("[rid:{}]", &hex[..12])
}

/// The chat request body (§3.4), written directly (no intermediate JSON tree: prompts are long).
pub fn body(
    model: &str,
    messages: &[(Role, String)],
    max_tokens: u64,
    extra: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Vec<u8> {
    let size: usize = messages.iter().map(|(_, text)| text.len() + 40).sum();
    let mut out: Vec<u8> = Vec::with_capacity(size + 256);
    let string = |out: &mut Vec<u8>, text: &str| {
        let _ = serde_json::to_writer(&mut *out, text);
    };
    out.extend_from_slice(b"{\"model\":");
    string(&mut out, model);
    out.extend_from_slice(b",\"messages\":[");
    for (idx, (role, content)) in messages.iter().enumerate() {
        if idx > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"role\":\"");
        out.extend_from_slice(role.name().as_bytes());
        out.extend_from_slice(b"\",\"content\":");
        string(&mut out, content);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"max_completion_tokens\":");
    out.extend_from_slice(max_tokens.to_string().as_bytes());
    out.extend_from_slice(b",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"ignore_eos\":true");
    if let Some(extra) = extra {
        for (key, value) in extra {
            if matches!(key.as_str(), "model" | "messages" | "stream") {
                continue;
            }
            out.push(b',');
            string(&mut out, key);
            out.push(b':');
            let _ = serde_json::to_writer(&mut out, value);
        }
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::trace::{self, Trace};
    use super::*;
    use crate::source::SourceMap;

    fn reference() -> Vec<Trace> {
        let text = std::fs::read_to_string("../shared/reference/agentic/traces.jsonl").expect("reference traces");
        let mut sources = SourceMap::new();
        let file = sources.add("t".into(), Arc::from(text));
        let (mut traces, mut diags) = (Vec::new(), Vec::new());
        trace::parse_weka(&sources, file, &mut traces, &mut diags);
        traces
    }

    fn words(messages: &[(Role, String)]) -> Vec<&str> {
        messages.iter().flat_map(|(_, text)| text.split_whitespace()).collect()
    }

    #[test]
    fn every_prompt_has_the_recorded_tokens_and_shares_the_recorded_prefix() {
        for trace in reference() {
            for (conv_idx, conversation) in trace.conversations.iter().enumerate() {
                let plans = plan_conversation(&trace, conversation);
                let mut previous: Option<Vec<String>> = None;
                for (turn, (plan, request)) in plans.iter().zip(&conversation.requests).enumerate() {
                    let key = RenderKey {
                        seed: 42,
                        trace: &trace,
                        conversation_key: conv_idx as u64,
                        turn,
                        hash_ids: &request.hash_ids,
                        marker: Some("[rid:0123456789ab]"),
                    };
                    let messages = render(plan, &key);
                    let all = words(&messages);
                    assert_eq!(all.len() as u64, request.input_tokens + 1, "{} turn {turn}", conversation.id);
                    assert_eq!(messages.last().map(|m| m.0), Some(Role::User), "{} turn {turn}", conversation.id);
                    if let Some(previous) = &previous {
                        let lcp = conversation.requests[turn - 1]
                            .hash_ids
                            .iter()
                            .zip(&request.hash_ids)
                            .take_while(|(a, b)| a == b)
                            .count();
                        let shared = 1 + lcp * trace.block_size as usize;
                        let shared = shared.min(previous.len()).min(all.len());
                        assert_eq!(&previous[..shared], &all[..shared], "{} turn {turn}", conversation.id);
                    }
                    previous = Some(all.iter().map(|w| w.to_string()).collect());
                }
            }
        }
    }

    #[test]
    fn body_is_valid_json_with_the_chat_fields() {
        let messages = vec![(Role::System, "a b".to_owned()), (Role::User, "[rid:x]\n\nc \"d\"".to_owned())];
        let mut extra = serde_json::Map::new();
        extra.insert("temperature".into(), 0.5.into());
        extra.insert("max_completion_tokens".into(), 9.into());
        let body: serde_json::Value = serde_json::from_slice(&body("m", &messages, 7, Some(&extra))).expect("JSON");
        assert_eq!(body["messages"][1]["content"], "[rid:x]\n\nc \"d\"");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!((body["ignore_eos"].as_bool(), body["temperature"].as_f64()), (Some(true), Some(0.5)));
        // An extra input overrides a default field (serde keeps the last duplicate key).
        assert_eq!(body["max_completion_tokens"], 9);
    }

    #[test]
    fn blocks_render_the_same_in_a_subagent_and_markers_differ_per_play() {
        let traces = reference();
        let trace = &traces[2];
        let render_first = |conv_idx: usize, marker: &str| {
            let conversation = &trace.conversations[conv_idx];
            let plan = &plan_conversation(trace, conversation)[0];
            let key = RenderKey {
                seed: 1,
                trace,
                conversation_key: conv_idx as u64,
                turn: 0,
                hash_ids: &conversation.requests[0].hash_ids,
                marker: Some(marker),
            };
            words(&render(plan, &key)).iter().map(|w| w.to_string()).collect::<Vec<_>>()
        };
        let root = render_first(0, "[rid:a]");
        let child = render_first(1, "[rid:a]");
        // Both start with the 4 shared tool blocks [0,1,2,3] after the marker... the system
        // segment comes first and holds them.
        assert_eq!(&root[..4 * 64], &child[..4 * 64]);
        assert_ne!(marker(1, 0, 0, "x"), marker(1, 0, 1, "x"));
        assert_ne!(marker(1, 0, 0, "x"), marker(1, 1, 0, "x"));
        assert_eq!(marker(1, 0, 0, "x").len(), "[rid:]".len() + 12);
    }
}
