//! The bridge from the engine to the scheduler: an engine [`Plan`] (task DAG plus run/reuse
//! decisions) becomes scheduler [`Task`]s, and [`StateRecorder`] records finished tasks in the
//! engine's [`StateStore`].
//!
//! Bench tasks run their benchmark script (through the node's launcher) under the environment
//! contract; every other kind (launch, result, eval, collect, summary, report) is an in-process
//! fold of its inputs into a JSON list, until those stages get real implementations.
//! Multi-node bench tasks get the multi-node contract (`IS_MULTINODE=true`, worker settings).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::contract;
use super::store::StoreError;
use super::task::{BenchWork, ExecutorKind, InProcessFn, Task, TaskOutcome, Work};
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
                let name = result.file_name().map_or_else(|| "result.json".to_string(), |n| n.to_string_lossy().into_owned());
                (StateOutcome::Success, vec![(name, ArtifactSource::Path(result.clone()))])
            }
            super::Outcome::Failed { error } => {
                (StateOutcome::Failed, vec![("error.txt".to_string(), ArtifactSource::Bytes(error.clone().into_bytes()))])
            }
            _ => return Ok(()),
        };
        let engine_error = |reason: String| StoreError::Io { path: self.store.dir().to_path_buf(), source: std::io::Error::other(reason) };
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
        self.store.record(hash, record).map(|_| ()).map_err(|err| engine_error(err.to_string()))
    }
}

fn fold_inputs(kind: &'static str) -> InProcessFn {
    Arc::new(move |inputs: &[PathBuf], dir: &Path| {
        let mut items = Vec::new();
        for input in inputs {
            let bytes = std::fs::read(input).map_err(|e| format!("cannot read `{}`: {e}", input.display()))?;
            items.push(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null));
        }
        let out = dir.join(format!("{kind}.json"));
        let bytes = serde_json::to_vec_pretty(&serde_json::Value::Array(items)).unwrap_or_default();
        super::store::write_atomic(&out, &bytes).map_err(|e| e.to_string())?;
        Ok(out)
    })
}

fn refuse(message: String) -> InProcessFn {
    Arc::new(move |_: &[PathBuf], _: &Path| Err(message.clone()))
}

/// Converts `plan` (built from `jobs`, with paths relative to `project`) into scheduler tasks.
pub fn tasks_from_plan(
    plan: &Plan,
    jobs: &[Job],
    project: &Path,
    store: StateStore,
    work_dir: &Path,
    executor_for: &dyn Fn(&str) -> ExecutorKind,
    trust_recorded_bench: bool,
) -> Result<EngineTasks, String> {
    let mut tasks = Vec::with_capacity(plan.graph.tasks.len());
    let mut reused = Vec::with_capacity(plan.graph.tasks.len());
    let mut meta = HashMap::new();
    for (graph_task, planned) in plan.graph.tasks.iter().zip(&plan.tasks) {
        let hash = graph_task.hash.to_hex();
        let kind = graph_task.kind.as_str();
        meta.insert(hash.clone(), (graph_task.id.clone(), kind, graph_task.manifest.clone()));
        let mut runner_type = None;
        let work = match (&graph_task.bench, graph_task.kind) {
            (Some(bench), TaskKind::Bench) => {
                let job = jobs.get(bench.job_idx).ok_or_else(|| format!("{}: job {} is missing", graph_task.id, bench.job_idx))?;
                let env = contract::job_env(job).or_else(|| contract::multinode_env(job));
                match env {
                    Some(env) => {
                        runner_type = Some(job.runner.clone());
                        // The naming rules end RESULT_FILENAME with `_<node>`; the scheduler
                        // appends the node the task actually runs on.
                        let stem = crate::naming::result_filename(job, "");
                        Work::Bench(BenchWork {
                            env,
                            script: project.join(&bench.script),
                            launcher: Some(project.join(&bench.launcher)),
                            result_stem: stem.trim_end_matches('_').to_string(),
                            image: job.image.clone(),
                            tp: job.tp().unwrap_or(1),
                            executor: executor_for(&job.runner),
                            multinode: job.is_multinode(),
                        })
                    }
                    None => Work::InProcess(refuse(format!("{}: no environment contract for this job", graph_task.id))),
                }
            }
            _ => Work::InProcess(fold_inputs(kind)),
        };
        // A success recorded under the exact hash is a cache hit unless the task is forced or a
        // dependency runs in this run (its output may change). With `trust_recorded_bench`
        // (the collect job of a sweep, after the matrix jobs recorded their bench tasks) a
        // recorded bench task is done whatever its upstream in-process tasks do.
        let recorded = matches!(store.get(graph_task.hash), Ok(Some(record)) if record.outcome == StateOutcome::Success);
        let forced = planned.reasons.iter().any(|r| matches!(r, crate::plan::Reason::Forced { .. }));
        let deps_done = graph_task.deps.iter().all(|&dep| reused.get(dep).is_some_and(Option::is_some));
        let trusted = trust_recorded_bench && graph_task.kind == TaskKind::Bench;
        let stored = if planned.action == Action::Reuse || (recorded && !forced && (deps_done || trusted)) {
            materialize(&store, graph_task.hash, &hash, work_dir)?
        } else {
            None
        };
        reused.push(stored);
        tasks.push(Task { hash, label: graph_task.id.clone(), deps: graph_task.deps.clone(), runner_type, work });
    }
    Ok(EngineTasks { tasks, reused, recorder: StateRecorder { store, meta } })
}

/// Writes a reused task's first stored artifact to `work_dir/<hash>/<name>` (or `null` when it
/// has none), so dependents read it like a fresh result.
fn materialize(store: &StateStore, digest: Digest, hash: &str, work_dir: &Path) -> Result<Option<PathBuf>, String> {
    let record = store.get(digest).map_err(|e| e.to_string())?.ok_or_else(|| format!("record {hash} vanished"))?;
    let (name, bytes) = match record.artifacts.first() {
        Some(artifact) => (
            artifact.name.clone(),
            store.get_blob(artifact.digest).map_err(|e| e.to_string())?.unwrap_or_else(|| b"null".to_vec()),
        ),
        None => ("result.json".to_string(), b"null".to_vec()),
    };
    let path = work_dir.join(hash).join(Path::new(&name).file_name().unwrap_or_default());
    super::store::write_atomic(&path, &bytes).map_err(|e| e.to_string())?;
    Ok(Some(path))
}
