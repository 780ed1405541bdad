//! Loading JSON files from a result directory (REFERENCE-SEMANTICS.md §9.2).
//!
//! Unlike the reference, which walks the filesystem in directory order, files are visited in
//! sorted path order so the collected list is the same on every machine.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a directory could not be collected.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CollectError {
    #[error("cannot read `{}`", path.display())]
    #[diagnostic(code(ix::results::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not valid JSON", path.display())]
    #[diagnostic(code(ix::results::invalid_json))]
    InvalidJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} malformed record file(s): {}", files.len(), malformed_list(files))]
    #[diagnostic(
        code(ix::results::malformed),
        help("fix or remove them, or pass `--skip-malformed` to leave them out of the tables")
    )]
    Malformed { files: Vec<(PathBuf, String)> },
}

fn malformed_list(files: &[(PathBuf, String)]) -> String {
    files.iter().map(|(path, reason)| format!("\n  `{}`: {reason}", path.display())).collect()
}

/// Every `*.json` file under `dir`, recursively, in sorted path order.
pub fn json_files_under(dir: &Path) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CollectError> {
    let io = |source| CollectError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io)?;
        if file_type.is_dir() || (file_type.is_symlink() && path.is_dir()) {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads and parses one JSON file.
pub fn read_json(path: &Path) -> Result<Value, CollectError> {
    let bytes = std::fs::read(path).map_err(|source| CollectError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| CollectError::InvalidJson { path: path.to_path_buf(), source })
}

/// Loads every `*.json` under `dir` (sorted by path) into one list, as `collect_results.py` does.
pub fn collect(dir: &Path) -> Result<Vec<Value>, CollectError> {
    map_parallel(&json_files_under(dir)?, read_json).into_iter().collect()
}

/// Applies `f` to every path on all available cores; results keep the order of `paths`.
/// Reading and parsing thousands of small files is the whole cost of collecting and summarising.
pub(crate) fn map_parallel<T: Send>(paths: &[PathBuf], f: impl Fn(&Path) -> T + Sync) -> Vec<T> {
    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(paths.len().max(1));
    if n_threads <= 1 || paths.len() < 64 {
        return paths.iter().map(|path| f(path)).collect();
    }
    let chunk_size = paths.len().div_ceil(n_threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk_size)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|path| f(path)).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}
