//! `ix results ingest|runs` (and the hidden `history-bench`, `synth`): the results database
//! from the command line. The logic lives in `crate::history`.

use std::path::Path;
use std::time::Instant;

use super::ExitStatus;
use super::args::{HistoryBenchArgs, IngestArgs, RunsArgs, SynthArgs};
use super::results::print_stdout;
use crate::history::synth::{SynthOptions, points, write_store};
use crate::history::{DbUrl, HistoryError, ResultsDb, Run, ingest, points_from_store};

/// Prints a diagnostic; `ix` could not do the job (exit 2).
pub(super) fn error(error: HistoryError) -> ExitStatus {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{:?}", miette::Report::new(error));
    }
    ExitStatus::Error
}

fn note(text: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{text}");
    }
}

/// Ingests the store at `state` into `url`: the run, how many points were new, how many it has.
pub(super) fn ingest_store(state: &Path, url: &str, label: Option<String>) -> Result<(Run, u64, usize), HistoryError> {
    let snapshot = points_from_store(state)?;
    if snapshot.failed > 0 {
        note(&format!("note: {} failed result task(s) in `{}` are not ingested", snapshot.failed, state.display()));
    }
    let project = state.parent().unwrap_or(Path::new("."));
    let run = ingest::run_of(&snapshot.points, &state.display().to_string(), label, ingest::git_commit(project));
    let mut db = ResultsDb::open(&DbUrl::parse(url))?;
    let new_points = db.ingest(&run, &snapshot.points)?;
    Ok((run, new_points, snapshot.points.len()))
}

/// `ix results ingest`.
pub(super) fn ingest(args: &IngestArgs) -> ExitStatus {
    match ingest_store(&args.state, &args.results_db, args.label.clone()) {
        Ok((run, new_points, total)) => {
            print_stdout(&format!(
                "run {}: {total} points, {new_points} new, in {}\n",
                run.run_id,
                DbUrl::parse(&args.results_db).display()
            ));
            ExitStatus::Success
        }
        Err(e) => error(e),
    }
}

/// `ix results runs`.
pub(super) fn runs(args: &RunsArgs) -> ExitStatus {
    let listed = ResultsDb::open(&DbUrl::parse(&args.results_db)).and_then(|mut db| db.runs());
    match listed {
        Ok(runs) => {
            let mut out = String::from("run               ingested              points  label  commit  source\n");
            for summary in runs {
                let run = &summary.run;
                out.push_str(&format!(
                    "{:<16}  {:<20}  {:>6}  {}  {}  {}\n",
                    run.run_id,
                    run.ingested_at,
                    summary.points,
                    run.label.as_deref().unwrap_or("-"),
                    run.git_commit.as_deref().map_or("-", |c| &c[..c.len().min(12)]),
                    run.source
                ));
            }
            print_stdout(&out);
            ExitStatus::Success
        }
        Err(e) => error(e),
    }
}

