//! InferenceX master-config YAML (and runners.yaml) lowered into the IR, with validation.
//!
//! Covers every condition of REFERENCE-SEMANTICS §1.8 and is stricter where the reference fails
//! its users: duplicate keys are errors, values must have their exact type (no `"8"` for 8),
//! `conc-start` must be positive. All problems of a file are collected; nothing here panics.
//! Reading files is the caller's job: this module sees only texts in a [`SourceMap`].

use std::collections::HashMap;

use crate::diag::{Diag, did_you_mean};
use crate::ir::{
    Concurrency, ConfigEntry, Format, MultiPoint, SearchPoint, SeqLenConfig, SinglePoint, SpecDecoding, Sweep, Worker,
};
use crate::source::{FileId, SourceMap, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

mod blocks;
mod check;
mod head;
pub use head::text_format;

pub use check::{EntryCheck, check_master_entry};

pub use blocks::{
    EntryBlock, MasterPart, join_master_parts, lower_master_entry, lower_master_part, master_parts,
    split_master_entries,
};

const ENTRY_FIELDS: &[&str] =
    &["image", "model", "model-prefix", "precision", "framework", "runner", "multinode", "disagg", "seq-len-configs"];
const SEQ_LEN_FIELDS: &[&str] = &["isl", "osl", "search-space"];
const SINGLE_FIELDS: &[&str] = &["tp", "ep", "dp-attn", "spec-decoding", "conc-start", "conc-end", "conc-list"];
const MULTI_FIELDS: &[&str] = &["spec-decoding", "prefill", "decode", "conc-start", "conc-end", "conc-list"];
const WORKER_FIELDS: &[&str] = &["num-worker", "tp", "ep", "dp-attn", "additional-settings"];

/// One master-config file: a spanned YAML tree and the diagnostics found while reading it.
pub struct MasterFile {
    pub file: FileId,
    pub entries: Vec<ConfigEntry>,
}

/// Lowers several master-config files (already in `sources`) into one [`Sweep`].
///
/// Keys are merged in order; a key defined by an earlier file is an error, as is any invalid
/// entry. The sweep holds every entry that validated.
pub fn lower_master_configs(sources: &SourceMap, files: &[FileId]) -> (Sweep, Vec<Diag>) {
    let mut diags = Vec::new();
    let per_file: Vec<_> = files.iter().map(|&file| (file, lower_master_file(sources, file, &mut diags))).collect();
    let (sweep, merge_diags) = crate::ir::merge_files(sources, per_file);
    diags.extend(merge_diags);
    (sweep, diags)
}

/// Lowers one master-config file, appending its diagnostics.
pub fn lower_master_file(sources: &SourceMap, file: FileId, diags: &mut Vec<Diag>) -> Vec<ConfigEntry> {
    match yaml::parse(file, &sources.get(file).text) {
        Ok(root) => lower_master_root(sources, file, &root, diags),
        Err(diag) => {
            diags.push(diag);
            Vec::new()
        }
    }
}

/// Lowers the parsed YAML tree of one master-config file, appending its diagnostics.
pub fn lower_master_root(sources: &SourceMap, file: FileId, root: &Node, diags: &mut Vec<Diag>) -> Vec<ConfigEntry> {
    let source = sources.get(file);
    let NodeKind::Map(entries) = &root.kind else {
        diags.push(
            Diag::error(
                "ix::config::not-a-mapping",
                format!("config file `{}` must contain a mapping of config keys to entries", source.path),
            )
            .at(root.span, format!("found {}", root.type_name())),
        );
        return Vec::new();
    };
    let mut cx = Cx { diags, key: None, format: Format::Feb, text: &source.text };
    let mut keys_seen: HashMap<&str, Span> = HashMap::new();
    let mut out = Vec::new();
    let mut file_format: Option<(Format, &str)> = None;
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            cx.error(
                Diag::error("ix::config::invalid-type", "config keys must be strings")
                    .at(key.span, format!("found {}", key.type_name())),
            );
            continue;
        };
        if let Some(first) = keys_seen.get(name) {
            cx.error(duplicate_key(name, key.span, *first));
            continue;
        }
        keys_seen.insert(name, key.span);
        if name.contains('*') {
            cx.error(
                Diag::error(
                    "ix::config::wildcard-key",
                    format!("wildcard `*` is not allowed in config keys: `{name}`"),
                )
                .at(key.span, "contains `*`")
                .help("`*` is reserved for perf-changelog patterns"),
            );
            continue;
        }
        let format = head::detect_format(value);
        if let Some(format) = format {
            match file_format {
                None => file_format = Some((format, name)),
                Some((first, first_key)) if first != format => {
                    cx.error(head::mixed_format(name, key.span, format, first_key));
                    continue;
                }
                Some(_) => {}
            }
        }
        if let Some(entry) = cx.entry(Spanned::new(name.to_string(), key.span), value) {
            out.push(entry);
        }
    }
    out
}

