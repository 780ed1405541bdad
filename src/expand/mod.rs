//! Expansion: a validated [`Sweep`] (plus runners) to the ordered list of [`Job`]s.
//!
//! Three modes mirror InferenceX's generator subcommands (REFERENCE-SEMANTICS §3-§5), quirks
//! included, so `ix matrix` is a drop-in replacement. Order is deterministic: entries in merged
//! order, seq-len blocks, points, concurrency values as generated, then runner nodes.
//! Inputs on which the reference loops forever or crashes are rejected with a diagnostic.

mod evals;
pub mod head;
mod job;
mod job_json;
pub mod select;

pub use evals::{EvalMode, HeadEvals, mark_evals, mark_evals_for, mark_evals_head};
pub use job::{
    HeadFields, Job, JobOrigin, JobShape, KeyOrder, Scenario, component_json, to_python_json, worker_json,
    write_python_json,
};

use crate::diag::{Diag, did_you_mean};
use crate::ir::{ConfigEntry, Format, RunnerTable, SearchPoint, Sweep, Worker, seq_len_name};

/// Single-node or multi-node selection (`--single-node` / `--multi-node`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeMode {
    Single,
    Multi,
    /// Both kinds (today's `full-sweep` without `--single-node`/`--multi-node`, or with both).
    Both,
}

/// The filters of `full-sweep`.
#[derive(Clone, Debug)]
pub struct FullSweep {
    pub mode: NodeMode,
    pub model_prefix: Option<Vec<String>>,
    pub precision: Option<Vec<String>>,
    pub framework: Option<Vec<String>>,
    pub runner_type: Option<Vec<String>>,
    pub seq_lens: Option<Vec<(i64, i64)>>,
    pub step_size: i64,
    pub min_conc: Option<i64>,
    pub max_conc: Option<i64>,
    pub max_tp: Option<i64>,
    pub max_ep: Option<i64>,
    pub runner_node_filter: Option<String>,
    /// `--scenario-type` (today's format); `None` keeps both scenarios.
    pub scenarios: Option<Vec<Scenario>>,
    /// `ix plan`'s extension: a single-node point with a concurrency list and no range gives one
    /// job per listed value, each filtered as a one-value range ([`range_values`]); the
    /// reference's full-sweep crashes on such a point (Feb-2026) or filters the list as a list
    /// (today's format).
    pub lists_per_value: bool,
}

impl FullSweep {
    pub fn new(mode: NodeMode) -> FullSweep {
        FullSweep {
            mode,
            model_prefix: None,
            precision: None,
            framework: None,
            runner_type: None,
            seq_lens: None,
            step_size: 2,
            min_conc: None,
            max_conc: None,
            max_tp: None,
            max_ep: None,
            runner_node_filter: None,
            scenarios: None,
            lists_per_value: false,
        }
    }
}

/// The concurrency values of a single-node range `start..=end` under `opts`' filters: clamped
/// to `--min-conc` and `--max-conc` (a range wholly above the maximum gives the maximum), then
/// stepped by `--step-size`; `None` when the filters drop the point.
pub(crate) fn range_values(start: i64, end: i64, opts: &FullSweep) -> Option<Vec<i64>> {
    let (mut start, mut end) = (start, end);
    if let Some(min_conc) = opts.min_conc {
        if min_conc <= 0 || end < min_conc {
            return None;
        }
        start = start.max(min_conc);
    }
    if let Some(max_conc) = opts.max_conc {
        if max_conc <= 0 {
            return None;
        }
        if start > max_conc {
            start = max_conc;
            end = max_conc;
        } else {
            end = end.min(max_conc);
        }
    }
    Some(conc_range(start, end, opts.step_size))
}

/// A multi-node point's concurrency list under the full-sweep filters: `--min-conc` drops
/// smaller values (the point goes when none is left, or when the minimum is not positive),
/// `--max-conc` drops larger ones and, when none is left, keeps the maximum itself. `None`:
/// the point yields no job.
pub(crate) fn multi_node_values(conc: &crate::ir::Concurrency, opts: &FullSweep) -> Option<Vec<i64>> {
    let mut values = listed_or_stepped(conc, opts.step_size);
    if let Some(min_conc) = opts.min_conc {
        if min_conc <= 0 {
            return None;
        }
        values.retain(|v| *v >= min_conc);
        if values.is_empty() {
            return None;
        }
    }
    if let Some(max_conc) = opts.max_conc {
        values.retain(|v| *v <= max_conc);
        if values.is_empty() {
            if max_conc <= 0 {
                return None;
            }
            values = vec![max_conc];
        }
    }
    Some(values)
}

