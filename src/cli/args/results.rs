//! Clap types of `ix results`, `ix evals` and `ix report`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

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
    Bench(ResultsBenchArgs),
    /// Write the state store's current results, with their provenance, into a results database
    /// (idempotent: ingesting the same store twice changes nothing).
    Ingest(super::IngestArgs),
    /// List the runs of a results database.
    Runs(super::RunsArgs),
    /// Time ingesting N synthetic records and comparing two runs (BENCHMARKS.md).
    #[command(hide = true)]
    HistoryBench(super::HistoryBenchArgs),
    /// Test-only: write a synthetic run with seeded noise into a state store.
    #[command(hide = true)]
    Synth(super::SynthArgs),
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
    /// Leave out files that are not readable JSON records (with a warning naming each) instead
    /// of failing.
    #[arg(long)]
    pub(crate) skip_malformed: bool,
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
    /// The runners config whose keys name the GPU SKUs.
    #[arg(long = "runner-config", alias = "runners", default_value = ".github/configs/runners.yaml")]
    pub(crate) runners: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ResultsBenchArgs {
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
    #[arg(required_unless_present = "results_db")]
    pub(crate) dir: Option<PathBuf>,
    /// Output file; stdout when absent.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "html")]
    pub(crate) format: ReportFormat,
    /// Leave out files that are not readable JSON records (with a warning naming each) instead
    /// of failing.
    #[arg(long)]
    pub(crate) skip_malformed: bool,
    /// Report a run of this results database (a SQLite file or `postgres://…`), with a history
    /// section: every configuration's metrics over all its runs, regressions marked.
    #[arg(long, value_name = "PATH|URL", conflicts_with = "dir")]
    pub(crate) results_db: Option<String>,
    /// With `--results-db`: the run to report (id, id prefix or label).
    #[arg(long, default_value = "latest", value_name = "RUN", requires = "results_db")]
    pub(crate) run: String,
    /// With `--results-db`: a run overlaid on the throughput (Pareto) charts.
    #[arg(long, value_name = "RUN", requires = "results_db")]
    pub(crate) baseline: Option<String>,
}
