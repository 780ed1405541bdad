//! `TaskKey`: one named struct per task kind listing every input that can change its result.
//!
//! Each key turns into tagged [`Field`]s (hashed by `dag::hash`) and, beside them, a manifest
//! of the same inputs with the source location each came from. The origins never enter the
//! hash: moving a sweep entry to another line does not rerun anything.

use crate::dag::hash::{Digest, Field, Value};

/// Version of the benchmark client a bench task runs (bump when its measurement changes).
pub const BENCH_CLIENT_VERSION: &str = "ix-bench-client/1";
/// Version of the result format written by result processing.
pub const RESULT_FORMAT_VERSION: &str = "ix.result/v1";
/// Version of the eval harness an eval task runs.
pub const EVAL_HARNESS_VERSION: &str = "lm-eval/pinned-1";
/// Version of the aggregation code (collect, summary, report).
pub const AGGREGATE_VERSION: &str = "ix.aggregate/v1";

/// Where an input came from: a file and a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: std::sync::Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// The digest of one file a task reads (script, sourced file, launcher).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInput {
    /// Path relative to the project root.
    pub path: String,
    pub digest: Digest,
}

/// One input of a task as recorded in its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub name: crate::dag::hash::Name,
    pub value: String,
    pub origin: Option<Origin>,
}

/// A key field together with where it came from.
#[derive(Clone, Debug)]
pub struct KeyInput {
    pub field: Field,
    pub origin: Option<Origin>,
}

/// A spanned value as a key input.
#[derive(Clone, Debug)]
pub struct Input<T> {
    pub value: T,
    pub origin: Option<Origin>,
}

impl<T> Input<T> {
    pub fn new(value: T, origin: Option<Origin>) -> Input<T> {
        Input { value, origin }
    }
}

/// Image pull / squash import of one image for one runner type. Shared by every job using it.
#[derive(Clone, Debug)]
pub struct LaunchKey {
    pub image: Input<String>,
    pub runner_type: Input<String>,
    pub launcher: FileInput,
}

/// One benchmark run: server plus client at one concurrency point (multi-node: one job).
#[derive(Clone, Debug)]
pub struct BenchKey {
    pub image: Input<String>,
    pub model: Input<String>,
    pub model_prefix: Input<String>,
    pub precision: Input<String>,
    pub framework: Input<String>,
    pub runner_type: Input<String>,
    pub isl: Input<i64>,
    pub osl: Input<i64>,
    pub max_model_len: Input<i64>,
    pub exp_name: Input<String>,
    pub spec_decoding: Input<String>,
    pub disagg: Input<bool>,
    pub shape: BenchShape,
    pub script: FileInput,
    /// Files the script sources, recursively; a map by path.
    pub sourced: Vec<FileInput>,
    pub launcher: FileInput,
    pub client_version: &'static str,
    pub upstream_launch: Digest,
}

/// The shape-specific inputs of a bench task.
#[derive(Clone, Debug)]
pub enum BenchShape {
    Single { tp: Input<i64>, ep: Input<i64>, dp_attn: Input<bool>, conc: Input<i64> },
    Multi { prefill: Input<String>, decode: Input<String>, conc: Input<Vec<i64>> },
}

/// An accuracy eval run after one bench task.
#[derive(Clone, Debug)]
pub struct EvalKey {
    pub harness_version: &'static str,
    pub upstream_bench: Digest,
}

/// Turning one raw bench result into an aggregate record.
#[derive(Clone, Debug)]
pub struct ResultKey {
    pub format_version: &'static str,
    pub upstream_bench: Digest,
}

/// Collect (per sweep), summary and report: functions of their upstream hashes.
#[derive(Clone, Debug)]
pub struct AggregateKey {
    pub stage: &'static str,
    pub name: String,
    pub version: &'static str,
    /// Upstream task id -> hash.
    pub upstream: Vec<(String, Digest)>,
}

/// A key of any kind.
#[derive(Clone, Debug)]
pub enum TaskKey {
    Launch(LaunchKey),
    Bench(Box<BenchKey>),
    Eval(EvalKey),
    Result(ResultKey),
    Aggregate(AggregateKey),
}

