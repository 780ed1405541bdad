//! All clap types of the `ix` command line.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

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
    /// Print an InferenceX master-config YAML file as an equivalent `.ix` sweep.
    Lower(LowerArgs),
    /// Format `.ix` sweep files canonically (in place, or `--check`).
    Fmt(FmtArgs),
    /// Print the version of `ix`.
    Version,
}

#[derive(Debug, Args)]
pub(crate) struct MatrixArgs {
    #[command(subcommand)]
    pub(crate) command: MatrixCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MatrixCommand {
    /// Every job of the configs that pass the filters.
    FullSweep(FullSweepArgs),
    /// The jobs of the named config keys.
    TestConfig(TestConfigArgs),
    /// One smoke job per config and node of a runner type.
    RunnerModelSweep(RunnerModelSweepArgs),
}

/// Options shared by the three matrix subcommands.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("evals").args(["run_evals", "evals_only"]).multiple(false)))]
pub(crate) struct CommonMatrixArgs {
    /// Master config files (`.yaml` or `.ix`), merged in order.
    #[arg(long, num_args = 1.., required = true, value_name = "FILE")]
    pub(crate) config_files: Vec<String>,
    /// The runners config.
    #[arg(long, default_value = ".github/configs/runners.yaml", value_name = "FILE")]
    pub(crate) runner_config: String,
    /// Mark eval jobs and keep all jobs.
    #[arg(long)]
    pub(crate) run_evals: bool,
    /// Mark eval jobs and keep only them.
    #[arg(long)]
    pub(crate) evals_only: bool,
    /// Keep only runner nodes whose name contains this string.
    #[arg(long, value_name = "S")]
    pub(crate) runner_node_filter: Option<String>,
}

/// `--single-node` or `--multi-node` (exactly one).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("node").args(["single_node", "multi_node"]).required(true).multiple(false)))]
pub(crate) struct NodeArgs {
    /// Single-node jobs.
    #[arg(long)]
    pub(crate) single_node: bool,
    /// Multi-node (disaggregated) jobs.
    #[arg(long)]
    pub(crate) multi_node: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SeqLen {
    #[value(name = "1k1k")]
    OneKOneK,
    #[value(name = "1k8k")]
    OneKEightK,
    #[value(name = "8k1k")]
    EightKOneK,
}

#[derive(Debug, Args)]
#[command(infer_long_args = true, allow_negative_numbers = true)]
pub(crate) struct FullSweepArgs {
    #[command(flatten)]
    pub(crate) common: CommonMatrixArgs,
    #[command(flatten)]
    pub(crate) node: NodeArgs,
    /// Keep config keys starting with one of these prefixes.
    #[arg(long, num_args = 1.., value_name = "P")]
    pub(crate) model_prefix: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_name = "P")]
    pub(crate) precision: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_name = "F")]
    pub(crate) framework: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_name = "T")]
    pub(crate) runner_type: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_enum)]
    pub(crate) seq_lens: Option<Vec<SeqLen>>,
    /// Multiplier between concurrency values of a range.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) step_size: i64,
    #[arg(long, value_name = "N")]
    pub(crate) min_conc: Option<i64>,
    #[arg(long, value_name = "N")]
    pub(crate) max_conc: Option<i64>,
    #[arg(long, value_name = "N")]
    pub(crate) max_tp: Option<i64>,
    #[arg(long, value_name = "N")]
    pub(crate) max_ep: Option<i64>,
}

#[derive(Debug, Args)]
#[command(infer_long_args = true, allow_negative_numbers = true)]
pub(crate) struct TestConfigArgs {
    #[command(flatten)]
    pub(crate) common: CommonMatrixArgs,
    /// Config keys to run, in this order.
    #[arg(long, num_args = 1.., required = true, value_name = "KEY")]
    pub(crate) config_keys: Vec<String>,
    /// Keep only these concurrency values.
    #[arg(long, num_args = 1.., value_name = "N")]
    pub(crate) conc: Option<Vec<i64>>,
}

#[derive(Debug, Args)]
#[command(infer_long_args = true, allow_negative_numbers = true)]
pub(crate) struct RunnerModelSweepArgs {
    #[command(flatten)]
    pub(crate) common: CommonMatrixArgs,
    #[command(flatten)]
    pub(crate) node: NodeArgs,
    /// The runner type to smoke-test.
    #[arg(long, required = true, value_name = "T")]
    pub(crate) runner_type: String,
    #[arg(long, num_args = 1.., value_name = "P")]
    pub(crate) model_prefix: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_name = "P")]
    pub(crate) precision: Option<Vec<String>>,
    #[arg(long, num_args = 1.., value_name = "F")]
    pub(crate) framework: Option<Vec<String>>,
    /// Concurrency of every job.
    #[arg(long, value_name = "N")]
    pub(crate) conc: Option<i64>,
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
    /// Files to check: master configs, runners files (detected by shape) and `.ix` sweeps.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// Treat these files as runners configs.
    #[arg(long, value_name = "FILE")]
    pub(crate) runners: Vec<String>,
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub(crate) format: DiagFormat,
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
