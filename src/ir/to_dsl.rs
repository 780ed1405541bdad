//! The IR printed back as a `.ix` tree (`ix lower`): shared header fields factored into templates,
//! consecutive sequence-length blocks with the same points folded into one `at` block.
//!
//! The tree is exact: lowering it with `ir::lower` gives the same IR (spans aside), including
//! the distinctions the reference cares about (absent vs explicit `ep`/`dpa`, absent vs empty
//! `additional-settings`, lone range ends). Formatting is `syntax::format`'s job.

use std::collections::HashMap;

use crate::ir::lower::{FRAMEWORKS, PRECISIONS};
use crate::ir::{
    AgenticConfig, AgenticPoint, AgenticShape, Component, Concurrency, ConfigEntry, Format, Parallel, SearchPoint,
    SpecDecoding, Sweep, Worker,
};
use crate::syntax::ast::*;
use crate::syntax::format::{format_file, is_ident, point_text};

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
    &["image", "model", "prefix", "precision", "framework", "runner", "multinode", "disagg", "router", "p2p"];

/// Builds the `.ix` tree of a sweep.
pub fn to_dsl(sweep: &Sweep, options: &ToDsl) -> File {
    let mut decls = Vec::new();
    if let Some(header) = &options.header {
        decls.push(Stmt::new(Decl::Comment(format!("# {header}"))));
    }
    if sweep.format() == Format::Head {
        decls.push(Stmt::new(Decl::Format(sp("head".to_string()))));
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
        decls.push(Stmt::new(Decl::Template(fit(Block {
            name: sp(name.clone()),
            parents: Vec::new(),
            items,
            compact: true,
            span: detached(),
        }))));
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
        items.extend(entry.agentic.iter().map(|config| Stmt::new(BodyItem::Agentic(agentic_block(config)))));
        decls.push(Stmt::new(Decl::Sweep(fit(Block {
            name: sp(entry.key.value.clone()),
            parents,
            items,
            compact: true,
            span: detached(),
        }))));
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
        "router" => component_text(entry.router.as_ref()?),
        "p2p" => entry.kv_p2p_transfer.clone()?,
        _ => return None,
    })
}

fn component_text(component: &Component) -> String {
    format!("{}\0{}", component.name, component.version.as_deref().unwrap_or(""))
}

fn component(component: &Component) -> ComponentSpec {
    ComponentSpec { name: sp(component.name.clone()), version: component.version.clone().map(sp) }
}

fn header_field(entry: &ConfigEntry, field: &str) -> Option<BodyItem> {
    let text = field_value(entry, field)?;
    let value = match field {
        "image" | "model" => Some(Value::Str(text)),
        "multinode" | "disagg" => None,
        "router" => Some(Value::Component(component(entry.router.as_ref()?))),
        _ if is_ident(&text) => Some(Value::Ident(text)),
        _ => Some(Value::Str(text)),
    };
    Some(BodyItem::Field(Field { name: sp(field.to_string()), value: value.map(sp), joined: false, span: detached() }))
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
                out.push((
                    AtBlock { seqs: vec![pair], points, inline: false, compact: false, span: detached() },
                    texts,
                ));
            }
        }
    }
    out.into_iter()
        .map(|(mut at, texts)| {
            let seqs = at.seqs.iter().map(|s| format!("{}/{}, ", s.isl.value, s.osl.value)).collect::<String>();
            at.compact = seqs.len() + texts.iter().map(|t| t.len() + 2).sum::<usize>() + 8 <= LINE_WIDTH;
            at
        })
        .collect()
}

/// The longest line `ix lower` writes a block or an `at` block on, before it spreads it over
/// several lines.
const LINE_WIDTH: usize = 240;

/// The block on one line when it fits in [`LINE_WIDTH`], else over several.
fn fit(mut block: Block) -> Block {
    let text = format_file(&File { decls: vec![Stmt::new(Decl::Sweep(block.clone()))] });
    block.compact = text.lines().count() == 1 && text.len() <= LINE_WIDTH;
    if !block.compact {
        // Header fields share lines, up to the width.
        let mut width = 0;
        for item in &mut block.items {
            let BodyItem::Field(field) = &mut item.node else {
                width = 0;
                continue;
            };
            let len = field.name.value.len() + field.value.as_ref().map_or(0, |v| value_len(&v.value) + 1);
            field.joined = width > 0 && width + len + 4 <= LINE_WIDTH;
            width = if field.joined { width + len + 2 } else { len + 2 };
        }
    }
    block
}

