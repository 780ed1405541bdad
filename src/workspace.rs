//! Loading user files into a [`SourceMap`] and lowering them into the IR.
//!
//! This is the one place before execution that reads sweep and runner files from disk; the
//! stages it calls see only texts. A missing file is a diagnostic, never a panic.
//! Config files are dispatched on their extension: `.ix` goes through `syntax` + `ir::lower`
//! (plus the runners files it references, resolved next to it), anything else through the
//! InferenceX YAML front end. Both kinds merge into one sweep with one duplicate-key check.

use std::path::Path;
use std::sync::Arc;

use crate::diag::Diag;

use crate::ir::lower::{self, DslFile};
use crate::ir::{ConfigEntry, RunnerTable, Sweep, inferencex, runners};
use crate::source::{FileId, SourceMap};
use crate::syntax;

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

/// Whether a path names a `.ix` sweep file.
pub fn is_dsl_path(path: &str) -> bool {
    Path::new(path).extension().is_some_and(|ext| ext == "ix")
}

/// Parses and checks one `.ix` file already in `sources`, loading the runners files it
/// references (relative to its directory). Appends every diagnostic.
pub fn lower_dsl_file(sources: &mut SourceMap, file: FileId, diags: &mut Vec<Diag>) -> DslFile {
    let (path, text) = {
        let source = sources.get(file);
        (source.path.clone(), source.text.clone())
    };
    let (ast, syntax_diags) = syntax::parse(file, &text);
    diags.extend(syntax_diags);
    let Some(ast) = ast else { return DslFile::default() };
    let mut referenced = RunnerTable::default();
    let base = Path::new(&path).parent().map(Path::to_path_buf).unwrap_or_default();
    for reference in lower::runner_refs(&ast) {
        let resolved = base.join(&reference.value);
        let resolved = resolved.to_string_lossy().into_owned();
        let mut read_diags = Vec::new();
        match read_source(sources, &resolved, FileRole::Runners, &mut read_diags) {
            Some(runners_file) => {
                let table = runners::lower_runners(sources, runners_file, diags);
                referenced.types.extend(table.types);
            }
            None => diags.push(
                Diag::error("ix::dsl::runners-file-missing", format!("runners file `{resolved}` cannot be read"))
                    .at(reference.span, "referenced here")
                    .help("the path is relative to the directory of the `.ix` file"),
            ),
        }
    }
    let (lowered, lower_diags) = lower::lower(&ast, &referenced);
    diags.extend(lower_diags);
    lowered
}

/// Loads master configs (`.yaml` or `.ix`, and optionally a runners file), in the order given.
pub fn load(config_files: &[String], runner_config: Option<&str>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut per_file: Vec<(FileId, Vec<ConfigEntry>)> = Vec::new();
    let mut inline_runners = RunnerTable::default();
    for path in config_files {
        let Some(file) = read_source(&mut loaded.sources, path, FileRole::Config, &mut loaded.diags) else { continue };
        if is_dsl_path(path) {
            let lowered = lower_dsl_file(&mut loaded.sources, file, &mut loaded.diags);
            inline_runners.types.extend(lowered.runners.types);
            per_file.push((file, lowered.sweep.entries));
        } else {
            let (sweep, diags) = inferencex::lower_master_configs(&loaded.sources, &[file]);
            loaded.diags.extend(diags);
            per_file.push((file, sweep.entries));
        }
    }
    let (sweep, diags) = merge(&loaded.sources, per_file);
    loaded.sweep = sweep;
    loaded.diags.extend(diags);
    if let Some(path) = runner_config
        && let Some(file) = read_source(&mut loaded.sources, path, FileRole::Runners, &mut loaded.diags)
    {
        loaded.runners = Some(runners::lower_runners(&loaded.sources, file, &mut loaded.diags));
    }
    if !inline_runners.types.is_empty() {
        let table = loaded.runners.get_or_insert_with(RunnerTable::default);
        for runner in inline_runners.types {
            if table.get(&runner.name.value).is_none() {
                table.types.push(runner);
            }
        }
    }
    loaded
}

/// Merges the entries of several files; a key defined by an earlier file is an error.
fn merge(sources: &SourceMap, per_file: Vec<(FileId, Vec<ConfigEntry>)>) -> (Sweep, Vec<Diag>) {
    crate::ir::merge_files(sources, per_file)
}

/// Reads a runners file into `loaded` after the configs (a default chosen by their format);
/// runner types defined inline by `.ix` files are kept where the file lacks them.
pub fn add_runners(loaded: &mut Loaded, path: &str) {
    let Some(file) = read_source(&mut loaded.sources, path, FileRole::Runners, &mut loaded.diags) else { return };
    let mut table = runners::lower_runners(&loaded.sources, file, &mut loaded.diags);
    if let Some(inline) = loaded.runners.take() {
        for runner in inline.types {
            if table.get(&runner.name.value).is_none() {
                table.types.push(runner);
            }
        }
    }
    loaded.runners = Some(table);
}

/// Where InferenceX keeps its configs in the current directory: `configs/` (today's layout)
/// when it exists, else `.github/configs/` (the Feb-2026 layout).
pub fn default_config_dir() -> &'static str {
    if Path::new("configs").is_dir() { "configs" } else { ".github/configs" }
}

/// The master configs InferenceX's tools read by default, in their order (amd, then nvidia).
pub fn default_master_configs() -> Vec<String> {
    let dir = default_config_dir();
    vec![format!("{dir}/amd-master.yaml"), format!("{dir}/nvidia-master.yaml")]
}

/// The default runners file next to the default master configs.
pub fn default_runner_config() -> String {
    format!("{}/runners.yaml", default_config_dir())
}

/// The default master configs that exist (none when neither InferenceX layout is present).
pub fn existing_default_master_configs() -> Vec<String> {
    default_master_configs().into_iter().filter(|path| Path::new(path).is_file()).collect()
}
