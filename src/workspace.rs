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
use crate::source::{FileId, SourceMap, Span};
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

/// Reads a file into the source map, or reports it missing or unreadable (with the OS cause).
/// A file that is not UTF-8 is an error at its first bad byte (the file is added with the bad
/// bytes replaced, so the snippet shows where).
pub fn read_source(sources: &mut SourceMap, path: &str, role: FileRole, diags: &mut Vec<Diag>) -> Option<FileId> {
    match std::fs::read(Path::new(path)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(sources.add(path.to_string(), Arc::from(text))),
            Err(err) => {
                let at = err.utf8_error().valid_up_to();
                let bad = err.as_bytes()[at];
                let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
                // Up to `at` the lossy text equals the file; the bad bytes became one U+FFFD.
                let file = sources.add(path.to_string(), Arc::from(text));
                diags.push(
                    Diag::error("ix::config::invalid-utf8", format!("`{path}` is not valid UTF-8 (byte offset {at})"))
                        .at(Span::new(file, at, at + '\u{FFFD}'.len_utf8()), format!("byte 0x{bad:02x}"))
                        .help("save the file as UTF-8"),
                );
                None
            }
        },
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
        if let Some(problem) = runners_ref_problem(&base, &resolved) {
            // Refused before reading: a diagnostic never quotes a file that is not a sweep or
            // runners file (e.g. `runners "/proc/self/environ"`).
            diags.push(
                Diag::error("ix::dsl::runners-file-refused", "this runners file is not read")
                    .at(reference.span, problem)
                    .help("name a `.yaml` file inside the project (the current folder) or the sweep's folder"),
            );
            continue;
        }
        let resolved = resolved.to_string_lossy().into_owned();
        let mut read_diags = Vec::new();
        match read_source(sources, &resolved, FileRole::Runners, &mut read_diags) {
            Some(runners_file) => {
                let table = runners::lower_runners(sources, runners_file, diags);
                referenced.types.extend(table.types);
            }
            None => {
                // The reading error says why (missing, not UTF-8, or the OS cause), never the content.
                let message = read_diags
                    .first()
                    .map_or_else(|| format!("runners file `{resolved}` cannot be read"), |diag| diag.message.clone());
                diags.push(
                    Diag::error("ix::dsl::runners-file-missing", message)
                        .at(reference.span, "referenced here")
                        .help("the path is relative to the directory of the `.ix` file"),
                )
            }
        }
    }
    let (mut lowered, lower_diags) = lower::lower(&ast, &referenced);
    diags.extend(lower_diags);
    // The file's runner table: its inline types, then the referenced files' (an inline type
    // wins for a name both define; `ir::lower` reports that as a duplicate).
    lowered.runners.add_missing(referenced);
    lowered
}

/// Whether any of `config_files` is a `.ix` sweep that declares runner types (`runner NAME
/// {...}`) or references a runners file (`runners "..."`): its runner table then comes with it.
fn sweeps_declare_runners(config_files: &[String]) -> bool {
    config_files.iter().filter(|path| is_dsl_path(path)).any(|path| {
        let Ok(text) = std::fs::read_to_string(path) else { return false };
        let (ast, _) = syntax::parse(FileId(0), &text);
        ast.is_some_and(|ast| {
            ast.decls
                .iter()
                .any(|decl| matches!(decl.node, syntax::ast::Decl::Runner { .. } | syntax::ast::Decl::RunnersRef(_)))
        })
    })
}

/// The runners file a verb reads for `config_files`, one rule for every verb (`ix plan`,
/// `ix run`, `ix matrix`, `ix changelog`, `ix collect-artifacts`):
/// 1. the `--runner-config` given;
/// 2. else none when a `.ix` sweep declares or references its runner types (they are the table);
/// 3. else `runners.yaml` when it exists (a project of its own);
/// 4. else InferenceX's runners file for the configs' format, as its generator defaults:
///    `configs/runners.yaml` for today's configs, `.github/configs/runners.yaml` for Feb-2026
///    ones (when it is missing, the error names it).
///
/// Runner types of `.ix` sweeps always join the table; the file given wins for a name both
/// define ([`load`]).
pub fn runner_config(given: Option<&str>, config_files: &[String]) -> Option<String> {
    if let Some(given) = given {
        return Some(given.to_string());
    }
    if sweeps_declare_runners(config_files) {
        return None;
    }
    if Path::new(PROJECT_RUNNERS).is_file() {
        return Some(PROJECT_RUNNERS.to_string());
    }
    Some(inferencex_runner_file(configs_format(config_files)).to_string())
}

