//! Eval marking (REFERENCE-SEMANTICS §5): which jobs also run an accuracy eval.

use std::collections::HashMap;

use crate::expand::job::{Job, JobShape};

/// `--run-evals` / `--evals-only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalMode {
    /// Mark eval jobs, keep all jobs.
    Mark,
    /// Mark, then keep only the marked jobs.
    Only,
}

/// Marks the highest-concurrency job at the largest and at the smallest tp of each group of
/// 1k/8k single-node jobs; with [`EvalMode::Only`], drops the rest.
pub fn mark_evals(jobs: &mut Vec<Job>, mode: EvalMode) {
    type GroupKey<'a> = (&'a str, &'a str, &'a str, &'a str, i64, i64, &'static str, bool);
    let mut groups: HashMap<GroupKey<'_>, Vec<usize>> = HashMap::new();
    let mut marked = vec![false; jobs.len()];
    for (idx, job) in jobs.iter().enumerate() {
        let JobShape::Single { dp_attn, .. } = job.shape else { continue };
        if job.isl != 1024 || job.osl != 8192 {
            continue;
        }
        let key = (
            job.model.as_str(),
            job.runner.as_str(),
            job.framework.as_str(),
            job.precision.as_str(),
            job.isl,
            job.osl,
            job.spec_decoding.as_str(),
            dp_attn,
        );
        groups.entry(key).or_default().push(idx);
    }
    let single = |job: &Job| match job.shape {
        JobShape::Single { tp, conc, .. } => (tp, conc),
        JobShape::Multi { .. } => (0, 0),
    };
    for members in groups.values() {
        let tps = members.iter().map(|&idx| single(&jobs[idx]).0);
        let (Some(max_tp), Some(min_tp)) = (tps.clone().max(), tps.min()) else { continue };
        let mut targets = vec![max_tp];
        if min_tp != max_tp {
            targets.push(min_tp);
        }
        for tp in targets {
            let best = members.iter().map(|&idx| single(&jobs[idx])).filter(|(t, _)| *t == tp).map(|(_, c)| c).max();
            for &idx in members {
                let (t, c) = single(&jobs[idx]);
                if t == tp && Some(c) == best {
                    marked[idx] = true;
                }
            }
        }
    }
    for (job, mark) in jobs.iter_mut().zip(&marked) {
        job.run_eval = *mark;
    }
    if mode == EvalMode::Only {
        let mut idx = 0;
        jobs.retain(|_| {
            let keep = marked[idx];
            idx += 1;
            keep
        });
    }
}
