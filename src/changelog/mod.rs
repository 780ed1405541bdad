//! The perf-changelog (REFERENCE-SEMANTICS §6): the diff of `perf-changelog.yaml` between two
//! revisions, validation of the added entries with diagnostics at their lines in the head file,
//! key resolution against the master configs, and the jobs the entries trigger.
//!
//! Unlike the reference, the diff is taken from the merge base of the two revisions by default,
//! so a branch behind `main` does not see `main`'s newer entries as deletions. Git is run as a
//! child process; the master configs are read through `workspace` ([`load`]).

mod diff;
mod entry;
pub mod head;
pub mod load;

pub use diff::{AddedLines, DiffError, added_lines, git_diff, git_show};
pub use entry::{Entry, parse_entries, resolve_keys, wildcard_match};

use serde_json::{Map, Value, json};

use crate::expand::{self, EvalMode, Job, KeyOrder, TestConfig};
use crate::ir::{Sweep, seq_len_name};

/// A config key that an added entry forces to rerun, with the entry's line in the head file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forced {
    pub config_key: String,
    /// 1-based line of the entry in the head changelog.
    pub line: usize,
}

/// The config keys the added entries name (wildcards resolved), each with the line of the
/// first entry naming it: what `ix plan` forces ("forced by perf-changelog entry at line N").
///
/// `append-only` entries force nothing: they add points, and content hashing already runs
/// exactly the added points (new tasks) while reusing the published ones.
pub fn forced(entries: &[Entry], resolved: &[Vec<String>], head_text: &str) -> Vec<Forced> {
    let mut out: Vec<Forced> = Vec::new();
    for (entry, keys) in entries.iter().zip(resolved).filter(|(entry, _)| !entry.append_only) {
        let line = head_text[..(entry.span.start as usize).min(head_text.len())].matches('\n').count() + 1;
        for key in keys {
            if !out.iter().any(|f| &f.config_key == key) {
                out.push(Forced { config_key: key.clone(), line });
            }
        }
    }
    out
}

/// The reference processor's output object for the given entries.
pub fn jobs_output(
    sweep: &Sweep,
    entries: &[Entry],
    resolved: &[Vec<String>],
    base_ref: &str,
    head_ref: &str,
) -> Result<Value, Vec<crate::diag::Diag>> {
    let mut done: Vec<String> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (entry, keys) in entries.iter().zip(resolved) {
        let fresh: Vec<String> = keys.iter().filter(|k| !done.contains(k)).cloned().collect();
        if fresh.is_empty() {
            continue;
        }
        done.extend(fresh.iter().cloned());
        let mut entry_jobs = expand::test_config(sweep, &TestConfig { config_keys: fresh, conc: None })?;
        expand::mark_evals(&mut entry_jobs, if entry.evals_only { EvalMode::Only } else { EvalMode::Mark });
        jobs.extend(entry_jobs);
    }
    let mut single = Map::new();
    let mut multi = Map::new();
    for job in &jobs {
        let mut value = job.to_json(KeyOrder::Sweep);
        let bucket = seq_len_name(job.isl, job.osl);
        let target = if job.is_multinode() {
            for worker in ["prefill", "decode"] {
                if let Some(Value::Object(w)) = value.get_mut(worker) {
                    w.entry("additional-settings").or_insert_with(|| json!([]));
                }
            }
            &mut multi
        } else {
            &mut single
        };
        if let Value::Array(list) = target.entry(bucket).or_insert_with(|| json!([])) {
            list.push(value);
        }
    }
    let entries: Vec<Value> = entries.iter().map(Entry::to_json).collect();
    Ok(json!({
        "single_node": single,
        "multi_node": multi,
        "changelog_metadata": { "base_ref": base_ref, "head_ref": head_ref, "entries": entries },
    }))
}
