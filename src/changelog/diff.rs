//! The changelog diff: `git diff` between two revisions (from their merge base by default),
//! reduced to the added lines with their line numbers in the head file. Deleting or changing a
//! non-blank line is an error.

use std::path::Path;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot run git: {0}")]
    Git(String),
    #[error("`{rev}` is not a revision of this repository")]
    BadRevision { rev: String },
    #[error("no merge base between `{base}` and `{head}`")]
    NoMergeBase { base: String, head: String },
    #[error("deletions are not allowed in `{file}`; only additions are permitted. Found deleted line: {content}")]
    Deletion { file: String, content: String, head_line: usize },
}

/// The added lines of a diff and, for each, its 1-based line number in the head file.
#[derive(Debug, Default)]
pub struct AddedLines {
    pub lines: Vec<String>,
    pub head_lines: Vec<usize>,
}

impl AddedLines {
    /// The added lines joined with newlines (what the reference parses as YAML).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn git(repo: &Path, args: &[&str]) -> Result<std::process::Output, DiffError> {
    Command::new("git").arg("-C").arg(repo).args(args).output().map_err(|e| DiffError::Git(e.to_string()))
}

fn rev_parse(repo: &Path, rev: &str) -> Result<String, DiffError> {
    let out = git(repo, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])?;
    if !out.status.success() {
        return Err(DiffError::BadRevision { rev: rev.to_string() });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `git diff <from> <head> -- <file>`, where `from` is the merge base of base and head unless
/// `base_tip` asks for the reference's behavior.
pub fn git_diff(repo: &Path, base: &str, head: &str, file: &str, base_tip: bool) -> Result<String, DiffError> {
    let base_commit = rev_parse(repo, base)?;
    let head_commit = rev_parse(repo, head)?;
    let from = if base_tip {
        base_commit
    } else {
        let out = git(repo, &["merge-base", &base_commit, &head_commit])?;
        if !out.status.success() {
            return Err(DiffError::NoMergeBase { base: base.to_string(), head: head.to_string() });
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let out = git(repo, &["diff", "--no-color", "--no-ext-diff", &from, &head_commit, "--", file])?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The file's text at a revision (empty when it does not exist there).
pub fn git_show(repo: &Path, rev: &str, file: &str) -> Result<String, DiffError> {
    let commit = rev_parse(repo, rev)?;
    let out = git(repo, &["show", &format!("{commit}:{file}")])?;
    Ok(if out.status.success() { String::from_utf8_lossy(&out.stdout).into_owned() } else { String::new() })
}

/// Reduces a unified diff to its added lines; a deleted non-blank line is an error.
pub fn added_lines(diff: &str, file: &str) -> Result<AddedLines, DiffError> {
    let mut added = AddedLines::default();
    let mut head_line = 0usize;
    for line in diff.lines() {
        if let Some(hunk) = line.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@
            head_line = hunk
                .split_whitespace()
                .find_map(|part| part.strip_prefix('+'))
                .and_then(|part| part.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            continue;
        }
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        if let Some(content) = line.strip_prefix('-') {
            if !content.trim().is_empty() {
                return Err(DiffError::Deletion { file: file.to_string(), content: content.to_string(), head_line });
            }
        } else if let Some(content) = line.strip_prefix('+') {
            added.lines.push(content.to_string());
            added.head_lines.push(head_line);
            head_line += 1;
        } else if line.starts_with(' ') {
            head_line += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_track_head_line_numbers() {
        let diff = "--- a/f\n+++ b/f\n@@ -3,2 +3,4 @@\n x\n-\n+a\n+b\n y\n";
        let added = added_lines(diff, "f").map_err(|e| e.to_string());
        let added = added.as_ref().map(|a| (a.lines.clone(), a.head_lines.clone()));
        assert_eq!(added, Ok((vec!["a".to_string(), "b".to_string()], vec![4, 5])));
    }

    #[test]
    fn deleted_text_is_an_error() {
        assert!(matches!(added_lines("@@ -1 +1 @@\n-x\n+y\n", "f"), Err(DiffError::Deletion { .. })));
    }
}
