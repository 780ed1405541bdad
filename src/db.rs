//! The salsa database: project files and master-config texts as inputs, and the queries over
//! them, so a re-plan after an edit recomputes only what the edit touched.
//!
//! - Project files (scripts, sourced files, launchers): [`file_facts`] (digest and `source`
//!   edges), read by `dag::build` through [`ProjectFiles`].
//! - Master configs: [`ConfigSource`] (one per file) -> [`sweep_entries`] (one tracked
//!   [`SweepEntry`] per top-level key, identified by file and key; its block text and offset are
//!   separate tracked fields) -> [`lowered_entry`] (the entry lowered from its block alone, so
//!   spans are relative to the block) -> [`entry_jobs`] (its expansion under the request's
//!   [`PlanContext`]). An edit re-lowers only the entries whose block text changed; an entry
//!   that lowers to the same value (a comment, trailing blank lines) is backdated and its jobs
//!   are not re-expanded; entries that only moved are not recomputed at all.
//!
//! `db` holds no pipeline logic: it wires inputs to `ir`, `expand::select` and `dag::hash`. The only
//! IO is reading and `stat`ing project files, done outside the tracked functions (which stay
//! pure) when an input is created or refreshed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use salsa::{Durability, Setter};

use crate::dag::hash::file_digest;
use crate::dag::{FileFacts, ProjectFiles};
use crate::expand::Job;
use crate::expand::select::{JobSelection, entry_jobs as expand_entry};
use crate::ir::inferencex::{EntryCheck, check_master_entry, lower_master_entry, split_master_entries};
use crate::ir::{ConfigEntry, RunnerTable};
use crate::source::FileId;

/// The salsa database, optionally logging which queries execute (for tests and `--timings`).
#[salsa::db]
#[derive(Clone)]
pub struct IxDb {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for IxDb {}

/// Names of the queries that executed, in order (`lowered_entry(Id(..))`, …).
pub type QueryLog = Arc<Mutex<Vec<String>>>;

impl IxDb {
    fn new(log: Option<QueryLog>) -> IxDb {
        let callback = log.map(|log| {
            Box::new(move |event: salsa::Event| {
                if let salsa::EventKind::WillExecute { database_key } = event.kind
                    && let Ok(mut log) = log.lock()
                {
                    log.push(format!("{database_key:?}"));
                }
            }) as Box<dyn Fn(salsa::Event) + Send + Sync + 'static>
        });
        IxDb { storage: salsa::Storage::new(callback) }
    }
}

/// One master-config file: its index in the source map and its text.
#[salsa::input]
pub struct ConfigSource {
    pub file: u32,
    #[returns(ref)]
    pub text: String,
}

/// What expansion depends on besides the entry: the runners and the job selection.
#[salsa::input]
pub struct PlanContext {
    #[returns(ref)]
    pub runners: RunnerTable,
    #[returns(ref)]
    pub selection: JobSelection,
}

/// One top-level entry of a master config. Identity: file and key; the block text and its
/// byte offset are tracked separately, so moving an entry changes only `start`.
#[salsa::tracked]
pub struct SweepEntry<'db> {
    pub file: u32,
    #[returns(ref)]
    pub key: String,
    #[tracked]
    #[returns(ref)]
    pub block: String,
    #[tracked]
    pub start: u32,
}

/// The entries of a master config, in file order; `None` when the text cannot be split safely
/// (the caller lowers the whole file).
#[salsa::tracked(returns(ref))]
pub fn sweep_entries<'db>(db: &'db dyn salsa::Database, source: ConfigSource) -> Option<Vec<SweepEntry<'db>>> {
    let text = source.text(db);
    let blocks = split_master_entries(text)?;
    let file = *source.file(db);
    Some(
        blocks
            .into_iter()
            .map(|block| {
                let start = u32::try_from(block.start).unwrap_or(u32::MAX);
                SweepEntry::new(db, file, block.key, text[block.start..block.end].to_string(), start)
            })
            .collect(),
    )
}

