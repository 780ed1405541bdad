//! `ix matrix`: the job list of InferenceX's generator, as one line of JSON on stdout.

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::{CommonMatrixArgs, MatrixArgs, MatrixCommand, NodeArgs};
use crate::diag::{self, Diag, RenderOptions};
use crate::expand::{self, EvalMode, KeyOrder, NodeMode, RunnerModelSweep, TestConfig};
use crate::source::SourceMap;
use crate::workspace;

pub(crate) fn matrix(args: &MatrixArgs) -> ExitStatus {
    let common = match &args.command {
        MatrixCommand::FullSweep(a) => &a.common,
        MatrixCommand::TestConfig(a) => &a.common,
        MatrixCommand::RunnerModelSweep(a) => &a.common,
    };
    let loaded = workspace::load(&common.config_files, Some(&common.runner_config));
    if loaded.has_errors() {
        return fail(&loaded.sources, &loaded.diags);
    }
    let runners = loaded.runners.unwrap_or_default();
    let (result, order) = match &args.command {
        MatrixCommand::FullSweep(a) => {
            let mut opts = a.filters.to_full_sweep(node_mode(&a.node));
            opts.runner_node_filter = a.common.runner_node_filter.clone();
            (expand::full_sweep(&loaded.sweep, &runners, &opts), KeyOrder::Sweep)
        }
        MatrixCommand::TestConfig(a) => {
            let opts = TestConfig { config_keys: a.config_keys.clone(), conc: a.conc.clone() };
            (expand::test_config(&loaded.sweep, &opts), KeyOrder::Sweep)
        }
        MatrixCommand::RunnerModelSweep(a) => {
            let opts = RunnerModelSweep {
                mode: node_mode(&a.node),
                runner_type: a.runner_type.clone(),
                runner_config_path: a.common.runner_config.clone(),
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
    if let Some(mode) = eval_mode(common) {
        expand::mark_evals(&mut jobs, mode);
    }
    let list = serde_json::Value::Array(jobs.iter().map(|job| job.to_json(order)).collect());
    let mut line = expand::to_python_json(&list);
    line.push('\n');
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(line.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        // A closed pipe is not an error of ours.
        return ExitStatus::Success;
    }
    ExitStatus::Success
}

fn node_mode(node: &NodeArgs) -> NodeMode {
    if node.multi_node { NodeMode::Multi } else { NodeMode::Single }
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
