//! The whole planning chain for one request: load files, select jobs, build the DAG, plan.
//!
//! [`PlanSession`] keeps what can be reused between plans (`ix plan --watch`, later `ix run`):
//! project-file digests live in the salsa database (`db`), and the loaded sweep plus its job list
//! are kept until a sweep or runners file changes (by mtime and size), so editing a script
//! re-plans without re-parsing the sweeps; a `dag::BuildMemo` keeps each job's task keys, so
//! only jobs whose entry or files changed are re-keyed. Timings of each stage are returned for
//! `--timings`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::dag::{self, BuildInput};
use crate::db::ProjectDb;
use crate::diag::Diag;
use crate::expand::Job;
use crate::plan::jobs::{JobSelection, sweep_jobs};
use crate::plan::{Plan, PlanOptions, plan};
use crate::source::SourceMap;
use crate::state::StateStore;
use crate::workspace::{self, Loaded};

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub config_files: Vec<String>,
    pub runner_config: String,
    pub selection: JobSelection,
    pub options: PlanOptions,
}

/// How long each stage took.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub load: Duration,
    pub expand: Duration,
    pub build: Duration,
    pub plan: Duration,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.load + self.expand + self.build + self.plan
    }
}

/// The result: the sources (for rendering diagnostics), the plan when there were no errors,
/// every diagnostic, and timings.
pub struct Planned {
    pub sources: SourceMap,
    pub plan: Option<Plan>,
    pub diags: Vec<Diag>,
    pub n_jobs: usize,
    pub timings: Timings,
    /// The sweep and jobs the plan was built from (the executor reads job fields here).
    pub expanded: Arc<Expanded>,
}

/// Loaded sweep and its jobs (or the expansion errors).
#[derive(Debug)]
pub struct Expanded {
    pub loaded: Loaded,
    pub jobs: Result<Vec<Job>, Vec<Diag>>,
}

impl Expanded {
    /// The jobs (empty when expansion failed); a bench task's `BenchInfo::job_idx` indexes it.
    pub fn jobs(&self) -> &[Job] {
        self.jobs.as_deref().unwrap_or(&[])
    }
}

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &str) -> Stamp {
    std::fs::metadata(path).ok().and_then(|meta| Some((meta.modified().ok()?, meta.len())))
}

/// A planning session over one request: reuses unchanged work between plans.
pub struct PlanSession {
    request: PlanRequest,
    db: ProjectDb,
    expanded: Option<(Vec<Stamp>, Arc<Expanded>)>,
    /// Task keys per job, reused for jobs whose fields, spans and files are unchanged.
    memo: dag::BuildMemo,
}

impl PlanSession {
    pub fn new(request: PlanRequest, project_dir: &std::path::Path) -> PlanSession {
        PlanSession { request, db: ProjectDb::new(project_dir), expanded: None, memo: dag::BuildMemo::default() }
    }

    /// Remember task keys between plans (worth it only when planning more than once).
    pub fn with_memo(mut self) -> PlanSession {
        self.memo = dag::BuildMemo::enabled();
        self
    }

    fn config_stamps(&self) -> Vec<Stamp> {
        let mut stamps: Vec<Stamp> = self.request.config_files.iter().map(|path| stamp(path)).collect();
        stamps.push(stamp(&self.request.runner_config));
        stamps
    }

    /// Every file the plan depends on (what `--watch` polls).
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.request.config_files.iter().map(PathBuf::from).collect();
        paths.push(PathBuf::from(&self.request.runner_config));
        paths.extend(self.db.known_paths());
        paths.sort();
        paths
    }

    /// Whether any input changed since it was read: a sweep or runners file since the last
    /// load, or a project file since the database read it. Race-free for `--watch`: an edit
    /// made while planning is still a difference afterwards.
    pub fn changed(&self) -> bool {
        let configs_changed = match &self.expanded {
            Some((stamps, _)) => *stamps != self.config_stamps(),
            None => true,
        };
        configs_changed || self.db.changed()
    }

    /// Picks up changed project files; returns how many changed.
    pub fn refresh(&mut self) -> usize {
        self.db.refresh()
    }

    /// Plans against `store`.
    pub fn plan(&mut self, store: Option<&StateStore>) -> Planned {
        let mut timings = Timings::default();
        let stamps = self.config_stamps();
        let expanded = match &self.expanded {
            Some((old, expanded)) if *old == stamps => expanded.clone(),
            _ => {
                let started = Instant::now();
                let loaded = workspace::load(&self.request.config_files, Some(&self.request.runner_config));
                timings.load = started.elapsed();
                let started = Instant::now();
                let jobs = if loaded.has_errors() {
                    Err(Vec::new())
                } else {
                    let runners = loaded.runners.clone().unwrap_or_default();
                    sweep_jobs(&loaded.sweep, &runners, &self.request.selection)
                };
                timings.expand = started.elapsed();
                let expanded = Arc::new(Expanded { loaded, jobs });
                self.expanded = Some((stamps, expanded.clone()));
                expanded
            }
        };
        let loaded = &expanded.loaded;
        let mut planned = Planned {
            sources: loaded.sources.clone(),
            plan: None,
            diags: loaded.diags.clone(),
            n_jobs: 0,
            timings,
            expanded: expanded.clone(),
        };
        let jobs = match &expanded.jobs {
            Ok(jobs) => jobs,
            Err(diags) => {
                planned.diags.extend(diags.iter().cloned());
                return planned;
            }
        };
        planned.n_jobs = jobs.len();
        let runners = loaded.runners.clone().unwrap_or_default();
        let started = Instant::now();
        let (graph, diags) = dag::build_with_memo(
            &BuildInput { sources: &loaded.sources, sweep: &loaded.sweep, runners: &runners, jobs, files: &self.db },
            &mut self.memo,
        );
        planned.timings.build = started.elapsed();
        let has_errors = diags.iter().any(Diag::is_error);
        planned.diags.extend(diags);
        if has_errors {
            return planned;
        }
        let started = Instant::now();
        planned.plan = Some(plan(graph, store, &self.request.options));
        planned.timings.plan = started.elapsed();
        planned
    }
}
