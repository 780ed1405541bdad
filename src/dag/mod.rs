//! Jobs to the task DAG: container launch -> bench -> (eval) -> result -> collect -> summary -> report.
//!
//! [`build`] names each task's script and launcher with `naming`, asks a [`ProjectFiles`] for
//! their digests (and the files they source), builds one [`TaskKey`] per task and hashes it.
//! It does no IO itself: file access goes through the trait, which `db` implements.
//! A job whose script or launcher does not exist is an error labelled at its sweep entry.

pub mod hash;
pub mod task_key;

use std::borrow::Cow;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// The maps of this module hash short strings (task ids, paths) thousands of times per build:
/// a multiply-rotate hasher (FxHash's) instead of SipHash. Keys are the project's own names,
/// so resistance to crafted collisions is not needed.
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// FxHash: `hash = (hash.rotl(5) ^ word) * K` over 8-byte words.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

use petgraph::graph::{DiGraph, NodeIndex};

use crate::dag::hash::Digest;
use crate::dag::task_key::{
    AGGREGATE_VERSION, AggregateKey, BENCH_CLIENT_VERSION, BenchKey, BenchShape, EVAL_HARNESS_VERSION, EvalKey,
    FileInput, Input, LaunchKey, ManifestEntry, Origin, RESULT_FORMAT_VERSION, ResultKey, TaskKey,
};
use crate::diag::Diag;
use crate::expand::{Job, JobShape};
use crate::ir::{RunnerTable, SearchPoint, Sweep, Worker, seq_len_name};
use crate::naming;
use crate::source::{SourceMap, Span};

/// The kinds of task in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskKind {
    Launch,
    Bench,
    Eval,
    Result,
    Collect,
    Summary,
    Report,
}

impl TaskKind {
    pub const ALL: [TaskKind; 7] = [
        TaskKind::Launch,
        TaskKind::Bench,
        TaskKind::Eval,
        TaskKind::Result,
        TaskKind::Collect,
        TaskKind::Summary,
        TaskKind::Report,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Launch => "launch",
            TaskKind::Bench => "bench",
            TaskKind::Eval => "eval",
            TaskKind::Result => "result",
            TaskKind::Collect => "collect",
            TaskKind::Summary => "summary",
            TaskKind::Report => "report",
        }
    }
}

/// What `build` needs to know about a file of the project.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileFacts {
    pub digest: Digest,
    /// Files it sources (`source F` / `. F`), as project-relative paths that exist.
    pub sourced: Vec<String>,
}

/// Read access to project files (relative paths), memoized by the caller.
pub trait ProjectFiles {
    /// `None` when the file does not exist.
    fn facts(&self, path: &str) -> Option<FileFacts>;
}

/// Runner-side facts of a bench task, for the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchInfo {
    /// Index of the job in the job list.
    pub job_idx: usize,
    pub node: Arc<str>,
    pub script: Arc<str>,
    pub launcher: Arc<str>,
    pub result_filename: Arc<str>,
}

/// One task of the graph.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: Arc<str>,
    pub kind: TaskKind,
    pub hash: Digest,
    pub manifest: TaskManifest,
    /// Indices of the tasks this one needs.
    pub deps: Vec<usize>,
    /// The sweep entry that produced it (aggregates of a sweep point at the key).
    pub origin: Option<Span>,
    pub bench: Option<BenchInfo>,
}

/// Manifest entries, shared (tasks reused from a [`BuildMemo`] share them with the old graph).
pub type Manifest = Arc<[ManifestEntry]>;

/// A task's manifest: its entries, plus the line shift of one file's origins when the task was
/// reused from a [`BuildMemo`] after its sweep entry moved (an edit above it). The shift is
/// applied when the entries are read, so a move costs nothing per reused task.
#[derive(Clone, Debug)]
pub struct TaskManifest {
    entries: Manifest,
    shift: Option<(Arc<str>, i64)>,
}

impl TaskManifest {
    pub fn new(entries: Manifest) -> TaskManifest {
        TaskManifest { entries, shift: None }
    }

    /// `entries` whose origins in `file` move by `delta` lines (applied when read: a re-plan
    /// after an edit above thousands of jobs touches none of their manifests).
    fn shifted(entries: &Manifest, file: &Arc<str>, delta: i64) -> TaskManifest {
        TaskManifest { entries: entries.clone(), shift: (delta != 0).then(|| (file.clone(), delta)) }
    }

    /// The entries, with origins as they are in the current files.
    pub fn entries(&self) -> Cow<'_, [ManifestEntry]> {
        let Some((file, delta)) = &self.shift else { return Cow::Borrowed(&self.entries) };
        Cow::Owned(
            self.entries
                .iter()
                .map(|entry| {
                    let mut entry = entry.clone();
                    if let Some(origin) = &mut entry.origin
                        && *origin.file == **file
                    {
                        origin.line = u32::try_from(i64::from(origin.line) + delta).unwrap_or(origin.line);
                    }
                    entry
                })
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What the last build made of one job: the inputs it was keyed from and the tasks' ids,
/// hashes and manifests. Boxed in the memo, so moving it between builds moves a pointer.
#[derive(Clone, Debug)]
struct JobMemo {
    /// The job with its spans relative to its entry ([`relative_job`]), so an edit elsewhere
    /// in the file that only moves the entry leaves it equal.
    job: Job,
    node: Arc<str>,
    /// The line of the entry's first byte when the manifests were built: a moved entry's
    /// manifests are reused with their sweep-file origins shifted by the line difference.
    entry_line: u32,
    /// Image, runner type and launcher path: the launch task the bench task needs.
    launch_slot: Arc<str>,
    /// The bench task's id before de-duplication, and the ids derived from it.
    bench_id: Arc<str>,
    result_id: Arc<str>,
    eval_id: Arc<str>,
    info: BenchInfo,
    script: FileInput,
    sourced: Vec<FileInput>,
    launcher: Digest,
    launch_hash: Digest,
    bench: (Digest, Manifest),
    result: (Digest, Manifest),
    eval: Option<(Digest, Manifest)>,
}

/// The last build's jobs of one config key (indices into [`BuildMemo::jobs`]), in job order,
/// with a cursor: a re-plan meets the jobs in the same order, so the next memo is almost
/// always the one at the cursor.
#[derive(Debug, Default)]
struct KeyMemos {
    idx: Vec<usize>,
    cursor: usize,
}

impl KeyMemos {
    /// The memo of a job equal to `job` (relative spans), taken out of `memos`.
    fn take(&mut self, job: &Job, memos: &mut [Option<Box<JobMemo>>]) -> Option<Box<JobMemo>> {
        let matches = |idx: &usize| memos[*idx].as_ref().is_some_and(|memo| same_relative(&memo.job, job));
        let at = if self.idx.get(self.cursor).is_some_and(matches) {
            self.cursor
        } else {
            self.idx.iter().position(matches)?
        };
        self.cursor = at + 1;
        memos[self.idx[at]].take()
    }
}

/// Where the last build put each job's tasks, to patch its graph in place on the next build.
#[derive(Debug)]
struct Layout {
    /// Per job: its bench, result and eval task indices (`None`: the job made no task).
    job_tasks: Vec<Option<(usize, usize, Option<usize>)>>,
    /// The index of the first aggregate task (collect, summary, report come last).
    n_job_tasks: usize,
    graph_hash: Option<Digest>,
}

/// What changed since the build a [`BuildMemo`] remembers, as the caller knows it.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Sweep entries (indices) whose text changed; every other entry has the same text as in
    /// the last build (it may have moved), and the sweep has the same entries in the same order.
    pub entries: Vec<usize>,
    /// Project files (relative paths) whose bytes changed.
    pub files: Vec<String>,
}

/// What a launch task's key is made of, with the origins of its sweep fields.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LaunchInputs {
    image: String,
    image_at: Option<Origin>,
    runner_type: String,
    runner_at: Option<Origin>,
    launcher: FileInput,
}

