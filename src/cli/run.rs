//! `ix run`: builds the tasks, skips those already recorded, and runs the rest through the
//! scheduler, rendering progress and a final summary. Also the GitHub Actions entry points
//! (`--gha-matrix`, `--task HASH --artifact-dir DIR`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ExitStatus;
use crate::cli::args::{RunArgs, SweepInputArgs};
use crate::exec::docker::DockerOpts;
use crate::exec::gha::{self, Manifest, MatrixEntry};
use crate::exec::scheduler::Event;
use crate::exec::slurm::SlurmOpts;
use crate::exec::{ExecConfig, ExecutorKind, Outcome, Recorder, Work};
use crate::ir::RunnerTable;

fn eprint(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// What a plan must know of `executors` (no registry answers yet): which start containers.
pub(crate) fn container_executors(executors: &[(Option<String>, ExecutorKind)]) -> crate::session::ResolvedImages {
    crate::session::ResolvedImages {
        container_executors: executors.iter().map(|(t, kind)| (t.clone(), *kind == ExecutorKind::Docker)).collect(),
        ..Default::default()
    }
}

/// The executor of `runner_type` under an [`executor_map`] (the last matching spec; local by
/// default).
pub(crate) fn executor_of(map: &[(Option<String>, ExecutorKind)], runner_type: &str) -> ExecutorKind {
    map.iter()
        .rev()
        .find(|(t, _)| t.as_deref().is_none_or(|t| t == runner_type))
        .map_or(ExecutorKind::Local, |(_, kind)| *kind)
}

pub(crate) fn executor_map(specs: &[String]) -> Result<Vec<(Option<String>, ExecutorKind)>, String> {
    specs
        .iter()
        .map(|spec| {
            let (runner_type, name) = match spec.split_once('=') {
                Some((t, n)) => (Some(t.to_string()), n),
                None => (None, spec.as_str()),
            };
            ExecutorKind::parse(name)
                .map(|kind| (runner_type, kind))
                .ok_or_else(|| format!("unknown executor `{name}` (expected `local`, `docker` or `slurm`)"))
        })
        .collect()
}

pub(crate) fn run(args: &RunArgs) -> ExitStatus {
    let executors = match executor_map(&args.executor) {
        Ok(map) => map,
        Err(error) => {
            eprint(&format!("error: {error}"));
            return ExitStatus::Error;
        }
    };
    let executor_for = |runner_type: &str| executor_of(&executors, runner_type);
    let mut input = args.input.clone();
    input.config_files = args.files.iter().chain(&args.input.config_files).cloned().collect();
    if input.config_files.is_empty() {
        // As `ix plan` and `ix check`: InferenceX's masters in `configs/`, else `.github/configs/`.
        input.config_files = crate::workspace::existing_default_master_configs();
    }
    if input.config_files.is_empty() {
        eprint(
            "error: no sweep file given (for example `ix run sweeps/demo.ix`), and neither `configs/` nor \
             `.github/configs/` holds InferenceX's master configs",
        );
        return ExitStatus::Error;
    }
    run_engine(args, &input, &executor_for)
}

/// The runners file to plan with ([`crate::workspace::runner_config`], the rule of every verb).
pub(crate) fn runner_config(input: &SweepInputArgs) -> Option<String> {
    crate::workspace::runner_config(input.runner_config.as_deref(), &input.config_files)
}

/// Runs `tasks` with the limits and executors of `args`, rendering progress; `None` when the
/// async runtime cannot start.
fn execute(
    args: &RunArgs,
    input: &SweepInputArgs,
    runners: &RunnerTable,
    tasks: &[crate::exec::Task],
    reused: &[Option<PathBuf>],
    recorder: Arc<dyn Recorder>,
) -> Option<crate::exec::Summary> {
    let mut node_pools = std::collections::BTreeMap::new();
    for runner_type in &runners.types {
        node_pools.insert(runner_type.name.value.clone(), runner_type.nodes.iter().map(|n| n.value.clone()).collect());
    }
    let state = PathBuf::from(&input.state);
    let config = ExecConfig {
        jobs: args.jobs,
        node_pools,
        timeout: args.timeout.filter(|t| *t > 0.0).map(Duration::from_secs_f64),
        retries: args.retries,
        retry_backoff: Duration::from_secs_f64(args.retry_backoff.max(0.0)),
        log_dir: state.join("logs"),
        work_dir: state.join("work"),
        repo_root: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        docker: DockerOpts {
            gpus: !args.docker_no_gpus,
            hf_hub_cache: std::env::var("HF_HUB_CACHE").ok(),
            engine: args.container_engine,
        },
        slurm: SlurmOpts {
            partition: args.slurm_partition.clone(),
            gpus: args.slurm_gpus,
            container: args.slurm_container,
            squash_dir: std::env::var("IX_SQUASH_DIR").ok(),
        },
        ledger: None,
    };
    // What a killed run left running is reaped first (the store is locked: no run is live).
    let ledger_path = state.join("procs");
    let reaped = crate::exec::reaper::reap_leftovers(&ledger_path);
    if !reaped.is_empty() {
        eprint(&format!(
            "note: stopped {} process group(s), container(s) or job(s) left by a killed run",
            reaped.len()
        ));
    }
    let ledger = Arc::new(crate::exec::reaper::ProcessLedger::new(&ledger_path));
    let watchdog = crate::exec::reaper::Watchdog::start(&ledger_path);
    if let Err(err) = &watchdog {
        eprint(&format!("warning: cannot start the watchdog (`/bin/sh`): {err}; a killed run may leave processes"));
    }
    let config = ExecConfig { ledger: Some(ledger), ..config };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprint(&format!("error: cannot start the async runtime: {err}"));
            return None;
        }
    };
    let summary = runtime.block_on(async {
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(term) => {
                        term.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
            let _ = writeln!(std::io::stderr(), "interrupted: no new tasks start; stopping running ones");
            let _ = cancel_tx.send(true);
        });
        let mut progress = Progress::new(tasks, reused);
        let mut on_event = |event: &Event| progress.event(event);
        crate::exec::run(tasks, reused, &config, recorder, cancel_rx, &mut on_event).await
    });
    drop(runtime);
    if let Ok(watchdog) = watchdog {
        watchdog.disarm();
    }
    let _ = std::fs::remove_file(&ledger_path);
    Some(summary)
}

