//! Loading the perf-changelog for a verb: the head file and its added lines through git, the
//! entries parsed and their keys resolved against the master configs (read with `workspace`).
//! Used by `ix changelog`, and by `ix plan` and `ix run` with `--changelog-base`. Every failure
//! is a [`Failure`]: diagnostics with the sources they point into, rendered by the caller.

use std::path::Path;
use std::sync::Arc;

use super::{DiffError, Entry, Forced, added_lines, forced, git_diff, git_show, parse_entries, resolve_keys};
use crate::diag::Diag;
use crate::ir::{RunnerTable, Sweep};
use crate::source::{SourceMap, Span};
use crate::workspace;

/// What to load: the changelog `file` added between `base` and `head`, resolved against
/// `config_files` (empty: the project's master configs).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub base: &'a str,
    pub head: &'a str,
    pub file: &'a str,
    pub config_files: &'a [String],
    /// Diff from `base` itself rather than from the merge base (`--base-tip`).
    pub base_tip: bool,
    /// The head file must end with a newline (`ix changelog check`).
    pub require_newline: bool,
}

/// Why a load failed: diagnostics and the sources their spans point into.
#[derive(Debug)]
pub struct Failure {
    pub sources: SourceMap,
    pub diags: Vec<Diag>,
}

impl Failure {
    /// A failure with no position (git could not run, a revision does not exist).
    fn plain(error: &DiffError) -> Failure {
        Failure { sources: SourceMap::new(), diags: vec![Diag::error("ix::changelog::git", error.to_string())] }
    }
}

/// A loaded changelog: the master configs' sweep, the added entries with their resolved config
/// keys (one list per entry), and the head file's text.
#[derive(Debug)]
pub struct Loaded {
    pub sweep: Sweep,
    pub entries: Vec<Entry>,
    pub resolved: Vec<Vec<String>>,
    pub head_text: String,
}

impl Loaded {
    /// The config keys the added entries force, each with its entry's line.
    pub fn forced(&self) -> Vec<Forced> {
        forced(&self.entries, &self.resolved, &self.head_text)
    }
}

/// Loads the changelog of `request` from the git repository at `repo`.
pub fn load(repo: &Path, request: &Request<'_>) -> Result<Loaded, Failure> {
    let mut sources = SourceMap::new();
    let head_text = git_show(repo, request.head, request.file).map_err(|err| Failure::plain(&err))?;
    let file = sources.add(request.file.to_string(), Arc::from(head_text.as_str()));
    if request.require_newline && !head_text.is_empty() && !head_text.ends_with('\n') {
        let end = head_text.len();
        let diag = Diag::error(
            "ix::changelog::missing-final-newline",
            format!("`{}` does not end with a newline", request.file),
        )
        .at(Span::new(file, end, end), "add a newline here")
        .help("the next entry appended would otherwise change this line");
        return Err(Failure { sources, diags: vec![diag] });
    }
    let diff = git_diff(repo, request.base, request.head, request.file, request.base_tip);
    let added = match diff.and_then(|diff| added_lines(&diff, request.file)) {
        Ok(added) => added,
        Err(DiffError::Deletion { file: path, content, head_line }) => {
            let start = head_text.split_inclusive('\n').take(head_line.saturating_sub(1)).map(str::len).sum::<usize>();
            let start = start.min(head_text.len());
            let diag = Diag::error(
                "ix::changelog::deletion",
                format!(
                    "deletions are not allowed in `{path}`; only additions are permitted. Found deleted line: {content}"
                ),
            )
            .at(Span::new(file, start, start), "a line was deleted or changed here")
            .help("restore the line and add a new entry at the end instead");
            return Err(Failure { sources, diags: vec![diag] });
        }
        Err(err) => return Err(Failure::plain(&err)),
    };
    let entries = match parse_entries(&added, file, &head_text) {
        Ok(entries) => entries,
        Err(diags) => return Err(Failure { sources, diags }),
    };
    let loaded = workspace::load(&workspace::master_configs_or_default(request.config_files), None);
    if loaded.has_errors() {
        return Err(Failure { sources: loaded.sources, diags: loaded.diags });
    }
    match resolve_keys(&loaded.sweep, &entries) {
        Ok(resolved) => Ok(Loaded { sweep: loaded.sweep, entries, resolved, head_text }),
        Err(diags) => Err(Failure { sources, diags }),
    }
}

/// The config keys the entries added between `base` and `head` force (`--changelog-base` of
/// `ix plan` and `ix run`), each with its entry's line.
pub fn forced_keys(
    repo: &Path,
    base: &str,
    head: &str,
    changelog_file: &str,
    config_files: &[String],
) -> Result<Vec<Forced>, Failure> {
    let request = Request { base, head, file: changelog_file, config_files, base_tip: false, require_newline: false };
    Ok(load(repo, &request)?.forced())
}

impl Forced {
    /// The force rule of this entry's config key: its bench tasks, "forced by perf-changelog
    /// entry at line N".
    pub fn rule(&self) -> crate::plan::ForceRule {
        crate::plan::ForceRule {
            selector: format!("bench/{}/*", self.config_key),
            by: format!("perf-changelog entry at line {}", self.line),
        }
    }
}

/// The master configs and runners file as they are at `base` (append-only entries compare the
/// two revisions), read through git.
pub fn base_revision(
    repo: &Path,
    base: &str,
    config_files: &[String],
    runner_config: &str,
) -> Result<(Sweep, RunnerTable), Failure> {
    let mut sources = SourceMap::new();
    let mut files = Vec::new();
    for path in workspace::master_configs_or_default(config_files) {
        let text = git_show(repo, base, &path).map_err(|err| Failure::plain(&err))?;
        files.push(sources.add(format!("{base}:{path}"), Arc::from(text)));
    }
    let (sweep, mut diags) = crate::ir::inferencex::lower_master_configs(&sources, &files);
    let runners_text = git_show(repo, base, runner_config).map_err(|err| Failure::plain(&err))?;
    let runners_file = sources.add(format!("{base}:{runner_config}"), Arc::from(runners_text));
    let runners = crate::ir::runners::lower_runners(&sources, runners_file, &mut diags);
    if diags.iter().any(Diag::is_error) {
        return Err(Failure { sources, diags });
    }
    Ok((sweep, runners))
}

/// One warning line per bench task of `plan` that reruns because an input or script changed
/// while no added changelog entry covers its config key (`covered`): published numbers would
/// change without a reason (`ix plan --changelog-base`, `ix changelog check --warn-uncovered`).
pub fn uncovered_warnings(plan: &crate::plan::Plan, covered: &[String]) -> String {
    use crate::plan::{Action, Reason};

    let mut text = String::new();
    for (task, planned) in plan.graph.tasks.iter().zip(&plan.tasks) {
        if task.kind != crate::dag::TaskKind::Bench || planned.action != Action::Run {
            continue;
        }
        let key = task.id.split('/').nth(1).unwrap_or_default();
        let changed =
            planned.reasons.iter().find(|r| matches!(r, Reason::InputChanged { .. } | Reason::ScriptChanged { .. }));
        if let Some(reason) = changed
            && !covered.iter().any(|k| k == key)
        {
            text.push_str(&format!(
                "warning: `{}` reruns ({}) but no new perf-changelog entry covers `{key}`\n",
                task.id,
                reason.describe()
            ));
        }
    }
    text
}