impl LaunchInputs {
    /// The launch inputs of `job` (from `entry`), launched with `launcher`.
    fn of(job: &Job, entry: &crate::ir::ConfigEntry, at: &dyn Fn(Span) -> Option<Origin>, launcher: FileInput) -> Self {
        LaunchInputs {
            image: job.image.clone(),
            image_at: at(entry.image.span),
            runner_type: entry.runner.value.clone(),
            runner_at: at(entry.runner.span),
            launcher,
        }
    }

    fn hash_and_manifest(&self) -> (Digest, Manifest) {
        let key = TaskKey::Launch(LaunchKey {
            image: Input::new(self.image.clone(), self.image_at.clone()),
            runner_type: Input::new(self.runner_type.clone(), self.runner_at.clone()),
            launcher: self.launcher.clone(),
        });
        let (hash, manifest) = key.hash_and_manifest();
        (hash, manifest.into())
    }
}

/// A launch task of the last build, by launch slot.
#[derive(Clone, Debug)]
struct LaunchMemo {
    inputs: LaunchInputs,
    id: Arc<str>,
    hash: Digest,
    manifest: Manifest,
}

/// Keys, ids and manifests of the last build, reused by the next one.
///
/// A job's tasks are reused when the job (fields, and spans relative to its entry), its node,
/// script (and sourced files), launcher and launch task are all unchanged; when only the entry
/// moved (an edit earlier in the file), the hashes are reused and the manifests' sweep origins
/// are shifted by the entry's line difference (lazily, [`TaskManifest`]). Memos of jobs that
/// disappear are dropped.
/// Known limit: an edit inside an entry after a job's search-space point (a later point, a
/// comment) keeps that job's relative spans, so manifest origins of the entry's fields that
/// follow the edit may be stale (hashes are unaffected).
#[derive(Debug, Default)]
pub struct BuildMemo {
    /// Job memos of the last build, by job index (`None`: the job made no task).
    jobs: Vec<Option<Box<JobMemo>>>,
    /// The last build's job indices per config key.
    by_key: HashMap<Arc<str>, KeyMemos>,
    /// The last build's layout, and its graph once handed back ([`BuildMemo::recycle`]).
    layout: Option<Layout>,
    recycled: Option<TaskGraph>,
    /// How many builds patched the recycled graph (tests).
    patched: usize,
    /// The jobs (indices) that use each project file: script, sourced files, launcher.
    file_users: HashMap<Arc<str>, Vec<usize>>,
    launches: HashMap<Arc<str>, LaunchMemo>,
    enabled: bool,
    /// How many jobs the last build keyed (built and hashed their keys) rather than reused.
    keyed: usize,
    /// Aggregate tasks of the last build by id: their upstream (id, hash) list, hash and
    /// manifest. An aggregate whose upstream list is unchanged is not re-keyed (early cutoff).
    aggregates: HashMap<Arc<str>, AggregateMemo>,
    /// The sorted order of the last graph's task ids (for [`hash::graph_hash_in_order`]).
    graph_order: Vec<usize>,
    /// The last graph's petgraph view, reused while the edges are the same.
    graph: DiGraph<usize, ()>,
}

/// One aggregate task of the previous build.
#[derive(Clone, Debug)]
struct AggregateMemo {
    kind: TaskKind,
    name: String,
    upstream: Vec<(Arc<str>, Digest)>,
    hash: Digest,
    manifest: Manifest,
}

impl BuildMemo {
    /// A memo that remembers (for repeated builds: `--watch`, long-lived sessions).
    pub fn enabled() -> BuildMemo {
        BuildMemo { enabled: true, ..BuildMemo::default() }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Hands back the graph of the last build, so the next one can patch it in place instead
    /// of building every task again (when only some entries' text or some files changed).
    pub fn recycle(&mut self, graph: TaskGraph) {
        if self.enabled && self.layout.as_ref().is_some_and(|layout| layout.graph_hash == graph.graph_hash) {
            self.recycled = Some(graph);
        }
    }

    /// How many builds so far patched a recycled graph.
    pub fn patched(&self) -> usize {
        self.patched
    }

    /// How many jobs the last build keyed rather than reused from the memo.
    pub fn keyed(&self) -> usize {
        self.keyed
    }
}

/// The task DAG: tasks in a deterministic order (dependencies first) plus the petgraph view.
#[derive(Clone, Debug, Default)]
pub struct TaskGraph {
    pub tasks: Vec<Task>,
    pub graph: DiGraph<usize, ()>,
    pub by_id: HashMap<Arc<str>, usize>,
    /// Hash of every (id, task hash) pair: "plan unchanged" is one comparison.
    pub graph_hash: Option<Digest>,
}

impl TaskGraph {
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.by_id.get(id).map(|idx| &self.tasks[*idx])
    }

    pub fn count(&self, kind: TaskKind) -> usize {
        self.tasks.iter().filter(|task| task.kind == kind).count()
    }
}

/// Everything `build` reads.
pub struct BuildInput<'a> {
    pub sources: &'a SourceMap,
    pub sweep: &'a Sweep,
    pub runners: &'a RunnerTable,
    pub jobs: &'a [Job],
    pub files: &'a dyn ProjectFiles,
    /// What changed since the memo's build, when the caller knows (enables patching).
    pub changes: Option<&'a Changes>,
}

