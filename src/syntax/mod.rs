//! The `.ix` front end: pest binding (`grammar/ix.pest`), AST construction and the formatter.
//!
//! [`parse`] never panics: a syntax error becomes one `ix::dsl::syntax` diagnostic (pest stops at
//! the first one) and no tree. This module knows nothing of the IR, salsa or the filesystem;
//! semantic checks live in `ir::lower`.

pub mod ast;
pub mod format;

use pest::Parser as _;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::diag::Diag;
use crate::source::{FileId, Span, Spanned};
use ast::*;

#[derive(Parser)]
#[grammar = "grammar/ix.pest"]
struct IxParser;

/// Parses one `.ix` file. On a syntax error the tree is `None` and the diagnostic says where.
pub fn parse(file: FileId, text: &str) -> (Option<File>, Vec<Diag>) {
    match IxParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let Some(root) = pairs.next() else { return (Some(File::default()), Vec::new()) };
            let builder = Builder { file, text };
            (Some(builder.file(root)), Vec::new())
        }
        Err(err) => (None, vec![syntax_error(file, text, err)]),
    }
}

fn syntax_error(file: FileId, text: &str, err: pest::error::Error<Rule>) -> Diag {
    let (start, end) = match err.location {
        pest::error::InputLocation::Pos(pos) => (pos, pos),
        pest::error::InputLocation::Span((start, end)) => (start, end),
    };
    // Point at the offending character (or the end of input).
    let end = if end > start {
        end
    } else {
        text.get(start..).and_then(|rest| rest.chars().next()).map_or(start, |ch| start + ch.len_utf8())
    };
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|rule| rule_name(*rule)).collect();
            names.sort_unstable();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = text.get(start..end).filter(|s| !s.trim().is_empty());
    let label = match found {
        Some(found) if found != "\n" => format!("unexpected `{}`", found.escape_debug()),
        _ if start >= text.len() => "unexpected end of file".to_string(),
        _ => "unexpected end of line".to_string(),
    };
    let mut diag = Diag::error("ix::dsl::syntax", "syntax error in sweep file").at(Span::new(file, start, end), label);
    if found == Some("\"") {
        diag = diag.help("a string must be closed with `\"` on the same line");
    } else if !expected.is_empty() {
        diag = diag.help(format!("expected {}", expected.join(", ")));
    }
    diag
}

