//! All clap types of the `ix` command line: the verbs here, their flags by verb in the
//! submodules.

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
mod history;
mod matrix;
mod plan;
mod results;

pub(crate) use bench::*;
pub(crate) use history::*;
pub(crate) use matrix::*;
pub(crate) use plan::*;
pub(crate) use results::*;

/// Declarative, incremental benchmarking of LLM inference servers.
#[derive(Debug, Parser)]
#[command(name = "ix", version, infer_long_args = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate the benchmark job list, as InferenceX's generate_sweep_configs.py does.
    Matrix(MatrixArgs),
    /// Validate sweep, master-config and runner files and print every diagnostic.
    Check(CheckArgs),
    /// Run the tasks that are not finished yet, recording each outcome as it lands.
    Run(RunArgs),
    /// Fold per-task GitHub Actions artifacts into the state store, verifying each.
    CollectArtifacts(CollectArtifactsArgs),
    /// Check perf-changelog additions, or list the jobs they trigger.
    Changelog(ChangelogArgs),
    /// Show which tasks must run and which are reused, and why.
    Plan(PlanArgs),
    /// Inspect the state store.
    State(StateArgs),
    /// Print an InferenceX master-config YAML file as an equivalent `.ix` sweep.
    Lower(LowerArgs),
    /// Format `.ix` sweep files canonically (in place, or `--check`).
    Fmt(FmtArgs),
    /// Load-generate against OpenAI-compatible servers, or simulate one.
    Bench(BenchArgs),
    /// Print the version of `ix`.
    Version,
    /// Process, collect and summarise benchmark results.
    #[command(subcommand)]
    Results(ResultsCommand),
    /// Run lm-eval tasks and collect their scores.
    #[command(subcommand)]
    Evals(EvalsCommand),
    /// Render a report (HTML with charts, or markdown) from a directory of aggregate records.
    Report(ReportArgs),
    /// Container images: the digest each tag names now, asked of its registry.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Serve the Language Server Protocol on stdin/stdout (editor diagnostics, hovers, navigation).
    Lsp(LspArgs),
    /// Compare two sets of results (state stores or database runs): per configuration and
    /// metric, baseline, current, change and a verdict (improved, regressed, within noise).
    Compare(CompareArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// Print `IMAGE sha256:DIGEST` per image: pins as written, tags as their registry says now
    /// (anonymously, over the registry HTTP API, without pulling).
    Resolve(ImageResolveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImageResolveArgs {
    /// Image references (`vllm/vllm-openai:v0.9.0`, `127.0.0.1:5000/x:v1`, `x@sha256:…`).
    #[arg(required = true, value_name = "IMAGE")]
    pub(crate) images: Vec<String>,
    /// Seconds to wait for each registry request (default 10, or `IX_REGISTRY_TIMEOUT`).
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// A registry (`host` or `host:port`) to speak plain http to, besides loopback ones and
    /// those in `IX_INSECURE_REGISTRIES`.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registries: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiagFormat {
    /// Rendered for a terminal.
    Human,
    /// A JSON array (editors, CI annotations).
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Files to check: master configs, runners files (detected by shape) and `.ix` sweeps
    /// [default: InferenceX's master configs and runners file in `configs/`, else in
    /// `.github/configs/`].
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// Treat these files as runners configs.
    #[arg(long = "runner-config", alias = "runners", value_name = "FILE")]
    pub(crate) runners: Vec<String>,
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub(crate) format: DiagFormat,
}

#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    #[command(subcommand)]
    pub(crate) command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// Load and verify every record, index entry and artifact of a store.
    Verify {
        #[arg(long, default_value = ".ix", value_name = "DIR")]
        state_dir: std::path::PathBuf,
    },
    /// Test-only: write synthetic records in a loop (the crash-safety tests kill this).
    #[command(hide = true)]
    RecordFake {
        #[arg(long, default_value = ".ix", value_name = "DIR")]
        state_dir: std::path::PathBuf,
        /// How many records to write.
        #[arg(long, default_value_t = 1000, value_name = "N")]
        count: usize,
        /// Bytes of the artifact attached to each record.
        #[arg(long, default_value_t = 4096, value_name = "BYTES")]
        artifact_size: usize,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LowerArgs {
    /// The master-config YAML file.
    #[arg(value_name = "FILE")]
    pub(crate) file: String,
    /// Reference this runners file from the output (`runners "PATH"`), relative to the output.
    #[arg(long, value_name = "PATH")]
    pub(crate) runners: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FmtArgs {
    /// `.ix` files to format.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// Change nothing; exit 1 and name the files that are not formatted.
    #[arg(long, conflicts_with = "stdout")]
    pub(crate) check: bool,
    /// Print the formatted text instead of rewriting the files.
    #[arg(long)]
    pub(crate) stdout: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LspArgs {
    /// The workspace folder [default: the folder the editor names, else the current one].
    #[arg(long, value_name = "DIR")]
    pub(crate) root: Option<std::path::PathBuf>,
}