fn origin(sources: &SourceMap, paths: &[Arc<str>], span: Span) -> Option<Origin> {
    let path = paths.get(span.file.0 as usize)?;
    let (line, col) = sources.get(span.file).line_col(span.start);
    Some(Origin { file: path.clone(), line: line as u32, col: col as u32 })
}

/// An image reference without its tag or digest, so a tag bump shows as "image changed" on the
/// same launch task (`nvcr.io/a/b:1.0` -> `nvcr.io/a/b`).
fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

fn worker_text(worker: &Worker) -> String {
    let mut text = format!("nw{} tp{} ep{} dpa{}", worker.num_worker, worker.tp, worker.ep, worker.dp_attn);
    if let Some(settings) = &worker.additional_settings {
        let mut settings = settings.clone();
        settings.sort();
        text.push_str(&format!(" [{}]", settings.join(" ")));
    }
    text
}

/// A script's facts: its digest and the files it sources, recursively.
type ScriptFacts = Option<(FileInput, Vec<FileInput>)>;

struct Ctx<'a> {
    input: &'a BuildInput<'a>,
    tasks: Vec<Task>,
    by_id: HashMap<Arc<str>, usize>,
    diags: Vec<Diag>,
    reported: std::collections::HashSet<(String, usize)>,
}

impl Ctx<'_> {
    /// `base`, or `base~2`, `base~3`, … when taken (the reference never de-duplicates jobs).
    fn unique_id(&self, base: &str) -> Option<String> {
        if !self.by_id.contains_key(base) {
            return None;
        }
        let mut n = 2;
        while self.by_id.contains_key(format!("{base}~{n}").as_str()) {
            n += 1;
        }
        Some(format!("{base}~{n}"))
    }

    fn push(&mut self, mut task: Task) -> usize {
        let idx = self.tasks.len();
        // One hash of the id on the usual path (a new id); duplicates take the slow one.
        if let std::collections::hash_map::Entry::Vacant(slot) = self.by_id.entry(task.id.clone()) {
            slot.insert(idx);
        } else {
            let unique: Arc<str> = self.unique_id(&task.id).unwrap_or_default().into();
            self.by_id.insert(unique.clone(), idx);
            task.id = unique;
        }
        self.tasks.push(task);
        idx
    }

    fn file_with_sources(&self, path: &str) -> ScriptFacts {
        file_with_sources(self.input.files, path)
    }

    fn missing(&mut self, job: &Job, what: &str, path: &str, node: &str) {
        if !self.reported.insert((path.to_string(), job.origin.entry_idx)) {
            return;
        }
        self.diags.push(
            Diag::error(
                if what == "script" { "ix::plan::missing-script" } else { "ix::plan::missing-launcher" },
                format!("{what} `{path}` does not exist"),
            )
            .at(job.origin.entry_span, format!("`{}` on node `{node}` needs `{path}`", job.origin.key))
            .help(format!("create `{path}` in the project, or change the sweep entry")),
        );
    }
}

/// The digest of a file plus, recursively, the files it sources (sorted, deduplicated).
fn file_with_sources(files: &dyn ProjectFiles, path: &str) -> ScriptFacts {
    let facts = files.facts(path)?;
    let mut seen: std::collections::BTreeMap<String, Digest> = std::collections::BTreeMap::new();
    let mut stack = facts.sourced.clone();
    while let Some(next) = stack.pop() {
        if next == path || seen.contains_key(&next) {
            continue;
        }
        if let Some(sub) = files.facts(&next) {
            seen.insert(next.clone(), sub.digest);
            stack.extend(sub.sourced);
        }
    }
    let sourced = seen.into_iter().map(|(path, digest)| FileInput { path, digest }).collect();
    Some((FileInput { path: path.to_string(), digest: facts.digest }, sourced))
}

/// Resolves the node a job runs on: the runner type's first node, or the node itself.
fn resolve_node(runners: &RunnerTable, runner: &str) -> Option<String> {
    if let Some(runner_type) = runners.get(runner) {
        return runner_type.nodes.first().map(|node| node.value.clone());
    }
    runners.types.iter().flat_map(|t| t.nodes.iter()).find(|node| node.value == runner).map(|node| node.value.clone())
}

/// `job` with its spans relative to its entry's first byte: equal for two builds exactly when
/// the job's fields and its place inside the entry are.
fn relative_job(job: &Job) -> Job {
    let mut relative = job.clone();
    let entry = job.origin.entry_span;
    let rebase = |span: Span| Span {
        file: span.file,
        start: span.start.wrapping_sub(entry.start),
        end: span.end.wrapping_sub(entry.start),
    };
    relative.origin.entry_span = rebase(entry);
    relative.origin.point_span = rebase(job.origin.point_span);
    relative
}

/// Whether `relative` (a [`relative_job`]) is `job` with its spans made relative, without
/// building the relative job (the memo-hit path of every re-plan).
fn same_relative(relative: &Job, job: &Job) -> bool {
    // Exhaustive, so a new job field cannot be forgotten here.
    let Job {
        image,
        model,
        model_prefix,
        precision,
        framework,
        runner,
        isl,
        osl,
        shape,
        spec_decoding,
        max_model_len,
        exp_name,
        disagg,
        run_eval,
        origin,
        head,
    } = job;
    let start = origin.entry_span.start;
    let rebase =
        |span: Span| Span { file: span.file, start: span.start.wrapping_sub(start), end: span.end.wrapping_sub(start) };
    let r = &relative.origin;
    r.entry_span == rebase(origin.entry_span)
        && r.point_span == rebase(origin.point_span)
        && (r.entry_idx, r.seq_idx, r.point_idx) == (origin.entry_idx, origin.seq_idx, origin.point_idx)
        && r.key == origin.key
        && (relative.isl, relative.osl, relative.max_model_len) == (*isl, *osl, *max_model_len)
        && (relative.disagg, relative.run_eval, relative.spec_decoding) == (*disagg, *run_eval, *spec_decoding)
        && relative.shape == *shape
        && relative.image == *image
        && relative.model == *model
        && relative.model_prefix == *model_prefix
        && relative.precision == *precision
        && relative.framework == *framework
        && relative.runner == *runner
        && relative.exp_name == *exp_name
        && relative.head == *head
}

