//! Diagnostics of a master config after an edit, recomputed only for the entries the edit
//! touched: the buffer is a salsa input (`db::ProjectDb::set_config`), split into entries, and
//! each entry is checked on its own (`db::entry_check`, memoized per entry block), then the
//! entries' diagnostics are placed at their offsets.
//!
//! This gives exactly what `ix check` reports for the file (tested after thousands of random
//! edits) because it steps aside for the whole-file check whenever the file-level checks could
//! say more: the text does not split into entries, or has none, an entry does not stand alone
//! (does not parse, wildcard key), keys repeat, formats mix, or it is a runners file.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::ProjectDb;
use crate::diag::{Diag, Label};
use crate::source::{FileId, SourceMap, Span};
use crate::workspace::Checked;

/// One salsa database for every open master config, each in its own slot.
pub(crate) struct Incremental {
    db: ProjectDb,
    slots: HashMap<String, usize>,
}

impl Incremental {
    pub(crate) fn new(root: &std::path::Path) -> Incremental {
        Incremental { db: ProjectDb::new(root), slots: HashMap::new() }
    }

    /// The jobs of entry `key` of a master config's text (spans relative to the entry, whose
    /// offset comes with them), expanded under `runners`; memoized per entry block.
    pub(crate) fn entry_jobs(
        &mut self,
        path: &str,
        text: &str,
        runners: &crate::ir::RunnerTable,
        key: &str,
    ) -> Option<(u32, Vec<crate::expand::Job>)> {
        let slot = self.slot(path);
        self.db.set_config(slot, text);
        self.db.set_context(runners, &crate::expand::select::JobSelection::all());
        let (start, modes) = self.db.entry_jobs_of(slot, key)?;
        Some((start, modes.iter().flatten().cloned().collect()))
    }

    fn slot(&mut self, path: &str) -> usize {
        let next = self.slots.len();
        *self.slots.entry(path.to_string()).or_insert(next)
    }

    /// The check of a master config's text, by entries; `None` when the whole file must be
    /// checked (see the module's doc).
    pub(crate) fn check(&mut self, path: &str, text: &str) -> Option<Checked> {
        let slot = self.slot(path);
        self.db.set_config(slot, text);
        let checks = self.db.config_checks(slot)?;
        if checks.is_empty() {
            return None;
        }
        let mut keys = std::collections::HashSet::new();
        let mut format = None;
        let (mut all_lists, mut labels) = (true, false);
        for (_, check) in &checks {
            if check.whole_file || !keys.insert(check.key.as_str()) {
                return None;
            }
            all_lists &= check.is_list;
            labels |= check.is_labels;
            if let Some(entry_format) = check.format {
                match format {
                    None => format = Some(entry_format),
                    Some(first) if first != entry_format => return None,
                    Some(_) => {}
                }
            }
        }
        if all_lists || labels {
            return None;
        }
        let mut sources = SourceMap::new();
        let file = sources.add(path.to_string(), Arc::from(text));
        let diags = checks
            .iter()
            .flat_map(|(start, check)| check.diags.iter().map(move |diag| placed(diag, *start, file)))
            .collect();
        Some(Checked { sources, diags, ..Checked::default() })
    }
}

/// A diagnostic of an entry block, placed at the block's offset in file `file`.
fn placed(diag: &Diag, start: u32, file: FileId) -> Diag {
    let shift = |span: Span| Span { file, start: span.start + start, end: span.end + start };
    let label = |label: &Label| Label { span: shift(label.span), message: label.message.clone() };
    Diag {
        primary: diag.primary.as_ref().map(label),
        secondary: diag.secondary.iter().map(label).collect(),
        ..diag.clone()
    }
}
