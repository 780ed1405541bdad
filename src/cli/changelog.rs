//! `ix changelog check` and `ix changelog jobs`: the perf-changelog rules of §6 with miette
//! diagnostics at the offending lines, and the reference processor's output shape.

use std::io::Write;
use std::path::Path;

use crate::changelog::{self, load::Request, load::load};
use crate::cli::ExitStatus;
use crate::cli::args::{ChangelogArgs, ChangelogCommand};
use crate::source::SourceMap;
use crate::workspace;

/// Renders a load failure (diagnostics on stderr).
fn fail(failure: &changelog::load::Failure) -> ExitStatus {
    super::matrix::fail(&failure.sources, &failure.diags)
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
            match load(Path::new("."), &request) {
                Ok(loaded) => {
                    let entries = &loaded.entries;
                    if let Some(state) = &a.warn_uncovered {
                        let covered: Vec<String> = loaded.forced().into_iter().map(|f| f.config_key).collect();
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
                Err(failure) => fail(&failure),
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
            match load(Path::new("."), &request) {
                Ok(loaded) => {
                    let mut out = String::new();
                    for forced in loaded.forced() {
                        out.push_str(&format!("{}\t{}\n", forced.config_key, forced.line));
                    }
                    let _ = std::io::stdout().write_all(out.as_bytes());
                    ExitStatus::Success
                }
                Err(failure) => fail(&failure),
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
            let changelog::load::Loaded { sweep, entries, resolved, .. } = match load(Path::new("."), &request) {
                Ok(loaded) => loaded,
                Err(failure) => return fail(&failure),
            };
            let output = if sweep.format() == crate::ir::Format::Head {
                let configs = workspace::master_configs_or_default(&a.config_files);
                let path = workspace::runner_config(a.runner_config.as_deref(), &configs)
                    .unwrap_or_else(workspace::default_runner_config);
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
                    match changelog::load::base_revision(Path::new("."), &a.base_ref, &a.config_files, &path) {
                        Ok(base) => Some(base),
                        Err(failure) => return fail(&failure),
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

/// Warns (stderr) about bench tasks that rerun for changed inputs or scripts while no added
/// changelog entry covers their config key: published numbers would change without a reason.
fn warn_uncovered(args: &crate::cli::args::ChangelogCheckArgs, state: &str, covered: &[String]) {
    use crate::expand::select::JobSelection;
    use crate::plan::PlanOptions;
    use crate::session::{PlanRequest, PlanSession};

    let store = crate::state::StateStore::open_existing(Path::new(state)).ok().flatten();
    let Some(store) = store else { return };
    let config_files = workspace::master_configs_or_default(&args.config_files);
    let request = PlanRequest {
        runner_config: workspace::runner_config(args.runner_config.as_deref(), &config_files),
        config_files,
        selection: JobSelection::all(),
        options: PlanOptions::default(),
        evals: crate::workspace::load_evals(Path::new(".")).unwrap_or_default(),
        images: Default::default(),
    };
    let Some(plan) = PlanSession::new(request, Path::new(".")).plan(Some(&store)).plan else { return };
    let _ = std::io::stderr().write_all(changelog::load::uncovered_warnings(&plan, covered).as_bytes());
}