/// The runners file of a project of its own.
const PROJECT_RUNNERS: &str = "runners.yaml";

/// Where InferenceX keeps its runners file for configs of `format`.
pub fn inferencex_runner_file(format: crate::ir::Format) -> &'static str {
    match format {
        crate::ir::Format::Head => "configs/runners.yaml",
        crate::ir::Format::Feb => ".github/configs/runners.yaml",
    }
}

/// The format of the first master config that tells it (Feb-2026 when none does, as
/// [`Sweep::format`]).
fn configs_format(config_files: &[String]) -> crate::ir::Format {
    config_files
        .iter()
        .find_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            if is_dsl_path(path) { dsl_format(&text) } else { inferencex::text_format(&text) }
        })
        .unwrap_or(crate::ir::Format::Feb)
}

/// The format an `.ix` file declares (`format head`), if it parses and declares one.
fn dsl_format(text: &str) -> Option<crate::ir::Format> {
    let (file, _) = syntax::parse(FileId(0), text);
    file?.decls.iter().find_map(|decl| match &decl.node {
        syntax::ast::Decl::Format(name) => match name.value.as_str() {
            "head" => Some(crate::ir::Format::Head),
            "feb" => Some(crate::ir::Format::Feb),
            _ => None,
        },
        _ => None,
    })
}

/// Why the runners file `resolved` (referenced from a sweep in `sweep_dir`) is not read, if it
/// is not: it must be a `.yaml`/`.yml` file whose real path (symlinks resolved) lies inside the
/// current folder or the sweep's folder. A file that does not exist is not refused here.
fn runners_ref_problem(sweep_dir: &Path, resolved: &Path) -> Option<&'static str> {
    if !resolved.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
        return Some("a runners file is a `.yaml` or `.yml` file");
    }
    let real = match resolved.canonicalize() {
        Ok(real) => real,
        Err(_) => return None,
    };
    let roots = [Path::new("."), if sweep_dir.as_os_str().is_empty() { Path::new(".") } else { sweep_dir }];
    let inside = roots.iter().filter_map(|root| root.canonicalize().ok()).any(|root| real.starts_with(root));
    (!inside).then_some("resolves outside the project and the sweep's folder")
}

/// One config file of [`load`]: its entries (from `.ix` at once, from YAML once `yaml` is
/// lowered) and its diagnostics. `file` is `None` when it could not be read.
struct ConfigLoad {
    file: Option<FileId>,
    entries: Vec<ConfigEntry>,
    yaml: Option<FileId>,
    diags: Vec<Diag>,
}

/// Loads master configs (`.yaml` or `.ix`, and optionally a runners file), in the order given.
/// Files are read (and `.ix` files lowered) in order; the YAML files and the runners file are
/// then parsed and validated on the available cores. Sources, entries and diagnostics come out
/// in the same order as one file after the other.
pub fn load(config_files: &[String], runner_config: Option<&str>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut per_file: Vec<ConfigLoad> = Vec::new();
    let mut inline_runners = RunnerTable::default();
    for path in config_files {
        let mut diags = Vec::new();
        let Some(file) = read_source(&mut loaded.sources, path, FileRole::Config, &mut diags) else {
            per_file.push(ConfigLoad { file: None, entries: Vec::new(), yaml: None, diags });
            continue;
        };
        if is_dsl_path(path) {
            let lowered = lower_dsl_file(&mut loaded.sources, file, &mut diags);
            inline_runners.add_missing(lowered.runners);
            per_file.push(ConfigLoad { file: Some(file), entries: lowered.sweep.entries, yaml: None, diags });
        } else {
            per_file.push(ConfigLoad { file: Some(file), entries: Vec::new(), yaml: Some(file), diags });
        }
    }
    let mut runner_diags = Vec::new();
    let runner_file =
        runner_config.and_then(|path| read_source(&mut loaded.sources, path, FileRole::Runners, &mut runner_diags));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runners_out = lower_yaml_files(&loaded.sources, &mut per_file, runner_file, &mut runner_diags, cores);
    let mut merged = Vec::new();
    for ConfigLoad { file, entries, diags, .. } in per_file {
        loaded.diags.extend(diags);
        if let Some(file) = file {
            merged.push((file, entries));
        }
    }
    let (sweep, diags) = merge(&loaded.sources, merged);
    loaded.sweep = sweep;
    loaded.diags.extend(diags);
    loaded.diags.extend(runner_diags);
    loaded.runners = runners_out;
    if !inline_runners.is_empty() {
        loaded.runners.get_or_insert_with(RunnerTable::default).add_missing(inline_runners);
    }
    loaded
}

