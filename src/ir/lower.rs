//! `.ix` syntax trees lowered into the IR, with every semantic check of the DSL.
//!
//! The checker resolves templates, closes records (unknown fields and point items get "did you
//! mean"), checks enums (precision, framework, spec decoding), ranges, runner types, worker shapes
//! against recipe names, and duplicate names. It collects every diagnostic of a file (codes
//! `ix::dsl::*`) and never panics. Reading referenced runners files is the caller's job
//! (`workspace`): this module gets their runner types as a table.

use std::collections::HashMap;

use crate::diag::{Diag, did_you_mean};
use crate::ir::{
    Concurrency, ConfigEntry, MultiPoint, RunnerTable, RunnerType, SearchPoint, SeqLenConfig, SinglePoint,
    SpecDecoding, Sweep, Worker,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{
    AtBlock, Block, BodyItem, Conc, Decl, Field, File, Point, PointItem, PointLine, Role, ShortShape, Step, Value,
    WorkerSpec,
};

/// Built-in precision values; `enum precision { ... }` adds more.
pub const PRECISIONS: &[&str] = &["fp4", "fp8", "bf16", "fp16"];
/// Built-in framework values; `enum framework { ... }` adds more.
pub const FRAMEWORKS: &[&str] = &["vllm", "sglang", "trt", "atom", "dynamo-trt", "dynamo-sglang", "sglang-disagg"];
/// Header fields of sweeps and templates.
pub const FIELDS: &[&str] = &["image", "model", "prefix", "precision", "framework", "runner", "multinode", "disagg"];
mod conc;

const POINT_ITEMS: &[&str] = &["tp", "ep", "dpa", "spec", "conc", "prefill", "decode"];

/// What one `.ix` file declares besides its sweeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DslFile {
    pub sweep: Sweep,
    /// Runner types declared inline with `runner NAME { ... }`.
    pub runners: RunnerTable,
}

