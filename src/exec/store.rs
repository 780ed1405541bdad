//! A stop-gap crash-safe store of finished tasks, used until the engine's state store lands.
//!
//! Layout under the root: `results/<hash>.json` (the task's result file) and
//! `done/<hash>.json` (its record), each written to a temporary file, fsynced and renamed, the
//! result before the record, so a record never names a missing result. A `lock` file holds the
//! pid of the running `ix`; a lock whose pid is dead is taken over.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::task::{Outcome, Task, TaskOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state store `{path}` is locked by running process {pid}")]
    Locked { path: PathBuf, pid: i32 },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// One finished task, as stored.
#[derive(Debug, Serialize, Deserialize)]
pub struct DoneRecord {
    pub hash: String,
    pub label: String,
    pub attempts: u32,
    pub elapsed_ms: u64,
    pub node: Option<String>,
    /// blake3 of the stored result file.
    pub result_blake3: String,
}

/// The store rooted at a folder.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

/// Held while a run uses the store; removes the lock file when dropped.
#[derive(Debug)]
pub struct StoreLock {
    path: PathBuf,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let mut file = File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(dir_file) = File::open(dir) {
        let _ = dir_file.sync_all();
    }
    Ok(())
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for the process; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl DirStore {
    pub fn new(root: &Path) -> DirStore {
        DirStore { root: root.to_path_buf() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the lock. Returns the lock and, when a stale lock was taken over, the dead pid.
    pub fn lock(&self) -> Result<(StoreLock, Option<i32>), StoreError> {
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let path = self.root.join("lock");
        let mut stale = None;
        for _ in 0..2 {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(std::process::id().to_string().as_bytes()).map_err(io(&path))?;
                    let _ = file.sync_all();
                    return Ok((StoreLock { path }, stale));
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid: i32 = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
                    if pid > 0 && pid_alive(pid) {
                        return Err(StoreError::Locked { path, pid });
                    }
                    stale = Some(pid);
                    fs::remove_file(&path).map_err(io(&path))?;
                }
                Err(err) => return Err(io(&path)(err)),
            }
        }
        Err(StoreError::Locked { path, pid: 0 })
    }

    pub fn result_path(&self, hash: &str) -> PathBuf {
        self.root.join("results").join(format!("{hash}.json"))
    }

    fn done_path(&self, hash: &str) -> PathBuf {
        self.root.join("done").join(format!("{hash}.json"))
    }

    /// The record of a finished task, if it is there and its result file is intact.
    pub fn get(&self, hash: &str) -> Option<DoneRecord> {
        let text = fs::read(self.done_path(hash)).ok()?;
        let record: DoneRecord = serde_json::from_slice(&text).ok()?;
        let result = fs::read(self.result_path(hash)).ok()?;
        (blake3::hash(&result).to_hex().as_str() == record.result_blake3).then_some(record)
    }

    /// Stores a result file's bytes and its record.
    pub fn put(&self, task: &Task, outcome: &TaskOutcome, result: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.result_path(&task.hash), result)?;
        let record = DoneRecord {
            hash: task.hash.clone(),
            label: task.label.clone(),
            attempts: outcome.attempts,
            elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
            node: outcome.node.clone(),
            result_blake3: blake3::hash(result).to_hex().to_string(),
        };
        let json = serde_json::to_vec_pretty(&record).unwrap_or_default();
        write_atomic(&self.done_path(&task.hash), &json)
    }
}

impl super::Recorder for DirStore {
    fn record(&self, task: &Task, outcome: &TaskOutcome) -> Result<(), StoreError> {
        let Outcome::Done { result } = &outcome.outcome else {
            return Ok(());
        };
        let bytes = fs::read(result).map_err(io(result))?;
        self.put(task, outcome, &bytes)
    }
}
