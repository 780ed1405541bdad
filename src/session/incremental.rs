//! The incremental state of a planning session, in one owner: the salsa database (project
//! files and per-entry lowering and expansion), the last load (its sweep and jobs, and what
//! tells the next load which entries changed), the build memo (task keys per job, the graph to
//! patch) and the record cache. [`super::PlanSession`] drives it: load, build, plan.

use std::sync::Arc;
use std::time::SystemTime;

use super::{Expanded, PlanRequest};
use crate::dag::{self, BuildInput, Changes, ImageDigests, TaskGraph};
use crate::db::ProjectDb;
use crate::diag::Diag;
use crate::expand::{self, select};
use crate::ir::{Sweep, runners};
use crate::plan::{Plan, PlanOptions, plan};
use crate::source::SourceMap;
use crate::state::{RecordCache, StateStore};
use crate::workspace::{self, FileRole, Loaded};

/// A file's modification time and size (`None`: it cannot be read).
pub(super) type Stamp = Option<(SystemTime, u64)>;

pub(super) fn stamp(path: &str) -> Stamp {
    std::fs::metadata(path).ok().and_then(|meta| Some((meta.modified().ok()?, meta.len())))
}

/// What the last per-entry load saw: each entry's key and text in order, the runners, the jobs
/// per (mode, entry) and the entries' offsets.
#[derive(Debug, Default)]
struct LastLoad {
    blocks: Vec<(String, String)>,
    runners: Option<crate::ir::RunnerTable>,
    segments: Vec<usize>,
    starts: Vec<u32>,
}

/// Everything a session reuses between plans.
pub(super) struct Incremental {
    pub(super) db: ProjectDb,
    /// The loaded sweep and jobs, with the stamps of the sweep and runners files read.
    expanded: Option<(Vec<Stamp>, Arc<Expanded>)>,
    /// The last per-entry load (`None` after a whole-file load).
    last: Option<LastLoad>,
    /// Task keys per job, reused for jobs whose fields, spans and files are unchanged.
    memo: dag::BuildMemo,
    /// Store records read by earlier plans (kept only with the memo enabled).
    records: RecordCache,
    /// Files the last whole load read besides the request's (the runners files `.ix` sweeps
    /// reference): watched like the sweeps.
    pub(super) also_read: Vec<String>,
}

impl Incremental {
    pub(super) fn new(project_dir: &std::path::Path) -> Incremental {
        Incremental {
            db: ProjectDb::new(project_dir),
            expanded: None,
            last: None,
            memo: dag::BuildMemo::default(),
            records: RecordCache::default(),
            also_read: Vec::new(),
        }
    }

    /// Remember task keys and records between plans.
    pub(super) fn enable_memo(&mut self) {
        self.memo = dag::BuildMemo::enabled();
    }

    /// Records which salsa queries execute (for tests of incrementality).
    pub(super) fn log_queries(&mut self, project_dir: &std::path::Path) {
        self.db = ProjectDb::with_query_log(project_dir);
    }

    /// The loaded sweep and jobs, when the sweep and runners files still have `stamps`.
    pub(super) fn current(&self, stamps: &[Stamp]) -> Option<Arc<Expanded>> {
        self.expanded.as_ref().filter(|(old, _)| old == stamps).map(|(_, expanded)| expanded.clone())
    }

    /// Whether a sweep or runners file changed since the last load (`stamps`: now), or a project
    /// file since the database read it.
    pub(super) fn changed(&self, stamps: &[Stamp]) -> bool {
        self.current(stamps).is_none() || self.db.changed()
    }

    /// What changed since the last build, as far as the project files tell (the caller adds
    /// the entries, or drops it when it cannot know).
    pub(super) fn take_changes(&mut self) -> Changes {
        Changes { entries: Vec::new(), files: self.db.take_changed_paths() }
    }

    /// Loads `request`'s sweep through the per-entry queries and keeps it under `stamps`;
    /// returns the entries whose text changed since the last such load, when comparable.
    /// `None` when the fast path does not apply: the caller loads the whole files
    /// ([`Incremental::keep_whole`]).
    pub(super) fn load(&mut self, request: &PlanRequest, stamps: Vec<Stamp>) -> Option<Option<Vec<usize>>> {
        let (expanded, changed) = self.load_entries(request)?;
        let mut stamps = stamps;
        // A per-entry load reads only the request's files.
        stamps.truncate(stamps.len() - std::mem::take(&mut self.also_read).len());
        self.expanded = Some((stamps, expanded));
        Some(changed)
    }

