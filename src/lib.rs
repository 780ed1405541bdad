//! `ix`: declarative, incremental benchmarking of LLM inference servers.
//!
//! The pipeline and the module that owns each stage are described in `ARCHITECTURE.md`.

pub mod bench;
pub mod cli;
pub mod diag;