/// `ix results history-bench`: ingest N synthetic records, then compare two runs.
pub(super) fn history_bench(args: &HistoryBenchArgs) -> ExitStatus {
    let url = DbUrl::parse(&args.results_db);
    let mut db = match ResultsDb::open(&url) {
        Ok(db) => db,
        Err(e) => return error(e),
    };
    match db.runs() {
        Ok(runs) if runs.is_empty() => {}
        Ok(_) => {
            note("error: `ix results history-bench` needs an empty database (it times first ingests)");
            return ExitStatus::Error;
        }
        Err(e) => return error(e),
    }
    let synth = |records: usize, seed: u64, slower| {
        points(&SynthOptions { configs: records.div_ceil(5), repeats: 5, noise_pct: 1.0, seed, slower })
    };
    let bulk = synth(args.records, 1, None);
    let run = ingest::run_of(&bulk, "synthetic", Some("bulk".into()), None);
    let started = Instant::now();
    if let Err(e) = db.ingest(&run, &bulk) {
        return error(e);
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    let base = synth(args.compare_points, 2, None);
    let head = synth(args.compare_points, 3, Some((7, 5.0)));
    let (base_run, head_run) = (
        ingest::run_of(&base, "synthetic", Some("base".into()), None),
        ingest::run_of(&head, "synthetic", Some("head".into()), None),
    );
    if let Err(e) = db.ingest(&base_run, &base).and_then(|_| db.ingest(&head_run, &head)) {
        return error(e);
    }
    let started = Instant::now();
    let loaded = db.run_points(&base_run.run_id).and_then(|b| Ok((b, db.run_points(&head_run.run_id)?)));
    let (base, head) = match loaded {
        Ok(pair) => pair,
        Err(e) => return error(e),
    };
    let load_secs = started.elapsed().as_secs_f64();
    let comparison = crate::history::compare::compare(&base, &head, &Default::default());
    let text = crate::history::render::to_markdown(&comparison, "bench");
    let compare_secs = started.elapsed().as_secs_f64();
    print_stdout(&format!(
        "ingest {} records into {}: {ingest_secs:.2} s ({:.0} records/s)\n\
         compare two {}-point runs: {compare_secs:.3} s (reading both runs {load_secs:.3} s), {} rows, {} regressed, \
         {} bytes of markdown\n",
        bulk.len(),
        url.display(),
        bulk.len() as f64 / ingest_secs,
        base.len(),
        comparison.rows.len(),
        comparison.count(crate::history::compare::Verdict::Regressed),
        text.len()
    ));
    ExitStatus::Success
}

/// `ix results synth` (test-only).
pub(super) fn synth(args: &SynthArgs) -> ExitStatus {
    let slower = match args.slower.as_deref().map(|text| text.split_once(':')) {
        None => None,
        Some(Some((idx, pct))) => match (idx.parse::<usize>(), pct.parse::<f64>()) {
            (Ok(idx), Ok(pct)) => Some((idx, pct)),
            _ => {
                note("error: `--slower` takes INDEX:PERCENT");
                return ExitStatus::Error;
            }
        },
        Some(None) => {
            note("error: `--slower` takes INDEX:PERCENT");
            return ExitStatus::Error;
        }
    };
    let options = SynthOptions {
        configs: args.configs,
        repeats: args.repeats,
        noise_pct: args.noise_pct,
        seed: args.seed,
        slower,
    };
    match write_store(&args.state, &options) {
        Ok(written) => {
            print_stdout(&format!("{written} synthetic results in {}\n", args.state.display()));
            ExitStatus::Success
        }
        Err(e) => error(e),
    }
}

/// `ix run --results-db`: records each finished task through the engine's recorder, then, for a
/// `result` or `eval` task that succeeded, ingests that task's points (read back from the store,
/// as `ix results ingest` reads them) into a "live" run of this invocation. A failure to ingest
/// is reported and the run goes on; [`LiveIngest::finish`] ingests the whole store once more
/// (catching anything missed) and, when that worked, drops the live run, whose points the
/// store's run holds. A run killed midway leaves the live run with what had completed.
pub(super) struct LiveIngest {
    inner: Box<dyn crate::exec::Recorder>,
    state: std::path::PathBuf,
    url: String,
    run: Run,
    db: std::sync::Mutex<Option<ResultsDb>>,
}

impl LiveIngest {
    pub(super) fn new(inner: Box<dyn crate::exec::Recorder>, state: &Path, url: &str) -> LiveIngest {
        let project = state.parent().unwrap_or(Path::new("."));
        let mut run = ingest::run_of(&[], &format!("{} (live)", state.display()), None, ingest::git_commit(project));
        let mut hasher = blake3::Hasher::new_derive_key("ix 2026-12 results-live-run v1");
        hasher.update(run.source.as_bytes());
        hasher.update(run.ingested_at.as_bytes());
        run.run_id = hasher.finalize().to_hex()[..16].to_string();
        LiveIngest { inner, state: state.to_path_buf(), url: url.to_string(), run, db: std::sync::Mutex::new(None) }
    }

    fn ingest_task(&self, task_hash: &str) -> Result<(), HistoryError> {
        let points = crate::history::points_of_task(&self.state, task_hash)?;
        if points.is_empty() {
            return Ok(());
        }
        let mut guard = self.db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(ResultsDb::open(&DbUrl::parse(&self.url))?);
        }
        match guard.as_mut() {
            Some(db) => db.ingest(&self.run, &points).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The final pass: the store's run, as `ix results ingest` makes it; the live run is dropped
    /// once that is in.
    pub(super) fn finish(&self) -> Result<(Run, u64, usize), HistoryError> {
        let done = ingest_store(&self.state, &self.url, None)?;
        let mut guard = self.db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(db) = guard.as_mut() {
            db.forget_run(&self.run.run_id)?;
        }
        Ok(done)
    }
}

impl crate::exec::Recorder for LiveIngest {
    fn record(
        &self,
        task: &crate::exec::Task,
        outcome: &crate::exec::TaskOutcome,
    ) -> Result<(), crate::exec::atomic::StoreError> {
        self.inner.record(task, outcome)?;
        let holds_results = task.label.starts_with("result/") || task.label.starts_with("eval/");
        if holds_results
            && matches!(outcome.outcome, crate::exec::Outcome::Done { .. })
            && let Err(e) = self.ingest_task(&task.hash)
        {
            note(&format!("warning: `{}` not ingested yet (the final pass retries): {e}", task.label));
        }
        Ok(())
    }
}
