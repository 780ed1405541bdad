//! `Task`: one node of the execution DAG, and `TaskOutcome`: what became of it.

use std::path::PathBuf;
use std::time::Duration;

/// Which executor runs a benchmark task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorKind {
    /// A child process on this machine.
    Local,
    /// `docker run` of the task's image.
    Docker,
    /// `sbatch --wait` on a Slurm cluster.
    Slurm,
}

impl ExecutorKind {
    pub fn parse(text: &str) -> Option<ExecutorKind> {
        match text {
            "local" => Some(ExecutorKind::Local),
            "docker" => Some(ExecutorKind::Docker),
            "slurm" => Some(ExecutorKind::Slurm),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Docker => "docker",
            ExecutorKind::Slurm => "slurm",
        }
    }
}

/// One task of the DAG. Dependencies are indices into the task list.
#[derive(Clone, Debug)]
pub struct Task {
    /// The task hash (hex), also the name of its work folder and records.
    pub hash: String,
    /// A short human label for progress and summaries.
    pub label: String,
    pub deps: Vec<usize>,
    /// The runner type; its nodes bound how many of its tasks run at once. `None` for
    /// in-process tasks, which need no node.
    pub runner_type: Option<String>,
    pub work: Work,
}

/// What a task does.
#[derive(Clone)]
pub enum Work {
    /// A benchmark script run under the environment contract.
    Bench(BenchWork),
    /// Any other in-process step (result processing, summaries, reports): called with the
    /// dependencies' result files and the task's work folder, returns the file it produced.
    InProcess(InProcessFn),
}

/// The function of a [`Work::InProcess`] task.
pub type InProcessFn = std::sync::Arc<dyn Fn(&[PathBuf], &std::path::Path) -> Result<PathBuf, String> + Send + Sync>;

/// A benchmark job ready to launch.
#[derive(Clone, Debug)]
pub struct BenchWork {
    /// The contract variables (§7.4/§8.1) except the per-node ones (`RUNNER_NAME`, `PORT`,
    /// `GITHUB_WORKSPACE`), which the scheduler adds when it picks a node.
    pub env: Vec<(String, String)>,
    /// The benchmark script (absolute).
    pub script: PathBuf,
    /// The runner launcher that wraps the script, when one applies (absolute).
    pub launcher: Option<PathBuf>,
    /// `RESULT_FILENAME` without the node name and `.json`: the scheduler appends `_<node>`.
    pub result_stem: String,
    pub image: String,
    /// The registry digest the task is keyed with (`sha256:…`), when known: Slurm imports the
    /// image by it, into a squash file named after it.
    pub image_digest: Option<String>,
    pub tp: i64,
    pub executor: ExecutorKind,
    /// Multi-node: the script writes `<RESULT_FILENAME>_*.json` files (at least one), which the
    /// scheduler folds into `<RESULT_FILENAME>.json` as one list.
    pub multinode: bool,
    /// An eval task (the script in eval-only mode): its result is the eval rows, checked
    /// against these thresholds.
    pub eval: Option<EvalGate>,
}

/// What an eval task's result must meet.
#[derive(Clone, Debug)]
pub struct EvalGate {
    /// Minimum scores of the eval's task for this job's model, each with where it was written.
    pub thresholds: Vec<crate::contract::Threshold>,
}

/// The end state of a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; `result` is the result file it produced.
    Done { result: PathBuf },
    /// Failed after all attempts.
    Failed { error: String },
    /// Not run because the named dependency did not finish.
    Skipped { because: String },
    /// Not run, or stopped, because the run was interrupted.
    Cancelled,
    /// Already finished in an earlier run.
    Reused,
}

/// A task's outcome with the facts the summary and the store want.
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    pub outcome: Outcome,
    pub attempts: u32,
    pub elapsed: Duration,
    /// The task's log file, when it ran.
    pub log: Option<PathBuf>,
    /// The node it ran on.
    pub node: Option<String>,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Work::Bench(bench) => f.debug_tuple("Bench").field(bench).finish(),
            Work::InProcess(_) => f.write_str("InProcess(..)"),
        }
    }
}
