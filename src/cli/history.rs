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
