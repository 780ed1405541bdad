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

/// The version of the key layout, recorded in every key: a store written with another layout
/// shows its tasks as rerunning with the reason "key format changed".
pub const KEY_FORMAT: &str = "2";
/// Manifest name of [`KEY_FORMAT`].
pub const KEY_FORMAT_NAME: &str = "key-format";

/// Making one image available to one runner type (pull, squash import) and recording the
/// digest it got. Shared by every job using it.
#[derive(Clone, Debug)]
pub struct LaunchKey {
    /// The reference as written in the sweep.
    pub image: Input<String>,
    /// The digest the reference is expected to resolve to ([`ImageId`]).
    pub digest: ImageId,
    pub runner_type: Input<String>,
    pub launcher: FileInput,
}

/// What identifies an image in keys: its digest when known, with the reference it was
/// written as (shown, not hashed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageId {
    /// `sha256:…` (registry manifest digest), `blake3:…` (a local launcher's binary), or
    /// `unresolved:<reference>` when nothing is known yet.
    pub digest: String,
    pub reference: String,
}

impl ImageId {
    /// The id of an image nothing is known about yet.
    pub fn unresolved(reference: &str) -> ImageId {
        ImageId { digest: format!("unresolved:{reference}"), reference: reference.to_string() }
    }

    pub fn is_resolved(&self) -> bool {
        !self.digest.starts_with("unresolved:")
    }

    /// Whether this is the host identity of a launcher that starts no container.
    pub fn is_host(&self) -> bool {
        self.digest.starts_with("blake3:")
    }
}

/// A contract variable as a key input: its key name, value and origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarInput {
    pub key: std::sync::Arc<str>,
    pub value: String,
    pub origin: Option<Origin>,
}

/// One benchmark run: server plus client at one concurrency point (multi-node: one job).
#[derive(Clone, Debug)]
pub struct BenchKey {
    pub image: Input<ImageId>,
    /// The bench variables of the job's contract (`contract::Contract::bench_vars`).
    pub vars: Vec<VarInput>,
    pub script: FileInput,
    /// Files the script sources, recursively; a map by path.
    pub sourced: Vec<FileInput>,
    pub launcher: FileInput,
    pub client_version: &'static str,
    /// The repeat index (`ix run --repeat N`): 0 for the first (or only) run of a job, which is
    /// not hashed, so a single run keeps the hash it always had.
    pub repeat: u32,
}

/// An accuracy eval of one job's server: the script in eval-only mode.
#[derive(Clone, Debug)]
pub struct EvalKey {
    pub image: Input<ImageId>,
    /// The eval variables of the job's contract (`contract::Contract::eval_vars`).
    pub vars: Vec<VarInput>,
    pub script: FileInput,
    pub sourced: Vec<FileInput>,
    pub launcher: FileInput,
    pub harness_version: &'static str,
    /// Thresholds that gate the result: `(task/model, minimum score)`, each with its origin.
    pub thresholds: Vec<Input<(String, String)>>,
}

