//! The task graph plus the state store to a [`Plan`]: each task is run or reused, with reasons.
//!
//! Not a salsa query: it reads the store. A task is reused when a successful record exists for
//! its exact hash and it is not forced and nothing it depends on runs. Otherwise the stored
//! manifest of the latest record of the same task id is diffed against the new one to say why.

pub mod render;

use std::collections::HashMap;

use crate::dag::TaskGraph;
use crate::dag::hash::Digest;
use crate::dag::task_key::{FILE_ROLES, KEY_FORMAT, KEY_FORMAT_NAME, ManifestEntry, Origin, UPSTREAM_PREFIX};
use crate::state::{ArtifactProblem, Outcome, RecordCache, RecordHead, StateError, StateStore, StoredRecord};

/// Run or reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Run,
    Reuse,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Run => "run",
            Action::Reuse => "reuse",
        }
    }
}

/// Why a task runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No record of this task id exists.
    New,
    /// A job field changed.
    InputChanged { input: String, old: String, new: String, origin: Option<Origin> },
    /// A script, sourced file or launcher changed.
    ScriptChanged { file: String, old: String, new: String },
    /// A dependency runs (or its hash changed).
    UpstreamChanged { dep: String },
    /// The record for this exact hash says the task failed.
    PreviousFailed,
    /// A force rule matched (`--force SELECTOR`, or a perf-changelog entry).
    Forced { selector: String, by: String },
    /// The key is the same as last time but the record is missing or unreadable.
    CacheMissing { detail: String },
    /// The last record was keyed by an older layout of task keys (an older `ix`), so its
    /// inputs cannot be compared: the task reruns once under the new layout.
    KeyFormatChanged { old: String },
    /// A successful record names an artifact whose blob is not in the store.
    ArtifactMissing { artifact: String, path: String },
    /// A successful record names an artifact whose blob does not match its address.
    ArtifactCorrupt { artifact: String, path: String, detail: String },
}

impl Reason {
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::InputChanged { .. } => "input_changed",
            Reason::ScriptChanged { .. } => "script_changed",
            Reason::UpstreamChanged { .. } => "upstream_changed",
            Reason::PreviousFailed => "previous_failed",
            Reason::Forced { .. } => "forced",
            Reason::CacheMissing { .. } => "cache_missing",
            Reason::KeyFormatChanged { .. } => "key_format_changed",
            Reason::ArtifactMissing { .. } => "artifact_missing",
            Reason::ArtifactCorrupt { .. } => "artifact_corrupt",
        }
    }

    /// One line for humans, also the grouping key of root causes.
    pub fn describe(&self) -> String {
        match self {
            Reason::New => "new".to_string(),
            // Images show short digests; one that keeps its reference and changes its digest
            // reads `image REF OLD -> NEW`.
            Reason::InputChanged { input, old, new, origin } if input == "image" => {
                let at = origin.as_ref().map_or(String::new(), |origin| format!(" ({origin})"));
                let (old, new) = (short_digests(old), short_digests(new));
                match (old.split_once(' '), new.split_once(' ')) {
                    (Some((old_ref, old_digest)), Some((new_ref, new_digest))) if old_ref == new_ref => {
                        format!("input changed: image {old_ref} {old_digest} -> {new_digest}{at}")
                    }
                    _ => format!("input changed: image {old} -> {new}{at}"),
                }
            }
            Reason::InputChanged { input, old, new, origin } => match origin {
                Some(origin) => format!("input changed: {input} {old} -> {new} ({origin})"),
                None => format!("input changed: {input} {old} -> {new}"),
            },
            Reason::ScriptChanged { file, old, new } => format!("script changed: {file} ({old} -> {new})"),
            Reason::UpstreamChanged { dep } => format!("upstream changed: {dep}"),
            Reason::PreviousFailed => "previous run failed".to_string(),
            Reason::Forced { by, .. } => format!("forced by {by}"),
            Reason::CacheMissing { detail } => format!("cache missing: {detail}"),
            Reason::KeyFormatChanged { old } => {
                format!("key format changed ({old} -> {KEY_FORMAT}): recorded by an older ix")
            }
            Reason::ArtifactMissing { artifact, path } => format!("artifact missing: `{artifact}` ({path})"),
            Reason::ArtifactCorrupt { artifact, path, detail } => {
                format!("artifact corrupt: `{artifact}` ({path}: {detail})")
            }
        }
    }

    /// Whether this reason says the task's own record cannot be used (so an executor must not
    /// take its stored outputs even when the record says success).
    pub fn invalidates_record(&self) -> bool {
        matches!(self, Reason::Forced { .. } | Reason::ArtifactMissing { .. } | Reason::ArtifactCorrupt { .. })
    }
}

