//! Clap types of `ix run`, `ix plan`, `ix changelog` and `ix collect-artifacts`.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use super::SweepFilterArgs;

/// Which tasks `ix run` builds: the master configs and runners to expand.
#[derive(Clone, Debug, Args)]
pub(crate) struct SweepInputArgs {
    /// Master config files (`.yaml` or `.ix`), merged in order, after the positional ones.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub(crate) config_files: Vec<String>,
    /// The runners config [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
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
    #[arg(long, default_value_t = crate::expand::select::DEFAULT_MAX_JOBS, value_name = "N")]
    pub(crate) max_jobs: usize,
    /// Run each bench task N times, as distinct tasks (the repeat index is in the key and id of
    /// repeats 1.., `…/repeat-<i>`; repeat 0 is the task as without the flag), so `ix compare`
    /// has samples; the run's summary then shows each configuration's mean and spread.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) repeat: u32,
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
    /// Run only in-process tasks (launch, result, collect, summary, report) whose benchmark
    /// inputs are all finished: the collect job of a GitHub Actions sweep, after
    /// `ix collect-artifacts`.
    #[arg(long, conflicts_with_all = ["task", "gha_matrix"])]
    pub(crate) collect_only: bool,
    /// After the run, ingest the store's current results into this results database (a SQLite
    /// file or `postgres://…`), as `ix results ingest` does.
    #[arg(long, value_name = "PATH|URL", conflicts_with_all = ["task", "gha_matrix", "dry_run"])]
    pub(crate) results_db: Option<String>,
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
    /// The runners config [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
    #[arg(long, value_name = "FILE")]
    pub(crate) runner_config: Option<String>,
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
    /// The runners config (with `--warn-uncovered`) [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
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
    /// The runners config [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
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
    /// The runners config [default: none when a `.ix` sweep declares or references its runner
    /// types, else the first of `runners.yaml`, `configs/runners.yaml` and
    /// `.github/configs/runners.yaml`].
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
    #[arg(long, default_value_t = crate::expand::select::DEFAULT_MAX_JOBS, value_name = "N")]
    pub(crate) max_jobs: usize,
    /// Plan each bench task N times, as `ix run --repeat N` runs them.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) repeat: u32,
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
