//! The single integration-test binary: one module per `ix` verb, all driving the real executable.

mod bench;
mod bench_agentic;
mod util;

mod changelog;
mod check;
mod demo;
mod dsl;
mod evals;
mod matrix;
mod plan;
mod project;
mod report;
mod results;
mod run;
mod slurm;
mod state;
mod workflows;
