//! `ix`: declarative, incremental benchmarking of LLM inference servers.
//!
//! The pipeline and the module that owns each stage are described in `ARCHITECTURE.md`.
//!
//! Comments that cite a spec section (`REFERENCE-SEMANTICS §7.4`, `INFERENCEX-HEAD §3.2`,
//! `AGENTIC`, `LOAD-GENERATOR`, `ENGINE-NOTES`) refer to the shared specs of InferenceX's
//! behaviour, `../shared/spec/<NAME>.md` beside the checkout (not in this repository); they
//! describe InferenceX at commits 6e97ccc73 (Feb 2026) and 843c6254f (today's format), which
//! `ci/differential.sh` runs beside `ix` (CONTRIBUTING.md).

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
