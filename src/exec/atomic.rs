//! Crash-safe file writes for the executor: a file is written to a temporary name in its
//! folder, fsynced, renamed into place, and the folder fsynced, so a reader never sees a partial
//! file. (Records themselves live in the engine's `state::StateStore`.)

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The OS cause is part of the message, so callers that print `to_string` show it.
    #[error("cannot write `{path}`: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("state store `{path}` is locked by running process {pid}")]
    Locked { path: PathBuf, pid: i32 },
    /// A state store failure, with its own path and cause (a record path that is a folder is
    /// reported as that path, not as the store).
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |cause| StoreError::Io { path: path.to_path_buf(), cause }
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