fn str_input(out: &mut Vec<KeyInput>, tag: u16, name: &'static str, input: &Input<String>) {
    out.push(KeyInput {
        field: Field { tag, name: name.into(), value: Value::Str(input.value.clone()) },
        origin: input.origin.clone(),
    });
}

fn int_input(out: &mut Vec<KeyInput>, tag: u16, name: &'static str, input: &Input<i64>) {
    out.push(KeyInput {
        field: Field { tag, name: name.into(), value: Value::Int(input.value) },
        origin: input.origin.clone(),
    });
}

fn bool_input(out: &mut Vec<KeyInput>, tag: u16, name: &'static str, input: &Input<bool>) {
    out.push(KeyInput {
        field: Field { tag, name: name.into(), value: Value::Bool(input.value) },
        origin: input.origin.clone(),
    });
}

fn plain(out: &mut Vec<KeyInput>, tag: u16, name: impl Into<crate::dag::hash::Name>, value: Value) {
    out.push(KeyInput { field: Field { tag, name: name.into(), value }, origin: None });
}

fn file_input(out: &mut Vec<KeyInput>, tag: u16, role: &str, file: &FileInput) {
    plain(out, tag, format!("{role} {}", file.path), Value::Digest(file.digest));
}

/// Manifest names of file inputs start with one of these roles.
pub const FILE_ROLES: [&str; 3] = ["script", "sourced", "launcher"];
/// Manifest names of upstream hashes start with this.
pub const UPSTREAM_PREFIX: &str = "upstream ";

