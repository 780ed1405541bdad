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

/// Eval flags of today's generator (INFERENCEX-HEAD §5): marking runs unless `--no-evals`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadEvals {
    /// `--evals-only`: agentic jobs are candidates too; keep only marked jobs.
    pub evals_only: bool,
    /// `--all-evals`: mark every 8k1k and agentic job, merge multi-node ones; keep only marked jobs.
    pub all_evals: bool,
}

/// Only 8k1k fixed jobs are eval candidates at HEAD.
fn is_8k1k(job: &Job) -> bool {
    !job.is_agentic() && job.isl == 8192 && job.osl == 1024
}

/// The multi-node grouping key: every field except conc, run-eval, eval-only, eval-conc,
/// eval-all-concs and exp-name (§5.1.3), as JSON text (equal texts, equal fields).
fn multi_group_key(job: &Job) -> String {
    const LEFT_OUT: &[&str] = &["conc", "run-eval", "eval-only", "eval-conc", "eval-all-concs", "exp-name"];
    let mut key = String::with_capacity(512);
    job.write_json_without(crate::expand::KeyOrder::Sweep, LEFT_OUT, &mut key);
    key
}

fn concs(job: &Job) -> Vec<i64> {
    match &job.shape {
        JobShape::Single { conc, .. } => vec![*conc],
        JobShape::Multi { conc, .. } => conc.clone(),
    }
}

/// Eval marking at HEAD (§5.1-§5.3), then the evals-only filter.
pub fn mark_evals_head(jobs: &mut Vec<Job>, flags: HeadEvals) {
    const MIN_EVAL_CONC: i64 = 16;
    let mut marked = vec![false; jobs.len()];
    let mut eval_conc: Vec<Option<i64>> = vec![None; jobs.len()];
    let with_agentic = flags.evals_only || flags.all_evals;
    // Single-node fixed 8k1k: the largest and the upper-median distinct concurrency per group.
    type SingleKey<'a> = (&'a str, &'a str, &'a str, &'a str, i64, i64, &'static str, bool);
    let mut single_groups: HashMap<SingleKey<'_>, Vec<usize>> = HashMap::new();
    // Single-node agentic: the largest concurrency per (model, runner, framework, precision).
    let mut agentic_groups: HashMap<(&str, &str, &str, &str), Vec<usize>> = HashMap::new();
    // Multi-node: the largest eligible concurrency per parallelism group.
    let mut multi_groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (idx, job) in jobs.iter().enumerate() {
        let candidate = is_8k1k(job) || (with_agentic && job.is_agentic());
        if !candidate {
            continue;
        }
        match job.shape {
            JobShape::Single { dp_attn, conc, .. } if !job.is_agentic() => {
                if conc < MIN_EVAL_CONC {
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
                push_group(&mut single_groups, key, idx);
            }
            JobShape::Single { .. } => {
                let key = (job.model.as_str(), job.runner.as_str(), job.framework.as_str(), job.precision.as_str());
                push_group(&mut agentic_groups, key, idx);
            }
            JobShape::Multi { .. } => {
                if concs(job).iter().any(|c| *c >= MIN_EVAL_CONC) {
                    push_group(&mut multi_groups, multi_group_key(job), idx);
                }
            }
        }
    }
    for members in single_groups.values() {
        let mut values: Vec<i64> = members.iter().flat_map(|&idx| concs(&jobs[idx])).collect();
        values.sort_unstable();
        values.dedup();
        let (Some(&max), Some(&median)) = (values.last(), values.get(values.len() / 2)) else { continue };
        for &idx in members {
            let conc = concs(&jobs[idx])[0];
            if conc == max || conc == median {
                marked[idx] = true;
            }
        }
    }
    for members in agentic_groups.values() {
        let mut best: Option<(usize, i64)> = None;
        for &idx in members {
            let conc = concs(&jobs[idx])[0];
            if best.is_none_or(|(_, b)| conc > b) {
                best = Some((idx, conc));
            }
        }
        if let Some((idx, _)) = best {
            marked[idx] = true;
        }
    }
    for members in multi_groups.values() {
        let mut best: Option<(usize, i64)> = None;
        for &idx in members {
            let eligible = concs(&jobs[idx]).into_iter().filter(|c| *c >= MIN_EVAL_CONC).max();
            if let Some(conc) = eligible
                && best.is_none_or(|(_, b)| conc > b)
            {
                best = Some((idx, conc));
            }
        }
        if let Some((idx, conc)) = best {
            marked[idx] = true;
            eval_conc[idx] = Some(conc);
        }
    }
    for ((job, mark), conc) in jobs.iter_mut().zip(&marked).zip(&eval_conc) {
        job.run_eval = *mark;
        job.head.eval_conc = *conc;
        job.head.evals_marked = true;
    }
    if flags.all_evals {
        all_evals_expansion(jobs);
    }
    if flags.all_evals || flags.evals_only {
        jobs.retain(|job| job.run_eval);
        for job in jobs.iter_mut() {
            job.head.eval_only = true;
        }
    }
}

/// Groups are independent (each marks or merges its own members by index), so their order
/// does not matter; members stay in job order.
fn push_group<K: std::hash::Hash + Eq>(groups: &mut HashMap<K, Vec<usize>>, key: K, idx: usize) {
    groups.entry(key).or_default().push(idx);
}

/// `--all-evals` (§5.3): every single-node 8k1k and agentic job is marked; multi-node 8k1k and
/// agentic jobs of one parallelism group merge into the first, over the union of their concs.
fn all_evals_expansion(jobs: &mut Vec<Job>) {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for job in jobs.iter_mut() {
        let candidate = is_8k1k(job) || job.is_agentic();
        if !candidate {
            continue;
        }
        match job.shape {
            JobShape::Single { .. } => job.run_eval = true,
            JobShape::Multi { .. } => {}
        }
    }
    for (idx, job) in jobs.iter().enumerate() {
        if job.is_multinode() && (is_8k1k(job) || job.is_agentic()) {
            push_group(&mut groups, multi_group_key(job), idx);
        }
    }
    let mut removed = vec![false; jobs.len()];
    for members in groups.values() {
        let mut union: Vec<i64> = members.iter().flat_map(|&idx| concs(&jobs[idx])).collect();
        union.sort_unstable();
        union.dedup();
        let first = members[0];
        let job = &mut jobs[first];
        job.run_eval = true;
        if job.is_agentic() {
            job.head.eval_conc = union.last().copied();
        } else {
            job.head.eval_conc = None;
            job.head.eval_all_concs = true;
        }
        if let JobShape::Multi { conc, .. } = &mut job.shape {
            *conc = union;
        }
        for &idx in &members[1..] {
            removed[idx] = true;
        }
    }
    let mut idx = 0;
    jobs.retain(|_| {
        let keep = !removed[idx];
        idx += 1;
        keep
    });
}

/// Eval marking for `ix plan` and `ix run` (`--run-evals` / `--evals-only`), by the rules of
/// the sweep's format: the Feb-2026 policy, or today's (agentic jobs only with evals-only).
pub fn mark_evals_for(format: crate::ir::Format, jobs: &mut Vec<Job>, mode: EvalMode) {
    match format {
        crate::ir::Format::Feb => mark_evals(jobs, mode),
        crate::ir::Format::Head => {
            mark_evals_head(jobs, HeadEvals { evals_only: mode == EvalMode::Only, all_evals: false });
        }
    }
}