/// The entry lowered from its block alone (spans relative to the block); `None` when it has
/// any diagnostic (the caller lowers the whole file, for positioned diagnostics).
#[salsa::tracked(returns(ref))]
pub fn lowered_entry<'db>(db: &'db dyn salsa::Database, entry: SweepEntry<'db>) -> Option<ConfigEntry> {
    lower_master_entry(FileId(*entry.file(db)), entry.block(db)).ok()
}

/// The entry's jobs, one list per node mode (spans relative to the block, `entry_idx` 0);
/// `None` when the entry did not lower or expansion reported errors.
#[salsa::tracked(returns(ref))]
pub fn entry_jobs<'db>(
    db: &'db dyn salsa::Database,
    entry: SweepEntry<'db>,
    context: PlanContext,
) -> Option<Vec<Vec<Job>>> {
    let lowered = lowered_entry(db, entry).as_ref()?;
    expand_entry(lowered, context.runners(db), context.selection(db)).ok()
}

/// The entry checked on its own for editors (`ix lsp`): its diagnostics relative to the block.
#[salsa::tracked(returns(ref))]
pub fn entry_check<'db>(db: &'db dyn salsa::Database, entry: SweepEntry<'db>) -> EntryCheck {
    check_master_entry(FileId(*entry.file(db)), entry.block(db))
}

/// One entry of a master config as the pipeline assembles it (borrowed from the database).
pub struct EntryView<'a> {
    pub key: &'a str,
    /// The entry's text in its file.
    pub block: &'a str,
    pub start: u32,
    pub entry: &'a ConfigEntry,
    pub jobs: &'a [Vec<Job>],
}

/// One project file: its project-relative path and bytes (`None` when it does not exist).
#[salsa::input]
pub struct ProjectFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub bytes: Option<Vec<u8>>,
}

/// Digest and `source` candidates of a file; `None` when the file does not exist.
#[salsa::tracked(returns(clone))]
pub fn file_facts(db: &dyn salsa::Database, file: ProjectFile) -> Option<FileFacts> {
    let bytes = file.bytes(db).as_ref()?;
    let text = String::from_utf8_lossy(bytes);
    Some(FileFacts { digest: file_digest(bytes), sourced: source_candidates(file.path(db), &text) })
}

/// Paths a shell script may read as code, relative to the project root: files it sources
/// (`source F`, `. F`) and scripts it runs (`bash F`, `sh F`, `exec bash F`), at any command
/// position of a line (after `;`, `&&`, `||`, `|`, a `case` arm's `)`, `then`, `do`, `else`,
/// environment assignments or `exec`/`command`).
///
/// A leading `$(dirname "$0")/`, `${BASH_SOURCE%/*}/`, `$here/` or similar is read as "the
/// script's folder"; both the script's folder and the project root are offered, and `dag` keeps
/// the ones that exist (a guess that names a file the script does not read only adds an input,
/// never drops one). Paths held in variables alone (`bash "$SCRIPT"`) and files outside the
/// project are not followed.
pub fn source_candidates(script: &str, text: &str) -> Vec<String> {
    let script_dir = Path::new(script).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        for word in code_arguments(&shell_words(line)) {
            let Some(relative) = project_relative(&word) else { continue };
            for base in [script_dir, Path::new("")] {
                if let Some(path) = normalize(&base.join(&relative))
                    && !out.contains(&path)
                {
                    out.push(path);
                }
            }
        }
    }
    out
}

/// The words of one shell line up to a comment, quotes kept, `$(…)` and `${…}` kept whole, the
/// operators `;`, `&&`, `||`, `|`, `&` and a `case` arm's closing `)` as words of their own.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q && depth == 0 => {
                quote = None;
                word.push(c);
            }
            (Some('\''), _) => word.push(c),
            (_, '$') if matches!(chars.peek(), Some('(') | Some('{')) => {
                depth += 1;
                word.push(c);
                word.extend(chars.next());
            }
            (_, ')' | '}') if depth > 0 => {
                depth -= 1;
                word.push(c);
            }
            (Some(_), _) => word.push(c),
            (None, _) if depth > 0 => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.push(c);
            }
            (None, '#') if word.is_empty() => break,
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, ';' | '&' | '|' | ')') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                let mut op = c.to_string();
                if matches!((c, chars.peek()), ('&', Some('&')) | ('|', Some('|')) | (';', Some(';'))) {
                    op.extend(chars.next());
                }
                words.push(op);
            }
            (None, _) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The arguments that name code: the file after `source`/`.`, or the first non-flag argument of