impl TaskKey {
    /// The stable kind name hashed first.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskKey::Launch(_) => "launch",
            TaskKey::Bench(_) => "bench",
            TaskKey::Eval(_) => "eval",
            TaskKey::Result(_) => "result",
            TaskKey::Aggregate(key) => key.stage,
        }
    }

    /// Every input as a tagged field with its origin.
    pub fn inputs(&self) -> Vec<KeyInput> {
        let mut out = Vec::new();
        match self {
            TaskKey::Launch(key) => {
                str_input(&mut out, 1, "image", &key.image);
                str_input(&mut out, 2, "runner", &key.runner_type);
                file_input(&mut out, 3, "launcher", &key.launcher);
            }
            TaskKey::Bench(key) => {
                str_input(&mut out, 1, "image", &key.image);
                str_input(&mut out, 2, "model", &key.model);
                str_input(&mut out, 3, "model-prefix", &key.model_prefix);
                str_input(&mut out, 4, "precision", &key.precision);
                str_input(&mut out, 5, "framework", &key.framework);
                str_input(&mut out, 6, "runner", &key.runner_type);
                int_input(&mut out, 7, "isl", &key.isl);
                int_input(&mut out, 8, "osl", &key.osl);
                int_input(&mut out, 9, "max-model-len", &key.max_model_len);
                str_input(&mut out, 10, "exp-name", &key.exp_name);
                str_input(&mut out, 11, "spec-decoding", &key.spec_decoding);
                bool_input(&mut out, 12, "disagg", &key.disagg);
                match &key.shape {
                    BenchShape::Single { tp, ep, dp_attn, conc } => {
                        int_input(&mut out, 20, "tp", tp);
                        int_input(&mut out, 21, "ep", ep);
                        bool_input(&mut out, 22, "dp-attn", dp_attn);
                        int_input(&mut out, 23, "conc", conc);
                    }
                    BenchShape::Multi { prefill, decode, conc } => {
                        str_input(&mut out, 30, "prefill", prefill);
                        str_input(&mut out, 31, "decode", decode);
                        out.push(KeyInput {
                            field: Field {
                                tag: 32,
                                name: "conc".into(),
                                value: Value::List(conc.value.iter().map(|c| Value::Int(*c)).collect()),
                            },
                            origin: conc.origin.clone(),
                        });
                    }
                }
                file_input(&mut out, 40, "script", &key.script);
                for file in &key.sourced {
                    file_input(&mut out, 41, "sourced", file);
                }
                file_input(&mut out, 42, "launcher", &key.launcher);
                plain(&mut out, 50, "bench-client", Value::Str(key.client_version.into()));
                plain(&mut out, 60, "upstream launch", Value::Digest(key.upstream_launch));
            }
            TaskKey::Eval(key) => {
                plain(&mut out, 1, "eval-harness", Value::Str(key.harness_version.into()));
                plain(&mut out, 60, "upstream bench", Value::Digest(key.upstream_bench));
            }
            TaskKey::Result(key) => {
                plain(&mut out, 1, "result-format", Value::Str(key.format_version.into()));
                plain(&mut out, 60, "upstream bench", Value::Digest(key.upstream_bench));
            }
            TaskKey::Aggregate(key) => {
                plain(&mut out, 1, "name", Value::Str(key.name.clone()));
                plain(&mut out, 2, "aggregate", Value::Str(key.version.into()));
                for (id, digest) in &key.upstream {
                    plain(&mut out, 60, format!("{UPSTREAM_PREFIX}{id}"), Value::Digest(*digest));
                }
            }
        }
        out
    }

    /// The task hash: blake3 over the canonical encoding of [`TaskKey::inputs`].
    pub fn hash(&self) -> Digest {
        self.hash_and_manifest().0
    }

    /// The hash and the manifest in one pass.
    pub fn hash_and_manifest(&self) -> (Digest, Vec<ManifestEntry>) {
        let inputs = self.inputs();
        let digest = crate::dag::hash::hash_field_refs(self.kind(), inputs.iter().map(|input| &input.field).collect());
        let manifest = inputs
            .into_iter()
            .map(|input| ManifestEntry {
                name: input.field.name,
                value: input.field.value.display(),
                origin: input.origin,
            })
            .collect();
        (digest, manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::hash::file_digest;

    fn origin(line: u32) -> Option<Origin> {
        Some(Origin { file: "sweep.yaml".into(), line, col: 3 })
    }

    fn file(path: &str, text: &str) -> FileInput {
        FileInput { path: path.into(), digest: file_digest(text.as_bytes()) }
    }

    fn launch() -> LaunchKey {
        LaunchKey {
            image: Input::new("vllm/vllm-openai:v0.10.0".into(), origin(2)),
            runner_type: Input::new("h100".into(), origin(5)),
            launcher: file("runners/launch_h100-cr.sh", "#!/bin/bash\n"),
        }
    }

    fn bench() -> BenchKey {
        BenchKey {
            image: Input::new("vllm/vllm-openai:v0.10.0".into(), origin(2)),
            model: Input::new("org/demo".into(), origin(3)),
            model_prefix: Input::new("demo".into(), origin(4)),
            precision: Input::new("fp8".into(), origin(6)),
            framework: Input::new("vllm".into(), origin(7)),
            runner_type: Input::new("h100".into(), origin(5)),
            isl: Input::new(1024, origin(10)),
            osl: Input::new(1024, origin(11)),
            max_model_len: Input::new(2248, origin(10)),
            exp_name: Input::new("demo_1k1k".into(), origin(4)),
            spec_decoding: Input::new("none".into(), origin(13)),
            disagg: Input::new(false, origin(1)),
            shape: BenchShape::Single {
                tp: Input::new(2, origin(13)),
                ep: Input::new(1, origin(13)),
                dp_attn: Input::new(false, origin(13)),
                conc: Input::new(4, origin(13)),
            },
            script: file("benchmarks/demo_fp8_h100.sh", "#!/bin/bash\necho bench\n"),
            sourced: vec![file("benchmarks/benchmark_lib.sh", "check_env_vars() { :; }\n")],
            launcher: file("runners/launch_h100-cr.sh", "#!/bin/bash\n"),
            client_version: BENCH_CLIENT_VERSION,
            upstream_launch: TaskKey::Launch(launch()).hash(),
        }
    }

    fn golden_keys() -> Vec<(&'static str, TaskKey)> {
        let bench_hash = TaskKey::Bench(Box::new(bench())).hash();
        vec![
            ("launch", TaskKey::Launch(launch())),
            ("bench", TaskKey::Bench(Box::new(bench()))),
            (
                "result",
                TaskKey::Result(ResultKey { format_version: RESULT_FORMAT_VERSION, upstream_bench: bench_hash }),
            ),
            ("eval", TaskKey::Eval(EvalKey { harness_version: EVAL_HARNESS_VERSION, upstream_bench: bench_hash })),
            (
                "collect",
                TaskKey::Aggregate(AggregateKey {
                    stage: "collect",
                    name: "demo".into(),
                    version: AGGREGATE_VERSION,
                    upstream: vec![("result/a".into(), bench_hash), ("result/b".into(), bench_hash)],
                }),
            ),
        ]
    }

    /// Golden task hashes: any change to the encoding or to a key's fields shows up here.
    /// Re-bless with `IX_BLESS=1 cargo test --lib golden_task_hashes`.
    #[test]
    fn golden_task_hashes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/plan/golden-hashes.txt");
        let actual: String =
            golden_keys().iter().map(|(name, key)| format!("{name} {}\n", key.hash().to_hex())).collect();
        let expected = std::fs::read_to_string(&path).ok();
        if expected.is_none() || std::env::var("IX_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, &actual).unwrap();
            return;
        }
        assert_eq!(expected.unwrap(), actual, "task hashes changed; re-bless with IX_BLESS=1 if intended");
    }

    #[test]
    fn origins_never_change_a_hash() {
        let mut moved = bench();
        moved.image.origin = origin(99);
        moved.isl.origin = None;
        assert_eq!(TaskKey::Bench(Box::new(moved)).hash(), TaskKey::Bench(Box::new(bench())).hash());
    }

    #[test]
    fn changing_any_bench_input_changes_the_hash() {
        type Edit = fn(&mut BenchKey);
        let edits: Vec<(&str, Edit)> = vec![
            ("image", |k| k.image.value.push('x')),
            ("model", |k| k.model.value.push('x')),
            ("model_prefix", |k| k.model_prefix.value.push('x')),
            ("precision", |k| k.precision.value = "fp4".into()),
            ("framework", |k| k.framework.value = "sglang".into()),
            ("runner", |k| k.runner_type.value = "h200".into()),
            ("isl", |k| k.isl.value = 8192),
            ("osl", |k| k.osl.value = 8192),
            ("max_model_len", |k| k.max_model_len.value += 1),
            ("exp_name", |k| k.exp_name.value.push('x')),
            ("spec", |k| k.spec_decoding.value = "mtp".into()),
            ("disagg", |k| k.disagg.value = true),
            ("tp", |k| {
                if let BenchShape::Single { tp, .. } = &mut k.shape {
                    tp.value = 4;
                }
            }),
            ("ep", |k| {
                if let BenchShape::Single { ep, .. } = &mut k.shape {
                    ep.value = 2;
                }
            }),
            ("dp_attn", |k| {
                if let BenchShape::Single { dp_attn, .. } = &mut k.shape {
                    dp_attn.value = true;
                }
            }),
            ("conc", |k| {
                if let BenchShape::Single { conc, .. } = &mut k.shape {
                    conc.value = 8;
                }
            }),
            ("script", |k| k.script.digest = file_digest(b"other")),
            ("script path", |k| k.script.path.push('x')),
            ("sourced", |k| k.sourced[0].digest = file_digest(b"other")),
            ("sourced added", |k| k.sourced.push(file("benchmarks/more.sh", ""))),
            ("launcher", |k| k.launcher.digest = file_digest(b"other")),
            ("client", |k| k.client_version = "ix-bench-client/2"),
            ("upstream", |k| k.upstream_launch = file_digest(b"other")),
        ];
        let base = TaskKey::Bench(Box::new(bench())).hash();
        let mut seen = std::collections::HashMap::new();
        seen.insert(base, "base");
        for (name, edit) in edits {
            let mut key = bench();
            edit(&mut key);
            let hash = TaskKey::Bench(Box::new(key)).hash();
            if let Some(other) = seen.insert(hash, name) {
                panic!("editing `{name}` gives the same hash as `{other}`");
            }
        }
    }
}
