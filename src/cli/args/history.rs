//! Clap types of `ix compare` and of the results database verbs of `ix results` (`ingest`,
//! `runs`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The state store to read.
    #[arg(long = "state-dir", alias = "state", default_value = ".ix", value_name = "DIR")]
    pub(crate) state: PathBuf,
    /// The results database: a SQLite file, or `postgres://user@host:port/db`.
    #[arg(long, env = "IX_RESULTS_DB", value_name = "PATH|URL")]
    pub(crate) results_db: String,
    /// A name for the run (`ix compare --base DB#LABEL`).
    #[arg(long, value_name = "NAME")]
    pub(crate) label: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    #[arg(long, env = "IX_RESULTS_DB", value_name = "PATH|URL")]
    pub(crate) results_db: String,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryBenchArgs {
    /// Records to ingest (in configurations of 5 repeats).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) records: usize,
    /// Points per side of the timed comparison.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) compare_points: usize,
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) results_db: String,
}

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    #[arg(long = "state-dir", value_name = "DIR")]
    pub(crate) state: PathBuf,
    #[arg(long, default_value_t = 300)]
    pub(crate) configs: usize,
    #[arg(long, default_value_t = 5)]
    pub(crate) repeats: u32,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) noise_pct: f64,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// `INDEX:PERCENT`: that configuration this much slower.
    #[arg(long, value_name = "INDEX:PERCENT")]
    pub(crate) slower: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareFormat {
    /// An aligned table for a terminal.
    Text,
    /// GitHub-flavoured markdown (a pull request comment).
    Md,
    /// `ix.compare/v1` JSON.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The baseline: a state store folder, or a results database (`FILE.sqlite`,
    /// `postgres://…`) with `#RUN` naming a run (id, id prefix or label; default the latest).
    #[arg(long, value_name = "SOURCE", required_unless_present = "base_ref")]
    pub(crate) base: Option<String>,
    /// The current results, as `--base`.
    #[arg(long, value_name = "SOURCE", required_unless_present = "head_ref")]
    pub(crate) head: Option<String>,
    /// The baseline is the latest run in `--results-db` ingested at this git ref's commit.
    #[arg(long, value_name = "REF", requires = "results_db", conflicts_with = "base")]
    pub(crate) base_ref: Option<String>,
    /// The current results are the latest run in `--results-db` ingested at this git ref's commit.
    #[arg(long, value_name = "REF", requires = "results_db", conflicts_with = "head")]
    pub(crate) head_ref: Option<String>,
    /// The database `--base-ref` and `--head-ref` look in.
    #[arg(long, env = "IX_RESULTS_DB", value_name = "PATH|URL")]
    pub(crate) results_db: Option<String>,
    /// Metrics to compare [default: tput_per_gpu, output_tput_per_gpu, median_ttft,
    /// median_tpot, median_e2el, median_intvty, score].
    #[arg(long = "metric", value_name = "NAME")]
    pub(crate) metrics: Vec<String>,
    /// With repeats: the t-test's significance level.
    #[arg(long, default_value_t = 0.01, value_name = "P")]
    pub(crate) alpha: f64,
    /// With repeats: the smallest change that counts, in percent.
    #[arg(long, default_value_t = 3.0, value_name = "PERCENT")]
    pub(crate) min_effect: f64,
    /// Without repeats: the smallest change that counts, in percent.
    #[arg(long, default_value_t = 5.0, value_name = "PERCENT")]
    pub(crate) threshold: f64,
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub(crate) format: CompareFormat,
    /// Also list the metrics within noise (text).
    #[arg(long)]
    pub(crate) all: bool,
    /// The markdown heading.
    #[arg(long, default_value = "ix compare", value_name = "TEXT")]
    pub(crate) title: String,
    /// Exit 1 when any metric regressed.
    #[arg(long)]
    pub(crate) fail_on_regression: bool,
}
