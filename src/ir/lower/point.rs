//! Points of `.ix` sweeps: items, worker shapes, recipe names and concurrency.

use std::collections::HashMap;

use crate::diag::{Diag, did_you_mean};
use crate::ir::{
    Component, Concurrency, Format, KvOffloading, MultiPoint, Parallel, SearchPoint, SinglePoint, SpecDecoding, Worker,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{Conc, Point, PointItem, Role, ShortShape, Step, WorkerSpec};

use super::{Cx, POINT_ITEMS};

impl Cx {
    /// The items of a point, each checked on its own (duplicates, unknown words, items of the
    /// other node kind, items that need `format head`); `None` when one of them is wrong.
    pub(super) fn items<'p>(&mut self, point: &'p Point, multinode: bool, agentic: bool) -> Option<Items<'p>> {
        let errors_before = self.error_count();
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut items = Items::default();
        for item in &point.items {
            let (key, span): (&'static str, Span) = match item {
                PointItem::Tp(v) => ("tp", v.span),
                PointItem::Ep(v) => ("ep", v.span),
                PointItem::Dpa(v) => ("dpa", v.span),
                PointItem::Spec(v) => ("spec", v.span),
                PointItem::Conc(c) if matches!(c.value, Conc::List(_)) => ("conc [...]", c.span),
                PointItem::Conc(c) => ("conc range", c.span),
                PointItem::Worker(w) => (w.role.value.as_str(), w.span),
                PointItem::Pp(v) => ("pp", v.span),
                PointItem::Dcp(v) => ("dcp", v.span),
                PointItem::Pcp(v) => ("pcp", v.span),
                PointItem::Router(v) => ("router", v.span),
                PointItem::P2p(v) => ("p2p", v.span),
                PointItem::Kv { span, .. } => ("kv", *span),
                PointItem::Unknown { name, span, .. } => {
                    let mut diag = Diag::error("ix::dsl::unknown-item", format!("unknown point item `{}`", name.value))
                        .at(*span, "not a point item");
                    diag = match did_you_mean(&name.value, POINT_ITEMS.iter().copied()) {
                        Some(s) => diag.help(format!("did you mean `{s}`?")),
                        None => diag.help(format!("point items: {}", POINT_ITEMS.join(", "))),
                    };
                    self.diags.push(diag);
                    continue;
                }
            };
            if let Some(first) = seen.get(key) {
                self.diags.push(
                    Diag::error("ix::dsl::duplicate-item", format!("`{key}` appears twice in one point"))
                        .at(span, "again here")
                        .also(*first, "first here"),
                );
                continue;
            }
            seen.insert(key, span);
            let head_only = matches!(
                item,
                PointItem::Pp(_)
                    | PointItem::Dcp(_)
                    | PointItem::Pcp(_)
                    | PointItem::Router(_)
                    | PointItem::P2p(_)
                    | PointItem::Kv { .. }
            ) || matches!(item, PointItem::Worker(w) if w.pp.is_some() || w.dcp.is_some() || w.pcp.is_some() || w.hw.is_some());
            if head_only && self.format == Format::Feb {
                self.diags.push(self.needs_head(key, span));
                continue;
            }
            let wrong_kind = |what: &str| {
                let (wanted, why) = if multinode {
                    (
                        "multi-node",
                        "multi-node points set `tp`, `ep`, `dpa`, `pp`, `dcp` and `pcp` per worker: `decode 2 x dep8 pp 2`",
                    )
                } else {
                    (
                        "single-node",
                        "workers and `p2p` need a `multinode` sweep; single-node points take `tp`, `ep`, `dpa`",
                    )
                };
                Diag::error("ix::dsl::point-kind-mismatch", format!("`{what}` is not allowed in a {wanted} point"))
                    .at(span, "not allowed here")
                    .help(why)
            };
            match item {
                PointItem::Tp(_) if multinode => self.diags.push(wrong_kind(key)),
                PointItem::Ep(_) | PointItem::Dpa(_) if multinode && !agentic => self.diags.push(wrong_kind(key)),
                PointItem::Pp(_) | PointItem::Dcp(_) | PointItem::Pcp(_) if multinode => {
                    self.diags.push(wrong_kind(key))
                }
                PointItem::Worker(_) | PointItem::P2p(_) if !multinode => self.diags.push(wrong_kind(key)),
                PointItem::Kv { span, .. } if !agentic => self.diags.push(
                    Diag::error("ix::dsl::kv-outside-agentic", "`kv` offloading belongs to agentic points")
                        .at(*span, "in an `at` block")
                        .help("move the point into an `agentic` block"),
                ),
                PointItem::Tp(v) => {
                    self.positive(v, "`tp`");
                    items.tp = Some(v.clone());
                }
                PointItem::Ep(v) => {
                    self.positive(v, "`ep`");
                    items.ep = Some(v.clone());
                }
                PointItem::Dpa(v) => items.dp_attn = Some(v.clone()),
                PointItem::Pp(v) | PointItem::Dcp(v) | PointItem::Pcp(v) => {
                    self.positive(v, &format!("`{key}`"));
                    let slot = match item {
                        PointItem::Pp(_) => &mut items.parallel.pp,
                        PointItem::Dcp(_) => &mut items.parallel.dcp_size,
                        _ => &mut items.parallel.pcp_size,
                    };
                    *slot = Some(v.value);
                }
                PointItem::Spec(v) => match SpecDecoding::parse(&v.value) {
                    Some(s) => items.spec = s,
                    None => {
                        let names = SpecDecoding::ALL.map(SpecDecoding::as_str);
                        let mut diag =
                            Diag::error("ix::dsl::unknown-enum-value", format!("unknown spec decoding `{}`", v.value))
                                .at(v.span, "not a spec decoding mode");
                        diag = match did_you_mean(&v.value, names) {
                            Some(s) => diag.help(format!("did you mean `{s}`?")),
                            None => diag.help("spec decoding is one of `none`, `mtp`, `draft_model`"),
                        };
                        self.diags.push(diag);
                    }
                },
                PointItem::Conc(c) if matches!(c.value, Conc::List(_)) => items.list = Some(c),
                PointItem::Conc(c) => items.range = Some(c),
                PointItem::Worker(w) => {
                    self.worker_shape(w);
                    match w.role.value {
                        Role::Prefill => items.prefill = Some(w),
                        Role::Decode => items.decode = Some(w),
                    }
                }
                PointItem::Router(c) => items.router = self.component(&c.value, "router", true),
                PointItem::P2p(name) => items.p2p = self.nonempty(name, "p2p").map(|_| name.value.clone()),
                PointItem::Kv { mode, backend, span } => items.kv = self.kv(mode, backend.as_ref(), *span),
                PointItem::Unknown { .. } => {}
            }
        }
        items.conc = self.concurrency(point, items.range, items.list);
        if multinode {
            for (role, worker) in [("prefill", items.prefill), ("decode", items.decode)] {
                if worker.is_none() {
                    self.diags.push(
                        Diag::error("ix::dsl::missing-field", format!("multi-node point has no `{role}` workers"))
                            .at(point.span, format!("`{role}` is required"))
                            .help(format!("add e.g. `{role} 1 x dep8`")),
                    );
                }
            }
            if let (Some(prefill), Some(decode)) = (items.prefill, items.decode) {
                self.recipe_check(prefill, decode);
                if prefill.hw.is_some() != decode.hw.is_some() {
                    let (set, unset) = if prefill.hw.is_some() { (prefill, decode) } else { (decode, prefill) };
                    self.diags.push(
                        Diag::error(
                            "ix::dsl::hardware-on-one-worker",
                            format!(
                                "`hw` is set on the {} workers but not on the {} workers",
                                set.role.value.as_str(),
                                unset.role.value.as_str()
                            ),
                        )
                        .at(set.span, "`hw` set here")
                        .also(unset.span, "no `hw` here")
                        .help("set `hw` on both workers or on neither"),
                    );
                }
            }
        } else if items.tp.is_none() {
            self.diags.push(
                Diag::error("ix::dsl::missing-field", "single-node point has no `tp`")
                    .at(point.span, "`tp` is required")
                    .help("add e.g. `tp 8`"),
            );
        }
        if let (Some(tp), Some(dcp)) = (&items.tp, items.parallel.dcp_size) {
            self.dcp_divides(tp.value, dcp, tp.span);
        }
        (self.error_count() == errors_before).then_some(items)
    }

    pub(super) fn point(&mut self, point: &Point, multinode: bool) -> Option<SearchPoint> {
        let items = self.items(point, multinode, false)?;
        let conc = items.conc?;
        if multinode {
            Some(SearchPoint::Multi(MultiPoint {
                spec_decoding: items.spec,
                prefill: worker(items.prefill?),
                decode: worker(items.decode?),
                conc,
                router: items.router,
                kv_p2p_transfer: items.p2p,
                span: point.span,
            }))
        } else {
            Some(SearchPoint::Single(SinglePoint {
                tp: items.tp?,
                ep: items.ep,
                dp_attn: items.dp_attn,
                spec_decoding: items.spec,
                conc,
                parallel: items.parallel,
                router: items.router,
                span: point.span,
            }))
        }
    }

    pub(super) fn positive(&mut self, value: &Spanned<i64>, what: &str) -> bool {
        if value.value >= 1 {
            return true;
        }
        self.diags.push(
            Diag::error("ix::dsl::invalid-parallelism", format!("{what} must be at least 1, found {}", value.value))
                .at(value.span, "must be at least 1"),
        );
        false
    }

    fn worker_shape(&mut self, w: &WorkerSpec) {
        // Zero workers is a real shape: a multi-node aggregated entry has no decode workers
        // (InferenceX's configs write `num-worker: 0`), and `ix lower` must print it back.
        if w.count.value < 0 {
            self.diags.push(
                Diag::error(
                    "ix::dsl::invalid-parallelism",
                    format!("the {} worker count must be at least 0, found {}", w.role.value.as_str(), w.count.value),
                )
                .at(w.count.span, "must be at least 0"),
            );
        }
        let shape = w.shape.value;
        for (what, value) in [("tp", shape.tp), ("ep", shape.ep)] {
            self.positive(&Spanned::new(value, w.shape.span), &format!("the {} `{what}`", w.role.value.as_str()));
        }
        for setting in w.env.iter().flat_map(|env| &env.value) {
            if let Err(refusal) = crate::env_policy::check_setting(&setting.value) {
                let code = "ix::dsl::forbidden-setting";
                self.diags.push(crate::env_policy::refusal_diag(code, "`env`", &setting.value, setting.span, refusal));
            }
        }
        for (what, value) in [("pp", &w.pp), ("dcp", &w.dcp), ("pcp", &w.pcp)] {
            if let Some(value) = value {
                self.positive(value, &format!("the {} `{what}`", w.role.value.as_str()));
            }
        }
        if let Some(dcp) = &w.dcp {
            self.dcp_divides(shape.tp, dcp.value, dcp.span);
        }
        if let Some(hw) = &w.hw {
            self.nonempty(hw, "hw");
        }
        if w.count.value.checked_mul(shape.tp).is_none() {
            self.diags.push(
                Diag::error(
                    "ix::dsl::gpu-overflow",
                    format!("the {} GPU count (workers × tp) overflows a 64-bit integer", w.role.value.as_str()),
                )
                .at(w.count.span.to(w.shape.span), format!("{} × tp {}", w.count.value, shape.tp)),
            );
        }
    }

    /// A recipe file named `..._ctx{P}_gen{D}_{dep|tep|tp}{W}_...` must agree with the shapes.
    fn recipe_check(&mut self, prefill: &WorkerSpec, decode: &WorkerSpec) {
        for w in [prefill, decode] {
            let Some(env) = &w.env else { continue };
            for setting in &env.value {
                let Some(recipe) = setting.value.strip_prefix("CONFIG_FILE=") else { continue };
                let Some(parsed) = parse_recipe_name(recipe) else { continue };
                let decode_shape = decode.shape.value;
                let mut problems = Vec::new();
                if parsed.ctx != prefill.count.value {
                    problems.push((prefill.count.span, format!("{} prefill worker(s) here", prefill.count.value)));
                }
                if parsed.gen_workers != decode.count.value {
                    problems.push((decode.count.span, format!("{} decode worker(s) here", decode.count.value)));
                }
                // The recipe's kind fixes tp and DP attention; ep varies among real recipes.
                let dp_attn = parsed.kind == ShortShape::Dep;
                if decode_shape.tp != parsed.width || decode_shape.dp_attn != dp_attn {
                    problems.push((
                        decode.shape.span,
                        format!("decode shape is {}", crate::syntax::format::shape_text(decode_shape)),
                    ));
                }
                if problems.is_empty() {
                    continue;
                }
                let mut diag = Diag::warning(
                    "ix::dsl::shape-recipe-mismatch",
                    format!("recipe `{}` names a different worker layout than this point", recipe_file(recipe)),
                )
                .at(setting.span, format!("recipe says {}", parsed.describe()));
                for (span, label) in problems {
                    diag = diag.also(span, label);
                }
                self.diags.push(diag.help("fix the shape or the recipe: the job would run the recipe's layout"));
            }
        }
    }

    fn concurrency(
        &mut self,
        point: &Point,
        range: Option<&Spanned<Conc>>,
        list: Option<&Spanned<Conc>>,
    ) -> Option<Concurrency> {
        let mut ok = true;
        let mut conc = Concurrency { start: None, end: None, list: None };
        if let Some(Spanned { value: Conc::List(values), span }) = list {
            for value in values {
                if value.value < 1 {
                    ok = false;
                    self.diags.push(
                        Diag::error(
                            "ix::dsl::invalid-concurrency",
                            format!("concurrency must be at least 1, found {}", value.value),
                        )
                        .at(value.span, "not a valid concurrency"),
                    );
                }
            }
            conc.list = Some(Spanned::new(values.iter().map(|v| v.value).collect(), *span));
        }
        if let Some(range) = range {
            match &range.value {
                Conc::Range { start, end, step } => {
                    if start.value < 1 {
                        ok = false;
                        self.diags.push(
                            Diag::error(
                                "ix::dsl::invalid-range",
                                format!("a range must start at 1 or more, found {}", start.value),
                            )
                            .at(start.span, "start")
                            .help("a geometric range starting at 0 never grows"),
                        );
                    } else if start.value > end.value {
                        ok = false;
                        self.diags.push(
                            Diag::error(
                                "ix::dsl::invalid-range",
                                format!("range start {} is greater than its end {}", start.value, end.value),
                            )
                            .at(start.span, "start")
                            .also(end.span, "end"),
                        );
                    }
                    match step.as_ref().map(|s| (s.value, s.span)) {
                        Some((Step::Mul(m), span)) if m < 2 => {
                            ok = false;
                            self.diags.push(
                                Diag::error(
                                    "ix::dsl::invalid-range",
                                    format!("a geometric step must be at least x2, found x{m}"),
                                )
                                .at(span, "never grows")
                                .help("use `step x2` or larger, or a list `[...]`"),
                            );
                        }
                        Some((Step::Add(k), span)) if k < 1 => {
                            ok = false;
                            self.diags.push(
                                Diag::error(
                                    "ix::dsl::invalid-range",
                                    format!("an additive step must be at least +1, found +{k}"),
                                )
                                .at(span, "never grows"),
                            );
                        }
                        _ => {}
                    }
                    if ok {
                        match step.as_ref().map(|s| s.value) {
                            // The IR's range is geometric at the expander's step (x2 unless
                            // `--step-size` says otherwise); any other step is a fixed list.
                            None | Some(Step::Mul(2)) => {
                                conc.start = Some(start.clone());
                                conc.end = Some(end.clone());
                            }
                            Some(step) => {
                                let Some(values) = step_values(start.value, end.value, step) else {
                                    self.diags.push(
                                        Diag::error(
                                            "ix::dsl::range-too-long",
                                            format!("a stepped range may give at most {MAX_STEPPED_VALUES} values"),
                                        )
                                        .at(range.span, "too many values")
                                        .help("use a larger step"),
                                    );
                                    return None;
                                };
                                if conc.list.as_ref().is_some_and(|l| !l.value.is_empty()) {
                                    ok = false;
                                } else {
                                    conc.list = Some(Spanned::new(values, range.span));
                                }
                            }
                        }
                    }
                }
                Conc::From(start) => conc.start = Some(start.clone()),
                Conc::To(end) => conc.end = Some(end.clone()),
                Conc::List(_) => {}
            }
        }
        if !ok {
            return None;
        }
        let has_range = conc.start.is_some() && conc.end.is_some();
        let has_list = conc.list.as_ref().is_some_and(|l| !l.value.is_empty());
        if has_range && has_list {
            let list_span = list.map_or(point.span, |l| l.span);
            self.diags.push(
                Diag::error("ix::dsl::conc-both-forms", "a point sets both a concurrency range and a list")
                    .at(list_span, "list here")
                    .also(range.map_or(point.span, |r| r.span), "range here")
                    .help("keep one `conc`"),
            );
            return None;
        }
        if !has_range && !has_list {
            let mut diag =
                Diag::error("ix::dsl::missing-conc", "a point needs a concurrency range or a non-empty list");
            diag = match (range, list) {
                (Some(r), _) => diag.at(r.span, "only one end of the range"),
                (None, Some(l)) => diag.at(l.span, "empty list"),
                (None, None) => diag.at(point.span, "no `conc` here"),
            };
            self.diags.push(diag.help("add e.g. `conc 4..=64` or `conc [4, 8]`"));
            return None;
        }
        Some(conc)
    }
}