/// Writes the artifact of the one task of a `--task` run (its result, if it finished or was
/// reused); false when writing failed.
fn write_artifact(
    dir: &Path,
    task: &crate::exec::Task,
    key: &str,
    summary: &crate::exec::Summary,
    reused_result: impl FnOnce() -> PathBuf,
) -> bool {
    let result = match summary.outcomes.first().map(|o| &o.outcome) {
        Some(Outcome::Done { result }) => result.clone(),
        Some(Outcome::Reused) => reused_result(),
        _ => return true,
    };
    let written = std::fs::read(&result).map_err(|e| e.to_string()).and_then(|bytes| {
        let manifest = Manifest {
            task: task.hash.clone(),
            label: task.label.clone(),
            key: key.to_string(),
            result_file: result.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            result_blake3: blake3::hash(&bytes).to_hex().to_string(),
        };
        gha::write_artifact(dir, &manifest, &bytes).map_err(|e| e.to_string())
    });
    if let Err(error) = &written {
        eprint(&format!("error: cannot write the artifact: {error}"));
    }
    written.is_ok()
}

/// The unfinished bench tasks as matrix chunks, to `$GITHUB_OUTPUT` or stdout.
fn write_matrix(tasks: &[crate::exec::Task], reused: &[Option<PathBuf>]) -> ExitStatus {
    let entries: Vec<MatrixEntry> = tasks
        .iter()
        .zip(reused)
        .filter(|(task, done)| done.is_none() && matches!(task.work, Work::Bench(_)))
        .map(|(task, _)| MatrixEntry {
            task: task.hash.clone(),
            label: task.label.clone(),
            runner: task.runner_type.clone().unwrap_or_default(),
        })
        .collect();
    match emit_matrix(&entries) {
        Ok(_) => ExitStatus::Success,
        Err(status) => status,
    }
}

