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
    pub file: String,
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
    pub name: String,
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

fn str_input(out: &mut Vec<KeyInput>, tag: u16, name: &str, input: &Input<String>) {
    out.push(KeyInput {
        field: Field { tag, name: name.to_string(), value: Value::Str(input.value.clone()) },
        origin: input.origin.clone(),
    });
}

fn int_input(out: &mut Vec<KeyInput>, tag: u16, name: &str, input: &Input<i64>) {
    out.push(KeyInput {
        field: Field { tag, name: name.to_string(), value: Value::Int(input.value) },
        origin: input.origin.clone(),
    });
}

fn bool_input(out: &mut Vec<KeyInput>, tag: u16, name: &str, input: &Input<bool>) {
    out.push(KeyInput {
        field: Field { tag, name: name.to_string(), value: Value::Bool(input.value) },
        origin: input.origin.clone(),
    });
}

fn plain(out: &mut Vec<KeyInput>, tag: u16, name: String, value: Value) {
    out.push(KeyInput { field: Field { tag, name, value }, origin: None });
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
                                name: "conc".to_string(),
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
                plain(&mut out, 50, "bench-client".into(), Value::Str(key.client_version.into()));
                plain(&mut out, 60, "upstream launch".into(), Value::Digest(key.upstream_launch));
            }
            TaskKey::Eval(key) => {
                plain(&mut out, 1, "eval-harness".into(), Value::Str(key.harness_version.into()));
                plain(&mut out, 60, "upstream bench".into(), Value::Digest(key.upstream_bench));
            }
            TaskKey::Result(key) => {
                plain(&mut out, 1, "result-format".into(), Value::Str(key.format_version.into()));
                plain(&mut out, 60, "upstream bench".into(), Value::Digest(key.upstream_bench));
            }
            TaskKey::Aggregate(key) => {
                plain(&mut out, 1, "name".into(), Value::Str(key.name.clone()));
                plain(&mut out, 2, "aggregate".into(), Value::Str(key.version.into()));
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
        let fields: Vec<Field> = inputs.iter().map(|input| input.field.clone()).collect();
        let digest = crate::dag::hash::hash_fields(self.kind(), &fields);
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