/// The most values a stepped range may expand to when lowered (`conc 1..=10^12 step +1` would
/// otherwise allocate terabytes while checking; job counts are bounded later by `--max-jobs`).
const MAX_STEPPED_VALUES: usize = 1_000_000;

/// The values of a checked range with a non-default step (start >= 1, start <= end); `None`
/// when there would be more than [`MAX_STEPPED_VALUES`].
fn step_values(start: i64, end: i64, step: Step) -> Option<Vec<i64>> {
    let mut values = Vec::new();
    let mut current = start;
    while current < end {
        if values.len() >= MAX_STEPPED_VALUES {
            return None;
        }
        values.push(current);
        let next = match step {
            Step::Mul(m) => current.checked_mul(m),
            Step::Add(k) => current.checked_add(k),
        };
        match next {
            Some(next) if next > current => current = next,
            _ => break,
        }
    }
    values.push(end);
    Some(values)
}

pub(super) fn worker(spec: &WorkerSpec) -> Worker {
    Worker {
        num_worker: spec.count.value,
        tp: spec.shape.value.tp,
        ep: spec.shape.value.ep,
        dp_attn: spec.shape.value.dp_attn,
        additional_settings: spec.env.as_ref().map(|env| env.value.iter().map(|v| v.value.clone()).collect()),
        parallel: Parallel {
            pp: spec.pp.as_ref().map(|v| v.value),
            dcp_size: spec.dcp.as_ref().map(|v| v.value),
            pcp_size: spec.pcp.as_ref().map(|v| v.value),
        },
        hardware: spec.hw.as_ref().map(|hw| hw.value.clone()),
    }
}

