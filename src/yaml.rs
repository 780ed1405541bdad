//! A spanned YAML tree, built from saphyr-parser events.
//!
//! Unlike a YAML loader, this keeps every mapping entry in order, duplicates included, so that
//! validation can report a repeated key with both spans. Spans are byte offsets into the file.
//! Scalars are resolved with the YAML 1.2 core schema. Aliases are expanded to a copy of their
//! anchored node. This module knows nothing of InferenceX or the IR.
//!
//! Hostile input is bounded (issue #17): aliases may copy at most [`MAX_ALIAS_NODES`] nodes in
//! all (a few hundred bytes of nested aliases would otherwise expand to billions of nodes), and
//! collections nest at most [`MAX_DEPTH`] deep (later stages walk the tree recursively).
//!
//! Most configs never reach saphyr: `fast` parses the plain subset of YAML they are written in
//! to the same tree, and declines everything else (errors included) to the saphyr path.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, SpannedEventReceiver};

use crate::diag::Diag;
use crate::source::{FileId, Span};

mod fast;

/// One YAML node with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; duplicates are kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's type for messages ("a string", "a list").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a float",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// How many nodes alias expansion may copy into one document, in all. The InferenceX master
/// configs use no aliases; a config that shares blocks through anchors copies a few thousand.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How deep sequences and mappings may nest (the master configs nest 7 deep).
pub const MAX_DEPTH: usize = 64;

/// Parses one YAML document. An empty document is `Null` spanning the whole file.
pub fn parse(file: FileId, text: &str) -> Result<Node, Diag> {
    parse_part(file, text, 0)
}

/// Parses `text`, the part of `file` that starts at byte `base`, as a document of its own; spans
/// are the file's (shifted by `base`). Lets the loader parse a large file's top-level entries
/// on several cores ([`crate::ir::inferencex::master_parts`] says where a file may be cut).
pub fn parse_part(file: FileId, text: &str, base: usize) -> Result<Node, Diag> {
    match fast::parse(file, text, base) {
        Some(root) => Ok(root),
        None => parse_with_saphyr(file, text, base),
    }
}

/// [`parse_part`] through saphyr's events, for any YAML (and every diagnostic).
#[allow(clippy::result_large_err)] // the diagnostic `parse` returns
fn parse_with_saphyr(file: FileId, text: &str, base: usize) -> Result<Node, Diag> {
    let offsets = CharOffsets { base, ..CharOffsets::new(text) };
    let mut builder = Builder {
        file,
        offsets: &offsets,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        alias_nodes: 0,
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, false) {
        return Err(scan_error(file, &offsets, &err));
    }
    if let Some(diag) = builder.error {
        return Err(diag);
    }
    Ok(builder.root.unwrap_or(Node { span: Span::new(file, base, base + text.len()), kind: NodeKind::Null }))
}

fn scan_error(file: FileId, offsets: &CharOffsets, err: &ScanError) -> Diag {
    let at = offsets.byte(err.marker().index());
    Diag::error("ix::yaml::syntax", format!("invalid YAML: {}", err.info()))
        .at(Span::new(file, at, at), err.info().to_string())
}

/// Maps saphyr's character indices to byte offsets.
struct CharOffsets {
    /// For each multi-byte char: its char index and the extra bytes (beyond one per char) up to
    /// and including it. Empty for ASCII text. Sparse, since configs are ASCII but for a few
    /// comments (a table of every char's offset cost more than parsing today's masters).
    wide: Vec<(usize, usize)>,
    len: usize,
    /// Where the parsed text starts in its file (added to every offset).
    base: usize,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        let mut wide = Vec::new();
        if !text.is_ascii() {
            let mut extra = 0;
            for (char_idx, ch) in text.chars().enumerate() {
                if !ch.is_ascii() {
                    extra += ch.len_utf8() - 1;
                    wide.push((char_idx, extra));
                }
            }
        }
        CharOffsets { wide, len: text.len(), base: 0 }
    }

    fn byte(&self, char_idx: usize) -> usize {
        let before = self.wide.partition_point(|&(idx, _)| idx < char_idx);
        let extra = before.checked_sub(1).map_or(0, |last| self.wide[last].1);
        self.base + char_idx.saturating_add(extra).min(self.len)
    }
}

