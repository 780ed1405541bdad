//! The single integration-test binary: one module per `ix` verb, all driving the real executable.

mod bench;
mod bench_agentic;
mod util;

mod changelog;
mod check;
mod containers;
mod demo;
mod differential;
mod dsl;
mod dsl_head;
mod evals;
mod history;
mod image;
mod integrity;
mod limits;
mod lsp;
mod lsp_editors;
mod matrix;
mod plan;
mod project;
mod report;
mod results;
mod run;
mod runners;
mod security;
mod slurm;
mod state;
mod tasks;
mod tidy;
mod workflows;
