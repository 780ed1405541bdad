//! The scheduler: runs tasks in dependency order under a global limit and per-runner-type node
//! pools, with timeouts, retries and cancellation, recording every success the moment it lands.
//!
//! Invariants: a task starts only after all its dependencies finished (or were reused); a task
//! whose dependency failed, was skipped or was cancelled is skipped; the recorder sees each
//! success before the task's dependents start, so a kill at any point loses no finished task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

use super::Recorder;
use super::contract;
use super::docker::{self, DockerOpts};
use super::process::{self, End};
use super::reaper::{ProcessLedger, Running};
use super::slurm::{self, SlurmOpts};
use super::task::{BenchWork, ExecutorKind, Outcome, Task, TaskOutcome, Work};

/// Limits and places of one run.
#[derive(Clone, Debug)]
pub struct ExecConfig {
    /// At most this many tasks run at once.
    pub jobs: usize,
    /// Nodes per runner type; a task of a type runs on one free node of it.
    pub node_pools: BTreeMap<String, Vec<String>>,
    /// Per attempt.
    pub timeout: Option<Duration>,
    /// Extra attempts for a failing task.
    pub retries: u32,
    /// Wait before the first retry; doubles each time.
    pub retry_backoff: Duration,
    /// Per-task log files go here, as `<hash>.log`.
    pub log_dir: PathBuf,
    /// Per-task working folders go here, as `<hash>/`.
    pub work_dir: PathBuf,
    /// The repository root (benchmarks, runners).
    pub repo_root: PathBuf,
    pub docker: DockerOpts,
    pub slurm: SlurmOpts,
    /// Where running process groups, containers and Slurm jobs are listed while they run, so
    /// nothing outlives a killed `ix` (`reaper`); `None` lists nothing.
    pub ledger: Option<Arc<ProcessLedger>>,
}

/// What the scheduler reports while it runs (the CLI renders it).
#[derive(Clone, Debug)]
pub enum Event {
    Started { task_idx: usize, node: Option<String>, attempt: u32 },
    Retrying { task_idx: usize, attempt: u32, error: String, wait: Duration },
    SlurmJob { task_idx: usize, job_id: u64 },
    Finished { task_idx: usize, outcome: TaskOutcome },
}

/// The end of a run: one outcome per task, in task order.
#[derive(Debug)]
pub struct Summary {
    pub outcomes: Vec<TaskOutcome>,
    pub interrupted: bool,
}

impl Summary {
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| pred(&o.outcome)).count()
    }

    pub fn any_failed(&self) -> bool {
        self.count(|o| matches!(o, Outcome::Failed { .. } | Outcome::Skipped { .. } | Outcome::Cancelled)) > 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Finished,
}

fn blank(outcome: Outcome) -> TaskOutcome {
    TaskOutcome { outcome, attempts: 0, elapsed: Duration::ZERO, log: None, node: None }
}

