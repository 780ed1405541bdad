//! A job's JSON fields, in the reference's order, written once for two sinks: a
//! `serde_json::Map` (for callers that edit the value) and text straight into the output (for
//! `ix matrix`, where 1,820 jobs' maps were a tenth of the run). The sinks take the same calls,
//! so both give the same keys, values and order.

use serde_json::{Map, Value};

use super::job::{Job, JobShape, KeyOrder, write_python_string};
use crate::ir::{Component, Format, KvOffloading, Worker};

/// Where a JSON object's fields go, in call order. Keys are plain ASCII constants.
pub(super) trait Sink {
    fn str(&mut self, key: &'static str, value: &str);
    fn int(&mut self, key: &'static str, value: i64);
    fn bool(&mut self, key: &'static str, value: bool);
    fn ints(&mut self, key: &'static str, values: &[i64]);
    fn strs(&mut self, key: &'static str, values: &[String]);
    /// A nested object, filled by `fill`.
    fn object(&mut self, key: &'static str, fill: impl FnOnce(&mut Self));
}

/// Builds a `serde_json::Map` (with `preserve_order`, in call order).
#[derive(Default)]
pub(super) struct MapSink(pub Map<String, Value>);

impl Sink for MapSink {
    fn str(&mut self, key: &'static str, value: &str) {
        self.0.insert(key.into(), Value::String(value.to_string()));
    }
    fn int(&mut self, key: &'static str, value: i64) {
        self.0.insert(key.into(), value.into());
    }
    fn bool(&mut self, key: &'static str, value: bool) {
        self.0.insert(key.into(), value.into());
    }
    fn ints(&mut self, key: &'static str, values: &[i64]) {
        self.0.insert(key.into(), Value::Array(values.iter().map(|v| (*v).into()).collect()));
    }
    fn strs(&mut self, key: &'static str, values: &[String]) {
        self.0.insert(key.into(), Value::Array(values.iter().map(|v| Value::String(v.clone())).collect()));
    }
    fn object(&mut self, key: &'static str, fill: impl FnOnce(&mut Self)) {
        let mut inner = MapSink::default();
        fill(&mut inner);
        self.0.insert(key.into(), Value::Object(inner.0));
    }
}

/// Writes the fields as `write_python_json` writes the map (`", "` and `": "` separators, non-ASCII
/// escaped). The caller writes the braces of the outermost object.
pub(super) struct TextSink<'a> {
    out: &'a mut String,
    /// No field written yet in the current object.
    first: bool,
    /// Top-level fields left out (eval marking groups jobs by the text of their other fields).
    skip: &'static [&'static str],
    /// How deep in nested objects the next field is (0: the job's own fields).
    depth: u32,
}

impl<'a> TextSink<'a> {
    /// Writes every field into `out`.
    pub(super) fn new(out: &'a mut String) -> TextSink<'a> {
        TextSink::without(out, &[])
    }

    /// Writes every field but the top-level ones named in `skip`.
    pub(super) fn without(out: &'a mut String, skip: &'static [&'static str]) -> TextSink<'a> {
        TextSink { out, first: true, skip, depth: 0 }
    }

    /// Whether `key` is written; if so, writes its separator and name.
    #[must_use]
    fn key(&mut self, key: &'static str) -> bool {
        if self.depth == 0 && self.skip.contains(&key) {
            return false;
        }
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\": ");
        true
    }

    fn push_int(&mut self, value: i64) {
        use std::fmt::Write as _;
        let _ = write!(self.out, "{value}");
    }
}

impl Sink for TextSink<'_> {
    fn str(&mut self, key: &'static str, value: &str) {
        if !self.key(key) {
            return;
        }
        write_python_string(value, self.out);
    }
    fn int(&mut self, key: &'static str, value: i64) {
        if !self.key(key) {
            return;
        }
        self.push_int(value);
    }
    fn bool(&mut self, key: &'static str, value: bool) {
        if !self.key(key) {
            return;
        }
        self.out.push_str(if value { "true" } else { "false" });
    }
    fn ints(&mut self, key: &'static str, values: &[i64]) {
        if !self.key(key) {
            return;
        }
        self.out.push('[');
        for (idx, value) in values.iter().enumerate() {
            if idx > 0 {
                self.out.push_str(", ");
            }
            self.push_int(*value);
        }
        self.out.push(']');
    }
    fn strs(&mut self, key: &'static str, values: &[String]) {
        if !self.key(key) {
            return;
        }
        self.out.push('[');
        for (idx, value) in values.iter().enumerate() {
            if idx > 0 {
                self.out.push_str(", ");
            }
            write_python_string(value, self.out);
        }
        self.out.push(']');
    }
    fn object(&mut self, key: &'static str, fill: impl FnOnce(&mut Self)) {
        if !self.key(key) {
            return;
        }
        self.out.push('{');
        self.first = true;
        self.depth += 1;
        fill(self);
        self.depth -= 1;
        self.out.push('}');
        self.first = false;
    }
}

impl Job {
    /// The job's fields in the order of the reference's generator for the job's format.
    pub(super) fn fields(&self, order: KeyOrder, sink: &mut impl Sink) {
        if self.head.format == Format::Head {
            return self.fields_head(sink);
        }
        sink.str("image", &self.image);
        sink.str("model", &self.model);
        sink.str("model-prefix", &self.model_prefix);
        sink.str("precision", &self.precision);
        sink.str("framework", &self.framework);
        sink.str("runner", &self.runner);
        sink.int("isl", self.isl);
        sink.int("osl", self.osl);
        match &self.shape {
            JobShape::Single { tp, ep, dp_attn, conc } => {
                sink.int("tp", *tp);
                if order == KeyOrder::RunnerModel {
                    sink.int("ep", *ep);
                    sink.bool("dp-attn", *dp_attn);
                    sink.str("spec-decoding", self.spec_decoding.as_str());
                }
                sink.int("conc", *conc);
                sink.int("max-model-len", self.max_model_len);
                if order == KeyOrder::Sweep {
                    sink.int("ep", *ep);
                    sink.bool("dp-attn", *dp_attn);
                    sink.str("spec-decoding", self.spec_decoding.as_str());
                }
            }
            JobShape::Multi { prefill, decode, conc } => {
                sink.str("spec-decoding", self.spec_decoding.as_str());
                sink.object("prefill", |sink| worker_fields(prefill, sink));
                sink.object("decode", |sink| worker_fields(decode, sink));
                sink.ints("conc", conc);
                sink.int("max-model-len", self.max_model_len);
            }
        }
        sink.str("exp-name", &self.exp_name);
        sink.bool("disagg", self.disagg);
        sink.bool("run-eval", self.run_eval);
    }

    /// The job as today's generator prints it (INFERENCEX-HEAD §3.3, fields in its order).
    fn fields_head(&self, sink: &mut impl Sink) {
        let head = &self.head;
        sink.str("image", &self.image);
        sink.str("model", &self.model);
        sink.str("model-prefix", &self.model_prefix);
        sink.str("precision", &self.precision);
        sink.str("framework", &self.framework);
        sink.str("runner", &self.runner);
        let (pp, dcp_size, pcp_size) = head.parallel.values();
        let agentic = self.is_agentic();
        if !agentic {
            sink.int("isl", self.isl);
            sink.int("osl", self.osl);
        }
        match &self.shape {
            JobShape::Single { tp, ep, dp_attn, conc } => {
                sink.int("tp", *tp);
                sink.int("pp", pp);
                sink.int("dcp-size", dcp_size);
                sink.int("pcp-size", pcp_size);
                if agentic {
                    sink.int("ep", *ep);
                    sink.bool("dp-attn", *dp_attn);
                    sink.str("spec-decoding", self.spec_decoding.as_str());
                    sink.int("conc", *conc);
                } else {
                    sink.int("conc", *conc);
                    sink.int("max-model-len", self.max_model_len);
                    sink.int("ep", *ep);
                    sink.bool("dp-attn", *dp_attn);
                    sink.str("spec-decoding", self.spec_decoding.as_str());
                }
            }
            JobShape::Multi { prefill, decode, conc } => {
                sink.str("spec-decoding", self.spec_decoding.as_str());
                sink.object("prefill", |sink| worker_fields_head(prefill, sink));
                sink.object("decode", |sink| worker_fields_head(decode, sink));
                sink.ints("conc", conc);
                if !agentic {
                    sink.int("max-model-len", self.max_model_len);
                }
            }
        }
        if agentic {
            let offloading = head.kv_offloading.unwrap_or(KvOffloading::None);
            sink.str("kv-offloading", offloading.as_str());
            sink.int("total-cpu-dram-gb", head.total_cpu_dram_gb);
            sink.int("duration", head.duration);
        }
        sink.str("exp-name", &self.exp_name);
        if !agentic || self.is_multinode() {
            sink.bool("disagg", self.disagg);
        }
        if agentic {
            sink.str("scenario-type", head.scenario.as_str());
            if let Some(backend) = &head.kv_offload_backend {
                sink.object("kv-offload-backend", |sink| component_fields(backend, sink));
            }
        } else {
            sink.bool("run-eval", self.run_eval);
        }
        if let Some(router) = &head.router {
            sink.object("router", |sink| component_fields(router, sink));
        }
        if self.is_multinode()
            && let Some(engine) = &head.kv_p2p_transfer
        {
            sink.str("kv-p2p-transfer", engine);
        }
        if agentic && head.evals_marked {
            sink.bool("run-eval", self.run_eval);
        }
        if let Some(conc) = head.eval_conc {
            sink.int("eval-conc", conc);
        }
        if head.eval_all_concs {
            sink.bool("eval-all-concs", true);
        }
        if head.eval_only {
            sink.bool("eval-only", true);
        }
    }
}

/// `{name, version}` of a router or offload backend; `version` only when written.
pub(super) fn component_fields(component: &Component, sink: &mut impl Sink) {
    sink.str("name", &component.name);
    if let Some(version) = &component.version {
        sink.str("version", version);
    }
}

/// A worker object of today's format: `pp`, `dcp-size`, `pcp-size` always (1 unless written),
/// `hardware` and `additional-settings` only when written.
fn worker_fields_head(worker: &Worker, sink: &mut impl Sink) {
    let (pp, dcp_size, pcp_size) = worker.parallel.values();
    sink.int("num-worker", worker.num_worker);
    sink.int("tp", worker.tp);
    sink.int("pp", pp);
    sink.int("dcp-size", dcp_size);
    sink.int("pcp-size", pcp_size);
    sink.int("ep", worker.ep);
    sink.bool("dp-attn", worker.dp_attn);
    if let Some(hardware) = &worker.hardware {
        sink.str("hardware", hardware);
    }
    if let Some(settings) = &worker.additional_settings {
        sink.strs("additional-settings", settings);
    }
}

/// A Feb-format worker object; `additional-settings` only when present (the reference passes it
/// through).
pub(super) fn worker_fields(worker: &Worker, sink: &mut impl Sink) {
    sink.int("num-worker", worker.num_worker);
    sink.int("tp", worker.tp);
    sink.int("ep", worker.ep);
    sink.bool("dp-attn", worker.dp_attn);
    if let Some(settings) = &worker.additional_settings {
        sink.strs("additional-settings", settings);
    }
}
