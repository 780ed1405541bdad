//! The crash-safe state store under `.ix/`: one verified record per completed task, artifacts by
//! content address, and a pid lock so two `ix` processes never write one store.
//!
//! Layout (all paths under the store directory):
//! - `tasks/<task hash>.json`: the record of a completed task (see [`StoredRecord`]);
//! - `by-id/<blake3 of task id>.json`: the hash of the latest record of a task id;
//! - `cas/<blake3>`: artifact bytes, named by their own blake3;
//! - `tmp/`: temporary files; a crash may leave some behind, they are never read;
//! - `lock`: the pid of the process holding the store.
//!
//! Invariant: a file outside `tmp/` is complete. Writes go to `tmp/`, are fsynced, renamed into
//! place and the directory is fsynced. Records and indices start with a checksum line over the
//! rest of the file, so a reader also detects corruption it did not cause (disk, manual edits).

mod cache;
mod record;

pub use cache::{ArtifactProblems, RecordCache};
pub use record::{ArtifactRef, ArtifactSource, Outcome, RecordHead, StoredRecord, TaskRecord};

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dag::hash::Digest;

/// Errors of the state store; each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The OS cause is part of the message (not a `source`), so every caller that prints the
    /// error with `to_string` shows it.
    #[error("cannot access state store file `{path}`: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("state store `{dir}` is locked by running process {pid}")]
    Locked { dir: PathBuf, pid: u32 },
    #[error("state store file `{path}` is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |cause| StateError::Io { path: path.to_path_buf(), cause }
}

/// A state store directory.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

/// The held lock; released (the lock file removed) on drop.
#[derive(Debug)]
pub struct StoreLock {
    path: PathBuf,
    /// Set when a stale lock of a dead process was taken over: that pid.
    pub took_over_from: Option<u32>,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Why a record's artifact cannot be used; the record is then treated as not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactProblem {
    /// No blob at the artifact's address.
    Missing { path: PathBuf },
    /// A blob whose size or content does not match the record's address.
    Corrupt { path: PathBuf, reason: String },
}

impl std::fmt::Display for ArtifactProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactProblem::Missing { path } => write!(f, "is missing (`{}`)", path.display()),
            ArtifactProblem::Corrupt { path, reason } => write!(f, "is corrupt (`{}`: {reason})", path.display()),
        }
    }
}

/// What [`StateStore::verify`] found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub records: usize,
    pub indices: usize,
    pub blobs: usize,
    pub corrupt: Vec<StateError>,
    /// Leftover temporary files (harmless).
    pub temporaries: usize,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

const RECORD_CONTEXT: &str = "ix 2026-11 state-record v1";
const CAS_CONTEXT: &str = "ix 2026-11 cas-blob v1";
const ID_CONTEXT: &str = "ix 2026-11 task-id v1";

/// The blake3 of an artifact's bytes (its CAS address).
pub fn blob_digest(bytes: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(CAS_CONTEXT);
    hasher.update(bytes);
    Digest(*hasher.finalize().as_bytes())
}

fn checksum(body: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(RECORD_CONTEXT);
    hasher.update(body);
    Digest(*hasher.finalize().as_bytes())
}