/// One piece of loading work: a whole YAML master (by its index in `per_file`), a part of one
/// (a range of whole top-level entries), or the runners file.
enum Unit {
    Whole(usize),
    Part(usize, std::ops::Range<usize>),
    Runners(FileId),
}

/// What a [`Unit`] produced.
enum UnitOut {
    Whole(Vec<ConfigEntry>, Vec<Diag>),
    Part(inferencex::MasterPart),
    Runners(RunnerTable, Vec<Diag>),
}

/// Parses and validates the YAML masters of `per_file` and the runners file on up to `cores`
/// threads. A large master is cut into parts of whole top-level entries
/// ([`inferencex::master_parts`]) so that one big file, the usual case, is spread too; its
/// parts' entries are kept only when they are exactly what the whole file gives, which
/// otherwise is lowered whole for its diagnostics. Results land in file order.
fn lower_yaml_files(
    sources: &SourceMap,
    per_file: &mut [ConfigLoad],
    runner_file: Option<FileId>,
    runner_diags: &mut Vec<Diag>,
    cores: usize,
) -> Option<RunnerTable> {
    let size = |file: FileId| sources.get(file).text.len();
    let total: usize = per_file.iter().filter_map(|load| load.yaml).chain(runner_file).map(size).sum();
    // Several parts per core, so that the cores finish together; no part under 16 KiB.
    let target = (total / (4 * cores)).max(16 * 1024);
    let mut units: Vec<(usize, Unit)> = Vec::new();
    for (idx, load) in per_file.iter().enumerate() {
        let Some(file) = load.yaml else { continue };
        let text = &sources.get(file).text;
        match inferencex::master_parts(text, target).filter(|_| cores > 1) {
            Some(parts) => units.extend(parts.into_iter().map(|part| (part.len(), Unit::Part(idx, part)))),
            None => units.push((text.len(), Unit::Whole(idx))),
        }
    }
    if let Some(file) = runner_file {
        units.push((size(file), Unit::Runners(file)));
    }
    let run = |unit: &Unit| match unit {
        Unit::Whole(idx) => {
            let file = per_file[*idx].yaml.expect("a YAML unit names a YAML file");
            let (sweep, diags) = inferencex::lower_master_configs(sources, &[file]);
            UnitOut::Whole(sweep.entries, diags)
        }
        Unit::Part(idx, part) => {
            let file = per_file[*idx].yaml.expect("a YAML unit names a YAML file");
            UnitOut::Part(inferencex::lower_master_part(sources, file, part.clone()))
        }
        Unit::Runners(file) => {
            let mut diags = Vec::new();
            let table = runners::lower_runners(sources, *file, &mut diags);
            UnitOut::Runners(table, diags)
        }
    };
    // Largest first, each thread taking the next unit as it finishes one.
    units.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let threads = cores.min(units.len());
    let outs: Vec<(usize, UnitOut)> = if threads <= 1 {
        units.iter().enumerate().map(|(at, (_, unit))| (at, run(unit))).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((_, unit)) = units.get(at) else { break };
                done.push((at, run(unit)));
            }
            done
        };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut outs = work();
            for worker in workers {
                match worker.join() {
                    Ok(done) => outs.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            outs
        })
    };
    let mut outs: Vec<Option<UnitOut>> = {
        let mut slots: Vec<Option<UnitOut>> = (0..units.len()).map(|_| None).collect();
        for (at, out) in outs {
            slots[at] = Some(out);
        }
        slots
    };
    // Back into file order: parts by their start, which is their order in the file.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&at| match &units[at].1 {
        Unit::Whole(idx) => (*idx, 0),
        Unit::Part(idx, part) => (*idx, part.start),
        Unit::Runners(_) => (usize::MAX, 0),
    });
    let mut parts: Vec<Vec<inferencex::MasterPart>> = (0..per_file.len()).map(|_| Vec::new()).collect();
    let mut runners_out = None;
    for at in order {
        match (&units[at].1, outs[at].take()) {
            (Unit::Whole(idx), Some(UnitOut::Whole(entries, diags))) => {
                per_file[*idx].entries = entries;
                per_file[*idx].diags.extend(diags);
            }
            (Unit::Part(idx, _), Some(UnitOut::Part(part))) => parts[*idx].push(part),
            (Unit::Runners(_), Some(UnitOut::Runners(table, diags))) => {
                runners_out = Some(table);
                runner_diags.extend(diags);
            }
            _ => unreachable!("every unit ran once and gave its own kind of result"),
        }
    }
    for (idx, parts) in parts.into_iter().enumerate() {
        if parts.is_empty() {
            continue;
        }
        match inferencex::join_master_parts(parts) {
            Some(entries) => per_file[idx].entries = entries,
            None => {
                let file = per_file[idx].yaml.expect("parts come from a YAML file");
                let (sweep, diags) = inferencex::lower_master_configs(sources, &[file]);
                per_file[idx].entries = sweep.entries;
                per_file[idx].diags.extend(diags);
            }
        }
    }
    runners_out
}