/// `bench/<config key>/<seq-len>/<shape>/c<conc>/<node>`, written into one string.
fn bench_id_of(job: &Job, node: &str) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(96);
    let _ = write!(id, "bench/{}/{}/", job.origin.key, seq_len_name(job.isl, job.osl));
    let spec = job.spec_decoding.as_str();
    let _ = match &job.shape {
        JobShape::Single { tp, ep, dp_attn, conc } => {
            write!(id, "tp{tp}-ep{ep}-dpa{}-{spec}/c{conc}", u8::from(*dp_attn))
        }
        JobShape::Multi { prefill, decode, conc } => {
            let _ = write!(
                id,
                "p{}x{}-ep{}-dpa{}_d{}x{}-ep{}-dpa{}-{spec}/c",
                prefill.num_worker,
                prefill.tp,
                prefill.ep,
                u8::from(prefill.dp_attn),
                decode.num_worker,
                decode.tp,
                decode.ep,
                u8::from(decode.dp_attn),
            );
            for (idx, value) in conc.iter().enumerate() {
                if idx > 0 {
                    id.push('x');
                }
                let _ = write!(id, "{value}");
            }
            Ok(())
        }
    };
    let _ = write!(id, "/{node}");
    id
}

/// Builds the task graph of `input.jobs`.
pub fn build(input: &BuildInput<'_>) -> (TaskGraph, Vec<Diag>) {
    build_with_memo(input, &mut BuildMemo::default())
}