/// `bash`/`sh`, where that command stands at a command position.
fn code_arguments(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut command_position = true;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        i += 1;
        if matches!(
            word,
            ";" | ";;"
                | "&"
                | "&&"
                | "|"
                | "||"
                | ")"
                | "if"
                | "elif"
                | "while"
                | "until"
                | "then"
                | "do"
                | "else"
                | "{"
                | "!"
        ) {
            command_position = true;
            continue;
        }
        if !command_position {
            continue;
        }
        let is_assignment = word
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if is_assignment || matches!(word, "exec" | "command" | "time") {
            continue;
        }
        command_position = false;
        let takes_flags = match word {
            "source" | "." => false,
            "bash" | "sh" => true,
            _ => continue,
        };
        while let Some(arg) = words.get(i) {
            i += 1;
            if takes_flags && arg.starts_with('-') {
                if arg == "-c" {
                    break;
                }
                continue;
            }
            if !matches!(arg.as_str(), ";" | ";;" | "&" | "&&" | "|" | "||" | ")") {
                out.push(arg.clone());
            } else {
                i -= 1;
            }
            break;
        }
    }
    out
}

/// A code argument as a path relative to "here": a leading variable or substitution
/// (`$here/`, `${X:-…}/`, `$(dirname "$0")/`) is dropped; `None` for absolute paths, paths that
/// still hold a variable, and bare variables.
fn project_relative(word: &str) -> Option<String> {
    let unquoted: String = word.chars().filter(|c| *c != '"' && *c != '\'').collect();
    let relative = if let Some(rest) = unquoted.strip_prefix('$') {
        if rest.starts_with(['(', '{']) {
            let end = unquoted.rfind([')', '}'])?;
            &unquoted[end + 1..]
        } else {
            rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        }
        .trim_start_matches('/')
    } else {
        unquoted.as_str()
    };
    if relative.is_empty() || relative.starts_with('/') || relative.contains('$') {
        return None;
    }
    Some(relative.to_string())
}

fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// Whether `path`'s real location (symlinks and `..` resolved) lies inside `root`'s; a path
/// that does not exist is not inside.
pub fn inside_root(root: &Path, path: &Path) -> bool {
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(path)) => path.starts_with(root),
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: Option<u64>,
}

fn stamp(path: &Path) -> Stamp {
    match std::fs::metadata(path) {
        Ok(meta) => Stamp { modified: meta.modified().ok(), len: Some(meta.len()) },
        Err(_) => Stamp { modified: None, len: None },
    }
}

/// The project's files under one root, as salsa inputs.
pub struct ProjectDb {
    db: IxDb,
    root: PathBuf,
    files: RefCell<HashMap<String, (ProjectFile, Stamp)>>,
    configs: Vec<ConfigSource>,
    context: Option<PlanContext>,
    log: Option<QueryLog>,
    /// Paths `refresh` found changed, until taken.
    changed_paths: Vec<String>,
}

impl ProjectDb {
    pub fn new(root: &Path) -> ProjectDb {
        ProjectDb::build(root, None)
    }

    /// A database that records every query execution (see [`ProjectDb::take_query_log`]).
    pub fn with_query_log(root: &Path) -> ProjectDb {
        ProjectDb::build(root, Some(QueryLog::default()))
    }

    fn build(root: &Path, log: Option<QueryLog>) -> ProjectDb {
        ProjectDb {
            db: IxDb::new(log.clone()),
            root: root.to_path_buf(),
            files: RefCell::new(HashMap::new()),
            configs: Vec::new(),
            context: None,
            log,
            changed_paths: Vec::new(),
        }
    }

