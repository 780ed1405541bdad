//! One master-config entry checked on its own, for editors: what `lower_master_file` reports
//! about the entry, and what a caller needs to know to combine entries into the file's
//! diagnostics (the entry's format, and whether the whole file must be checked instead).

use crate::diag::Diag;
use crate::ir::Format;
use crate::source::{FileId, Spanned};
use crate::yaml::{self, NodeKind};

use super::{Cx, head};

/// What checking one entry block found (spans relative to the block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryCheck {
    pub key: String,
    /// The entry's format as `lower_master_file` detects it (`None`: neither or both).
    pub format: Option<Format>,
    /// The entry's diagnostics, as `lower_master_file` reports them for this entry.
    pub diags: Vec<Diag>,
    /// The block alone cannot stand for the entry (it does not parse, is not one mapping entry,
    /// or its key is a wildcard): check the whole file.
    pub whole_file: bool,
    /// The entry's value is a list (a Feb-2026 runners file entry).
    pub is_list: bool,
    /// The entry is `labels:` with a mapping (today's runners file).
    pub is_labels: bool,
}

/// Checks one entry block (as found by `split_master_entries`) on its own.
pub fn check_master_entry(file: FileId, block: &str) -> EntryCheck {
    let mut check = EntryCheck {
        key: String::new(),
        format: None,
        diags: Vec::new(),
        whole_file: true,
        is_list: false,
        is_labels: false,
    };
    let Ok(root) = yaml::parse(file, block) else { return check };
    let NodeKind::Map(entries) = &root.kind else { return check };
    let [(key, value)] = entries.as_slice() else { return check };
    let Some(name) = key.as_str() else { return check };
    check.key = name.to_string();
    check.is_list = matches!(value.kind, NodeKind::Seq(_));
    check.is_labels = name == "labels" && matches!(value.kind, NodeKind::Map(_));
    if name.contains('*') {
        return check;
    }
    check.format = head::detect_format(value);
    let mut diags = Vec::new();
    let _ = Cx { diags: &mut diags, key: None, format: Format::Feb, text: block }
        .entry(Spanned::new(name.to_string(), key.span), value);
    check.diags = diags;
    check.whole_file = false;
    check
}