/// A collection being built, with the number of nodes under it so far (itself included).
enum Frame {
    Seq { start: usize, anchor: usize, items: Vec<Node>, size: usize },
    Map { start: usize, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node>, size: usize },
}

struct Builder<'a> {
    file: FileId,
    offsets: &'a CharOffsets,
    stack: Vec<Frame>,
    /// Each anchored node and its size in nodes (what an alias to it copies).
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    /// Nodes copied by aliases so far.
    alias_nodes: usize,
    /// The first limit hit; every later event is ignored.
    error: Option<Diag>,
}

impl Builder<'_> {
    fn push_node(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, size: parent, .. }) => {
                *parent += size;
                items.push(node)
            }
            Some(Frame::Map { entries, key, size: parent, .. }) => {
                *parent += size;
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: saphyr_parser::Span) {
        if self.error.is_some() {
            return;
        }
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..)) && self.stack.len() >= MAX_DEPTH {
            self.error = Some(
                Diag::error("ix::yaml::too-deep", format!("YAML nests deeper than {MAX_DEPTH} levels"))
                    .at(Span::new(self.file, start, end), format!("level {}", MAX_DEPTH + 1)),
            );
            return;
        }
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let kind = resolve_scalar(value, style, tag.as_ref());
                let node = Node { span: Span::new(self.file, start, end), kind };
                self.push_node(node, anchor, 1);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq { start, anchor, items: Vec::new(), size: 1 })
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { start, anchor, entries: Vec::new(), key: None, size: 1 });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return };
                let (node, anchor, size) = match frame {
                    Frame::Seq { start, anchor, items, size } => {
                        let end = items.last().map_or(end, |item| item.span.end as usize).max(start);
                        (Node { span: Span::new(self.file, start, end), kind: NodeKind::Seq(items) }, anchor, size)
                    }
                    Frame::Map { start, anchor, entries, size, .. } => {
                        let end = entries.last().map_or(end, |(_, value)| value.span.end as usize).max(start);
                        (Node { span: Span::new(self.file, start, end), kind: NodeKind::Map(entries) }, anchor, size)
                    }
                };
                self.push_node(node, anchor, size);
            }
            Event::Alias(anchor) => {
                let (node, size) = match self.anchors.get(&anchor) {
                    Some((node, size)) => {
                        // Checked before copying: the copy is what costs the memory.
                        self.alias_nodes = self.alias_nodes.saturating_add(*size);
                        if self.alias_nodes > MAX_ALIAS_NODES {
                            self.error = Some(
                                Diag::error(
                                    "ix::yaml::alias-expansion",
                                    format!("YAML aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                                )
                                .at(Span::new(self.file, start, end), format!("this alias copies {size} nodes"))
                                .help("write the repeated blocks out, or share less through anchors"),
                            );
                            return;
                        }
                        (node.clone(), *size)
                    }
                    None => (Node { span: Span::new(self.file, start, end), kind: NodeKind::Null }, 1),
                };
                self.push_node(node, 0, size);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
    }
}

fn resolve_scalar(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&Cow<'_, saphyr_parser::Tag>>) -> NodeKind {
    // Only a tag can make resolution fail (the text then stays a string), so only a tagged
    // scalar keeps a copy of its text: copying every scalar was a tenth of building the tree.
    let (scalar, fallback) = match tag {
        Some(_) => (Scalar::parse_from_cow_and_metadata(value.clone(), style, tag), Some(value)),
        None => (Scalar::parse_from_cow_and_metadata(value, style, None), None),
    };
    match scalar {
        Some(Scalar::Null) => NodeKind::Null,
        Some(Scalar::Boolean(b)) => NodeKind::Bool(b),
        Some(Scalar::Integer(i)) => NodeKind::Int(i),
        Some(Scalar::FloatingPoint(f)) => NodeKind::Float(f.into_inner()),
        Some(Scalar::String(s)) => NodeKind::Str(s.into_owned()),
        None => NodeKind::Str(fallback.map(Cow::into_owned).unwrap_or_default()),
    }
}

/// Checks the fast path against saphyr on `text` parsed at byte `base`: when the fast path
/// accepts, its tree must be saphyr's, spans included. `Ok(true)` if it accepted.
#[cfg(test)]
pub(crate) fn check_fast_path(text: &str, base: usize) -> Result<bool, String> {
    let Some(fast) = fast::parse(FileId(0), text, base) else { return Ok(false) };
    let shown: String = text.chars().take(600).collect();
    match parse_with_saphyr(FileId(0), text, base) {
        Ok(saphyr) if saphyr == fast => Ok(true),
        Ok(saphyr) => {
            Err(format!("the fast path differs from saphyr on {shown:?}\n{}", first_difference(&fast, &saphyr)))
        }
        Err(diag) => Err(format!("the fast path accepts {shown:?}, saphyr rejects it: {}", diag.message)),
    }
}

/// The first node (in document order) where two trees differ, both versions shown.
#[cfg(test)]
fn first_difference(fast: &Node, saphyr: &Node) -> String {
    let children = |node: &Node| -> Vec<Node> {
        match &node.kind {
            NodeKind::Seq(items) => items.clone(),
            NodeKind::Map(entries) => entries.iter().flat_map(|(key, value)| [key.clone(), value.clone()]).collect(),
            _ => Vec::new(),
        }
    };
    let (fast_children, saphyr_children) = (children(fast), children(saphyr));
    let same_shape = fast_children.len() == saphyr_children.len()
        && std::mem::discriminant(&fast.kind) == std::mem::discriminant(&saphyr.kind);
    if same_shape && let Some((a, b)) = fast_children.iter().zip(&saphyr_children).find(|(a, b)| a != b) {
        return first_difference(a, b);
    }
    let short = |node: &Node| {
        let text = format!("{node:?}");
        if text.len() > 300 { format!("{}...", &text[..text.floor_char_boundary(300)]) } else { text }
    };
    format!(" fast:   {}\n saphyr: {}", short(fast), short(saphyr))
}

#[cfg(test)]
mod tests {
    use super::{NodeKind, parse};
    use crate::source::FileId;

    #[test]
    fn keeps_duplicate_keys_with_byte_spans() {
        let text = "# é comment\na: 1\nb: [x, 'y']\na: 3\n";
        let root = parse(FileId(0), text).unwrap();
        let NodeKind::Map(entries) = root.kind else { panic!("not a map") };
        assert_eq!(entries.len(), 3);
        let (key, value) = &entries[2];
        assert_eq!(&text[key.span.start as usize..key.span.end as usize], "a");
        assert_eq!(&text[value.span.start as usize..value.span.end as usize], "3");
        assert_eq!(value.kind, NodeKind::Int(3));
    }

    /// Nine levels of ten aliases each: 10^9 nodes if expanded (issue #17).
    fn alias_bomb() -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = format!("*a{}", level - 1);
            text.push_str(&format!("a{level}: &a{level} [{}]\n", vec![prev; 10].join(", ")));
        }
        text
    }

    #[test]
    fn an_alias_bomb_is_an_error_at_the_alias_that_exceeds_the_limit() {
        let text = alias_bomb();
        assert!(text.len() < 600, "{} bytes", text.len());
        let err = parse(FileId(0), &text).unwrap_err();
        assert_eq!(err.code, "ix::yaml::alias-expansion");
        let span = err.primary.as_ref().expect("a label").span;
        assert!(text[span.start as usize..].starts_with("*a"), "{:?}", &text[span.start as usize..]);
    }

    #[test]
    fn aliases_below_the_limit_still_expand() {
        let root = parse(FileId(0), "base: &b {tp: 8, ep: 1}\nuse: *b\n").unwrap();
        let NodeKind::Map(entries) = root.kind else { panic!("not a map") };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse(FileId(0), &text).unwrap_err();
        assert!(err.code == "ix::yaml::too-deep" || err.code == "ix::yaml::syntax", "{}", err.code);
        let ok = format!("{}{}", "[".repeat(super::MAX_DEPTH), "]".repeat(super::MAX_DEPTH));
        assert!(parse(FileId(0), &ok).is_ok());
    }

    #[test]
    fn core_schema_scalars() {
        let root = parse(FileId(0), "[on, yes, 010, 0o10, ~, true, '8', 8.5]").unwrap();
        let NodeKind::Seq(items) = root.kind else { panic!("not a seq") };
        let kinds: Vec<_> = items.into_iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            vec![
                NodeKind::Str("on".into()),
                NodeKind::Str("yes".into()),
                NodeKind::Int(10),
                NodeKind::Int(8),
                NodeKind::Null,
                NodeKind::Bool(true),
                NodeKind::Str("8".into()),
                NodeKind::Float(8.5),
            ]
        );
    }
}

