//! A fast path for [`super::parse_part`]: a hand-written parser for the plain subset of YAML that
//! InferenceX's master configs and runner files are written in. It builds the very tree the
//! saphyr path builds (the same kinds, the same byte spans on every node, keys in file order,
//! duplicates kept) in one pass over the bytes, without saphyr's token queue, its event stream
//! or the char-to-byte mapping of its markers.
//!
//! It accepts, and only in this form:
//! - block mappings whose keys are plain or quoted scalars on one line, followed by `:` and a
//!   space or the end of the line;
//! - block sequences (`- item`, the content on the dash's line), also the "indentless" form
//!   `key:\n- a` at the key's own column;
//! - flow sequences `[a, b]` and flow mappings `{ k: v }` that close on the line they open on,
//!   nested freely, with an optional trailing comma;
//! - plain scalars on one line (`:` not followed by a space and `#` not after a space are part
//!   of them), single-quoted scalars, and double-quoted scalars with one-character escapes;
//! - full-line and trailing comments, blank lines, trailing spaces, CRLF line ends, non-ASCII
//!   text (spans stay in bytes).
//!
//! It declines (returns `None`, and [`super::parse_part`] runs saphyr) on everything else, so
//! every error and every rare construct keeps saphyr's reading and saphyr's diagnostic: tabs,
//! control characters, a lone CR, a BOM, NEL and the Unicode line separators; anchors, aliases,
//! tags, merge keys (`<<`), `?` keys, directives and `---`/`...` lines; block scalars; any
//! scalar or flow collection spanning lines (a line indented deeper than its block expects is
//! one); a value on the line after its key (other than a nested block); an empty sequence
//! entry; empty values inside flow collections and single-pair mappings inside flow sequences;
//! `\x`/`\u`/`\U` escapes; keys longer than saphyr's simple-key limit; a top-level scalar or
//! flow collection; nesting deeper than [`MAX_DEPTH`] (an error on the saphyr path). When in
//! doubt it declines: a decline costs a saphyr parse, a wrong tree would be a wrong sweep.
//!
//! How the spans match saphyr's (its markers, as the builder turns them into spans):
//! - a plain scalar spans its text; a quoted one its quotes and what saphyr skips after the
//!   closing quote: spaces, and a comment after them (an empty flow collection likewise);
//! - a block mapping starts at its first key; a block sequence at its first dash, but an
//!   indentless one at its first item's content (saphyr's `BlockEntry` marker sits after the
//!   dash and its spaces); a flow collection at its bracket;
//! - a non-empty collection ends where its last child ends (the builder's rule), an empty flow
//!   collection after its closing bracket;
//! - an empty block-mapping value is `Null` with an empty span at its key's `:`.

use std::borrow::Cow;

use saphyr_parser::ScalarStyle;

use super::{MAX_DEPTH, Node, NodeKind, resolve_scalar};
use crate::source::{FileId, Span};

/// Saphyr forgets a simple key that starts more than 1024 characters before its `:`; a key
/// this many bytes long (bytes are never fewer than characters) is left to saphyr.
const MAX_KEY_BYTES: usize = 1000;

/// Parses `text` (the part of `file` starting at byte `base`) if it stays inside the subset
/// above; `None` means "ask saphyr", never "invalid".
pub(super) fn parse(file: FileId, text: &str, base: usize) -> Option<Node> {
    if base.checked_add(text.len()).is_none_or(|end| end > u32::MAX as usize) || !in_alphabet(text) {
        return None;
    }
    let mut parser = Parser { text, bytes: text.as_bytes(), file, base, pos: 0, line_start: 0, eof: false, depth: 0 };
    parser.next_line(0)?;
    if parser.eof {
        return Some(Node { span: parser.span(0, text.len()), kind: NodeKind::Null });
    }
    let col = parser.column();
    let root = if parser.at_block_entry() {
        parser.block_seq(col, false)?
    } else {
        let key_start = parser.pos;
        let key = parser.scalar(false)?;
        let colon = parser.key_colon(key_start)?;
        parser.block_map(col, key, colon)?
    };
    parser.eof.then_some(root)
}