/// Friendly names for the rules pest reports as expected; `None` hides internal rules.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of line",
        Rule::parents => "`:` and template names, or `{`",
        Rule::ident | Rule::name => "a name",
        Rule::int => "a number",
        Rule::size => "a length such as `1k` or `128`",
        Rule::string => "a string",
        Rule::value => "a value",
        Rule::enum_decl => "`enum`",
        Rule::runner_decl => "`runner`",
        Rule::runners_ref => "`runners`",
        Rule::template => "`template`",
        Rule::sweep => "`sweep`",
        Rule::field => "a field",
        Rule::at_block => "an `at` block",
        Rule::seq | Rule::seqs => "an `isl/osl` pair",
        Rule::point | Rule::point_line => "a point (`tp`, `conc`, ...)",
        Rule::tp | Rule::kw_tp => "`tp`",
        Rule::ep | Rule::kw_ep => "`ep`",
        Rule::dpa | Rule::kw_dpa => "`dpa`",
        Rule::spec | Rule::kw_spec => "`spec`",
        Rule::conc | Rule::kw_conc => "`conc`",
        Rule::conc_list => "a concurrency list `[...]`",
        Rule::conc_range | Rule::range_closed | Rule::range_from | Rule::range_to => "a concurrency range `A..=B`",
        Rule::step | Rule::kw_step => "`step`",
        Rule::step_mul | Rule::step_add => "a step `xM` or `+K`",
        Rule::worker | Rule::role => "a worker (`prefill`/`decode`)",
        Rule::kw_x => "`x`",
        Rule::shape | Rule::shape_short | Rule::shape_long => {
            "a worker shape (`dep8`, `tep8`, `tp8`, `{tp 8 ep 4 dpa}`)"
        }
        Rule::env | Rule::kw_env => "`env`",
        Rule::pp | Rule::kw_pp => "`pp`",
        Rule::dcp | Rule::kw_dcp => "`dcp`",
        Rule::pcp | Rule::kw_pcp => "`pcp`",
        Rule::router | Rule::kw_router => "`router`",
        Rule::p2p | Rule::kw_p2p => "`p2p`",
        Rule::kv | Rule::kw_kv => "`kv`",
        Rule::hw | Rule::kw_hw => "`hw`",
        Rule::backend => "a KV offload backend",
        Rule::dram | Rule::kw_dram => "`dram`",
        Rule::decimal => "a decimal such as `0.8`",
        Rule::agentic_block | Rule::kw_agentic | Rule::line_agentic => "an `agentic` block",
        Rule::line_body => "fields separated by `;`",
        Rule::line_field => "a field",
        Rule::line_at => "an `at` block",
        Rule::point_seq => "points separated by `;`",
        Rule::format_decl => "`format`",
        Rule::hardware_decl => "`hardware`",
        Rule::fact => "a host fact (`cpu-dram-mib N`)",
        Rule::component => "a name and a version",
        Rule::boolean => "`true` or `false`",
        Rule::trailing | Rule::comment | Rule::line_comment => "a comment",
        Rule::unknown_item => "a point item",
        Rule::list => "a list",
        _ => return None,
    })
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.file, span.start(), span.end())
    }

    fn spanned<T>(&self, pair: &Pair<'_, Rule>, value: T) -> Spanned<T> {
        Spanned::new(value, self.span(pair))
    }

    /// Whether the text between `prev_end` and `start` holds a blank line.
    fn blank_between(&self, prev_end: Option<usize>, start: usize) -> bool {
        let Some(prev_end) = prev_end else { return false };
        let gap = self.text.get(prev_end..start).unwrap_or("");
        // `prev_end` is just after the statement's newline (or before it for trailing-less ends).
        gap.matches('\n').count() >= if self.text[..prev_end].ends_with('\n') { 1 } else { 2 }
    }

    fn int(&self, pair: &Pair<'_, Rule>) -> Spanned<i64> {
        // Over-long literals saturate; the checker's range checks catch them.
        let value = pair.as_str().parse::<i64>().unwrap_or(i64::MAX);
        self.spanned(pair, value)
    }

    fn size(&self, pair: &Pair<'_, Rule>) -> Spanned<i64> {
        let text = pair.as_str();
        let value = match text.strip_suffix('k') {
            Some(digits) => digits.parse::<i64>().ok().and_then(|n| n.checked_mul(1024)).unwrap_or(i64::MAX),
            None => text.parse::<i64>().unwrap_or(i64::MAX),
        };
        self.spanned(pair, value)
    }

    fn string(&self, pair: &Pair<'_, Rule>) -> String {
        let inner = pair.clone().into_inner().next().map_or("", |p| p.as_str());
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(ch) = chars.next() {
            if ch == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(ch);
            }
        }
        out
    }

    fn name(&self, pair: Pair<'_, Rule>) -> Spanned<String> {
        // `name` wraps an ident or a string.
        let span = self.span(&pair);
        let inner = pair.into_inner().next();
        let text = match inner {
            Some(p) if p.as_rule() == Rule::string => self.string(&p),
            Some(p) => p.as_str().to_string(),
            None => String::new(),
        };
        Spanned::new(text, span)
    }

    fn trailing(&self, pairs: &[Pair<'_, Rule>]) -> Option<String> {
        pairs.iter().find(|p| p.as_rule() == Rule::trailing).map(|p| p.as_str().trim_end().to_string())
    }

    fn file(&self, root: Pair<'_, Rule>) -> File {
        let mut decls = Vec::new();
        let mut prev_end = None;
        for pair in root.into_inner() {
            let start = pair.as_span().start();
            let end = pair.as_span().end();
            let blank_before = self.blank_between(prev_end, start);
            let (node, trailing) = match pair.as_rule() {
                Rule::line_comment => (Decl::Comment(comment_text(&pair)), None),
                Rule::enum_decl | Rule::runner_decl => {
                    let span = self.span(&pair);
                    let is_enum = pair.as_rule() == Rule::enum_decl;
                    let children: Vec<_> = pair.into_inner().collect();
                    let trailing = self.trailing(&children);
                    let mut name = None;
                    let mut values = Vec::new();
                    for child in children {
                        match child.as_rule() {
                            Rule::ident => name = Some(self.spanned(&child, child.as_str().to_string())),
                            Rule::name => name = Some(self.name(child)),
                            Rule::names => values = child.into_inner().map(|p| self.name(p)).collect(),
                            _ => {}
                        }
                    }
                    let name = name.unwrap_or_else(|| Spanned::new(String::new(), span));
                    let decl = if is_enum {
                        Decl::Enum { name, values, span }
                    } else {
                        Decl::Runner { name, nodes: values, span }
                    };
                    (decl, trailing)
                }
                Rule::runners_ref => {
                    let children: Vec<_> = pair.into_inner().collect();
                    let trailing = self.trailing(&children);
                    let path = children
                        .iter()
                        .find(|p| p.as_rule() == Rule::string)
                        .map(|p| self.spanned(p, self.string(p)))
                        .unwrap_or_else(|| Spanned::new(String::new(), Span::new(self.file, start, end)));
                    (Decl::RunnersRef(path), trailing)
                }
                Rule::format_decl => {
                    let children: Vec<_> = pair.into_inner().collect();
                    let trailing = self.trailing(&children);
                    let name = children
                        .iter()
                        .find(|p| p.as_rule() == Rule::ident)
                        .map(|p| self.spanned(p, p.as_str().to_string()))
                        .unwrap_or_else(|| Spanned::new(String::new(), Span::new(self.file, start, end)));
                    (Decl::Format(name), trailing)
                }
                Rule::hardware_decl => {
                    let span = self.span(&pair);
                    let children: Vec<_> = pair.into_inner().collect();
                    let trailing = self.trailing(&children);
                    let mut name = Spanned::new(String::new(), span);
                    let mut facts = Vec::new();
                    for child in children {
                        match child.as_rule() {
                            Rule::name => name = self.name(child),
                            Rule::fact => {
                                let mut parts = child.into_inner();
                                if let (Some(key), Some(value)) = (parts.next(), parts.next()) {
                                    facts.push((self.spanned(&key, key.as_str().to_string()), self.int(&value)));
                                }
                            }
                            _ => {}
                        }
                    }
                    (Decl::Hardware { name, facts, span: trim_span(span, self.text) }, trailing)
                }
                Rule::template | Rule::sweep => {
                    let is_template = pair.as_rule() == Rule::template;
                    let (block, trailing) = self.block(pair);
                    (if is_template { Decl::Template(block) } else { Decl::Sweep(block) }, trailing)
                }
                _ => continue,
            };
            decls.push(Stmt { node, trailing, blank_before });
            prev_end = Some(end);
        }
        File { decls }
    }

    fn block(&self, pair: Pair<'_, Rule>) -> (Block, Option<String>) {
        let span = self.span(&pair);
        let mut name = Spanned::new(String::new(), span);
        let mut parents = Vec::new();
        let mut items = Vec::new();
        let mut trailing = None;
        let mut compact = false;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::ident => name = self.spanned(&child, child.as_str().to_string()),
                // A sweep named by a string: a master-config key that is not an identifier.
                Rule::string => name = self.spanned(&child, self.string(&child)),
                Rule::parents => {
                    parents = child.into_inner().map(|p| self.spanned(&p, p.as_str().to_string())).collect();
                }
                // The first trailing comment belongs to the header line; a later one to `}`.
                Rule::trailing if trailing.is_none() => trailing = Some(child.as_str().trim_end().to_string()),
                Rule::body => items = self.body(child),
                Rule::line_body => {
                    compact = true;
                    items = child.into_inner().filter_map(|item| self.line_item(item)).map(Stmt::new).collect();
                }
                _ => {}
            }
        }
        (Block { name, parents, items, compact, span }, trailing)
    }

    fn body(&self, pair: Pair<'_, Rule>) -> Vec<Stmt<BodyItem>> {
        let mut items = Vec::new();
        let mut prev_end = None;
        for child in pair.into_inner() {
            let start = child.as_span().start();
            let end = child.as_span().end();
            let blank_before = self.blank_between(prev_end, start);
            let (node, trailing) = match child.as_rule() {
                Rule::line_comment => (BodyItem::Comment(comment_text(&child)), None),
                Rule::field => {
                    let children: Vec<_> = child.clone().into_inner().collect();
                    let trailing = self.trailing(&children);
                    let more: Vec<Field> = children
                        .into_iter()
                        .filter(|p| p.as_rule() == Rule::line_field)
                        .map(|p| Field { joined: true, ..self.field(p) })
                        .collect();
                    let first = self.field(child);
                    if more.is_empty() {
                        (BodyItem::Field(first), trailing)
                    } else {
                        let span = first.name.span.to(first.value.as_ref().map_or(first.name.span, |v| v.span));
                        let first = Field { span, ..first };
                        items.push(Stmt { node: BodyItem::Field(first), trailing: None, blank_before });
                        let count = more.len();
                        for (idx, field) in more.into_iter().enumerate() {
                            let trailing = if idx + 1 == count { trailing.clone() } else { None };
                            items.push(Stmt { node: BodyItem::Field(field), trailing, blank_before: false });
                        }
                        prev_end = Some(end);
                        continue;
                    }
                }
                Rule::at_block => {
                    let (at, trailing) = self.at_block(child);
                    (BodyItem::At(at), trailing)
                }
                Rule::agentic_block => {
                    let (block, trailing) = self.agentic_block(child);
                    (BodyItem::Agentic(block), trailing)
                }
                _ => continue,
            };
            items.push(Stmt { node, trailing, blank_before });
            prev_end = Some(end);
        }
        items
    }

    fn field(&self, pair: Pair<'_, Rule>) -> Field {
        let span = self.span(&pair);
        let mut name = Spanned::new(String::new(), span);
        let mut value = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident => name = self.spanned(&part, part.as_str().to_string()),
                Rule::value => value = Some(self.value(part)),
                Rule::line_field => break,
                _ => {}
            }
        }
        Field { name, value, joined: false, span: trim_span(span, self.text) }
    }

    /// One item of a body written on one line.
    fn line_item(&self, pair: Pair<'_, Rule>) -> Option<BodyItem> {
        match pair.as_rule() {
            Rule::line_field => Some(BodyItem::Field(self.field(pair))),
            Rule::line_at => Some(BodyItem::At(self.at_block(pair).0)),
            Rule::line_agentic => Some(BodyItem::Agentic(self.agentic_block(pair).0)),
            _ => None,
        }
    }

    fn point_seq(&self, pair: Pair<'_, Rule>) -> Vec<Stmt<PointLine>> {
        pair.into_inner().map(|p| Stmt::new(PointLine::Point(self.point(p)))).collect()
    }

    fn value(&self, pair: Pair<'_, Rule>) -> Spanned<Value> {
        let span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else { return Spanned::new(Value::List(Vec::new()), span) };
        let value = match inner.as_rule() {
            Rule::string => Value::Str(self.string(&inner)),
            Rule::boolean => Value::Bool(inner.as_str() == "true"),
            Rule::int => Value::Int(self.int(&inner).value),
            Rule::list => Value::List(inner.into_inner().map(|p| self.value(p)).collect()),
            Rule::component => match self.component(inner) {
                Some(component) => Value::Component(component),
                None => Value::List(Vec::new()),
            },
            _ => Value::Ident(inner.as_str().to_string()),
        };
        Spanned::new(value, span)
    }

    fn at_block(&self, pair: Pair<'_, Rule>) -> (AtBlock, Option<String>) {
        let span = self.span(&pair);
        let mut seqs = Vec::new();
        let mut points = Vec::new();
        let mut inline = false;
        let mut compact = false;
        let mut trailing = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::seqs => {
                    for seq in child.into_inner() {
                        let mut sizes = seq.into_inner();
                        if let (Some(isl), Some(osl)) = (sizes.next(), sizes.next()) {
                            seqs.push(SeqPair { isl: self.size(&isl), osl: self.size(&osl) });
                        }
                    }
                }
                Rule::point => {
                    inline = true;
                    points.push(Stmt::new(PointLine::Point(self.point(child))));
                }
                Rule::trailing if trailing.is_none() => trailing = Some(child.as_str().trim_end().to_string()),
                Rule::points => points = self.points(child),
                Rule::point_seq => {
                    compact = true;
                    points = self.point_seq(child);
                }
                _ => {}
            }
        }
        (AtBlock { seqs, points, inline, compact, span: trim_span(span, self.text) }, trailing)
    }

    fn agentic_block(&self, pair: Pair<'_, Rule>) -> (AgenticBlock, Option<String>) {
        let span = self.span(&pair);
        let mut dram = None;
        let mut points = Vec::new();
        let mut inline = false;
        let mut compact = false;
        let mut trailing = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::dram => {
                    if let Some(value) = child.into_inner().nth(1) {
                        let text = match value.as_rule() {
                            Rule::string => self.string(&value),
                            _ => value.as_str().to_string(),
                        };
                        dram = Some(self.spanned(&value, text));
                    }
                }
                Rule::point => {
                    inline = true;
                    points.push(Stmt::new(PointLine::Point(self.point(child))));
                }
                Rule::trailing if trailing.is_none() => trailing = Some(child.as_str().trim_end().to_string()),
                Rule::points => points = self.points(child),
                Rule::point_seq => {
                    compact = true;
                    points = self.point_seq(child);
                }
                _ => {}
            }
        }
        (AgenticBlock { dram, points, inline, compact, span: trim_span(span, self.text) }, trailing)
    }

    /// `NAME "VERSION"` (a `component`, `backend` or `router` pair) or `NAME`.
    fn component(&self, pair: Pair<'_, Rule>) -> Option<ComponentSpec> {
        self.component_parts(&pair.into_inner().collect::<Vec<_>>())
    }

    fn component_parts(&self, parts: &[Pair<'_, Rule>]) -> Option<ComponentSpec> {
        let mut name = None;
        let mut version = None;
        for part in parts {
            match part.as_rule() {
                Rule::name => name = Some(self.name(part.clone())),
                Rule::string => version = Some(self.spanned(part, self.string(part))),
                _ => {}
            }
        }
        Some(ComponentSpec { name: name?, version })
    }

    fn points(&self, pair: Pair<'_, Rule>) -> Vec<Stmt<PointLine>> {
        let mut out = Vec::new();
        let mut prev_end = None;
        for child in pair.into_inner() {
            let start = child.as_span().start();
            let end = child.as_span().end();
            let blank_before = self.blank_between(prev_end, start);
            let (node, trailing) = match child.as_rule() {
                Rule::line_comment => (PointLine::Comment(comment_text(&child)), None),
                Rule::point_line => {
                    let children: Vec<_> = child.into_inner().collect();
                    let trailing = self.trailing(&children);
                    let point = children.into_iter().find(|p| p.as_rule() == Rule::point);
                    let Some(point) = point else { continue };
                    (PointLine::Point(self.point(point)), trailing)
                }
                _ => continue,
            };
            out.push(Stmt { node, trailing, blank_before });
            prev_end = Some(end);
        }
        out
    }

    fn point(&self, pair: Pair<'_, Rule>) -> Point {
        let span = trim_span(self.span(&pair), self.text);
        let mut items = Vec::new();
        for item in pair.into_inner() {
            let item_span = self.span(&item);
            let item_text = item.as_str().to_string();
            let rule = item.as_rule();
            let mut inner: Vec<Pair<'_, Rule>> = item.into_inner().collect();
            let arg = |idx: usize| inner.get(idx);
            let parsed = match rule {
                Rule::tp => arg(1).map(|p| PointItem::Tp(self.int(p))),
                Rule::ep => arg(1).map(|p| PointItem::Ep(self.int(p))),
                Rule::dpa => {
                    let value = arg(1).is_none_or(|p| p.as_str() == "true");
                    Some(PointItem::Dpa(Spanned::new(value, item_span)))
                }
                Rule::spec => arg(1).map(|p| PointItem::Spec(self.spanned(p, p.as_str().to_string()))),
                Rule::conc => inner.pop().map(|p| PointItem::Conc(Spanned::new(self.conc(p), item_span))),
                Rule::worker => self.worker(inner, item_span).map(PointItem::Worker),
                Rule::pp => arg(1).map(|p| PointItem::Pp(self.int(p))),
                Rule::dcp => arg(1).map(|p| PointItem::Dcp(self.int(p))),
                Rule::pcp => arg(1).map(|p| PointItem::Pcp(self.int(p))),
                Rule::p2p => arg(1).map(|p| PointItem::P2p(self.name(p.clone()))),
                Rule::router => self.component_parts(&inner).map(|c| PointItem::Router(Spanned::new(c, item_span))),
                Rule::kv => arg(1).map(|mode| PointItem::Kv {
                    mode: self.name(mode.clone()),
                    backend: inner
                        .iter()
                        .find(|p| p.as_rule() == Rule::backend)
                        .and_then(|p| self.component(p.clone())),
                    span: item_span,
                }),
                Rule::unknown_item => arg(0).map(|p| PointItem::Unknown {
                    name: self.spanned(p, p.as_str().to_string()),
                    text: item_text.clone(),
                    span: item_span,
                }),
                _ => None,
            };
            items.extend(parsed);
        }
        Point { items, span }
    }

    fn conc(&self, pair: Pair<'_, Rule>) -> Conc {
        match pair.as_rule() {
            Rule::conc_list => Conc::List(pair.into_inner().map(|p| self.int(&p)).collect()),
            _ => {
                let Some(form) = pair.into_inner().next() else { return Conc::List(Vec::new()) };
                let rule = form.as_rule();
                let parts: Vec<_> = form.into_inner().collect();
                let ints: Vec<Spanned<i64>> =
                    parts.iter().filter(|p| p.as_rule() == Rule::int).map(|p| self.int(p)).collect();
                let step = parts.iter().find(|p| p.as_rule() == Rule::step).and_then(|step| {
                    let kind =
                        step.clone().into_inner().find(|p| matches!(p.as_rule(), Rule::step_mul | Rule::step_add))?;
                    let amount = kind.clone().into_inner().next().map_or(i64::MAX, |p| self.int(&p).value);
                    let value = if kind.as_rule() == Rule::step_mul { Step::Mul(amount) } else { Step::Add(amount) };
                    Some(self.spanned(&kind, value))
                });
                match (rule, ints.as_slice()) {
                    (Rule::range_closed, [start, end]) => Conc::Range { start: start.clone(), end: end.clone(), step },
                    (Rule::range_from, [start]) => Conc::From(start.clone()),
                    (Rule::range_to, [end]) => Conc::To(end.clone()),
                    _ => Conc::List(Vec::new()),
                }
            }
        }
    }

    fn worker(&self, parts: Vec<Pair<'_, Rule>>, span: Span) -> Option<WorkerSpec> {
        let mut parts = parts.into_iter();
        let role_pair = parts.next()?;
        let role = if role_pair.as_str() == "prefill" { Role::Prefill } else { Role::Decode };
        let role = self.spanned(&role_pair, role);
        let count = self.int(&parts.next()?);
        let _x = parts.next()?;
        let shape_pair = parts.next()?;
        let shape = self.shape(shape_pair)?;
        let mut spec = WorkerSpec { role, count, shape, env: None, pp: None, dcp: None, pcp: None, hw: None, span };
        for part in parts {
            let rule = part.as_rule();
            let span = self.span(&part);
            let arg = part.clone().into_inner().nth(1);
            match (rule, arg) {
                (Rule::env, _) => {
                    let values = part
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::string)
                        .map(|p| self.spanned(&p, self.string(&p)));
                    spec.env = Some(Spanned::new(values.collect(), span));
                }
                (Rule::pp, Some(value)) => spec.pp = Some(self.int(&value)),
                (Rule::dcp, Some(value)) => spec.dcp = Some(self.int(&value)),
                (Rule::pcp, Some(value)) => spec.pcp = Some(self.int(&value)),
                (Rule::hw, Some(value)) => spec.hw = Some(self.name(value)),
                _ => {}
            }
        }
        Some(spec)
    }

    fn shape(&self, pair: Pair<'_, Rule>) -> Option<Spanned<Shape>> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        let shape = match inner.as_rule() {
            Rule::shape_short => {
                let text = inner.as_str();
                let (kind, digits) = if let Some(d) = text.strip_prefix("dep") {
                    (ShortShape::Dep, d)
                } else if let Some(d) = text.strip_prefix("tep") {
                    (ShortShape::Tep, d)
                } else {
                    (ShortShape::Tp, text.strip_prefix("tp").unwrap_or(""))
                };
                let width = digits.parse::<i64>().unwrap_or(i64::MAX);
                match kind {
                    ShortShape::Dep => Shape { tp: width, ep: width, dp_attn: true, short: Some(kind) },
                    ShortShape::Tep => Shape { tp: width, ep: width, dp_attn: false, short: Some(kind) },
                    ShortShape::Tp => Shape { tp: width, ep: 1, dp_attn: false, short: Some(kind) },
                }
            }
            _ => {
                let parts: Vec<_> = inner.into_inner().collect();
                let ints: Vec<i64> =
                    parts.iter().filter(|p| p.as_rule() == Rule::int).map(|p| self.int(p).value).collect();
                let dp_attn = parts
                    .iter()
                    .find(|p| p.as_rule() == Rule::dpa)
                    .map(|p| p.clone().into_inner().nth(1).is_none_or(|b| b.as_str() == "true"))
                    .unwrap_or(false);
                let tp = ints.first().copied().unwrap_or(1);
                let ep = ints.get(1).copied().unwrap_or(1);
                Shape { tp, ep, dp_attn, short: None }
            }
        };
        Some(Spanned::new(shape, span))
    }
}

fn comment_text(pair: &Pair<'_, Rule>) -> String {
    pair.as_str().trim_end().to_string()
}

/// Drops trailing whitespace and newlines from a span, so labels underline only the text.
fn trim_span(span: Span, text: &str) -> Span {
    let slice = text.get(span.start as usize..span.end as usize).unwrap_or("");
    let trimmed = slice.trim_end().len();
    Span { end: span.start + trimmed as u32, ..span }
}
