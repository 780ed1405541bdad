//! The bridge from the engine to the scheduler: an engine [`Plan`] (task DAG plus run/reuse
//! decisions) becomes scheduler [`Task`]s, and [`StateRecorder`] records finished tasks in the
//! engine's [`StateStore`].
//!
//! Bench tasks run their benchmark script (through the node's launcher) under the environment
//! contract, with `IX_BIN` naming the running `ix` executable. The other kinds run in process:
//! `result` turns the bench's raw result into the aggregate record (`results::process`),
//! `collect` gathers a config key's records into one list (`agg_<key>.json`), `summary` renders
//! the summary markdown table (`summary.md`) and `report` the HTML report (`report.html`), each
//! stored as the task's artifact. `launch` and `eval` fold their inputs into a JSON list.
//! Multi-node bench tasks get the multi-node contract (`IS_MULTINODE=true`, worker settings).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::atomic::StoreError;
use super::task::{BenchWork, EvalGate, ExecutorKind, InProcessFn, Task, TaskOutcome, Work};
use crate::contract::{Contract, EvalSettings};
use crate::dag::TaskKind;
use crate::dag::hash::Digest;
use crate::dag::task_key::ManifestEntry;
use crate::expand::Job;
use crate::plan::{Action, Plan};
use crate::state::{ArtifactSource, Outcome as StateOutcome, StateStore, TaskRecord};

/// Scheduler tasks for a plan, and for each the stored result of a reused task, materialized
/// as a file under `work_dir/<hash>/` so dependents can read it.
pub struct EngineTasks {
    pub tasks: Vec<Task>,
    pub reused: Vec<Option<PathBuf>>,
    /// Why each task runs (the plan's first reason, described), by task hash.
    pub reasons: HashMap<String, String>,
    pub recorder: StateRecorder,
}

/// Records finished tasks in the engine's state store, with their manifests.
pub struct StateRecorder {
    store: StateStore,
    meta: HashMap<String, (String, &'static str, Vec<ManifestEntry>)>,
}

impl super::Recorder for StateRecorder {
    fn record(&self, task: &Task, outcome: &TaskOutcome) -> Result<(), StoreError> {
        let (state_outcome, artifacts) = match &outcome.outcome {
            super::Outcome::Done { result } => {
                let name =
                    result.file_name().map_or_else(|| "result.json".to_string(), |n| n.to_string_lossy().into_owned());
                (StateOutcome::Success, vec![(name, ArtifactSource::Path(result.clone()))])
            }
            super::Outcome::Failed { error } => (
                StateOutcome::Failed,
                vec![("error.txt".to_string(), ArtifactSource::Bytes(error.clone().into_bytes()))],
            ),
            _ => return Ok(()),
        };
        let engine_error = |reason: String| StoreError::Io {
            path: self.store.dir().to_path_buf(),
            cause: std::io::Error::other(reason),
        };
        let Some((id, kind, manifest)) = self.meta.get(&task.hash) else {
            return Err(engine_error(format!("task {} is not in the plan", task.hash)));
        };
        let hash = Digest::from_hex(&task.hash).ok_or_else(|| engine_error(format!("bad task hash {}", task.hash)))?;
        let record = TaskRecord {
            id: id.clone(),
            kind: (*kind).to_string(),
            outcome: state_outcome,
            manifest: manifest.clone(),
            artifacts,
        };
        self.store.record(hash, record).map(|_| ()).map_err(StoreError::from)
    }
}

/// Reads a JSON file (an unreadable input is an error, never skipped).
fn read_value(path: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))
}

fn write_output(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let out = dir.join(name);
    super::atomic::write_atomic(&out, bytes).map_err(|e| e.to_string())?;
    Ok(out)
}