/// [`build`], reusing the keys of jobs whose inputs did not change since the memo was filled.
pub fn build_with_memo(input: &BuildInput<'_>, memo: &mut BuildMemo) -> (TaskGraph, Vec<Diag>) {
    if let Some(changes) = input.changes
        && let Some(patched) = patch(input, memo, changes)
    {
        memo.patched += 1;
        return (patched, Vec::new());
    }
    let mut ctx = Ctx {
        input,
        tasks: Vec::with_capacity(input.jobs.len() * 2 + 64),
        by_id: HashMap::with_capacity_and_hasher(input.jobs.len() * 2 + 64, Default::default()),
        diags: Vec::new(),
        reported: std::collections::HashSet::new(),
    };
    let sources = input.sources;
    let mut previous_jobs = std::mem::take(&mut memo.jobs);
    let mut previous = std::mem::take(&mut memo.by_key);
    let mut previous_launches = std::mem::take(&mut memo.launches);
    memo.recycled = None;
    let mut keyed = 0;
    let mut next_jobs: Vec<Option<Box<JobMemo>>> = Vec::new();
    let mut next_keys: HashMap<Arc<str>, KeyMemos> = HashMap::default();
    let mut job_tasks: Vec<Option<(usize, usize, Option<usize>)>> = Vec::new();
    if memo.enabled {
        next_jobs.resize_with(input.jobs.len(), || None);
        job_tasks.resize(input.jobs.len(), None);
    }
    let paths: Vec<Arc<str>> = sources.files().map(|(_, file)| Arc::from(file.path.as_str())).collect();
    let mut script_cache: HashMap<Arc<str>, ScriptFacts> = HashMap::default();
    let mut launcher_cache: HashMap<Arc<str>, Option<FileFacts>> = HashMap::default();
    // One launch per image x runner type x launcher: node expansion can put one runner type's
    // jobs on clusters with different launchers, and each imports the image on its own.
    let mut launch_ids: HashMap<Arc<str>, usize> = HashMap::default();
    // Per config key: the result and eval task indices, in job order.
    let mut per_key: Vec<(String, Option<Span>, Vec<usize>)> = Vec::new();
    let mut key_slot: HashMap<&str, usize> = HashMap::default();
    // Node of each runner name (resolving scans the runners table).
    let mut node_cache: HashMap<&str, Option<Arc<str>>> = HashMap::default();
    // Line of each entry's first byte.
    let mut entry_lines: HashMap<usize, u32> = HashMap::default();
    for (job_idx, job) in input.jobs.iter().enumerate() {
        let Some(entry) = input.sweep.entries.get(job.origin.entry_idx) else {
            continue;
        };
        let node = match node_cache.get(job.runner.as_str()) {
            Some(node) => node.clone(),
            None => {
                let node = resolve_node(input.runners, &job.runner).map(Arc::<str>::from);
                node_cache.insert(job.runner.as_str(), node.clone());
                node
            }
        };
        let Some(node) = node else {
            if ctx.reported.insert((format!("runner:{}", job.runner), job.origin.entry_idx)) {
                ctx.diags.push(
                    Diag::error(
                        "ix::plan::unknown-runner",
                        format!("runner `{}` has no nodes in the runners config", job.runner),
                    )
                    .at(entry.runner.span, "no node to run on"),
                );
            }
            continue;
        };
        let entry_line = *entry_lines
            .entry(job.origin.entry_idx)
            .or_insert_with(|| sources.get(job.origin.entry_span.file).line_col(job.origin.entry_span.start).0 as u32);
        let at = |span: Span| origin(sources, &paths, span);

        // The job as last built, when it is the same job on the same node: its names are then
        // the same, and its keys too if its files and launch task are.
        let remembered = previous
            .get_mut(job.origin.key.as_str())
            .and_then(|memos| memos.take(job, &mut previous_jobs))
            .filter(|remembered| remembered.node == node);
        let (script_path, launcher_path, launch_slot) = match &remembered {
            Some(remembered) => {
                (remembered.info.script.clone(), remembered.info.launcher.clone(), remembered.launch_slot.clone())
            }
            None => {
                let launcher_path: Arc<str> = naming::launcher_path(&node).into();
                let slot = format!("{}\0{}\0{}", job.image, entry.runner.value, launcher_path);
                (naming::script_path(job, &node).into(), launcher_path, slot.into())
            }
        };
        if !script_cache.contains_key(&*script_path) {
            let found = ctx.file_with_sources(&script_path);
            script_cache.insert(script_path.clone(), found);
        }
        if !launcher_cache.contains_key(&*launcher_path) {
            launcher_cache.insert(launcher_path.clone(), input.files.facts(&launcher_path));
        }
        let script = &script_cache[&*script_path];
        let launcher = &launcher_cache[&*launcher_path];
        if script.is_none() {
            ctx.missing(job, "script", &script_path, &node);
        }
        if launcher.is_none() {
            ctx.missing(job, "launcher", &launcher_path, &node);
        }
        let (Some((script, sourced)), Some(launcher)) = (script, launcher) else {
            continue;
        };
        let launcher = FileInput { path: launcher_path.to_string(), digest: launcher.digest };

        let launch_idx = match launch_ids.get(&*launch_slot) {
            Some(idx) => *idx,
            None => {
                let inputs = LaunchInputs::of(job, entry, &at, launcher.clone());
                let launch = match previous_launches.remove(&*launch_slot) {
                    Some(old) if old.inputs == inputs => old,
                    _ => {
                        let (hash, manifest) = inputs.hash_and_manifest();
                        let id = format!(
                            "launch/{}/{}/{}",
                            entry.runner.value,
                            naming::node_prefix(&node),
                            image_repository(&job.image)
                        );
                        LaunchMemo { inputs, id: id.into(), hash, manifest }
                    }
                };
                let idx = ctx.push(Task {
                    id: launch.id.clone(),
                    kind: TaskKind::Launch,
                    hash: launch.hash,
                    manifest: TaskManifest::new(launch.manifest.clone()),
                    deps: Vec::new(),
                    origin: Some(entry.image.span),
                    bench: None,
                });
                launch_ids.insert(launch_slot.clone(), idx);
                if memo.enabled {
                    memo.launches.insert(launch_slot.clone(), launch);
                }
                idx
            }
        };
        let launch_hash = ctx.tasks[launch_idx].hash;

        let job_memo = match remembered {
            Some(remembered)
                if remembered.script == *script
                    && remembered.sourced == *sourced
                    && remembered.launcher == launcher.digest
                    && remembered.launch_hash == launch_hash =>
            {
                remembered
            }
            _ => {
                keyed += 1;
                key_job(&JobContext {
                    job,
                    job_idx,
                    entry,
                    at: &at,
                    node: &node,
                    entry_line,
                    launch_slot: &launch_slot,
                    script_path: &script_path,
                    launcher_path: &launcher_path,
                    script,
                    sourced,
                    launcher: &launcher,
                    launch_hash,
                })
            }
        };
        let file = &paths[job.origin.entry_span.file.0 as usize];
        let delta = i64::from(entry_line) - i64::from(job_memo.entry_line);
        let manifest = |entries: &Manifest| TaskManifest::shifted(entries, file, delta);
        let bench_idx = ctx.push(Task {
            id: job_memo.bench_id.clone(),
            kind: TaskKind::Bench,
            hash: job_memo.bench.0,
            manifest: manifest(&job_memo.bench.1),
            deps: vec![launch_idx],
            origin: Some(job.origin.point_span),
            bench: Some(BenchInfo { job_idx, ..job_memo.info.clone() }),
        });
        // The bench id may have been made unique (a duplicate job); derived ids follow it.
        let bench_id = &ctx.tasks[bench_idx].id;
        let (result_id, eval_id) = if Arc::ptr_eq(bench_id, &job_memo.bench_id) {
            (job_memo.result_id.clone(), job_memo.eval_id.clone())
        } else {
            let suffix = &bench_id["bench/".len()..];
            (format!("result/{suffix}").into(), format!("eval/{suffix}").into())
        };
        let slot = match key_slot.get(job.origin.key.as_str()) {
            Some(slot) => *slot,
            None => {
                per_key.push((job.origin.key.clone(), Some(job.origin.entry_span), Vec::new()));
                key_slot.insert(job.origin.key.as_str(), per_key.len() - 1);
                per_key.len() - 1
            }
        };
        let result_idx = ctx.push(Task {
            id: result_id,
            kind: TaskKind::Result,
            hash: job_memo.result.0,
            // Result and eval keys have no sweep inputs, so nothing in them moves.
            manifest: TaskManifest::new(job_memo.result.1.clone()),
            deps: vec![bench_idx],
            origin: Some(job.origin.point_span),
            bench: None,
        });
        per_key[slot].2.push(result_idx);
        let mut eval_idx = None;
        if let Some((hash, entries)) = &job_memo.eval {
            let idx = ctx.push(Task {
                id: eval_id,
                kind: TaskKind::Eval,
                hash: *hash,
                manifest: TaskManifest::new(entries.clone()),
                deps: vec![bench_idx],
                origin: Some(job.origin.point_span),
                bench: None,
            });
            per_key[slot].2.push(idx);
            eval_idx = Some(idx);
        }
        if memo.enabled {
            let memos = match next_keys.get_mut(job.origin.key.as_str()) {
                Some(memos) => memos,
                None => next_keys.entry(Arc::from(job.origin.key.as_str())).or_default(),
            };
            memos.idx.push(job_idx);
            next_jobs[job_idx] = Some(job_memo);
            job_tasks[job_idx] = Some((bench_idx, result_idx, eval_idx));
        }
    }
    if memo.enabled {
        memo.file_users.clear();
        for (job_idx, job_memo) in next_jobs.iter().enumerate() {
            if let Some(job_memo) = job_memo {
                add_file_users(&mut memo.file_users, job_idx, job_memo);
            }
        }
    }
    memo.jobs = next_jobs;
    memo.by_key = next_keys;
    memo.keyed = keyed;
    let n_job_tasks = ctx.tasks.len();
    let mut aggregates =
        Aggregates { previous: std::mem::take(&mut memo.aggregates), next: HashMap::default(), enabled: memo.enabled };
    let mut collect_ids = Vec::new();
    for (key_name, span, deps) in per_key {
        let idx = aggregate(
            &mut ctx,
            &mut aggregates,
            TaskKind::Collect,
            "collect",
            format!("collect/{key_name}"),
            key_name,
            deps,
            span,
        );
        collect_ids.push(idx);
    }
    if !collect_ids.is_empty() {
        let summary = aggregate(
            &mut ctx,
            &mut aggregates,
            TaskKind::Summary,
            "summary",
            "summary".into(),
            "summary".into(),
            collect_ids,
            None,
        );
        aggregate(
            &mut ctx,
            &mut aggregates,
            TaskKind::Report,
            "report",
            "report".into(),
            "report".into(),
            vec![summary],
            None,
        );
    }
    memo.aggregates = aggregates.next;
    let Ctx { tasks, by_id, diags, .. } = ctx;
    // The previous graph when its edges are exactly these (edges are added in task order, so
    // the edge list is compared in that order): a copy instead of thousands of `add_edge`s.
    let same_edges = memo.graph.node_count() == tasks.len() && {
        let mut edges = memo.graph.raw_edges().iter();
        tasks.iter().enumerate().all(|(idx, task)| {
            task.deps.iter().all(|dep| {
                edges.next().is_some_and(|edge| edge.source().index() == *dep && edge.target().index() == idx)
            })
        }) && edges.next().is_none()
    };
    let graph = if same_edges {
        memo.graph.clone()
    } else {
        let mut graph = DiGraph::with_capacity(tasks.len(), tasks.len() * 2);
        for idx in 0..tasks.len() {
            graph.add_node(idx);
        }
        for (idx, task) in tasks.iter().enumerate() {
            for dep in &task.deps {
                graph.add_edge(NodeIndex::new(*dep), NodeIndex::new(idx), ());
            }
        }
        if memo.enabled {
            memo.graph = graph.clone();
        }
        graph
    };
    let graph_hash = Some(hash::graph_hash_in_order(
        &tasks.iter().map(|task| (&*task.id, task.hash)).collect::<Vec<_>>(),
        &mut memo.graph_order,
    ));
    if memo.enabled {
        memo.layout = Some(Layout { job_tasks, n_job_tasks, graph_hash });
    }
    (TaskGraph { tasks, graph, by_id, graph_hash }, diags)
}

