//! The canonical printer of `.ix` trees (`ix fmt`, `ix lower`).
//!
//! Canonical means: two-space indentation, one field or point per line, point items in a fixed
//! order (`spec`, `tp`, `ep`, `dpa`, workers, `conc`), shapes in their shortest spelling, lengths
//! divisible by 1024 written as `Nk`, at most one blank line in a row, a blank line before every
//! template and sweep. Comments are kept. Printing a parsed file and parsing it again gives the
//! same tree (modulo spans), so formatting is idempotent.

use std::fmt::Write as _;

use super::ast::*;

/// Prints a file canonically.
pub fn format_file(file: &File) -> String {
    let mut out = String::new();
    // (is a block, is a one-line block) of the previous declaration.
    let mut prev = (false, false);
    for (idx, stmt) in file.decls.iter().enumerate() {
        let (is_block, is_line) = match &stmt.node {
            Decl::Template(block) | Decl::Sweep(block) => (true, one_line(block)),
            _ => (false, false),
        };
        // One-line blocks follow each other without blank lines; other blocks stand apart.
        let apart = (is_block || prev.0) && !(is_line && prev.1);
        if idx > 0 && (stmt.blank_before || apart) {
            out.push('\n');
        }
        prev = (is_block, is_line);
        match &stmt.node {
            Decl::Comment(text) => out.push_str(text),
            Decl::Enum { name, values, .. } => {
                let _ = write!(out, "enum {} {{ {} }}", name.value, names(values));
            }
            Decl::Runner { name, nodes, .. } => {
                let _ = write!(out, "runner {} {{ {} }}", name_text(&name.value), names(nodes));
            }
            Decl::RunnersRef(path) => {
                let _ = write!(out, "runners {}", quote(&path.value));
            }
            Decl::Format(name) => {
                let _ = write!(out, "format {}", name.value);
            }
            Decl::Hardware { name, facts, .. } => {
                let facts: Vec<String> =
                    facts.iter().map(|(key, value)| format!("{} {}", key.value, value.value)).collect();
                let _ = write!(out, "hardware {} {{ {} }}", name_text(&name.value), facts.join(", "));
            }
            Decl::Template(block) => {
                let _ = write!(out, "template {}", block.name.value);
                parents(&mut out, block);
                out.push_str(" {");
                block_body(&mut out, block, stmt.trailing.as_deref());
            }
            Decl::Sweep(block) => {
                let _ = write!(out, "sweep {}", name_text(&block.name.value));
                parents(&mut out, block);
                out.push_str(" {");
                block_body(&mut out, block, stmt.trailing.as_deref());
            }
        }
        if !matches!(stmt.node, Decl::Template(_) | Decl::Sweep(_)) {
            trailing(&mut out, stmt.trailing.as_deref());
        }
        out.push('\n');
    }
    out
}

fn parents(out: &mut String, block: &Block) {
    if !block.parents.is_empty() {
        let names: Vec<&str> = block.parents.iter().map(|p| p.value.as_str()).collect();
        let _ = write!(out, " : {}", names.join(", "));
    }
}

/// Whether a block prints on one line: written so, and nothing in it needs a line of its own.
fn one_line(block: &Block) -> bool {
    let points_ok = |points: &[Stmt<PointLine>]| {
        !points.is_empty()
            && points.iter().all(|line| matches!(line.node, PointLine::Point(_)) && line.trailing.is_none())
    };
    block.compact
        && !block.items.is_empty()
        && block.items.iter().all(|item| {
            item.trailing.is_none()
                && match &item.node {
                    BodyItem::Comment(_) => false,
                    BodyItem::Field(_) => true,
                    BodyItem::At(at) => points_ok(&at.points),
                    BodyItem::Agentic(agentic) => points_ok(&agentic.points),
                }
        })
}

fn block_body(out: &mut String, block: &Block, header_comment: Option<&str>) {
    if one_line(block) && header_comment.is_none() {
        out.push(' ');
        for (idx, item) in block.items.iter().enumerate() {
            if idx > 0 {
                out.push_str("; ");
            }
            match &item.node {
                BodyItem::Field(field) => field_text(out, field),
                BodyItem::At(at) => {
                    out.push_str("at ");
                    out.push_str(&seqs_text(at));
                    points_one_line(out, &at.points);
                }
                BodyItem::Agentic(agentic) => {
                    agentic_head(out, agentic);
                    points_one_line(out, &agentic.points);
                }
                BodyItem::Comment(_) => {}
            }
        }
        out.push_str(" }");
        return;
    }
    trailing(out, header_comment);
    for (idx, item) in block.items.iter().enumerate() {
        let joined = idx > 0
            && matches!(&item.node, BodyItem::Field(field) if field.joined)
            && matches!(&block.items[idx - 1], Stmt { node: BodyItem::Field(_), trailing: None, .. });
        if joined {
            out.push_str("; ");
            if let BodyItem::Field(field) = &item.node {
                field_text(out, field);
            }
            trailing(out, item.trailing.as_deref());
            continue;
        }
        out.push('\n');
        if idx > 0 && item.blank_before {
            out.push('\n');
        }
        out.push_str("  ");
        match &item.node {
            BodyItem::Comment(text) => out.push_str(text),
            BodyItem::Field(field) => {
                field_text(out, field);
                trailing(out, item.trailing.as_deref());
            }
            BodyItem::At(at) => at_block(out, at, item.trailing.as_deref()),
            BodyItem::Agentic(block) => agentic_block(out, block, item.trailing.as_deref()),
        }
    }
    out.push_str("\n}");
}