/// `text` with every `sha256:`/`blake3:` digest cut to its first 12 hex digits and `…`.
fn short_digests(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.split_once(':') {
            Some((algo @ ("sha256" | "blake3"), hex)) if hex.len() > 12 => format!("{algo}:{}…", &hex[..12]),
            _ => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The decision for one task (same index as in the graph).
#[derive(Clone, Debug)]
pub struct PlannedTask {
    pub action: Action,
    pub reasons: Vec<Reason>,
    /// The hash of the latest stored record of this id, when it differs.
    pub previous: Option<Digest>,
    /// The root cause this task runs for (its own first reason, or its upstream's root).
    pub root: Option<String>,
}

/// A plan: the graph and one decision per task.
#[derive(Clone, Debug)]
pub struct Plan {
    pub graph: TaskGraph,
    pub tasks: Vec<PlannedTask>,
    /// Problems reading the store (treated as misses), for warnings.
    pub store_warnings: Vec<String>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.tasks.iter().filter(|task| task.action == action).count()
    }
}

/// Plan options.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Tasks to rerun whatever the store says.
    pub force: Vec<ForceRule>,
    /// Read every reused record's artifacts and check them against their addresses. Without it
    /// a plan only `stat`s them (a missing or resized blob is caught, a same-size byte flip is
    /// not): `ix plan` stays fast, and `ix run`, which is about to use the blobs, turns it on.
    pub verify_artifacts: bool,
}

/// A rule forcing reruns: a selector plus who asked, for the reason text.
///
/// The selector is a task-id glob (`bench/dsr1-fp8-*`, `*` matches anything; a plain prefix
/// also matches) or `INPUT=GLOB` against the task's manifest (`runner=h100`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForceRule {
    pub selector: String,
    /// Shown as "forced by …": `--force 'runner=h100'`, `perf-changelog entry at line 12`.
    pub by: String,
}

impl ForceRule {
    /// A rule from the command line.
    pub fn from_flag(selector: &str) -> ForceRule {
        ForceRule { selector: selector.to_string(), by: format!("--force {selector}") }
    }
}

/// Whether `pattern` (with `*` wildcards) matches all of `text`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (idx, part) in parts.iter().enumerate() {
        if idx == 0 {
            let Some(stripped) = rest.strip_prefix(part) else { return false };
            rest = stripped;
        } else if idx == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn selector_matches(selector: &str, id: &str, manifest: &[ManifestEntry]) -> bool {
    match selector.split_once('=') {
        Some((name, value)) => manifest.iter().any(|entry| entry.name == name && glob_match(value, &entry.value)),
        None => glob_match(selector, id) || (!selector.contains('*') && id.starts_with(selector)),
    }
}

/// Compares a stored manifest with a new one, as reasons (upstream entries left out).
pub fn manifest_reasons(old: &[ManifestEntry], new: &[ManifestEntry]) -> Vec<Reason> {
    let old_map: HashMap<&str, &ManifestEntry> = old.iter().map(|entry| (&*entry.name, entry)).collect();
    let new_names: std::collections::HashSet<&str> = new.iter().map(|entry| &*entry.name).collect();
    let mut reasons = Vec::new();
    let file_of = |name: &str| -> Option<String> {
        FILE_ROLES
            .iter()
            .find_map(|role| name.strip_prefix(role).and_then(|rest| rest.strip_prefix(' ')).map(str::to_string))
    };
    // Files are matched by role, so a renamed script shows as "script changed".
    let role_of = |name: &str| FILE_ROLES.iter().find(|role| name.starts_with(&format!("{role} "))).copied();
    for entry in new {
        if entry.name.starts_with(UPSTREAM_PREFIX) {
            continue;
        }
        match old_map.get(&*entry.name) {
            Some(previous) if previous.value == entry.value => {}
            Some(previous) => match file_of(&entry.name) {
                Some(file) => {
                    reasons.push(Reason::ScriptChanged { file, old: previous.value.clone(), new: entry.value.clone() })
                }
                None => reasons.push(Reason::InputChanged {
                    input: entry.name.to_string(),
                    old: previous.value.clone(),
                    new: entry.value.clone(),
                    origin: entry.origin.clone(),
                }),
            },
            None => match file_of(&entry.name) {
                Some(file) => {
                    let role = role_of(&entry.name);
                    let old_file = old.iter().find(|o| role_of(&o.name) == role && !new_names.contains(&*o.name));
                    let old_value = old_file.map_or("(none)".to_string(), |o| format!("{} {}", o.name, o.value));
                    reasons.push(Reason::ScriptChanged { file, old: old_value, new: entry.value.clone() });
                }
                None => reasons.push(Reason::InputChanged {
                    input: entry.name.to_string(),
                    old: "(none)".into(),
                    new: entry.value.clone(),
                    origin: entry.origin.clone(),
                }),
            },
        }
    }
    for entry in old {
        if entry.name.starts_with(UPSTREAM_PREFIX) || new_names.contains(&*entry.name) {
            continue;
        }
        if entry.name.starts_with("sourced ") {
            reasons.push(Reason::ScriptChanged {
                file: entry.name["sourced ".len()..].to_string(),
                old: entry.value.clone(),
                new: "(no longer sourced)".into(),
            });
        } else if file_of(&entry.name).is_none() {
            reasons.push(Reason::InputChanged {
                input: entry.name.to_string(),
                old: entry.value.clone(),
                new: "(none)".into(),
                origin: entry.origin.clone(),
            });
        }
    }
    reasons
}

