//! Records read from a store, kept between the plans of one session (`ix plan --watch`).
//!
//! A plan looks up one record per task; reading and verifying thousands of record files is most
//! of a plan's time. [`RecordCache`] reads the missing ones on all cores and keeps them while the
//! store is unchanged: every write renames a file into `tasks/` or `by-id/`, which changes that
//! folder's modification and change times, and [`RecordCache::sync`] compares those before each
//! plan. Read errors are never cached, so a corrupt record is reported on every plan.
//! `ix run` plans once per process and does not keep a cache between runs.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use crate::dag::HashMap;
use crate::dag::hash::Digest;
use crate::state::{ArtifactProblem, Outcome, RecordHead};
use crate::state::{StateError, StateStore, StoredRecord};

/// What identifies a state of the store's two record folders and its blob folder (a deleted
/// blob makes a reused record's task run again).
type Generation = [(u64, i64, i64, i64, i64); 3];

/// A record's head, and the whole record once it was needed.
type Cached = (RecordHead, Option<Arc<StoredRecord>>);

/// The artifacts of a successful record that a `stat` finds missing or of the wrong size, by
/// artifact name.
pub type ArtifactProblems = Arc<[(String, ArtifactProblem)]>;

/// Records (and latest-record indices) of one store, valid for one [`Generation`].
#[derive(Debug, Default)]
pub struct RecordCache {
    generation: Option<Generation>,
    /// Each record's outcome, and the record itself once something needed more than the
    /// outcome: deciding run or reuse reads only the outcome.
    records: HashMap<Digest, Option<Cached>>,
    latest: HashMap<String, Option<Digest>>,
    /// The hashes that have a record file (`tasks/` listed once per generation), so a new
    /// task's lookup costs no failed open.
    listed: Option<HashMap<Digest, ()>>,
    /// The last plan's tasks, in order: hash and whether it was reused (see [`RecordCache::reused_before`]).
    last_plan: Vec<(Digest, bool)>,
    /// What `stat`ing each successful record's artifacts found, done by the prefetch threads
    /// (a cold plan stats thousands of blobs). Kept for the generation, which includes `cas/`:
    /// a deleted blob is seen at the next plan, a blob truncated in place at the next write.
    stats: HashMap<Digest, ArtifactProblems>,
}

/// `stat`s the artifacts of a successful record (nothing for a failed one).
fn stat_artifacts(store: &StateStore, head: &RecordHead) -> ArtifactProblems {
    if head.outcome != Outcome::Success {
        return Arc::from([]);
    }
    let problems = head.artifacts.iter().filter_map(|artifact| {
        store.check_artifact(artifact, false).err().map(|problem| (artifact.name.clone(), problem))
    });
    problems.collect()
}

fn generation(store: &StateStore) -> Generation {
    ["tasks", "by-id", "cas"].map(|sub| match std::fs::metadata(store.dir().join(sub)) {
        Ok(meta) => (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec()),
        Err(_) => (0, 0, 0, 0, 0),
    })
}

/// The hashes of the record files in `tasks/` (temporary and foreign names skipped).
fn list_records(store: &StateStore) -> HashMap<Digest, ()> {
    let Ok(entries) = std::fs::read_dir(store.dir().join("tasks")) else { return HashMap::default() };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let hash = name.to_str()?.strip_suffix(".json").and_then(Digest::from_hex)?;
            Some((hash, ()))
        })
        .collect()
}

impl RecordCache {
    /// Forgets everything when the store changed since the last call.
    pub fn sync(&mut self, store: &StateStore) {
        let now = generation(store);
        if self.generation != Some(now) {
            self.records.clear();
            self.latest.clear();
            self.last_plan.clear();
            self.stats.clear();
            self.listed = None;
            self.generation = Some(now);
        }
    }

