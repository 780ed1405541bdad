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
use crate::expand::{self, Job};
use crate::ir::{Sweep, runners};
use crate::plan::jobs::{self, JobSelection, sweep_jobs};
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
        let modes = jobs::modes(&self.request.selection).len();
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
                                jobs::place_job(&mut job, idx, view.start);
                                *slot = job;
                            }
                        } else if delta != 0 {
                            for job in segment {
                                jobs::place_job(job, idx, delta);
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
                if !jobs::check_config_keys(&sweep, &self.request.selection).is_empty() {
                    // The whole load reports it.
                    return None;
                }
                let mut all = Vec::new();
                for mode in 0..modes {
                    for (entry_idx, view) in views.iter().enumerate() {
                        for job in view.jobs.get(mode).into_iter().flatten() {
                            let mut job = job.clone();
                            jobs::place_job(&mut job, entry_idx, view.start);
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
mod tests {
    use std::path::{Path, PathBuf};

    use super::{PlanRequest, PlanSession};
    use crate::expand::EvalMode;
    use crate::plan::PlanOptions;
    use crate::plan::jobs::{JobSelection, sweep_jobs};
    use crate::workspace;

    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn request(dir: &Path, configs: &[&str], evals: Option<EvalMode>) -> PlanRequest {
        PlanRequest {
            config_files: configs.iter().map(|c| dir.join(c).to_string_lossy().into_owned()).collect(),
            runner_config: Some(dir.join("runners.yaml").to_string_lossy().into_owned()),
            selection: JobSelection { evals, ..JobSelection::all() },
            options: PlanOptions::default(),
            evals: Default::default(),
            images: Default::default(),
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    fn count(log: &[String], query: &str) -> usize {
        log.iter().filter(|line| line.starts_with(&format!("{query}("))).count()
    }

    /// Every (id, hash, manifest) of a plan, to compare a re-plan with a fresh one.
    fn tasks(session: &mut PlanSession) -> Vec<(String, String, String)> {
        let planned = session.plan(None);
        assert!(planned.diags.is_empty(), "{:?}", planned.diags);
        let tasks = planned.plan.as_ref().expect("a plan").graph.tasks.iter();
        let tasks = tasks
            .map(|t| (t.id.to_string(), format!("{:?}", t.hash), format!("{:?} {:?}", t.manifest.entries(), t.origin)))
            .collect();
        // As `--watch` does: the next plan may patch this graph.
        session.recycle(planned);
        tasks
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{from:?} not in {}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// The per-entry salsa path gives exactly the sweep and jobs of whole-file lowering.
    #[test]
    fn incremental_load_equals_whole_file_load_on_the_vendor_files() {
        let reference = std::env::var_os("IX_REFERENCE_DIR")
            .map_or_else(|| manifest_dir().join("../shared/reference"), std::path::PathBuf::from);
        let configs = reference.join("configs");
        if !configs.join("nvidia-master.yaml").is_file() {
            assert_eq!(
                std::env::var("IX_ALLOW_MISSING_REFERENCE").as_deref(),
                Ok("1"),
                "reference data missing at {} (set IX_REFERENCE_DIR)",
                reference.display()
            );
            return;
        }
        for evals in [None, Some(EvalMode::Mark)] {
            let request = request(&configs, &["nvidia-master.yaml", "amd-master.yaml"], evals);
            let mut session = PlanSession::new(request.clone(), &configs);
            let (fast, _) = session.load_incremental().expect("the vendor files split into entries");
            let whole = workspace::load(&request.config_files, request.runner_config.as_deref());
            assert!(!whole.has_errors());
            let jobs = sweep_jobs(&whole.sweep, whole.runners.as_ref().unwrap(), &request.selection).unwrap();
            assert_eq!(fast.loaded.sweep, whole.sweep);
            assert_eq!(fast.jobs(), jobs.as_slice());
            assert!(jobs.len() > 1000);
        }
    }

    #[test]
    fn an_edit_recomputes_only_the_entry_it_touches() {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
        let sweep = dir.path().join("sweep.yaml");
        let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path())
            .with_memo()
            .with_query_log(dir.path());
        let first = tasks(&mut session);
        let log = session.take_query_log();
        assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (2, 2), "{log:?}");
        assert_eq!(session.last_keyed(), 3, "two concurrencies of the first entry, one of the second");

        // A comment above the first entry moves both entries: nothing is lowered or keyed.
        edit(&sweep, "demo-fp8-h100-vllm:\n", "# moved\n\ndemo-fp8-h100-vllm:\n");
        let moved = tasks(&mut session);
        let log = session.take_query_log();
        assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (0, 0), "{log:?}");
        assert_eq!(session.last_keyed(), 0);
        assert_eq!(first.iter().map(|t| &t.1).collect::<Vec<_>>(), moved.iter().map(|t| &t.1).collect::<Vec<_>>());
        // Reused manifests carry the moved lines (shifted when read).
        let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
        assert_eq!(moved, tasks(&mut fresh));
        assert_ne!(first.iter().map(|t| &t.2).collect::<Vec<_>>(), moved.iter().map(|t| &t.2).collect::<Vec<_>>());

        // Whitespace at the end of the first entry: it is lowered again, to the same value, so
        // nothing downstream runs.
        edit(
            &sweep,
            "    - { tp: 2, conc-start: 4, conc-end: 8 }\n",
            "    - { tp: 2, conc-start: 4, conc-end: 8 }\n\n\n",
        );
        tasks(&mut session);
        let log = session.take_query_log();
        assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (1, 0), "{log:?}");
        assert_eq!(session.last_keyed(), 0);

        // A real edit of the second entry: only it is lowered, expanded and keyed again.
        edit(&sweep, "release:1.0", "release:1.0.1");
        let edited = tasks(&mut session);
        let log = session.take_query_log();
        assert_eq!((count(&log, "lowered_entry"), count(&log, "entry_jobs")), (1, 1), "{log:?}");
        assert_eq!(session.last_keyed(), 1);

        // The memoized re-plan equals a fresh plan, manifest origins included.
        let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
        assert_eq!(edited, tasks(&mut fresh));
    }

    /// Every kind of edit, re-planned by a watch session (which patches the previous graph
    /// where it can), gives exactly the tasks of a fresh plan: ids, hashes, manifests with
    /// their origins, and task origins.
    #[test]
    fn patched_re_plans_equal_fresh_plans() {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
        let sweep = dir.path().join("sweep.yaml");
        let script = dir.path().join("benchmarks/demo_fp8_h100.sh");
        let lib = dir.path().join("benchmarks/benchmark_lib.sh");
        let launcher = dir.path().join("runners/launch_b200-nv.sh");
        let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
        tasks(&mut session);
        let mut step = |name: &str, edit: &dyn Fn(), patches: bool| {
            // Stamps are mtime and size: every edit here changes the size.
            edit();
            session.refresh();
            let before = session.patched();
            let (jobs, sweep) = {
                let planned = session.plan(None);
                let expanded = planned.expanded.clone();
                session.recycle(planned);
                (expanded.jobs().to_vec(), expanded.loaded.sweep.clone())
            };
            assert_eq!(session.patched() - before, usize::from(patches), "{name}: patched?");
            let replanned = tasks(&mut session);
            let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
            let fresh_expanded = fresh.plan(None).expanded;
            assert_eq!(jobs, fresh_expanded.jobs(), "{name}: jobs");
            assert_eq!(sweep, fresh_expanded.loaded.sweep, "{name}: sweep");
            let fresh = tasks(&mut fresh);
            let differ = replanned.iter().zip(&fresh).find(|(a, b)| a != b);
            assert!(differ.is_none(), "{name}: first difference (re-planned, fresh): {differ:#?}");
            assert_eq!(replanned.len(), fresh.len(), "{name}");
            // Planning again with nothing changed patches (and changes nothing).
            assert_eq!(session.patched() - before, usize::from(patches) + 1, "{name}: patched again?");
        };
        let append = |path: &Path, line: &str| {
            let text = std::fs::read_to_string(path).unwrap();
            std::fs::write(path, format!("{text}{line}\n")).unwrap();
        };
        step("script line", &|| append(&script, "echo edited"), true);
        step("sourced file", &|| append(&lib, "# lib edit"), true);
        step(
            "lines above both entries",
            &|| edit(&sweep, "demo-fp8-h100-vllm:\n", "# a\n# b\n\ndemo-fp8-h100-vllm:\n"),
            true,
        );
        step("model of the first entry", &|| edit(&sweep, "model: org/demo\n", "model: org/demo-v2\n"), true);
        step("one line fewer above", &|| edit(&sweep, "# a\n# b\n", "# ab\n"), true);
        step(
            "concurrency range (same job count)",
            &|| edit(&sweep, "conc-start: 4, conc-end: 8", "conc-start: 8, conc-end: 16"),
            true,
        );
        step(
            "concurrency range (one job more)",
            &|| edit(&sweep, "conc-start: 8, conc-end: 16", "conc-start: 8, conc-end: 32"),
            false,
        );
        step("image tag (new launch task)", &|| edit(&sweep, "release:1.0", "release:1.1"), false);
        step("launcher", &|| append(&launcher, "# launcher edit"), false);
        step("nothing", &|| {}, true);
        step(
            "new entry (the list of entries changed)",
            &|| {
                append(
                    &sweep,
                    "demo-fp8-h100-vllm-b:\n  image: vllm/vllm-openai:v0.10.0\n  model: org/demo\n  model-prefix: demo\n  runner: h100\n  precision: fp8\n  framework: vllm\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - { tp: 4, conc-list: [2] }",
                )
            },
            false,
        );
        step("script line after that", &|| append(&script, "echo again"), true);
    }

    /// Random sequences of edits (sweep lines added and removed above, between and inside
    /// entries, field values, concurrency ranges, scripts, the sourced library): after every
    /// edit the watch session's plan and jobs equal a fresh session's.
    #[test]
    fn random_edit_sequences_re_plan_like_fresh_plans() {
        use rand::{Rng, SeedableRng};
        for seed in 0..24u64 {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
            let sweep = dir.path().join("sweep.yaml");
            let scripts =
                [dir.path().join("benchmarks/demo_fp8_h100.sh"), dir.path().join("benchmarks/benchmark_lib.sh")];
            let original = std::fs::read_to_string(&sweep).unwrap();
            let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
            tasks(&mut session);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut patched = 0;
            for step in 0..25 {
                let text = std::fs::read_to_string(&sweep).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let edited = match rng.random_range(0..10) {
                    // A comment line at a random place (top level or inside an entry).
                    0 => {
                        let at = rng.random_range(0..=lines.len());
                        let indent = if at == 0 || rng.random_bool(0.5) { "" } else { "  " };
                        let mut out = lines.clone();
                        let comment = format!("{indent}# note {step}");
                        out.insert(at, &comment);
                        out.join("\n") + "\n"
                    }
                    // Remove a comment line, if any.
                    1 => match lines.iter().position(|line| line.trim_start().starts_with('#')) {
                        Some(at) => {
                            let mut out = lines.clone();
                            out.remove(at);
                            out.join("\n") + "\n"
                        }
                        None => text.clone(),
                    },
                    2 => text.replacen("model: org/demo\n", &format!("model: org/demo-{step}\n"), 1),
                    3 => {
                        let end = [8, 16, 32][rng.random_range(0..3)];
                        let re = regex_free_replace(&text, "conc-end: ", &end.to_string());
                        re.unwrap_or(text.clone())
                    }
                    4 => text.replacen("conc-list: [16]", "conc-list: [16, 32]", 1).replacen(
                        "conc-list: [16, 32, 32]",
                        "conc-list: [16]",
                        1,
                    ),
                    5 => {
                        let script = &scripts[rng.random_range(0..2)];
                        let body = std::fs::read_to_string(script).unwrap();
                        std::fs::write(script, format!("{body}# edit {step}\n")).unwrap();
                        text.clone()
                    }
                    6 => original.clone(),
                    7 if text.contains("release:1.0") => text.replacen("release:1.0", "release:1.1", 1),
                    7 => text.replacen("release:1.1", "release:1.0", 1),
                    8 => {
                        let launcher = dir.path().join("runners/launch_h100-cr.sh");
                        let body = std::fs::read_to_string(&launcher).unwrap();
                        std::fs::write(&launcher, format!("{body}# edit {step}\n")).unwrap();
                        text.clone()
                    }
                    // Add a third entry, or remove it.
                    _ => match text.find("demo-fp8-h100-vllm-b:") {
                        Some(at) => text[..at].to_string(),
                        None => format!(
                            "{text}demo-fp8-h100-vllm-b:\n  image: vllm/vllm-openai:v0.10.0\n  model: org/demo\n  model-prefix: demo\n  runner: h100\n  precision: fp8\n  framework: vllm\n  multinode: false\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - {{ tp: 4, conc-list: [2] }}\n"
                        ),
                    },
                };
                std::fs::write(&sweep, &edited).unwrap();
                session.refresh();
                let before = session.patched();
                let replanned = tasks(&mut session);
                patched += session.patched() - before;
                let mut fresh = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path());
                let fresh = tasks(&mut fresh);
                let differ = replanned.iter().zip(&fresh).find(|(a, b)| a != b);
                assert!(
                    differ.is_none() && replanned.len() == fresh.len(),
                    "seed {seed} step {step}: {differ:#?}\n{edited}"
                );
            }
            assert!(patched >= 3, "seed {seed}: only {patched} of 25 re-plans patched");
        }
    }

    /// `text` with the number after the first `key` replaced by `value`.
    fn regex_free_replace(text: &str, key: &str, value: &str) -> Option<String> {
        let at = text.find(key)? + key.len();
        let end = at + text[at..].find(|c: char| !c.is_ascii_digit())?;
        Some(format!("{}{value}{}", &text[..at], &text[end..]))
    }

    /// A watch session keeps store records between plans, and still sees what another process
    /// writes (a record added, one corrupted) on the next plan.
    #[test]
    fn a_session_sees_store_writes_between_plans() {
        use crate::plan::Action;
        use crate::state::{ArtifactSource, Outcome, StateStore, TaskRecord};
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&manifest_dir().join("tests/data/plan/small"), dir.path());
        let store = StateStore::open(&dir.path().join(".ix")).unwrap();
        let mut session = PlanSession::new(request(dir.path(), &["sweep.yaml"], None), dir.path()).with_memo();
        let actions = |session: &mut PlanSession| {
            let planned = session.plan(Some(&store));
            let plan = planned.plan.expect("a plan");
            plan.graph
                .tasks
                .iter()
                .zip(&plan.tasks)
                .map(|(t, p)| (t.id.to_string(), t.hash, p.action))
                .collect::<Vec<_>>()
        };
        let first = actions(&mut session);
        assert!(first.iter().all(|(_, _, action)| *action == Action::Run));
        // Another process records every launch and bench task (after a pause longer than a
        // coarse file-time tick, so the folder's times differ from those of the last plan).
        std::thread::sleep(std::time::Duration::from_millis(20));
        for (id, hash, _) in first.iter().filter(|(id, _, _)| id.starts_with("launch/") || id.starts_with("bench/")) {
            let record = TaskRecord {
                id: id.clone(),
                kind: "bench".into(),
                outcome: Outcome::Success,
                manifest: Vec::new(),
                artifacts: vec![("out.json".into(), ArtifactSource::Bytes(b"{}".to_vec()))],
            };
            store.record(*hash, record).unwrap();
        }
        let second = actions(&mut session);
        let reused: Vec<&str> =
            second.iter().filter(|(_, _, a)| *a == Action::Reuse).map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(reused.len(), 5, "{second:?}");
        assert!(reused.iter().all(|id| id.starts_with("launch/") || id.starts_with("bench/")));
        // The same plan again comes from the cache, with the same answer.
        assert_eq!(actions(&mut session), second);
        // A record corrupted behind the session's back is not trusted.
        let (_, hash, _) = second.iter().find(|(id, _, _)| id.starts_with("bench/")).unwrap();
        let path = dir.path().join(".ix/tasks").join(format!("{}.json", hash.to_hex()));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("success", "failed!")).unwrap();
        // The folder changes when a file is renamed into it (every store write does that).
        std::thread::sleep(std::time::Duration::from_millis(20));
        let tmp = dir.path().join(".ix/tasks/touch.tmp");
        std::fs::write(&tmp, "").unwrap();
        std::fs::remove_file(&tmp).unwrap();
        let third = actions(&mut session);
        assert_eq!(third.iter().filter(|(_, _, a)| *a == Action::Reuse).count(), 4, "{third:?}");
    }
}