/// Runs `tasks`. `reused[i]` holds the stored result of a task finished in an earlier run.
/// Cancel by sending `true` on the watch channel: nothing new starts, running tasks are
/// stopped (process groups killed, Slurm jobs cancelled), finished ones stay recorded.
pub async fn run(
    tasks: &[Task],
    reused: &[Option<PathBuf>],
    config: &ExecConfig,
    recorder: Arc<dyn Recorder>,
    cancel: watch::Receiver<bool>,
    on_event: &mut dyn FnMut(&Event),
) -> Summary {
    let n_tasks = tasks.len();
    let mut state = vec![State::Pending; n_tasks];
    let mut outcomes: Vec<Option<TaskOutcome>> = vec![None; n_tasks];
    let mut results: Vec<Option<PathBuf>> = reused.to_vec();
    results.resize(n_tasks, None);
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n_tasks];
    let mut waiting_on = vec![0usize; n_tasks];
    for (idx, task) in tasks.iter().enumerate() {
        if results[idx].is_some() {
            state[idx] = State::Finished;
            outcomes[idx] = Some(blank(Outcome::Reused));
        }
        for &dep in &task.deps {
            dependents[dep].push(idx);
        }
    }
    for (idx, task) in tasks.iter().enumerate() {
        waiting_on[idx] = task.deps.iter().filter(|&&dep| results[dep].is_none()).count();
    }
    let mut free_nodes: BTreeMap<String, Vec<String>> =
        config.node_pools.iter().map(|(k, v)| (k.clone(), v.iter().rev().cloned().collect())).collect();
    let _ = std::fs::create_dir_all(&config.log_dir);
    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<Event>();
    let mut running = FuturesUnordered::new();
    let mut cancel_watch = cancel.clone();
    let mut cancelled = *cancel.borrow();
    loop {
        if !cancelled {
            for idx in 0..n_tasks {
                if running.len() >= config.jobs.max(1) {
                    break;
                }
                if state[idx] != State::Pending || waiting_on[idx] > 0 {
                    continue;
                }
                let task = &tasks[idx];
                let node = match &task.runner_type {
                    None => None,
                    Some(runner_type) => match free_nodes.get_mut(runner_type) {
                        Some(pool) => match pool.pop() {
                            Some(node) => Some(node),
                            None => continue,
                        },
                        None => {
                            state[idx] = State::Finished;
                            let error = format!("runner type `{runner_type}` has no nodes in the runners config");
                            let outcome = blank(Outcome::Failed { error });
                            on_event(&Event::Finished { task_idx: idx, outcome: outcome.clone() });
                            outcomes[idx] = Some(outcome);
                            skip_dependents(idx, tasks, &dependents, &mut state, &mut outcomes, on_event);
                            continue;
                        }
                    },
                };
                state[idx] = State::Running;
                let inputs: Vec<PathBuf> = task.deps.iter().filter_map(|&dep| results[dep].clone()).collect();
                let ctx = AttemptCtx { task, task_idx: idx, config, events: event_tx.clone() };
                let cancel = cancel.clone();
                let recorder = Arc::clone(&recorder);
                running.push(async move {
                    let mut outcome = run_task(&ctx, node.clone(), inputs, cancel).await;
                    if matches!(outcome.outcome, Outcome::Done { .. } | Outcome::Failed { .. }) {
                        // Durable before any dependent starts; off the scheduler's thread, so
                        // concurrent tasks record in parallel. Failures are offered too (a
                        // store may keep them to explain the next plan).
                        let task = ctx.task.clone();
                        let done = outcome.clone();
                        let recorded = tokio::task::spawn_blocking(move || recorder.record(&task, &done)).await;
                        let error = match recorded {
                            Ok(Ok(())) => None,
                            Ok(Err(err)) => Some(err.to_string()),
                            Err(err) => Some(err.to_string()),
                        };
                        if let Some(error) = error {
                            let error = match &outcome.outcome {
                                Outcome::Failed { error: failure } => {
                                    format!("{failure}; recording the failure also failed: {error}")
                                }
                                _ => format!("cannot record the result: {error}"),
                            };
                            outcome.outcome = Outcome::Failed { error };
                        }
                    }
                    (idx, node, outcome)
                });
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((idx, node, outcome)) = running.next() => {
                if let (Some(node), Some(runner_type)) = (node, &tasks[idx].runner_type)
                    && let Some(pool) = free_nodes.get_mut(runner_type) {
                    pool.push(node);
                }
                while let Ok(event) = event_rx.try_recv() {
                    on_event(&event);
                }
                if let Outcome::Done { result } = &outcome.outcome {
                    results[idx] = Some(result.clone());
                }
                state[idx] = State::Finished;
                on_event(&Event::Finished { task_idx: idx, outcome: outcome.clone() });
                let succeeded = matches!(outcome.outcome, Outcome::Done { .. });
                let cancelled_task = outcome.outcome == Outcome::Cancelled;
                outcomes[idx] = Some(outcome);
                if succeeded {
                    for &dependent in &dependents[idx] {
                        waiting_on[dependent] -= 1;
                    }
                } else if cancelled_task {
                    // Dependents of a stopped task were never going to start: they are cancelled too.
                    cancelled = true;
                } else {
                    skip_dependents(idx, tasks, &dependents, &mut state, &mut outcomes, on_event);
                }
            }
            Some(event) = event_rx.recv() => on_event(&event),
            changed = cancel_watch.changed(), if !cancelled => {
                if changed.is_err() || *cancel_watch.borrow() {
                    cancelled = true;
                }
            }
        }
    }
    let outcomes = outcomes.into_iter().map(|o| o.unwrap_or_else(|| blank(Outcome::Cancelled))).collect();
    Summary { outcomes, interrupted: cancelled }
}