/// A point's concurrency values as written: its non-empty list, else its range stepped by
/// `step`, else none (filters apply after).
pub(crate) fn listed_or_stepped(conc: &crate::ir::Concurrency, step: i64) -> Vec<i64> {
    match conc.nonempty_list() {
        Some(list) => list.to_vec(),
        None => conc.range_bounds().map_or_else(Vec::new, |(start, end)| conc_range(start, end, step)),
    }
}

/// The values of a single-node concurrency list under [`FullSweep::lists_per_value`]: each
/// listed value as a one-value range.
pub(crate) fn list_values_per_value(list: &[i64], opts: &FullSweep) -> Vec<i64> {
    list.iter().filter_map(|value| range_values(*value, *value, opts)).flatten().collect()
}

/// The options of `test-config`.
#[derive(Clone, Debug, Default)]
pub struct TestConfig {
    pub config_keys: Vec<String>,
    pub conc: Option<Vec<i64>>,
}

/// The options of `runner-model-sweep`.
#[derive(Clone, Debug)]
pub struct RunnerModelSweep {
    pub mode: NodeMode,
    pub runner_type: String,
    pub runner_config_path: String,
    pub model_prefix: Option<Vec<String>>,
    pub precision: Option<Vec<String>>,
    pub framework: Option<Vec<String>>,
    pub conc: Option<i64>,
    pub runner_node_filter: Option<String>,
}

/// Concurrency range expansion (§3.1): `start`, then times `step`, the last one clamped to `end`.
/// Callers guarantee `1 <= start <= end` and `step >= 2`, so this terminates.
pub fn conc_range(start: i64, end: i64, step: i64) -> Vec<i64> {
    debug_assert!(start >= 1 && start <= end && step >= 2);
    let mut values = vec![start];
    let mut current = start;
    while current != end {
        current = current.saturating_mul(step).min(end);
        values.push(current);
    }
    values
}

fn base_job(entry: &ConfigEntry, isl: i64, osl: i64) -> Job {
    Job {
        image: entry.image.value.clone(),
        model: entry.model.value.clone(),
        model_prefix: entry.model_prefix.value.clone(),
        precision: entry.precision.value.clone(),
        framework: entry.framework.value.clone(),
        runner: entry.runner.value.clone(),
        isl,
        osl,
        shape: JobShape::Single { tp: 0, ep: 1, dp_attn: false, conc: 0 },
        spec_decoding: crate::ir::SpecDecoding::None,
        // The front ends reject lengths that overflow; saturate rather than trust that here.
        max_model_len: crate::ir::max_model_len(isl, osl).unwrap_or(i64::MAX),
        exp_name: format!("{}_{}", entry.model_prefix.value, seq_len_name(isl, osl)),
        disagg: entry.disagg,
        run_eval: false,
        origin: JobOrigin {
            key: entry.key.value.clone(),
            entry_idx: 0,
            seq_idx: 0,
            point_idx: 0,
            entry_span: entry.key.span,
            point_span: entry.span,
        },
        head: HeadFields::default(),
    }
}

fn key_matches(entry: &ConfigEntry, prefixes: Option<&Vec<String>>) -> bool {
    prefixes.is_none_or(|prefixes| prefixes.iter().any(|p| entry.key.value.starts_with(p.as_str())))
}

fn member(value: &str, allowed: Option<&Vec<String>>) -> bool {
    allowed.is_none_or(|allowed| allowed.iter().any(|a| a == value))
}