/// Parses several documents, spread over the available cores (largest first); results in the
/// order given. The trees are independent, so this is [`parse`] of each, only sooner.
#[allow(clippy::result_large_err)] // one diagnostic per failed document, as `parse` returns
pub fn parse_many(docs: &[(FileId, &str)]) -> Vec<Result<Node, Diag>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(docs.len());
    if threads <= 1 {
        return docs.iter().map(|&(file, text)| parse(file, text)).collect();
    }
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&idx| std::cmp::Reverse(docs[idx].1.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Node, Diag>>> = (0..docs.len()).map(|_| None).collect();
    let parsed: Vec<Vec<(usize, Result<Node, Diag>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let taken = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&idx) = order.get(taken) else { break };
                        let (file, text) = docs[idx];
                        out.push((idx, parse(file, text)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap_or_default()).collect()
    });
    for (idx, result) in parsed.into_iter().flatten() {
        results[idx] = Some(result);
    }
    // A worker that panicked (it cannot: `parse` does not) leaves its documents to this thread.
    results
        .into_iter()
        .enumerate()
        .map(|(idx, result)| result.unwrap_or_else(|| parse(docs[idx].0, docs[idx].1)))
        .collect()
}

#[cfg(test)]
mod parse_many_tests {
    use super::*;