/// Records that job `job_idx` uses the files of `job_memo` (a path listed twice is harmless).
fn add_file_users(users: &mut HashMap<Arc<str>, Vec<usize>>, job_idx: usize, job_memo: &JobMemo) {
    let paths = [&*job_memo.info.script, &*job_memo.info.launcher].into_iter();
    for path in paths.chain(job_memo.sourced.iter().map(|input| input.path.as_str())) {
        match users.get_mut(path) {
            Some(jobs) => {
                if jobs.last() != Some(&job_idx) {
                    jobs.push(job_idx);
                }
            }
            None => {
                users.insert(Arc::from(path), vec![job_idx]);
            }
        }
    }
}

/// Builds the graph by patching the last build's (handed back with [`BuildMemo::recycle`]) in
/// place: jobs of unchanged entries that use no changed file keep their tasks (moved entries get
/// their origins updated), the others are keyed again into the same slots, and aggregates whose
/// upstream changed are keyed again. `None` when the result could differ in shape from a full
/// build (a job appears, disappears or changes launch task, an id is taken, a file is missing,
/// a launcher changed): the caller then builds in full, which also reports any problem.
fn patch(input: &BuildInput<'_>, memo: &mut BuildMemo, changes: &Changes) -> Option<TaskGraph> {
    let mut graph = memo.recycled.take()?;
    let layout = memo.layout.as_ref()?;
    if graph.graph_hash != layout.graph_hash
        || layout.job_tasks.len() != input.jobs.len()
        || memo.jobs.len() != input.jobs.len()
    {
        return None;
    }
    let sources = input.sources;
    let paths: Vec<Arc<str>> = sources.files().map(|(_, file)| Arc::from(file.path.as_str())).collect();
    let changed_files: std::collections::HashSet<&str> = changes.files.iter().map(String::as_str).collect();
    // Jobs using a changed file, from the index (no job's own paths are read).
    let mut uses_changed = vec![false; input.jobs.len()];
    for path in &changes.files {
        for job_idx in memo.file_users.get(path.as_str()).into_iter().flatten() {
            *uses_changed.get_mut(*job_idx)? = true;
        }
    }
    let mut changed_entries = vec![false; input.sweep.entries.len()];
    for idx in &changes.entries {
        *changed_entries.get_mut(*idx)? = true;
    }
    let mut entry_lines: Vec<Option<u32>> = vec![None; input.sweep.entries.len()];
    let mut launch_seen = vec![false; graph.tasks.len()];
    let mut renames: Vec<(usize, Arc<str>)> = Vec::new();
    let mut keyed = 0;
    let mut dirty = false;
    for (job_idx, job) in input.jobs.iter().enumerate() {
        let (bench_idx, result_idx, eval_idx) = layout.job_tasks[job_idx]?;
        let old = memo.jobs[job_idx].as_deref()?;
        let entry = input.sweep.entries.get(job.origin.entry_idx)?;
        // A launch task comes from the first job that needs it: when that job's entry moved,
        // so did the launch task's origins (its hash does not cover them).
        let launch_idx = *graph.tasks[bench_idx].deps.first()?;
        if !std::mem::replace(launch_seen.get_mut(launch_idx)?, true) {
            let at = |span: Span| origin(sources, &paths, span);
            let launch = memo.launches.get_mut(&*old.launch_slot)?;
            let inputs = LaunchInputs::of(job, entry, &at, launch.inputs.launcher.clone());
            if launch.inputs != inputs {
                let (hash, manifest) = inputs.hash_and_manifest();
                if hash != launch.hash {
                    return None;
                }
                launch.inputs = inputs;
                launch.manifest = manifest;
                graph.tasks[launch_idx].manifest = TaskManifest::new(launch.manifest.clone());
            }
            graph.tasks[launch_idx].origin = Some(entry.image.span);
        }
        let entry_line = *entry_lines.get_mut(job.origin.entry_idx)?.get_or_insert_with(|| {
            sources.get(job.origin.entry_span.file).line_col(job.origin.entry_span.start).0 as u32
        });
        let file = &paths[job.origin.entry_span.file.0 as usize];
        // A job of an edited entry that is still the same job (relative spans) keeps its keys,
        // as in a full build with this memo.
        let unchanged = if changed_entries[job.origin.entry_idx] {
            !uses_changed[job_idx] && same_relative(&old.job, job)
        } else {
            !uses_changed[job_idx]
        };
        if unchanged {
            // The entry's text is the same, so is the job, unless the job list shifted (an edited
            // entry has more or fewer jobs) or evals were marked differently (marking looks
            // across entries).
            let (o, r) = (&old.job.origin, &job.origin);
            if (o.entry_idx, o.seq_idx, o.point_idx) != (r.entry_idx, r.seq_idx, r.point_idx)
                || old.job.run_eval != job.run_eval
                || old.job.shape != job.shape
            {
                return None;
            }
            let tasks = &mut graph.tasks;
            let delta = i64::from(entry_line) - i64::from(old.entry_line);
            if tasks[bench_idx].manifest.shift.as_ref().map_or(0, |(_, d)| *d) != delta {
                tasks[bench_idx].manifest = TaskManifest::shifted(&old.bench.1, file, delta);
            }
            let span = Some(job.origin.point_span);
            if tasks[bench_idx].origin != span {
                for idx in [Some(bench_idx), Some(result_idx), eval_idx].into_iter().flatten() {
                    tasks[idx].origin = span;
                }
            }
            continue;
        }
        // Keyed again, into the same slots.
        dirty = true;
        let node: Arc<str> = resolve_node(input.runners, &job.runner)?.into();
        let launcher_path: Arc<str> = naming::launcher_path(&node).into();
        let launch_slot: Arc<str> = format!("{}\0{}\0{}", job.image, entry.runner.value, launcher_path).into();
        if launch_slot != old.launch_slot || changed_files.contains(&*launcher_path) {
            return None;
        }
        let script_path: Arc<str> = naming::script_path(job, &node).into();
        let (script, sourced) = file_with_sources(input.files, &script_path)?;
        let launcher = FileInput { path: launcher_path.to_string(), digest: input.files.facts(&launcher_path)?.digest };
        let at = |span: Span| origin(sources, &paths, span);
        let new = key_job(&JobContext {
            job,
            job_idx,
            entry,
            at: &at,
            node: &node,
            entry_line,
            launch_slot: &launch_slot,
            script_path: &script_path,
            launcher_path: &launcher_path,
            script: &script,
            sourced: &sourced,
            launcher: &launcher,
            launch_hash: graph.tasks[launch_idx].hash,
        });
        keyed += 1;
        if new.eval.is_some() != eval_idx.is_some() || *graph.tasks[bench_idx].id != *old.bench_id {
            // Evals appeared or went, or the old id had been made unique.
            return None;
        }
        if new.bench_id != old.bench_id {
            // Applied after the loop: two jobs of one entry may swap ids (c4, c8 -> c8, c16).
            renames.push((bench_idx, new.bench_id.clone()));
            renames.push((result_idx, new.result_id.clone()));
            if let Some(idx) = eval_idx {
                renames.push((idx, new.eval_id.clone()));
            }
        }
        let span = Some(job.origin.point_span);
        let bench = &mut graph.tasks[bench_idx];
        bench.hash = new.bench.0;
        bench.manifest = TaskManifest::new(new.bench.1.clone());
        bench.origin = span;
        bench.bench = Some(BenchInfo { job_idx, ..new.info.clone() });
        let result = &mut graph.tasks[result_idx];
        result.hash = new.result.0;
        result.manifest = TaskManifest::new(new.result.1.clone());
        result.origin = span;
        if let (Some(idx), Some((hash, entries))) = (eval_idx, &new.eval) {
            let eval = &mut graph.tasks[idx];
            eval.hash = *hash;
            eval.manifest = TaskManifest::new(entries.clone());
            eval.origin = span;
        }
        add_file_users(&mut memo.file_users, job_idx, &new);
        memo.jobs[job_idx] = Some(new);
    }
    for (idx, _) in &renames {
        graph.by_id.remove(&graph.tasks[*idx].id);
    }
    for (idx, id) in renames {
        if graph.by_id.insert(id.clone(), idx).is_some() {
            return None;
        }
        graph.tasks[idx].id = id;
    }
    let n_job_tasks = layout.n_job_tasks;
    // Aggregates: a collect points at its entry (which may have moved); any aggregate whose
    // upstream (id, hash) list changed is keyed again.
    for idx in n_job_tasks..graph.tasks.len() {
        let task = &graph.tasks[idx];
        if task.kind == TaskKind::Collect {
            // Its first upstream is the first job's result (or eval) task, whose upstream is the bench.
            let first = task
                .deps
                .first()
                .and_then(|dep| graph.tasks[*dep].deps.first())
                .and_then(|bench| graph.tasks[*bench].bench.as_ref())
                .map(|info| info.job_idx);
            let span = first.and_then(|job_idx| input.jobs.get(job_idx)).map(|job| job.origin.entry_span);
            graph.tasks[idx].origin = span;
        }
        if !dirty {
            continue;
        }
        let task = &graph.tasks[idx];
        let old = memo.aggregates.get(&task.id)?;
        let same = old.upstream.len() == task.deps.len()
            && old.upstream.iter().zip(&task.deps).all(|((id, hash), dep)| {
                let up = &graph.tasks[*dep];
                up.hash == *hash && (Arc::ptr_eq(&up.id, id) || up.id == *id)
            });
        if same {
            continue;
        }
        let upstream: Vec<(Arc<str>, Digest)> =
            task.deps.iter().map(|dep| (graph.tasks[*dep].id.clone(), graph.tasks[*dep].hash)).collect();
        let stage = match task.kind {
            TaskKind::Collect => "collect",
            TaskKind::Summary => "summary",
            _ => "report",
        };
        let key = TaskKey::Aggregate(AggregateKey {
            stage,
            name: old.name.clone(),
            version: AGGREGATE_VERSION,
            upstream: upstream.iter().map(|(id, hash)| (id.to_string(), *hash)).collect(),
        });
        let (hash, manifest) = key.hash_and_manifest();
        let manifest: Manifest = manifest.into();
        let id = task.id.clone();
        let entry =
            AggregateMemo { kind: task.kind, name: old.name.clone(), upstream, hash, manifest: manifest.clone() };
        memo.aggregates.insert(id, entry);
        graph.tasks[idx].hash = hash;
        graph.tasks[idx].manifest = TaskManifest::new(manifest);
    }
    graph.graph_hash = Some(hash::graph_hash_in_order(
        &graph.tasks.iter().map(|task| (&*task.id, task.hash)).collect::<Vec<_>>(),
        &mut memo.graph_order,
    ));
    if let Some(layout) = &mut memo.layout {
        layout.graph_hash = graph.graph_hash;
    }
    memo.keyed = keyed;
    Some(graph)
}

