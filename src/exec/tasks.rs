//! Stop-gap planning: jobs to tasks, with a task key, its hash and the script and launcher
//! chosen by the naming rules. The engine's `dag`/`naming` replace this when they land; until
//! then `ix run` uses it so the executors can be driven end to end.
//!
//! A task key lists every input of a benchmark task: the job's JSON, the executor, and the
//! path and blake3 of the benchmark script and launcher. The hash is blake3 of the key's JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::contract;
use super::task::{BenchWork, ExecutorKind, Task, Work};
use crate::expand::{Job, JobShape, KeyOrder};
use crate::ir::RunnerTable;

/// A task with the canonical text of its key (what its hash is computed from).
#[derive(Clone, Debug)]
pub struct KeyedTask {
    pub task: Task,
    pub key: String,
}

/// The hash of a key text.
pub fn hash_key(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..32].to_string()
}

/// The benchmark script names tried for a job, best first (REFERENCE-SEMANTICS §8.2, with the
/// runner type standing in for the launcher's fixed GPU name).
pub fn script_candidates(job: &Job) -> Vec<String> {
    let spec = if job.spec_decoding.as_str() == "mtp" { "_mtp" } else { "" };
    let base = format!("{}_{}_{}", job.model_prefix, job.precision, job.runner);
    let trt = if job.framework == "trt" { "_trt" } else { "" };
    vec![format!("benchmarks/{base}_{}{spec}.sh", job.framework), format!("benchmarks/{base}{trt}{spec}.sh")]
}

/// The launcher of a node: `runners/launch_<node up to the first '_'>.sh` (§8.3).
pub fn launcher_name(node: &str) -> String {
    format!("runners/launch_{}.sh", node.split('_').next().unwrap_or(node))
}

fn file_key(repo: &Path, rel: &str) -> Option<(PathBuf, Value)> {
    let path = repo.join(rel);
    let bytes = std::fs::read(&path).ok()?;
    Some((path, json!({ "path": rel, "blake3": blake3::hash(&bytes).to_hex().to_string() })))
}

/// Builds the tasks of `jobs`: one per single-node job, then one `collect` per config key that
/// depends on that key's jobs. Errors name jobs whose script is missing.
pub fn build(
    jobs: &[Job],
    repo: &Path,
    runners: &RunnerTable,
    executor_for: &dyn Fn(&str) -> ExecutorKind,
) -> Result<Vec<KeyedTask>, Vec<String>> {
    let mut tasks = Vec::new();
    let mut errors = Vec::new();
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut key_order = Vec::new();
    for job in jobs {
        let (Some(env), JobShape::Single { tp, .. }) = (contract::job_env(job), &job.shape) else {
            errors.push(format!("`{}`: multi-node jobs are not run by `ix run` yet", job.origin.key));
            continue;
        };
        let candidates = script_candidates(job);
        let Some((script, script_key)) = candidates.iter().find_map(|rel| file_key(repo, rel)) else {
            errors.push(format!("`{}`: no benchmark script (looked for {})", job.origin.key, candidates.join(", ")));
            continue;
        };
        let first_node = runners.get(&job.runner).and_then(|t| t.nodes.first().map(|n| n.value.clone()));
        let launcher = first_node.as_deref().and_then(|node| file_key(repo, &launcher_name(node)));
        let executor = executor_for(&job.runner);
        let key = json!({
            "job": job.to_json(KeyOrder::Sweep),
            "executor": executor.as_str(),
            "script": script_key,
            "launcher": launcher.as_ref().map(|(_, k)| k.clone()),
        });
        let key = serde_json::to_string(&key).unwrap_or_default();
        let hash = hash_key(&key);
        let JobShape::Single { conc, .. } = job.shape else { continue };
        let label = format!("{} {} tp{tp} conc{conc}", job.origin.key, crate::ir::seq_len_name(job.isl, job.osl));
        let result_stem = contract::result_filename(job, "").unwrap_or_default();
        let result_stem = result_stem.trim_end_matches('_').to_string();
        let work = Work::Bench(BenchWork {
            env,
            script,
            launcher: launcher.map(|(path, _)| path),
            result_stem,
            image: job.image.clone(),
            tp: *tp,
            executor,
            multinode: false,
        });
        if !by_key.contains_key(&job.origin.key) {
            key_order.push(job.origin.key.clone());
        }
        by_key.entry(job.origin.key.clone()).or_default().push(tasks.len());
        tasks.push(KeyedTask { task: Task { hash, label, deps: Vec::new(), runner_type: Some(job.runner.clone()), work }, key });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for config_key in key_order {
        let deps = by_key.remove(&config_key).unwrap_or_default();
        let key = json!({ "collect": config_key, "inputs": deps.iter().map(|&d| tasks[d].task.hash.clone()).collect::<Vec<_>>() });
        let key = serde_json::to_string(&key).unwrap_or_default();
        let task = Task {
            hash: hash_key(&key),
            label: format!("collect {config_key}"),
            deps,
            runner_type: None,
            work: Work::Collect { output_name: format!("agg_{config_key}") },
        };
        tasks.push(KeyedTask { task, key });
    }
    Ok(tasks)
}