/// Turning one raw bench result into an aggregate record.
#[derive(Clone, Debug)]
pub struct ResultKey {
    pub format_version: &'static str,
    /// The image reference as written: the record carries it (`image`) beside the digest.
    pub image_ref: String,
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

fn plain(out: &mut Vec<KeyInput>, tag: u16, name: impl Into<crate::dag::hash::Name>, value: Value) {
    out.push(KeyInput { field: Field { tag, name: name.into(), value }, origin: None });
}

/// The image digest: hashed alone (a container's content is its digest, whatever tag names
/// it), shown with the reference it was written as. A host identity (`blake3:`, launchers that
/// start no container) is hashed with the reference, which then reaches the scripts as the only
/// trace of the image; an image nothing is known about is keyed (and shown) by its reference,
/// `REF (unresolved)`.
fn image_input(out: &mut Vec<KeyInput>, image: &Input<ImageId>) {
    let id = &image.value;
    let value = if !id.is_resolved() {
        Value::Str(format!("{}{UNRESOLVED_SUFFIX}", id.reference))
    } else if id.is_host() {
        Value::Str(format!("{} {}", id.reference, id.digest))
    } else {
        Value::Labeled(Box::new(Value::Str(id.digest.clone())), id.reference.clone())
    };
    out.push(KeyInput { field: Field { tag: 5, name: "image".into(), value }, origin: image.origin.clone() });
}

/// How the manifest shows an image nothing is known about: `REF (unresolved)`.
pub const UNRESOLVED_SUFFIX: &str = " (unresolved)";

/// Contract variables: one tag, told apart (and ordered) by their key names.
fn var_inputs(out: &mut Vec<KeyInput>, vars: &[VarInput]) {
    for var in vars {
        out.push(KeyInput {
            field: Field { tag: 10, name: var.key.to_string().into(), value: Value::Str(var.value.clone()) },
            origin: var.origin.clone(),
        });
    }
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
        plain(&mut out, 0, KEY_FORMAT_NAME, Value::Str(KEY_FORMAT.into()));
        match self {
            TaskKey::Launch(key) => {
                str_input(&mut out, 1, "image-ref", &key.image);
                image_input(&mut out, &Input::new(key.digest.clone(), key.image.origin.clone()));
                str_input(&mut out, 2, "runner", &key.runner_type);
                file_input(&mut out, 3, "launcher", &key.launcher);
            }
            TaskKey::Bench(key) => {
                image_input(&mut out, &key.image);
                var_inputs(&mut out, &key.vars);
                file_input(&mut out, 40, "script", &key.script);
                for file in &key.sourced {
                    file_input(&mut out, 41, "sourced", file);
                }
                file_input(&mut out, 42, "launcher", &key.launcher);
                plain(&mut out, 50, "bench-client", Value::Str(key.client_version.into()));
                if key.repeat > 0 {
                    plain(&mut out, 52, "repeat", Value::Int(i64::from(key.repeat)));
                }
            }
            TaskKey::Eval(key) => {
                image_input(&mut out, &key.image);
                var_inputs(&mut out, &key.vars);
                file_input(&mut out, 40, "script", &key.script);
                for file in &key.sourced {
                    file_input(&mut out, 41, "sourced", file);
                }
                file_input(&mut out, 42, "launcher", &key.launcher);
                plain(&mut out, 50, "eval-harness-version", Value::Str(key.harness_version.into()));
                for threshold in &key.thresholds {
                    let (what, min) = &threshold.value;
                    out.push(KeyInput {
                        field: Field {
                            tag: 51,
                            name: format!("threshold {what}").into(),
                            value: Value::Str(min.clone()),
                        },
                        origin: threshold.origin.clone(),
                    });
                }
            }
            TaskKey::Result(key) => {
                plain(&mut out, 1, "result-format", Value::Str(key.format_version.into()));
                plain(&mut out, 2, "image-ref", Value::Str(key.image_ref.clone()));
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

    fn image() -> ImageId {
        ImageId { digest: format!("sha256:{}", "ab".repeat(32)), reference: "vllm/vllm-openai:v0.10.0".into() }
    }

    fn launch() -> LaunchKey {
        LaunchKey {
            image: Input::new("vllm/vllm-openai:v0.10.0".into(), origin(2)),
            digest: image(),
            runner_type: Input::new("h100".into(), origin(5)),
            launcher: file("runners/launch_h100-cr.sh", "#!/bin/bash\n"),
        }
    }

    fn var(key: &str, value: &str, line: u32) -> VarInput {
        VarInput { key: key.into(), value: value.into(), origin: origin(line) }
    }

    fn vars() -> Vec<VarInput> {
        vec![
            var("model", "org/demo", 3),
            var("precision", "fp8", 6),
            var("framework", "vllm", 7),
            var("runner", "h100", 5),
            var("isl", "1024", 10),
            var("osl", "1024", 11),
            var("tp", "2", 13),
            var("conc", "4", 13),
        ]
    }

    fn bench() -> BenchKey {
        BenchKey {
            image: Input::new(image(), origin(2)),
            vars: vars(),
            script: file("benchmarks/demo_fp8_h100.sh", "#!/bin/bash\necho bench\n"),
            sourced: vec![file("benchmarks/benchmark_lib.sh", "check_env_vars() { :; }\n")],
            launcher: file("runners/launch_h100-cr.sh", "#!/bin/bash\n"),
            client_version: BENCH_CLIENT_VERSION,
            repeat: 0,
        }
    }

    fn eval() -> EvalKey {
        let bench = bench();
        EvalKey {
            image: bench.image,
            vars: vec![var("model", "org/demo", 3), var("eval-task", "gsm8k", 1), var("eval-num-fewshot", "2", 2)],
            script: bench.script,
            sourced: bench.sourced,
            launcher: bench.launcher,
            harness_version: EVAL_HARNESS_VERSION,
            thresholds: vec![Input::new(("gsm8k".into(), "0.5".into()), origin(4))],
        }
    }

    fn golden_keys() -> Vec<(&'static str, TaskKey)> {
        let bench_hash = TaskKey::Bench(Box::new(bench())).hash();
        vec![
            ("launch", TaskKey::Launch(launch())),
            ("bench", TaskKey::Bench(Box::new(bench()))),
            (
                "result",
                TaskKey::Result(ResultKey {
                    format_version: RESULT_FORMAT_VERSION,
                    image_ref: "vllm/vllm-openai:v0.10.0".into(),
                    upstream_bench: bench_hash,
                }),
            ),
            ("eval", TaskKey::Eval(eval())),
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

    /// Golden task hashes: any change to the encoding or to a key's fields shows up here (a
    /// missing or changed snapshot fails; review with `cargo insta review`).
    #[test]
    fn golden_task_hashes() {
        let actual: String =
            golden_keys().iter().map(|(name, key)| format!("{name} {}\n", key.hash().to_hex())).collect();
        insta::assert_snapshot!(actual);
    }

    #[test]
    fn repeat_zero_is_not_in_the_key_and_others_are() {
        let (_, manifest) = TaskKey::Bench(Box::new(bench())).hash_and_manifest();
        assert!(!manifest.iter().any(|entry| entry.name == "repeat"), "repeat 0 keeps today's key (and golden hash)");
        let (_, manifest) = TaskKey::Bench(Box::new(BenchKey { repeat: 3, ..bench() })).hash_and_manifest();
        assert!(manifest.iter().any(|entry| entry.name == "repeat" && entry.value == "3"), "{manifest:?}");
    }

    #[test]
    fn origins_and_image_labels_never_change_a_hash() {
        let mut moved = bench();
        moved.image.origin = origin(99);
        moved.vars[0].origin = None;
        moved.image.value.reference = "vllm/vllm-openai:latest".into();
        assert_eq!(TaskKey::Bench(Box::new(moved)).hash(), TaskKey::Bench(Box::new(bench())).hash());
    }

    #[test]
    fn every_key_records_its_format() {
        for (name, key) in golden_keys() {
            let (_, manifest) = key.hash_and_manifest();
            let format = manifest.iter().find(|entry| entry.name == KEY_FORMAT_NAME);
            assert_eq!(format.map(|e| e.value.as_str()), Some(KEY_FORMAT), "{name}");
        }
    }

    #[test]
    fn changing_any_bench_input_changes_the_hash() {
        type Edit = fn(&mut BenchKey);
        type Named = (String, Box<dyn Fn(&mut BenchKey)>);
        let mut edits: Vec<Named> = Vec::new();
        for idx in 0..vars().len() {
            edits.push((format!("var {idx}"), Box::new(move |k: &mut BenchKey| k.vars[idx].value.push('x'))));
        }
        let fixed: Vec<(&str, Edit)> = vec![
            ("image digest", |k| k.image.value.digest = format!("sha256:{}", "cd".repeat(32))),
            ("var added", |k| k.vars.push(VarInput { key: "setting X".into(), value: "1".into(), origin: None })),
            ("script", |k| k.script.digest = file_digest(b"other")),
            ("script path", |k| k.script.path.push('x')),
            ("sourced", |k| k.sourced[0].digest = file_digest(b"other")),
            ("sourced added", |k| k.sourced.push(file("benchmarks/more.sh", ""))),
            ("launcher", |k| k.launcher.digest = file_digest(b"other")),
            ("client", |k| k.client_version = "ix-bench-client/2"),
            ("repeat 1", |k| k.repeat = 1),
            ("repeat 2", |k| k.repeat = 2),
        ];
        for (name, edit) in fixed {
            edits.push((name.to_string(), Box::new(edit)));
        }
        let base = TaskKey::Bench(Box::new(bench())).hash();
        let mut seen = std::collections::HashMap::new();
        seen.insert(base, "base".to_string());
        for (name, edit) in edits {
            let mut key = bench();
            edit(&mut key);
            let hash = TaskKey::Bench(Box::new(key)).hash();
            if let Some(other) = seen.insert(hash, name.clone()) {
                panic!("editing `{name}` gives the same hash as `{other}`");
            }
        }
    }

    #[test]
    fn a_moved_tag_changes_the_launch_hash_and_a_retag_does_not_change_the_bench_hash() {
        let mut moved = launch();
        moved.digest.digest = format!("sha256:{}", "cd".repeat(32));
        assert_ne!(TaskKey::Launch(moved).hash(), TaskKey::Launch(launch()).hash());
        let mut retagged = bench();
        retagged.image.value.reference = "vllm/vllm-openai:nightly".into();
        assert_eq!(TaskKey::Bench(Box::new(retagged)).hash(), TaskKey::Bench(Box::new(bench())).hash());
    }
}