/// The aggregate memo of one build: the previous build's aggregates and this build's.
struct Aggregates {
    previous: HashMap<Arc<str>, AggregateMemo>,
    next: HashMap<Arc<str>, AggregateMemo>,
    enabled: bool,
}

#[allow(clippy::too_many_arguments)]
fn aggregate(
    ctx: &mut Ctx<'_>,
    memo: &mut Aggregates,
    kind: TaskKind,
    stage: &'static str,
    id: String,
    name: String,
    deps: Vec<usize>,
    origin: Option<Span>,
) -> usize {
    // Reused when kind, name and every upstream (id, hash) are those of the previous build:
    // the key, and so its hash and manifest, are then the same.
    let remembered = memo.previous.remove(id.as_str()).filter(|old| {
        old.kind == kind
            && old.name == name
            && old.upstream.len() == deps.len()
            && old.upstream.iter().zip(&deps).all(|((old_id, old_hash), dep)| {
                let task = &ctx.tasks[*dep];
                task.hash == *old_hash && (Arc::ptr_eq(&task.id, old_id) || task.id == *old_id)
            })
    });
    let remembered = match remembered {
        Some(old) => old,
        None => {
            let upstream: Vec<(Arc<str>, Digest)> =
                deps.iter().map(|dep| (ctx.tasks[*dep].id.clone(), ctx.tasks[*dep].hash)).collect();
            let key = TaskKey::Aggregate(AggregateKey {
                stage,
                name: name.clone(),
                version: AGGREGATE_VERSION,
                upstream: upstream.iter().map(|(id, hash)| (id.to_string(), *hash)).collect(),
            });
            let (hash, manifest) = key.hash_and_manifest();
            AggregateMemo { kind, name, upstream, hash, manifest: manifest.into() }
        }
    };
    let task = Task {
        id: id.into(),
        kind,
        hash: remembered.hash,
        manifest: TaskManifest::new(remembered.manifest.clone()),
        deps,
        origin,
        bench: None,
    };
    let idx = ctx.push(task);
    if memo.enabled {
        // Keyed by the id the task got (unique), like the job memo.
        memo.next.insert(ctx.tasks[idx].id.clone(), remembered);
    }
    idx
}