    /// Keeps a whole-file load of `request` under `stamps` (the next per-entry load compares
    /// nothing), and remembers the other files it read (their stamps join `stamps`).
    pub(super) fn keep_whole(&mut self, request: &PlanRequest, mut stamps: Vec<Stamp>, expanded: Arc<Expanded>) {
        let own = |path: &str| {
            request.config_files.iter().any(|c| c == path) || request.runner_config.as_deref() == Some(path)
        };
        let also_read: Vec<String> =
            expanded.loaded.sources.files().map(|(_, file)| file.path.clone()).filter(|path| !own(path)).collect();
        if also_read != self.also_read {
            // The stamps were taken with the last load's list: take them again with this one.
            stamps.truncate(stamps.len() - self.also_read.len());
            stamps.extend(also_read.iter().map(|path| stamp(path)));
            self.also_read = also_read;
        }
        self.last = None;
        self.expanded = Some((stamps, expanded));
    }

    /// Loads and expands through the salsa queries (`db`): only entries whose text changed are
    /// lowered and expanded again. `None` when the fast path does not apply (a file is
    /// missing, cannot be split into entries, or anything has diagnostics): the caller then
    /// loads everything with `workspace::load`, which reports the diagnostics with positions.
    ///
    /// Also returns the entries (indices) whose text changed since the last incremental load,
    /// when the two loads have the same entries in the same order and the same runners.
    pub(super) fn load_entries(&mut self, request: &PlanRequest) -> Option<(Arc<Expanded>, Option<Vec<usize>>)> {
        // Without a runners file the runner types come from the sweeps: load them whole.
        let runner_config = request.runner_config.clone()?;
        let mut diags = Vec::new();
        let mut sources = SourceMap::default();
        for (idx, path) in request.config_files.iter().enumerate() {
            let file = workspace::read_source(&mut sources, path, FileRole::Config, &mut diags)?;
            self.db.set_config(idx, &sources.get(file).text);
        }
        let runners_file = workspace::read_source(&mut sources, &runner_config, FileRole::Runners, &mut diags)?;
        let runners = runners::lower_runners(&sources, runners_file, &mut diags);
        if diags.iter().any(Diag::is_error) {
            return None;
        }
        self.db.set_context(&runners, &request.selection);
        let last = self.last.take().unwrap_or_default();
        let same_runners = last.runners.as_ref() == Some(&runners);
        let previous_blocks = last.blocks;
        let mut blocks = Vec::with_capacity(previous_blocks.len());
        let mut changed_entries = Vec::new();
        let mut views = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for idx in 0..request.config_files.len() {
            for view in self.db.config_entries(idx)? {
                if !keys.insert(view.key) {
                    return None;
                }
                match previous_blocks.get(blocks.len()) {
                    Some((key, block)) if key == view.key => {
                        if block != view.block {
                            changed_entries.push(blocks.len());
                        }
                    }
                    _ => changed_entries.push(usize::MAX),
                }
                blocks.push((view.key.to_string(), view.block.to_string()));
                views.push(view);
            }
        }
        let comparable =
            same_runners && blocks.len() == previous_blocks.len() && !changed_entries.contains(&usize::MAX);
        let modes = select::modes(&request.selection).len();
        // Jobs per (mode, entry), mode-major: the layout of the job list.
        let segments: Vec<usize> =
            (0..modes).flat_map(|mode| views.iter().map(move |view| view.jobs.get(mode).map_or(0, Vec::len))).collect();
        let starts: Vec<u32> = views.iter().map(|view| view.start).collect();
        // The last load's sweep and jobs, updated in place, when this load has the same entries
        // with the same number of jobs each (and no eval marking, which looks across entries):
        // entries that only moved get their spans moved, and only edited entries are copied out
        // of the database again.
        let previous = self.expanded.take().and_then(|(_, expanded)| Arc::try_unwrap(expanded).ok());
        let previous = previous.filter(|previous| {
            comparable
                && request.selection.evals.is_none()
                && previous.jobs.is_ok()
                && previous.loaded.sweep.entries.len() == views.len()
                && last.segments == segments
                && last.starts.len() == views.len()
        });
        let (sweep, all) = match previous {
            Some(Expanded { loaded, jobs: Ok(mut all) }) => {
                let mut sweep = loaded.sweep;
                let mut changed = vec![false; views.len()];
                for idx in &changed_entries {
                    changed[*idx] = true;
                }
                for (idx, view) in views.iter().enumerate() {
                    let delta = view.start.wrapping_sub(last.starts[idx]);
                    if changed[idx] {
                        let mut entry = view.entry.clone();
                        entry.shift_spans(view.start);
                        sweep.entries[idx] = entry;
                    } else if delta != 0 {
                        sweep.entries[idx].shift_spans(delta);
                    }
                }
                let mut cursor = 0;
                for mode in 0..modes {
                    for (idx, view) in views.iter().enumerate() {
                        let count = segments[mode * views.len() + idx];
                        let segment = &mut all[cursor..cursor + count];
                        cursor += count;
                        let delta = view.start.wrapping_sub(last.starts[idx]);
                        if changed[idx] {
                            for (slot, job) in segment.iter_mut().zip(view.jobs.get(mode).into_iter().flatten()) {
                                let mut job = job.clone();
                                select::place_job(&mut job, idx, view.start);
                                *slot = job;
                            }
                        } else if delta != 0 {
                            for job in segment {
                                select::place_job(job, idx, delta);
                            }
                        }
                    }
                }
                (sweep, all)
            }
            _ => {
                let mut sweep = Sweep::default();
                for view in &views {
                    let mut entry = view.entry.clone();
                    entry.shift_spans(view.start);
                    sweep.entries.push(entry);
                }
                if !select::check_config_keys(&sweep, &request.selection).is_empty() {
                    // The whole load reports it.
                    return None;
                }
                let mut all = Vec::new();
                for mode in 0..modes {
                    for (entry_idx, view) in views.iter().enumerate() {
                        for job in view.jobs.get(mode).into_iter().flatten() {
                            let mut job = job.clone();
                            select::place_job(&mut job, entry_idx, view.start);
                            all.push(job);
                        }
                    }
                }
                if all.len() > request.selection.max_jobs {
                    // Each entry is under the limit but not all of them: the whole load reports it.
                    return None;
                }
                if let Some(mode) = request.selection.evals {
                    expand::mark_evals_for(sweep.format(), &mut all, mode);
                }
                (sweep, all)
            }
        };
        self.last = Some(LastLoad { blocks, runners: Some(runners.clone()), segments, starts });
        let loaded = Loaded { sources, sweep, runners: Some(runners), diags };
        Some((Arc::new(Expanded { loaded, jobs: Ok(all) }), comparable.then_some(changed_entries)))
    }

