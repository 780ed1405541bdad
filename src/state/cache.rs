//! Records read from a store, kept between the plans of one session (`ix plan --watch`).
//!
//! A plan looks up one record per task; reading and verifying thousands of record files is most
//! of a plan's time. [`RecordCache`] reads the missing ones on all cores and keeps them while the
//! store is unchanged: every write renames a file into `tasks/` or `by-id/`, which changes that
//! folder's modification and change times, and [`RecordCache::sync`] compares those before each
//! plan. Read errors are never cached, so a corrupt record is reported on every plan.
//! `ix run` plans once per process and does not keep a cache between runs.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use crate::dag::hash::Digest;
use crate::state::{StateError, StateStore, StoredRecord};

/// What identifies a state of the store's two record folders.
type Generation = [(u64, i64, i64, i64, i64); 2];

/// Records (and latest-record indices) of one store, valid for one [`Generation`].
#[derive(Debug, Default)]
pub struct RecordCache {
    generation: Option<Generation>,
    records: HashMap<Digest, Option<Arc<StoredRecord>>>,
    latest: HashMap<String, Option<Digest>>,
}

fn generation(store: &StateStore) -> Generation {
    ["tasks", "by-id"].map(|sub| match std::fs::metadata(store.dir().join(sub)) {
        Ok(meta) => (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec()),
        Err(_) => (0, 0, 0, 0, 0),
    })
}

impl RecordCache {
    /// Forgets everything when the store changed since the last call.
    pub fn sync(&mut self, store: &StateStore) {
        let now = generation(store);
        if self.generation != Some(now) {
            self.records.clear();
            self.latest.clear();
            self.generation = Some(now);
        }
    }

    /// Reads the records of `hashes` that are not cached yet, in parallel. Failed reads are
    /// left out (a later [`RecordCache::get`] reads again and returns the error).
    pub fn prefetch(&mut self, store: &StateStore, hashes: &[Digest]) {
        let missing: Vec<Digest> = hashes.iter().filter(|hash| !self.records.contains_key(hash)).copied().collect();
        if missing.is_empty() {
            return;
        }

        let threads =
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(8).min(missing.len().div_ceil(64));
        let chunk = missing.len().div_ceil(threads.max(1));
        let read: Vec<(Digest, Option<StoredRecord>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = missing
                .chunks(chunk)
                .map(|hashes| {
                    scope.spawn(move || {
                        hashes
                            .iter()
                            .filter_map(|hash| store.get(*hash).ok().map(|record| (*hash, record)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|worker| worker.join().unwrap_or_default()).collect()
        });
        for (hash, record) in read {
            self.records.insert(hash, record.map(Arc::new));
        }
    }

    /// The verified record of a task hash, if any.
    pub fn get(&mut self, store: &StateStore, hash: Digest) -> Result<Option<Arc<StoredRecord>>, StateError> {
        if let Some(record) = self.records.get(&hash) {
            return Ok(record.clone());
        }
        let record = store.get(hash)?.map(Arc::new);
        self.records.insert(hash, record.clone());
        Ok(record)
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
