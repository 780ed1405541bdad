//! `Job`: one benchmark job (a matrix entry), and its JSON shapes.
//!
//! The JSON written here is the contract with InferenceX workflows: field names and value types
//! exactly as the reference generator emits them, key order as it emits them.

use serde_json::Value;

use super::job_json::{MapSink, TextSink};
use crate::ir::{Component, Format, KvOffloading, Parallel, SpecDecoding, Worker};
use crate::source::Span;

/// One benchmark job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub image: String,
    pub model: String,
    pub model_prefix: String,
    pub precision: String,
    pub framework: String,
    /// A runner type, or a node name when node expansion applied.
    pub runner: String,
    pub isl: i64,
    pub osl: i64,
    pub shape: JobShape,
    pub spec_decoding: SpecDecoding,
    pub max_model_len: i64,
    pub exp_name: String,
    pub disagg: bool,
    pub run_eval: bool,
    pub origin: JobOrigin,
    /// The fields InferenceX added after February 2026; `HeadFields::default()` on Feb jobs.
    pub head: HeadFields,
}

/// What a job of today's InferenceX format carries beyond the Feb-2026 fields
/// (INFERENCEX-HEAD §3.3). Feb jobs hold the default, which changes neither their JSON nor
/// their meaning.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadFields {
    /// The format of the entry the job came from; it picks the JSON shape.
    pub format: Format,
    pub scenario: Scenario,
    /// Single-node `pp`, `dcp-size`, `pcp-size` as written (workers carry their own).
    pub parallel: Parallel,
    pub router: Option<Component>,
    pub kv_p2p_transfer: Option<String>,
    /// Agentic jobs: where KV cache may be offloaded, and by which backend.
    pub kv_offloading: Option<KvOffloading>,
    pub kv_offload_backend: Option<Component>,
    /// Agentic jobs: host DRAM (GB) the offload may use, sized from runner hardware (§3.4).
    pub total_cpu_dram_gb: i64,
    /// Agentic jobs: how long the trace replay runs, in seconds (3600 at HEAD).
    pub duration: i64,
    /// Multi-node eval jobs: the concurrency the eval runs at.
    pub eval_conc: Option<i64>,
    /// Set on the jobs `--evals-only` / `--all-evals` keep.
    pub eval_only: bool,
    /// Set on multi-node jobs merged by `--all-evals`.
    pub eval_all_concs: bool,
    /// Whether eval marking ran (agentic jobs print `run-eval` only then).
    pub evals_marked: bool,
}

/// The InferenceX scenario a job measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Random prompts of fixed input and output lengths.
    #[default]
    FixedSeqLen,
    /// Replay of agentic coding traces.
    AgenticCoding,
}

impl Scenario {
    pub const ALL: [Scenario; 2] = [Scenario::FixedSeqLen, Scenario::AgenticCoding];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::FixedSeqLen => "fixed-seq-len",
            Scenario::AgenticCoding => "agentic-coding",
        }
    }

    pub fn parse(text: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|scenario| scenario.as_str() == text)
    }
}

/// Single-node or multi-node specifics of a job.
// Workers grew with today's pp/dcp/pcp and hardware; jobs are built once per run and the
// engine matches these variants by value, so they stay unboxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum JobShape {
    Single { tp: i64, ep: i64, dp_attn: bool, conc: i64 },
    Multi { prefill: Worker, decode: Worker, conc: Vec<i64> },
}

/// Where a job came from, for labels in `ix plan` and errors at plan time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOrigin {
    /// The config key (sweep name).
    pub key: String,
    /// Index of the entry in the sweep.
    pub entry_idx: usize,
    pub seq_idx: usize,
    pub point_idx: usize,
    /// The config key's span.
    pub entry_span: Span,
    /// The search-space point's span.
    pub point_span: Span,
}

/// Which of the reference's key orders to emit (they differ per subcommand; meaning is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOrder {
    /// full-sweep and test-config.
    Sweep,
    /// runner-model-sweep: tp, ep, dp-attn, spec-decoding before conc.
    RunnerModel,
}

impl Job {
    pub fn is_multinode(&self) -> bool {
        matches!(self.shape, JobShape::Multi { .. })
    }

    pub fn tp(&self) -> Option<i64> {
        match self.shape {
            JobShape::Single { tp, .. } => Some(tp),
            JobShape::Multi { .. } => None,
        }
    }

    pub fn is_agentic(&self) -> bool {
        self.head.scenario == Scenario::AgenticCoding
    }

    /// The job as the reference's JSON object.
    pub fn to_json(&self, order: KeyOrder) -> Value {
        let mut sink = MapSink::default();
        self.fields(order, &mut sink);
        Value::Object(sink.0)
    }

    /// `write_python_json(&self.to_json(order), out)`, byte for byte, without building the value.
    pub fn write_json(&self, order: KeyOrder, out: &mut String) {
        out.push('{');
        self.fields(order, &mut TextSink::new(out));
        out.push('}');
    }

    /// [`write_json`](Self::write_json) without the top-level fields named in `skip`.
    pub fn write_json_without(&self, order: KeyOrder, skip: &'static [&'static str], out: &mut String) {
        out.push('{');
        self.fields(order, &mut TextSink::without(out, skip));
        out.push('}');
    }
}

/// `{name, version}` of a router or offload backend; `version` only when written.
pub fn component_json(component: &Component) -> Value {
    let mut sink = MapSink::default();
    super::job_json::component_fields(component, &mut sink);
    Value::Object(sink.0)
}

/// A worker object; `additional-settings` only when present (the reference passes it through).
pub fn worker_json(worker: &Worker) -> Value {
    let mut sink = MapSink::default();
    super::job_json::worker_fields(worker, &mut sink);
    Value::Object(sink.0)
}

/// Serialises like Python's `json.dumps` with default arguments: `", "` and `": "` separators,
/// non-ASCII escaped as `\uXXXX`. One line, no trailing newline.
pub fn to_python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(value, &mut out);
    out
}

/// [`to_python_json`] appended to `out`.
pub fn write_python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_python_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push_str(", ");
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (idx, (key, item)) in map.iter().enumerate() {
                if idx > 0 {
                    out.push_str(", ");
                }
                write_python_string(key, out);
                out.push_str(": ");
                write_python_json(item, out);
            }
            out.push('}');
        }
    }
}

pub(super) fn write_python_string(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    // Most strings need no escape at all: copy the plain ASCII prefix in one go.
    let plain = s.bytes().position(|b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\').unwrap_or(s.len());
    out.push_str(&s[..plain]);
    for ch in s[plain..].chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::to_python_json;

    #[test]
    fn python_separators_and_ascii_escapes() {
        let value = serde_json::json!({"a": [1, true, "é\"x"], "b": {}});
        assert_eq!(to_python_json(&value), r#"{"a": [1, true, "\u00e9\"x"], "b": {}}"#);
        let value = serde_json::json!(["plain/text:1.0", "tab\tthen\u{7f}\u{1}😀"]);
        assert_eq!(to_python_json(&value), r#"["plain/text:1.0", "tab\tthen\u007f\u0001\ud83d\ude00"]"#);
    }
}
