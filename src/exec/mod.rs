//! Execution: runs a DAG of tasks (benchmark jobs and in-process folds) and records each
//! outcome the moment it is known.
//!
//! Owns the scheduler ([`scheduler::run`]), the executors (local process, `docker run`, Slurm
//! `sbatch`), the environment contract of REFERENCE-SEMANTICS §8.1, the GitHub Actions matrix
//! chunking, and the bridge from the engine's plan to scheduler tasks ([`engine`]). It
//! deliberately does not decide *what* to run nor how task hashes are computed: that is the
//! engine's plan.

pub mod atomic;
pub mod contract;
pub mod docker;
pub mod engine;
pub mod gha;
pub mod process;
pub mod reaper;
pub mod scheduler;
pub mod slurm;
pub mod task;

pub use scheduler::{ExecConfig, Summary, run};
pub use task::{BenchWork, ExecutorKind, Outcome, Task, TaskOutcome, Work};

/// Receives every finished task, the moment it finishes.
///
/// Implementations must make the record durable (atomic write) before returning, so a `kill -9`
/// right after loses nothing recorded ([`engine::StateRecorder`] records in the engine's store).
pub trait Recorder: Send + Sync {
    /// Records a finished task: `Outcome::Done` (its result file) or `Outcome::Failed`. Stores
    /// that keep only successes ignore failures.
    fn record(&self, task: &Task, outcome: &TaskOutcome) -> Result<(), atomic::StoreError>;
}