fn skip_dependents(
    failed_idx: usize,
    tasks: &[Task],
    dependents: &[Vec<usize>],
    state: &mut [State],
    outcomes: &mut [Option<TaskOutcome>],
    on_event: &mut dyn FnMut(&Event),
) {
    let mut stack = vec![failed_idx];
    while let Some(idx) = stack.pop() {
        for &dependent in &dependents[idx] {
            if state[dependent] == State::Pending {
                state[dependent] = State::Finished;
                let outcome = blank(Outcome::Skipped { because: tasks[failed_idx].label.clone() });
                on_event(&Event::Finished { task_idx: dependent, outcome: outcome.clone() });
                outcomes[dependent] = Some(outcome);
                stack.push(dependent);
            }
        }
    }
}

struct AttemptCtx<'a> {
    task: &'a Task,
    task_idx: usize,
    config: &'a ExecConfig,
    events: mpsc::UnboundedSender<Event>,
}

async fn run_task(
    ctx: &AttemptCtx<'_>,
    node: Option<String>,
    inputs: Vec<PathBuf>,
    mut cancel: watch::Receiver<bool>,
) -> TaskOutcome {
    let started = Instant::now();
    let log = ctx.config.log_dir.join(format!("{}.log", ctx.task.hash));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let _ = ctx.events.send(Event::Started { task_idx: ctx.task_idx, node: node.clone(), attempt });
        let result = match &ctx.task.work {
            Work::InProcess(function) => {
                let dir = ctx.config.work_dir.join(&ctx.task.hash);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| AttemptError::Fatal(format!("cannot create `{}`: {e}", dir.display())))
                    .and_then(|()| function(&inputs, &dir).map_err(AttemptError::Retryable))
            }
            Work::Bench(bench) => run_bench(ctx, bench, node.as_deref().unwrap_or("local_0"), &log, &mut cancel).await,
        };
        let outcome = match result {
            Ok(result) => Outcome::Done { result },
            Err(AttemptError::Cancelled) => Outcome::Cancelled,
            Err(AttemptError::Fatal(error)) => Outcome::Failed { error },
            Err(AttemptError::Retryable(error)) if attempt <= ctx.config.retries => {
                let wait = ctx.config.retry_backoff * 2u32.saturating_pow(attempt - 1);
                let _ = ctx.events.send(Event::Retrying { task_idx: ctx.task_idx, attempt, error, wait });
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    _ = cancel.wait_for(|c| *c) => Outcome::Cancelled,
                }
            }
            Err(AttemptError::Retryable(error)) => Outcome::Failed { error },
        };
        let log = matches!(ctx.task.work, Work::Bench(_)).then(|| log.clone());
        return TaskOutcome { outcome, attempts: attempt, elapsed: started.elapsed(), log, node };
    }
}

enum AttemptError {
    /// Worth another attempt (non-zero exit, timeout, missing result).
    Retryable(String),
    /// Retrying cannot help (broken environment contract, unreadable inputs).
    Fatal(String),
    Cancelled,
}

/// Folds the `<RESULT_FILENAME>_*.json` files of a multi-node task (in name order) into one
/// list at `result`, each item `{"file": name, "result": content}`.
fn fold_multinode(workdir: &Path, result_filename: &str, result: &Path) -> Result<PathBuf, AttemptError> {
    let prefix = format!("{result_filename}_");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(workdir).map(|dir| dir.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| {
        p.file_name().map(|n| n.to_string_lossy()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json"))
    });
    files.sort();
    if files.is_empty() {
        return Err(AttemptError::Retryable(format!("the script exited 0 but wrote no `{prefix}*.json`")));
    }
    let mut items = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file)
            .map_err(|e| AttemptError::Retryable(format!("cannot read `{}`: {e}", file.display())))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        items.push(serde_json::json!({ "file": name, "result": value }));
    }
    let bytes = serde_json::to_vec_pretty(&serde_json::Value::Array(items)).unwrap_or_default();
    super::atomic::write_atomic(result, &bytes).map_err(|e| AttemptError::Fatal(e.to_string()))?;
    Ok(result.to_path_buf())
}

