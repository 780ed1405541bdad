//! Hovers: a field's meaning and type; on a sweep or a point, the jobs it expands to and,
//! through `ix plan`'s session, its tasks and how many of them would run and why.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::expand::Job;
use crate::expand::select::{JobSelection, sweep_jobs};
use crate::lsp::{Doc, Server, cursor, fields, text};
use crate::plan::{Action, PlanOptions};
use crate::session::{PlanRequest, PlanSession, Planned};
use crate::state::StateStore;
use crate::syntax::ast::{BodyItem, Decl, PointLine};

/// What the cursor is on, for hovers and navigation.
pub(crate) enum Target {
    /// A sweep (config key), optionally one of its points (sequence-block and point index).
    Entry {
        key: String,
        point: Option<PointAt>,
    },
    Field(String),
    None,
}

/// Which point of a sweep: by index (`.ix`, where `at A, B: POINT` lowers to one block per
/// pair) or by a byte offset inside it (YAML).
#[derive(Clone, Copy)]
pub(crate) enum PointAt {
    Index(usize),
    Offset(usize),
}

pub(crate) fn hover(server: &mut Server, params: &HoverParams) -> Option<Hover> {
    let position = &params.text_document_position_params;
    let doc = server.doc(&position.text_document.uri)?;
    let offset = text::offset(&doc.text, position.position);
    let (word, start, end) = cursor::word_at(&doc.text, offset);
    let range = Some(text::range(&doc.text, start, end));
    let markdown = match target(doc, offset) {
        Target::Entry { key, point } => {
            let (path, text) = (doc.path.clone(), doc.text.clone());
            entry_hover(server, &path, &text, &key, point)
        }
        Target::Field(name) => field_hover(&name)?,
        Target::None => field_hover(&word)?,
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range,
    })
}

fn field_hover(name: &str) -> Option<String> {
    let (ty, doc) = fields::lookup(name)?;
    Some(format!("**`{name}`** · {ty}\n\n{doc}"))
}