/// `full-sweep` (§4.1), by the rules of the sweep's format.
pub fn full_sweep(sweep: &Sweep, runners: &RunnerTable, opts: &FullSweep) -> Result<Vec<Job>, Vec<Diag>> {
    if sweep.format() == Format::Head {
        return head::full_sweep(sweep, runners, opts);
    }
    let mut errors = Vec::new();
    if opts.step_size < 2 {
        errors.push(
            Diag::error(
                "ix::matrix::invalid-step-size",
                format!("`--step-size` must be at least 2, got {}", opts.step_size),
            )
            .help("the concurrency range is multiplied by the step size; 1 or less never reaches its end"),
        );
    }
    if let Some(types) = &opts.runner_type {
        let invalid: Vec<&str> = types.iter().map(String::as_str).filter(|t| runners.get(t).is_none()).collect();
        if !invalid.is_empty() {
            let mut valid: Vec<&str> = runners.names().collect();
            valid.sort_unstable();
            let mut diag = Diag::error(
                "ix::matrix::invalid-runner-type",
                format!(
                    "invalid runner type(s): {}; valid runner types are: {}",
                    invalid.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                    valid.join(", ")
                ),
            );
            if let Some(suggestion) = did_you_mean(invalid[0], valid.iter().copied()) {
                diag = diag.help(format!("did you mean `{suggestion}`?"));
            }
            errors.push(diag);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut jobs = Vec::new();
    for (entry_idx, entry) in sweep.entries.iter().enumerate() {
        if !key_matches(entry, opts.model_prefix.as_ref())
            || !member(&entry.precision.value, opts.precision.as_ref())
            || !member(&entry.framework.value, opts.framework.as_ref())
            || !member(&entry.runner.value, opts.runner_type.as_ref())
        {
            continue;
        }
        let nodes: Option<Vec<&str>> = match &opts.runner_node_filter {
            None => None,
            Some(filter) => {
                let nodes: Vec<&str> = runners
                    .get(&entry.runner.value)
                    .map(|runner| {
                        runner.nodes.iter().map(|n| n.value.as_str()).filter(|n| n.contains(filter.as_str())).collect()
                    })
                    .unwrap_or_default();
                if nodes.is_empty() {
                    continue;
                }
                Some(nodes)
            }
        };
        for (seq_idx, seq) in entry.seq_len_configs.iter().enumerate() {
            let (isl, osl) = (seq.isl.value, seq.osl.value);
            if opts.seq_lens.as_ref().is_some_and(|pairs| !pairs.contains(&(isl, osl))) {
                continue;
            }
            for (point_idx, point) in seq.search_space.iter().enumerate() {
                let mut job = base_job(entry, isl, osl);
                job.origin.entry_idx = entry_idx;
                job.origin.seq_idx = seq_idx;
                job.origin.point_idx = point_idx;
                job.origin.point_span = point.span();
                let emit = |job: &Job, jobs: &mut Vec<Job>| match &nodes {
                    None => jobs.push(job.clone()),
                    Some(nodes) => {
                        for node in nodes {
                            let mut job = job.clone();
                            job.runner = (*node).to_string();
                            jobs.push(job);
                        }
                    }
                };
                match (point, opts.mode) {
                    (SearchPoint::Single(point), NodeMode::Single) => {
                        let range = point.conc.range_bounds();
                        if range.is_none() && !opts.lists_per_value {
                            let span = point.conc.list.as_ref().map_or(point.span, |list| list.span);
                            errors.push(
                                Diag::error(
                                    "ix::matrix::conc-list-in-full-sweep",
                                    format!(
                                        "`{}`: full-sweep cannot expand a single-node `conc-list`",
                                        entry.key.value
                                    ),
                                )
                                .at(span, "single-node point with a concurrency list")
                                .help(
                                    "InferenceX's generator crashes here; use `conc-start`/`conc-end`, \
                                     or run this key with `test-config`",
                                ),
                            );
                            continue;
                        };
                        if let Some(max_tp) = opts.max_tp
                            && (max_tp <= 0 || point.tp.value > max_tp)
                        {
                            continue;
                        }
                        let mut ep = point.ep.as_ref().map_or(1, |ep| ep.value);
                        if let Some(max_ep) = opts.max_ep {
                            if max_ep <= 0 {
                                continue;
                            }
                            if point.ep.is_some() && ep > max_ep {
                                ep = max_ep;
                            }
                        }
                        let values = match range {
                            Some((start, end)) => match range_values(start, end, opts) {
                                Some(values) => values,
                                None => continue,
                            },
                            None => list_values_per_value(point.conc.list.as_ref().map_or(&[], |l| &l.value), opts),
                        };
                        for conc in values {
                            job.spec_decoding = point.spec_decoding;
                            job.shape = JobShape::Single {
                                tp: point.tp.value,
                                ep,
                                dp_attn: point.dp_attn.as_ref().is_some_and(|d| d.value),
                                conc,
                            };
                            emit(&job, &mut jobs);
                        }
                    }
                    (SearchPoint::Multi(point), NodeMode::Multi) => {
                        let Some(values) = multi_node_values(&point.conc, opts) else { continue };
                        job.spec_decoding = point.spec_decoding;
                        job.shape = JobShape::Multi {
                            prefill: point.prefill.clone(),
                            decode: point.decode.clone(),
                            conc: values,
                        };
                        emit(&job, &mut jobs);
                    }
                    _ => {}
                }
            }
        }
    }
    if errors.is_empty() { Ok(jobs) } else { Err(errors) }
}

/// `test-config` (§4.2).
pub fn test_config(sweep: &Sweep, opts: &TestConfig) -> Result<Vec<Job>, Vec<Diag>> {
    let missing: Vec<&str> =
        opts.config_keys.iter().map(String::as_str).filter(|key| sweep.entry(key).is_none()).collect();
    if !missing.is_empty() {
        let mut available: Vec<&str> = sweep.entries.iter().map(|e| e.key.value.as_str()).collect();
        available.sort_unstable();
        let mut diag =
            Diag::error("ix::matrix::unknown-config-key", format!("config key(s) not found: {}", missing.join(", ")));
        diag = match did_you_mean(missing[0], available.iter().copied()) {
            Some(suggestion) => diag.help(format!("did you mean `{suggestion}`?")),
            None => diag.help(format!("available keys: {}", available.join(", "))),
        };
        return Err(vec![diag]);
    }
    let mut jobs = Vec::new();
    for key in &opts.config_keys {
        let Some((entry_idx, entry)) = sweep.entries.iter().enumerate().find(|(_, e)| &e.key.value == key) else {
            continue;
        };
        for (seq_idx, seq) in entry.seq_len_configs.iter().enumerate() {
            for (point_idx, point) in seq.search_space.iter().enumerate() {
                let conc = point.concurrency();
                let mut values = match &conc.list {
                    Some(list) => list.value.clone(),
                    None => match conc.range_bounds() {
                        Some((start, end)) => conc_range(start, end, 2),
                        None => Vec::new(),
                    },
                };
                if let Some(keep) = &opts.conc {
                    values.retain(|v| keep.contains(v));
                    if values.is_empty() {
                        continue;
                    }
                }
                let mut job = base_job(entry, seq.isl.value, seq.osl.value);
                job.origin.entry_idx = entry_idx;
                job.origin.seq_idx = seq_idx;
                job.origin.point_idx = point_idx;
                job.origin.point_span = point.span();
                match point {
                    SearchPoint::Single(point) => {
                        job.spec_decoding = point.spec_decoding;
                        for conc in values {
                            job.shape = JobShape::Single {
                                tp: point.tp.value,
                                ep: point.ep.as_ref().map_or(1, |ep| ep.value),
                                dp_attn: point.dp_attn.as_ref().is_some_and(|d| d.value),
                                conc,
                            };
                            jobs.push(job.clone());
                        }
                    }
                    SearchPoint::Multi(point) => {
                        job.spec_decoding = point.spec_decoding;
                        job.shape = JobShape::Multi {
                            prefill: point.prefill.clone(),
                            decode: point.decode.clone(),
                            conc: values,
                        };
                        jobs.push(job);
                    }
                }
            }
        }
    }
    Ok(jobs)
}

/// `runner-model-sweep` (§4.3).
pub fn runner_model_sweep(
    sweep: &Sweep,
    runners: &RunnerTable,
    opts: &RunnerModelSweep,
) -> Result<Vec<Job>, Vec<Diag>> {
    let Some(runner) = runners.get(&opts.runner_type) else {
        let names: Vec<&str> = runners.names().collect();
        let mut diag = Diag::error(
            "ix::matrix::unknown-runner-type",
            format!(
                "runner `{}` does not exist in runner config `{}`; existing runner types: {}",
                opts.runner_type,
                opts.runner_config_path,
                names.join(", ")
            ),
        );
        if let Some(suggestion) = did_you_mean(&opts.runner_type, names.iter().copied()) {
            diag = diag.help(format!("did you mean `{suggestion}`?"));
        }
        return Err(vec![diag]);
    };
    let mut nodes: Vec<&str> = runner.nodes.iter().map(|n| n.value.as_str()).collect();
    if let Some(filter) = &opts.runner_node_filter {
        nodes.retain(|n| n.contains(filter.as_str()));
        if nodes.is_empty() {
            return Err(vec![Diag::error(
                "ix::matrix::no-matching-node",
                format!("no runner nodes found matching filter `{filter}` for runner type `{}`", opts.runner_type),
            )]);
        }
    }
    if opts.mode == NodeMode::Both {
        return Ok(Vec::new());
    }
    let mut jobs = Vec::new();
    for (entry_idx, entry) in sweep.entries.iter().enumerate() {
        if entry.runner.value != opts.runner_type
            || !key_matches(entry, opts.model_prefix.as_ref())
            || !member(&entry.precision.value, opts.precision.as_ref())
            || !member(&entry.framework.value, opts.framework.as_ref())
            || entry.multinode != (opts.mode == NodeMode::Multi)
        {
            continue;
        }
        let Some((seq_idx, seq)) =
            entry.seq_len_configs.iter().enumerate().find(|(_, s)| s.isl.value == 1024 && s.osl.value == 1024)
        else {
            continue;
        };
        let mut job = base_job(entry, 1024, 1024);
        job.max_model_len = 2048;
        job.exp_name = format!("{}_test", entry.model_prefix.value);
        job.origin.entry_idx = entry_idx;
        job.origin.seq_idx = seq_idx;
        match opts.mode {
            NodeMode::Single => {
                let mut best: Option<(usize, &crate::ir::SinglePoint)> = None;
                for (idx, point) in seq.search_space.iter().enumerate() {
                    if let SearchPoint::Single(point) = point
                        && best.is_none_or(|(_, b)| point.tp.value > b.tp.value)
                    {
                        best = Some((idx, point));
                    }
                }
                let Some((point_idx, point)) = best else { continue };
                let conc = match opts.conc {
                    Some(conc) => conc,
                    None => match (&point.conc.start, &point.conc.list) {
                        (Some(start), _) if start.value != 0 => start.value,
                        (_, Some(list)) => match list.value.iter().min() {
                            Some(min) => *min,
                            None => {
                                return Err(vec![
                                    Diag::error(
                                        "ix::matrix::empty-conc-list",
                                        format!("`{}`: the chosen point has an empty `conc-list`", entry.key.value),
                                    )
                                    .at(list.span, "empty"),
                                ]);
                            }
                        },
                        _ => 1,
                    },
                };
                job.origin.point_idx = point_idx;
                job.origin.point_span = point.span;
                job.spec_decoding = point.spec_decoding;
                job.shape = JobShape::Single {
                    tp: point.tp.value,
                    ep: point.ep.as_ref().map_or(1, |ep| ep.value),
                    dp_attn: point.dp_attn.as_ref().is_some_and(|d| d.value),
                    conc,
                };
            }
            NodeMode::Multi | NodeMode::Both => {
                let mut best: Option<(usize, &crate::ir::MultiPoint, Option<i64>)> = None;
                for (idx, point) in seq.search_space.iter().enumerate() {
                    let SearchPoint::Multi(point) = point else { continue };
                    let min = point.conc.nonempty_list().and_then(|l| l.iter().min().copied());
                    let better = match (&best, min) {
                        (None, _) => true,
                        (Some((_, _, None)), Some(_)) => true,
                        (Some((_, _, Some(b))), Some(m)) => m < *b,
                        _ => false,
                    };
                    if better {
                        best = Some((idx, point, min));
                    }
                }
                let Some((point_idx, point, min)) = best else { continue };
                let conc = opts.conc.or(min).or(point.conc.start.as_ref().map(|s| s.value)).unwrap_or(1);
                let rebuild = |w: &Worker| Worker {
                    additional_settings: Some(w.additional_settings.clone().unwrap_or_default()),
                    ..w.clone()
                };
                job.origin.point_idx = point_idx;
                job.origin.point_span = point.span;
                job.spec_decoding = point.spec_decoding;
                job.shape = JobShape::Multi {
                    prefill: rebuild(&point.prefill),
                    decode: rebuild(&point.decode),
                    conc: vec![conc],
                };
            }
        }
        for node in &nodes {
            let mut job = job.clone();
            job.runner = (*node).to_string();
            jobs.push(job);
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::conc_range;

    #[test]
    fn range_expansion_clamps_the_last_step() {
        assert_eq!(conc_range(3, 50, 2), vec![3, 6, 12, 24, 48, 50]);
        assert_eq!(conc_range(7, 100, 2), vec![7, 14, 28, 56, 100]);
        assert_eq!(conc_range(4, 64, 2), vec![4, 8, 16, 32, 64]);
        assert_eq!(conc_range(5, 5, 2), vec![5]);
        assert_eq!(conc_range(3, 50, 3), vec![3, 9, 27, 50]);
        assert_eq!(conc_range(16, 200, 3), vec![16, 48, 144, 200]);
    }
}
