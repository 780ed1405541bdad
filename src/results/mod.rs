//! Result processing: raw benchmark-client results to aggregate records (`process`), directories
//! of records to lists (`collect`), summary tables (`summary`), job success rates (`success_rate`),
//! lm-eval outputs to eval rows (`evals`) and running lm-eval itself (`lm_eval`).
//!
//! Everything here is pure data plumbing over `serde_json` values plus file reading; nothing
//! prints. Rendering to text, CSV and HTML lives in `crate::report`.

pub mod collect;
pub mod evals;
pub mod lm_eval;
pub mod process;
pub mod success_rate;
pub mod summary;

pub use collect::{CollectError, collect, json_files_under};
pub use process::{JobParams, ProcessError, ProcessOptions, Topology, job_from_env, process};
pub use summary::{
    Loaded, Record, Section, SummaryError, SummaryOptions, SummaryTable, load_records, load_report_records, summarize,
};
