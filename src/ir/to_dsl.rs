//! The IR printed back as a `.ix` tree (`ix lower`): shared header fields factored into templates,
//! consecutive sequence-length blocks with the same points folded into one `at` block.
//!
//! The tree is exact: lowering it with `ir::lower` gives the same IR (spans aside), including
//! the distinctions the reference cares about (absent vs explicit `ep`/`dpa`, absent vs empty
//! `additional-settings`, lone range ends). Formatting is `syntax::format`'s job.

use std::collections::HashMap;

use crate::ir::lower::{FRAMEWORKS, PRECISIONS};
use crate::ir::{Concurrency, ConfigEntry, SearchPoint, SpecDecoding, Sweep, Worker};
use crate::syntax::ast::*;
use crate::syntax::format::{is_ident, point_text};

/// Options of [`to_dsl`].
#[derive(Clone, Debug, Default)]
pub struct ToDsl {
    /// A header comment (without `#`), e.g. where the file came from.
    pub header: Option<String>,
    /// Emit `runners "PATH"`.
    pub runners_path: Option<String>,
}

/// Header fields a template can carry, in print order.
const TEMPLATE_FIELDS: &[&str] =
    &["image", "model", "prefix", "precision", "framework", "runner", "multinode", "disagg"];

/// Builds the `.ix` tree of a sweep.
pub fn to_dsl(sweep: &Sweep, options: &ToDsl) -> File {
    let mut decls = Vec::new();
    if let Some(header) = &options.header {
        decls.push(Stmt::new(Decl::Comment(format!("# {header}"))));
    }
    if let Some(path) = &options.runners_path {
        decls.push(Stmt::new(Decl::RunnersRef(sp(path.clone()))));
    }
    for (enum_name, builtin, values) in [
        ("precision", PRECISIONS, sweep.entries.iter().map(|e| e.precision.value.as_str()).collect::<Vec<_>>()),
        ("framework", FRAMEWORKS, sweep.entries.iter().map(|e| e.framework.value.as_str()).collect()),
    ] {
        let mut extra: Vec<String> = Vec::new();
        for value in values {
            if !builtin.contains(&value) && !extra.iter().any(|v| v == value) {
                extra.push(value.to_string());
            }
        }
        if !extra.is_empty() {
            decls.push(Stmt::new(Decl::Enum {
                name: sp(enum_name.to_string()),
                values: extra.into_iter().map(sp).collect(),
                span: detached(),
            }));
        }
    }
    // Group entries by model, prefix, precision and node kind; a group of two or more gets a
    // template holding every header field its members share.
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for (idx, entry) in sweep.entries.iter().enumerate() {
        let key = vec![
            entry.model.value.clone(),
            entry.model_prefix.value.clone(),
            entry.precision.value.clone(),
            entry.multinode.to_string(),
            entry.disagg.to_string(),
        ];
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(idx),
            None => groups.push((key, vec![idx])),
        }
    }
    let mut template_of: HashMap<usize, (String, Vec<&'static str>, bool)> = HashMap::new();
    let ats: Vec<Vec<AtBlock>> = sweep.entries.iter().map(at_blocks).collect();
    let at_texts: Vec<String> = ats.iter().map(|blocks| blocks_text(blocks)).collect();
    let mut used_names: Vec<String> = sweep.entries.iter().map(|e| e.key.value.clone()).collect();
    for (_, members) in groups.iter().filter(|(_, members)| members.len() >= 2) {
        let first = &sweep.entries[members[0]];
        let shared: Vec<&'static str> = TEMPLATE_FIELDS
            .iter()
            .copied()
            .filter(|field| {
                members.iter().all(|&idx| field_value(&sweep.entries[idx], field) == field_value(first, field))
            })
            .filter(|field| field_value(first, field).is_some())
            .collect();
        let mut name = format!(
            "{}-{}{}",
            first.model_prefix.value,
            first.precision.value,
            if first.multinode { "-multinode" } else { "" }
        );
        if !is_ident(&name) {
            name = format!("t-{}", used_names.len());
        }
        let base = name.clone();
        let mut n = 2;
        while used_names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        used_names.push(name.clone());
        let mut items: Vec<Stmt<BodyItem>> =
            shared.iter().filter_map(|field| header_field(first, field)).map(Stmt::new).collect();
        // The most common `at` blocks of the group move into the template when two or more
        // members share them; the others keep their own (a body's `at` blocks replace the
        // template's). Not possible when a member has no blocks: it would inherit them.
        let mut shared_ats: Option<&str> = None;
        if members.iter().all(|&idx| !ats[idx].is_empty()) {
            let mut best: Option<(&str, usize)> = None;
            for &idx in members {
                let text = at_texts[idx].as_str();
                let count = members.iter().filter(|&&other| at_texts[other] == text).count();
                if count >= 2 && best.is_none_or(|(_, best_count)| count > best_count) {
                    best = Some((text, count));
                }
            }
            if let Some((text, _)) = best {
                shared_ats = Some(text);
                let idx = members.iter().copied().find(|&idx| at_texts[idx] == text).unwrap_or(members[0]);
                items.extend(ats[idx].iter().cloned().map(|at| Stmt::new(BodyItem::At(at))));
            }
        }
        decls.push(Stmt::new(Decl::Template(Block {
            name: sp(name.clone()),
            parents: Vec::new(),
            items,
            span: detached(),
        })));
        for &idx in members {
            let inherits_ats = shared_ats.is_some_and(|text| at_texts[idx] == text);
            template_of.insert(idx, (name.clone(), shared.clone(), inherits_ats));
        }
    }
    for (idx, entry) in sweep.entries.iter().enumerate() {
        let (parents, covered, inherits_ats) = match template_of.get(&idx) {
            Some((name, shared, inherits_ats)) => (vec![sp(name.clone())], shared.clone(), *inherits_ats),
            None => (Vec::new(), Vec::new(), false),
        };
        let mut items: Vec<Stmt<BodyItem>> = TEMPLATE_FIELDS
            .iter()
            .filter(|field| !covered.contains(field))
            .filter_map(|field| header_field(entry, field))
            .map(Stmt::new)
            .collect();
        if !inherits_ats {
            items.extend(ats[idx].iter().cloned().map(|at| Stmt::new(BodyItem::At(at))));
        }
        decls.push(Stmt::new(Decl::Sweep(Block {
            name: sp(entry.key.value.clone()),
            parents,
            items,
            span: detached(),
        })));
    }
    File { decls }
}

