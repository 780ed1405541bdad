//! The whole planning chain for one request: load files, select jobs, build the DAG, plan.
//!
//! [`PlanSession`] keeps what can be reused between plans (`ix plan --watch`, later `ix run`) in
//! one owner, [`incremental::Incremental`]: project-file digests and per-entry lowering live in
//! the salsa database (`db`), and the loaded sweep plus its job list are kept until a sweep or
//! runners file changes (by mtime and size), so editing a script re-plans without re-parsing
//! the sweeps; a `dag::BuildMemo` keeps each job's task keys, so only jobs whose entry or files
//! changed are re-keyed; a `state::RecordCache` keeps store records. Timings of each stage are
//! returned for `--timings`.

mod incremental;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contract::EvalSettings;
use crate::dag::{self, task_key::ImageId};
use crate::diag::Diag;
use crate::expand::Job;
use crate::expand::select::{JobSelection, sweep_jobs};
use crate::plan::{Plan, PlanOptions};
use crate::source::SourceMap;
use crate::state::StateStore;
use crate::workspace::{self, Loaded};
use incremental::{Incremental, Stamp, stamp};

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub config_files: Vec<String>,
    /// The runners file; `None` when the sweeps declare their runner types inline (`.ix`).
    pub runner_config: Option<String>,
    pub selection: JobSelection,
    pub options: PlanOptions,
    /// How eval tasks run (the project's `evals.yaml`).
    pub evals: EvalSettings,
    /// Image ids resolved for this plan, by runner type and reference (`--resolve-images`,
    /// `ix run`); other images use the digest their last launch recorded.
    pub images: Arc<ResolvedImages>,
}

/// What a plan is told about its images beyond pins and launch records.
#[derive(Clone, Debug, Default)]
pub struct ResolvedImages {
    /// Registry answers, by (runner type, reference) (`--resolve-images`, `ix run`).
    pub by_reference: std::collections::HashMap<(String, String), ImageId>,
    /// Which runner types' executor starts the container itself (docker), as `ix run
    /// --executor` specs (`None`: every runner type; the last matching spec wins): the host mark
    /// of their launchers does not apply.
    pub container_executors: Vec<(Option<String>, bool)>,
}

impl ResolvedImages {
    /// Whether `runner_type`'s executor starts the container itself.
    pub fn starts_containers(&self, runner_type: &str) -> bool {
        self.container_executors
            .iter()
            .rev()
            .find(|(t, _)| t.as_deref().is_none_or(|t| t == runner_type))
            .is_some_and(|(_, docker)| *docker)
    }
}

/// The identity of the "image" of launchers that run no container ([`HOST_LAUNCHER_MARK`]):
/// the digest of the running `ix` binary, which serves the simulator and drives the client
/// (`blake3:<hex>`). Computed once per process, and only when such a launcher is planned.
pub fn host_image_digest() -> Result<String, String> {
    static DIGEST: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    DIGEST
        .get_or_init(|| {
            let exe = std::env::current_exe().map_err(|e| format!("cannot locate the running ix: {e}"))?;
            let mut hasher = blake3::Hasher::new();
            std::fs::File::open(&exe)
                .and_then(|mut file| std::io::copy(&mut file, &mut hasher))
                .map_err(|e| format!("cannot read `{}`: {e}", exe.display()))?;
            Ok(format!("blake3:{}", hasher.finalize().to_hex()))
        })
        .clone()
}

/// A launcher whose text holds this line runs no container: the image reference is a label,
/// and what runs is this `ix` (simulator and client) and what the scripts start.
pub const HOST_LAUNCHER_MARK: &str = "# ix: image=host";

/// Whether the launcher at `path` (in `project_dir`) runs no container ([`HOST_LAUNCHER_MARK`]).
pub fn is_host_launcher(project_dir: &std::path::Path, path: &str) -> bool {
    std::fs::read_to_string(project_dir.join(path))
        .is_ok_and(|text| text.lines().any(|line| line.trim_end() == HOST_LAUNCHER_MARK))
}

/// What a plan knows of its images: pins, this plan's resolutions, else the last launch records.
struct PlanImages<'a> {
    store: Option<&'a StateStore>,
    resolved: &'a ResolvedImages,
    project_dir: &'a std::path::Path,
}

impl dag::ImageDigests for PlanImages<'_> {
    fn image_id(&self, launch_id: &str, runner_type: &str, launcher: &str, image: &str) -> ImageId {
        if let Some(id) = dag::pinned(image) {
            return id;
        }
        if let Some(id) = self.resolved.by_reference.get(&(runner_type.to_string(), image.to_string())) {
            return id.clone();
        }
        if !self.resolved.starts_containers(runner_type)
            && is_host_launcher(self.project_dir, launcher)
            && let Ok(host) = host_image_digest()
        {
            return ImageId { digest: host, reference: image.to_string() };
        }
        self.store
            .and_then(|store| recorded_image(store, launch_id))
            .filter(|id| id.reference == image)
            .unwrap_or_else(|| ImageId::unresolved(image))
    }
}