    #[test]
    fn char_offsets_map_every_char_index_to_its_byte_offset() {
        for text in ["", "plain", "é", "a—b: c # ü\nx: 🙂y", "ééé"] {
            let offsets = CharOffsets::new(text);
            let expected: Vec<usize> = text.char_indices().map(|(idx, _)| idx).chain([text.len()]).collect();
            let got: Vec<usize> = (0..expected.len()).map(|idx| offsets.byte(idx)).collect();
            assert_eq!(got, expected, "{text:?}");
            assert_eq!(offsets.byte(expected.len() + 5), text.len());
        }
    }

    #[test]
    fn parse_many_gives_each_document_its_own_tree_in_order() {
        let texts = ["a: 1\n", "- x\n- y\n", "[unclosed\n", "big:\n  nested: { k: v }\n", ""];
        let docs: Vec<(FileId, &str)> =
            texts.iter().enumerate().map(|(idx, text)| (FileId(idx as u32), *text)).collect();
        let many = parse_many(&docs);
        assert_eq!(many.len(), texts.len());
        for (&(file, text), got) in docs.iter().zip(&many) {
            match (parse(file, text), got) {
                (Ok(one), Ok(got)) => assert_eq!(&one, got),
                (Err(one), Err(got)) => assert_eq!(one.message, got.message),
                (one, got) => panic!("{text:?}: {one:?} vs {got:?}"),
            }
        }
        assert!(many[2].is_err());
    }
}