/// `result`: the bench's raw result (`<RESULT_FILENAME>.json`; multi-node: a list of
/// `{"file", "result"}`) to aggregate records, written as `agg_<RESULT_FILENAME>.json`.
fn process_result(env: Vec<(String, String)>, image_digest: Option<String>) -> InProcessFn {
    Arc::new(move |inputs: &[PathBuf], dir: &Path| {
        let raw_path = inputs.first().ok_or("the result task has no bench input")?;
        let stem = raw_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let lookup = |name: &str| {
            let get = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            let gpus = |side: &str| {
                let int = |n: String| get(&n).and_then(|v| v.parse::<i64>().ok());
                Some(int(format!("{side}_NUM_WORKERS"))?.checked_mul(int(format!("{side}_TP"))?)?.to_string())
            };
            match name {
                "RESULT_FILENAME" => Some(stem.clone()),
                "PREFILL_GPUS" => get(name).or_else(|| gpus("PREFILL")),
                "DECODE_GPUS" => get(name).or_else(|| gpus("DECODE")),
                _ => get(name),
            }
        };
        let raw = read_value(raw_path)?;
        // Beside the reference's fields: the digest of the image the numbers came from.
        let with_digest = |mut record: serde_json::Map<String, serde_json::Value>| {
            if let Some(digest) = &image_digest {
                record.insert("image_digest".into(), digest.clone().into());
            }
            serde_json::Value::Object(record)
        };
        // An agentic-coding aggregate (AGENTIC.md §5.4; the bench wrote it from the job's
        // environment) is already the record.
        if let serde_json::Value::Object(map) = &raw
            && crate::results::summary::is_agentic_fields(map)
        {
            let bytes = serde_json::to_vec_pretty(&with_digest(map.clone())).map_err(|e| e.to_string())?;
            return write_output(dir, &format!("agg_{stem}.json"), &bytes);
        }
        let (job, _) = crate::results::job_from_env(&lookup).map_err(|e| e.to_string())?;
        let options = crate::results::ProcessOptions { lenient: true };
        let record = match &raw {
            serde_json::Value::Array(parts) => {
                let mut records = Vec::new();
                for part in parts {
                    let result = part.get("result").unwrap_or(part);
                    records
                        .push(with_digest(crate::results::process(&job, result, options).map_err(|e| e.to_string())?));
                }
                serde_json::Value::Array(records)
            }
            _ => with_digest(crate::results::process(&job, &raw, options).map_err(|e| e.to_string())?),
        };
        let bytes = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
        write_output(dir, &format!("agg_{stem}.json"), &bytes)
    })
}

/// The aggregate records and the eval rows (objects with `task` and `score`) in `inputs`.
fn records_and_evals(inputs: &[PathBuf]) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>), String> {
    let (mut records, mut evals) = (Vec::new(), Vec::new());
    for input in inputs {
        let mut stack = vec![read_value(input)?];
        while let Some(value) = stack.pop() {
            match value {
                serde_json::Value::Array(items) => stack.extend(items.into_iter().rev()),
                serde_json::Value::Object(map) if map.contains_key("is_multinode") => {
                    records.push(serde_json::Value::Object(map))
                }
                serde_json::Value::Object(map) if map.contains_key("task") && map.contains_key("score") => {
                    evals.push(serde_json::Value::Object(map))
                }
                _ => {}
            }
        }
    }
    Ok((records, evals))
}

fn eval_rows(values: Vec<serde_json::Value>) -> Vec<serde_json::Map<String, serde_json::Value>> {
    values
        .into_iter()
        .filter_map(|value| match value {
            serde_json::Value::Object(row) => Some(row),
            _ => None,
        })
        .collect()
}

/// `collect`: the config key's records (then its eval rows) as one list, `agg_<key>.json`.
fn collect_records(key: String) -> InProcessFn {
    Arc::new(move |inputs: &[PathBuf], dir: &Path| {
        let (mut records, evals) = records_and_evals(inputs)?;
        records.extend(evals);
        let bytes = serde_json::to_vec_pretty(&serde_json::Value::Array(records)).map_err(|e| e.to_string())?;
        write_output(dir, &format!("agg_{key}.json"), &bytes)
    })
}

fn as_report_records(values: Vec<serde_json::Value>, origin: &Path) -> Vec<crate::results::Record> {
    values
        .into_iter()
        .filter_map(|value| match value {
            serde_json::Value::Object(fields) => Some(crate::results::Record { path: origin.to_path_buf(), fields }),
            _ => None,
        })
        .collect()
}

