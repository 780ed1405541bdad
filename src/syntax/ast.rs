//! The `.ix` syntax tree: what the text says, with byte spans, before any checking.
//!
//! The tree keeps what the formatter needs to reprint a file (full-line and trailing comments,
//! blank lines between statements) and nothing the checker derives (no defaults, no enums).
//! [`crate::ir::to_dsl`] builds trees without source text; their spans are all `Span::detached()`.

use crate::source::{FileId, Span, Spanned};

/// A parsed file: its top-level declarations in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub decls: Vec<Stmt<Decl>>,
}

/// A statement with the comments around it, for the formatter.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt<T> {
    pub node: T,
    /// A `# ...` comment at the end of the statement's (first) line.
    pub trailing: Option<String>,
    /// Whether a blank line separates this statement from the previous one.
    pub blank_before: bool,
}

impl<T> Stmt<T> {
    pub fn new(node: T) -> Stmt<T> {
        Stmt { node, trailing: None, blank_before: false }
    }
}

/// A top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    /// A whole-line comment (text includes the `#`).
    Comment(String),
    /// `enum precision { fp4, fp8 }`: extends a built-in enum with more values.
    Enum {
        name: Spanned<String>,
        values: Vec<Spanned<String>>,
        span: Span,
    },
    /// `runner local { local_0 }`: a runner type and its nodes.
    Runner {
        name: Spanned<String>,
        nodes: Vec<Spanned<String>>,
        span: Span,
    },
    /// `runners "runners.yaml"`: runner types from an InferenceX runners file.
    RunnersRef(Spanned<String>),
    /// `format head`: the InferenceX rule set of the file's sweeps (Feb-2026 when absent).
    Format(Spanned<String>),
    /// `hardware NAME { cpu-dram-mib N, gpus-per-node N }`: host facts of a runner label.
    Hardware {
        name: Spanned<String>,
        facts: Vec<(Spanned<String>, Spanned<i64>)>,
        span: Span,
    },
    Template(Block),
    Sweep(Block),
}

/// A `template` or `sweep` body.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub name: Spanned<String>,
    /// `sweep NAME : T1, T2 { ... }` (always empty for templates).
    pub parents: Vec<Spanned<String>>,
    pub items: Vec<Stmt<BodyItem>>,
    /// Written on one line: `sweep s { image "..."; at 1k/1k: tp 8 conc 1..=4 }`.
    pub compact: bool,
    pub span: Span,
}

/// One line (or `at` block) of a body.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyItem {
    Comment(String),
    Field(Field),
    At(AtBlock),
    Agentic(AgenticBlock),
}

/// `agentic dram 0.8 { ... }` or `agentic: POINT`: one `agentic-coding` element.
#[derive(Clone, Debug, PartialEq)]
pub struct AgenticBlock {
    /// The DRAM utilization exactly as written.
    pub dram: Option<Spanned<String>>,
    pub points: Vec<Stmt<PointLine>>,
    /// Written as `agentic: POINT` on one line.
    pub inline: bool,
    /// Points written on one line: `agentic { POINT; POINT }`.
    pub compact: bool,
    pub span: Span,
}

/// `NAME "VERSION"` or `NAME`: a router or KV offload backend.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentSpec {
    pub name: Spanned<String>,
    pub version: Option<Spanned<String>>,
}

/// `name value?`: a header field such as `image "..."` or the flag `multinode`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Spanned<String>,
    pub value: Option<Spanned<Value>>,
    /// Written after the previous field on its line, separated by `;`.
    pub joined: bool,
    pub span: Span,
}

/// A field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Ident(String),
    Int(i64),
    Bool(bool),
    List(Vec<Spanned<Value>>),
    /// `name "version"` (a router).
    Component(ComponentSpec),
}

impl Value {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Ident(_) => "a name",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::List(_) => "a list",
            Value::Component(_) => "a name and a version",
        }
    }
}

/// `at 1k/1k, 8k/1k { ... }` or `at 1k/1k: POINT`.
#[derive(Clone, Debug, PartialEq)]
pub struct AtBlock {
    pub seqs: Vec<SeqPair>,
    pub points: Vec<Stmt<PointLine>>,
    /// Written as `at SEQS: POINT` on one line.
    pub inline: bool,
    /// Points written on one line: `at SEQS { POINT; POINT }`.
    pub compact: bool,
    pub span: Span,
}