fn duplicate_key(name: &str, span: Span, first: Span) -> Diag {
    Diag::error("ix::config::duplicate-key", format!("key `{name}` is defined twice"))
        .at(span, "defined again here")
        .also(first, "first defined here")
        .help("YAML would silently keep only the last one; remove one of them")
}

struct Cx<'d> {
    diags: &'d mut Vec<Diag>,
    /// The config key of the entry being lowered: every message names it (the key is often
    /// off-screen in the snippet), as InferenceX's own messages do.
    key: Option<String>,
    /// The format of the entry being lowered (it picks the allowed fields).
    format: Format,
    /// The text the nodes' spans point into (decimals are read from it as written).
    text: &'d str,
}

/// The fields of one mapping, checked against the allowed names. A short list, searched
/// linearly: config mappings hold a handful of keys, and hashing each lookup cost more.
struct Fields<'n> {
    owner: Span,
    map: Vec<(&'n str, (&'n Node, &'n Node))>,
}

impl<'n> Fields<'n> {
    fn entry(&self, name: &str) -> Option<&(&'n Node, &'n Node)> {
        self.map.iter().find(|(field, _)| *field == name).map(|(_, entry)| entry)
    }

    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entry(name).map(|(_, value)| *value)
    }

    fn key_span(&self, name: &str) -> Option<Span> {
        self.entry(name).map(|(key, _)| key.span)
    }
}