/// `summary`: the summary tables of every collected record, as markdown (`summary.md`).
fn summarize_records() -> InProcessFn {
    Arc::new(move |inputs: &[PathBuf], dir: &Path| {
        let (records, evals) = records_and_evals(inputs)?;
        let records = as_report_records(records, dir);
        let table = crate::results::summarize(&records, crate::results::SummaryOptions { lenient: true })
            .map_err(|e| e.to_string())?;
        let mut text = crate::report::summary::to_markdown(&table);
        let evals = eval_rows(evals);
        if !evals.is_empty() {
            let cells: Vec<Vec<Option<String>>> = evals.iter().map(crate::results::evals::eval_table_row).collect();
            text.push_str("\n### Accuracy evals\n\n");
            text.push_str(&crate::report::table::github_table(&crate::results::evals::EVAL_HEADERS, &cells));
            text.push('\n');
        }
        write_output(dir, "summary.md", text.as_bytes())
    })
}

/// `report`: `report.html` over the records of the collect tasks (read from their work folders,
/// where fresh and reused outputs both live).
fn render_report(collect_outputs: Vec<PathBuf>) -> InProcessFn {
    Arc::new(move |_: &[PathBuf], dir: &Path| {
        let (records, evals) = records_and_evals(&collect_outputs)?;
        let records = as_report_records(records, dir);
        let html = crate::report::html::render_html_with_evals(&records, &eval_rows(evals));
        write_output(dir, "report.html", html.as_bytes())
    })
}

fn refuse(message: String) -> InProcessFn {
    Arc::new(move |_: &[PathBuf], _: &Path| Err(message.clone()))
}

/// How the engine's tasks run, beyond the plan.
pub struct EngineOptions<'a> {
    /// The eval settings the plan was made with.
    pub evals: &'a EvalSettings,
    /// The container engine of the docker executor (and of pulls by launch tasks).
    pub container_engine: crate::image::ContainerEngine,
}

/// What a launch task does to make its image available.
#[derive(Clone, Debug)]
enum LaunchMode {
    /// The launcher runs no container (`# ix: image=host`) and the executor starts none: what
    /// runs is this `ix` (simulator and client) and what the scripts start.
    Host,
    /// `<engine> pull`, then the registry digest the engine recorded (or, for an image that
    /// exists only in the engine's store, its id).
    Pull { engine: crate::image::ContainerEngine },
    /// Slurm: each node imports the image itself, by the digest the run resolved.
    Import,
}

impl LaunchMode {
    /// The docker executor starts the container itself, whatever the launcher says; the local
    /// and Slurm executors run the launcher, which may start none.
    fn of(executor: ExecutorKind, host_launcher: bool, options: &EngineOptions<'_>) -> LaunchMode {
        match executor {
            ExecutorKind::Docker => LaunchMode::Pull { engine: options.container_engine },
            _ if host_launcher => LaunchMode::Host,
            ExecutorKind::Slurm => LaunchMode::Import,
            ExecutorKind::Local => LaunchMode::Pull { engine: options.container_engine },
        }
    }
}

/// Pulls `image` with `engine` and returns its digest: the registry's, or the engine's id of an
/// image that exists only in its local store (built or imported there, never pushed).
fn pull_digest(engine: crate::image::ContainerEngine, image: &str) -> Result<String, String> {
    let reference = crate::image::ImageRef::parse(image).map_err(|e| e.to_string())?;
    let options = crate::image::ResolveOptions::from_env();
    match crate::image::pull(engine, &reference, &options) {
        Ok(digest) => Ok(digest.to_string()),
        Err(pull_error) => match crate::image::local_id(engine, &reference) {
            Ok(id) => Ok(id.to_string()),
            Err(_) => Err(pull_error.to_string()),
        },
    }
}

/// The image digest a bench or eval task is keyed with (its `image` input, `REF DIGEST`), when
/// one is known.
fn keyed_digest(task: &crate::dag::Task) -> Option<String> {
    let entries = task.manifest.entries();
    let image = entries.iter().find(|e| e.name == "image")?;
    let resolved = !image.value.ends_with(crate::dag::task_key::UNRESOLVED_SUFFIX);
    resolved.then(|| image.value.rsplit(' ').next().map(str::to_string)).flatten()
}