    /// Builds the task graph of `expanded`'s jobs with the memo (patching the last graph when
    /// `changes` says what changed).
    pub(super) fn build(
        &mut self,
        expanded: &Expanded,
        jobs: &[crate::expand::Job],
        images: &dyn ImageDigests,
        evals: &crate::contract::EvalSettings,
        changes: Option<&Changes>,
        repeat: u32,
    ) -> (TaskGraph, Vec<Diag>) {
        let loaded = &expanded.loaded;
        let runners = loaded.runners.clone().unwrap_or_default();
        let input = BuildInput {
            sources: &loaded.sources,
            sweep: &loaded.sweep,
            runners: &runners,
            jobs,
            files: &self.db,
            images,
            evals,
            changes,
            repeat,
        };
        dag::build_with_memo(&input, &mut self.memo)
    }

    /// Plans `graph` against `store`, reusing the records read by earlier plans when the memo
    /// is enabled.
    pub(super) fn plan(&mut self, graph: TaskGraph, store: Option<&StateStore>, options: &PlanOptions) -> Plan {
        if !self.memo.is_enabled() {
            return plan(graph, store, options, &mut RecordCache::default());
        }
        plan(graph, store, options, &mut self.records)
    }

    /// Hands a shown plan's graph back, so the next build can patch it.
    pub(super) fn recycle(&mut self, graph: TaskGraph) {
        self.memo.recycle(graph);
    }

    pub(super) fn memo(&self) -> &dag::BuildMemo {
        &self.memo
    }
}