    /// The queries executed since the last call (empty without a query log).
    pub fn take_query_log(&self) -> Vec<String> {
        self.log.as_ref().and_then(|log| log.lock().ok().map(|mut log| std::mem::take(&mut *log))).unwrap_or_default()
    }

    /// Sets the text of master config number `idx` (its `FileId`); unchanged texts keep the
    /// input untouched, so nothing downstream is even revalidated.
    pub fn set_config(&mut self, idx: usize, text: &str) {
        if let Some(source) = self.configs.get(idx).copied() {
            if source.text(&self.db) != text {
                source.set_text(&mut self.db).with_durability(Durability::LOW).to(text.to_string());
            }
            return;
        }
        let file = u32::try_from(idx).unwrap_or(u32::MAX);
        let source = ConfigSource::builder(file, text.to_string()).file_durability(Durability::HIGH).new(&self.db);
        self.configs.push(source);
    }

    /// Sets the runners and selection expansion runs under (untouched when equal).
    pub fn set_context(&mut self, runners: &RunnerTable, selection: &JobSelection) {
        match self.context {
            Some(context) => {
                if context.runners(&self.db) != runners {
                    context.set_runners(&mut self.db).to(runners.clone());
                }
            }
            None => {
                self.context = Some(PlanContext::new(&self.db, runners.clone(), selection.clone()));
            }
        }
    }

    /// The entries of master config `idx` with their lowered value and jobs; `None` when the
    /// file cannot be split, or some entry has diagnostics (lower the whole file instead).
    pub fn config_entries(&self, idx: usize) -> Option<Vec<EntryView<'_>>> {
        let source = *self.configs.get(idx)?;
        let context = self.context?;
        let db = &self.db;
        sweep_entries(db, source)
            .as_ref()?
            .iter()
            .map(|entry| {
                Some(EntryView {
                    key: entry.key(db),
                    block: entry.block(db),
                    start: *entry.start(db),
                    entry: lowered_entry(db, *entry).as_ref()?,
                    jobs: entry_jobs(db, *entry, context).as_ref()?,
                })
            })
            .collect()
    }

    /// Each entry of master config `idx` checked on its own, with its byte offset (editors):
    /// only entries whose block text changed since the last call are checked again. `None`
    /// when the text cannot be split into entries.
    pub fn config_checks(&self, idx: usize) -> Option<Vec<(u32, &EntryCheck)>> {
        let source = *self.configs.get(idx)?;
        let db = &self.db;
        let entries = sweep_entries(db, source).as_ref()?;
        Some(entries.iter().map(|entry| (*entry.start(db), entry_check(db, *entry))).collect())
    }

    /// The jobs of entry `key` of master config `idx` (one list per node mode, spans relative to
    /// the entry's block) and the block's offset, under the context of [`ProjectDb::set_context`];
    /// `None` when the text does not split or the entry does not lower or expand.
    pub fn entry_jobs_of(&self, idx: usize, key: &str) -> Option<(u32, &[Vec<Job>])> {
        let source = *self.configs.get(idx)?;
        let context = self.context?;
        let db = &self.db;
        let entry = sweep_entries(db, source).as_ref()?.iter().find(|entry| entry.key(db) == key)?;
        Some((*entry.start(db), entry_jobs(db, *entry, context).as_deref()?))
    }

    /// Re-`stat`s every known file and updates the inputs that changed; returns how many did.
    pub fn refresh(&mut self) -> usize {
        let mut changed = Vec::new();
        for (path, (file, old)) in self.files.get_mut().iter_mut() {
            let new = stamp(&self.root.join(path));
            if new != *old {
                *old = new;
                changed.push(*file);
            }
        }
        for file in &changed {
            let path = file.path(&self.db).clone();
            let full = self.root.join(&path);
            let bytes = inside_root(&self.root, &full).then(|| std::fs::read(&full).ok()).flatten();
            file.set_bytes(&mut self.db).to(bytes);
            self.changed_paths.push(path);
        }
        changed.len()
    }

    /// The project files that [`ProjectDb::refresh`] found changed since the last call.
    pub fn take_changed_paths(&mut self) -> Vec<String> {
        std::mem::take(&mut self.changed_paths)
    }

    /// Whether any file read so far differs (mtime, size, existence) from when it was read.
    pub fn changed(&self) -> bool {
        self.files.borrow().iter().any(|(path, (_, old))| stamp(&self.root.join(path)) != *old)
    }
}

