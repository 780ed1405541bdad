//! `ix matrix`: the job list of InferenceX's generator, as one line of JSON on stdout.
//!
//! One rule set per invocation, chosen by the format of the configs (INFERENCEX-HEAD §10):
//! Feb-2026 files get the Feb generator (its subcommands and flags), today's files get today's
//! (`--no-evals`, `--all-evals`, `--scenario-type`, evals on by default). A flag that only the
//! other format's generator knows is a usage error, as it is in that generator.

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::{CommonMatrixArgs, MatrixArgs, MatrixCommand, NodeArgs, ScenarioType, SeqLen, seq_len_pairs};
use crate::diag::{self, Diag, RenderOptions};
use crate::expand::head::HeadTestConfig;
use crate::expand::{self, EvalMode, HeadEvals, KeyOrder, NodeMode, RunnerModelSweep, Scenario, TestConfig};
use crate::ir::Format;
use crate::source::SourceMap;
use crate::workspace;

pub(crate) fn matrix(args: &MatrixArgs) -> ExitStatus {
    let common = match &args.command {
        MatrixCommand::FullSweep(a) => &a.common,
        MatrixCommand::TestConfig(a) => &a.common,
        MatrixCommand::RunnerModelSweep(a) => &a.common,
    };
    // The sweeps first (usage depends on their format), then the runners file of the one rule.
    let mut loaded = workspace::load(&common.config_files, None);
    if loaded.has_errors() {
        return fail(&loaded.sources, &loaded.diags);
    }
    let format = loaded.sweep.format();
    if let Err(message) = usage_check(args, common, format) {
        return usage(&message);
    }
    if let Some(path) = workspace::runner_config(common.runner_config.as_deref(), &common.config_files) {
        workspace::add_runners(&mut loaded, &path);
        if loaded.has_errors() {
            return fail(&loaded.sources, &loaded.diags);
        }
    }
    let runners = loaded.runners.clone().unwrap_or_default();
    let scenarios = common.scenario_type.as_ref().map(|types| {
        types
            .iter()
            .map(|t| match t {
                ScenarioType::FixedSeqLen => Scenario::FixedSeqLen,
                ScenarioType::AgenticCoding => Scenario::AgenticCoding,
            })
            .collect::<Vec<_>>()
    });
    let (result, order) = match &args.command {
        MatrixCommand::FullSweep(a) => {
            let mut opts = a.filters.to_full_sweep(node_mode(&a.node));
            opts.runner_node_filter = a.common.runner_node_filter.clone();
            opts.scenarios = scenarios;
            (expand::full_sweep(&loaded.sweep, &runners, &opts), KeyOrder::Sweep)
        }
        MatrixCommand::TestConfig(a) if format == Format::Head => {
            let opts = HeadTestConfig {
                config_keys: a.config_keys.clone(),
                conc: a.conc.clone(),
                seq_lens: a.seq_lens.as_deref().map(seq_len_pairs),
                scenarios,
                runner_node_filter: a.common.runner_node_filter.clone(),
            };
            (expand::head::test_config(&loaded.sweep, &runners, &opts), KeyOrder::Sweep)
        }
        MatrixCommand::TestConfig(a) => {
            let opts = TestConfig { config_keys: a.config_keys.clone(), conc: a.conc.clone() };
            (expand::test_config(&loaded.sweep, &opts), KeyOrder::Sweep)
        }
        MatrixCommand::RunnerModelSweep(a) => {
            let opts = RunnerModelSweep {
                mode: node_mode(&a.node),
                runner_type: a.runner_type.clone(),
                runner_config_path: a
                    .common
                    .runner_config
                    .clone()
                    .unwrap_or_else(|| ".github/configs/runners.yaml".into()),
                model_prefix: a.model_prefix.clone(),
                precision: a.precision.clone(),
                framework: a.framework.clone(),
                conc: a.conc,
                runner_node_filter: a.common.runner_node_filter.clone(),
            };
            (expand::runner_model_sweep(&loaded.sweep, &runners, &opts), KeyOrder::RunnerModel)
        }
    };
    let mut jobs = match result {
        Ok(jobs) => jobs,
        Err(diags) => return fail(&loaded.sources, &diags),
    };
    match format {
        Format::Head if !common.no_evals => {
            expand::mark_evals_head(
                &mut jobs,
                HeadEvals { evals_only: common.evals_only, all_evals: common.all_evals },
            );
        }
        Format::Head => {}
        Format::Feb => {
            if let Some(mode) = eval_mode(common) {
                expand::mark_evals(&mut jobs, mode);
            }
        }
    }
    // The process ends after the write: freeing thousands of jobs and the sweep one by one
    // would only cost time (a few percent of the run).
    let written = write_jobs(&jobs, order, &mut std::io::stdout().lock());
    std::mem::forget(jobs);
    std::mem::forget(loaded);
    // A closed pipe is not an error of ours.
    let _ = written;
    ExitStatus::Success
}

