//! Clap types of `ix matrix` and the job filters `ix plan` shares with it.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

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
    /// The runners config [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
    /// Mark eval jobs and keep all jobs (Feb-2026 configs; today's mark evals by default).
    #[arg(long)]
    pub(crate) run_evals: bool,
    /// Mark eval jobs and keep only them.
    #[arg(long)]
    pub(crate) evals_only: bool,
    /// Do not mark eval jobs (today's configs).
    #[arg(long, conflicts_with_all = ["evals_only", "all_evals", "run_evals"])]
    pub(crate) no_evals: bool,
    /// Mark every 8k1k and agentic job as an eval and keep only evals (today's configs).
    #[arg(long)]
    pub(crate) all_evals: bool,
    /// Keep only these scenarios (today's configs).
    #[arg(long, num_args = 1.., value_enum, value_name = "T")]
    pub(crate) scenario_type: Option<Vec<ScenarioType>>,
    /// Keep only runner nodes whose name contains this string.
    #[arg(long, value_name = "S")]
    pub(crate) runner_node_filter: Option<String>,
}

/// `--single-node` and/or `--multi-node`: exactly one for Feb-2026 configs; either, both or
/// neither (both kinds) for today's.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Single-node jobs.
    #[arg(long)]
    pub(crate) single_node: bool,
    /// Multi-node (disaggregated) jobs.
    #[arg(long)]
    pub(crate) multi_node: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScenarioType {
    #[value(name = "fixed-seq-len")]
    FixedSeqLen,
    #[value(name = "agentic-coding")]
    AgenticCoding,
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
    #[command(flatten)]
    pub(crate) filters: SweepFilterArgs,
}

/// The job filters of `full-sweep`, shared by `ix matrix full-sweep` and `ix plan`.
#[derive(Clone, Debug, Args)]
pub(crate) struct SweepFilterArgs {
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
    /// Keep only these fixed sequence lengths (today's configs; agentic jobs are kept).
    #[arg(long, num_args = 1.., value_enum)]
    pub(crate) seq_lens: Option<Vec<SeqLen>>,
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

impl SweepFilterArgs {
    /// The filters as the expander's options (`runner_node_filter` is set by the caller).
    pub(crate) fn to_full_sweep(&self, mode: crate::expand::NodeMode) -> crate::expand::FullSweep {
        crate::expand::FullSweep {
            mode,
            model_prefix: self.model_prefix.clone(),
            precision: self.precision.clone(),
            framework: self.framework.clone(),
            runner_type: self.runner_type.clone(),
            seq_lens: self.seq_lens.as_deref().map(seq_len_pairs),
            step_size: self.step_size,
            min_conc: self.min_conc,
            max_conc: self.max_conc,
            max_tp: self.max_tp,
            max_ep: self.max_ep,
            runner_node_filter: None,
            scenarios: None,
            lists_per_value: false,
        }
    }
}

/// `--seq-lens` choices as (isl, osl) pairs.
pub(crate) fn seq_len_pairs(lens: &[SeqLen]) -> Vec<(i64, i64)> {
    lens.iter()
        .map(|len| match len {
            SeqLen::OneKOneK => (1024, 1024),
            SeqLen::OneKEightK => (1024, 8192),
            SeqLen::EightKOneK => (8192, 1024),
        })
        .collect()
}
