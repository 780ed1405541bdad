//! Renders a [`Plan`] as text (grouped by root cause), as `ix.plan/v1` JSON, and `--why` for
//! one task. Returns strings; only `cli` prints them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::dag::TaskKind;
use crate::dag::task_key::ManifestEntry;
use crate::plan::{Action, Plan, Reason, manifest_reasons};
use crate::state::StoredRecord;

/// The schema name of the JSON plan.
pub const PLAN_SCHEMA: &str = "ix.plan/v1";

/// How many task ids a group lists before "and N more".
const GROUP_LIST: usize = 5;

fn kind_counts<'a>(kinds: impl Iterator<Item = TaskKind> + 'a) -> String {
    let mut counts: BTreeMap<TaskKind, usize> = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    counts.iter().map(|(kind, n)| format!("{} {n}", kind.as_str())).collect::<Vec<_>>().join(" · ")
}

/// The human plan.
pub fn human(plan: &Plan, n_jobs: usize, state_dir: &str) -> String {
    let mut out = String::new();
    let graph_hash = plan.graph.graph_hash.map(|h| h.short()).unwrap_or_default();
    let _ = writeln!(
        out,
        "plan {graph_hash} · {} tasks from {n_jobs} jobs ({}) · state {state_dir}",
        plan.graph.tasks.len(),
        kind_counts(plan.graph.tasks.iter().map(|t| t.kind))
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "  reuse {:>6}", plan.count(Action::Reuse));
    let _ = writeln!(out, "  run   {:>6}", plan.count(Action::Run));
    // Group runs by root cause, in order of first appearance.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut slot: BTreeMap<String, usize> = BTreeMap::new();
    for (idx, task) in plan.tasks.iter().enumerate() {
        if task.action != Action::Run {
            continue;
        }
        let root = task.root.clone().unwrap_or_else(|| "unknown".into());
        let at = *slot.entry(root.clone()).or_insert_with(|| {
            groups.push((root, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(idx);
    }
    for (root, members) in &groups {
        let _ = writeln!(out, "  {:>6}  {root}", members.len());
        let _ = writeln!(out, "          {}", kind_counts(members.iter().map(|idx| plan.graph.tasks[*idx].kind)));
        // List the tasks a reviewer cares about: launches, benches and evals that run for a
        // reason of their own; results and aggregates follow from them.
        let primary = |idx: &&usize| {
            matches!(plan.graph.tasks[**idx].kind, TaskKind::Launch | TaskKind::Bench | TaskKind::Eval)
                && !plan.tasks[**idx].reasons.iter().all(|r| matches!(r, Reason::UpstreamChanged { .. }))
        };
        let mut leaders: Vec<&usize> = members.iter().filter(primary).collect();
        if leaders.is_empty() {
            leaders = members.iter().collect();
        }
        for idx in leaders.iter().take(GROUP_LIST) {
            let _ = writeln!(out, "          {}", plan.graph.tasks[**idx].id);
        }
        if leaders.len() > GROUP_LIST {
            let _ = writeln!(out, "          … and {} more", leaders.len() - GROUP_LIST);
        }
    }
    for warning in &plan.store_warnings {
        let _ = writeln!(out, "warning: state store: {warning}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "next: ix plan --why <task> · --format json");
    out
}

fn reason_json(reason: &Reason) -> Value {
    let mut value = json!({ "kind": reason.kind() });
    match reason {
        Reason::New | Reason::PreviousFailed => {}
        Reason::InputChanged { input, old, new, origin } => {
            value["input"] = json!(input);
            value["old"] = json!(old);
            value["new"] = json!(new);
            if let Some(origin) = origin {
                value["span"] = json!({ "file": &*origin.file, "line": origin.line, "col": origin.col });
            }
        }
        Reason::ScriptChanged { file, old, new } => {
            value["file"] = json!(file);
            value["old"] = json!(old);
            value["new"] = json!(new);
        }
        Reason::UpstreamChanged { dep } => value["dep"] = json!(dep),
        Reason::Forced { selector, by } => {
            value["selector"] = json!(selector);
            value["by"] = json!(by);
        }
        Reason::CacheMissing { detail } => value["detail"] = json!(detail),
        Reason::KeyFormatChanged { old } => value["old"] = json!(old),
        Reason::ArtifactMissing { artifact, path } => {
            value["artifact"] = json!(artifact);
            value["path"] = json!(path);
        }
        Reason::ArtifactCorrupt { artifact, path, detail } => {
            value["artifact"] = json!(artifact);
            value["path"] = json!(path);
            value["detail"] = json!(detail);
        }
    }
    value
}

/// The `ix.plan/v1` document (one line).
pub fn json(plan: &Plan) -> String {
    let tasks: Vec<Value> = plan
        .graph
        .tasks
        .iter()
        .zip(&plan.tasks)
        .map(|(task, planned)| {
            let mut value = json!({
                "id": &*task.id,
                "kind": task.kind.as_str(),
                "hash": task.hash.to_hex(),
                "action": planned.action.as_str(),
                "reasons": planned.reasons.iter().map(reason_json).collect::<Vec<_>>(),
                "deps": task.deps.iter().map(|dep| &*plan.graph.tasks[*dep].id).collect::<Vec<_>>(),
            });
            if let Some(previous) = planned.previous {
                value["previous"] = json!(previous.to_hex());
            }
            if let Some(bench) = &task.bench {
                value["script"] = json!(&*bench.script);
                value["launcher"] = json!(&*bench.launcher);
                value["node"] = json!(&*bench.node);
                value["result_filename"] = json!(&*bench.result_filename);
            }
            value
        })
        .collect();
    let document = json!({
        "schema": PLAN_SCHEMA,
        "ix": env!("CARGO_PKG_VERSION"),
        "plan": plan.graph.graph_hash.map(|h| h.to_hex()),
        "summary": {
            "tasks": plan.graph.tasks.len(),
            "run": plan.count(Action::Run),
            "reuse": plan.count(Action::Reuse),
        },
        "tasks": tasks,
    });
    let mut text = document.to_string();
    text.push('\n');
    text
}

fn entry_line(entry: &ManifestEntry) -> String {
    match &entry.origin {
        Some(origin) => format!("{}  {}  ({origin})", entry.name, entry.value),
        None => format!("{}  {}", entry.name, entry.value),
    }
}

/// The environment a bench or eval task's script gets, as `--why` lines: each contract variable
/// with the key input it is (`NAME=value  (key tp)`), then the variables the executor adds.
pub fn task_environment(contract: &crate::contract::Contract, kind: crate::dag::TaskKind) -> Vec<String> {
    let mut lines = Vec::new();
    let (image_env, image_reason) = crate::contract::IMAGE_VAR;
    lines.push(format!("{image_env}={}  (key image, by digest: {image_reason})", contract.image.value));
    let vars: Vec<&crate::contract::Var> = match kind {
        crate::dag::TaskKind::Eval => contract.eval_vars().collect(),
        _ => contract.bench_vars().collect(),
    };
    for var in vars {
        lines.push(format!("{}={}  (key {})", var.env, var.value, var.key));
    }
    for (name, reason) in crate::contract::EXECUTOR_VARS {
        lines.push(format!("{name}  (set by the executor, not in the key: {reason})"));
    }
    lines
}

/// `--why` for the task at `idx`, given the latest stored record of its id and, for bench and
/// eval tasks, the environment its script gets ([`task_environment`]).
pub fn why(plan: &Plan, idx: usize, latest: Option<&StoredRecord>, env: Option<&[String]>) -> String {
    let task = &plan.graph.tasks[idx];
    let planned = &plan.tasks[idx];
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", task.kind.as_str(), task.id);
    let _ = write!(out, "  hash {}", task.hash.to_hex());
    match latest {
        Some(record) if record.hash == task.hash => {
            let _ = writeln!(out, "  (recorded, {})", record.outcome.as_str());
        }
        Some(record) => {
            let _ = writeln!(out, "  (was {}, {})", record.hash.to_hex(), record.outcome.as_str());
        }
        None => {
            let _ = writeln!(out, "  (no record)");
        }
    }
    let _ = writeln!(out, "  action {}", planned.action.as_str());
    for reason in &planned.reasons {
        let _ = writeln!(out, "    {}", reason.describe());
    }
    if let Some(bench) = &task.bench {
        let _ = writeln!(out, "  node {} · script {} · launcher {}", bench.node, bench.script, bench.launcher);
        let _ = writeln!(out, "  RESULT_FILENAME {}", bench.result_filename);
    }
    if let Some(record) = latest.filter(|record| record.hash != task.hash) {
        let changes = manifest_reasons(&record.manifest, &task.manifest.entries());
        let old_upstream: BTreeMap<&str, &str> = record
            .manifest
            .iter()
            .filter(|e| e.name.starts_with("upstream "))
            .map(|e| (&*e.name, e.value.as_str()))
            .collect();
        let _ = writeln!(out, "  changed since the last record:");
        for change in &changes {
            let _ = writeln!(out, "    {}", change.describe());
        }
        for entry in task.manifest.entries().iter().filter(|e| e.name.starts_with("upstream ")) {
            match old_upstream.get(&*entry.name) {
                Some(old) if *old == entry.value => {}
                Some(old) => {
                    let _ = writeln!(out, "    {}  {old} -> {}", entry.name, entry.value);
                }
                None => {
                    let _ = writeln!(out, "    {}  (none) -> {}", entry.name, entry.value);
                }
            }
        }
    }
    let _ = writeln!(out, "  inputs ({}):", task.manifest.len());
    for entry in task.manifest.entries().iter() {
        let _ = writeln!(out, "    {}", entry_line(entry));
    }
    if let Some(env) = env {
        let _ = writeln!(out, "  environment ({} variables):", env.len());
        for line in env {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}