/// Writes `entries` as matrix chunks (`exec::gha`'s shape) to `$GITHUB_OUTPUT` when set, else
/// to stdout; the one writer behind `ix run --gha-matrix` and `ix plan --format gha-matrix`.
/// Returns the number of chunks.
pub(crate) fn emit_matrix(entries: &[MatrixEntry]) -> Result<usize, ExitStatus> {
    let chunks = gha::chunks(entries);
    let lines = gha::output_lines(&chunks, entries.len());
    let written = match std::env::var_os("GITHUB_OUTPUT") {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(lines.as_bytes())),
        None => std::io::stdout().write_all(lines.as_bytes()),
    };
    match written {
        Ok(()) => Ok(chunks.len()),
        Err(err) => {
            eprint(&format!("error: cannot write the matrix: {err}"));
            Err(ExitStatus::Error)
        }
    }
}

/// Progress on stderr: an indicatif bar on a terminal (not in CI), plain lines otherwise.
struct Progress<'a> {
    tasks: &'a [crate::exec::Task],
    bar: Option<ProgressBar>,
}

impl<'a> Progress<'a> {
    fn new(tasks: &'a [crate::exec::Task], reused: &[Option<PathBuf>]) -> Progress<'a> {
        let to_run = reused.iter().filter(|r| r.is_none()).count() as u64;
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = interactive.then(|| {
            let bar = ProgressBar::with_draw_target(Some(to_run), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} eta {eta} {msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { tasks, bar }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprint(text),
        }
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::Started { task_idx, node, attempt } => {
                let label = &self.tasks[*task_idx].label;
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("running {label}"));
                } else if *attempt == 1 {
                    let on = node.as_deref().map(|n| format!(" on {n}")).unwrap_or_default();
                    self.line(&format!("start   {label}{on}"));
                }
            }
            Event::Retrying { task_idx, attempt, error, wait } => self.line(&format!(
                "retry   {} after attempt {attempt}: {error} (waiting {:.1}s)",
                self.tasks[*task_idx].label,
                wait.as_secs_f64()
            )),
            Event::SlurmJob { task_idx, job_id } => {
                self.line(&format!("slurm   {} is job {job_id}", self.tasks[*task_idx].label));
            }
            Event::Finished { task_idx, outcome } => {
                let label = &self.tasks[*task_idx].label;
                let secs = outcome.elapsed.as_secs_f64();
                let text = match &outcome.outcome {
                    Outcome::Done { .. } => format!("done    {label} ({secs:.1}s)"),
                    Outcome::Failed { error } => {
                        let log = outcome.log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default();
                        format!("FAILED  {label}: {error}{log}")
                    }
                    Outcome::Skipped { because } => format!("skipped {label}: `{because}` did not finish"),
                    Outcome::Cancelled => format!("stopped {label}"),
                    Outcome::Reused => return,
                };
                self.line(&text);
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_summary(tasks: &[crate::exec::Task], summary: &crate::exec::Summary, input: &SweepInputArgs) {
    let done = summary.count(|o| matches!(o, Outcome::Done { .. }));
    let reused = summary.count(|o| matches!(o, Outcome::Reused));
    let failed = summary.count(|o| matches!(o, Outcome::Failed { .. }));
    let skipped = summary.count(|o| matches!(o, Outcome::Skipped { .. }));
    let cancelled = summary.count(|o| matches!(o, Outcome::Cancelled));
    let mut out = String::new();
    for (task, outcome) in tasks.iter().zip(&summary.outcomes) {
        if let Outcome::Failed { error } = &outcome.outcome {
            out.push_str(&format!("failed: {}: {error}\n", task.label));
        }
    }
    if done + failed + skipped + cancelled == 0 && !summary.interrupted {
        out.push_str(&format!("nothing to run: all {reused} tasks are up to date (state {})\n", input.state));
    } else {
        out.push_str(&format!(
            "{done} done, {reused} reused, {failed} failed, {skipped} skipped, {cancelled} cancelled{}\n",
            if summary.interrupted { " (interrupted)" } else { "" }
        ));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// The tasks that need no benchmark run: every unfinished bench task is dropped with all its
/// dependents; the rest keeps its order (dependencies first) with dependencies renumbered.
fn in_process_only(
    tasks: &[crate::exec::Task],
    reused: &[Option<PathBuf>],
) -> (Vec<crate::exec::Task>, Vec<Option<PathBuf>>) {
    let mut keep = vec![true; tasks.len()];
    let mut new_idx = vec![usize::MAX; tasks.len()];
    let mut out = (Vec::new(), Vec::new());
    for (idx, task) in tasks.iter().enumerate() {
        let unfinished_bench = matches!(task.work, Work::Bench(_)) && reused[idx].is_none();
        keep[idx] = !unfinished_bench && task.deps.iter().all(|&dep| keep[dep]);
        if keep[idx] {
            new_idx[idx] = out.0.len();
            let mut task = task.clone();
            task.deps = task.deps.iter().map(|&dep| new_idx[dep]).collect();
            out.0.push(task);
            out.1.push(reused[idx].clone());
        }
    }
    out
}

/// How `ix run` launches images, beyond the executor of each runner type.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LaunchSettings<'a> {
    /// The container engine of the docker executor (`docker`, or `podman`).
    pub(crate) container_engine: crate::image::ContainerEngine,
    /// Ask registries for the digest of every image a task pulls or imports, before planning.
    pub(crate) resolve: bool,
    /// The `--executor` specs ([`executor_map`]).
    pub(crate) executors: &'a [(Option<String>, ExecutorKind)],
}

/// What a plan should know of its images beyond pins and launch records, for the executors of
/// `executor_for`: which runner types run containers themselves, and (with `resolve`) what
/// registries say each pulled or imported image's tag points at now. An image no registry can
/// resolve is left to its launch task (a warning on stderr says why).
pub(crate) fn resolve_images(
    expanded: &crate::session::Expanded,
    project: &Path,
    executors: &[(Option<String>, ExecutorKind)],
    resolve: bool,
) -> crate::session::ResolvedImages {
    use crate::session::is_host_launcher;
    let mut images = container_executors(executors);
    let runners = expanded.loaded.runners.clone().unwrap_or_default();
    if !resolve {
        return images;
    }
    let mut wanted: Vec<(String, String)> = Vec::new();
    for job in expanded.jobs() {
        let Some(entry) = expanded.loaded.sweep.entries.get(job.origin.entry_idx) else { continue };
        let runner_type = entry.runner.value.clone();
        if crate::dag::pinned(&job.image).is_some() || wanted.iter().any(|(r, i)| *r == runner_type && *i == job.image)
        {
            continue;
        }
        let node = runners.get(&runner_type).and_then(|t| t.nodes.first()).map(|n| n.value.clone());
        let launcher = crate::naming::launcher_path(node.as_deref().unwrap_or(&job.runner));
        let host = !images.starts_containers(&runner_type) && is_host_launcher(project, &launcher);
        if !host {
            wanted.push((runner_type, job.image.clone()));
        }
    }
    let mut refs = Vec::new();
    let mut keys = Vec::new();
    for (runner_type, image) in wanted {
        match crate::image::ImageRef::parse(&image) {
            Ok(reference) => {
                refs.push(reference);
                keys.push((runner_type, image));
            }
            Err(error) => eprint(&format!("warning: cannot resolve `{image}`: {error}")),
        }
    }
    let answers = crate::image::resolve_all_blocking(&refs, &crate::image::ResolveOptions::from_env());
    for ((runner_type, image), answer) in keys.into_iter().zip(answers) {
        match answer {
            Ok(digest) => {
                let id = crate::dag::task_key::ImageId { digest: digest.to_string(), reference: image.clone() };
                images.by_reference.insert((runner_type, image), id);
            }
            Err(error) => eprint(&format!(
                "warning: cannot resolve `{image}` ({error}); its launch task pulls it first and records its digest"
            )),
        }
    }
    images
}

/// What `ix run` planned: the scheduler tasks, the runners, the store lock, and the launch
/// tasks that must run before the rest can be keyed (their image could not be resolved).
pub(crate) struct Loaded {
    pub(crate) engine: crate::exec::engine::EngineTasks,
    pub(crate) runners: RunnerTable,
    pub(crate) lock: crate::state::StoreLock,
    pub(crate) unresolved_launches: Vec<usize>,
}

/// The engine's plan for `input` as scheduler tasks, with the runners and the store lock.
pub(crate) fn load_engine(
    input: &SweepInputArgs,
    force: &[crate::plan::ForceRule],
    executor_for: &dyn Fn(&str) -> ExecutorKind,
    trust_recorded_bench: bool,
    launch: LaunchSettings<'_>,
) -> Result<Loaded, ExitStatus> {
    use crate::expand::select::JobSelection;
    use crate::plan::PlanOptions;
    use crate::session::{PlanRequest, PlanSession};
    use crate::state::StateStore;

    let project = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let evals = match crate::workspace::load_evals(&project) {
        Ok(evals) => evals,
        Err((sources, diags)) => return Err(super::matrix::fail(&sources, &diags)),
    };
    let selection = JobSelection {
        config_keys: input.config_keys.clone(),
        evals: input.run_evals.then_some(crate::expand::EvalMode::Mark),
        max_jobs: input.max_jobs,
        repeat: input.repeat,
        ..JobSelection::all()
    };
    let fail = |message: String| {
        eprint(&format!("error: {message}"));
        ExitStatus::Error
    };
    let request = PlanRequest {
        config_files: input.config_files.clone(),
        runner_config: runner_config(input),
        selection,
        // The run is about to use the stored blobs: check them, not just their presence.
        options: PlanOptions { force: force.to_vec(), verify_artifacts: true },
        evals: evals.clone(),
        images: Default::default(),
    };
    let state = PathBuf::from(&input.state);
    let store = StateStore::open(&state).map_err(|err| fail(err.to_string()))?;
    let mut session = PlanSession::new(request, &project);
    let first = session.plan(Some(&store));
    session.set_images(resolve_images(&first.expanded, &project, launch.executors, launch.resolve));
    let planned = session.plan(Some(&store));
    let Some(plan) = planned.plan.filter(|_| !planned.diags.iter().any(crate::diag::Diag::is_error)) else {
        return Err(super::matrix::fail(&planned.sources, &planned.diags));
    };
    let runners = planned.expanded.loaded.runners.clone().unwrap_or_default();
    let jobs = planned.expanded.jobs();
    let lock = store.lock().map_err(|err| fail(err.to_string()))?;
    if let Some(pid) = lock.took_over_from {
        eprint(&format!("note: took over a stale lock of `{}` left by process {pid}", input.state));
    }
    let unresolved_launches = plan
        .graph
        .tasks
        .iter()
        .zip(&plan.tasks)
        .enumerate()
        .filter(|(_, (task, planned))| {
            task.kind == crate::dag::TaskKind::Launch
                && planned.action == crate::plan::Action::Run
                && task
                    .manifest
                    .entries()
                    .iter()
                    .any(|e| e.name == "image" && e.value.ends_with(crate::dag::task_key::UNRESOLVED_SUFFIX))
        })
        .map(|(idx, _)| idx)
        .collect();
    let options = crate::exec::engine::EngineOptions { evals: &evals, container_engine: launch.container_engine };
    let engine = crate::exec::engine::tasks_from_plan(
        &plan,
        jobs,
        &project,
        store,
        &state.join("work"),
        executor_for,
        trust_recorded_bench,
        &options,
    )
    .map_err(fail)?;
    Ok(Loaded { engine, runners, lock, unresolved_launches })
}

/// `ix run`: the engine's plan and state store, this module's scheduler.
fn run_engine(args: &RunArgs, input: &SweepInputArgs, executor_for: &dyn Fn(&str) -> ExecutorKind) -> ExitStatus {
    let mut force: Vec<crate::plan::ForceRule> =
        args.force.iter().map(|s| crate::plan::ForceRule::from_flag(s)).collect();
    if let Some(base) = &args.changelog_base {
        let repo = std::path::Path::new(".");
        match crate::changelog::load::forced_keys(repo, base, "HEAD", &args.changelog_file, &input.config_files) {
            Ok(forced) => {
                let rules: Vec<_> = forced.iter().map(crate::changelog::Forced::rule).collect();
                for rule in &rules {
                    eprint(&format!("forcing {} (forced by {})", rule.selector, rule.by));
                }
                force.extend(rules);
            }
            Err(failure) => return super::matrix::fail(&failure.sources, &failure.diags),
        }
    }
    // Checked by `run` before it called this.
    let executors = executor_map(&args.executor).unwrap_or_default();
    let launch = LaunchSettings {
        container_engine: args.container_engine,
        resolve: !args.no_resolve_images,
        executors: &executors,
    };
    let mut loaded = match load_engine(input, &force, executor_for, args.collect_only, launch) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    // Images no registry could tell the digest of: launch them first (the launch records the
    // digest), then plan again, so every task is keyed with the digest it really runs.
    if !loaded.unresolved_launches.is_empty() && !args.dry_run && !args.gha_matrix && args.task.is_none() {
        let ids: Vec<usize> = std::mem::take(&mut loaded.unresolved_launches);
        let tasks: Vec<crate::exec::Task> = ids
            .iter()
            .map(|idx| {
                let mut task = loaded.engine.tasks[*idx].clone();
                task.deps.clear();
                task
            })
            .collect();
        let reused = vec![None; tasks.len()];
        let Loaded { engine, runners, lock, .. } = loaded;
        let recorder: Arc<dyn Recorder> = Arc::new(engine.recorder);
        let Some(summary) = execute(args, input, &runners, &tasks, &reused, recorder) else { return ExitStatus::Error };
        drop(lock);
        if summary.any_failed() {
            print_summary(&tasks, &summary, input);
            return ExitStatus::Failure;
        }
        loaded = match load_engine(input, &force, executor_for, args.collect_only, launch) {
            Ok(loaded) => loaded,
            Err(status) => return status,
        };
    }
    let Loaded { engine, runners, lock, .. } = loaded;
    if args.gha_matrix {
        return write_matrix(&engine.tasks, &engine.reused);
    }
    let (tasks, reused) = match &args.task {
        Some(hash) => {
            let found = engine.tasks.iter().position(|t| &t.hash == hash && matches!(t.work, Work::Bench(_)));
            let Some(idx) = found else {
                eprint(&format!("error: no benchmark task `{hash}` in the plan"));
                return ExitStatus::Error;
            };
            let mut task = engine.tasks[idx].clone();
            task.deps.clear();
            (vec![task], vec![engine.reused[idx].clone()])
        }
        None if args.collect_only => in_process_only(&engine.tasks, &engine.reused),
        None => (engine.tasks.clone(), engine.reused.clone()),
    };
    if args.dry_run {
        let mut out = String::new();
        for (task, done) in tasks.iter().zip(&reused) {
            let verb = if done.is_some() { "reuse" } else { "run" };
            out.push_str(&format!("{verb} {} {}", task.hash, task.label));
            if done.is_none()
                && let Some(reason) = engine.reasons.get(&task.hash)
            {
                out.push_str(&format!(" ({reason})"));
            }
            out.push('\n');
        }
        let _ = std::io::stdout().write_all(out.as_bytes());
        return ExitStatus::Success;
    }
    let (live, recorder): (_, Arc<dyn Recorder>) = match &args.results_db {
        Some(db) => {
            let live =
                Arc::new(super::history::LiveIngest::new(Box::new(engine.recorder), Path::new(&input.state), db));
            (Some(live.clone()), live)
        }
        None => (None, Arc::new(engine.recorder)),
    };
    let Some(summary) = execute(args, input, &runners, &tasks, &reused, recorder) else { return ExitStatus::Error };
    drop(lock);
    if let Some(dir) = &args.artifact_dir {
        let fallback = reused[0].clone().unwrap_or_default();
        if !write_artifact(Path::new(dir), &tasks[0], "", &summary, || fallback) {
            return ExitStatus::Error;
        }
    }
    print_summary(&tasks, &summary, input);
    if args.task.is_none() && !print_outputs(args, &tasks, &reused, &summary) {
        return ExitStatus::Error;
    }
    if input.repeat > 1 && args.task.is_none() {
        print_repeat_summary(&tasks, input);
    }
    if let (Some(db), Some(live)) = (&args.results_db, &live) {
        match live.finish() {
            Ok((run, new_points, total)) => {
                eprint(&format!("results: run {} ({total} points, {new_points} new) in {db}", run.run_id));
            }
            Err(e) => return super::history::error(e),
        }
    }
    if summary.any_failed() { ExitStatus::Failure } else { ExitStatus::Success }
}

/// The output file of the task labelled `label`, when it finished now or earlier.
fn output_of(
    label: &str,
    tasks: &[crate::exec::Task],
    reused: &[Option<PathBuf>],
    summary: &crate::exec::Summary,
) -> Option<PathBuf> {
    let idx = tasks.iter().position(|t| t.label == label)?;
    match &summary.outcomes.get(idx)?.outcome {
        Outcome::Done { result } => Some(result.clone()),
        Outcome::Reused => reused[idx].clone(),
        _ => None,
    }
}

/// Prints the summary table and copies the report to `-o`, saying where both are; false when
/// the report cannot be written.
fn print_outputs(
    args: &RunArgs,
    tasks: &[crate::exec::Task],
    reused: &[Option<PathBuf>],
    summary: &crate::exec::Summary,
) -> bool {
    let mut out = String::new();
    let summary_file = output_of("summary", tasks, reused, summary);
    if let Some(path) = &summary_file {
        if let Ok(text) = std::fs::read_to_string(path) {
            out.push('\n');
            out.push_str(&text);
        }
        out.push_str(&format!("summary: {}\n", path.display()));
    }
    if let Some(report) = output_of("report", tasks, reused, summary) {
        if let Err(err) = std::fs::copy(&report, &args.output) {
            eprint(&format!("error: cannot write the report to `{}`: {err}", args.output));
            return false;
        }
        out.push_str(&format!("report:  {}\n", args.output));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    true
}

/// With `--repeat`: each configuration's mean and spread over its repeats (from the store's
/// records of this run's result tasks).
fn print_repeat_summary(tasks: &[crate::exec::Task], input: &SweepInputArgs) {
    let ids: std::collections::HashSet<&str> = tasks.iter().map(|t| t.label.as_str()).collect();
    match crate::history::points_from_store(Path::new(&input.state)) {
        Ok(snapshot) => {
            let points: Vec<crate::history::Point> =
                snapshot.points.into_iter().filter(|p| ids.contains(p.task_id.as_str())).collect();
            let table = crate::history::render::repeat_summary(&points);
            let _ = std::io::stdout().write_all(format!("\n## Repeats: mean ± spread\n\n{table}\n").as_bytes());
        }
        Err(e) => eprint(&format!("warning: no repeat summary: {e}")),
    }
}