/// What a point says, item by item, once each item checked.
#[derive(Default)]
pub(super) struct Items<'p> {
    pub tp: Option<Spanned<i64>>,
    pub ep: Option<Spanned<i64>>,
    pub dp_attn: Option<Spanned<bool>>,
    pub spec: SpecDecoding,
    pub prefill: Option<&'p WorkerSpec>,
    pub decode: Option<&'p WorkerSpec>,
    pub range: Option<&'p Spanned<Conc>>,
    pub list: Option<&'p Spanned<Conc>>,
    pub conc: Option<Concurrency>,
    pub parallel: Parallel,
    pub router: Option<Component>,
    pub p2p: Option<String>,
    /// `kv` mode and backend.
    pub kv: Option<(KvOffloading, Option<Component>)>,
}

/// The layout a recipe file name states.
struct RecipeName {
    ctx: i64,
    gen_workers: i64,
    kind: ShortShape,
    width: i64,
}

impl RecipeName {
    fn describe(&self) -> String {
        let kind = match self.kind {
            ShortShape::Dep => "dep",
            ShortShape::Tep => "tep",
            ShortShape::Tp => "tp",
        };
        format!("prefill {} x _, decode {} x {kind}{}", self.ctx, self.gen_workers, self.width)
    }
}

fn recipe_file(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Parses `ctx{N}_gen{M}_{dep|tep|tp}{W}` out of a recipe file name.
fn parse_recipe_name(path: &str) -> Option<RecipeName> {
    let file = recipe_file(path);
    let at = file.find("ctx")?;
    let mut parts = file[at + 3..].split('_');
    let ctx = parts.next()?.parse().ok()?;
    let gen_workers = parts.next()?.strip_prefix("gen")?.parse().ok()?;
    let shape = parts.next()?;
    let (kind, digits) = if let Some(d) = shape.strip_prefix("dep") {
        (ShortShape::Dep, d)
    } else if let Some(d) = shape.strip_prefix("tep") {
        (ShortShape::Tep, d)
    } else {
        (ShortShape::Tp, shape.strip_prefix("tp")?)
    };
    let width = digits.parse().ok()?;
    Some(RecipeName { ctx, gen_workers, kind, width })
}
