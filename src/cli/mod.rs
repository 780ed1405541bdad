//! Command-line dispatch: turns parsed arguments into library calls and exit codes.
//!
//! Only this module (and `report`) prints. Each verb lives in its own file.

mod args;
mod bench;
mod bench_agentic;
mod changelog;
mod check;
mod collect_artifacts;
mod compare;
mod evals;
mod fmt;
mod history;
mod image;
mod lower;
mod lsp;
mod matrix;
mod plan;
mod report;
mod results;
mod run;
mod state;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;

/// How a run of `ix` ended, mapped onto the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// `ix` ran but found failures (invalid input, failed tasks).
    Failure,
    /// `ix` could not do the job (usage errors, internal errors).
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints usage errors to stderr and help to stdout; usage errors exit 2.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    dispatch(cli).into()
}

fn dispatch(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Matrix(args) => matrix::matrix(&args),
        Command::Check(args) => check::check(&args),
        Command::Run(args) => run::run(&args),
        Command::CollectArtifacts(args) => collect_artifacts::collect_artifacts(&args),
        Command::Changelog(args) => changelog::changelog(&args),
        Command::Plan(args) => plan::plan(&args),
        Command::State(args) => state::state(&args),
        Command::Lower(args) => lower::lower(&args),
        Command::Fmt(args) => fmt::fmt(&args),
        Command::Version => {
            #[allow(clippy::print_stdout)]
            {
                println!("ix {}", env!("CARGO_PKG_VERSION"));
            }
            ExitStatus::Success
        }
        Command::Results(command) => results::results(command),
        Command::Evals(command) => evals::evals(command),
        Command::Report(args) => report::report(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Image(command) => image::image(command),
        Command::Lsp(args) => lsp::lsp(&args),
        Command::Compare(args) => compare::compare(&args),
    }
}
