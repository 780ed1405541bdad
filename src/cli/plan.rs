//! `ix plan`: flags to a [`PlanRequest`], the pipeline, and printing (text, JSON, `--why`).
//!
//! Exit codes: 0 plan shown; 1 the inputs have errors (diagnostics printed), or `--exit-code`
//! and some task would run; 2 `ix` could not do the job (state store locked or unreadable).

use std::io::Write;
use std::time::{Duration, Instant};

use crate::cli::ExitStatus;
use crate::cli::args::{FakeOutcome, PlanArgs, PlanFormat};
use crate::cli::matrix::fail;
use crate::expand::select::JobSelection;
use crate::expand::{EvalMode, NodeMode};
use crate::plan::{Action, ForceRule, PlanOptions, glob_match, render};
use crate::session::PlanRequest;
use crate::session::{PlanSession, Planned};
use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};

fn request(args: &PlanArgs) -> PlanRequest {
    let mut filters = args.filters.to_full_sweep(NodeMode::Single);
    filters.runner_node_filter = args.runner_node_filter.clone();
    let mode = match (args.single_node, args.multi_node) {
        (true, _) => Some(NodeMode::Single),
        (_, true) => Some(NodeMode::Multi),
        _ => None,
    };
    let evals = if args.evals_only {
        Some(EvalMode::Only)
    } else if args.run_evals {
        Some(EvalMode::Mark)
    } else {
        None
    };
    let config_files =
        if args.files.is_empty() { crate::workspace::existing_default_master_configs() } else { args.files.clone() };
    PlanRequest {
        runner_config: crate::workspace::runner_config(args.runner_config.as_deref(), &config_files),
        config_files,
        selection: JobSelection {
            filters,
            mode,
            evals,
            config_keys: args.config_keys.clone(),
            max_jobs: args.max_jobs,
            repeat: args.repeat,
        },
        options: PlanOptions {
            force: args.force.iter().map(|selector| ForceRule::from_flag(selector)).collect(),
            verify_artifacts: args.verify_artifacts,
        },
        evals: Default::default(),
        images: Default::default(),
    }
}

/// The request's eval settings from the project's `evals.yaml`; its diagnostics on errors.
fn with_evals(mut request: PlanRequest, args: &PlanArgs) -> Result<PlanRequest, ExitStatus> {
    match crate::workspace::load_evals(&args.project_dir) {
        Ok(evals) => {
            request.evals = evals;
            Ok(request)
        }
        Err((sources, diags)) => Err(fail(&sources, &diags)),
    }
}

fn out(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok()
}

fn err(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

pub(crate) fn plan(args: &PlanArgs) -> ExitStatus {
    let mut request = match with_evals(request(args), args) {
        Ok(request) => request,
        Err(status) => return status,
    };
    if request.config_files.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "error: no sweep files given, and neither `configs/` nor `.github/configs/` holds InferenceX's master configs"
        );
        return ExitStatus::Error;
    }
    // With `--changelog-base`: the config keys of the added perf-changelog entries.
    let covered = match &args.changelog_base {
        Some(base) => {
            let repo = std::path::Path::new(".");
            match crate::changelog::load::forced_keys(repo, base, "HEAD", &args.changelog_file, &request.config_files) {
                Ok(forced) => {
                    request.options.force.extend(forced.iter().map(crate::changelog::Forced::rule));
                    Some(forced.into_iter().map(|f| f.config_key).collect::<Vec<_>>())
                }
                Err(failure) => return fail(&failure.sources, &failure.diags),
            }
        }
        None => None,
    };
    let covered = covered.as_deref();
    let store = match StateStore::open_existing(&args.state_dir) {
        Ok(store) => store,
        Err(error) => return crate::cli::state::error(&error),
    };
    let executors = match crate::cli::run::executor_map(&args.executor) {
        Ok(map) => map,
        Err(error) => {
            err(&format!("error: {error}\n"));
            return ExitStatus::Error;
        }
    };
    let mut session = PlanSession::new(request, &args.project_dir);
    if args.watch {
        session = session.with_memo();
    }
    if !args.resolve_images && !executors.is_empty() {
        session.set_images(crate::cli::run::container_executors(&executors));
    }
    if args.resolve_images {
        let first = session.plan(store.as_ref());
        let started = Instant::now();
        let images =
            crate::cli::run::resolve_images(&first.expanded, &args.project_dir, &executors, args.resolve_images);
        if args.timings {
            err(&format!(
                "timings: image resolution {:.1} ms ({} images)\n",
                ms(started.elapsed()),
                images.by_reference.len()
            ));
        }
        session.set_images(images);
    }
    let planned = session.plan(store.as_ref());
    let status = show(args, &planned, store.as_ref(), covered);
    if !args.watch {
        // The process exits next; freeing a 100,000-task plan piece by piece costs ~10% of the
        // run, and freeing the session's records costs more than reading them.
        std::mem::forget(planned);
        std::mem::forget(session);
        return status;
    }
    session.recycle(planned);
    watch(args, &mut session, store.as_ref(), covered)
}