/// What the cursor at `offset` is on.
pub(crate) fn target(doc: &Doc, offset: usize) -> Target {
    let (word, _, _) = cursor::word_at(&doc.text, offset);
    if doc.is_dsl() {
        let (ast, _) = crate::syntax::parse(crate::source::FileId(0), &doc.text);
        let Some(ast) = ast else { return Target::None };
        let inside = |span: crate::source::Span| (span.start as usize..=span.end as usize).contains(&offset);
        for decl in &ast.decls {
            let Decl::Sweep(block) = &decl.node else { continue };
            if !inside(block.span) {
                continue;
            }
            if inside(block.name.span) {
                return Target::Entry { key: block.name.value.clone(), point: None };
            }
            for item in &block.items {
                match &item.node {
                    BodyItem::Field(field) if inside(field.name.span) => {
                        return Target::Field(field.name.value.clone());
                    }
                    BodyItem::At(at) => {
                        let mut point_idx = 0;
                        for line in &at.points {
                            if let PointLine::Point(point) = &line.node {
                                if inside(point.span) && fields::lookup(&word).is_none() {
                                    // A point in a sweep: its jobs (first sequence pair of the block).
                                    return Target::Entry {
                                        key: block.name.value.clone(),
                                        point: Some(PointAt::Index(point_idx)),
                                    };
                                }
                                point_idx += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        return Target::None;
    }
    let (line_start, prefix) = cursor::line_prefix(&doc.text, offset);
    let line_end = doc.text[line_start..].find('\n').map_or(doc.text.len(), |idx| line_start + idx);
    let line = &doc.text[line_start..line_end];
    let on_key = !prefix.contains(':');
    if on_key && !line.starts_with([' ', '\t', '-', '#']) && line.contains(':') {
        let key = line.split(':').next().unwrap_or("").trim().to_string();
        return Target::Entry { key, point: None };
    }
    if on_key && fields::lookup(&word).is_some() {
        return Target::Field(word);
    }
    let parents = cursor::yaml_parents(&doc.text, offset);
    if parents.iter().any(|parent| parent == "search-space")
        && let Some(key) = parents.first()
    {
        return Target::Entry { key: key.clone(), point: Some(PointAt::Offset(offset)) };
    }
    Target::None
}

/// The jobs of a sweep (or point) in the buffer, and its tasks by `ix plan` (of the saved files).
fn entry_hover(server: &mut Server, path: &str, text: &str, key: &str, point: Option<PointAt>) -> String {
    let mut out = String::new();
    let _ = write!(out, "**sweep `{key}`**");
    let has_errors = match fast_jobs(server, path, text, key, point) {
        Some((jobs, has_errors)) => {
            describe_jobs(&mut out, &jobs.iter().collect::<Vec<_>>(), point.is_some());
            has_errors
        }
        None => {
            let doc = Doc { path: path.to_string(), text: text.to_string() };
            let checked = server.check_with_runners(&doc);
            match sweep_jobs(&checked.sweep, &checked.runners, &JobSelection::all()) {
                Ok(jobs) => {
                    let mine: Vec<&Job> =
                        jobs.iter().filter(|job| job.origin.key == key && in_point(job, point)).collect();
                    describe_jobs(&mut out, &mine, point.is_some());
                }
                Err(diags) => {
                    let first = diags.first().map_or_else(String::new, |diag| diag.message.clone());
                    let _ = write!(out, "\n\ndoes not expand: {first}");
                }
            }
            checked.diags.iter().any(crate::diag::Diag::is_error)
        }
    };
    if has_errors {
        let _ = write!(out, "\n\n(the file has errors: no plan)");
        return out;
    }
    plan_section(server, &mut out, path, key, point, text);
    out
}

/// A master config's entry jobs from the salsa database (only the edited entry is lowered and
/// expanded again), and whether the file has errors; `None` when that path does not apply.
fn fast_jobs(
    server: &mut Server,
    path: &str,
    text: &str,
    key: &str,
    point: Option<PointAt>,
) -> Option<(Vec<Job>, bool)> {
    if crate::workspace::is_dsl_path(path) {
        return None;
    }
    let runners_path = server.runners_file()?;
    let runners = crate::workspace::check_sources(&[], &[server.check_file(&runners_path)]).runners;
    let has_errors = server.incremental.check(path, text)?.diags.iter().any(crate::diag::Diag::is_error);
    let (start, jobs) = server.incremental.entry_jobs(path, text, &runners, key)?;
    let point = match point {
        Some(PointAt::Offset(offset)) => Some(PointAt::Offset(offset.checked_sub(start as usize)?)),
        other => other,
    };
    Some((jobs.into_iter().filter(|job| in_point(job, point)).collect(), has_errors))
}

pub(crate) fn in_point(job: &Job, point: Option<PointAt>) -> bool {
    match point {
        None => true,
        Some(PointAt::Index(point_idx)) => job.origin.point_idx == point_idx,
        Some(PointAt::Offset(offset)) => {
            (job.origin.point_span.start as usize..=job.origin.point_span.end as usize).contains(&offset)
        }
    }
}

fn concs(job: &Job) -> Vec<i64> {
    match &job.shape {
        crate::expand::JobShape::Single { conc, .. } => vec![*conc],
        crate::expand::JobShape::Multi { conc, .. } => conc.clone(),
    }
}

fn describe_jobs(out: &mut String, jobs: &[&Job], point: bool) {
    let what = if point { "this point" } else { "it" };
    let _ = write!(out, "\n\n{what} expands to **{} job(s)**", jobs.len());
    let mut by_seq: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    for job in jobs {
        by_seq.entry((job.isl, job.osl)).or_default().extend(concs(job));
    }
    for ((isl, osl), mut concs) in by_seq {
        concs.sort_unstable();
        concs.dedup();
        let list: Vec<String> = concs.iter().map(i64::to_string).collect();
        let _ = write!(out, "\n- {isl}/{osl}: concurrency {}", list.join(", "));
    }
    if let Some(job) = jobs.first() {
        let _ = write!(
            out,
            "\n\n`{}` · `{}` · {} · {} · runner `{}`",
            job.image, job.model, job.precision, job.framework, job.runner
        );
    }
}

/// Tasks of the sweep by the plan of the saved file: counts, what runs and why, task ids.
fn plan_section(server: &mut Server, out: &mut String, path: &str, key: &str, point: Option<PointAt>, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        let _ = write!(out, "\n\n_tasks of the saved file (the buffer has unsaved changes)_");
    }
    let root = server.root.clone();
    with_plan(server, path, |planned, has_store| write_plan(out, planned, key, point, has_store, &root));
}

/// Plans the saved sweep file `path` through its kept session (the project's state store when
/// there is one) and hands the result to `f`, with whether a store exists. The last plan is
/// reused while no input file and no store folder changed.
pub(crate) fn with_plan<R>(server: &mut Server, path: &str, f: impl FnOnce(&Planned, bool) -> R) -> R {
    let root = server.root.clone();
    let store_dir = root.join(".ix");
    let has_store = store_dir.join("tasks").is_dir();
    let store_stamp: Vec<_> = ["tasks", "by-id"]
        .iter()
        .map(|dir| std::fs::metadata(store_dir.join(dir)).and_then(|meta| meta.modified()).ok())
        .collect();
    let runner_config = if crate::workspace::is_dsl_path(path) { None } else { server.runners_file() };
    let session = server.sessions.entry(path.to_string()).or_insert_with(|| {
        let request = PlanRequest {
            config_files: vec![path.to_string()],
            runner_config,
            selection: JobSelection::all(),
            options: PlanOptions::default(),
            evals: crate::workspace::load_evals(&root).unwrap_or_default(),
            images: Arc::default(),
        };
        PlanSession::new(request, &root).with_memo()
    });
    let fresh = !session.changed() && server.plans.get(path).is_some_and(|(stamp, _)| *stamp == store_stamp);
    if !fresh {
        // The cached plan is the session's last one: handed back, the next plan patches its graph.
        if let Some((_, last)) = server.plans.remove(path) {
            session.recycle(last);
        }
        session.refresh();
        let store = if has_store { StateStore::open(&store_dir).ok() } else { None };
        let planned = session.plan(store.as_ref());
        server.plans.insert(path.to_string(), (store_stamp, planned));
    }
    let (_, planned) = &server.plans[path];
    f(planned, has_store)
}

/// What `ix plan` reports missing for the saved sweep file `path` (benchmark scripts and
/// launchers, with the expected paths), as warnings; `None` when there is nothing to report.
pub(crate) fn plan_warnings(server: &mut Server, path: &str) -> Option<crate::workspace::Checked> {
    let (sources, diags) = with_plan(server, path, |planned, _| {
        let diags: Vec<crate::diag::Diag> = planned
            .diags
            .iter()
            .filter(|diag| diag.code.starts_with("ix::plan::missing-"))
            .map(|diag| crate::diag::Diag { level: crate::diag::Level::Warning, ..diag.clone() })
            .collect();
        (if diags.is_empty() { None } else { Some(planned.sources.clone()) }, diags)
    });
    Some(crate::workspace::Checked { sources: sources?, diags, ..Default::default() })
}

fn write_plan(out: &mut String, planned: &Planned, key: &str, point: Option<PointAt>, has_store: bool, root: &Path) {
    let Some(plan) = &planned.plan else {
        let n = planned.diags.iter().filter(|d| d.is_error()).count();
        let first = planned.diags.iter().find(|d| d.is_error()).map_or_else(String::new, |d| d.message.clone());
        let _ = write!(out, "\n\nno plan: {n} error(s), first: {first}");
        return;
    };
    let jobs = planned.expanded.jobs();
    let mut bench_ids = Vec::new();
    let mut picked = Vec::new();
    for (idx, task) in plan.graph.tasks.iter().enumerate() {
        let mine = match &task.bench {
            Some(bench) => jobs.get(bench.job_idx).is_some_and(|job| job.origin.key == key && in_point(job, point)),
            None => {
                let rest = task.id.split_once('/').map(|(_, rest)| rest).unwrap_or("");
                bench_ids.iter().any(|id: &String| id == rest) || (point.is_none() && rest == key)
            }
        };
        if mine {
            if task.bench.is_some() {
                bench_ids.push(task.id.split_once('/').map(|(_, rest)| rest.to_string()).unwrap_or_default());
            }
            picked.push(idx);
        }
    }
    let run = picked.iter().filter(|&&idx| plan.tasks[idx].action == Action::Run).count();
    let _ = write!(out, "\n\n**{} task(s)**", picked.len());
    if has_store {
        let _ = write!(out, " · run {run} · reuse {} (state `{}`)", picked.len() - run, root.join(".ix").display());
        let mut why: BTreeMap<String, usize> = BTreeMap::new();
        for &idx in &picked {
            if plan.tasks[idx].action == Action::Run {
                let reason = plan.tasks[idx].root.clone().unwrap_or_else(|| "run".to_string());
                *why.entry(reason).or_default() += 1;
            }
        }
        for (reason, n) in why {
            let _ = write!(out, "\n- {n} {reason}");
        }
    } else {
        let _ = write!(out, " · no state store: all would run");
    }
    let _ = write!(out, "\n\n```");
    for &idx in picked.iter().take(8) {
        let _ = write!(out, "\n{}", plan.graph.tasks[idx].id);
    }
    if picked.len() > 8 {
        let _ = write!(out, "\n… and {} more", picked.len() - 8);
    }
    let _ = write!(out, "\n```");
}
