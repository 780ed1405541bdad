//! `ix`: declarative, incremental benchmarking of LLM inference servers.
//!
//! The pipeline and the module that owns each stage are described in `ARCHITECTURE.md`.

pub mod bench;
pub mod changelog;
pub mod cli;
pub mod contract;
pub mod dag;
pub mod db;
pub mod diag;
pub mod env_policy;
pub mod exec;
pub mod expand;
#[cfg(test)]
mod fuzz;
pub mod history;
pub mod image;
pub mod ir;
pub mod lsp;
pub mod naming;
pub mod plan;
pub mod report;
pub mod results;
pub mod session;
pub mod source;
pub mod state;
pub mod syntax;
pub mod workspace;
pub mod yaml;
