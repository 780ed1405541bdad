//! All clap types of the `ix` command line.

use clap::{Parser, Subcommand};

/// Declarative, incremental benchmarking of LLM inference servers.
#[derive(Debug, Parser)]
#[command(name = "ix", version, infer_long_args = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the version of `ix`.
    Version,
}
