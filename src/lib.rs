//! `ix`: declarative, incremental benchmarking of LLM inference servers.
//!
//! The pipeline and the module that owns each stage are described in `ARCHITECTURE.md`.

pub mod cli;
pub mod diag;
pub mod expand;
pub mod ir;
pub mod source;
pub mod syntax;
pub mod workspace;
pub mod yaml;
