//! Jobs to the task DAG: container launch -> bench -> (eval) -> result -> collect -> summary -> report.
//!
//! [`build`] names each task's script and launcher with `naming`, asks a [`ProjectFiles`] for
//! their digests (and the files they source), builds one [`TaskKey`] per task and hashes it.
//! It does no IO itself: file access goes through the trait, which `db` implements.
//! A job whose script or launcher does not exist is an error labelled at its sweep entry.
//!
//! Modules: `graph` (the graph's types), `inputs` (what a build reads), `key` (the one place
//! tasks are keyed: a job's tasks from its `contract::Contract`, launches, aggregates), `memo`
//! (what a build remembers, and the in-place patch), `build` (the full build), `hash` (the
//! canonical encoding), `task_key` (the key structs).

pub mod hash;
pub mod task_key;

mod build;
mod graph;
mod inputs;
mod key;
mod memo;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::contract::{Contract, EvalSettings, Source, Var};
use crate::dag::hash::Digest;
use crate::dag::task_key::{
    AGGREGATE_VERSION, AggregateKey, BENCH_CLIENT_VERSION, BenchKey, EVAL_HARNESS_VERSION, EvalKey, FileInput, ImageId,
    Input, LaunchKey, ManifestEntry, Origin, RESULT_FORMAT_VERSION, ResultKey, TaskKey, VarInput,
};
use crate::diag::Diag;
use crate::expand::{Job, JobShape};
use crate::ir::{RunnerTable, SearchPoint, Sweep, seq_len_name};
use crate::naming;
use crate::source::{SourceMap, Span};

pub use build::{build, build_with_memo};
pub use graph::{BenchInfo, FastHasher, HashMap, Manifest, Task, TaskGraph, TaskKind, TaskManifest};
pub use inputs::{
    BuildInput, Changes, FileFacts, ImageDigests, PinsOnly, ProjectFiles, image_repository, launch_id, pinned,
};
pub use memo::BuildMemo;

use build::*;
use key::*;
use memo::*;