/// An `isl/osl` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqPair {
    pub isl: Spanned<i64>,
    pub osl: Spanned<i64>,
}

/// One line inside an `at` block: a point, or a comment.
#[derive(Clone, Debug, PartialEq)]
pub enum PointLine {
    Comment(String),
    Point(Point),
}

/// The items of one search-space point, in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub items: Vec<PointItem>,
    pub span: Span,
}

/// One item of a point.
#[derive(Clone, Debug, PartialEq)]
pub enum PointItem {
    Tp(Spanned<i64>),
    Ep(Spanned<i64>),
    /// `dpa` (true) or `dpa true|false`.
    Dpa(Spanned<bool>),
    Spec(Spanned<String>),
    Conc(Spanned<Conc>),
    Worker(WorkerSpec),
    Pp(Spanned<i64>),
    Dcp(Spanned<i64>),
    Pcp(Spanned<i64>),
    Router(Spanned<ComponentSpec>),
    P2p(Spanned<String>),
    /// `kv none` or `kv dram BACKEND ["VERSION"]`.
    Kv {
        mode: Spanned<String>,
        backend: Option<ComponentSpec>,
        span: Span,
    },
    /// A word the grammar does not know, with its optional argument: the checker reports it.
    /// `text` is the item as written, which the formatter prints verbatim.
    Unknown {
        name: Spanned<String>,
        text: String,
        span: Span,
    },
}

/// A concurrency clause.
#[derive(Clone, Debug, PartialEq)]
pub enum Conc {
    /// `[a, b, c]`
    List(Vec<Spanned<i64>>),
    /// `A..=B` with an optional `step xM` / `step +K`.
    Range { start: Spanned<i64>, end: Spanned<i64>, step: Option<Spanned<Step>> },
    /// `A..` (only a start).
    From(Spanned<i64>),
    /// `..=B` (only an end).
    To(Spanned<i64>),
}

/// The step of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Mul(i64),
    Add(i64),
}

/// `prefill N x SHAPE env [...]` or `decode ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSpec {
    pub role: Spanned<Role>,
    pub count: Spanned<i64>,
    pub shape: Spanned<Shape>,
    pub env: Option<Spanned<Vec<Spanned<String>>>>,
    /// `pp N`, `dcp N`, `pcp N` after the shape.
    pub pp: Option<Spanned<i64>>,
    pub dcp: Option<Spanned<i64>>,
    pub pcp: Option<Spanned<i64>>,
    /// `hw NAME`: the GPU SKU of the pool.
    pub hw: Option<Spanned<String>>,
    pub span: Span,
}

/// Which worker group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Prefill,
    Decode,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Prefill => "prefill",
            Role::Decode => "decode",
        }
    }
}

/// A worker shape: `dep8`, `tep8`, `tp8` or `{tp 8 ep 4 dpa}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub tp: i64,
    pub ep: i64,
    pub dp_attn: bool,
    /// The literal kind written, when short (`dep`, `tep`, `tp`); `None` for the long form.
    pub short: Option<ShortShape>,
}

/// The short shape kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortShape {
    Dep,
    Tep,
    Tp,
}

impl Shape {
    /// The canonical spelling: the short form whenever one means exactly this shape.
    pub fn canonical(tp: i64, ep: i64, dp_attn: bool) -> Shape {
        let short = if dp_attn && tp == ep {
            Some(ShortShape::Dep)
        } else if !dp_attn && ep == 1 {
            Some(ShortShape::Tp)
        } else if !dp_attn && tp == ep {
            Some(ShortShape::Tep)
        } else {
            None
        };
        Shape { tp, ep, dp_attn, short }
    }
}

/// A span for trees built without source text.
pub fn detached() -> Span {
    Span { file: FileId(u32::MAX), start: 0, end: 0 }
}

/// A value with a detached span.
pub fn sp<T>(value: T) -> Spanned<T> {
    Spanned::new(value, detached())
}
