//! The GitHub Actions side of execution: the tasks to run as matrix JSON split into chunks of
//! at most 256 entries (GitHub's limit per matrix, which the reference ignores), and the
//! per-task artifact (`manifest.json` + result) that `ix collect-artifacts` verifies.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::atomic::{StoreError, write_atomic};

/// GitHub's limit of jobs per matrix.
pub const MAX_MATRIX_JOBS: usize = 256;

/// One matrix entry.
#[derive(Clone, Debug)]
pub struct MatrixEntry {
    pub task: String,
    pub label: String,
    pub runner: String,
}

/// Splits entries into `{"include": [...]}` objects of at most [`MAX_MATRIX_JOBS`] entries.
pub fn chunks(entries: &[MatrixEntry]) -> Vec<Value> {
    entries
        .chunks(MAX_MATRIX_JOBS)
        .map(|chunk| {
            let include: Vec<Value> =
                chunk.iter().map(|e| json!({ "task": e.task, "label": e.label, "runner": e.runner })).collect();
            json!({ "include": include })
        })
        .collect()
}

/// The `$GITHUB_OUTPUT` lines: `chunks=[0,1,...]`, `count=N`, then `matrix_<i>=<json>`.
pub fn output_lines(chunks: &[Value], n_tasks: usize) -> String {
    let ids: Vec<usize> = (0..chunks.len()).collect();
    let mut out = format!("chunks={}\ncount={n_tasks}\n", serde_json::to_string(&ids).unwrap_or_default());
    for (idx, chunk) in chunks.iter().enumerate() {
        out.push_str(&format!("matrix_{idx}={}\n", serde_json::to_string(chunk).unwrap_or_default()));
    }
    out
}

/// What a matrix job uploads next to its result file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub task: String,
    pub label: String,
    /// Unused (kept empty): the plan membership of `task` vouches for the hash.
    #[serde(default)]
    pub key: String,
    pub result_file: String,
    pub result_blake3: String,
}

/// Writes a task's artifact folder `<dir>/<hash>/`.
pub fn write_artifact(dir: &Path, manifest: &Manifest, result: &[u8]) -> Result<(), StoreError> {
    let folder = dir.join(&manifest.task);
    write_atomic(&folder.join(&manifest.result_file), result)?;
    write_atomic(&folder.join("manifest.json"), &serde_json::to_vec_pretty(manifest).unwrap_or_default())
}

/// Why an artifact was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("`{0}` has no readable manifest.json")]
    NoManifest(String),
    #[error("`{folder}`: the result file does not match the manifest's blake3 (tampered or truncated)")]
    ResultMismatch { folder: String },
    #[error("`{folder}`: task {task} is not in the current plan")]
    UnknownTask { folder: String, task: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies one artifact folder and returns its manifest and result bytes.
pub fn verify(folder: &Path, known: &dyn Fn(&str) -> bool) -> Result<(Manifest, Vec<u8>), ArtifactError> {
    let name = folder.display().to_string();
    let manifest: Manifest = std::fs::read(folder.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ArtifactError::NoManifest(name.clone()))?;
    // Artifacts carry no key text: the plan membership vouches for the hash.
    if !known(&manifest.task) {
        return Err(ArtifactError::UnknownTask { folder: name, task: manifest.task });
    }
    let file_name = Path::new(&manifest.result_file).file_name().map(|n| n.to_owned()).unwrap_or_default();
    let result =
        std::fs::read(folder.join(file_name)).map_err(|_| ArtifactError::ResultMismatch { folder: name.clone() })?;
    if blake3::hash(&result).to_hex().as_str() != manifest.result_blake3 {
        return Err(ArtifactError::ResultMismatch { folder: name });
    }
    Ok((manifest, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_hundred_tasks_make_three_chunks() {
        let entries: Vec<MatrixEntry> = (0..600)
            .map(|i| MatrixEntry { task: format!("{i:032}"), label: format!("t{i}"), runner: "local".into() })
            .collect();
        let chunks = chunks(&entries);
        let sizes: Vec<usize> = chunks.iter().map(|c| c["include"].as_array().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, [256, 256, 88]);
    }
}