/// The image id the last successful run of launch task `launch_id` recorded (its `launch.json`).
pub fn recorded_image(store: &StateStore, launch_id: &str) -> Option<ImageId> {
    let record = store.latest_for_id(launch_id).ok()??;
    if record.outcome != crate::state::Outcome::Success {
        return None;
    }
    let artifact = record.artifacts.iter().find(|artifact| artifact.name == LAUNCH_ARTIFACT)?;
    let bytes = store.get_blob(artifact.digest).ok()??;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let digest = value.get("digest")?.as_str()?;
    let reference = value.get("image")?.as_str()?;
    Some(ImageId { digest: digest.to_string(), reference: reference.to_string() })
}

/// The artifact a launch task records: `{"image", "digest", "executor", ...}`.
pub const LAUNCH_ARTIFACT: &str = "launch.json";

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
    /// The eval settings the plan's eval keys were made with.
    pub evals: EvalSettings,
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

/// A planning session over one request: reuses unchanged work between plans ([`Incremental`]).
pub struct PlanSession {
    request: PlanRequest,
    project_dir: PathBuf,
    incremental: Incremental,
}

impl PlanSession {
    pub fn new(request: PlanRequest, project_dir: &std::path::Path) -> PlanSession {
        PlanSession { request, project_dir: project_dir.to_path_buf(), incremental: Incremental::new(project_dir) }
    }

    /// Image ids resolved for the next plans (by runner type and reference).
    pub fn set_images(&mut self, images: ResolvedImages) {
        self.request.images = Arc::new(images);
    }

    /// Remember task keys between plans (worth it only when planning more than once).
    pub fn with_memo(mut self) -> PlanSession {
        self.incremental.enable_memo();
        self
    }

    fn config_stamps(&self) -> Vec<Stamp> {
        let mut stamps: Vec<Stamp> = self.request.config_files.iter().map(|path| stamp(path)).collect();
        stamps.extend(self.request.runner_config.iter().map(|path| stamp(path)));
        stamps.extend(self.incremental.also_read.iter().map(|path| stamp(path)));
        stamps
    }

    /// Whether any input changed since it was read: a sweep or runners file since the last
    /// load, or a project file since the database read it. Race-free for `--watch`: an edit
    /// made while planning is still a difference afterwards.
    pub fn changed(&self) -> bool {
        self.incremental.changed(&self.config_stamps())
    }

    /// Picks up changed project files; returns how many changed.
    pub fn refresh(&mut self) -> usize {
        self.incremental.db.refresh()
    }

    /// Hands a plan back once shown, so the next plan can patch its graph instead of building
    /// every task again (`ix plan --watch`).
    pub fn recycle(&mut self, planned: Planned) {
        if let Some(plan) = planned.plan {
            self.incremental.recycle(plan.graph);
        }
    }

    /// How many plans so far patched the previous graph instead of building it.
    pub fn patched(&self) -> usize {
        self.incremental.memo().patched()
    }

    /// How many jobs the last plan keyed (built and hashed task keys) rather than reused.
    pub fn last_keyed(&self) -> usize {
        self.incremental.memo().keyed()
    }

    /// The queries the database executed since the last call (with [`PlanSession::with_query_log`]).
    pub fn take_query_log(&self) -> Vec<String> {
        self.incremental.db.take_query_log()
    }

    /// Records which salsa queries execute (for tests of incrementality).
    pub fn with_query_log(mut self, project_dir: &std::path::Path) -> PlanSession {
        self.incremental.log_queries(project_dir);
        self
    }

    /// Plans against `store`: loads the sweep per entry through the database when it can (only
    /// edited entries are lowered and expanded again), else whole; builds the graph with the
    /// memo (patching the last graph when it knows what changed); plans.
    pub fn plan(&mut self, store: Option<&StateStore>) -> Planned {
        let mut timings = Timings::default();
        let stamps = self.config_stamps();
        // What changed since the last plan, for the build to patch its graph (`None`: unknown).
        let mut changes = Some(self.incremental.take_changes());
        if self.incremental.current(&stamps).is_none() {
            let started = Instant::now();
            match self.incremental.load(&self.request, stamps.clone()) {
                Some(changed_entries) => {
                    timings.load = started.elapsed();
                    match (&mut changes, changed_entries) {
                        (Some(changes), Some(entries)) => changes.entries = entries,
                        _ => changes = None,
                    }
                }
                None => changes = None,
            }
        }
        let expanded = match self.incremental.current(&stamps) {
            Some(expanded) => expanded,
            None => {
                changes = None;
                let started = Instant::now();
                let loaded = workspace::load(&self.request.config_files, self.request.runner_config.as_deref());
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
                self.incremental.keep_whole(&self.request, stamps, expanded.clone());
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
            evals: self.request.evals.clone(),
        };
        let jobs = match &expanded.jobs {
            Ok(jobs) => jobs,
            Err(diags) => {
                planned.diags.extend(diags.iter().cloned());
                return planned;
            }
        };
        planned.n_jobs = jobs.len();
        let started = Instant::now();
        let images = PlanImages { store, resolved: &self.request.images, project_dir: &self.project_dir };
        let (graph, diags) = self.incremental.build(
            &expanded,
            jobs,
            &images,
            &self.request.evals,
            changes.as_ref(),
            self.request.selection.repeat,
        );
        planned.timings.build = started.elapsed();
        let has_errors = diags.iter().any(Diag::is_error);
        planned.diags.extend(diags);
        if has_errors {
            return planned;
        }
        let started = Instant::now();
        planned.plan = Some(self.incremental.plan(graph, store, &self.request.options));
        planned.timings.plan = started.elapsed();
        planned
    }
}

#[cfg(test)]
mod tests;