fn field_text(out: &mut String, field: &Field) {
    out.push_str(&field.name.value);
    if let Some(value) = &field.value {
        out.push(' ');
        out.push_str(&value_text(&value.value));
    }
}

fn seqs_text(at: &AtBlock) -> String {
    let seqs: Vec<String> = at.seqs.iter().map(|s| format!("{}/{}", size(s.isl.value), size(s.osl.value))).collect();
    seqs.join(", ")
}

fn at_block(out: &mut String, at: &AtBlock, header_comment: Option<&str>) {
    out.push_str("at ");
    out.push_str(&seqs_text(at));
    point_lines(out, &at.points, at.compact, header_comment);
}

fn agentic_head(out: &mut String, block: &AgenticBlock) {
    out.push_str("agentic");
    if let Some(dram) = &block.dram {
        out.push_str(" dram ");
        out.push_str(&decimal_text(&dram.value));
    }
}

fn agentic_block(out: &mut String, block: &AgenticBlock, header_comment: Option<&str>) {
    agentic_head(out, block);
    point_lines(out, &block.points, block.compact, header_comment);
}

/// `: POINT` for a lone point, else `{ POINT; POINT }` (the points of a one-line block).
fn points_one_line(out: &mut String, points: &[Stmt<PointLine>]) {
    let texts: Vec<String> = points
        .iter()
        .filter_map(|line| match &line.node {
            PointLine::Point(point) => Some(point_text(point)),
            PointLine::Comment(_) => None,
        })
        .collect();
    match texts.as_slice() {
        [one] => {
            out.push_str(": ");
            out.push_str(one);
        }
        _ => {
            let _ = write!(out, " {{ {} }}", texts.join("; "));
        }
    }
}

/// A decimal bare when it lexes as one, else quoted.
pub fn decimal_text(text: &str) -> String {
    let (whole, fraction) = text.split_once('.').map_or((text, None), |(w, f)| (w, Some(f)));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let bare = digits(whole)
        && match fraction {
            None => !whole.is_empty(),
            Some(fraction) => digits(fraction) && (!fraction.is_empty() || !whole.is_empty()),
        };
    if bare && !text.is_empty() { text.to_string() } else { quote(text) }
}

/// `: POINT` for a lone point without comment, `{ POINT; POINT }` for points written on one
/// line, else `{` and one point per line.
fn point_lines(out: &mut String, points: &[Stmt<PointLine>], compact: bool, header_comment: Option<&str>) {
    let only_point = match points {
        [Stmt { node: PointLine::Point(point), trailing: None, .. }] => Some(point),
        _ => None,
    };
    if let Some(point) = only_point {
        out.push_str(": ");
        out.push_str(&point_text(point));
        trailing(out, header_comment);
        return;
    }
    let plain = points.iter().all(|line| matches!(line.node, PointLine::Point(_)) && line.trailing.is_none());
    if compact && plain && !points.is_empty() {
        points_one_line(out, points);
        trailing(out, header_comment);
        return;
    }
    out.push_str(" {");
    trailing(out, header_comment);
    out.push('\n');
    for (idx, line) in points.iter().enumerate() {
        if idx > 0 && line.blank_before {
            out.push('\n');
        }
        out.push_str("    ");
        match &line.node {
            PointLine::Comment(text) => out.push_str(text),
            PointLine::Point(point) => out.push_str(&point_text(point)),
        }
        trailing(out, line.trailing.as_deref());
        out.push('\n');
    }
    out.push_str("  }");
}

fn trailing(out: &mut String, comment: Option<&str>) {
    if let Some(comment) = comment {
        out.push_str("  ");
        out.push_str(comment);
    }
}

/// The canonical text of one point.
pub fn point_text(point: &Point) -> String {
    let mut items: Vec<&PointItem> = point.items.iter().collect();
    // A point with words the grammar does not know keeps its order, so that reprinting cannot
    // turn an unknown word into a known item (it is an error either way).
    let has_unknown = items.iter().any(|item| matches!(item, PointItem::Unknown { .. }));
    if !has_unknown {
        items.sort_by_key(|item| match item {
            PointItem::Spec(_) => 0,
            PointItem::Tp(_) => 1,
            PointItem::Ep(_) => 2,
            PointItem::Dpa(_) => 3,
            PointItem::Pp(_) => 4,
            PointItem::Dcp(_) => 5,
            PointItem::Pcp(_) => 6,
            PointItem::Worker(w) if w.role.value == Role::Prefill => 7,
            PointItem::Worker(_) => 8,
            PointItem::Kv { .. } => 9,
            PointItem::Router(_) => 10,
            PointItem::P2p(_) => 11,
            PointItem::Conc(_) => 12,
            PointItem::Unknown { .. } => 13,
        });
    }
    let parts: Vec<String> = items.into_iter().map(item_text).collect();
    parts.join(" ")
}