fn value_len(value: &Value) -> usize {
    match value {
        Value::Str(text) => text.len() + 2,
        Value::Ident(text) => text.len(),
        Value::Component(c) => c.name.value.len() + c.version.as_ref().map_or(0, |v| v.value.len() + 3),
        _ => 8,
    }
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
            parallel(&mut items, p.parallel);
            items.extend(p.router.as_ref().map(|r| PointItem::Router(sp(component(r)))));
        }
        SearchPoint::Multi(p) => {
            items.push(PointItem::Worker(worker(Role::Prefill, &p.prefill)));
            items.push(PointItem::Worker(worker(Role::Decode, &p.decode)));
            items.extend(p.router.as_ref().map(|r| PointItem::Router(sp(component(r)))));
            items.extend(p.kv_p2p_transfer.as_ref().map(|name| PointItem::P2p(sp(name.clone()))));
        }
    }
    items.extend(conc(point.concurrency()).into_iter().map(|c| PointItem::Conc(sp(c))));
    Point { items, span: detached() }
}

fn parallel(items: &mut Vec<PointItem>, parallel: Parallel) {
    items.extend(parallel.pp.map(|v| PointItem::Pp(sp(v))));
    items.extend(parallel.dcp_size.map(|v| PointItem::Dcp(sp(v))));
    items.extend(parallel.pcp_size.map(|v| PointItem::Pcp(sp(v))));
}

fn agentic_block(config: &AgenticConfig) -> AgenticBlock {
    AgenticBlock {
        dram: config.dram_utilization.as_ref().map(|text| sp(text.value.clone())),
        points: config.search_space.iter().map(|p| Stmt::new(PointLine::Point(agentic_point(p)))).collect(),
        inline: false,
        compact: config.search_space.iter().map(|p| point_text(&agentic_point(p)).len() + 2).sum::<usize>() + 24
            <= LINE_WIDTH,
        span: detached(),
    }
}

/// One agentic point as syntax (pp, dcp and pcp of a single server only when not 1).
pub fn agentic_point(point: &AgenticPoint) -> Point {
    let mut items = Vec::new();
    if point.spec_decoding != SpecDecoding::None {
        items.push(PointItem::Spec(sp(point.spec_decoding.as_str().to_string())));
    }
    match &point.shape {
        AgenticShape::Single { tp, pp, dcp_size, pcp_size } => {
            items.push(PointItem::Tp(sp(*tp)));
            let not_one = |v: i64| (v != 1).then_some(v);
            parallel(
                &mut items,
                Parallel { pp: not_one(*pp), dcp_size: not_one(*dcp_size), pcp_size: not_one(*pcp_size) },
            );
        }
        AgenticShape::Multi { prefill, decode } => {
            items.push(PointItem::Worker(worker(Role::Prefill, prefill)));
            items.push(PointItem::Worker(worker(Role::Decode, decode)));
        }
    }
    items.extend(point.ep.map(|ep| PointItem::Ep(sp(ep))));
    items.extend(point.dp_attn.map(|dpa| PointItem::Dpa(sp(dpa))));
    if let Some(mode) = point.kv_offloading {
        items.push(PointItem::Kv {
            mode: sp(mode.as_str().to_string()),
            backend: point.kv_offload_backend.as_ref().map(component),
            span: detached(),
        });
    }
    items.extend(point.router.as_ref().map(|r| PointItem::Router(sp(component(r)))));
    items.extend(point.kv_p2p_transfer.as_ref().map(|name| PointItem::P2p(sp(name.clone()))));
    items.extend(conc(&point.conc).into_iter().map(|c| PointItem::Conc(sp(c))));
    Point { items, span: detached() }
}

fn worker(role: Role, worker: &Worker) -> WorkerSpec {
    WorkerSpec {
        role: sp(role),
        count: sp(worker.num_worker),
        shape: sp(Shape::canonical(worker.tp, worker.ep, worker.dp_attn)),
        env: worker.additional_settings.as_ref().map(|settings| sp(settings.iter().cloned().map(sp).collect())),
        pp: worker.parallel.pp.map(sp),
        dcp: worker.parallel.dcp_size.map(sp),
        pcp: worker.parallel.pcp_size.map(sp),
        hw: worker.hardware.clone().map(sp),
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
