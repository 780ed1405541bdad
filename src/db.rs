//! The salsa database: project files as inputs, their digests and `source` edges as memoized
//! queries, so a re-plan after an edit rehashes only the files that changed.
//!
//! `db` holds no pipeline logic; it wires inputs to `dag::hash` and implements
//! [`ProjectFiles`] for `dag::build`. The only IO is reading and `stat`ing project files, done
//! outside the tracked functions (which stay pure) when an input is created or refreshed.
//! Sweep parsing is not a salsa query yet (see docs/engine.md, "Not done").

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use salsa::Setter;

use crate::dag::hash::file_digest;
use crate::dag::{FileFacts, ProjectFiles};

/// One project file: its project-relative path and bytes (`None` when it does not exist).
#[salsa::input]
pub struct ProjectFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub bytes: Option<Vec<u8>>,
}

/// Digest and `source` candidates of a file; `None` when the file does not exist.
#[salsa::tracked(returns(clone))]
pub fn file_facts(db: &dyn salsa::Database, file: ProjectFile) -> Option<FileFacts> {
    let bytes = file.bytes(db).as_ref()?;
    let text = String::from_utf8_lossy(bytes);
    Some(FileFacts { digest: file_digest(bytes), sourced: source_candidates(file.path(db), &text) })
}

/// Paths a shell script may `source` (`source F`, `. F`), relative to the project root.
///
/// A leading `$(dirname "$0")/`, `${BASH_SOURCE%/*}/` or similar is read as "the script's
/// folder"; both the script's folder and the project root are offered, and `dag` keeps the ones
/// that exist. Files outside the project are ignored.
pub fn source_candidates(script: &str, text: &str) -> Vec<String> {
    let script_dir = Path::new(script).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let rest = if let Some(rest) = line.strip_prefix("source ") {
            rest
        } else if let Some(rest) = line.strip_prefix(". ") {
            rest
        } else {
            continue;
        };
        let rest = rest.split(" #").next().unwrap_or(rest).trim();
        let rest = rest.split([';', '&', '|']).next().unwrap_or(rest).trim();
        let unquoted: String = rest.chars().filter(|c| *c != '"' && *c != '\'').collect();
        let relative = if unquoted.starts_with('$') {
            match unquoted.rfind([')', '}']) {
                Some(end) => unquoted[end + 1..].trim_start_matches('/').to_string(),
                None => continue,
            }
        } else {
            unquoted
        };
        if relative.is_empty() || relative.starts_with('/') || relative.contains('$') {
            continue;
        }
        for base in [script_dir, Path::new("")] {
            if let Some(path) = normalize(&base.join(&relative))
                && !out.contains(&path)
            {
                out.push(path);
            }
        }
    }
    out
}

fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: Option<u64>,
}

fn stamp(path: &Path) -> Stamp {
    match std::fs::metadata(path) {
        Ok(meta) => Stamp { modified: meta.modified().ok(), len: Some(meta.len()) },
        Err(_) => Stamp { modified: None, len: None },
    }
}

/// The project's files under one root, as salsa inputs.
pub struct ProjectDb {
    db: salsa::DatabaseImpl,
    root: PathBuf,
    files: RefCell<HashMap<String, (ProjectFile, Stamp)>>,
}

impl ProjectDb {
    pub fn new(root: &Path) -> ProjectDb {
        ProjectDb { db: salsa::DatabaseImpl::new(), root: root.to_path_buf(), files: RefCell::new(HashMap::new()) }
    }

    /// Re-`stat`s every known file and updates the inputs that changed; returns how many did.
    pub fn refresh(&mut self) -> usize {
        let mut changed = Vec::new();
        for (path, (file, old)) in self.files.get_mut().iter_mut() {
            let new = stamp(&self.root.join(path));
            if new != *old {
                *old = new;
                changed.push(*file);
            }
        }
        for file in &changed {
            let path = file.path(&self.db).clone();
            let bytes = std::fs::read(self.root.join(&path)).ok();
            file.set_bytes(&mut self.db).to(bytes);
        }
        changed.len()
    }

    /// Whether any file read so far differs (mtime, size, existence) from when it was read.
    pub fn changed(&self) -> bool {
        self.files.borrow().iter().any(|(path, (_, old))| stamp(&self.root.join(path)) != *old)
    }

    /// The paths of every file read so far (what `--watch` polls).
    pub fn known_paths(&self) -> Vec<PathBuf> {
        self.files.borrow().keys().map(|path| self.root.join(path)).collect()
    }
}

impl ProjectFiles for ProjectDb {
    fn facts(&self, path: &str) -> Option<FileFacts> {
        let existing = self.files.borrow().get(path).map(|(file, _)| *file);
        let file = match existing {
            Some(file) => file,
            None => {
                let full = self.root.join(path);
                let stamp = stamp(&full);
                let bytes = std::fs::read(&full).ok();
                let file = ProjectFile::new(&self.db, path.to_string(), bytes);
                self.files.borrow_mut().insert(path.to_string(), (file, stamp));
                file
            }
        };
        file_facts(&self.db, file)
    }
}

#[cfg(test)]
mod tests {
    use super::source_candidates;

    #[test]
    fn source_lines_are_found_relative_to_the_script_and_the_root() {
        let text = "#!/bin/bash\nsource \"$(dirname \"$0\")/benchmark_lib.sh\"\n. lib/env.sh # env\necho source x\n";
        assert_eq!(
            source_candidates("benchmarks/a.sh", text),
            vec!["benchmarks/benchmark_lib.sh", "benchmark_lib.sh", "benchmarks/lib/env.sh", "lib/env.sh"]
        );
    }
}
