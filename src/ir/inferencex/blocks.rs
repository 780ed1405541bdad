//! Top-level entries of a master-config text found without parsing, and lowered one at a time
//! (`ix plan --watch` re-lowers only the entries an edit touched).

use crate::diag::Diag;
use crate::ir::{ConfigEntry, Format};
use crate::source::{FileId, Spanned};
use crate::yaml::{self, NodeKind};

use super::Cx;

/// One top-level entry of a master-config text, found without parsing: its key and the byte
/// range of its block (from the key's line to the next top-level key, comments included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryBlock {
    pub key: String,
    pub start: usize,
    pub end: usize,
}

/// Splits a master-config text into its top-level entries, so each can be lowered on its own
/// (`ix plan --watch` re-lowers only the entries an edit touched).
///
/// Conservative: `None` whenever the text uses anything that could tie entries together or
/// make a column-0 line something other than a plain `key:` (document markers, directives,
/// anchors, aliases, merge keys, tags, quoted or complex keys, flow or sequence roots); the
/// caller then lowers the whole file with [`lower_master_file`](super::lower_master_file).
pub fn split_master_entries(text: &str) -> Option<Vec<EntryBlock>> {
    let risky = |line: &str| {
        let code = if line.starts_with('#') { "" } else { line.split(" #").next().unwrap_or(line) };
        code.contains(['&', '*', '!', '\t']) || code.contains("<<")
    };
    // Only lines holding one of these bytes can be risky: find them with a vectorized scan
    // (most files have none outside comments) and check just those lines.
    let bytes = text.as_bytes();
    let mut checked_to = 0;
    for hit in memchr::memchr3_iter(b'&', b'*', b'!', bytes).chain(memchr::memchr2_iter(b'\t', b'<', bytes)) {
        if hit < checked_to {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', &bytes[..hit]).map_or(0, |at| at + 1);
        let line_end = memchr::memchr(b'\n', &bytes[hit..]).map_or(bytes.len(), |at| hit + at);
        if risky(&text[line_start..line_end]) {
            return None;
        }
        checked_to = line_end;
    }
    let mut blocks: Vec<EntryBlock> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let Some(first) = content.chars().next() else {
            continue;
        };
        if first == ' ' || first == '#' {
            if blocks.is_empty() && !content.trim_start().is_empty() && !content.trim_start().starts_with('#') {
                return None;
            }
            continue;
        }
        let (key, rest) = content.split_once(':')?;
        let rest = rest.trim();
        let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if key.is_empty() || !plain || !(rest.is_empty() || rest.starts_with('#')) {
            return None;
        }
        if let Some(last) = blocks.last_mut() {
            last.end = start;
        }
        blocks.push(EntryBlock { key: key.to_string(), start, end: text.len() });
    }
    Some(blocks)
}

/// Lowers one entry block (as found by [`split_master_entries`]) on its own; spans are
/// relative to the block's first byte. `Err` with the diagnostics when the block has any
/// (the caller lowers the whole file instead, for diagnostics with file positions).
pub fn lower_master_entry(file: FileId, block: &str) -> Result<ConfigEntry, Vec<Diag>> {
    let root = yaml::parse(file, block).map_err(|diag| vec![diag])?;
    let NodeKind::Map(entries) = &root.kind else {
        return Err(Vec::new());
    };
    let [(key, value)] = entries.as_slice() else {
        return Err(Vec::new());
    };
    let Some(name) = key.as_str() else {
        return Err(Vec::new());
    };
    let mut diags = Vec::new();
    let entry = Cx { diags: &mut diags, key: None, format: Format::Feb, text: block }
        .entry(Spanned::new(name.to_string(), key.span), value);
    match entry {
        Some(entry) if diags.is_empty() && !name.contains('*') => Ok(entry),
        _ => Err(diags),
    }
}