/// Prints one plan; records fake completions when asked. Returns the exit status. `covered`
/// (with `--changelog-base`): the config keys of the added perf-changelog entries, to warn
/// about bench tasks that rerun for changed inputs without one.
fn show(args: &PlanArgs, planned: &Planned, store: Option<&StateStore>, covered: Option<&[String]>) -> ExitStatus {
    if args.timings {
        let t = planned.timings;
        err(&format!(
            "timings: load {:.1} ms · expand {:.1} ms · build {:.1} ms · plan {:.1} ms · total {:.1} ms ({} jobs)\n",
            ms(t.load),
            ms(t.expand),
            ms(t.build),
            ms(t.plan),
            ms(t.total()),
            planned.n_jobs
        ));
    }
    let Some(plan) = &planned.plan else {
        return fail(&planned.sources, &planned.diags);
    };
    if !planned.diags.is_empty() {
        let rendered =
            crate::diag::render(&planned.sources, &planned.diags, crate::diag::RenderOptions::for_terminal());
        err(&rendered);
    }
    if let Some(covered) = covered {
        err(&crate::changelog::load::uncovered_warnings(plan, covered));
    }
    if let Some(selector) = &args.why {
        let found = plan.graph.by_id.get(selector.as_str()).copied().or_else(|| {
            let matches: Vec<usize> = (0..plan.graph.tasks.len())
                .filter(|idx| plan.graph.tasks[*idx].hash.to_hex().starts_with(selector.as_str()))
                .collect();
            (matches.len() == 1).then(|| matches[0])
        });
        let Some(idx) = found else {
            err(&format!(
                "error: no task `{selector}` in this plan\nhelp: use a task id from `ix plan --format json`, or a unique hash prefix\n"
            ));
            return ExitStatus::Failure;
        };
        let latest = store.and_then(|store| store.latest_for_id(&plan.graph.tasks[idx].id).ok().flatten());
        let task = &plan.graph.tasks[idx];
        // The environment its script gets: the same contract its key was made from.
        let env = task.bench.as_ref().and_then(|bench| planned.expanded.jobs().get(bench.job_idx)).map(|job| {
            let contract = crate::contract::Contract::of(job, &planned.evals);
            render::task_environment(&contract, task.kind)
        });
        out(&render::why(plan, idx, latest.as_ref(), env.as_deref()));
    } else {
        let text = match args.format {
            PlanFormat::Human => render::human(plan, planned.n_jobs, &args.state_dir.display().to_string()),
            PlanFormat::Json => render::json(plan),
            PlanFormat::GhaMatrix => return gha_matrix(planned, plan),
        };
        if !out(&text) {
            return ExitStatus::Success;
        }
    }
    if let Some(outcome) = args.record_fake {
        let store = match StateStore::open(&args.state_dir) {
            Ok(store) => store,
            Err(error) => return crate::cli::state::error(&error),
        };
        let lock = match store.lock() {
            Ok(lock) => lock,
            Err(error) => return crate::cli::state::error(&error),
        };
        let outcome = match outcome {
            FakeOutcome::Success => Outcome::Success,
            FakeOutcome::Failed => Outcome::Failed,
        };
        let mut n_recorded = 0;
        for (task, planned_task) in plan.graph.tasks.iter().zip(&plan.tasks) {
            if planned_task.action != Action::Run
                || args.record_fake_filter.as_ref().is_some_and(|glob| !glob_match(glob, &task.id))
            {
                continue;
            }
            let record = TaskRecord {
                id: task.id.to_string(),
                kind: task.kind.as_str().to_string(),
                outcome,
                manifest: task.manifest.entries().into_owned(),
                artifacts: vec![(
                    "fake.json".into(),
                    ArtifactSource::Bytes(format!("{{\"task\":\"{}\"}}", task.id).into_bytes()),
                )],
            };
            if let Err(error) = store.record(task.hash, record) {
                return crate::cli::state::error(&error);
            }
            n_recorded += 1;
        }
        drop(lock);
        err(&format!("recorded {n_recorded} fake completions ({})\n", outcome.as_str()));
    }
    if args.exit_code && plan.count(Action::Run) > 0 { ExitStatus::Failure } else { ExitStatus::Success }
}