/// `launch`: makes `image` available and records the digest it got (`launch.json`). When the
/// plan expected a digest (a pin, or what the run resolved before planning) and the image
/// resolves to another now, the task fails: its dependents were keyed with the expected one.
fn launch_image(image: String, expected: Option<String>, mode: LaunchMode) -> InProcessFn {
    Arc::new(move |_: &[PathBuf], dir: &Path| {
        let pinned = crate::dag::pinned(&image).map(|pin| pin.digest);
        let (digest, how) = match (&mode, pinned) {
            (LaunchMode::Pull { engine }, _) => (pull_digest(*engine, &image)?, "pulled"),
            (_, Some(pin)) => (pin, "pinned"),
            (LaunchMode::Host, None) => (crate::session::host_image_digest()?, "host"),
            (LaunchMode::Import, None) if expected.is_some() => (expected.clone().unwrap_or_default(), "resolved"),
            (LaunchMode::Import, None) => {
                return Err(format!(
                    "cannot resolve `{image}` to a digest for the Slurm import (see the resolution error above)"
                ));
            }
        };
        if let Some(expected) = expected.as_ref().filter(|expected| **expected != digest) {
            return Err(format!(
                "`{image}` resolves to {digest} now, but the plan was made for {expected} (the tag moved during \
                 the run): run again"
            ));
        }
        let record = serde_json::json!({ "image": image, "digest": digest, "how": how });
        let bytes = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
        write_output(dir, crate::session::LAUNCH_ARTIFACT, &bytes)
    })
}

/// Converts `plan` (built from `jobs`, with paths relative to `project`) into scheduler tasks.
#[allow(clippy::too_many_arguments)]
pub fn tasks_from_plan(
    plan: &Plan,
    jobs: &[Job],
    project: &Path,
    store: StateStore,
    work_dir: &Path,
    executor_for: &dyn Fn(&str) -> ExecutorKind,
    trust_recorded_bench: bool,
    options: &EngineOptions<'_>,
) -> Result<EngineTasks, String> {
    let mut tasks = Vec::with_capacity(plan.graph.tasks.len());
    let mut reused = Vec::with_capacity(plan.graph.tasks.len());
    let mut meta = HashMap::new();
    let ix_bin = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| "ix".to_string());
    // The environment of each bench task (by index), for its result task.
    let mut bench_env: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    let mut collect_outputs = Vec::new();
    let mut reasons = HashMap::new();
    for (idx, (graph_task, planned)) in plan.graph.tasks.iter().zip(&plan.tasks).enumerate() {
        let hash = graph_task.hash.to_hex();
        let kind = graph_task.kind.as_str();
        if let Some(reason) = planned.reasons.first() {
            reasons.insert(hash.clone(), reason.describe());
        }
        meta.insert(hash.clone(), (graph_task.id.to_string(), kind, graph_task.manifest.entries().into_owned()));
        let mut runner_type = None;
        let work = match (&graph_task.bench, graph_task.kind) {
            (Some(bench), TaskKind::Bench | TaskKind::Eval) => {
                let job = jobs
                    .get(bench.job_idx)
                    .ok_or_else(|| format!("{}: job {} is missing", graph_task.id, bench.job_idx))?;
                // The same contract the task's key was made from (`dag::key_job`).
                let contract = Contract::of(job, options.evals);
                let is_eval = graph_task.kind == TaskKind::Eval;
                let mut env = if is_eval { contract.eval_env() } else { contract.bench_env() };
                runner_type = Some(job.runner.clone());
                if !is_eval {
                    bench_env.insert(idx, env.clone());
                }
                env.push(("IX_BIN".to_string(), ix_bin.clone()));
                let eval = is_eval
                    .then(|| EvalGate { thresholds: options.evals.thresholds_for(&job.model).cloned().collect() });
                Work::Bench(BenchWork {
                    env,
                    script: project.join(&*bench.script),
                    launcher: Some(project.join(&*bench.launcher)),
                    // The scheduler names the result with the node the task actually runs on.
                    result_stem: crate::naming::result_stem(job),
                    image: job.image.clone(),
                    image_digest: keyed_digest(graph_task).filter(|digest| digest.starts_with("sha256:")),
                    tp: job.tp().unwrap_or(1),
                    executor: executor_for(&job.runner),
                    multinode: job.is_multinode(),
                    eval,
                })
            }
            (_, TaskKind::Launch) => {
                let input =
                    |name: &str| graph_task.manifest.entries().iter().find(|e| e.name == name).map(|e| e.value.clone());
                let image = input("image-ref").unwrap_or_default();
                let runner = input("runner").unwrap_or_default();
                // The manifest shows `<reference> <digest>` (or `<reference> (unresolved)`).
                let expected = input("image")
                    .filter(|v| !v.ends_with(crate::dag::task_key::UNRESOLVED_SUFFIX))
                    .and_then(|v| v.rsplit(' ').next().map(str::to_string));
                let entries = graph_task.manifest.entries();
                let launcher = entries.iter().find_map(|e| e.name.strip_prefix("launcher "));
                let host = launcher.is_some_and(|path| crate::session::is_host_launcher(project, path));
                let mode = LaunchMode::of(executor_for(&runner), host, options);
                Work::InProcess(launch_image(image, expected, mode))
            }
            (_, TaskKind::Result) => match graph_task.deps.iter().find_map(|dep| bench_env.get(dep)) {
                Some(env) => {
                    // The digest the bench ran.
                    let digest = graph_task.deps.first().and_then(|dep| keyed_digest(&plan.graph.tasks[*dep]));
                    Work::InProcess(process_result(env.clone(), digest))
                }
                None => {
                    Work::InProcess(refuse(format!("{}: its bench task has no environment contract", graph_task.id)))
                }
            },
            (_, TaskKind::Collect) => {
                let key = graph_task.id.strip_prefix("collect/").unwrap_or(&graph_task.id).replace('/', "_");
                collect_outputs.push(work_dir.join(&hash).join(format!("agg_{key}.json")));
                Work::InProcess(collect_records(key))
            }
            (_, TaskKind::Summary) => Work::InProcess(summarize_records()),
            (_, TaskKind::Report) => Work::InProcess(render_report(collect_outputs.clone())),
            (_, kind) => {
                Work::InProcess(refuse(format!("{}: a {} task without its job", graph_task.id, kind.as_str())))
            }
        };
        // A success recorded under the exact hash is a cache hit unless the task is forced or a
        // dependency runs in this run (its output may change). With `trust_recorded_bench`
        // (the collect job of a sweep, after the matrix jobs recorded their bench tasks) a
        // recorded bench task is done whatever its upstream in-process tasks do.
        let recorded =
            matches!(store.get(graph_task.hash), Ok(Some(record)) if record.outcome == StateOutcome::Success);
        let forced = planned.reasons.iter().any(crate::plan::Reason::invalidates_record);
        let deps_done = graph_task.deps.iter().all(|&dep| reused.get(dep).is_some_and(Option::is_some));
        let trusted = trust_recorded_bench && graph_task.kind == TaskKind::Bench;
        // A launch reused for the digest it got (`plan::launch_got_it`) has its record under the
        // key it ran with: the plan's `previous`.
        let record_hash = match (recorded, planned.previous) {
            (false, Some(previous)) if planned.action == Action::Reuse => previous,
            _ => graph_task.hash,
        };
        let stored = if planned.action == Action::Reuse || (recorded && !forced && (deps_done || trusted)) {
            materialize(&store, record_hash, &hash, work_dir)?
        } else {
            None
        };
        reused.push(stored);
        tasks.push(Task { hash, label: graph_task.id.to_string(), deps: graph_task.deps.clone(), runner_type, work });
    }
    Ok(EngineTasks { tasks, reused, reasons, recorder: StateRecorder { store, meta } })
}