/// An eval task's result: the eval rows under `eval_dir` written to `out`, after checking them
/// against the gate's thresholds (a score below one fails the task, naming score, threshold
/// and where the threshold was written; retrying cannot change a score).
fn eval_result(eval_dir: &Path, out: &Path, gate: &super::task::EvalGate) -> Result<PathBuf, AttemptError> {
    let rows = crate::results::evals::collect_eval_rows(eval_dir)
        .map_err(|e| AttemptError::Retryable(format!("cannot read the eval's results: {e}")))?;
    if rows.is_empty() {
        return Err(AttemptError::Retryable(format!(
            "the script exited 0 but wrote no eval results under `{}`",
            eval_dir.display()
        )));
    }
    let bytes = serde_json::to_vec_pretty(&rows).unwrap_or_default();
    super::atomic::write_atomic(out, &bytes).map_err(|e| AttemptError::Fatal(e.to_string()))?;
    let mut failures = Vec::new();
    for threshold in &gate.thresholds {
        let checked = crate::results::evals::Threshold {
            task: threshold.task.clone(),
            model: threshold.model.clone(),
            min_score: threshold.min_score,
        };
        for regression in crate::results::evals::check_thresholds(&rows, std::slice::from_ref(&checked)) {
            let score = regression.score.map_or("no score".to_string(), |s| format!("score {s:.4}"));
            let at = threshold.at.as_ref().map_or(String::new(), |at| format!(" ({at})"));
            failures.push(format!(
                "eval `{}` of `{}`: {score} is below its threshold {}{at}",
                regression.task, regression.model, threshold.min_score
            ));
        }
    }
    if failures.is_empty() { Ok(out.to_path_buf()) } else { Err(AttemptError::Fatal(failures.join("; "))) }
}

/// The executor boundary of `env_policy`, called by every executor right before it hands `env`
/// to a process: whatever built `env`, no task starts with a name that makes bash, the loader or
/// a launcher run something, nor with a contract name set twice (a setting overriding it).
fn check_env(env: &[(String, String)], log: &Path) -> Result<(), AttemptError> {
    crate::env_policy::check_task_env(env).map_err(|error| {
        append_log(log, &format!("ix: {error}"));
        AttemptError::Fatal(error)
    })
}

fn append_log(log: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut file) = std::fs::File::options().create(true).append(true).open(log) {
        let _ = writeln!(file, "{line}");
    }
}