/// Merges the entries of several files; a key defined by an earlier file is an error.
fn merge(sources: &SourceMap, per_file: Vec<(FileId, Vec<ConfigEntry>)>) -> (Sweep, Vec<Diag>) {
    crate::ir::merge_files(sources, per_file)
}

/// Reads the project's eval settings (`evals.yaml` in `project_dir`; the defaults when the file
/// does not exist). On errors: the file and its diagnostics.
pub fn load_evals(project_dir: &Path) -> Result<crate::contract::EvalSettings, (SourceMap, Vec<Diag>)> {
    // Relative to the working folder when that is the project: origins then read `evals.yaml:3:5`.
    let path = if project_dir == Path::new(".") || std::env::current_dir().is_ok_and(|cwd| cwd == project_dir) {
        std::path::PathBuf::from(crate::contract::EVALS_FILE)
    } else {
        project_dir.join(crate::contract::EVALS_FILE)
    };
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    if !path.exists() {
        return Ok(crate::contract::EvalSettings::default());
    }
    let Some(file) = read_source(&mut sources, &path.to_string_lossy(), FileRole::Config, &mut diags) else {
        return Err((sources, diags));
    };
    let settings = crate::contract::EvalSettings::lower(&sources, file, &mut diags);
    if diags.iter().any(Diag::is_error) { Err((sources, diags)) } else { Ok(settings) }
}