/// Whether every character is one the fast path knows saphyr treats as ordinary text (or a
/// space, or a line feed, or a CR right before one).
fn in_alphabet(text: &str) -> bool {
    let bytes = text.as_bytes();
    // A branch-free pass first (it vectorizes); only a text with a CR or a control character
    // takes the exact one.
    let suspicious = bytes.iter().fold(false, |acc, &byte| acc | ((byte < 0x20) & (byte != b'\n')) | (byte == 0x7f));
    if !suspicious {
        return text.is_ascii() || chars_in_alphabet(text);
    }
    for (idx, &byte) in bytes.iter().enumerate() {
        let ok = match byte {
            b'\n' => true,
            b'\r' => bytes.get(idx + 1) == Some(&b'\n'),
            0..0x20 | 0x7f => false,
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    text.is_ascii() || chars_in_alphabet(text)
}

/// Whether no non-ASCII character is one saphyr treats specially (a BOM, NEL, the Unicode line
/// separators) or one that is no text at all (C1 controls, U+FFFE, U+FFFF). In UTF-8 each of
/// those starts with 0xC2, 0xE2 or 0xEF, bytes that only ever start a character, so only the
/// characters starting with one of them are looked at.
fn chars_in_alphabet(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(rel) = memchr::memchr3(0xc2, 0xe2, 0xef, &bytes[from..]) {
        let at = from + rel;
        let special = match (bytes[at], bytes.get(at + 1..at + 3)) {
            (0xc2, _) => matches!(bytes.get(at + 1), Some(0x80..=0x9f)),
            (0xe2, Some(next)) => next == [0x80, 0xa8] || next == [0x80, 0xa9],
            (0xef, Some(next)) => next == [0xbb, 0xbf] || next == [0xbf, 0xbe] || next == [0xbf, 0xbf],
            _ => false,
        };
        if special {
            return false;
        }
        from = at + 1;
    }
    true
}

/// In [`PLAIN_STOPS`], the bit of the bytes that may end a plain scalar in block context.
const STOPS_BLOCK: u8 = 1;
/// In [`PLAIN_STOPS`], the bit of the bytes that may end a plain scalar in flow context.
const STOPS_FLOW: u8 = 2;
/// For each byte, whether it may end a run of plain-scalar characters (a table lookup per byte
/// instead of a chain of compares). A `:` ends the run only before a space, a line end or, in
/// flow context, a flow indicator; [`Parser::plain`] checks that.
static PLAIN_STOPS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut idx = 0;
    while idx < 256 {
        table[idx] = match idx as u8 {
            b' ' | b'\n' | b'\r' | b':' => STOPS_BLOCK | STOPS_FLOW,
            b',' | b'[' | b']' | b'{' | b'}' => STOPS_FLOW,
            _ => 0,
        };
        idx += 1;
    }
    table
};

fn is_flow_indicator(byte: u8) -> bool {
    matches!(byte, b',' | b'[' | b']' | b'{' | b'}')
}

/// The parser's cursor. Block parsers return with the cursor on the first content character of
/// the next line that holds content (or with `eof` set), whatever they consumed.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    file: FileId,
    base: usize,
    pos: usize,
    line_start: usize,
    /// No content line is left (only blank and comment lines, if any).
    eof: bool,
    /// Collections open around the cursor.
    depth: usize,
}