async fn run_bench(
    ctx: &AttemptCtx<'_>,
    bench: &BenchWork,
    node: &str,
    log: &Path,
    cancel: &mut watch::Receiver<bool>,
) -> Result<PathBuf, AttemptError> {
    let config = ctx.config;
    let workdir = config.work_dir.join(&ctx.task.hash);
    std::fs::create_dir_all(&workdir)
        .map_err(|e| AttemptError::Fatal(format!("cannot create `{}`: {e}", workdir.display())))?;
    let workdir = workdir.canonicalize().unwrap_or(workdir);
    let result_filename = crate::naming::result_filename(&bench.result_stem, node);
    let mut env = bench.env.clone();
    env.push(("RUNNER_NAME".into(), node.to_string()));
    env.push(("PORT".into(), contract::port_for(node).to_string()));
    env.push(("RESULT_FILENAME".into(), result_filename.clone()));
    env.push(("GITHUB_WORKSPACE".into(), workdir.to_string_lossy().into_owned()));
    let missing = contract::missing(&env);
    if !missing.is_empty() {
        let error = format!("missing or empty environment variables: {}", missing.join(", "));
        append_log(log, &format!("ix: {error}"));
        return Err(AttemptError::Fatal(error));
    }
    let eval_dir = workdir.join("evals");
    if bench.eval.is_some() {
        // A fresh folder per attempt: rows of an earlier attempt must not be counted.
        let _ = std::fs::remove_dir_all(&eval_dir);
        env.push(("EVAL_RESULT_DIR".into(), eval_dir.join(&result_filename).to_string_lossy().into_owned()));
    }
    let result = workdir.join(format!("{result_filename}.json"));
    let _ = std::fs::remove_file(&result);
    if bench.multinode {
        // Stale per-concurrency files of an earlier attempt must not be folded in.
        let prefix = format!("{result_filename}_");
        for entry in std::fs::read_dir(&workdir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let entry = bench.launcher.as_ref().unwrap_or(&bench.script);
    for path in [entry, &bench.script] {
        if !crate::db::inside_root(&config.repo_root, path) {
            let error = format!("refusing to run `{}`: it does not resolve inside the project", path.display());
            append_log(log, &format!("ix: {error}"));
            return Err(AttemptError::Fatal(error));
        }
    }
    env.push(("IX_BENCHMARK_SCRIPT".into(), bench.script.to_string_lossy().into_owned()));
    env.push(("IX_REPO".into(), config.repo_root.to_string_lossy().into_owned()));
    append_log(
        log,
        &format!("ix: task {} on {node} via {} ({})", ctx.task.label, bench.executor.as_str(), entry.display()),
    );
    let end = match bench.executor {
        ExecutorKind::Local => {
            check_env(&env, log)?;
            let mut cmd = Command::new("bash");
            cmd.arg(entry).current_dir(&workdir).envs(env.iter().cloned());
            process::run_child(cmd, log, config.timeout, cancel, config.ledger.as_deref()).await
        }
        ExecutorKind::Docker => {
            check_env(&env, log)?;
            let engine = config.docker.engine;
            if !engine.available() {
                let program = engine.program();
                return Err(AttemptError::Fatal(format!("no container engine answers `{program} info`")));
            }
            let script_rel = bench.script.strip_prefix(&config.repo_root).unwrap_or(&bench.script);
            let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
            let name = format!("ix-{}", &ctx.task.hash[..12.min(ctx.task.hash.len())]);
            let argv =
                docker::argv(&config.docker, &name, &bench.image, &workdir, &config.repo_root, script_rel, &names);
            let mut cmd = Command::new(engine.program());
            cmd.args(argv).current_dir(&workdir).envs(env.iter().cloned());
            // Killing the `docker` client does not stop its container: the ledger lists it.
            let container = Running::Container(name.clone());
            if let Some(ledger) = &config.ledger {
                ledger.add(container.clone());
            }
            let end = process::run_child(cmd, log, config.timeout, cancel, config.ledger.as_deref()).await;
            if matches!(end, End::Cancelled | End::TimedOut) {
                let _ =
                    Command::new(engine.program()).args(engine.global_args()).args(["rm", "-f", &name]).output().await;
            }
            if let Some(ledger) = &config.ledger {
                ledger.remove(&container);
            }
            end
        }
        ExecutorKind::Slurm => {
            let container = config.slurm.container;
            let wrapper = workdir.join("ix-wrapper.sh");
            let text = if container { slurm::WRAPPER_CONTAINER } else { slurm::WRAPPER_PLAIN };
            super::atomic::write_atomic(&wrapper, text.as_bytes()).map_err(|e| AttemptError::Fatal(e.to_string()))?;
            env.push(("IX_WORKDIR".into(), workdir.to_string_lossy().into_owned()));
            env.push(("IX_ENTRY".into(), entry.to_string_lossy().into_owned()));
            let squash_dir =
                config.slurm.squash_dir.clone().unwrap_or_else(|| config.work_dir.to_string_lossy().into_owned());
            let (squash, import) = slurm::import_target(&bench.image, bench.image_digest.as_deref());
            env.push(("IX_SQUASH_FILE".into(), format!("{squash_dir}/{squash}")));
            env.push(("IX_IMPORT_IMAGE".into(), import));
            let job_name = format!("ix-{}", &ctx.task.hash[..12.min(ctx.task.hash.len())]);
            let log_abs = std::path::absolute(log).unwrap_or_else(|_| log.to_path_buf());
            let argv =
                slurm::sbatch_argv(&config.slurm, &job_name, bench.tp, &log_abs, &workdir, &wrapper, config.timeout);
            let events = ctx.events.clone();
            let task_idx = ctx.task_idx;
            let ledger = config.ledger.clone();
            let job = std::sync::Mutex::new(None);
            let on_job_id = |job_id| {
                let _ = events.send(Event::SlurmJob { task_idx, job_id });
                if let Some(ledger) = &ledger {
                    ledger.add(Running::SlurmJob(job_id));
                }
                if let Ok(mut job) = job.lock() {
                    *job = Some(job_id);
                }
            };
            check_env(&env, log)?;
            let end = process::run_slurm_job(argv, &env, log, config.timeout, cancel, &on_job_id).await;
            if let (Some(ledger), Ok(Some(job_id))) = (&ledger, job.lock().map(|job| *job)) {
                ledger.remove(&Running::SlurmJob(job_id));
            }
            end
        }
    };
    if let Some(gate) = &bench.eval
        && end == End::Exited(0)
    {
        return eval_result(&eval_dir, &workdir.join(format!("eval_{result_filename}.json")), gate);
    }
    if bench.multinode && end == End::Exited(0) {
        return fold_multinode(&workdir, &result_filename, &result);
    }
    match end {
        End::Exited(0) if result.is_file() => Ok(result),
        End::Exited(0) => {
            Err(AttemptError::Retryable(format!("the script exited 0 but wrote no `{result_filename}.json`")))
        }
        End::Exited(code) => Err(AttemptError::Retryable(format!("the script exited with status {code}"))),
        End::TimedOut => {
            Err(AttemptError::Retryable(format!("timed out after {}s", config.timeout.map_or(0, |t| t.as_secs()))))
        }
        End::Cancelled => Err(AttemptError::Cancelled),
        End::SpawnFailed(error) => Err(AttemptError::Retryable(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::exec::atomic::StoreError;
    use crate::exec::task::InProcessFn;

    /// Records the order of recorded tasks.
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Recorder for Log {
        fn record(&self, task: &Task, _: &TaskOutcome) -> Result<(), StoreError> {
            self.0.lock().map_err(|_| StoreError::Locked { path: PathBuf::new(), pid: 0 })?.push(task.label.clone());
            Ok(())
        }
    }

    fn step(label: &str, deps: Vec<usize>, fail: bool) -> Task {
        let name = label.to_string();
        let function: InProcessFn = Arc::new(move |inputs: &[PathBuf], dir: &Path| {
            if fail {
                return Err(format!("{name} fails"));
            }
            let out = dir.join("out");
            std::fs::write(&out, inputs.len().to_string()).map_err(|e| e.to_string())?;
            Ok(out)
        });
        Task {
            hash: format!("h-{label}"),
            label: label.into(),
            deps,
            runner_type: None,
            work: Work::InProcess(function),
        }
    }

    fn run_tasks(tasks: &[Task], reused: &[Option<PathBuf>]) -> (Summary, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ExecConfig {
            jobs: 2,
            node_pools: BTreeMap::new(),
            timeout: None,
            retries: 0,
            retry_backoff: Duration::ZERO,
            log_dir: dir.path().join("logs"),
            work_dir: dir.path().join("work"),
            repo_root: dir.path().to_path_buf(),
            docker: DockerOpts { gpus: false, hf_hub_cache: None, engine: crate::image::ContainerEngine::Docker },
            slurm: SlurmOpts::default(),
            ledger: None,
        };
        let log = Arc::new(Log::default());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (_tx, rx) = watch::channel(false);
        let summary = runtime.block_on(run(tasks, reused, &config, log.clone(), rx, &mut |_| {}));
        let order = log.0.lock().expect("log").clone();
        (summary, order)
    }

    #[test]
    fn dependencies_record_before_dependents_and_failures_skip_transitively() {
        // a -> b -> d; c fails -> e (needs b and c) skipped -> f skipped; g independent.
        let tasks = vec![
            step("a", vec![], false),
            step("b", vec![0], false),
            step("c", vec![], true),
            step("d", vec![1], false),
            step("e", vec![1, 2], false),
            step("f", vec![4], false),
            step("g", vec![], false),
        ];
        let (summary, order) = run_tasks(&tasks, &[]);
        let position = |label: &str| order.iter().position(|l| l == label);
        assert!(position("a") < position("b") && position("b") < position("d"));
        let outcomes: Vec<&str> = summary
            .outcomes
            .iter()
            .map(|o| match &o.outcome {
                Outcome::Done { .. } => "done",
                Outcome::Failed { .. } => "failed",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Cancelled => "cancelled",
                Outcome::Reused => "reused",
            })
            .collect();
        assert_eq!(outcomes, ["done", "done", "failed", "done", "skipped", "skipped", "done"]);
        assert!(summary.any_failed());
    }

    /// Issue 17 item 1, the executor boundary: whatever built a bench task's environment, no
    /// executor starts a process with a name that runs something, or with a contract name set
    /// twice; the script never runs and nothing is retried.
    #[test]
    fn every_executor_refuses_a_hostile_environment_before_spawning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("pwned");
        let script = dir.path().join("bench.sh");
        std::fs::write(&script, format!("touch '{}'\n", marker.display())).expect("script");
        let base: Vec<(String, String)> = contract::REQUIRED
            .iter()
            .filter(|name| !["RUNNER_NAME", "PORT", "RESULT_FILENAME", "GITHUB_WORKSPACE"].contains(name))
            .map(|name| ((*name).to_string(), "1".to_string()))
            .collect();
        let touch = format!("$(touch '{}')", marker.display());
        let hostile = [("BASH_ENV", touch.as_str()), ("PATH", "/nonexistent"), ("LD_PRELOAD", "x.so"), ("MODEL", "m2")];
        for executor in [ExecutorKind::Local, ExecutorKind::Docker, ExecutorKind::Slurm] {
            for (name, value) in hostile {
                let mut env = base.clone();
                env.push((name.to_string(), value.to_string()));
                let task = Task {
                    hash: format!("h-{}-{name}", executor.as_str()),
                    label: name.to_string(),
                    deps: vec![],
                    runner_type: Some("local".into()),
                    work: Work::Bench(BenchWork {
                        env,
                        script: script.clone(),
                        launcher: None,
                        result_stem: "r".into(),
                        image: "img".into(),
                        tp: 1,
                        executor,
                        multinode: false,
                        eval: None,
                        image_digest: None,
                    }),
                };
                let config = ExecConfig {
                    jobs: 1,
                    node_pools: BTreeMap::from([("local".to_string(), vec!["local_0".to_string()])]),
                    timeout: None,
                    retries: 2,
                    retry_backoff: Duration::ZERO,
                    log_dir: dir.path().join("logs"),
                    work_dir: dir.path().join("work"),
                    repo_root: dir.path().to_path_buf(),
                    docker: DockerOpts { gpus: false, hf_hub_cache: None, engine: Default::default() },
                    slurm: SlurmOpts::default(),
                    ledger: None,
                };
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                let (_tx, rx) = watch::channel(false);
                let summary = runtime.block_on(run(&[task], &[], &config, Arc::new(Log::default()), rx, &mut |_| {}));
                let outcome = &summary.outcomes[0];
                let Outcome::Failed { error } = &outcome.outcome else {
                    panic!("{executor:?} {name}: {:?}", outcome.outcome);
                };
                assert!(error.contains(&format!("`{name}`")), "{executor:?}: {error}");
                assert_eq!(outcome.attempts, 1, "{executor:?} {name}: a refusal is not retried");
                assert!(!marker.exists(), "{executor:?} {name}: the script or BASH_ENV ran");
            }
        }
    }

    #[test]
    fn reused_tasks_feed_their_results_without_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stored = dir.path().join("a.json");
        std::fs::write(&stored, "{}").expect("write");
        let tasks = vec![step("a", vec![], true), step("b", vec![0], false)];
        let (summary, order) = run_tasks(&tasks, &[Some(stored), None]);
        assert_eq!(order, ["b"]);
        assert_eq!(summary.outcomes[0].outcome, Outcome::Reused);
        assert!(matches!(summary.outcomes[1].outcome, Outcome::Done { .. }));
    }
}