/// `--format gha-matrix`: the benchmark tasks that would run, as matrix chunks, and a summary
/// on stderr.
fn gha_matrix(planned: &Planned, plan: &crate::plan::Plan) -> ExitStatus {
    let jobs = planned.expanded.jobs();
    let mut entries = Vec::new();
    let mut n_reused = 0;
    for (task, planned_task) in plan.graph.tasks.iter().zip(&plan.tasks) {
        let Some(bench) = task.bench.as_ref().filter(|_| task.kind == crate::dag::TaskKind::Bench) else { continue };
        if planned_task.action != Action::Run {
            n_reused += 1;
            continue;
        }
        entries.push(crate::exec::gha::MatrixEntry {
            task: task.hash.to_hex(),
            label: task.id.to_string(),
            runner: jobs.get(bench.job_idx).map(|job| job.runner.clone()).unwrap_or_default(),
        });
    }
    match crate::cli::run::emit_matrix(&entries) {
        Ok(n_chunks) => {
            let target = if std::env::var_os("GITHUB_OUTPUT").is_some() { "$GITHUB_OUTPUT" } else { "stdout" };
            err(&format!(
                "matrix: {} benchmark task(s) to run in {n_chunks} chunk(s) of at most {} ({n_reused} reused), written to {target}\n",
                entries.len(),
                crate::exec::gha::MAX_MATRIX_JOBS
            ));
            ExitStatus::Success
        }
        Err(status) => status,
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn watch(
    args: &PlanArgs,
    session: &mut PlanSession,
    store: Option<&StateStore>,
    covered: Option<&[String]>,
) -> ExitStatus {
    let mut n_replans = 0;
    err("watching for changes (Ctrl-C to stop)\n");
    loop {
        if args.watch_limit.is_some_and(|limit| n_replans >= limit) {
            return ExitStatus::Success;
        }
        std::thread::sleep(Duration::from_millis(100));
        if !session.changed() {
            continue;
        }
        let started = Instant::now();
        let n_changed = session.refresh();
        let planned = session.plan(store);
        let elapsed = started.elapsed();
        let _ = show(args, &planned, store, covered);
        let stages = planned.timings.total();
        session.recycle(planned);
        err(&format!(
            "re-planned in {:.2} ms ({} project file(s) changed; stages {:.2} ms)\n",
            ms(elapsed),
            n_changed,
            ms(stages)
        ));
        n_replans += 1;
    }
}