impl Parser<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    /// The position of a node's span in `text` (spans are the file's, offset by `base`).
    fn local(&self, offset: u32) -> usize {
        offset as usize - self.base
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, idx: usize) -> Option<u8> {
        self.bytes.get(idx).copied()
    }

    fn column(&self) -> usize {
        self.pos - self.line_start
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Whether the byte at `idx` ends a token: a space, a line end, or the end of the text.
    fn blank_or_end_at(&self, idx: usize) -> bool {
        matches!(self.peek_at(idx), None | Some(b' ' | b'\n' | b'\r'))
    }

    /// A dash that starts a block-sequence entry (followed by a space or the line's end).
    fn at_block_entry(&self) -> bool {
        self.peek() == Some(b'-') && self.blank_or_end_at(self.pos + 1)
    }

    /// The end of the line's content: its end, or a comment (which must follow a space).
    fn at_line_end(&self) -> bool {
        match self.peek() {
            None | Some(b'\n' | b'\r') => true,
            Some(b'#') => self.pos > self.line_start && self.bytes[self.pos - 1] == b' ',
            _ => false,
        }
    }

    /// Where saphyr ends a quoted scalar or a flow collection's closing bracket that ends at
    /// `idx`: past the spaces that follow, and past a comment after them.
    fn token_end(&self, mut idx: usize) -> usize {
        let closed = idx;
        while self.peek_at(idx) == Some(b' ') {
            idx += 1;
        }
        if idx > closed && self.peek_at(idx) == Some(b'#') {
            idx += memchr::memchr2(b'\n', b'\r', &self.bytes[idx..]).unwrap_or(self.bytes.len() - idx);
        }
        idx
    }

    fn enter(&mut self) -> Option<()> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        Some(())
    }

    /// Moves to the first content character of the next line, from `start` (a line start):
    /// blank and comment-only lines are skipped. Declines a document marker.
    fn next_line(&mut self, mut start: usize) -> Option<()> {
        loop {
            self.line_start = start;
            self.pos = start;
            self.skip_spaces();
            match self.peek() {
                None => {
                    self.eof = true;
                    return Some(());
                }
                Some(b'\n' | b'\r' | b'#') => match memchr::memchr(b'\n', &self.bytes[self.pos..]) {
                    Some(rel) => start = self.pos + rel + 1,
                    None => {
                        self.pos = self.bytes.len();
                        self.eof = true;
                        return Some(());
                    }
                },
                Some(b'-' | b'.') if self.pos == start => {
                    let marker = &self.bytes[start..];
                    return (!marker.starts_with(b"---") && !marker.starts_with(b"...")).then_some(());
                }
                Some(_) => return Some(()),
            }
        }
    }

    /// Ends the line after a value: only spaces and a comment may follow it.
    fn finish_line(&mut self) -> Option<()> {
        self.skip_spaces();
        if !self.at_line_end() {
            return None;
        }
        match memchr::memchr(b'\n', &self.bytes[self.pos..]) {
            Some(rel) => self.next_line(self.pos + rel + 1),
            None => {
                self.pos = self.bytes.len();
                self.eof = true;
                Some(())
            }
        }
    }

    /// After a key that started at `key_start`: the `:` that makes it one (spaces before it are
    /// allowed, a space or the line's end must follow). Returns where the `:` is, and steps
    /// over it.
    fn key_colon(&mut self, key_start: usize) -> Option<usize> {
        self.skip_spaces();
        let colon = self.pos;
        if self.peek() != Some(b':') || !self.blank_or_end_at(colon + 1) || colon - key_start > MAX_KEY_BYTES {
            return None;
        }
        self.pos += 1;
        Some(colon)
    }

    /// A block mapping at column `col` whose first key has been read; the cursor is after the
    /// key's `:`.
    fn block_map(&mut self, col: usize, first_key: Node, first_colon: usize) -> Option<Node> {
        self.enter()?;
        let start = self.local(first_key.span.start);
        let mut entries = Vec::new();
        let (mut key, mut colon) = (first_key, first_colon);
        loop {
            if matches!(&key.kind, NodeKind::Str(text) if text == "<<") {
                return None;
            }
            let value = self.block_value(col, colon)?;
            entries.push((key, value));
            if self.eof || self.column() < col {
                break;
            }
            if self.column() > col || self.at_block_entry() {
                return None;
            }
            let key_start = self.pos;
            key = self.scalar(false)?;
            colon = self.key_colon(key_start)?;
        }
        self.depth -= 1;
        let end = entries.last().map_or(start, |(_, value)| self.local(value.span.end)).max(start);
        Some(Node { span: self.span(start, end), kind: NodeKind::Map(entries) })
    }

    /// The value of a block-mapping key at column `col`, the cursor after its `:`: a node on the
    /// same line, or a block nested on the next lines, or an empty value (`Null` at the `:`).
    fn block_value(&mut self, col: usize, colon: usize) -> Option<Node> {
        self.skip_spaces();
        if !self.at_line_end() {
            let value = match self.peek()? {
                b'[' => self.flow_seq()?,
                b'{' => self.flow_map()?,
                _ => self.scalar(false)?,
            };
            self.finish_line()?;
            return Some(value);
        }
        self.finish_line()?;
        if !self.eof {
            let inner = self.column();
            if inner > col {
                return self.block_node(inner);
            }
            if inner == col && self.at_block_entry() {
                return self.block_seq(col, true);
            }
        }
        Some(Node { span: self.span(colon, colon), kind: NodeKind::Null })
    }

    /// A block collection starting at the cursor, at column `col`, on a line of its own.
    fn block_node(&mut self, col: usize) -> Option<Node> {
        if self.at_block_entry() {
            return self.block_seq(col, false);
        }
        let key_start = self.pos;
        let key = self.scalar(false)?;
        let colon = self.key_colon(key_start)?;
        self.block_map(col, key, colon)
    }

    /// A block sequence whose dashes are at column `col`, the cursor on the first dash.
    /// `indentless` is the `key:\n- a` form, which ends at a key of its mapping.
    fn block_seq(&mut self, col: usize, indentless: bool) -> Option<Node> {
        self.enter()?;
        let mut start = self.pos;
        let mut items = Vec::new();
        loop {
            self.pos += 1;
            self.skip_spaces();
            if self.at_line_end() {
                return None;
            }
            if indentless && items.is_empty() {
                start = self.pos;
            }
            let item_col = self.column();
            let item = match self.peek()? {
                b'-' if self.at_block_entry() => self.block_seq(item_col, false)?,
                b'[' | b'{' => {
                    let flow = if self.peek() == Some(b'[') { self.flow_seq()? } else { self.flow_map()? };
                    self.finish_line()?;
                    flow
                }
                _ => {
                    let item_start = self.pos;
                    let scalar = self.scalar(false)?;
                    let after = self.pos;
                    self.skip_spaces();
                    if self.peek() == Some(b':') && self.blank_or_end_at(self.pos + 1) {
                        let colon = self.key_colon(item_start)?;
                        self.block_map(item_col, scalar, colon)?
                    } else {
                        self.pos = after;
                        self.finish_line()?;
                        scalar
                    }
                }
            };
            items.push(item);
            if self.eof || self.column() < col {
                break;
            }
            if self.column() > col {
                return None;
            }
            if !self.at_block_entry() {
                if indentless {
                    break;
                }
                return None;
            }
        }
        self.depth -= 1;
        let end = items.last().map_or(start, |item| self.local(item.span.end)).max(start);
        Some(Node { span: self.span(start, end), kind: NodeKind::Seq(items) })
    }

    /// A node inside a flow collection.
    fn flow_node(&mut self) -> Option<Node> {
        match self.peek()? {
            b'[' => self.flow_seq(),
            b'{' => self.flow_map(),
            _ => self.scalar(true),
        }
    }

    /// `[a, b]` on one line, the cursor on `[`.
    fn flow_seq(&mut self) -> Option<Node> {
        self.enter()?;
        let start = self.pos;
        self.pos += 1;
        self.skip_spaces();
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(b']') {
                self.pos = self.token_end(self.pos + 1);
                break;
            }
            items.push(self.flow_node()?);
            if self.flow_separator(b']')? {
                break;
            }
        }
        self.depth -= 1;
        let end = items.last().map_or(self.pos, |item| self.local(item.span.end)).max(start);
        Some(Node { span: self.span(start, end), kind: NodeKind::Seq(items) })
    }

    /// After an entry of a flow collection that `close` ends: steps over a `,` (`Some(false)`)
    /// or the closing bracket (`Some(true)`, the cursor where saphyr ends the token); `None` on
    /// anything else.
    fn flow_separator(&mut self, close: u8) -> Option<bool> {
        self.skip_spaces();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.skip_spaces();
                Some(false)
            }
            byte if byte == close => {
                self.pos = self.token_end(self.pos + 1);
                Some(true)
            }
            _ => None,
        }
    }

    /// `{ k: v, k: v }` on one line, the cursor on `{`. Every key has a value.
    fn flow_map(&mut self) -> Option<Node> {
        self.enter()?;
        let start = self.pos;
        self.pos += 1;
        self.skip_spaces();
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos = self.token_end(self.pos + 1);
                break;
            }
            let key_start = self.pos;
            let key = self.scalar(true)?;
            if matches!(&key.kind, NodeKind::Str(text) if text == "<<") {
                return None;
            }
            self.skip_spaces();
            if self.peek() != Some(b':')
                || self.peek_at(self.pos + 1) != Some(b' ')
                || self.pos - key_start > MAX_KEY_BYTES
            {
                return None;
            }
            self.pos += 1;
            self.skip_spaces();
            if matches!(self.peek()?, b',' | b'}') {
                return None;
            }
            let value = self.flow_node()?;
            entries.push((key, value));
            if self.flow_separator(b'}')? {
                break;
            }
        }
        self.depth -= 1;
        let end = entries.last().map_or(self.pos, |(_, value)| self.local(value.span.end)).max(start);
        Some(Node { span: self.span(start, end), kind: NodeKind::Map(entries) })
    }

    /// A scalar at the cursor, in block or flow context: quoted, or plain on one line.
    fn scalar(&mut self, flow: bool) -> Option<Node> {
        match self.peek()? {
            b'\'' => self.single_quoted(),
            b'"' => self.double_quoted(),
            _ => self.plain(flow),
        }
    }

    fn scalar_node(&self, start: usize, end: usize, value: Cow<'_, str>, style: ScalarStyle) -> Node {
        Node { span: self.span(start, end), kind: resolve_scalar(value, style, None) }
    }

    /// A plain scalar on one line. It cannot start with an indicator (`-` only before a
    /// character that keeps it plain); it ends at `: `, at ` #`, at the line's end, and in flow
    /// context at `,[]{}` and at `:` before one of those.
    fn plain(&mut self, flow: bool) -> Option<Node> {
        let start = self.pos;
        match self.peek()? {
            b' ' | b'\n' | b'\r' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
            | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return None,
            b'-' => match self.peek_at(start + 1) {
                None | Some(b' ' | b'\n' | b'\r' | b'#' | b',' | b'[' | b']' | b'{' | b'}') => return None,
                Some(_) => {}
            },
            _ => {}
        }
        let stops = if flow { STOPS_FLOW } else { STOPS_BLOCK };
        let mut idx = start;
        let end = loop {
            while let Some(&byte) = self.bytes.get(idx) {
                if PLAIN_STOPS[byte as usize] & stops != 0 {
                    let colon_goes_on = byte == b':'
                        && !self.blank_or_end_at(idx + 1)
                        && !(flow && self.peek_at(idx + 1).is_some_and(is_flow_indicator));
                    if !colon_goes_on {
                        break;
                    }
                }
                idx += 1;
            }
            let end = idx;
            while self.peek_at(idx) == Some(b' ') {
                idx += 1;
            }
            if idx == end {
                break end;
            }
            // After spaces: the scalar goes on unless a comment, the line's end, `: ` or (in
            // flow context) a flow indicator follows.
            match self.peek_at(idx) {
                None | Some(b'\n' | b'\r' | b'#') => break end,
                Some(b':') if self.blank_or_end_at(idx + 1) => break end,
                Some(b':') if flow && self.peek_at(idx + 1).is_some_and(is_flow_indicator) => break end,
                Some(byte) if flow && is_flow_indicator(byte) => break end,
                // Saphyr rejects this one in flow context.
                Some(b'-') if flow && self.peek_at(idx + 1).is_some_and(is_flow_indicator) => return None,
                Some(_) => {}
            }
        };
        self.pos = end;
        Some(self.scalar_node(start, end, Cow::Borrowed(&self.text[start..end]), ScalarStyle::Plain))
    }

    /// `'...'` on one line, `''` standing for a quote.
    fn single_quoted(&mut self) -> Option<Node> {
        let start = self.pos;
        let mut idx = start + 1;
        let mut owned: Option<String> = None;
        let mut piece_start = idx;
        loop {
            idx += memchr::memchr2(b'\'', b'\n', &self.bytes[idx..])?;
            if self.bytes[idx] != b'\'' {
                return None;
            }
            if self.peek_at(idx + 1) == Some(b'\'') {
                owned.get_or_insert_default().push_str(&self.text[piece_start..=idx]);
                idx += 2;
                piece_start = idx;
                continue;
            }
            let value = match owned {
                Some(mut value) => {
                    value.push_str(&self.text[piece_start..idx]);
                    Cow::Owned(value)
                }
                None => Cow::Borrowed(&self.text[piece_start..idx]),
            };
            self.pos = self.token_end(idx + 1);
            return Some(self.scalar_node(start, self.pos, value, ScalarStyle::SingleQuoted));
        }
    }

    /// `"..."` on one line, with the escapes that stand for one character (`\x`, `\u`, `\U`
    /// and line continuations are left to saphyr).
    fn double_quoted(&mut self) -> Option<Node> {
        let start = self.pos;
        let mut idx = start + 1;
        let mut owned: Option<String> = None;
        let mut piece_start = idx;
        loop {
            idx += memchr::memchr3(b'"', b'\\', b'\n', &self.bytes[idx..])?;
            match self.bytes[idx] {
                b'\\' => {
                    let unescaped = match self.peek_at(idx + 1)? {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        _ => return None,
                    };
                    let value = owned.get_or_insert_default();
                    value.push_str(&self.text[piece_start..idx]);
                    value.push(unescaped);
                    idx += 2;
                    piece_start = idx;
                }
                b'"' => {
                    let value = match owned {
                        Some(mut value) => {
                            value.push_str(&self.text[piece_start..idx]);
                            Cow::Owned(value)
                        }
                        None => Cow::Borrowed(&self.text[piece_start..idx]),
                    };
                    self.pos = self.token_end(idx + 1);
                    return Some(self.scalar_node(start, self.pos, value, ScalarStyle::DoubleQuoted));
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
