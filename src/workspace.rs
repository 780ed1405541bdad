//! Loading user files into a [`SourceMap`] and lowering them into the IR.
//!
//! This is the one place before execution that reads sweep and runner files from disk; the
//! stages it calls see only texts. A missing file is a diagnostic, never a panic.

use std::path::Path;
use std::sync::Arc;

use crate::diag::Diag;
use crate::ir::{RunnerTable, Sweep, inferencex, runners};
use crate::source::{FileId, SourceMap};

/// Everything loaded for one command: the sources, the merged sweep, the runners and all
/// diagnostics found on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub sweep: Sweep,
    pub runners: Option<RunnerTable>,
    pub diags: Vec<Diag>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diag::is_error)
    }
}

/// What a missing file is, for the message.
#[derive(Clone, Copy, Debug)]
pub enum FileRole {
    Config,
    Runners,
}

/// Reads a file into the source map, or reports it missing.
pub fn read_source(sources: &mut SourceMap, path: &str, role: FileRole, diags: &mut Vec<Diag>) -> Option<FileId> {
    match std::fs::read_to_string(Path::new(path)) {
        Ok(text) => Some(sources.add(path.to_string(), Arc::from(text))),
        Err(err) => {
            let what = match role {
                FileRole::Config => "input file",
                FileRole::Runners => "runner config file",
            };
            let message = if err.kind() == std::io::ErrorKind::NotFound {
                format!("{what} `{path}` does not exist")
            } else {
                format!("cannot read {what} `{path}`: {err}")
            };
            diags.push(Diag::error("ix::config::file-missing", message));
            None
        }
    }
}

/// Loads master configs (and optionally a runners file), in the order given.
pub fn load(config_files: &[String], runner_config: Option<&str>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = Vec::new();
    for path in config_files {
        if let Some(file) = read_source(&mut loaded.sources, path, FileRole::Config, &mut loaded.diags) {
            files.push(file);
        }
    }
    let (sweep, diags) = inferencex::lower_master_configs(&loaded.sources, &files);
    loaded.sweep = sweep;
    loaded.diags.extend(diags);
    if let Some(path) = runner_config
        && let Some(file) = read_source(&mut loaded.sources, path, FileRole::Runners, &mut loaded.diags)
    {
        loaded.runners = Some(runners::lower_runners(&loaded.sources, file, &mut loaded.diags));
    }
    loaded
}
