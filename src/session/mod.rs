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

use crate::contract::EvalSettings;
use crate::dag::task_key::ImageId;
use crate::dag::{self, BuildInput};
use crate::db::ProjectDb;
use crate::diag::Diag;
use crate::expand::select::{self, JobSelection, sweep_jobs};
use crate::expand::{self, Job};
use crate::ir::{Sweep, runners};
use crate::plan::{Plan, PlanOptions, plan};
use crate::source::SourceMap;
use crate::state::{RecordCache, StateStore};
use crate::workspace::{self, FileRole, Loaded};

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

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &str) -> Stamp {
    std::fs::metadata(path).ok().and_then(|meta| Some((meta.modified().ok()?, meta.len())))
}

/// A planning session over one request: reuses unchanged work between plans.
pub struct PlanSession {
    request: PlanRequest,
    project_dir: PathBuf,
    db: ProjectDb,
    expanded: Option<(Vec<Stamp>, Arc<Expanded>)>,
    /// Task keys per job, reused for jobs whose fields, spans and files are unchanged.
    memo: dag::BuildMemo,
    /// Store records read by earlier plans (kept only with [`PlanSession::with_memo`]).
    records: RecordCache,
    /// Key and text of every entry of the last incremental load, in order, and its runners:
    /// what tells a re-plan which entries changed.
    entry_blocks: Vec<(String, String)>,
    last_runners: Option<crate::ir::RunnerTable>,
    /// The last incremental load's jobs per (mode, entry) and entry offsets.
    segments: Vec<usize>,
    entry_starts: Vec<u32>,
}

impl PlanSession {
    pub fn new(request: PlanRequest, project_dir: &std::path::Path) -> PlanSession {
        PlanSession {
            request,
            project_dir: project_dir.to_path_buf(),
            db: ProjectDb::new(project_dir),
            expanded: None,
            memo: dag::BuildMemo::default(),
            records: RecordCache::default(),
            entry_blocks: Vec::new(),
            last_runners: None,
            segments: Vec::new(),
            entry_starts: Vec::new(),
        }
    }

    /// Image ids resolved for the next plans (by runner type and reference).
    pub fn set_images(&mut self, images: ResolvedImages) {
        self.request.images = Arc::new(images);
    }

    /// Remember task keys between plans (worth it only when planning more than once).
    pub fn with_memo(mut self) -> PlanSession {
        self.memo = dag::BuildMemo::enabled();
        self
    }