impl ProjectFiles for ProjectDb {
    fn facts(&self, path: &str) -> Option<FileFacts> {
        let existing = self.files.borrow().get(path).map(|(file, _)| *file);
        let file = match existing {
            Some(file) => file,
            None => {
                let full = self.root.join(path);
                let stamp = stamp(&full);
                // A file whose real path leaves the project (a symlink, `..`) counts as missing:
                // nothing outside the project is hashed or run.
                let bytes = inside_root(&self.root, &full).then(|| std::fs::read(&full).ok()).flatten();
                let file = ProjectFile::new(&self.db, path.to_string(), bytes);
                self.files.borrow_mut().insert(path.to_string(), (file, stamp));
                file
            }
        };
        file_facts(&self.db, file)
    }
}

#[cfg(test)]
mod tests {
    use super::source_candidates;
    use crate::ir::inferencex::split_master_entries;

    #[test]
    fn master_configs_split_into_entry_blocks_or_refuse() {
        let text = "# header\na:\n  image: x # & not an anchor\n\n# about b\nb:\n  image: y\n";
        let blocks = split_master_entries(text).unwrap();
        let keys: Vec<(&str, &str)> = blocks.iter().map(|b| (b.key.as_str(), &text[b.start..b.end])).collect();
        assert_eq!(keys, [("a", "a:\n  image: x # & not an anchor\n\n# about b\n"), ("b", "b:\n  image: y\n")]);
        for refused in ["a: &base\n  image: x\nb: *base\n", "---\na:\n  x: 1\n", "\"a\":\n  x: 1\n", "a: {x: 1}\n"] {
            assert_eq!(split_master_entries(refused), None, "{refused}");
        }
    }

    #[test]
    fn source_lines_are_found_relative_to_the_script_and_the_root() {
        let text = "#!/bin/bash\nsource \"$(dirname \"$0\")/benchmark_lib.sh\"\n. lib/env.sh # env\necho source x\n";
        assert_eq!(
            source_candidates("benchmarks/a.sh", text),
            vec!["benchmarks/benchmark_lib.sh", "benchmark_lib.sh", "benchmarks/lib/env.sh", "lib/env.sh"]
        );
    }

    #[test]
    fn scripts_run_with_bash_or_exec_are_followed_like_sourced_ones() {
        let text = r#"#!/usr/bin/env bash
here="$(dirname "${BASH_SOURCE[0]}")"
case "${FRAMEWORK:-sim}" in
  llamacpp) exec bash "$here/llama.sh" ;;
  sim*) exec bash "$here/sim.sh" ;;
esac
IX_DOCKER_GPU=rocm exec bash "$(dirname "$0")/docker.sh"
if true; then bash -e "${IX_REPO:-$here/..}/ci/setup.sh"; fi
[ -f x ] && source ./lib.sh # comment: bash not-me.sh
exec bash "$IX_BENCHMARK_SCRIPT"
bash -c 'bash not-code.sh'
echo bash not-a-command.sh; sh 'tail.sh'
"#;
        assert_eq!(
            source_candidates("runners/a.sh", text),
            vec![
                "runners/llama.sh",
                "llama.sh",
                "runners/sim.sh",
                "sim.sh",
                "runners/docker.sh",
                "docker.sh",
                "runners/ci/setup.sh",
                "ci/setup.sh",
                "runners/lib.sh",
                "lib.sh",
                "runners/tail.sh",
                "tail.sh",
            ]
        );
    }
}