fn lookup<T>(result: Result<Option<T>, StateError>, warnings: &mut Vec<String>) -> (Option<T>, Option<String>) {
    match result {
        Ok(value) => (value, None),
        Err(err) => {
            let text = match &err {
                StateError::Corrupt { path, reason } => format!("{}: {reason}", path.display()),
                other => other.to_string(),
            };
            if !warnings.contains(&text) {
                warnings.push(text.clone());
            }
            (None, Some(text))
        }
    }
}

/// Why a successful record cannot be reused: one reason per artifact that is missing or does
/// not match its address (see [`PlanOptions::verify_artifacts`] for how far that is checked).
fn artifact_reasons(
    store: &StateStore,
    cache: &mut RecordCache,
    hash: Digest,
    head: &RecordHead,
    read_content: bool,
) -> Vec<Reason> {
    let problems: Vec<(String, ArtifactProblem)> = if read_content {
        let checked = head.artifacts.iter().map(|a| (a.name.clone(), store.check_artifact(a, true)));
        checked.filter_map(|(name, result)| result.err().map(|problem| (name, problem))).collect()
    } else {
        cache.artifact_problems(store, hash, head).to_vec()
    };
    problems
        .into_iter()
        .map(|(artifact, problem)| match problem {
            ArtifactProblem::Missing { path } => Reason::ArtifactMissing { artifact, path: path.display().to_string() },
            ArtifactProblem::Corrupt { path, reason } => {
                Reason::ArtifactCorrupt { artifact, path: path.display().to_string(), detail: reason }
            }
        })
        .collect()
}

