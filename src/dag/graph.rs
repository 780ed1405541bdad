//! The task graph's types: task kinds, tasks with their manifests, the graph, and the fast
//! hash map the engine's maps use.

use super::*;

/// The maps of this module hash short strings (task ids, paths) thousands of times per build:
/// a multiply-rotate hasher (FxHash's) instead of SipHash. Keys are the project's own names,
/// so resistance to crafted collisions is not needed.
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// FxHash: `hash = (hash.rotl(5) ^ word) * K` over 8-byte words.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    pub(super) fn add(&mut self, word: u64) {
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
    pub(super) entries: Manifest,
    pub(super) shift: Option<(Arc<str>, i64)>,
}

impl TaskManifest {
    pub fn new(entries: Manifest) -> TaskManifest {
        TaskManifest { entries, shift: None }
    }

    /// `entries` whose origins in `file` move by `delta` lines (applied when read: a re-plan
    /// after an edit above thousands of jobs touches none of their manifests).
    pub(super) fn shifted(entries: &Manifest, file: &Arc<str>, delta: i64) -> TaskManifest {
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
