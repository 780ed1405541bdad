//! `ix changelog check` and `ix changelog jobs`: the perf-changelog rules of §6 with miette
//! diagnostics at the offending lines, and the reference processor's output shape.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::changelog::{self, DiffError};
use crate::cli::ExitStatus;
use crate::cli::args::{ChangelogArgs, ChangelogCommand};
use crate::diag::Diag;
use crate::source::{SourceMap, Span};
use crate::workspace;

struct Request<'a> {
    base: &'a str,
    head: &'a str,
    file: &'a str,
    config_files: &'a [String],
    base_tip: bool,
    require_newline: bool,
}

/// Force rules for the config keys that perf-changelog entries added between `base` and `head`
/// name: `bench/<key>/*`, "forced by perf-changelog entry at line N" (for `ix run` and `ix plan`).
pub(crate) fn forced_rules(
    base: &str,
    head: &str,
    changelog_file: &str,
    config_files: &[String],
) -> Result<Vec<crate::plan::ForceRule>, ExitStatus> {
    Ok(forced_keys(base, head, changelog_file, config_files)?.iter().map(force_rule).collect())
}

/// The config keys the entries added between `base` and `head` name, each with its entry line.
pub(crate) fn forced_keys(
    base: &str,
    head: &str,
    changelog_file: &str,
    config_files: &[String],
) -> Result<Vec<changelog::Forced>, ExitStatus> {
    let request = Request { base, head, file: changelog_file, config_files, base_tip: false, require_newline: false };
    let (_, entries, resolved) = load(&request)?;
    let head_text = changelog::git_show(Path::new("."), head, changelog_file).unwrap_or_default();
    Ok(changelog::forced(&entries, &resolved, &head_text))
}

/// The force rule of one added entry's config key: its bench tasks.
pub(crate) fn force_rule(forced: &changelog::Forced) -> crate::plan::ForceRule {
    crate::plan::ForceRule {
        selector: format!("bench/{}/*", forced.config_key),
        by: format!("perf-changelog entry at line {}", forced.line),
    }
}

pub(crate) fn changelog(args: &ChangelogArgs) -> ExitStatus {
    match &args.command {
        ChangelogCommand::Check(a) => {
            let request = Request {
                base: &a.base,
                head: &a.head,
                file: &a.changelog_file,
                config_files: &a.config_files,
                base_tip: false,
                require_newline: true,
            };
            match load(&request) {
                Ok((_, entries, resolved)) => {
                    if let Some(state) = &a.warn_uncovered {
                        let head_text =
                            changelog::git_show(Path::new("."), &a.head, &a.changelog_file).unwrap_or_default();
                        let covered: Vec<String> = changelog::forced(&entries, &resolved, &head_text)
                            .into_iter()
                            .map(|f| f.config_key)
                            .collect();
                        warn_uncovered(a, state, &covered);
                    }
                    let _ = writeln!(
                        std::io::stdout(),
                        "ok: {} changelog entr{} added",
                        entries.len(),
                        if entries.len() == 1 { "y" } else { "ies" }
                    );
                    ExitStatus::Success
                }
                Err(status) => status,
            }
        }
        ChangelogCommand::Keys(a) => {
            let request = Request {
                base: &a.base,
                head: &a.head,
                file: &a.changelog_file,
                config_files: &a.config_files,
                base_tip: false,
                require_newline: false,
            };
            let head_text = changelog::git_show(Path::new("."), &a.head, &a.changelog_file).unwrap_or_default();
            match load(&request) {
                Ok((_, entries, resolved)) => {
                    let mut out = String::new();
                    for forced in changelog::forced(&entries, &resolved, &head_text) {
                        out.push_str(&format!("{}\t{}\n", forced.config_key, forced.line));
                    }
                    let _ = std::io::stdout().write_all(out.as_bytes());
                    ExitStatus::Success
                }
                Err(status) => status,
            }
        }
        ChangelogCommand::Jobs(a) => {
            let request = Request {
                base: &a.base_ref,
                head: &a.head_ref,
                file: &a.changelog_file,
                config_files: &a.config_files,
                base_tip: a.base_tip,
                require_newline: false,
            };
            let (sweep, entries, resolved) = match load(&request) {
                Ok(loaded) => loaded,
                Err(status) => return status,
            };
            let output = if sweep.format() == crate::ir::Format::Head {
                let path = a.runner_config.clone().unwrap_or_else(workspace::default_runner_config);
                let mut runners = workspace::Loaded::default();
                workspace::add_runners(&mut runners, &path);
                if runners.has_errors() {
                    return super::matrix::fail(&runners.sources, &runners.diags);
                }
                let flags = changelog::head::HeadFlags {
                    trim_conc: a.trim_conc,
                    all_evals: a.all_evals,
                    evals_only: a.evals_only,
                };
                let refs = (a.base_ref.as_str(), a.head_ref.as_str());
                let table = runners.runners.unwrap_or_default();
                let base = if entries.iter().any(|entry| entry.append_only) {
                    match base_revision(&a.base_ref, &a.config_files, &path) {
                        Ok(base) => Some(base),
                        Err(status) => return status,
                    }
                } else {
                    None
                };
                let base = base.as_ref().map(|(sweep, runners)| (sweep, runners));
                changelog::head::jobs_output(&sweep, &table, &entries, &resolved, flags, refs, base)
            } else {
                changelog::jobs_output(&sweep, &entries, &resolved, &a.base_ref, &a.head_ref)
            };
            match output {
                Ok(value) => {
                    let line = serde_json::to_string(&value).unwrap_or_default();
                    let _ = writeln!(std::io::stdout(), "{line}");
                    ExitStatus::Success
                }
                Err(mut diags) => {
                    // The config texts are not kept here; the messages name the config keys.
                    for diag in &mut diags {
                        diag.primary = None;
                        diag.secondary.clear();
                    }
                    super::matrix::fail(&SourceMap::new(), &diags)
                }
            }
        }
    }
}