impl Cx<'_> {
    fn error(&mut self, mut diag: Diag) {
        if let Some(key) = &self.key
            && !diag.message.contains(&format!("`{key}`"))
        {
            diag.message = format!("config entry `{key}`: {}", diag.message);
        }
        self.diags.push(diag);
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed` (or in `misplaced`, which
    /// get a dedicated message), each once.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
        misplaced: &[(&str, &str)],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.error(
                Diag::error("ix::config::invalid-type", format!("{what} must be a mapping"))
                    .at(node.span, format!("found {}", node.type_name())),
            );
            return None;
        };
        let mut fields = Fields { owner: node.span, map: Vec::with_capacity(entries.len()) };
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                self.error(
                    Diag::error("ix::config::invalid-type", format!("keys of {what} must be strings"))
                        .at(key.span, format!("found {}", key.type_name())),
                );
                continue;
            };
            if let Some((first, _)) = fields.entry(name) {
                self.error(duplicate_key(name, key.span, first.span));
                continue;
            }
            if !allowed.contains(&name) {
                if let Some((_, why)) = misplaced.iter().find(|(field, _)| *field == name) {
                    self.error(
                        Diag::error("ix::config::misplaced-field", format!("`{name}` is not allowed in {what}"))
                            .at(key.span, "not allowed here")
                            .help(why.to_string()),
                    );
                } else {
                    let mut diag =
                        Diag::error("ix::config::unknown-field", format!("unknown field `{name}` in {what}"))
                            .at(key.span, "unknown field");
                    diag = match did_you_mean(name, allowed.iter().copied()) {
                        Some(suggestion) => diag.help(format!("did you mean `{suggestion}`?")),
                        None => diag.help(format!("valid fields: {}", allowed.join(", "))),
                    };
                    self.error(diag);
                }
                continue;
            }
            fields.map.push((name, (key, value)));
        }
        Some(fields)
    }

    fn missing(&mut self, fields: &Fields<'_>, name: &str, what: &str, at: Span) {
        let _ = fields.owner;
        self.error(
            Diag::error("ix::config::missing-field", format!("{what} is missing required field `{name}`"))
                .at(at, format!("`{name}` is required here")),
        );
    }

    fn type_error(&mut self, name: &str, node: &Node, expected: &str) {
        let mut diag =
            Diag::error("ix::config::invalid-type", format!("`{name}` must be {expected}, found {}", node.type_name()))
                .at(node.span, format!("expected {expected}"));
        if let NodeKind::Str(text) = &node.kind {
            if expected.contains("integer") && text.trim().parse::<i64>().is_ok() {
                diag = diag.help(format!("write `{}` without quotes", text.trim()));
            } else if expected.contains("boolean")
                && ["true", "false", "yes", "no", "on", "off"].contains(&text.as_str())
            {
                diag = diag.help("write `true` or `false` without quotes");
            }
        }
        if let NodeKind::Float(value) = node.kind
            && value.fract() == 0.0
        {
            diag = diag.help(format!("write `{value:.0}` as an integer"));
        }
        self.error(diag);
    }

    fn string(&mut self, fields: &Fields<'_>, name: &str, what: &str, at: Span) -> Option<Spanned<String>> {
        let Some(node) = fields.get(name) else {
            self.missing(fields, name, what, at);
            return None;
        };
        match &node.kind {
            NodeKind::Str(text) => Some(Spanned::new(text.clone(), node.span)),
            _ => {
                self.type_error(name, node, "a string");
                None
            }
        }
    }

    fn int_node(&mut self, name: &str, node: &Node) -> Option<Spanned<i64>> {
        match node.kind {
            NodeKind::Int(value) => Some(Spanned::new(value, node.span)),
            _ => {
                self.type_error(name, node, "an integer");
                None
            }
        }
    }

    /// A parallelism value below `min` (the reference accepts any integer; `ix lower` could not
    /// print it, and no server runs with `tp: 0`).
    fn at_least(&mut self, value: Option<&Spanned<i64>>, name: &str, min: i64, what: &str) {
        if let Some(value) = value
            && value.value < min
        {
            self.error(
                Diag::error("ix::config::invalid-parallelism", format!("{what}: `{name}` must be at least {min}"))
                    .at(value.span, format!("found {}", value.value)),
            );
        }
    }

    fn int(&mut self, fields: &Fields<'_>, name: &str, what: &str, at: Span) -> Option<Spanned<i64>> {
        let Some(node) = fields.get(name) else {
            self.missing(fields, name, what, at);
            return None;
        };
        self.int_node(name, node)
    }

    /// An optional integer; `Err` when present but invalid. `null` counts as absent.
    fn opt_int(&mut self, fields: &Fields<'_>, name: &str) -> Result<Option<Spanned<i64>>, ()> {
        match fields.get(name) {
            None => Ok(None),
            Some(node) if node.kind == NodeKind::Null => Ok(None),
            Some(node) => self.int_node(name, node).map(Some).ok_or(()),
        }
    }

    fn bool_node(&mut self, name: &str, node: &Node) -> Option<Spanned<bool>> {
        match node.kind {
            NodeKind::Bool(value) => Some(Spanned::new(value, node.span)),
            _ => {
                self.type_error(name, node, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    fn opt_bool(&mut self, fields: &Fields<'_>, name: &str) -> Result<Option<Spanned<bool>>, ()> {
        match fields.get(name) {
            None => Ok(None),
            Some(node) => self.bool_node(name, node).map(Some).ok_or(()),
        }
    }

    fn list<'n>(&mut self, fields: &Fields<'n>, name: &str, what: &str, at: Span) -> Option<&'n [Node]> {
        let Some(node) = fields.get(name) else {
            self.missing(fields, name, what, at);
            return None;
        };
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            _ => {
                self.type_error(name, node, "a list");
                None
            }
        }
    }

    fn spec_decoding(&mut self, fields: &Fields<'_>) -> Result<SpecDecoding, ()> {
        let Some(node) = fields.get("spec-decoding") else { return Ok(SpecDecoding::None) };
        let Some(text) = node.as_str() else {
            self.type_error("spec-decoding", node, "one of `mtp`, `draft_model`, `none`");
            return Err(());
        };
        match SpecDecoding::parse(text) {
            Some(spec) => Ok(spec),
            None => {
                let names = SpecDecoding::ALL.map(SpecDecoding::as_str);
                let mut diag =
                    Diag::error("ix::config::invalid-spec-decoding", format!("unknown spec-decoding `{text}`"))
                        .at(node.span, "expected `mtp`, `draft_model` or `none`");
                if let Some(suggestion) = did_you_mean(text, names) {
                    diag = diag.help(format!("did you mean `{suggestion}`?"));
                }
                self.error(diag);
                Err(())
            }
        }
    }

    fn entry(&mut self, key: Spanned<String>, node: &Node) -> Option<ConfigEntry> {
        self.key = Some(key.value.clone());
        self.format = head::detect_format(node).unwrap_or(Format::Head);
        let entry = if self.format == Format::Head { self.head_entry(key, node) } else { self.entry_fields(key, node) };
        self.key = None;
        entry
    }

    fn entry_fields(&mut self, key: Spanned<String>, node: &Node) -> Option<ConfigEntry> {
        let what = format!("config entry `{}`", key.value);
        let errors_before = self.diags.len();
        let fields = self.fields(node, &what, ENTRY_FIELDS, &[])?;
        let at = key.span;
        let image = self.string(&fields, "image", &what, at);
        if let Some(image) = &image
            && let Some(problem) = crate::ir::image_problem(&image.value)
        {
            self.error(
                Diag::error("ix::config::invalid-image", format!("{what}: {problem}"))
                    .at(image.span, "this image")
                    .help("write the image reference as `registry/name:tag`"),
            );
        }
        let model = self.string(&fields, "model", &what, at);
        let model_prefix = self.string(&fields, "model-prefix", &what, at);
        let precision = self.string(&fields, "precision", &what, at);
        let framework = self.string(&fields, "framework", &what, at);
        let runner = self.string(&fields, "runner", &what, at);
        let multinode = match fields.get("multinode") {
            None => {
                self.missing(&fields, "multinode", &what, at);
                None
            }
            Some(node) => self.bool_node("multinode", node).map(|b| b.value),
        };
        let disagg = self.opt_bool(&fields, "disagg").ok().flatten().is_some_and(|b| b.value);
        let mut seq_len_configs = Vec::new();
        if let Some(items) = self.list(&fields, "seq-len-configs", &what, at) {
            for (idx, item) in items.iter().enumerate() {
                if let Some(seq) = self.seq_len(&key.value, idx, item, multinode) {
                    seq_len_configs.push(seq);
                }
            }
        }
        let code = "ix::config::invalid-file-name";
        for (what, value) in [
            ("the config key", Some(&key)),
            ("`model-prefix`", model_prefix.as_ref()),
            ("`precision`", precision.as_ref()),
            ("`framework`", framework.as_ref()),
        ] {
            if let Some(diag) = value.and_then(|value| crate::naming::file_name_diag(code, what, value)) {
                self.error(diag);
            }
        }
        if self.diags.len() > errors_before {
            return None;
        }
        Some(ConfigEntry {
            span: key.span.to(node.span),
            key,
            image: image?,
            model: model?,
            model_prefix: model_prefix?,
            precision: precision?,
            framework: framework?,
            runner: runner?,
            multinode: multinode?,
            disagg,
            seq_len_configs,
            format: Format::Feb,
            router: None,
            kv_p2p_transfer: None,
            agentic: Vec::new(),
        })
    }

    fn seq_len(&mut self, key: &str, idx: usize, node: &Node, multinode: Option<bool>) -> Option<SeqLenConfig> {
        let what = match self.format {
            Format::Feb => format!("`{key}` seq-len-configs[{idx}]"),
            Format::Head => format!("`{key}` scenarios.fixed-seq-len.{idx}"),
        };
        let fields = self.fields(node, &what, SEQ_LEN_FIELDS, &[])?;
        let at = node.span;
        let isl = self.int(&fields, "isl", &what, at);
        let osl = self.int(&fields, "osl", &what, at);
        for (name, value) in [("isl", &isl), ("osl", &osl)] {
            if let Some(value) = value
                && value.value <= 0
            {
                self.error(
                    Diag::error("ix::config::nonpositive-value", format!("`{name}` must be at least 1"))
                        .at(value.span, format!("{} tokens", value.value)),
                );
            }
        }
        if let (Some(isl), Some(osl)) = (&isl, &osl)
            && crate::ir::max_model_len(isl.value, osl.value).is_none()
        {
            self.error(
                Diag::error(
                    "ix::config::length-overflow",
                    format!("{what}: `isl + osl + 200` (the max-model-len) overflows a 64-bit integer"),
                )
                .at(osl.span, format!("isl {} + osl {}", isl.value, osl.value)),
            );
        }
        let mut search_space = Vec::new();
        if let Some(items) = self.list(&fields, "search-space", &what, at) {
            for (point_idx, item) in items.iter().enumerate() {
                let what = match self.format {
                    Format::Feb => format!("`{key}` seq-len-configs[{idx}].search-space[{point_idx}]"),
                    Format::Head => format!("`{key}` scenarios.fixed-seq-len.{idx}.search-space.{point_idx}"),
                };
                // Without a valid `multinode`, judge the point by its own shape.
                let multi = multinode.unwrap_or_else(|| {
                    matches!(&item.kind, NodeKind::Map(entries)
                        if entries.iter().any(|(k, _)| matches!(k.as_str(), Some("prefill" | "decode"))))
                });
                let point = if multi {
                    self.multi_point(&what, item).map(SearchPoint::Multi)
                } else {
                    self.single_point(&what, item).map(SearchPoint::Single)
                };
                if let Some(point) = point {
                    search_space.push(point);
                }
            }
        }
        Some(SeqLenConfig { isl: isl?, osl: osl?, search_space, span: node.span })
    }

    fn single_point(&mut self, what: &str, node: &Node) -> Option<SinglePoint> {
        let why = "single-node entries (`multinode: false`) take `tp`, `ep` and `dp-attn` directly; \
                   prefill and decode workers need `multinode: true`";
        let allowed = if self.format == Format::Head { head::SINGLE_FIELDS } else { SINGLE_FIELDS };
        let fields = self.fields(node, what, allowed, &[("prefill", why), ("decode", why)])?;
        let tp = self.int(&fields, "tp", what, node.span);
        let ep = self.opt_int(&fields, "ep");
        self.at_least(tp.as_ref(), "tp", 1, what);
        self.at_least(ep.as_ref().ok().and_then(Option::as_ref), "ep", 1, what);
        let dp_attn = self.opt_bool(&fields, "dp-attn");
        let spec_decoding = self.spec_decoding(&fields);
        let conc = self.concurrency(&fields, what, node.span);
        let parallel = self.parallel(&fields, what, tp.as_ref().map(|tp| tp.value));
        let router = self.component(&fields, "router", what, true);
        Some(SinglePoint {
            tp: tp?,
            ep: ep.ok()?,
            dp_attn: dp_attn.ok()?,
            spec_decoding: spec_decoding.ok()?,
            conc: conc?,
            parallel: parallel?,
            router: router.ok()?,
            span: node.span,
        })
    }

    fn multi_point(&mut self, what: &str, node: &Node) -> Option<MultiPoint> {
        let why = "multi-node entries (`multinode: true`) set `tp`, `ep` and `dp-attn` per worker, \
                   inside `prefill` and `decode`";
        let allowed = if self.format == Format::Head { head::MULTI_FIELDS } else { MULTI_FIELDS };
        let fields = self.fields(node, what, allowed, &[("tp", why), ("ep", why), ("dp-attn", why)])?;
        let spec_decoding = self.spec_decoding(&fields);
        let prefill = self.worker(&fields, "prefill", what, node.span);
        let decode = self.worker(&fields, "decode", what, node.span);
        let conc = self.concurrency(&fields, what, node.span);
        let router = self.component(&fields, "router", what, true);
        let kv_p2p_transfer = self.opt_name(&fields, "kv-p2p-transfer", what);
        let (prefill, decode) = (prefill?, decode?);
        self.hardware_pair(&prefill, &decode, &fields, what, node.span);
        Some(MultiPoint {
            spec_decoding: spec_decoding.ok()?,
            prefill,
            decode,
            conc: conc?,
            router: router.ok()?,
            kv_p2p_transfer: kv_p2p_transfer.ok()?,
            span: node.span,
        })
    }

    fn worker(&mut self, parent: &Fields<'_>, name: &str, what: &str, at: Span) -> Option<Worker> {
        let Some(node) = parent.get(name) else {
            self.missing(parent, name, what, at);
            return None;
        };
        let what = format!("{what}.{name}");
        let allowed = if self.format == Format::Head { head::WORKER_FIELDS } else { WORKER_FIELDS };
        let fields = self.fields(node, &what, allowed, &[])?;
        let num_worker = self.int(&fields, "num-worker", &what, node.span);
        let tp = self.int(&fields, "tp", &what, node.span);
        if let (Some(count), Some(tp)) = (&num_worker, &tp)
            && count.value.checked_mul(tp.value).is_none()
        {
            self.error(
                Diag::error(
                    "ix::config::gpu-overflow",
                    format!("{what}: `num-worker × tp` overflows a 64-bit integer"),
                )
                .at(tp.span, format!("{} workers × tp {}", count.value, tp.value)),
            );
        }
        let ep = self.int(&fields, "ep", &what, node.span);
        // Zero workers is a real shape (a multi-node aggregated entry has no decode workers).
        self.at_least(num_worker.as_ref(), "num-worker", 0, &what);
        self.at_least(tp.as_ref(), "tp", 1, &what);
        self.at_least(ep.as_ref(), "ep", 1, &what);
        let dp_attn = match fields.get("dp-attn") {
            None => {
                self.missing(&fields, "dp-attn", &what, node.span);
                None
            }
            Some(value) => self.bool_node("dp-attn", value),
        };
        let additional_settings = match fields.get("additional-settings") {
            None => Some(None),
            Some(value) => match &value.kind {
                NodeKind::Seq(items) => {
                    let mut settings = Vec::new();
                    let mut ok = true;
                    for item in items {
                        match item.as_str() {
                            Some(text) => {
                                if let Err(refusal) = crate::env_policy::check_setting(text) {
                                    self.error(crate::env_policy::refusal_diag(
                                        "ix::config::forbidden-setting",
                                        "`additional-settings`",
                                        text,
                                        item.span,
                                        refusal,
                                    ));
                                    ok = false;
                                }
                                settings.push(text.to_string());
                            }
                            None => {
                                self.type_error("additional-settings", item, "a string (`NAME=value`)");
                                ok = false;
                            }
                        }
                    }
                    ok.then_some(Some(settings))
                }
                _ => {
                    self.type_error("additional-settings", value, "a list of strings");
                    None
                }
            },
        };
        let parallel = self.parallel(&fields, &what, tp.as_ref().map(|tp| tp.value));
        let hardware = self.opt_name(&fields, "hardware", &what);
        Some(Worker {
            num_worker: num_worker?.value,
            tp: tp?.value,
            ep: ep?.value,
            dp_attn: dp_attn?.value,
            additional_settings: additional_settings?,
            parallel: parallel?,
            hardware: hardware.ok()?,
        })
    }

    fn concurrency(&mut self, fields: &Fields<'_>, what: &str, at: Span) -> Option<Concurrency> {
        let start = self.opt_int(fields, "conc-start");
        let end = self.opt_int(fields, "conc-end");
        let list = match fields.get("conc-list") {
            None => Ok(None),
            Some(node) if node.kind == NodeKind::Null => Ok(None),
            Some(node) => match &node.kind {
                NodeKind::Seq(items) => {
                    let mut values = Vec::new();
                    let mut ok = true;
                    for item in items {
                        match self.int_node("conc-list", item) {
                            Some(value) if value.value <= 0 => {
                                self.error(
                                    Diag::error(
                                        "ix::config::nonpositive-concurrency",
                                        format!("concurrency values must be at least 1, found {}", value.value),
                                    )
                                    .at(value.span, "not a valid concurrency"),
                                );
                                ok = false;
                            }
                            Some(value) => values.push(value.value),
                            None => ok = false,
                        }
                    }
                    if ok { Ok(Some(Spanned::new(values, node.span))) } else { Err(()) }
                }
                _ => {
                    self.type_error("conc-list", node, "a list of integers");
                    Err(())
                }
            },
        };
        let (Ok(start), Ok(end), Ok(list)) = (start, end, list) else { return None };
        let has_range = start.is_some() && end.is_some();
        let has_list = list.as_ref().is_some_and(|list| !list.value.is_empty());
        let list_span = list.as_ref().map(|list| list.span);
        if has_range && has_list {
            let start_span = start.as_ref().map_or(at, |s| s.span);
            self.error(
                Diag::error(
                    "ix::config::conc-both-forms",
                    format!("{what} sets both a concurrency range and `conc-list`"),
                )
                .at(list_span.unwrap_or(at), "`conc-list` here")
                .also(start_span, "range starts here")
                .help("keep either `conc-start`/`conc-end` or `conc-list`"),
            );
            return None;
        }
        if !has_range && !has_list {
            let lone = start.as_ref().or(end.as_ref()).map(|s| s.span);
            let mut diag = Diag::error(
                "ix::config::conc-missing",
                format!("{what} must set either `conc-list` or both `conc-start` and `conc-end`"),
            );
            diag = match (lone, fields.key_span("conc-list")) {
                (_, Some(span)) => diag.at(span, "`conc-list` is empty"),
                (Some(span), None) => diag.at(span, "only one end of the range is set"),
                (None, None) => diag.at(at, "no concurrency here"),
            };
            self.error(diag);
            return None;
        }
        if has_range {
            let (Some(s), Some(e)) = (&start, &end) else { return None };
            if s.value <= 0 {
                self.error(
                    Diag::error(
                        "ix::config::nonpositive-concurrency",
                        format!("`conc-start` must be at least 1, found {}", s.value),
                    )
                    .at(s.span, "not a valid concurrency")
                    .help("a range starting at 0 or below never reaches its end"),
                );
                return None;
            }
            if s.value > e.value {
                self.error(
                    Diag::error(
                        "ix::config::conc-range-reversed",
                        format!("`conc-start` ({}) is greater than `conc-end` ({})", s.value, e.value),
                    )
                    .at(s.span, "start")
                    .also(e.span, "end"),
                );
                return None;
            }
        }
        Some(Concurrency { start, end, list })
    }
}

#[cfg(test)]
mod tests;
