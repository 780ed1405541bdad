//! The whole planning chain for one request: load files, select jobs, build the DAG, plan.
//!
//! Shared by `ix plan` (once, or on every change with `--watch`) and, later, `ix run`.
//! Timings of each stage are returned so `--timings` and the benchmarks can print them.

use std::time::{Duration, Instant};

use crate::dag::{self, BuildInput};
use crate::db::ProjectDb;
use crate::diag::Diag;
use crate::plan::jobs::{JobSelection, sweep_jobs};
use crate::plan::{Plan, PlanOptions, plan};
use crate::source::SourceMap;
use crate::state::StateStore;
use crate::workspace;

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
}

/// Runs the chain. Project files are read through `db` (memoized across calls).
pub fn plan_project(request: &PlanRequest, db: &ProjectDb, store: Option<&StateStore>) -> Planned {
    let mut timings = Timings::default();
    let started = Instant::now();
    let loaded = workspace::load(&request.config_files, Some(&request.runner_config));
    timings.load = started.elapsed();
    let mut planned =
        Planned { sources: loaded.sources.clone(), plan: None, diags: loaded.diags.clone(), n_jobs: 0, timings };
    if loaded.has_errors() {
        return planned;
    }
    let runners = loaded.runners.clone().unwrap_or_default();
    let started = Instant::now();
    let jobs = match sweep_jobs(&loaded.sweep, &runners, &request.selection) {
        Ok(jobs) => jobs,
        Err(diags) => {
            planned.diags.extend(diags);
            return planned;
        }
    };
    planned.timings.expand = started.elapsed();
    planned.n_jobs = jobs.len();
    let started = Instant::now();
    let (graph, diags) = dag::build(&BuildInput {
        sources: &loaded.sources,
        sweep: &loaded.sweep,
        runners: &runners,
        jobs: &jobs,
        files: db,
    });
    planned.timings.build = started.elapsed();
    let has_errors = diags.iter().any(Diag::is_error);
    planned.diags.extend(diags);
    if has_errors {
        return planned;
    }
    let started = Instant::now();
    planned.plan = Some(plan(graph, store, &request.options));
    planned.timings.plan = started.elapsed();
    planned
}
