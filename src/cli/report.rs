//! `ix report DIR [-o FILE] [--format html|md]`, or `ix report --results-db DB [--run RUN]
//! [--baseline RUN]`: loads aggregate records (from files, or a run of the results database
//! with the history of every run) and writes the rendered report. Rendering lives in
//! `crate::report`.

use std::path::PathBuf;

use super::ExitStatus;
use super::args::{ReportArgs, ReportFormat};
use super::results::{fail, print_stdout, warn_skipped, write_file};
use crate::history::{DbUrl, HistoryError, Point, ResultsDb};
use crate::report::history::{RunPoints, render_history};
use crate::report::html::{Extras, render_html_with_extras};
use crate::report::{render_html, render_markdown};
use crate::results::{Record, load_report_records};

fn records_of(points: &[Point], origin: &str) -> Vec<Record> {
    points
        .iter()
        .filter(|p| p.kind != crate::history::PointKind::Eval)
        .filter_map(|p| match serde_json::from_str(&p.record) {
            Ok(serde_json::Value::Object(fields)) => Some(Record { path: PathBuf::from(origin), fields }),
            _ => None,
        })
        .collect()
}

/// The report of a database run: its records, the baseline's, and the history section.
fn from_database(args: &ReportArgs, url: &str) -> Result<String, HistoryError> {
    let url = DbUrl::parse(url);
    let mut db = ResultsDb::open(&url)?;
    let run = db.find_run(&args.run)?;
    let baseline = match &args.baseline {
        Some(selector) => {
            let baseline = db.find_run(selector)?;
            records_of(&db.run_points(&baseline.run_id)?, &format!("baseline {}", baseline.run_id))
        }
        None => Vec::new(),
    };
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for summary in db.runs()? {
        let points = db.run_points(&summary.run.run_id)?;
        if summary.run.run_id == run.run_id {
            current = records_of(&points, &format!("run {}", run.run_id));
        }
        runs.push(RunPoints { run: summary.run, points });
    }
    Ok(match args.format {
        ReportFormat::Html => {
            let history = render_history(&runs, &Default::default());
            render_html_with_extras(&current, &[], &Extras { baseline: &baseline, history })
        }
        ReportFormat::Md => render_markdown(&current),
    })
}

/// Runs `ix report`.
pub(super) fn report(args: &ReportArgs) -> ExitStatus {
    let text = match (&args.results_db, &args.dir) {
        (Some(url), _) => match from_database(args, url) {
            Ok(text) => text,
            Err(error) => return super::history::error(error),
        },
        (None, Some(dir)) => {
            let records = match load_report_records(dir, args.skip_malformed) {
                Ok(loaded) => warn_skipped(loaded),
                Err(error) => return fail(error),
            };
            match args.format {
                ReportFormat::Html => render_html(&records),
                ReportFormat::Md => render_markdown(&records),
            }
        }
        (None, None) => return ExitStatus::Error,
    };
    match &args.output {
        Some(path) => match write_file(path, &text) {
            Ok(()) => ExitStatus::Success,
            Err(error) => fail(error),
        },
        None => {
            print_stdout(&text);
            ExitStatus::Success
        }
    }
}