/// What [`key_job`] needs to know about one job.
struct JobContext<'a> {
    job: &'a Job,
    job_idx: usize,
    entry: &'a crate::ir::ConfigEntry,
    at: &'a dyn Fn(Span) -> Option<Origin>,
    node: &'a Arc<str>,
    entry_line: u32,
    launch_slot: &'a Arc<str>,
    script_path: &'a Arc<str>,
    launcher_path: &'a Arc<str>,
    script: &'a FileInput,
    sourced: &'a [FileInput],
    launcher: &'a FileInput,
    launch_hash: Digest,
}

/// Keys one job: builds and hashes its bench, result and eval keys and names its tasks.
fn key_job(cx: &JobContext<'_>) -> Box<JobMemo> {
    let JobContext { job, entry, at, node, .. } = *cx;
    let image = Input::new(job.image.clone(), at(entry.image.span));
    let runner_type = Input::new(entry.runner.value.clone(), at(entry.runner.span));
    let key = bench_key(job, entry, at, image, runner_type, cx.script, cx.sourced, cx.launcher, cx.launch_hash);
    let (bench_hash, manifest) = key.hash_and_manifest();
    let result = TaskKey::Result(ResultKey { format_version: RESULT_FORMAT_VERSION, upstream_bench: bench_hash });
    let (result_hash, result_manifest) = result.hash_and_manifest();
    let eval = job.run_eval.then(|| {
        let eval = TaskKey::Eval(EvalKey { harness_version: EVAL_HARNESS_VERSION, upstream_bench: bench_hash });
        let (hash, manifest) = eval.hash_and_manifest();
        (hash, Manifest::from(manifest))
    });
    let bench_id = bench_id_of(job, node);
    let suffix = &bench_id["bench/".len()..];
    Box::new(JobMemo {
        job: relative_job(job),
        node: node.clone(),
        entry_line: cx.entry_line,
        launch_slot: cx.launch_slot.clone(),
        result_id: format!("result/{suffix}").into(),
        eval_id: format!("eval/{suffix}").into(),
        bench_id: bench_id.into(),
        info: BenchInfo {
            job_idx: cx.job_idx,
            node: node.clone(),
            script: cx.script_path.clone(),
            launcher: cx.launcher_path.clone(),
            result_filename: naming::result_filename(job, node).into(),
        },
        script: cx.script.clone(),
        sourced: cx.sourced.to_vec(),
        launcher: cx.launcher.digest,
        launch_hash: cx.launch_hash,
        bench: (bench_hash, manifest.into()),
        result: (result_hash, result_manifest.into()),
        eval,
    })
}

/// The key of one job's bench task, with origins for every field.
#[allow(clippy::too_many_arguments)]
fn bench_key(
    job: &Job,
    entry: &crate::ir::ConfigEntry,
    at: &dyn Fn(Span) -> Option<Origin>,
    image: Input<String>,
    runner_type: Input<String>,
    script: &FileInput,
    sourced: &[FileInput],
    launcher: &FileInput,
    launch_hash: Digest,
) -> TaskKey {
    let seq = entry.seq_len_configs.get(job.origin.seq_idx);
    let point = seq.and_then(|seq| seq.search_space.get(job.origin.point_idx));
    let seq_origin = |pick: fn(&crate::ir::SeqLenConfig) -> Span| seq.and_then(|seq| at(pick(seq)));
    let point_origin = point.and_then(|point| at(point.span()));
    let conc_origin = point
        .and_then(|point| {
            let conc = point.concurrency();
            conc.list.as_ref().map(|list| list.span).or_else(|| conc.start.as_ref().map(|start| start.span))
        })
        .and_then(at);
    let shape = match &job.shape {
        JobShape::Single { tp, ep, dp_attn, conc } => {
            let single = match point {
                Some(SearchPoint::Single(single)) => Some(single),
                _ => None,
            };
            let tp_origin = single.and_then(|s| at(s.tp.span)).or_else(|| point_origin.clone());
            let ep_origin =
                single.and_then(|s| s.ep.as_ref()).and_then(|ep| at(ep.span)).or_else(|| point_origin.clone());
            let dpa_origin =
                single.and_then(|s| s.dp_attn.as_ref()).and_then(|d| at(d.span)).or_else(|| point_origin.clone());
            BenchShape::Single {
                tp: Input::new(*tp, tp_origin),
                ep: Input::new(*ep, ep_origin),
                dp_attn: Input::new(*dp_attn, dpa_origin),
                conc: Input::new(*conc, conc_origin.clone()),
            }
        }
        JobShape::Multi { prefill, decode, conc } => BenchShape::Multi {
            prefill: Input::new(worker_text(prefill), point_origin.clone()),
            decode: Input::new(worker_text(decode), point_origin.clone()),
            conc: Input::new(conc.clone(), conc_origin.clone()),
        },
    };
    TaskKey::Bench(Box::new(BenchKey {
        image,
        model: Input::new(job.model.clone(), at(entry.model.span)),
        model_prefix: Input::new(job.model_prefix.clone(), at(entry.model_prefix.span)),
        precision: Input::new(job.precision.clone(), at(entry.precision.span)),
        framework: Input::new(job.framework.clone(), at(entry.framework.span)),
        runner_type,
        isl: Input::new(job.isl, seq_origin(|s| s.isl.span)),
        osl: Input::new(job.osl, seq_origin(|s| s.osl.span)),
        max_model_len: Input::new(job.max_model_len, seq_origin(|s| s.span)),
        exp_name: Input::new(job.exp_name.clone(), at(entry.model_prefix.span)),
        spec_decoding: Input::new(job.spec_decoding.as_str().to_string(), point_origin.clone()),
        disagg: Input::new(job.disagg, at(entry.span)),
        shape,
        script: script.clone(),
        sourced: sourced.to_vec(),
        launcher: launcher.clone(),
        client_version: BENCH_CLIENT_VERSION,
        upstream_launch: launch_hash,
    }))
}