/// Writes the job list as one line of JSON. Each job's text is written straight from its fields
/// into a buffer passed on every 64 KiB: neither the list as JSON values nor its whole text
/// (about 1 MB for today's masters) is ever held, which cost more in fresh memory than the
/// writing itself.
fn write_jobs(jobs: &[expand::Job], order: KeyOrder, out: &mut impl Write) -> std::io::Result<()> {
    const FLUSH_AT: usize = 64 * 1024;
    let mut text = String::with_capacity(FLUSH_AT + 4096);
    text.push('[');
    for (idx, job) in jobs.iter().enumerate() {
        if idx > 0 {
            text.push_str(", ");
        }
        job.write_json(order, &mut text);
        if text.len() >= FLUSH_AT {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    text.push_str("]\n");
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The usage checks of the format's generator (INFERENCEX-HEAD §2; REFERENCE-SEMANTICS §2).
fn usage_check(args: &MatrixArgs, common: &CommonMatrixArgs, format: Format) -> Result<(), String> {
    let feb_only = "exists only for Feb-2026 configs (`seq-len-configs`); today's configs mark evals by default";
    let head_only = "exists only for today's configs (`scenarios`)";
    let node = match &args.command {
        MatrixCommand::FullSweep(a) => Some(&a.node),
        MatrixCommand::RunnerModelSweep(a) => Some(&a.node),
        MatrixCommand::TestConfig(_) => None,
    };
    match format {
        Format::Head => {
            if let MatrixCommand::RunnerModelSweep(_) = &args.command {
                return Err(format!("the subcommand `runner-model-sweep` {feb_only}"));
            }
            if common.run_evals {
                return Err(format!("`--run-evals` {feb_only}"));
            }
            let seq_lens: Option<&Vec<SeqLen>> = match &args.command {
                MatrixCommand::FullSweep(a) => a.filters.seq_lens.as_ref(),
                MatrixCommand::TestConfig(a) => a.seq_lens.as_ref(),
                MatrixCommand::RunnerModelSweep(_) => None,
            };
            if seq_lens.is_some_and(|lens| lens.contains(&SeqLen::OneKEightK)) {
                return Err(
                    "`--seq-lens 1k8k` exists only for Feb-2026 configs; today's choices are `1k1k` and `8k1k`".into(),
                );
            }
            if let MatrixCommand::FullSweep(a) = &args.command {
                if a.filters.step_size <= 1 {
                    return Err(format!("`--step-size` must be greater than 1, got {}", a.filters.step_size));
                }
                if let (Some(min), Some(max)) = (a.filters.min_conc, a.filters.max_conc)
                    && min > max
                {
                    return Err(format!("`--min-conc` ({min}) must not exceed `--max-conc` ({max})"));
                }
            }
        }
        Format::Feb => {
            for (set, flag) in [
                (common.no_evals, "--no-evals"),
                (common.all_evals, "--all-evals"),
                (common.scenario_type.is_some(), "--scenario-type"),
            ] {
                if set {
                    return Err(format!("`{flag}` {head_only}"));
                }
            }
            if let MatrixCommand::TestConfig(a) = &args.command
                && a.seq_lens.is_some()
            {
                return Err(format!("`test-config --seq-lens` {head_only}"));
            }
            if let Some(node) = node {
                match (node.single_node, node.multi_node) {
                    (false, false) => return Err("one of `--single-node` or `--multi-node` is required".into()),
                    (true, true) => return Err("`--single-node` cannot be used with `--multi-node`".into()),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn usage(message: &str) -> ExitStatus {
    let _ = writeln!(std::io::stderr(), "error: {message}\n\nFor more information, try '--help'.");
    ExitStatus::Error
}

fn node_mode(node: &NodeArgs) -> NodeMode {
    match (node.single_node, node.multi_node) {
        (true, false) => NodeMode::Single,
        (false, true) => NodeMode::Multi,
        _ => NodeMode::Both,
    }
}

fn eval_mode(common: &CommonMatrixArgs) -> Option<EvalMode> {
    if common.evals_only {
        Some(EvalMode::Only)
    } else if common.run_evals {
        Some(EvalMode::Mark)
    } else {
        None
    }
}

/// Prints diagnostics to stderr and returns the failure status (exit 1).
pub(crate) fn fail(sources: &SourceMap, diags: &[Diag]) -> ExitStatus {
    let rendered = diag::render(sources, diags, RenderOptions::for_terminal());
    let _ = std::io::stderr().write_all(rendered.as_bytes());
    ExitStatus::Failure
}