/// The printed value of a header field, `None` when it is not written (false flags).
fn field_value(entry: &ConfigEntry, field: &str) -> Option<String> {
    Some(match field {
        "image" => entry.image.value.clone(),
        "model" => entry.model.value.clone(),
        "prefix" => entry.model_prefix.value.clone(),
        "precision" => entry.precision.value.clone(),
        "framework" => entry.framework.value.clone(),
        "runner" => entry.runner.value.clone(),
        "multinode" if entry.multinode => String::new(),
        "disagg" if entry.disagg => String::new(),
        _ => return None,
    })
}

fn header_field(entry: &ConfigEntry, field: &str) -> Option<BodyItem> {
    let text = field_value(entry, field)?;
    let value = match field {
        "image" | "model" => Some(Value::Str(text)),
        "multinode" | "disagg" => None,
        _ if is_ident(&text) => Some(Value::Ident(text)),
        _ => Some(Value::Str(text)),
    };
    Some(BodyItem::Field(Field { name: sp(field.to_string()), value: value.map(sp), span: detached() }))
}

/// A comparable rendering of `at` blocks.
fn blocks_text(blocks: &[AtBlock]) -> String {
    let mut out = String::new();
    for at in blocks {
        for seq in &at.seqs {
            out.push_str(&format!("{}/{},", seq.isl.value, seq.osl.value));
        }
        out.push('{');
        for line in &at.points {
            if let PointLine::Point(point) = &line.node {
                out.push_str(&point_text(point));
                out.push(';');
            }
        }
        out.push('}');
    }
    out
}

/// The entry's blocks, consecutive blocks with identical points folded together.
fn at_blocks(entry: &ConfigEntry) -> Vec<AtBlock> {
    let mut out: Vec<(AtBlock, Vec<String>)> = Vec::new();
    for seq in &entry.seq_len_configs {
        let points: Vec<Point> = seq.search_space.iter().map(point).collect();
        let texts: Vec<String> = points.iter().map(point_text).collect();
        let pair = SeqPair { isl: sp(seq.isl.value), osl: sp(seq.osl.value) };
        match out.last_mut() {
            Some((at, last_texts)) if *last_texts == texts => at.seqs.push(pair),
            _ => {
                let points = points.into_iter().map(|p| Stmt::new(PointLine::Point(p))).collect();
                out.push((AtBlock { seqs: vec![pair], points, inline: false, span: detached() }, texts));
            }
        }
    }
    out.into_iter().map(|(at, _)| at).collect()
}

/// One IR point as syntax.
pub fn point(point: &SearchPoint) -> Point {
    let mut items = Vec::new();
    let spec = match point {
        SearchPoint::Single(p) => p.spec_decoding,
        SearchPoint::Multi(p) => p.spec_decoding,
    };
    if spec != SpecDecoding::None {
        items.push(PointItem::Spec(sp(spec.as_str().to_string())));
    }
    match point {
        SearchPoint::Single(p) => {
            items.push(PointItem::Tp(sp(p.tp.value)));
            if let Some(ep) = &p.ep {
                items.push(PointItem::Ep(sp(ep.value)));
            }
            if let Some(dpa) = &p.dp_attn {
                items.push(PointItem::Dpa(sp(dpa.value)));
            }
        }
        SearchPoint::Multi(p) => {
            items.push(PointItem::Worker(worker(Role::Prefill, &p.prefill)));
            items.push(PointItem::Worker(worker(Role::Decode, &p.decode)));
        }
    }
    items.extend(conc(point.concurrency()).into_iter().map(|c| PointItem::Conc(sp(c))));
    Point { items, span: detached() }
}

fn worker(role: Role, worker: &Worker) -> WorkerSpec {
    WorkerSpec {
        role: sp(role),
        count: sp(worker.num_worker),
        shape: sp(Shape::canonical(worker.tp, worker.ep, worker.dp_attn)),
        env: worker.additional_settings.as_ref().map(|settings| sp(settings.iter().cloned().map(sp).collect())),
        span: detached(),
    }
}

fn conc(conc: &Concurrency) -> Vec<Conc> {
    let mut out = Vec::new();
    match (&conc.start, &conc.end) {
        (Some(start), Some(end)) => out.push(Conc::Range { start: sp(start.value), end: sp(end.value), step: None }),
        (Some(start), None) => out.push(Conc::From(sp(start.value))),
        (None, Some(end)) => out.push(Conc::To(sp(end.value))),
        (None, None) => {}
    }
    if let Some(list) = &conc.list {
        out.push(Conc::List(list.value.iter().map(|v| sp(*v)).collect()));
    }
    out
}