/// Reads a runners file into `loaded` after the configs (a default chosen by their format);
/// runner types defined inline by `.ix` files are kept where the file lacks them.
pub fn add_runners(loaded: &mut Loaded, path: &str) {
    let Some(file) = read_source(&mut loaded.sources, path, FileRole::Runners, &mut loaded.diags) else { return };
    let mut table = runners::lower_runners(&loaded.sources, file, &mut loaded.diags);
    if let Some(inline) = loaded.runners.take() {
        table.add_missing(inline);
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

/// The master configs given, else InferenceX's default ones ([`default_master_configs`]).
pub fn master_configs_or_default(given: &[String]) -> Vec<String> {
    if given.is_empty() { default_master_configs() } else { given.to_vec() }
}

/// The default master configs that exist (none when neither InferenceX layout is present).
pub fn existing_default_master_configs() -> Vec<String> {
    default_master_configs().into_iter().filter(|path| Path::new(path).is_file()).collect()
}

/// One file for [`check_sources`]: its path, and its text when the caller holds it (an editor
/// buffer, which overrides the disk); `None` reads the file.
#[derive(Clone, Debug)]
pub struct CheckFile {
    pub path: String,
    pub text: Option<Arc<str>>,
}

impl CheckFile {
    pub fn disk(path: &str) -> CheckFile {
        CheckFile { path: path.to_string(), text: None }
    }
}

/// What [`check_sources`] found: the sources (for rendering), every diagnostic, and what the
/// files lowered to (the sweep entries of master configs and `.ix` files, the runner types of
/// runners files and `.ix` files), for editors.
#[derive(Debug, Default)]
pub struct Checked {
    pub sources: SourceMap,
    pub diags: Vec<Diag>,
    pub sweep: Sweep,
    pub runners: RunnerTable,
}

/// The checks of `ix check`, shared with `ix lsp` so both report the same diagnostics: runners
/// files (`runners`) first, then each file of `files` by its kind (`.ix` sweeps with the runners
/// files they reference, runners files detected by their shape, master configs lowered together).
pub fn check_sources(files: &[CheckFile], runners: &[CheckFile]) -> Checked {
    let mut checked = Checked::default();
    for input in runners {
        if let Some(file) = add_check_file(&mut checked, input, FileRole::Runners) {
            let table = runners::lower_runners(&checked.sources, file, &mut checked.diags);
            add_runner_table(&mut checked.runners, table);
        }
    }
    let mut yaml_files = Vec::new();
    for input in files {
        let Some(file) = add_check_file(&mut checked, input, FileRole::Config) else { continue };
        if is_dsl_path(&input.path) {
            let lowered = lower_dsl_file(&mut checked.sources, file, &mut checked.diags);
            checked.sweep.entries.extend(lowered.sweep.entries);
            checked.runners.types.extend(lowered.runners.types);
        } else {
            yaml_files.push(file);
        }
    }
    // Each YAML file is parsed once (files in parallel), then read as runners or master config.
    let docs: Vec<_> = yaml_files.iter().map(|&file| (file, checked.sources.get(file).text.as_ref())).collect();
    let trees = crate::yaml::parse_many(&docs);
    let mut configs = Vec::new();
    let mut config_diags = Vec::new();
    for (&file, tree) in yaml_files.iter().zip(trees) {
        match tree {
            Ok(root) if root_looks_like_runners(&root) => {
                let table = runners::lower_runners_root(&checked.sources, file, &root, &mut checked.diags);
                add_runner_table(&mut checked.runners, table);
            }
            Ok(root) => {
                configs.push((file, inferencex::lower_master_root(&checked.sources, file, &root, &mut config_diags)))
            }
            Err(diag) => {
                config_diags.push(diag);
                configs.push((file, Vec::new()));
            }
        }
    }
    let (sweep, merge_diags) = crate::ir::merge_files(&checked.sources, configs);
    checked.diags.extend(config_diags);
    checked.diags.extend(merge_diags);
    checked.sweep.entries.extend(sweep.entries);
    checked
}

/// Adds a runners file's table (types, hardware, format) to what was checked before it.
fn add_runner_table(into: &mut RunnerTable, table: RunnerTable) {
    into.types.extend(table.types);
    into.hardware.extend(table.hardware);
    into.format = table.format;
}

fn add_check_file(checked: &mut Checked, input: &CheckFile, role: FileRole) -> Option<FileId> {
    match &input.text {
        Some(text) => Some(checked.sources.add(input.path.clone(), text.clone())),
        None => read_source(&mut checked.sources, &input.path, role, &mut checked.diags),
    }
}

/// Whether a YAML text is a runners file: a Feb-2026 runners file maps names to lists, today's
/// has a `labels` mapping; a master config maps names to mappings that are entries.
pub fn looks_like_runners(text: &str) -> bool {
    crate::yaml::parse(FileId(0), text).is_ok_and(|root| root_looks_like_runners(&root))
}

fn root_looks_like_runners(root: &crate::yaml::Node) -> bool {
    use crate::yaml::NodeKind;
    match &root.kind {
        NodeKind::Map(entries) => {
            let labels = entries
                .iter()
                .any(|(key, value)| key.as_str() == Some("labels") && matches!(value.kind, NodeKind::Map(_)));
            labels || (!entries.is_empty() && entries.iter().all(|(_, value)| matches!(value.kind, NodeKind::Seq(_))))
        }
        _ => false,
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    /// `load` lowers the YAML files and the runners file on several threads; its sources,
    /// sweep, runners and diagnostics (order included) equal lowering one file after another.
    #[test]
    fn parallel_load_equals_loading_one_file_after_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path.to_string_lossy().into_owned()
        };
        let entry = |key: &str, extra: &str| {
            format!(
                "{key}:\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n  \
                 runner: h100\n  multinode: false\n{extra}  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    \
                 search-space:\n    - {{ tp: 8, conc-start: 4, conc-end: 8 }}\n"
            )
        };
        let configs = vec![
            write("a.yaml", &(entry("a", "  bogus: 1\n") + &entry("b", ""))),
            dir.path().join("missing.yaml").to_string_lossy().into_owned(),
            write("c.yaml", &(entry("b", "") + &entry("c", "  precision2: x\n"))),
            write("d.yaml", "[unclosed\n"),
        ];
        let runners = write("runners.yaml", "h100: [h100_0, 7]\n");
        let loaded = load(&configs, Some(&runners));

        let mut sources = SourceMap::default();
        let mut diags = Vec::new();
        let mut per_file = Vec::new();
        for path in &configs {
            if let Some(file) = read_source(&mut sources, path, FileRole::Config, &mut diags) {
                let (sweep, lowered) = inferencex::lower_master_configs(&sources, &[file]);
                diags.extend(lowered);
                per_file.push((file, sweep.entries));
            }
        }
        let (sweep, merged) = merge(&sources, per_file);
        diags.extend(merged);
        let file = read_source(&mut sources, &runners, FileRole::Runners, &mut diags).expect("runners");
        let table = runners::lower_runners(&sources, file, &mut diags);

        assert!(diags.len() >= 5, "{diags:?}");
        assert_eq!(format!("{:?}", loaded.diags), format!("{diags:?}"));
        assert_eq!(loaded.sweep, sweep);
        assert_eq!(loaded.runners, Some(table));
        assert_eq!(format!("{:?}", loaded.sources), format!("{sources:?}"));
    }

    /// A large master is lowered in parts on several threads; what comes out (entries, and the
    /// diagnostics when something is wrong anywhere) is exactly what lowering it whole gives.
    #[test]
    fn a_large_file_lowered_in_parts_equals_lowering_it_whole() {
        let feb = |key: &str, extra: &str| {
            format!(
                "# the {key} entry\n{key}:\n  image: i:{key}\n  model: m\n  model-prefix: p\n  precision: fp8\n  \
                 framework: f\n  runner: h100\n  multinode: false\n{extra}  seq-len-configs:\n  - isl: 1024\n    \
                 osl: 1024\n    search-space:\n    - {{ tp: 8, conc-start: 4, conc-end: 8 }}\n    - tp: 4\n      \
                 conc-start: 1\n      conc-end: 64\n"
            )
        };
        let head = |key: &str| {
            format!(
                "{key}:\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n  \
                 runner: h100\n  multinode: false\n  scenarios:\n    fixed-seq-len:\n    - isl: 8192\n      \
                 osl: 1024\n      search-space:\n      - {{ tp: 8, conc-start: 4, conc-end: 8 }}\n"
            )
        };
        let file_with = |change: &dyn Fn(usize) -> Option<String>| {
            (0..200).map(|idx| change(idx).unwrap_or_else(|| feb(&format!("e{idx}"), ""))).collect::<String>()
        };
        let cases: Vec<(&str, String)> = vec![
            ("valid", file_with(&|_| None)),
            ("invalid field late", file_with(&|idx| (idx == 140).then(|| feb("e140", "  bogus: 1\n")))),
            ("invalid field early", file_with(&|idx| (idx == 3).then(|| feb("e3", "  precision2: x\n")))),
            ("formats mixed across parts", file_with(&|idx| (idx == 120).then(|| head("e120")))),
            ("key defined twice", file_with(&|idx| (idx == 130).then(|| feb("e2", "")))),
            ("syntax error", file_with(&|idx| (idx == 77).then(|| feb("e77", "  bogus: [unclosed\n")))),
        ];
        for (name, text) in cases {
            assert!(text.len() > 3 * 16 * 1024, "{name}: {} bytes make too few parts", text.len());
            let mut sources = SourceMap::default();
            let file = sources.add("big.yaml".into(), Arc::from(text.as_str()));
            let runners = sources.add("runners.yaml".into(), Arc::from("h100: [h100_0, h100_1]\n"));
            let parts = inferencex::master_parts(&text, 16 * 1024);
            if name != "key defined twice" {
                assert!(parts.as_ref().is_some_and(|parts| parts.len() >= 3), "{name}: {parts:?}");
            }
            let mut split =
                vec![ConfigLoad { file: Some(file), entries: Vec::new(), yaml: Some(file), diags: Vec::new() }];
            let mut runner_diags = Vec::new();
            let table = lower_yaml_files(&sources, &mut split, Some(runners), &mut runner_diags, 2);
            let (whole, whole_diags) = inferencex::lower_master_configs(&sources, &[file]);
            assert_eq!(split[0].entries, whole.entries, "{name}");
            assert_eq!(format!("{:?}", split[0].diags), format!("{whole_diags:?}"), "{name}");
            assert_eq!(name == "valid", whole_diags.is_empty(), "{name}: {whole_diags:?}");
            assert_eq!(whole.entries.is_empty(), name == "syntax error", "{name}");
            let mut diags = Vec::new();
            assert_eq!(table, Some(runners::lower_runners(&sources, runners, &mut diags)));
            assert!(runner_diags.is_empty() && diags.is_empty());
        }
    }
}
