//! "All jobs of a sweep": the job list `ix plan` builds tasks from.
//!
//! It is `expand::full_sweep` for single- and multi-node points with the same filters as
//! `ix matrix full-sweep`, with one deliberate extension: a single-node point written as a
//! `conc-list` (which the reference's full-sweep crashes on) yields one job per listed value, as
//! `test-config` does (`expand::FullSweep::lists_per_value`): the concurrency filters apply to
//! each value as to a one-value range, and the list stays a list until the values are produced.

use crate::diag::{Diag, did_you_mean};
use crate::expand::{self, EvalMode, FullSweep, Job, NodeMode};
use crate::ir::{Concurrency, ConfigEntry, RunnerTable, SearchPoint, Sweep};
use crate::source::Span;

/// What to plan: full-sweep filters, which node kinds, and eval marking.
#[derive(Clone, Debug)]
pub struct JobSelection {
    pub filters: FullSweep,
    /// `None`: both single- and multi-node jobs.
    pub mode: Option<NodeMode>,
    pub evals: Option<EvalMode>,
    /// Only the jobs of these config keys (`--config-keys`); every key must exist.
    pub config_keys: Option<Vec<String>>,
    /// The most jobs the sweep may expand to (`--max-jobs`), see [`check_job_count`].
    pub max_jobs: usize,
    /// Runs of each bench task (`ix run --repeat N`), each a task of its own.
    pub repeat: u32,
}

/// The default of `--max-jobs`: 16 times the whole InferenceX sweep (1,199 jobs). Expanding,
/// keying and planning cost about 0.1 ms per job, so the limit keeps a plan within seconds.
pub const DEFAULT_MAX_JOBS: usize = 20_000;

impl JobSelection {
    /// Every job of every entry: no filter, both node kinds, no evals.
    pub fn all() -> JobSelection {
        JobSelection {
            filters: FullSweep::new(NodeMode::Single),
            mode: None,
            evals: None,
            config_keys: None,
            max_jobs: DEFAULT_MAX_JOBS,
            repeat: 1,
        }
    }
}

/// The error for a sweep that would expand to more than `max_jobs` jobs, found before expanding it (a
/// 200,000-value concurrency list took 80 s and 10 GB to plan). The count is an upper bound
/// taken before filters: one job per single-node concurrency value (a range counts the values
/// it steps through with the smallest step, 2), one per multi-node point. The error points at
/// the concurrency values of the point that contributes most.
pub fn check_job_count(sweep: &Sweep, max_jobs: usize) -> Option<Diag> {
    let mut total: usize = 0;
    let mut biggest: Option<(usize, Span, &str)> = None;
    for entry in &sweep.entries {
        for seq in &entry.seq_len_configs {
            for point in &seq.search_space {
                let (count, span) = match point {
                    SearchPoint::Single(single) => point_values(&single.conc, single.span),
                    SearchPoint::Multi(multi) => (1, multi.span),
                };
                total = total.saturating_add(count);
                if biggest.is_none_or(|(most, _, _)| count > most) {
                    biggest = Some((count, span, &entry.key.value));
                }
            }
        }
    }
    if total <= max_jobs {
        return None;
    }
    let (count, span, key) = biggest?;
    Some(
        Diag::error(
            "ix::plan::too-many-jobs",
            format!(
                "the sweep expands to {total} jobs, more than the limit of {max_jobs} (`{key}` has the largest point)"
            ),
        )
        .at(span, format!("{count} jobs from this point"))
        .help(format!("split the sweep, or raise the limit with `--max-jobs {total}`")),
    )
}

/// How many single-node jobs a point's concurrency gives at most, and the span of its values.
fn point_values(conc: &Concurrency, point_span: Span) -> (usize, Span) {
    if let Some(list) = &conc.list
        && conc.range_bounds().is_none()
    {
        return (list.value.len(), list.span);
    }
    match (&conc.start, &conc.end) {
        (Some(start), Some(end)) => {
            let (mut value, mut count) = (start.value.max(1), 1usize);
            while value < end.value && count < 64 {
                value = value.saturating_mul(2);
                count += 1;
            }
            (count, start.span.to(end.span))
        }
        _ => (1, point_span),
    }
}

/// The `--config-keys` of `selection` that name no entry of `sweep`, as one error (with a
/// did-you-mean, or the available keys); empty when all exist.
pub fn check_config_keys(sweep: &Sweep, selection: &JobSelection) -> Vec<Diag> {
    let Some(keys) = &selection.config_keys else { return Vec::new() };
    let missing: Vec<&str> = keys.iter().map(String::as_str).filter(|key| sweep.entry(key).is_none()).collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let mut available: Vec<&str> = sweep.entries.iter().map(|e| e.key.value.as_str()).collect();
    available.sort_unstable();
    let diag = Diag::error("ix::plan::unknown-config-key", format!("config key(s) not found: {}", missing.join(", ")));
    let diag = match did_you_mean(missing[0], available.iter().copied()) {
        Some(suggestion) => diag.help(format!("did you mean `{suggestion}`?")),
        None => diag.help(format!("available keys: {}", available.join(", "))),
    };
    vec![diag]
}