    fn config_stamps(&self) -> Vec<Stamp> {
        let mut stamps: Vec<Stamp> = self.request.config_files.iter().map(|path| stamp(path)).collect();
        stamps.extend(self.request.runner_config.iter().map(|path| stamp(path)));
        stamps
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

    fn memo_enabled(&self) -> bool {
        self.memo.is_enabled()
    }

    /// Hands a plan back once shown, so the next plan can patch its graph instead of building
    /// every task again (`ix plan --watch`).
    pub fn recycle(&mut self, planned: Planned) {
        if let Some(plan) = planned.plan {
            self.memo.recycle(plan.graph);
        }
    }

    /// How many plans so far patched the previous graph instead of building it.
    pub fn patched(&self) -> usize {
        self.memo.patched()
    }

    /// How many jobs the last plan keyed (built and hashed task keys) rather than reused.
    pub fn last_keyed(&self) -> usize {
        self.memo.keyed()
    }

    /// The queries the database executed since the last call (with [`PlanSession::with_query_log`]).
    pub fn take_query_log(&self) -> Vec<String> {
        self.db.take_query_log()
    }

    /// Records which salsa queries execute (for tests of incrementality).
    pub fn with_query_log(mut self, project_dir: &std::path::Path) -> PlanSession {
        self.db = ProjectDb::with_query_log(project_dir);
        self
    }

    /// Loads and expands through the salsa queries (`db`): only entries whose text changed are
    /// lowered and expanded again. `None` when the fast path does not apply (a file is
    /// missing, cannot be split into entries, or anything has diagnostics): the caller then
    /// loads everything with `workspace::load`, which reports the diagnostics with positions.
    ///
    /// Also returns the entries (indices) whose text changed since the last incremental load,
    /// when the two loads have the same entries in the same order and the same runners.
    fn load_incremental(&mut self) -> Option<(Arc<Expanded>, Option<Vec<usize>>)> {
        // Without a runners file the runner types come from the sweeps: load them whole.
        let runner_config = self.request.runner_config.clone()?;
        let mut diags = Vec::new();
        let mut sources = SourceMap::default();
        for (idx, path) in self.request.config_files.iter().enumerate() {
            let file = workspace::read_source(&mut sources, path, FileRole::Config, &mut diags)?;
            self.db.set_config(idx, &sources.get(file).text);
        }
        let runners_file = workspace::read_source(&mut sources, &runner_config, FileRole::Runners, &mut diags)?;
        let runners = runners::lower_runners(&sources, runners_file, &mut diags);
        if diags.iter().any(Diag::is_error) {
            return None;
        }
        self.db.set_context(&runners, &self.request.selection);
        let same_runners = self.last_runners.as_ref() == Some(&runners);
        let previous_blocks = std::mem::take(&mut self.entry_blocks);
        let mut blocks = Vec::with_capacity(previous_blocks.len());
        let mut changed_entries = Vec::new();
        let mut views = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for idx in 0..self.request.config_files.len() {
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
        let modes = select::modes(&self.request.selection).len();
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
                && self.request.selection.evals.is_none()
                && previous.jobs.is_ok()
                && previous.loaded.sweep.entries.len() == views.len()
                && self.segments == segments
                && self.entry_starts.len() == views.len()
        });
        let (sweep, all) = match previous {
            Some(Expanded { loaded, jobs: Ok(mut all) }) => {
                let mut sweep = loaded.sweep;
                let mut changed = vec![false; views.len()];
                for idx in &changed_entries {
                    changed[*idx] = true;
                }
                for (idx, view) in views.iter().enumerate() {
                    let delta = view.start.wrapping_sub(self.entry_starts[idx]);
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
                        let delta = view.start.wrapping_sub(self.entry_starts[idx]);
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
                if !select::check_config_keys(&sweep, &self.request.selection).is_empty() {
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
                if all.len() > self.request.selection.max_jobs {
                    // Each entry is under the limit but not all of them: the whole load reports it.
                    return None;
                }
                if let Some(mode) = self.request.selection.evals {
                    expand::mark_evals_for(sweep.format(), &mut all, mode);
                }
                (sweep, all)
            }
        };
        self.segments = segments;
        self.entry_starts = starts;
        self.entry_blocks = blocks;
        self.last_runners = Some(runners.clone());
        let loaded = Loaded { sources, sweep, runners: Some(runners), diags };
        Some((Arc::new(Expanded { loaded, jobs: Ok(all) }), comparable.then_some(changed_entries)))
    }

    /// Plans against `store`.
    pub fn plan(&mut self, store: Option<&StateStore>) -> Planned {
        let mut timings = Timings::default();
        let stamps = self.config_stamps();
        // What changed since the last plan, for the build to patch its graph (`None`: unknown).
        let mut changes = Some(dag::Changes { entries: Vec::new(), files: self.db.take_changed_paths() });
        if !matches!(&self.expanded, Some((old, _)) if *old == stamps) {
            let started = Instant::now();
            match self.load_incremental() {
                Some((expanded, changed_entries)) => {
                    timings.load = started.elapsed();
                    self.expanded = Some((stamps.clone(), expanded));
                    match (&mut changes, changed_entries) {
                        (Some(changes), Some(entries)) => changes.entries = entries,
                        _ => changes = None,
                    }
                }
                None => changes = None,
            }
        }
        let expanded = match &self.expanded {
            Some((old, expanded)) if *old == stamps => expanded.clone(),
            _ => {
                changes = None;
                self.entry_blocks.clear();
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
        let runners = loaded.runners.clone().unwrap_or_default();
        let started = Instant::now();
        let (graph, diags) = dag::build_with_memo(
            &BuildInput {
                sources: &loaded.sources,
                sweep: &loaded.sweep,
                runners: &runners,
                jobs,
                files: &self.db,
                images: &PlanImages { store, resolved: &self.request.images, project_dir: &self.project_dir },
                evals: &self.request.evals,
                changes: changes.as_ref(),
                repeat: self.request.selection.repeat,
            },
            &mut self.memo,
        );
        planned.timings.build = started.elapsed();
        let has_errors = diags.iter().any(Diag::is_error);
        planned.diags.extend(diags);
        if has_errors {
            return planned;
        }
        let started = Instant::now();
        let mut records = if self.memo_enabled() { std::mem::take(&mut self.records) } else { RecordCache::default() };
        planned.plan = Some(plan(graph, store, &self.request.options, &mut records));
        if self.memo_enabled() {
            self.records = records;
        }
        planned.timings.plan = started.elapsed();
        planned
    }
}

#[cfg(test)]
mod tests;
