//! Execution: runs a DAG of tasks (benchmark jobs and in-process folds) and records each
//! outcome the moment it is known.
//!
//! Owns the scheduler ([`scheduler::run`]), the executors (local process, `docker run`, Slurm
//! `sbatch`), the environment contract of REFERENCE-SEMANTICS §8.1, the GitHub Actions matrix
//! chunking and a stop-gap on-disk store. It deliberately does not decide *what* to run (that is
//! the plan) nor how task hashes are computed beyond the stop-gap in [`tasks`].

pub mod contract;
pub mod docker;
pub mod engine;
pub mod gha;
pub mod process;
pub mod scheduler;
pub mod slurm;
pub mod store;
pub mod task;
pub mod tasks;

pub use scheduler::{ExecConfig, Summary, run};
pub use task::{BenchWork, ExecutorKind, Outcome, Task, TaskOutcome, Work};

/// Receives every finished task, the moment it finishes.
///
/// Implementations must make the record durable (atomic write) before returning, so a `kill -9`
/// right after loses nothing recorded. The lead adapts the engine's state store to this trait.
pub trait Recorder: Send + Sync {
    /// Records a finished task: `Outcome::Done` (its result file) or `Outcome::Failed`. Stores
    /// that keep only successes ignore failures.
    fn record(&self, task: &Task, outcome: &TaskOutcome) -> Result<(), store::StoreError>;
}