/// Every job of `sweep` that passes the selection, single-node first, then multi-node.
pub fn sweep_jobs(sweep: &Sweep, runners: &RunnerTable, selection: &JobSelection) -> Result<Vec<Job>, Vec<Diag>> {
    let unknown = check_config_keys(sweep, selection);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    selected_jobs(sweep, runners, selection)
}

/// [`sweep_jobs`] without the check that the `--config-keys` exist (an entry on its own).
fn selected_jobs(sweep: &Sweep, runners: &RunnerTable, selection: &JobSelection) -> Result<Vec<Job>, Vec<Diag>> {
    if let Some(diag) = check_job_count(sweep, selection.max_jobs) {
        return Err(vec![diag]);
    }
    let mut jobs = Vec::new();
    for mode in modes(selection) {
        let opts = FullSweep { mode, lists_per_value: true, ..selection.filters.clone() };
        jobs.extend(expand::full_sweep(sweep, runners, &opts)?);
    }
    if let Some(keys) = &selection.config_keys {
        jobs.retain(|job| sweep.entries.get(job.origin.entry_idx).is_some_and(|entry| keys.contains(&entry.key.value)));
    }
    if let Some(mode) = selection.evals {
        expand::mark_evals_for(sweep.format(), &mut jobs, mode);
    }
    Ok(jobs)
}

/// The node modes a selection plans, in job order (single-node jobs first).
pub fn modes(selection: &JobSelection) -> Vec<NodeMode> {
    match selection.mode {
        Some(mode) => vec![mode],
        None => vec![NodeMode::Single, NodeMode::Multi],
    }
}

/// The jobs of one entry on its own, one list per mode of [`modes`], before eval marking.
///
/// Concatenating, mode by mode, the lists of every entry in sweep order (with `entry_idx` set)
/// and then marking evals gives exactly [`sweep_jobs`] of the whole sweep: expansion never
/// looks across entries.
pub fn entry_jobs(
    entry: &ConfigEntry,
    runners: &RunnerTable,
    selection: &JobSelection,
) -> Result<Vec<Vec<Job>>, Vec<Diag>> {
    let sweep = Sweep { entries: vec![entry.clone()] };
    modes(selection)
        .into_iter()
        .map(|mode| {
            selected_jobs(&sweep, runners, &JobSelection { mode: Some(mode), evals: None, ..selection.clone() })
        })
        .collect()
}

/// Places a job expanded from an entry lowered on its own (spans relative to the entry's
/// block, `entry_idx` 0) at the entry's place in the sweep.
pub fn place_job(job: &mut Job, entry_idx: usize, delta: u32) {
    job.origin.entry_idx = entry_idx;
    for span in [&mut job.origin.entry_span, &mut job.origin.point_span] {
        // Wrapping: a job moved back (text removed above it) gets the two's complement.
        span.start = span.start.wrapping_add(delta);
        span.end = span.end.wrapping_add(delta);
    }
}

#[cfg(test)]
mod tests {
    use super::{JobSelection, sweep_jobs};
    use crate::expand::JobShape;
    use crate::ir::RunnerTable;
    use crate::source::SourceMap;

    const SWEEP: &str = "\
k:
  image: img:1
  model: org/m
  model-prefix: m
  runner: h100
  precision: fp8
  framework: vllm
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - { tp: 2, conc-list: [4, 8, 64] }
    - { tp: 4, conc-start: 4, conc-end: 64 }
";

    /// (tp, conc) of every job under `max_conc`/`min_conc`, and the point each came from.
    fn jobs(min_conc: Option<i64>, max_conc: Option<i64>) -> Vec<(i64, i64, usize)> {
        let mut sources = SourceMap::new();
        let file = sources.add("sweep.yaml".to_string(), std::sync::Arc::from(SWEEP));
        let (sweep, diags) = crate::ir::inferencex::lower_master_configs(&sources, &[file]);
        assert!(diags.is_empty(), "{diags:?}");
        let mut selection = JobSelection::all();
        selection.filters.min_conc = min_conc;
        selection.filters.max_conc = max_conc;
        let jobs = sweep_jobs(&sweep, &RunnerTable::default(), &selection).expect("jobs");
        jobs.iter()
            .map(|job| match job.shape {
                JobShape::Single { tp, conc, .. } => (tp, conc, job.origin.point_idx),
                _ => panic!("a single-node job"),
            })
            .collect()
    }

    /// A listed value is filtered as a one-value range (clamped to `--max-conc`, dropped below
    /// `--min-conc`), and its jobs point at the list's point, as a range's at its own.
    #[test]
    fn a_concurrency_list_gives_one_job_per_value_filtered_as_a_one_value_range() {
        assert_eq!(
            jobs(None, None),
            vec![(2, 4, 0), (2, 8, 0), (2, 64, 0), (4, 4, 1), (4, 8, 1), (4, 16, 1), (4, 32, 1), (4, 64, 1)]
        );
        assert_eq!(jobs(None, Some(16)), vec![(2, 4, 0), (2, 8, 0), (2, 16, 0), (4, 4, 1), (4, 8, 1), (4, 16, 1)]);
        assert_eq!(jobs(Some(8), None), vec![(2, 8, 0), (2, 64, 0), (4, 8, 1), (4, 16, 1), (4, 32, 1), (4, 64, 1)]);
    }
}