/// Decides run or reuse for every task of `graph` (tasks are in dependency order).
///
/// Records come through `cache` (read in parallel the first time; a session keeps the cache
/// between plans, see [`RecordCache`]).
pub fn plan(graph: TaskGraph, store: Option<&StateStore>, opts: &PlanOptions, cache: &mut RecordCache) -> Plan {
    if let Some(store) = store {
        cache.sync(store);
        cache.prefetch(store, &graph.tasks.iter().map(|task| task.hash).collect::<Vec<_>>());
    }
    let mut warnings = Vec::new();
    let mut decided: Vec<PlannedTask> = Vec::with_capacity(graph.tasks.len());
    let unforced = opts.force.is_empty();
    for (idx, task) in graph.tasks.iter().enumerate() {
        if unforced && !opts.verify_artifacts && store.is_some() && cache.reused_before(idx, task.hash) {
            decided.push(PlannedTask { action: Action::Reuse, reasons: Vec::new(), previous: None, root: None });
            continue;
        }
        let mut reasons = Vec::new();
        let mut previous = None;
        let mut root = None;
        for rule in &opts.force {
            if selector_matches(&rule.selector, &task.id, &task.manifest.entries()) {
                reasons.push(Reason::Forced { selector: rule.selector.clone(), by: rule.by.clone() });
            }
        }
        let (exact, exact_err) = match store {
            Some(store) => lookup(cache.head(store, task.hash), &mut warnings),
            None => (None, None),
        };
        match exact.as_ref().map(|head| head.outcome) {
            Some(Outcome::Success) => {
                // A success whose outputs are gone or damaged is not done (issue #17).
                if let (Some(store), Some(head)) = (store, &exact) {
                    reasons.extend(artifact_reasons(store, cache, task.hash, head, opts.verify_artifacts));
                }
            }
            Some(Outcome::Failed) => reasons.push(Reason::PreviousFailed),
            None => {
                let (latest, _) = match store {
                    Some(store) => lookup(cache.latest_for_id(store, &task.id), &mut warnings),
                    None => (None, None),
                };
                match latest {
                    None => match exact_err {
                        Some(detail) => reasons.push(Reason::CacheMissing { detail }),
                        None => reasons.push(Reason::New),
                    },
                    Some(record) => {
                        let StoredRecord { hash, manifest, .. } = &*record;
                        let hash = *hash;
                        if hash == task.hash {
                            reasons.push(Reason::CacheMissing {
                                detail: exact_err.unwrap_or_else(|| "record missing".to_string()),
                            });
                        } else {
                            previous = Some(hash);
                            if task.kind == crate::dag::TaskKind::Launch
                                && let Some(store) = store
                                && launch_got_it(store, &record, &task.manifest.entries())
                            {
                                // Keyed while its digest was unknown, it got exactly this one.
                                decided.push(PlannedTask {
                                    action: Action::Reuse,
                                    reasons: Vec::new(),
                                    previous: Some(hash),
                                    root: None,
                                });
                                continue;
                            }
                            let format = manifest.iter().find(|e| e.name == KEY_FORMAT_NAME).map(|e| e.value.as_str());
                            if format != Some(KEY_FORMAT) {
                                reasons.push(Reason::KeyFormatChanged { old: format.unwrap_or("1").to_string() });
                            }
                            let own = if reasons.iter().any(|r| matches!(r, Reason::KeyFormatChanged { .. })) {
                                Vec::new()
                            } else {
                                manifest_reasons(manifest, &task.manifest.entries())
                            };
                            if own.is_empty() && reasons.is_empty() {
                                // Only upstream hashes differ: name the first changed dependency.
                                if let Some(dep) = task.deps.first() {
                                    reasons.push(Reason::UpstreamChanged { dep: graph.tasks[*dep].id.to_string() });
                                    root = decided[*dep].root.clone();
                                }
                            }
                            reasons.extend(own);
                        }
                    }
                }
            }
        }
        // A dependency that runs makes this task run too.
        let running_dep = task.deps.iter().copied().find(|dep| decided[*dep].action == Action::Run);
        if let Some(dep) = running_dep
            && !reasons.iter().any(|r| matches!(r, Reason::UpstreamChanged { .. }))
        {
            reasons.push(Reason::UpstreamChanged { dep: graph.tasks[dep].id.to_string() });
        }
        let action = if reasons.is_empty() { Action::Reuse } else { Action::Run };
        if action == Action::Run {
            let own = reasons.iter().find(|r| !matches!(r, Reason::UpstreamChanged { .. } | Reason::New));
            root = match (own, running_dep) {
                // A result reprocessed because its bench reruns shares the bench's cause (its own
                // inputs, the reference it records, change with the bench's).
                (Some(_), Some(dep)) if task.kind == crate::dag::TaskKind::Result => decided[dep].root.clone(),
                (Some(reason), _) => Some(root_label(reason)),
                (None, Some(dep)) => decided[dep].root.clone(),
                (None, None) => root.or_else(|| reasons.first().map(root_label)),
            };
        }
        decided.push(PlannedTask { action, reasons, previous, root });
    }
    if store.is_some() {
        cache.remember_plan(graph.tasks.iter().zip(&decided).map(|(task, d)| (task.hash, d.action == Action::Reuse)));
    }
    Plan { graph, tasks: decided, store_warnings: warnings }
}

/// Whether `record`, the last run of a launch task keyed while its image's digest was unknown
/// (`REF (unresolved)`), got the digest the new key expects, with every other input the same:
/// the launch then has nothing left to do (it is what `ix run` relies on after launching the
/// images no registry could resolve, and what plans see after it).
fn launch_got_it(store: &StateStore, record: &StoredRecord, new: &[ManifestEntry]) -> bool {
    let unresolved =
        |entry: &ManifestEntry| entry.name == "image" && entry.value.ends_with(crate::dag::task_key::UNRESOLVED_SUFFIX);
    if record.outcome != Outcome::Success || !record.manifest.iter().any(unresolved) {
        return false;
    }
    let others_equal = record.manifest.len() == new.len()
        && record
            .manifest
            .iter()
            .zip(new)
            .all(|(old, new)| old.name == new.name && (old.name == "image" || old.value == new.value));
    let Some(image) = new.iter().find(|entry| entry.name == "image") else { return false };
    let Some(artifact) = record.artifacts.iter().find(|a| a.name == crate::session::LAUNCH_ARTIFACT) else {
        return false;
    };
    let Ok(Some(bytes)) = store.get_blob(artifact.digest) else { return false };
    let got = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|launch| launch.get("digest").and_then(|d| d.as_str()).map(str::to_string));
    others_equal && got.is_some_and(|digest| image.value.ends_with(&format!(" {digest}")))
}

/// The grouping label of a reason: what a reviewer would call "one cause".
fn root_label(reason: &Reason) -> String {
    reason.describe()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_whole_ids() {
        assert!(glob_match("bench/*", "bench/a/c4"));
        assert!(glob_match("*c4*", "bench/a/c4/node"));
        assert!(glob_match("bench/a/c4", "bench/a/c4"));
        assert!(!glob_match("bench/a", "bench/a/c4"));
        assert!(!glob_match("result/*", "bench/a"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
    }
}
