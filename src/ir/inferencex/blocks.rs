//! Top-level entries of a master-config text found without parsing, and lowered one at a time
//! (`ix plan --watch` re-lowers only the entries an edit touched).

use crate::diag::Diag;
use crate::ir::{ConfigEntry, Format};
use crate::source::{FileId, SourceMap, Spanned};
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

/// Cuts a master-config text into parts of whole top-level entries, each about `target` bytes,
/// that [`lower_master_part`] lowers on their own (the loader spreads one large file over the
/// cores this way). `None` when the text should be lowered whole: it cannot be split (see
/// [`split_master_entries`]), would make a single part, or defines a key twice (the whole-file
/// path reports that).
pub fn master_parts(text: &str, target: usize) -> Option<Vec<std::ops::Range<usize>>> {
    let blocks = split_master_entries(text)?;
    let mut keys: Vec<&str> = blocks.iter().map(|block| block.key.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|pair| pair[0] == pair[1]) {
        return None;
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for block in &blocks {
        if block.start > start && block.start - start >= target {
            parts.push(start..block.start);
            start = block.start;
        }
    }
    parts.push(start..text.len());
    (parts.len() > 1).then_some(parts)
}

/// One part of a master-config file (a range from [`master_parts`]) lowered on its own, with
/// the file's spans. The caller keeps the entries only if [`join_master_parts`] accepts every
/// part; otherwise it lowers the whole file, for the whole file's diagnostics.
pub fn lower_master_part(sources: &SourceMap, file: FileId, part: std::ops::Range<usize>) -> MasterPart {
    let mut diags = Vec::new();
    let entries = match yaml::parse_part(file, &sources.get(file).text[part.clone()], part.start) {
        Ok(root) => super::lower_master_root(sources, file, &root, &mut diags),
        Err(diag) => {
            diags.push(diag);
            Vec::new()
        }
    };
    MasterPart { entries, clean: diags.is_empty() }
}

/// The entries of one part of a master-config file, and whether lowering it found nothing wrong.
#[derive(Debug)]
pub struct MasterPart {
    entries: Vec<ConfigEntry>,
    clean: bool,
}

/// The file's entries from its parts, in order, when they are what lowering the whole file
/// gives: no part found a problem and all entries share one format (the whole-file path reports
/// a mix). `None` otherwise.
pub fn join_master_parts(parts: Vec<MasterPart>) -> Option<Vec<ConfigEntry>> {
    if !parts.iter().all(|part| part.clean) {
        return None;
    }
    let entries: Vec<ConfigEntry> = parts.into_iter().flat_map(|part| part.entries).collect();
    let format = entries.first().map(|entry| entry.format);
    entries.iter().all(|entry| Some(entry.format) == format).then_some(entries)
}
