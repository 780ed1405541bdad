//! `ix compare --base SOURCE --head SOURCE`: loads two sets of points (state stores or results
//! database runs, or the runs ingested at two git refs) and prints the comparison. Matching and
//! verdicts live in `crate::history::compare`, rendering in `crate::history::render`.

use std::path::{Path, PathBuf};

use super::ExitStatus;
use super::args::{CompareArgs, CompareFormat};
use super::history::error;
use super::results::print_stdout;
use crate::history::compare::{CompareOptions, Verdict, compare as compare_points};
use crate::history::{DbUrl, HistoryError, Point, ResultsDb, points_from_store, render};

/// Where one side's points come from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Store(PathBuf),
    Db { url: DbUrl, run: String },
}

fn usage(text: &str, why: &str) -> HistoryError {
    HistoryError::Open { url: text.to_string(), cause: why.to_string() }
}

/// A state store folder (or a project folder holding `.ix/`), else a database with an
/// optional `#RUN`.
fn parse_source(text: &str) -> Result<Source, HistoryError> {
    let path = Path::new(text);
    if path.join("tasks").is_dir() {
        return Ok(Source::Store(path.to_path_buf()));
    }
    if path.join(".ix/tasks").is_dir() {
        return Ok(Source::Store(path.join(".ix")));
    }
    let (location, run) = match text.rsplit_once('#') {
        Some((location, run)) => (location, run.to_string()),
        None => (text, "latest".to_string()),
    };
    let url = DbUrl::parse(location);
    if let DbUrl::Sqlite(file) = &url
        && !file.is_file()
    {
        return Err(usage(text, "neither a state store (no `tasks/`) nor an existing results database file"));
    }
    Ok(Source::Db { url, run })
}

fn load(source: &Source) -> Result<(Vec<Point>, String), HistoryError> {
    match source {
        Source::Store(dir) => Ok((points_from_store(dir)?.points, format!("state store `{}`", dir.display()))),
        Source::Db { url, run } => {
            let mut db = ResultsDb::open(url)?;
            let found = db.find_run(run)?;
            let what = format!("run {} of `{}`", found.run_id, url.display());
            Ok((db.run_points(&found.run_id)?, what))
        }
    }
}

/// The latest run of `url` ingested at the commit `git_ref` names (in the current directory's
/// repository).
fn run_at_ref(url: &str, git_ref: &str) -> Result<Source, HistoryError> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", &format!("{git_ref}^{{commit}}")])
        .output()
        .map_err(|e| usage(git_ref, &format!("cannot run git: {e}")))?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || commit.is_empty() {
        return Err(usage(git_ref, "not a git ref of this repository"));
    }
    let db_url = DbUrl::parse(url);
    let mut db = ResultsDb::open(&db_url)?;
    let runs = db.runs()?;
    let run = runs.iter().rev().find(|r| r.run.git_commit.as_deref() == Some(commit.as_str())).ok_or_else(|| {
        HistoryError::NoRun {
            url: db_url.display(),
            run: format!("ingested at {git_ref} ({})", &commit[..12.min(commit.len())]),
        }
    })?;
    Ok(Source::Db { url: db_url, run: run.run.run_id.clone() })
}

fn side(text: Option<&str>, git_ref: Option<&str>, db: Option<&str>) -> Result<Source, HistoryError> {
    match (text, git_ref, db) {
        (Some(text), _, _) => parse_source(text),
        (None, Some(git_ref), Some(db)) => run_at_ref(db, git_ref),
        _ => Err(usage("--base/--head", "each side needs a source or a git ref with `--results-db`")),
    }
}

/// Runs `ix compare`.
pub(super) fn compare(args: &CompareArgs) -> ExitStatus {
    let sides = side(args.base.as_deref(), args.base_ref.as_deref(), args.results_db.as_deref())
        .and_then(|base| Ok((base, side(args.head.as_deref(), args.head_ref.as_deref(), args.results_db.as_deref())?)))
        .and_then(|(base, head)| Ok((load(&base)?, load(&head)?)));
    let ((base, base_what), (head, head_what)) = match sides {
        Ok(sides) => sides,
        Err(e) => return error(e),
    };
    let options = CompareOptions {
        metrics: args.metrics.clone(),
        alpha: args.alpha,
        min_effect_pct: args.min_effect,
        threshold_pct: args.threshold,
    };
    let comparison = compare_points(&base, &head, &options);
    #[allow(clippy::print_stderr)]
    {
        eprintln!("baseline: {base_what} ({} points)\ncurrent:  {head_what} ({} points)", base.len(), head.len());
    }
    let text = match args.format {
        CompareFormat::Text => render::to_text(&comparison, args.all),
        CompareFormat::Md => render::to_markdown(&comparison, &args.title),
        CompareFormat::Json => render::to_json(&comparison),
    };
    print_stdout(&text);
    if args.fail_on_regression && comparison.count(Verdict::Regressed) > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_stores_or_databases() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("p/.ix/tasks")).expect("mkdir");
        std::fs::write(dir.path().join("r.sqlite"), b"").expect("file");
        let text = |p: &str| dir.path().join(p).display().to_string();
        assert_eq!(parse_source(&text("p/.ix")).expect("store"), Source::Store(dir.path().join("p/.ix")));
        assert_eq!(parse_source(&text("p")).expect("project"), Source::Store(dir.path().join("p/.ix")));
        assert_eq!(
            parse_source(&format!("{}#base", text("r.sqlite"))).expect("db"),
            Source::Db { url: DbUrl::Sqlite(dir.path().join("r.sqlite")), run: "base".into() }
        );
        assert!(matches!(
            parse_source("postgres://u@h/db").expect("pg"),
            Source::Db { url: DbUrl::Postgres(_), run } if run == "latest"
        ));
        assert!(parse_source(&text("missing")).is_err());
    }
}
