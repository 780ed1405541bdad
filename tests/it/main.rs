//! The single integration-test binary: one module per `ix` verb, all driving the real executable.

mod bench;
mod util;

mod changelog;
mod dsl;
mod matrix;
mod check;
mod demo;
mod evals;
mod report;
mod results;
mod run;
mod slurm;
mod workflows;
mod plan;
mod project;
mod state;
