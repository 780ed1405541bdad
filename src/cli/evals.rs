//! `ix evals run|collect`: flags to `crate::results::evals` / `crate::results::lm_eval` calls,
//! the eval table to stdout, `agg_eval_<NAME>.json` to disk, threshold failures to stderr.

use serde_json::Value;

use super::ExitStatus;
use super::args::{EvalsCollectArgs, EvalsCommand, EvalsRunArgs};
use super::results::{append_step_summary, fail, print_stdout, write_file};
use crate::report::table::github_table;
use crate::results::evals::{EVAL_HEADERS, check_thresholds, collect_eval_rows, eval_table_row, load_thresholds};
use crate::results::lm_eval::{EvalRun, meta_env, run_eval, task_file};

/// Dispatches `ix evals ...`.
pub(super) fn evals(command: EvalsCommand) -> ExitStatus {
    match command {
        EvalsCommand::Run(args) => run(&args),
        EvalsCommand::Collect(args) => collect(&args),
    }
}

fn run(args: &EvalsRunArgs) -> ExitStatus {
    let task_file = match task_file(&args.tasks_dir, &args.task) {
        Ok(path) => path,
        Err(error) => return fail(error),
    };
    let run = EvalRun {
        lm_eval: args.lm_eval.clone(),
        server: args.server.clone(),
        model: args.model.clone(),
        task_file,
        out_dir: args.out.clone(),
        num_fewshot: args.num_fewshot,
        concurrent_requests: args.concurrent_requests,
        max_gen_tokens: args.max_gen_tokens,
        limit: args.limit,
    };
    let lookup = |name: &str| std::env::var(name).ok();
    let mut meta = meta_env(&lookup);
    if meta.get("model").and_then(Value::as_str).is_none_or(str::is_empty) {
        meta.insert("model".into(), args.model.clone().into());
    }
    match run_eval(&run, &meta) {
        Ok(results) => {
            print_stdout(&format!("{}\n", results.display()));
            ExitStatus::Success
        }
        Err(error) => fail(error),
    }
}

fn collect(args: &EvalsCollectArgs) -> ExitStatus {
    let thresholds = match args.thresholds.as_deref().map(load_thresholds).transpose() {
        Ok(thresholds) => thresholds,
        Err(error) => return fail(error),
    };
    let rows = match collect_eval_rows(&args.dir) {
        Ok(rows) => rows,
        Err(error) => return fail(error),
    };
    let markdown = if rows.is_empty() {
        "> No eval results found to summarize.\n".to_string()
    } else {
        let cells: Vec<Vec<Option<String>>> = rows.iter().map(eval_table_row).collect();
        format!("{}\n", github_table(&EVAL_HEADERS, &cells))
    };
    print_stdout(&markdown);
    let json = Value::Array(rows.iter().cloned().map(Value::Object).collect());
    let out = args.out_dir.join(format!("agg_eval_{}.json", args.name));
    if let Err(error) = write_file(&out, &serde_json::to_string_pretty(&json).unwrap_or_default()) {
        return fail(error);
    }
    let status = append_step_summary(&markdown);
    if status != ExitStatus::Success {
        return status;
    }
    let Some(thresholds) = thresholds else { return ExitStatus::Success };
    let regressions = check_thresholds(&rows, &thresholds);
    if regressions.is_empty() {
        return ExitStatus::Success;
    }
    #[allow(clippy::print_stderr)]
    for regression in &regressions {
        let score = regression.score.map_or("no score".to_string(), |score| format!("{:.2}%", score * 100.0));
        eprintln!(
            "error: eval regression: task `{}` of model `{}` on {} {} {} scored {score}, below the minimum {:.2}% ({})",
            regression.task,
            regression.model,
            regression.hw,
            regression.framework,
            regression.precision,
            regression.min_score * 100.0,
            regression.source
        );
    }
    ExitStatus::Failure
}