fn item_text(item: &PointItem) -> String {
    match item {
        PointItem::Tp(n) => format!("tp {}", n.value),
        PointItem::Ep(n) => format!("ep {}", n.value),
        PointItem::Dpa(b) => {
            if b.value {
                "dpa".to_string()
            } else {
                "dpa false".to_string()
            }
        }
        PointItem::Spec(s) => format!("spec {}", s.value),
        PointItem::Conc(conc) => format!("conc {}", conc_text(&conc.value)),
        PointItem::Worker(w) => {
            let mut text = format!("{} {} x {}", w.role.value.as_str(), w.count.value, shape_text(w.shape.value));
            for (word, value) in [("pp", &w.pp), ("dcp", &w.dcp), ("pcp", &w.pcp)] {
                if let Some(value) = value {
                    let _ = write!(text, " {word} {}", value.value);
                }
            }
            if let Some(hw) = &w.hw {
                let _ = write!(text, " hw {}", name_text(&hw.value));
            }
            if let Some(env) = &w.env {
                let values: Vec<String> = env.value.iter().map(|v| quote(&v.value)).collect();
                let _ = write!(text, " env [{}]", values.join(", "));
            }
            text
        }
        PointItem::Pp(n) => format!("pp {}", n.value),
        PointItem::Dcp(n) => format!("dcp {}", n.value),
        PointItem::Pcp(n) => format!("pcp {}", n.value),
        PointItem::Router(c) => format!("router {}", component_text(&c.value)),
        PointItem::P2p(name) => format!("p2p {}", name_text(&name.value)),
        PointItem::Kv { mode, backend, .. } => match backend {
            Some(backend) => format!("kv {} {}", name_text(&mode.value), component_text(backend)),
            None => format!("kv {}", name_text(&mode.value)),
        },
        PointItem::Unknown { text, .. } => text.trim_end().to_string(),
    }
}

fn conc_text(conc: &Conc) -> String {
    match conc {
        Conc::List(values) => {
            let values: Vec<String> = values.iter().map(|v| v.value.to_string()).collect();
            format!("[{}]", values.join(", "))
        }
        Conc::Range { start, end, step } => {
            let mut text = format!("{}..={}", start.value, end.value);
            match step.as_ref().map(|s| s.value) {
                Some(Step::Mul(m)) => {
                    let _ = write!(text, " step x{m}");
                }
                Some(Step::Add(k)) => {
                    let _ = write!(text, " step +{k}");
                }
                None => {}
            }
            text
        }
        Conc::From(start) => format!("{}..", start.value),
        Conc::To(end) => format!("..={}", end.value),
    }
}

/// The shortest spelling of a shape.
pub fn shape_text(shape: Shape) -> String {
    let canonical = Shape::canonical(shape.tp, shape.ep, shape.dp_attn);
    match canonical.short {
        Some(ShortShape::Dep) => format!("dep{}", shape.tp),
        Some(ShortShape::Tep) => format!("tep{}", shape.tp),
        Some(ShortShape::Tp) => format!("tp{}", shape.tp),
        None => format!("{{tp {} ep {}{}}}", shape.tp, shape.ep, if shape.dp_attn { " dpa" } else { "" }),
    }
}

/// A sequence length: `Nk` when divisible by 1024.
pub fn size(n: i64) -> String {
    if n > 0 && n % 1024 == 0 { format!("{}k", n / 1024) } else { n.to_string() }
}

/// `NAME "VERSION"` or `NAME`.
pub fn component_text(component: &ComponentSpec) -> String {
    match &component.version {
        Some(version) => format!("{} {}", name_text(&component.name.value), quote(&version.value)),
        None => name_text(&component.name.value),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Component(component) => component_text(component),
        Value::Str(s) => quote(s),
        Value::Ident(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(|v| value_text(&v.value)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn names(values: &[crate::source::Spanned<String>]) -> String {
    let names: Vec<String> = values.iter().map(|v| name_text(&v.value)).collect();
    names.join(", ")
}

/// A name as an identifier when it is one, else as a string.
pub fn name_text(name: &str) -> String {
    if is_ident(name) { name.to_string() } else { quote(name) }
}

/// Whether `text` lexes as an identifier (and not as a boolean).
pub fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && text != "true" && text != "false"
}

/// A string literal with `"`, `\`, newlines and tabs escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}