    /// Reads the records of `hashes` that are not cached yet, in parallel. Failed reads are
    /// left out (a later [`RecordCache::get`] reads again and returns the error).
    pub fn prefetch(&mut self, store: &StateStore, hashes: &[Digest]) {
        let mut missing: Vec<Digest> = Vec::new();
        for (idx, hash) in hashes.iter().enumerate() {
            if !self.reused_before(idx, *hash) && !self.records.contains_key(hash) {
                missing.push(*hash);
            }
        }
        if missing.is_empty() {
            return;
        }
        let listed = self.listed.get_or_insert_with(|| list_records(store));
        missing.retain(|hash| {
            let exists = listed.contains_key(hash);
            if !exists {
                self.records.insert(*hash, None);
            }
            exists
        });
        if missing.is_empty() {
            return;
        }
        let threads =
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(8).min(missing.len().div_ceil(64));
        let chunk = missing.len().div_ceil(threads.max(1));
        type Read = (Digest, Option<(RecordHead, ArtifactProblems)>);
        let read: Vec<Read> = std::thread::scope(|scope| {
            let workers: Vec<_> = missing
                .chunks(chunk)
                .map(|hashes| {
                    scope.spawn(move || {
                        hashes
                            .iter()
                            .filter_map(|hash| {
                                let head = store.head(*hash).ok()?;
                                Some((
                                    *hash,
                                    head.map(|head| {
                                        let stats = stat_artifacts(store, &head);
                                        (head, stats)
                                    }),
                                ))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|worker| worker.join().unwrap_or_default()).collect()
        });
        for (hash, head) in read {
            let head = head.map(|(head, stats)| {
                self.stats.insert(hash, stats);
                head
            });
            self.records.insert(hash, head.map(|head| (head, None)));
        }
    }

    /// Whether the last plan (against this same store state) reused a task of this hash at
    /// position `idx`. Such a task is reused again without a lookup: its record is unchanged,
    /// and its upstream tasks (whose hashes are part of its own) were reused too.
    pub fn reused_before(&self, idx: usize, hash: Digest) -> bool {
        self.last_plan.get(idx).is_some_and(|(old, reused)| *reused && *old == hash)
    }

    /// Remembers the decisions of a plan for [`RecordCache::reused_before`].
    pub fn remember_plan(&mut self, tasks: impl Iterator<Item = (Digest, bool)>) {
        self.last_plan.clear();
        self.last_plan.extend(tasks);
    }

    /// The verified record of a task hash, if any.
    pub fn get(&mut self, store: &StateStore, hash: Digest) -> Result<Option<Arc<StoredRecord>>, StateError> {
        match self.records.get(&hash) {
            Some(None) => return Ok(None),
            Some(Some((_, Some(record)))) => return Ok(Some(record.clone())),
            _ => {}
        }
        let record = store.get(hash)?.map(Arc::new);
        self.records.insert(
            hash,
            record.as_ref().map(|record| {
                let head = RecordHead {
                    hash: record.hash,
                    outcome: record.outcome,
                    artifacts: record.artifacts.clone().into(),
                };
                (head, Some(record.clone()))
            }),
        );
        Ok(record)
    }

    /// The head (outcome and artifacts) of the record of a task hash, if there is one.
    pub fn head(&mut self, store: &StateStore, hash: Digest) -> Result<Option<RecordHead>, StateError> {
        if let Some(record) = self.records.get(&hash) {
            return Ok(record.as_ref().map(|(head, _)| head.clone()));
        }
        let head = store.head(hash)?;
        self.records.insert(hash, head.clone().map(|head| (head, None)));
        Ok(head)
    }

    /// What a `stat` of the artifacts of the record `head` (of task hash `hash`) finds.
    pub fn artifact_problems(&mut self, store: &StateStore, hash: Digest, head: &RecordHead) -> ArtifactProblems {
        if let Some(problems) = self.stats.get(&hash) {
            return problems.clone();
        }
        let problems = stat_artifacts(store, head);
        self.stats.insert(hash, problems.clone());
        problems
    }

    /// The latest record stored for a task id, if any.
    pub fn latest_for_id(&mut self, store: &StateStore, id: &str) -> Result<Option<Arc<StoredRecord>>, StateError> {
        let hash = match self.latest.get(id) {
            Some(hash) => *hash,
            None => {
                let hash = store.latest_hash_for_id(id)?;
                self.latest.insert(id.to_string(), hash);
                hash
            }
        };
        match hash {
            Some(hash) => self.get(store, hash),
            None => Ok(None),
        }
    }
}