/// Writes a reused task's first stored artifact to `work_dir/<hash>/<name>` (or `null` when it
/// has none), so dependents read it like a fresh result.
fn materialize(store: &StateStore, digest: Digest, hash: &str, work_dir: &Path) -> Result<Option<PathBuf>, String> {
    let record = store.get(digest).map_err(|e| e.to_string())?.ok_or_else(|| format!("record {hash} vanished"))?;
    let (name, bytes) = match record.artifacts.first() {
        Some(artifact) => (
            artifact.name.clone(),
            store.get_blob(artifact.digest).map_err(|e| e.to_string())?.ok_or_else(|| {
                format!("{hash}: artifact `{}` of a reused record is missing from the store", artifact.name)
            })?,
        ),
        None => ("result.json".to_string(), b"null".to_vec()),
    };
    let path = work_dir.join(hash).join(Path::new(&name).file_name().unwrap_or_default());
    // Already there from an earlier run (the common case): no rewrite, no fsync.
    let current =
        std::fs::metadata(&path).ok().filter(|m| m.len() == bytes.len() as u64).and_then(|_| std::fs::read(&path).ok());
    if current.as_deref() != Some(bytes.as_slice()) {
        super::atomic::write_atomic(&path, &bytes).map_err(|e| e.to_string())?;
    }
    Ok(Some(path))
}
