//! All clap types of the `ix` command line.

use std::path::PathBuf;

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
}

#[derive(Debug, Subcommand)]
pub(crate) enum ResultsCommand {
    /// Turn `<RESULT_FILENAME>.json` into `agg_<RESULT_FILENAME>.json` using the job's environment
    /// (RUNNER_TYPE, FRAMEWORK, TP, ...), as InferenceX's process_result.py does.
    Process(ProcessArgs),
    /// Write every `*.json` under DIR, in path order, as one list to `agg_<NAME>.json`.
    Collect(CollectArgs),
    /// Print the summary tables of every aggregate record under DIR.
    Summary(SummaryArgs),
    /// Count successful jobs per GPU SKU from a JSON list of job outcomes.
    SuccessRate(SuccessRateArgs),
    /// Time processing, collecting and summarising N synthetic records.
    #[command(hide = true)]
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProcessArgs {
    /// Directory holding `<RESULT_FILENAME>.json`; the aggregate is written there too.
    #[arg(long, default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Write `null` where the reference would crash (zero TPOT, null metric) instead of failing.
    #[arg(long)]
    pub(crate) lenient: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CollectArgs {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    /// Where `agg_<NAME>.json` goes.
    #[arg(long, default_value = ".")]
    pub(crate) out_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    Md,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    pub(crate) dir: PathBuf,
    #[arg(long, value_enum, default_value = "md")]
    pub(crate) format: TableFormat,
    /// Leave cells empty for records that lack a metric instead of failing.
    #[arg(long)]
    pub(crate) lenient: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SuccessRateArgs {
    /// Writes `<OUTNAME>.json`.
    pub(crate) outname: String,
    /// JSON list of jobs (`name`, `conclusion`), or a GitHub API `{"jobs": [...]}` response.
    /// Without it, the jobs of the current run are listed from the GitHub API (`GITHUB_TOKEN`,
    /// `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_API_URL`).
    #[arg(long)]
    pub(crate) jobs: Option<PathBuf>,
    /// runners.yaml whose keys name the GPU SKUs.
    #[arg(long, default_value = ".github/configs/runners.yaml")]
    pub(crate) runners: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[arg(long, default_value_t = 10_000)]
    pub(crate) records: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvalsCommand {
    /// Run an lm-eval task file against a server's /v1/chat/completions and write meta_env.json.
    Run(EvalsRunArgs),
    /// Collect eval results under DIR into rows, a table and `agg_eval_<NAME>.json`.
    Collect(EvalsCollectArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EvalsRunArgs {
    /// Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8888.
    #[arg(long)]
    pub(crate) server: String,
    /// Model name sent in requests.
    #[arg(long)]
    pub(crate) model: String,
    /// Task name: `utils/evals/<TASK>.yaml` (or a path to a task file).
    #[arg(long, default_value = "gsm8k")]
    pub(crate) task: String,
    /// Directory holding the task files.
    #[arg(long, default_value = "utils/evals")]
    pub(crate) tasks_dir: PathBuf,
    /// Where lm-eval output and meta_env.json go.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Tokenizer for lm-eval (a Hugging Face id or local folder).
    #[arg(long)]
    pub(crate) tokenizer: Option<String>,
    #[arg(long, default_value_t = 2)]
    pub(crate) num_fewshot: u32,
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrent_requests: u32,
    #[arg(long, default_value_t = 8192)]
    pub(crate) max_gen_tokens: u32,
    /// Only this many items (lm-eval `--limit`).
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// The lm-eval executable.
    #[arg(long, default_value = "lm_eval", env = "IX_LM_EVAL")]
    pub(crate) lm_eval: String,
}

#[derive(Debug, Args)]
pub(crate) struct EvalsCollectArgs {
    pub(crate) dir: PathBuf,
    pub(crate) name: String,
    /// Minimum scores per task (and model); a row below its minimum fails the command.
    #[arg(long)]
    pub(crate) thresholds: Option<PathBuf>,
    /// Where `agg_eval_<NAME>.json` goes.
    #[arg(long, default_value = ".")]
    pub(crate) out_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Html,
    Md,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Directory of aggregate records (`agg_*.json`, searched recursively), or one JSON file
    /// (a record or a list of records, as `ix results collect` writes).
    pub(crate) dir: PathBuf,
    /// Output file; stdout when absent.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "html")]
    pub(crate) format: ReportFormat,
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
    #[arg(required_unless_present = "runners", value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// Treat these files as runners configs.
    #[arg(long, value_name = "FILE")]
    pub(crate) runners: Vec<String>,
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub(crate) format: DiagFormat,
}
