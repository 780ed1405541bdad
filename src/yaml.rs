//! A spanned YAML tree, built from saphyr-parser events.
//!
//! Unlike a YAML loader, this keeps every mapping entry in order, duplicates included, so that
//! validation can report a repeated key with both spans. Spans are byte offsets into the file.
//! Scalars are resolved with the YAML 1.2 core schema. Aliases are expanded to a copy of their
//! anchored node. This module knows nothing of InferenceX or the IR.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, SpannedEventReceiver};

use crate::diag::Diag;
use crate::source::{FileId, Span};

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

/// Parses one YAML document. An empty document is `Null` spanning the whole file.
pub fn parse(file: FileId, text: &str) -> Result<Node, Diag> {
    let offsets = CharOffsets::new(text);
    let mut builder = Builder { file, offsets: &offsets, stack: Vec::new(), anchors: HashMap::new(), root: None };
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, false) {
        return Err(scan_error(file, &offsets, &err));
    }
    Ok(builder.root.unwrap_or(Node { span: Span::new(file, 0, text.len()), kind: NodeKind::Null }))
}

fn scan_error(file: FileId, offsets: &CharOffsets, err: &ScanError) -> Diag {
    let at = offsets.byte(err.marker().index());
    Diag::error("ix::yaml::syntax", format!("invalid YAML: {}", err.info()))
        .at(Span::new(file, at, at), err.info().to_string())
}

/// Maps saphyr's character indices to byte offsets.
struct CharOffsets {
    /// Byte offset of each char, plus one past the end; empty when the text is ASCII.
    table: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        let table = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(idx, _)| idx).chain(std::iter::once(text.len())).collect()
        };
        CharOffsets { table, len: text.len() }
    }

    fn byte(&self, char_idx: usize) -> usize {
        if self.table.is_empty() {
            char_idx.min(self.len)
        } else {
            self.table.get(char_idx).copied().unwrap_or(self.len)
        }
    }
}

enum Frame {
    Seq { start: usize, anchor: usize, items: Vec<Node> },
    Map { start: usize, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

struct Builder<'a> {
    file: FileId,
    offsets: &'a CharOffsets,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

impl Builder<'_> {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: saphyr_parser::Span) {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let kind = resolve_scalar(value, style, tag.as_ref());
                let node = Node { span: Span::new(self.file, start, end), kind };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { start, anchor, items: Vec::new() }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { start, anchor, entries: Vec::new(), key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return };
                let (node, anchor) = match frame {
                    Frame::Seq { start, anchor, items } => {
                        let end = items.last().map_or(end, |item| item.span.end as usize).max(start);
                        (Node { span: Span::new(self.file, start, end), kind: NodeKind::Seq(items) }, anchor)
                    }
                    Frame::Map { start, anchor, entries, .. } => {
                        let end = entries.last().map_or(end, |(_, value)| value.span.end as usize).max(start);
                        (Node { span: Span::new(self.file, start, end), kind: NodeKind::Map(entries) }, anchor)
                    }
                };
                self.push_node(node, anchor);
            }
            Event::Alias(anchor) => {
                let node = match self.anchors.get(&anchor) {
                    Some(node) => node.clone(),
                    None => Node { span: Span::new(self.file, start, end), kind: NodeKind::Null },
                };
                self.push_node(node, 0);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
    }
}

fn resolve_scalar(value: Cow<'_, str>, style: ScalarStyle, tag: Option<&Cow<'_, saphyr_parser::Tag>>) -> NodeKind {
    match Scalar::parse_from_cow_and_metadata(value.clone(), style, tag) {
        Some(Scalar::Null) => NodeKind::Null,
        Some(Scalar::Boolean(b)) => NodeKind::Bool(b),
        Some(Scalar::Integer(i)) => NodeKind::Int(i),
        Some(Scalar::FloatingPoint(f)) => NodeKind::Float(f.into_inner()),
        Some(Scalar::String(s)) => NodeKind::Str(s.into_owned()),
        None => NodeKind::Str(value.into_owned()),
    }
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