/// The `runners "..."` references of a file, for the caller to load.
pub fn runner_refs(file: &File) -> Vec<Spanned<String>> {
    file.decls
        .iter()
        .filter_map(|stmt| match &stmt.node {
            Decl::RunnersRef(path) => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// Lowers a parsed file. `referenced` holds the runner types of the files named by `runners`.
pub fn lower(file: &File, referenced: &RunnerTable) -> (DslFile, Vec<Diag>) {
    let mut cx = Cx { diags: Vec::new(), precisions: names(PRECISIONS), frameworks: names(FRAMEWORKS) };
    let mut out = DslFile::default();
    let mut templates: HashMap<&str, &Block> = HashMap::new();
    let mut sweep_names: HashMap<&str, Span> = HashMap::new();
    let mut has_runner_info = false;
    // Declarations first: enums, runners and templates may follow the sweeps that use them.
    for stmt in &file.decls {
        match &stmt.node {
            Decl::Enum { name, values, .. } => cx.enum_decl(name, values),
            Decl::Runner { name, nodes, .. } => {
                has_runner_info = true;
                if let Some(first) = out.runners.get(&name.value).or_else(|| referenced.get(&name.value)) {
                    cx.diags.push(
                        Diag::error(
                            "ix::dsl::duplicate-runner-type",
                            format!("runner type `{}` is defined twice", name.value),
                        )
                        .at(name.span, "defined again here")
                        .also(first.name.span, "first defined here"),
                    );
                    continue;
                }
                if nodes.is_empty() {
                    cx.diags.push(
                        Diag::error("ix::dsl::empty-runner", format!("runner type `{}` has no nodes", name.value))
                            .at(name.span, "no nodes")
                            .help("list at least one node: `runner NAME { node_0 }`"),
                    );
                }
                for node in nodes {
                    cx.diags.extend(crate::naming::file_name_diag("ix::dsl::invalid-file-name", "a node name", node));
                }
                out.runners.types.push(RunnerType { name: name.clone(), nodes: nodes.clone() });
            }
            Decl::RunnersRef(_) => has_runner_info = true,
            Decl::Template(block) => {
                if let Some(first) = templates.get(block.name.value.as_str()) {
                    cx.diags.push(
                        Diag::error(
                            "ix::dsl::duplicate-template",
                            format!("template `{}` is defined twice", block.name.value),
                        )
                        .at(block.name.span, "defined again here")
                        .also(first.name.span, "first defined here"),
                    );
                    continue;
                }
                templates.insert(&block.name.value, block);
            }
            Decl::Sweep(_) | Decl::Comment(_) => {}
        }
    }
    let known_runners: Option<Vec<&str>> =
        has_runner_info.then(|| out.runners.names().chain(referenced.names()).collect());
    for stmt in &file.decls {
        match &stmt.node {
            Decl::Template(block) => {
                // Templates are checked on their own too, so a typo in an unused one is still found.
                if !block.parents.is_empty() {
                    cx.diags.push(
                        Diag::error("ix::dsl::template-parent", "templates cannot extend other templates")
                            .at(block.parents[0].span, "not allowed on a template"),
                    );
                }
                cx.check_fields(block);
            }
            Decl::Sweep(block) => {
                if let Some(first) = sweep_names.get(block.name.value.as_str()) {
                    cx.diags.push(
                        Diag::error(
                            "ix::dsl::duplicate-sweep",
                            format!("sweep `{}` is defined twice", block.name.value),
                        )
                        .at(block.name.span, "defined again here")
                        .also(*first, "first defined here")
                        .help("sweep names are config keys and must be unique"),
                    );
                    continue;
                }
                sweep_names.insert(&block.name.value, block.name.span);
                if let Some(entry) = cx.sweep(block, &templates, known_runners.as_deref()) {
                    out.sweep.entries.push(entry);
                }
            }
            _ => {}
        }
    }
    (out, cx.diags)
}

fn names(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

struct Cx {
    diags: Vec<Diag>,
    precisions: Vec<String>,
    frameworks: Vec<String>,
}

impl Cx {
    fn enum_decl(&mut self, name: &Spanned<String>, values: &[Spanned<String>]) {
        let target = match name.value.as_str() {
            "precision" => &mut self.precisions,
            "framework" => &mut self.frameworks,
            other => {
                let mut diag = Diag::error("ix::dsl::unknown-enum", format!("there is no enum `{other}` to extend"))
                    .at(name.span, "unknown enum");
                diag = match did_you_mean(other, ["precision", "framework"]) {
                    Some(s) => {
                        diag.help(format!("did you mean `{s}`? (`spec` values are fixed: none, mtp, draft_model)"))
                    }
                    None => diag.help("declarable enums: `precision`, `framework`"),
                };
                self.diags.push(diag);
                return;
            }
        };
        for value in values {
            if !target.contains(&value.value) {
                target.push(value.value.clone());
            }
        }
    }

    /// Closed-record and type checks of a block's own fields; returns them by name.
    fn check_fields<'b>(&mut self, block: &'b Block) -> HashMap<&'b str, &'b Field> {
        self.check_fields_and_present(block).0
    }

    /// Like `check_fields`, plus the names of known fields written at all (valid or not), so a
    /// field with a bad value is not also reported missing.
    fn check_fields_and_present<'b>(&mut self, block: &'b Block) -> (HashMap<&'b str, &'b Field>, Vec<&'b str>) {
        let mut present = Vec::new();
        let mut seen: HashMap<&str, &Field> = HashMap::new();
        for item in &block.items {
            let BodyItem::Field(field) = &item.node else { continue };
            let name = field.name.value.as_str();
            if !FIELDS.contains(&name) {
                let mut diag = Diag::error("ix::dsl::unknown-field", format!("unknown field `{name}`"))
                    .at(field.name.span, "unknown field");
                diag = if POINT_ITEMS.contains(&name) {
                    diag.help(format!(
                        "`{name}` belongs to a point: write it inside an `at` block, e.g. `at 1k/1k: tp 8 conc 4..=64`"
                    ))
                } else {
                    match did_you_mean(name, FIELDS.iter().copied()) {
                        Some(s) => diag.help(format!("did you mean `{s}`?")),
                        None => diag.help(format!("valid fields: {}", FIELDS.join(", "))),
                    }
                };
                self.diags.push(diag);
                continue;
            }
            if let Some(first) = seen.get(name) {
                self.diags.push(
                    Diag::error("ix::dsl::duplicate-field", format!("field `{name}` is set twice"))
                        .at(field.name.span, "set again here")
                        .also(first.name.span, "first set here"),
                );
                continue;
            }
            present.push(name);
            if self.field_value_ok(field) {
                seen.insert(name, field);
            }
        }
        (seen, present)
    }

    fn field_value_ok(&mut self, field: &Field) -> bool {
        let name = field.name.value.as_str();
        let value = field.value.as_ref();
        let expected = match (name, value.map(|v| &v.value)) {
            ("image" | "model", Some(Value::Str(_))) => return true,
            ("image" | "model", _) => "a string",
            ("multinode" | "disagg", None | Some(Value::Bool(_))) => return true,
            ("multinode" | "disagg", _) => "nothing (a flag) or `true`/`false`",
            (_, Some(Value::Str(_) | Value::Ident(_))) => {
                return self.enum_ok(field);
            }
            _ => "a name",
        };
        let (span, found) = match value {
            Some(v) => (v.span, v.value.kind_name()),
            None => (field.span, "nothing"),
        };
        self.diags.push(
            Diag::error("ix::dsl::invalid-value", format!("`{name}` must be {expected}, found {found}"))
                .at(span, format!("expected {expected}")),
        );
        false
    }

    fn enum_ok(&mut self, field: &Field) -> bool {
        let (values, what) = match field.name.value.as_str() {
            "precision" => (&self.precisions, "precision"),
            "framework" => (&self.frameworks, "framework"),
            _ => return true,
        };
        let Some(value) = field.value.as_ref() else { return true };
        let text = match &value.value {
            Value::Str(s) | Value::Ident(s) => s.as_str(),
            _ => return true,
        };
        if values.iter().any(|v| v == text) {
            return true;
        }
        let mut diag = Diag::error("ix::dsl::unknown-enum-value", format!("unknown {what} `{text}`"))
            .at(value.span, format!("not a declared {what}"));
        diag = match did_you_mean(text, values.iter().map(String::as_str)) {
            Some(s) => diag.help(format!("did you mean `{s}`? (or declare it: `enum {what} {{ {text} }}`)")),
            None => {
                diag.help(format!("known values: {}; declare more with `enum {what} {{ {text} }}`", values.join(", ")))
            }
        };
        self.diags.push(diag);
        false
    }

    fn sweep(
        &mut self,
        block: &Block,
        templates: &HashMap<&str, &Block>,
        known_runners: Option<&[&str]>,
    ) -> Option<ConfigEntry> {
        let errors_before = self.diags.len();
        let (own, mut present) = self.check_fields_and_present(block);
        let mut parents: Vec<&Block> = Vec::new();
        for parent in &block.parents {
            match templates.get(parent.value.as_str()) {
                Some(template) => parents.push(template),
                None => {
                    let mut diag =
                        Diag::error("ix::dsl::unknown-template", format!("unknown template `{}`", parent.value))
                            .at(parent.span, "no such template");
                    if let Some(s) = did_you_mean(&parent.value, templates.keys().copied()) {
                        diag = diag.help(format!("did you mean `{s}`?"));
                    }
                    self.diags.push(diag);
                }
            }
        }
        // Resolve fields: the body wins; otherwise exactly one template may set a field (or all
        // that set it agree).
        let mut resolved: HashMap<&str, &Field> = HashMap::new();
        for name in FIELDS {
            if let Some(field) = own.get(name) {
                resolved.insert(name, field);
                continue;
            }
            let mut from: Option<&Field> = None;
            for parent in &parents {
                let Some(field) = template_field(parent, name) else { continue };
                match from {
                    None => from = Some(field),
                    Some(first) if first.value.as_ref().map(|v| &v.value) != field.value.as_ref().map(|v| &v.value) => {
                        self.diags.push(
                            Diag::error(
                                "ix::dsl::template-conflict",
                                format!("templates of sweep `{}` disagree on `{name}`", block.name.value),
                            )
                            .at(field.span, "set here")
                            .also(first.span, "and differently here")
                            .also(block.name.span, "in this sweep")
                            .help(format!("set `{name}` in the sweep itself to choose")),
                        );
                    }
                    Some(_) => {}
                }
            }
            if let Some(field) = from {
                resolved.insert(name, field);
            }
            if parents.iter().any(|parent| block_has_field(parent, name)) {
                present.push(name);
            }
        }
        let text = |name: &str| -> Option<Spanned<String>> {
            let field = *resolved.get(name)?;
            let value = field.value.as_ref()?;
            match &value.value {
                Value::Str(s) | Value::Ident(s) => Some(Spanned::new(s.clone(), value.span)),
                _ => None,
            }
        };
        let flag = |name: &str| -> bool {
            resolved.get(name).is_some_and(|field| match field.value.as_ref().map(|v| &v.value) {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => false,
            })
        };
        let mut required = |name: &str| -> Option<Spanned<String>> {
            let value = text(name);
            if value.is_none() && !present.contains(&name) {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::missing-field",
                        format!("sweep `{}` does not set `{name}`", block.name.value),
                    )
                    .at(block.name.span, format!("`{name}` is required"))
                    .help(format!("set `{name}` in the sweep or in one of its templates")),
                );
            }
            value
        };
        let image = required("image");
        let model = required("model");
        let model_prefix = required("prefix");
        let precision = required("precision");
        let framework = required("framework");
        let runner = required("runner");
        let multinode = flag("multinode");
        let disagg = flag("disagg");
        if let Some(image) = &image
            && let Some(problem) = crate::ir::image_problem(&image.value)
        {
            self.diags.push(
                Diag::error("ix::dsl::invalid-image", format!("sweep `{}`: {problem}", block.name.value))
                    .at(image.span, "this image")
                    .help("write the image reference as `registry/name:tag`"),
            );
        }
        if let (Some(runner), Some(known)) = (&runner, known_runners)
            && !known.contains(&runner.value.as_str())
        {
            let mut diag =
                Diag::error("ix::dsl::unknown-runner-type", format!("unknown runner type `{}`", runner.value))
                    .at(runner.span, "not declared");
            diag = match did_you_mean(&runner.value, known.iter().copied()) {
                Some(s) => diag.help(format!("did you mean `{s}`?")),
                None => diag.help("declare it with `runner NAME { nodes }` or in the referenced runners file"),
            };
            self.diags.push(diag);
        }
        // The `at` blocks: the body's, else those of the one template that has them.
        let own_ats: Vec<&AtBlock> = at_blocks(block);
        let ats: Vec<&AtBlock> = if own_ats.is_empty() {
            let with_ats: Vec<&&Block> = parents.iter().filter(|p| !at_blocks(p).is_empty()).collect();
            if with_ats.len() > 1 {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::template-conflict",
                        format!("templates of sweep `{}` both define `at` blocks", block.name.value),
                    )
                    .at(with_ats[1].name.span, "defines `at` blocks")
                    .also(with_ats[0].name.span, "also defines `at` blocks")
                    .also(block.name.span, "in this sweep")
                    .help("write the `at` blocks in the sweep itself to choose"),
                );
            }
            with_ats.first().map(|p| at_blocks(p)).unwrap_or_default()
        } else {
            own_ats
        };
        if ats.is_empty() {
            self.diags.push(
                Diag::warning("ix::dsl::no-points", format!("sweep `{}` has no `at` blocks", block.name.value))
                    .at(block.name.span, "produces no jobs")
                    .help("add e.g. `at 1k/1k: tp 8 conc 4..=64`, or a template with `at` blocks"),
            );
        }
        let mut seq_len_configs = Vec::new();
        for at in ats {
            if !at.points.iter().any(|line| matches!(line.node, PointLine::Point(_))) {
                self.diags.push(
                    Diag::warning("ix::dsl::no-points", "`at` block has no points")
                        .at(at.span, "produces no jobs")
                        .help("add a point such as `tp 8 conc 4..=64`"),
                );
            }
            let points: Vec<SearchPoint> = at
                .points
                .iter()
                .filter_map(|line| match &line.node {
                    PointLine::Point(point) => self.point(point, multinode),
                    PointLine::Comment(_) => None,
                })
                .collect();
            for seq in &at.seqs {
                for (what, value) in [("isl", &seq.isl), ("osl", &seq.osl)] {
                    if value.value < 1 {
                        self.diags.push(
                            Diag::error("ix::dsl::invalid-length", format!("`{what}` must be at least 1"))
                                .at(value.span, format!("{} tokens", value.value)),
                        );
                    }
                }
                if crate::ir::max_model_len(seq.isl.value, seq.osl.value).is_none() {
                    self.diags.push(
                        Diag::error(
                            "ix::dsl::length-overflow",
                            "`isl + osl + 200` (the max-model-len) overflows a 64-bit integer",
                        )
                        .at(seq.isl.span.to(seq.osl.span), "these lengths"),
                    );
                }
                seq_len_configs.push(SeqLenConfig {
                    isl: seq.isl.clone(),
                    osl: seq.osl.clone(),
                    search_space: points.clone(),
                    span: at.span,
                });
            }
        }
        for (what, value) in [("`prefix`", &model_prefix), ("`precision`", &precision), ("`framework`", &framework)] {
            let diag =
                value.as_ref().and_then(|v| crate::naming::file_name_diag("ix::dsl::invalid-file-name", what, v));
            self.diags.extend(diag);
        }
        if self.diags[errors_before..].iter().any(Diag::is_error) {
            return None;
        }
        Some(ConfigEntry {
            key: block.name.clone(),
            image: image?,
            model: model?,
            model_prefix: model_prefix?,
            precision: precision?,
            framework: framework?,
            runner: runner?,
            multinode,
            disagg,
            seq_len_configs,
            format: crate::ir::Format::Feb,
            router: None,
            kv_p2p_transfer: None,
            agentic: Vec::new(),
            span: block.span,
        })
    }

    fn point(&mut self, point: &Point, multinode: bool) -> Option<SearchPoint> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut tp = None;
        let mut ep = None;
        let mut dp_attn = None;
        let mut spec = SpecDecoding::None;
        let mut prefill: Option<&WorkerSpec> = None;
        let mut decode: Option<&WorkerSpec> = None;
        let mut range: Option<&Spanned<Conc>> = None;
        let mut list: Option<&Spanned<Conc>> = None;
        for item in &point.items {
            let (key, span): (&'static str, Span) = match item {
                PointItem::Tp(v) => ("tp", v.span),
                PointItem::Ep(v) => ("ep", v.span),
                PointItem::Dpa(v) => ("dpa", v.span),
                PointItem::Spec(v) => ("spec", v.span),
                PointItem::Conc(c) if matches!(c.value, Conc::List(_)) => ("conc [...]", c.span),
                PointItem::Conc(c) => ("conc range", c.span),
                PointItem::Worker(w) => (w.role.value.as_str(), w.span),
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
            let wrong_kind = |what: &str| {
                let (wanted, why) = if multinode {
                    ("multi-node", "multi-node points set `tp`, `ep` and `dpa` per worker: `decode 2 x dep8`")
                } else {
                    ("single-node", "workers need a `multinode` sweep; single-node points take `tp`, `ep`, `dpa`")
                };
                Diag::error("ix::dsl::point-kind-mismatch", format!("`{what}` is not allowed in a {wanted} point"))
                    .at(span, "not allowed here")
                    .help(why)
            };
            match item {
                PointItem::Tp(_) | PointItem::Ep(_) | PointItem::Dpa(_) if multinode => {
                    self.diags.push(wrong_kind(key))
                }
                PointItem::Worker(_) if !multinode => self.diags.push(wrong_kind(key)),
                PointItem::Tp(v) => {
                    self.positive(v, "`tp`");
                    tp = Some(v.clone());
                }
                PointItem::Ep(v) => {
                    self.positive(v, "`ep`");
                    ep = Some(v.clone());
                }
                PointItem::Dpa(v) => dp_attn = Some(v.clone()),
                PointItem::Spec(v) => match SpecDecoding::parse(&v.value) {
                    Some(s) => spec = s,
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
                PointItem::Conc(c) if matches!(c.value, Conc::List(_)) => list = Some(c),
                PointItem::Conc(c) => range = Some(c),
                PointItem::Worker(w) => {
                    self.worker_shape(w);
                    match w.role.value {
                        Role::Prefill => prefill = Some(w),
                        Role::Decode => decode = Some(w),
                    }
                }
                PointItem::Unknown { .. } => {}
            }
        }
        let conc = self.concurrency(point, range, list);
        if multinode {
            for (role, worker) in [("prefill", prefill), ("decode", decode)] {
                if worker.is_none() {
                    self.diags.push(
                        Diag::error("ix::dsl::missing-field", format!("multi-node point has no `{role}` workers"))
                            .at(point.span, format!("`{role}` is required"))
                            .help(format!("add e.g. `{role} 1 x dep8`")),
                    );
                }
            }
            if let (Some(prefill), Some(decode)) = (prefill, decode) {
                self.recipe_check(prefill, decode);
            }
        } else if tp.is_none() {
            self.diags.push(
                Diag::error("ix::dsl::missing-field", "single-node point has no `tp`")
                    .at(point.span, "`tp` is required")
                    .help("add e.g. `tp 8`"),
            );
        }
        if self.diags.iter().filter(|d| d.is_error()).count() > errors_before {
            return None;
        }
        let conc = conc?;
        if multinode {
            Some(SearchPoint::Multi(MultiPoint {
                spec_decoding: spec,
                prefill: worker(prefill?),
                decode: worker(decode?),
                conc,
                router: None,
                kv_p2p_transfer: None,
                span: point.span,
            }))
        } else {
            Some(SearchPoint::Single(SinglePoint {
                tp: tp?,
                ep,
                dp_attn,
                spec_decoding: spec,
                conc,
                parallel: Default::default(),
                router: None,
                span: point.span,
            }))
        }
    }

    fn positive(&mut self, value: &Spanned<i64>, what: &str) -> bool {
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
}

fn worker(spec: &WorkerSpec) -> Worker {
    Worker {
        num_worker: spec.count.value,
        tp: spec.shape.value.tp,
        ep: spec.shape.value.ep,
        dp_attn: spec.shape.value.dp_attn,
        additional_settings: spec.env.as_ref().map(|env| env.value.iter().map(|v| v.value.clone()).collect()),
        parallel: Default::default(),
        hardware: None,
    }
}

fn template_field<'b>(block: &'b Block, name: &str) -> Option<&'b Field> {
    block.items.iter().find_map(|item| match &item.node {
        BodyItem::Field(field) if field.name.value == name => Some(field),
        _ => None,
    })
}

fn block_has_field(block: &Block, name: &str) -> bool {
    template_field(block, name).is_some()
}

fn at_blocks(block: &Block) -> Vec<&AtBlock> {
    block
        .items
        .iter()
        .filter_map(|item| match &item.node {
            BodyItem::At(at) => Some(at),
            _ => None,
        })
        .collect()
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