/// The master configs and runners file as they are at `base` (append-only entries compare the
/// two revisions), read through git.
fn base_revision(
    base: &str,
    config_files: &[String],
    runner_config: &str,
) -> Result<(crate::ir::Sweep, crate::ir::RunnerTable), ExitStatus> {
    let defaults = workspace::default_master_configs();
    let config_files = if config_files.is_empty() { &defaults } else { config_files };
    let repo = Path::new(".");
    let mut sources = SourceMap::new();
    let mut files = Vec::new();
    for path in config_files {
        let text = changelog::git_show(repo, base, path).map_err(|err| plain_error(&err.to_string()))?;
        files.push(sources.add(format!("{base}:{path}"), Arc::from(text)));
    }
    let (sweep, mut diags) = crate::ir::inferencex::lower_master_configs(&sources, &files);
    let runners_text = changelog::git_show(repo, base, runner_config).map_err(|err| plain_error(&err.to_string()))?;
    let runners_file = sources.add(format!("{base}:{runner_config}"), Arc::from(runners_text));
    let runners = crate::ir::runners::lower_runners(&sources, runners_file, &mut diags);
    if diags.iter().any(Diag::is_error) {
        return Err(super::matrix::fail(&sources, &diags));
    }
    Ok((sweep, runners))
}

type Loaded = (crate::ir::Sweep, Vec<changelog::Entry>, Vec<Vec<String>>);

fn load(request: &Request<'_>) -> Result<Loaded, ExitStatus> {
    let repo = Path::new(".");
    let mut sources = SourceMap::new();
    let head_text = match changelog::git_show(repo, request.head, request.file) {
        Ok(text) => text,
        Err(err) => return Err(plain_error(&err.to_string())),
    };
    let file = sources.add(request.file.to_string(), Arc::from(head_text.as_str()));
    let fail = |sources: &SourceMap, diags: Vec<Diag>| super::matrix::fail(sources, &diags);
    if request.require_newline && !head_text.is_empty() && !head_text.ends_with('\n') {
        let end = head_text.len();
        return Err(fail(
            &sources,
            vec![
                Diag::error(
                    "ix::changelog::missing-final-newline",
                    format!("`{}` does not end with a newline", request.file),
                )
                .at(Span::new(file, end, end), "add a newline here")
                .help("the next entry appended would otherwise change this line"),
            ],
        ));
    }
    let diff = changelog::git_diff(repo, request.base, request.head, request.file, request.base_tip);
    let added = diff.and_then(|diff| changelog::added_lines(&diff, request.file));
    let added = match added {
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
            return Err(fail(&sources, vec![diag]));
        }
        Err(err) => return Err(plain_error(&err.to_string())),
    };
    let entries = changelog::parse_entries(&added, file, &head_text).map_err(|diags| fail(&sources, diags))?;
    let defaults;
    let config_files = if request.config_files.is_empty() {
        defaults = workspace::default_master_configs();
        &defaults
    } else {
        request.config_files
    };
    let loaded = workspace::load(config_files, None);
    if loaded.has_errors() {
        return Err(super::matrix::fail(&loaded.sources, &loaded.diags));
    }
    let resolved = changelog::resolve_keys(&loaded.sweep, &entries).map_err(|diags| fail(&sources, diags))?;
    Ok((loaded.sweep, entries, resolved))
}

fn plain_error(message: &str) -> ExitStatus {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitStatus::Failure
}

/// Warns (stderr) about bench tasks that rerun for changed inputs or scripts while no added
/// changelog entry covers their config key: published numbers would change without a reason.
fn warn_uncovered(args: &crate::cli::args::ChangelogCheckArgs, state: &str, covered: &[String]) {
    use crate::expand::select::JobSelection;
    use crate::plan::PlanOptions;
    use crate::session::{PlanRequest, PlanSession};

    let store = crate::state::StateStore::open_existing(Path::new(state)).ok().flatten();
    let Some(store) = store else { return };
    let request = PlanRequest {
        config_files: if args.config_files.is_empty() {
            workspace::default_master_configs()
        } else {
            args.config_files.clone()
        },
        runner_config: Some(args.runner_config.clone().unwrap_or_else(workspace::default_runner_config)),
        selection: JobSelection::all(),
        options: PlanOptions::default(),
        evals: crate::workspace::load_evals(Path::new(".")).unwrap_or_default(),
        images: Default::default(),
    };
    let Some(plan) = PlanSession::new(request, Path::new(".")).plan(Some(&store)).plan else { return };
    let _ = std::io::stderr().write_all(uncovered_warnings(&plan, covered).as_bytes());
}

/// One warning line per bench task that reruns because an input or script changed while no
/// added changelog entry covers its config key (`covered`).
pub(crate) fn uncovered_warnings(plan: &crate::plan::Plan, covered: &[String]) -> String {
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