fn id_digest(id: &str) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(ID_CONTEXT);
    hasher.update(id.as_bytes());
    Digest(*hasher.finalize().as_bytes())
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl StateStore {
    /// Opens (creating if needed) a store directory.
    pub fn open(dir: &Path) -> Result<StateStore, StateError> {
        for sub in ["tasks", "by-id", "cas", "tmp"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(io(&path))?;
        }
        Ok(StateStore { dir: dir.to_path_buf() })
    }

    /// Opens a store only if it exists (planning never creates one).
    pub fn open_existing(dir: &Path) -> Result<Option<StateStore>, StateError> {
        if dir.join("tasks").is_dir() { StateStore::open(dir).map(Some) } else { Ok(None) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the writer lock. A lock left by a dead process is taken over (reported in the
    /// returned lock); one held by a live process is [`StateError::Locked`].
    pub fn lock(&self) -> Result<StoreLock, StateError> {
        let path = self.dir.join("lock");
        let mut took_over_from = None;
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(io(&path))?;
                    file.sync_all().map_err(io(&path))?;
                    return Ok(StoreLock { path, took_over_from });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let pid = text.trim().parse::<u32>().ok();
                    if let Some(pid) = pid
                        && pid != std::process::id()
                        && pid_alive(pid)
                    {
                        return Err(StateError::Locked { dir: self.dir.clone(), pid });
                    }
                    took_over_from = Some(pid.unwrap_or(0));
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                        Err(err) => return Err(StateError::Io { path, cause: err }),
                    }
                }
                Err(err) => return Err(StateError::Io { path, cause: err }),
            }
        }
        Err(StateError::Io { path, cause: std::io::Error::other("lock contention") })
    }

    /// Writes `bytes` to `target` atomically: temp file, fsync, rename, directory fsync.
    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<(), StateError> {
        let tmp = self.dir.join("tmp").join(format!(
            "{}-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ));
        {
            let mut file = File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(bytes).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, target).map_err(io(target))?;
        if let Some(parent) = target.parent() {
            File::open(parent).and_then(|dir| dir.sync_all()).map_err(io(parent))?;
        }
        Ok(())
    }

    fn write_checked(&self, target: &Path, body: &[u8]) -> Result<(), StateError> {
        let mut bytes = checksum(body).to_hex().into_bytes();
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        self.write_atomic(target, &bytes)
    }

    fn read_checked(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(StateError::Io { path: path.to_path_buf(), cause: err }),
        };
        let corrupt = |reason: &str| StateError::Corrupt { path: path.to_path_buf(), reason: reason.to_string() };
        let newline = bytes.iter().position(|b| *b == b'\n').ok_or_else(|| corrupt("no checksum line"))?;
        let stored = std::str::from_utf8(&bytes[..newline]).ok().and_then(Digest::from_hex);
        let body = &bytes[newline + 1..];
        if stored != Some(checksum(body)) {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(Some(body.to_vec()))
    }

    fn record_path(&self, hash: Digest) -> PathBuf {
        self.dir.join("tasks").join(format!("{}.json", hash.to_hex()))
    }

    fn index_path(&self, id: &str) -> PathBuf {
        self.dir.join("by-id").join(format!("{}.json", id_digest(id).to_hex()))
    }

    /// Stores an artifact and returns its address (idempotent). A blob already at that address
    /// is kept only when its content matches it: a damaged or truncated one is replaced, which is
    /// how rerunning a task repairs the store.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StateError> {
        let digest = blob_digest(bytes);
        let path = self.blob_path(digest);
        let intact = match fs::metadata(&path) {
            Ok(meta) => meta.len() == bytes.len() as u64 && fs::read(&path).is_ok_and(|old| old == bytes),
            Err(_) => false,
        };
        if !intact {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    fn blob_path(&self, digest: Digest) -> PathBuf {
        self.dir.join("cas").join(digest.to_hex())
    }

    /// Whether an artifact of a record is usable. With `read_content`, the blob is read and
    /// checked against its address; without, only a `stat` (existence and size), which is what a
    /// plan can afford for every reused task.
    pub fn check_artifact(&self, artifact: &ArtifactRef, read_content: bool) -> Result<(), ArtifactProblem> {
        let path = self.blob_path(artifact.digest);
        match fs::metadata(&path) {
            Ok(meta) if meta.len() != artifact.size => {
                return Err(ArtifactProblem::Corrupt {
                    path,
                    reason: format!("{} bytes, the record says {}", meta.len(), artifact.size),
                });
            }
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(ArtifactProblem::Missing { path }),
            Err(err) => return Err(ArtifactProblem::Corrupt { path, reason: err.to_string() }),
        }
        if read_content {
            match self.get_blob(artifact.digest) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(ArtifactProblem::Missing { path }),
                Err(StateError::Corrupt { reason, .. }) => return Err(ArtifactProblem::Corrupt { path, reason }),
                Err(err) => return Err(ArtifactProblem::Corrupt { path, reason: err.to_string() }),
            }
        }
        Ok(())
    }

    /// Reads an artifact, verifying it against its address.
    pub fn get_blob(&self, digest: Digest) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.blob_path(digest);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(StateError::Io { path, cause: err }),
        };
        if blob_digest(&bytes) != digest {
            return Err(StateError::Corrupt { path, reason: "content does not match its address".into() });
        }
        Ok(Some(bytes))
    }

    /// Records a completed task: artifacts first, then the record, then the id index. Each
    /// step is atomic, and a record is only referenced once everything it points to exists.
    pub fn record(&self, task_hash: Digest, record: TaskRecord) -> Result<StoredRecord, StateError> {
        let mut artifacts = Vec::new();
        for (name, source) in record.artifacts {
            let bytes = match source {
                ArtifactSource::Bytes(bytes) => bytes,
                ArtifactSource::Path(path) => fs::read(&path).map_err(io(&path))?,
            };
            let digest = self.put_blob(&bytes)?;
            artifacts.push(ArtifactRef { name, digest, size: bytes.len() as u64 });
        }
        let stored = StoredRecord {
            hash: task_hash,
            id: record.id,
            kind: record.kind,
            outcome: record.outcome,
            manifest: record.manifest,
            artifacts,
        };
        self.write_checked(&self.record_path(task_hash), &stored.to_json())?;
        let index = serde_json::json!({ "id": stored.id, "hash": task_hash.to_hex() });
        self.write_checked(&self.index_path(&stored.id), index.to_string().as_bytes())?;
        Ok(stored)
    }

    /// The verified record of a task hash, if any.
    pub fn get(&self, task_hash: Digest) -> Result<Option<StoredRecord>, StateError> {
        let path = self.record_path(task_hash);
        let Some(body) = Self::read_checked(&path)? else { return Ok(None) };
        let record = StoredRecord::from_json(&body)
            .ok_or_else(|| StateError::Corrupt { path: path.clone(), reason: "not a task record".into() })?;
        if record.hash != task_hash {
            return Err(StateError::Corrupt { path, reason: "record hash differs from its file name".into() });
        }
        Ok(Some(record))
    }

    /// The head of the record of a task hash, if any: the record is read and verified like
    /// [`StateStore::get`] does, but its manifest is not built.
    pub fn head(&self, task_hash: Digest) -> Result<Option<RecordHead>, StateError> {
        let path = self.record_path(task_hash);
        let Some(body) = Self::read_checked(&path)? else { return Ok(None) };
        let head = StoredRecord::head_from_json(&body)
            .ok_or_else(|| StateError::Corrupt { path: path.clone(), reason: "not a task record".into() })?;
        if head.hash != task_hash {
            return Err(StateError::Corrupt { path, reason: "record hash differs from its file name".into() });
        }
        Ok(Some(head))
    }

    /// The latest record stored for a task id (whatever its hash), if any.
    pub fn latest_for_id(&self, task_id: &str) -> Result<Option<StoredRecord>, StateError> {
        match self.latest_hash_for_id(task_id)? {
            Some(hash) => self.get(hash),
            None => Ok(None),
        }
    }

    /// The hash of the latest record stored for a task id, if any.
    pub fn latest_hash_for_id(&self, task_id: &str) -> Result<Option<Digest>, StateError> {
        let path = self.index_path(task_id);
        let Some(body) = Self::read_checked(&path)? else { return Ok(None) };
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| StateError::Corrupt { path: path.clone(), reason: "not an index entry".into() })?;
        let hash = value.get("hash").and_then(|h| h.as_str()).and_then(Digest::from_hex);
        let Some(hash) = hash else {
            return Err(StateError::Corrupt { path, reason: "index entry without a hash".into() });
        };
        Ok(Some(hash))
    }

    /// Loads and verifies every record, index entry and blob.
    pub fn verify(&self) -> Result<VerifyReport, StateError> {
        let mut report = VerifyReport::default();
        let list = |sub: &str| -> Result<Vec<PathBuf>, StateError> {
            let dir = self.dir.join(sub);
            let mut paths: Vec<PathBuf> =
                fs::read_dir(&dir).map_err(io(&dir))?.filter_map(|entry| entry.ok().map(|e| e.path())).collect();
            paths.sort();
            Ok(paths)
        };
        // Blobs already reported through a record that names them.
        let mut reported_blobs = Vec::new();
        for path in list("tasks")? {
            let hash = path.file_stem().and_then(|s| s.to_str()).and_then(Digest::from_hex);
            match hash {
                Some(hash) => match self.get(hash) {
                    Ok(Some(record)) => {
                        report.records += 1;
                        for artifact in &record.artifacts {
                            if let Err(problem) = self.check_artifact(artifact, true) {
                                if let ArtifactProblem::Corrupt { path, .. } = &problem {
                                    reported_blobs.push(path.clone());
                                }
                                report.corrupt.push(StateError::Corrupt {
                                    path: path.clone(),
                                    reason: format!("task `{}`: artifact `{}` {problem}", record.id, artifact.name),
                                });
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(err) => report.corrupt.push(err),
                },
                None => report.corrupt.push(StateError::Corrupt { path, reason: "unexpected file name".into() }),
            }
        }
        for path in list("by-id")? {
            match Self::read_checked(&path) {
                Ok(_) => report.indices += 1,
                Err(err) => report.corrupt.push(err),
            }
        }
        for path in list("cas")? {
            if reported_blobs.contains(&path) {
                continue;
            }
            let digest = path.file_name().and_then(|s| s.to_str()).and_then(Digest::from_hex);
            match digest.map(|digest| self.get_blob(digest)) {
                Some(Ok(_)) => report.blobs += 1,
                Some(Err(err)) => report.corrupt.push(err),
                None => report.corrupt.push(StateError::Corrupt { path, reason: "unexpected file name".into() }),
            }
        }
        report.temporaries = list("tmp")?.len();
        Ok(report)
    }
}
