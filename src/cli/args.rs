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
    pub(crate) dir: PathBuf,
    /// Output file; stdout when absent.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "html")]
    pub(crate) format: ReportFormat,
    /// Leave out files that are not readable JSON records (with a warning naming each) instead
    /// of failing.
    #[arg(long)]
    pub(crate) skip_malformed: bool,
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
    /// The runners config [default: `configs/runners.yaml` for today's configs,
    /// `.github/configs/runners.yaml` for Feb-2026 ones].
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

/// Which tasks `ix run` builds: the master configs and runners to expand.
#[derive(Clone, Debug, Args)]
pub(crate) struct SweepInputArgs {
    /// Master config files (`.yaml` or `.ix`), merged in order, after the positional ones.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub(crate) config_files: Vec<String>,
    /// The runners config [default: the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml` that exists; `.ix` sweeps may declare their runners inline].
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
    /// Only the jobs of these config keys (each must exist in the sweeps).
    #[arg(long, num_args = 1.., value_name = "KEY")]
    pub(crate) config_keys: Option<Vec<String>>,
    /// The state store folder.
    #[arg(long = "state-dir", alias = "state", default_value = ".ix", value_name = "DIR")]
    pub(crate) state: String,
    /// Mark eval jobs (as `ix matrix --run-evals` does) and run their eval tasks (settings in
    /// the project's `evals.yaml`).
    #[arg(long)]
    pub(crate) run_evals: bool,
    /// The most jobs the sweeps may expand to (a guard against a runaway concurrency list).
    #[arg(long, default_value_t = crate::plan::jobs::DEFAULT_MAX_JOBS, value_name = "N")]
    pub(crate) max_jobs: usize,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Sweep files (`.ix` or `.yaml` master configs), merged in order.
    #[arg(value_name = "FILES")]
    pub(crate) files: Vec<String>,
    #[command(flatten)]
    pub(crate) input: SweepInputArgs,
    /// Where the HTML report of the run goes.
    #[arg(long, short = 'o', default_value = "report.html", value_name = "FILE")]
    pub(crate) output: String,
    /// At most this many tasks at once.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub(crate) jobs: usize,
    /// Per-attempt timeout in seconds.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// Extra attempts for a failing task.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) retries: u32,
    /// Seconds before the first retry (doubling after each).
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub(crate) retry_backoff: f64,
    /// Executor for all runner types (`local`, `docker`, `slurm`), or `TYPE=EXECUTOR` per type.
    #[arg(long, value_name = "EXEC")]
    pub(crate) executor: Vec<String>,
    /// Slurm partition.
    #[arg(long, value_name = "NAME")]
    pub(crate) slurm_partition: Option<String>,
    /// Ask Slurm for `--gres=gpu:<TP>`.
    #[arg(long)]
    pub(crate) slurm_gpus: bool,
    /// Run Slurm jobs in the task's image with enroot/pyxis.
    #[arg(long)]
    pub(crate) slurm_container: bool,
    /// Do not pass GPUs to `docker run`.
    #[arg(long)]
    pub(crate) docker_no_gpus: bool,
    /// The CLI of the `docker` executor: `docker` or `podman`.
    #[arg(long, env = "IX_CONTAINER_ENGINE", default_value = "docker", value_name = "ENGINE")]
    pub(crate) container_engine: crate::image::ContainerEngine,
    /// Do not ask registries for the current digest of each image before planning (launch tasks
    /// then keep the digest their last run recorded, and pull images never recorded).
    #[arg(long)]
    pub(crate) no_resolve_images: bool,
    /// Run only this task (a matrix job of the GitHub Actions executor).
    #[arg(long, value_name = "HASH")]
    pub(crate) task: Option<String>,
    /// With `--task`: write the task's artifact (manifest and result) under this folder.
    #[arg(long, value_name = "DIR", requires = "task")]
    pub(crate) artifact_dir: Option<String>,
    /// Write the unfinished tasks as GitHub Actions matrix chunks to `$GITHUB_OUTPUT` (or
    /// stdout) instead of running them.
    #[arg(long, conflicts_with = "task")]
    pub(crate) gha_matrix: bool,
    /// List what would run, run nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Accepted for compatibility: the engine's plan and state store are always used.
    #[arg(long, hide = true)]
    pub(crate) engine: bool,
    /// Rerun tasks matching a task-id glob (`bench/dsr1*`) or an input (`runner=h100`), as
    /// `ix plan --force` does.
    #[arg(long, value_name = "SELECTOR")]
    pub(crate) force: Vec<String>,
    /// Force the bench tasks of every config key that perf-changelog entries added since this
    /// git ref name ("forced by perf-changelog entry at line N").
    #[arg(long, value_name = "REF")]
    pub(crate) changelog_base: Option<String>,
    /// The perf-changelog file, with `--changelog-base`.
    #[arg(long, default_value = "perf-changelog.yaml", value_name = "FILE")]
    pub(crate) changelog_file: String,
    /// Run only in-process tasks (collect; with `--engine` also launch, result, summary,
    /// report) whose benchmark inputs are all finished: the collect job of a GitHub Actions
    /// sweep, after `ix collect-artifacts`.
    #[arg(long, conflicts_with_all = ["task", "gha_matrix"])]
    pub(crate) collect_only: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CollectArtifactsArgs {
    /// The folder holding the downloaded artifacts (searched recursively for manifest.json).
    #[arg(value_name = "DIR")]
    pub(crate) dir: String,
    /// The state store folder.
    #[arg(long = "state-dir", alias = "state", default_value = ".ix", value_name = "DIR")]
    pub(crate) state: String,
    /// Master configs: artifacts of tasks not in their current plan are rejected.
    #[arg(long, num_args = 1.., required = true, value_name = "FILE")]
    pub(crate) config_files: Option<Vec<String>>,
    #[arg(long, default_value = ".github/configs/runners.yaml", value_name = "FILE")]
    pub(crate) runner_config: String,
    /// Accepted for compatibility: artifacts always go to the engine's state store.
    #[arg(long, hide = true)]
    pub(crate) engine: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ChangelogArgs {
    #[command(subcommand)]
    pub(crate) command: ChangelogCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChangelogCommand {
    /// Check that the changelog changed only by valid additions between the merge base of
    /// BASE and HEAD, and HEAD.
    Check(ChangelogCheckArgs),
    /// Print the jobs the added entries trigger, in the reference processor's output shape.
    Jobs(ChangelogJobsArgs),
    /// Print the config keys the added entries force to rerun, with the entry's line.
    Keys(ChangelogCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ChangelogCheckArgs {
    #[arg(long, value_name = "REF")]
    pub(crate) base: String,
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub(crate) head: String,
    #[arg(long, default_value = "perf-changelog.yaml", value_name = "FILE")]
    pub(crate) changelog_file: String,
    /// Master configs the keys must resolve against.
    /// [default: `amd-master.yaml` and `nvidia-master.yaml` in `configs/` when it exists, else in
    /// `.github/configs/`]
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub(crate) config_files: Vec<String>,
    /// Also plan the sweep against this state store and warn about benchmark tasks that rerun
    /// because their inputs changed while no added entry covers their config key.
    #[arg(long, value_name = "DIR")]
    pub(crate) warn_uncovered: Option<String>,
    /// The runners config (with `--warn-uncovered`) [default: `runners.yaml` next to the default
    /// master configs].
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ChangelogJobsArgs {
    #[arg(long, value_name = "REF")]
    pub(crate) base_ref: String,
    #[arg(long, value_name = "REF")]
    pub(crate) head_ref: String,
    #[arg(long, default_value = "perf-changelog.yaml", value_name = "FILE")]
    pub(crate) changelog_file: String,
    /// [default: `amd-master.yaml` and `nvidia-master.yaml` in `configs/` when it exists, else in
    /// `.github/configs/`]
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub(crate) config_files: Vec<String>,
    /// [default: `runners.yaml` next to the default master configs]
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
    /// Diff against the merge base (the default) or, like the reference, the base tip.
    #[arg(long)]
    pub(crate) base_tip: bool,
    /// Keep only the lowest concurrency of each throughput curve (today's configs).
    #[arg(long)]
    pub(crate) trim_conc: bool,
    /// Widened evals for every entry (today's configs).
    #[arg(long)]
    pub(crate) all_evals: bool,
    /// Evals only, no throughput rows (today's configs).
    #[arg(long)]
    pub(crate) evals_only: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    /// Grouped by root cause, for a terminal.
    Human,
    /// The versioned `ix.plan/v1` document.
    Json,
    /// The benchmark tasks to run as GitHub Actions matrix chunks (at most 256 entries each), to
    /// `$GITHUB_OUTPUT` (stdout when unset), as `ix run --gha-matrix` writes them.
    GhaMatrix,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FakeOutcome {
    Success,
    Failed,
}

#[derive(Debug, Args)]
#[command(infer_long_args = true, allow_negative_numbers = true)]
#[command(group(ArgGroup::new("node").args(["single_node", "multi_node"]).multiple(false)))]
#[command(group(ArgGroup::new("evals").args(["run_evals", "evals_only"]).multiple(false)))]
pub(crate) struct PlanArgs {
    /// Sweep files (master configs), merged in order [default: InferenceX's master configs in
    /// `configs/`, else in `.github/configs/`].
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// The runners config [default: the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml` that exists; `.ix` sweeps may declare their runners inline].
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
    /// Project root: where `benchmarks/` and `runners/` live.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub(crate) project_dir: std::path::PathBuf,
    /// The state store to compare against.
    #[arg(long, default_value = ".ix", value_name = "DIR")]
    pub(crate) state_dir: std::path::PathBuf,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub(crate) format: PlanFormat,
    /// Show every input of one task (id, or a hash prefix) and what changed since its last record.
    #[arg(long, value_name = "TASK")]
    pub(crate) why: Option<String>,
    /// Rerun tasks matching a task-id glob (`bench/dsr1*`) or an input (`runner=h100`).
    #[arg(long, value_name = "SELECTOR")]
    pub(crate) force: Vec<String>,
    /// Read every reused record's artifacts and check their content (by default a plan only
    /// checks that each blob exists with its recorded size; `ix run` always checks content).
    #[arg(long)]
    pub(crate) verify_artifacts: bool,
    /// Force the bench tasks of every config key that perf-changelog entries added since this
    /// git ref name ("forced by perf-changelog entry at line N"), and warn about bench tasks that
    /// rerun for changed inputs while no added entry covers their key.
    #[arg(long, value_name = "REF")]
    pub(crate) changelog_base: Option<String>,
    /// The perf-changelog file, with `--changelog-base`.
    #[arg(long, default_value = "perf-changelog.yaml", value_name = "FILE")]
    pub(crate) changelog_file: String,
    /// Re-plan whenever an input file changes.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Stop `--watch` after this many re-plans (tests, benchmarks).
    #[arg(long, hide = true, value_name = "N")]
    pub(crate) watch_limit: Option<usize>,
    /// Print the time each stage took to stderr.
    #[arg(long)]
    pub(crate) timings: bool,
    /// Exit 1 when any task would run.
    #[arg(long)]
    pub(crate) exit_code: bool,
    /// Test-only: record every task that would run as completed with this outcome.
    #[arg(long, hide = true, value_enum, value_name = "OUTCOME")]
    pub(crate) record_fake: Option<FakeOutcome>,
    /// Test-only: limit `--record-fake` to task ids matching this glob.
    #[arg(long, hide = true, value_name = "GLOB")]
    pub(crate) record_fake_filter: Option<String>,
    /// Only single-node jobs.
    #[arg(long)]
    pub(crate) single_node: bool,
    /// Only multi-node jobs.
    #[arg(long)]
    pub(crate) multi_node: bool,
    /// Only the jobs of these config keys (each must exist in the sweeps).
    #[arg(long, num_args = 1.., value_name = "KEY")]
    pub(crate) config_keys: Option<Vec<String>>,
    /// The most jobs the sweeps may expand to (a guard against a runaway concurrency list).
    #[arg(long, default_value_t = crate::plan::jobs::DEFAULT_MAX_JOBS, value_name = "N")]
    pub(crate) max_jobs: usize,
    #[command(flatten)]
    pub(crate) filters: SweepFilterArgs,
    #[arg(long, value_name = "S")]
    pub(crate) runner_node_filter: Option<String>,
    /// Mark eval jobs (adds eval tasks).
    #[arg(long)]
    pub(crate) run_evals: bool,
    /// Mark eval jobs and keep only them.
    #[arg(long)]
    pub(crate) evals_only: bool,
    /// Ask registries for each image's current digest (in parallel, without pulling), as `ix run`
    /// does before it plans; without it, images keep the digest their last launch recorded.
    #[arg(long)]
    pub(crate) resolve_images: bool,
    /// The executor of the run this plan is for (`local`, `docker`, `slurm`, or `TYPE=EXECUTOR`),
    /// as `ix run --executor`: it decides which launches pull an image.
    #[arg(long, value_name = "EXEC")]
    pub(crate) executor: Vec<String>,
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

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    pub(crate) command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Benchmark a serving endpoint (flags compatible with the reference `benchmark_serving.py`).
    Serve(Box<BenchServeArgs>),
    /// Run the built-in OpenAI-compatible streaming simulator.
    SimServer(SimServerArgs),
    /// Measure the load generator itself against a zero-latency simulator.
    Selftest(SelftestArgs),
}

/// Flags of `ix bench serve`; names and defaults follow the reference client.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchServeArgs {
    /// vllm, openai, sglang, lmdeploy, scalellm (completions), openai-chat (chat), tgi,
    /// tensorrt-llm (generate_stream) or deepspeed-mii (non-streaming).
    #[arg(long, default_value = "vllm")]
    pub(crate) backend: String,
    /// Base URL; the request URL is base-url + endpoint.
    #[arg(long)]
    pub(crate) base_url: Option<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    #[arg(long, default_value = "/v1/completions")]
    pub(crate) endpoint: String,
    /// random, sharegpt (a JSON file) or jsonl (a prompts file); see --dataset-path.
    #[arg(long, default_value = "random")]
    pub(crate) dataset_name: String,
    #[arg(long)]
    pub(crate) dataset_path: Option<std::path::PathBuf>,
    /// Model name sent to the server, and the tokenizer unless --tokenizer is given.
    #[arg(long)]
    pub(crate) model: String,
    /// A tokenizer.json, a folder holding one, or a model id in the Hugging Face cache.
    #[arg(long)]
    pub(crate) tokenizer: Option<String>,
    /// Accepted for compatibility; the Rust tokenizer is always used.
    #[arg(long, default_value = "auto")]
    pub(crate) tokenizer_mode: String,
    /// Accepted for compatibility (no remote code is ever run).
    #[arg(long)]
    pub(crate) trust_remote_code: bool,
    #[arg(long)]
    pub(crate) served_model_name: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub(crate) num_prompts: usize,
    /// Requests per second, or `inf`.
    #[arg(long, default_value = "inf")]
    pub(crate) request_rate: String,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) burstiness: f64,
    #[arg(long)]
    pub(crate) max_concurrency: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub(crate) num_warmups: usize,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u32,
    #[arg(long)]
    pub(crate) ignore_eos: bool,
    #[arg(long, default_value_t = 1)]
    pub(crate) best_of: u32,
    /// Accepted for compatibility; not sent.
    #[arg(long)]
    pub(crate) logprobs: Option<u32>,
    #[arg(long, default_value_t = 1024)]
    pub(crate) random_input_len: u64,
    #[arg(long, default_value_t = 128)]
    pub(crate) random_output_len: u64,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) random_range_ratio: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) random_prefix_len: u64,
    /// Wrap random prompts in the tokenizer's chat template (sent as plain prompts).
    #[arg(long)]
    pub(crate) use_chat_template: bool,
    /// Output length for ShareGPT prompts instead of the reference answer's length.
    #[arg(long)]
    pub(crate) sharegpt_output_len: Option<u64>,
    #[arg(long, default_value = "ttft,tpot,itl")]
    pub(crate) percentile_metrics: String,
    #[arg(long, default_value = "99")]
    pub(crate) metric_percentiles: String,
    /// SLOs as KEY:MS (keys ttft, tpot, e2el).
    #[arg(long, num_args = 1..)]
    pub(crate) goodput: Vec<String>,
    #[arg(long)]
    pub(crate) save_result: bool,
    /// Also save per-request lists (and ix's per-request schedule timing).
    #[arg(long)]
    pub(crate) save_detailed: bool,
    #[arg(long)]
    pub(crate) result_dir: Option<std::path::PathBuf>,
    #[arg(long)]
    pub(crate) result_filename: Option<String>,
    /// KEY=VALUE pairs copied into the result file.
    #[arg(long, num_args = 1..)]
    pub(crate) metadata: Vec<String>,
    #[arg(long)]
    pub(crate) disable_tqdm: bool,
    /// Open a new connection per request, like the reference (default: keep-alive).
    #[arg(long)]
    pub(crate) no_keepalive: bool,
    /// Seconds a request may take, from sending it to its last byte; a request that takes longer
    /// fails with the `timeout` category (the reference allows six hours).
    #[arg(long, default_value_t = 1800.0)]
    pub(crate) request_timeout: f64,
    /// Seconds the whole run (warm-ups included) may take; past it `ix bench serve` stops and exits 2
    /// without a result, so a server that never answers cannot hang a task.
    #[arg(long, default_value_t = 10800.0)]
    pub(crate) run_timeout: f64,
    /// Worker threads of the client (1 = one event loop on one core).
    #[arg(long, default_value_t = 1)]
    pub(crate) client_threads: usize,
    /// HTTP implementation: `raw` (ix's own HTTP/1.1 client for http:// URLs) or `reqwest`.
    #[arg(long, default_value = "raw")]
    pub(crate) http_client: String,
    /// POST <base>/start_profile before the measured run and <base>/stop_profile after it.
    #[arg(long)]
    pub(crate) profile: bool,
    /// Send each request to one of these models (LoRA adapters), picked at random per request
    /// (the reference's `random.choice` stream for --seed).
    #[arg(long, num_args = 1..)]
    pub(crate) lora_modules: Vec<String>,
    #[command(flatten)]
    pub(crate) agentic: AgenticArgs,
}

/// Flags of the agentic trace replay (`--dataset-name weka|mooncake`), named as aiperf names
/// them (AGENTIC.md §8).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Agentic replay (--dataset-name weka|mooncake)")]
pub(crate) struct AgenticArgs {
    /// Lanes (one session tree each); overrides --max-concurrency.
    #[arg(long)]
    pub(crate) concurrency: Option<usize>,
    /// Profiling length in seconds (nothing is sent after it; in-flight requests finish).
    #[arg(long, default_value_t = 1800.0)]
    pub(crate) benchmark_duration: f64,
    /// Seconds in-flight requests may run past the profiling end before they are cancelled.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) benchmark_grace_period: f64,
    /// Extra warm-up requests per lane after the start-point request (1 output token each).
    #[arg(long, default_value_t = 0)]
    pub(crate) warmup_requests_per_lane: usize,
    #[arg(long, default_value_t = 0.0)]
    pub(crate) trajectory_start_min_ratio: f64,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) trajectory_start_max_ratio: f64,
    /// No recorded gap of a session tree waits longer than this (seconds).
    #[arg(long, default_value_t = 300.0)]
    pub(crate) trace_idle_gap_cap_seconds: f64,
    /// The whole run never idles longer than this (seconds).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) system_idle_gap_cap_seconds: f64,
    /// Post-run (and live) gate on failed / completed profiling requests; equal passes.
    #[arg(long, default_value_t = 0.10)]
    pub(crate) failed_request_threshold: f64,
    /// Prometheus endpoint to scrape (default: <base-url>/metrics; `none` to skip).
    #[arg(long)]
    pub(crate) server_metrics: Option<String>,
    /// Timeslice length of the server-metrics export, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) slice_duration: f64,
    /// Seeds trace sampling, start points and block content.
    #[arg(long, default_value_t = 42)]
    pub(crate) random_seed: u64,
    /// Drop traces whose peak input + output exceeds this many tokens.
    #[arg(long)]
    pub(crate) max_context_length: Option<u64>,
    /// Load at most this many traces.
    #[arg(long)]
    pub(crate) num_dataset_entries: Option<usize>,
    /// Mooncake block size (tokens per hash id).
    #[arg(long, default_value_t = 512)]
    pub(crate) isl_block_size: u32,
    /// Where aiperf's artifact files go (default: <result-dir>/aiperf_artifacts).
    #[arg(long)]
    pub(crate) output_artifact_dir: Option<std::path::PathBuf>,
    /// JSON object merged into every request body.
    #[arg(long)]
    pub(crate) extra_inputs: Option<String>,
    /// Replay the schedule on a virtual clock against a latency model; no server is contacted.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Dry run: TTFT of a fully cached prompt, ms.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) dry_run_ttft_ms: f64,
    /// Dry run: extra TTFT per uncached prompt token, ms.
    #[arg(long, default_value_t = 0.02)]
    pub(crate) dry_run_ms_per_uncached_token: f64,
    /// Dry run: inter-token latency, ms.
    #[arg(long, default_value_t = 8.0)]
    pub(crate) dry_run_itl_ms: f64,
}

/// Flags of `ix bench sim-server`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimServerArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    #[arg(long, default_value = "sim")]
    pub(crate) model: String,
    /// Delay before the first token, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) ttft_ms: f64,
    /// Delay between tokens, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) itl_ms: f64,
    /// Output length when a request sets no max_tokens.
    #[arg(long, default_value_t = 16)]
    pub(crate) output_len: u64,
    /// Stop after this many tokens unless the request sets ignore_eos.
    #[arg(long)]
    pub(crate) eos_after: Option<u64>,
    /// Fraction of streaming requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) error_rate: f64,
    /// Fraction of streams whose connection is dropped halfway.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) drop_rate: f64,
    /// Fraction of streams that stall halfway for --stall-ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) stall_rate: f64,
    #[arg(long, default_value_t = 100.0)]
    pub(crate) stall_ms: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Worker threads (1 = one event loop).
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Answer /start_profile and /stop_profile with 404, like a vLLM without a profiler.
    #[arg(long)]
    pub(crate) no_profiler: bool,
    /// Prefix-cache pool size in blocks (0: no caching); LRU, blocks of running requests pinned.
    #[arg(long, default_value_t = 0)]
    pub(crate) kv_blocks: usize,
    /// Words per prefix-cache block.
    #[arg(long, default_value_t = 16)]
    pub(crate) block_size: usize,
    /// Extra TTFT per uncached prompt word, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) prefill_ms_per_token: f64,
    /// Refuse prompt + max_tokens above this with HTTP 400 (a context-length error).
    #[arg(long)]
    pub(crate) max_model_len: Option<u64>,
    /// `/metrics` names: vllm or sglang.
    #[arg(long, default_value = "vllm")]
    pub(crate) metrics_flavour: String,
}

/// Flags of `ix bench selftest`.
#[derive(Debug, clap::Args)]
pub(crate) struct SelftestArgs {
    /// Concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 1024, 4096])]
    pub(crate) concurrency: Vec<usize>,
    /// Requests per concurrency level = this × concurrency.
    #[arg(long, default_value_t = 10)]
    pub(crate) requests_per_slot: usize,
    /// Output tokens per request in the chunk-throughput phase.
    #[arg(long, default_value_t = 256)]
    pub(crate) output_len: u64,
    /// A tokenizer for the dataset-generation phase (skipped without one).
    #[arg(long)]
    pub(crate) tokenizer: Option<String>,
    #[arg(long, default_value_t = 10240)]
    pub(crate) dataset_prompts: usize,
    #[arg(long, default_value_t = 8192)]
    pub(crate) dataset_input_len: u64,
    /// Pin the simulator to this CPU (taskset); the client then runs on the others.
    #[arg(long)]
    pub(crate) server_cpu: Option<usize>,
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
