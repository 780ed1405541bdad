//! Today's InferenceX master-config schema (INFERENCEX-HEAD §1): `scenarios` with
//! `fixed-seq-len` and `agentic-coding`, pp/dcp/pcp sizes, routers, KV transfer engines, KV
//! offloading and per-worker hardware, and the config-wide rules that tie them together.
//!
//! The Feb-2026 schema stays in the parent module; an entry's format is detected from its own
//! keys ([`detect_format`]). Fixed seq-len blocks, points and workers are shared with the Feb
//! code, which asks `Cx::format` for the extra fields. Nothing here panics on any input.

use crate::diag::Diag;
use crate::ir::{AgenticConfig, AgenticPoint, AgenticShape, Component, ConfigEntry, Format, KvOffloading, Parallel};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind};

use super::{Cx, Fields, Worker};

const ENTRY_FIELDS: &[&str] = &[
    "image",
    "model",
    "model-prefix",
    "precision",
    "framework",
    "runner",
    "multinode",
    "disagg",
    "router",
    "kv-p2p-transfer",
    "scenarios",
];
const SCENARIO_FIELDS: &[&str] = &["fixed-seq-len", "agentic-coding"];
pub(super) const SINGLE_FIELDS: &[&str] = &[
    "tp",
    "ep",
    "dp-attn",
    "spec-decoding",
    "conc-start",
    "conc-end",
    "conc-list",
    "pp",
    "dcp-size",
    "pcp-size",
    "router",
];
pub(super) const MULTI_FIELDS: &[&str] =
    &["spec-decoding", "prefill", "decode", "conc-start", "conc-end", "conc-list", "router", "kv-p2p-transfer"];
pub(super) const WORKER_FIELDS: &[&str] =
    &["num-worker", "tp", "ep", "dp-attn", "additional-settings", "pp", "dcp-size", "pcp-size", "hardware"];
const AGENTIC_FIELDS: &[&str] = &["search-space", "dram-utilization"];
const AGENTIC_POINT_FIELDS: &[&str] = &[
    "tp",
    "prefill",
    "decode",
    "pp",
    "dcp-size",
    "pcp-size",
    "ep",
    "dp-attn",
    "spec-decoding",
    "kv-offloading",
    "kv-offload-backend",
    "router",
    "kv-p2p-transfer",
    "conc-start",
    "conc-end",
    "conc-list",
];
const PARALLEL_FIELDS: [&str; 3] = ["pp", "dcp-size", "pcp-size"];

/// The format of one master-config entry: `scenarios` means today's, `seq-len-configs` the
/// Feb-2026 one. `None` when the entry has both or neither (it is then checked as today's
/// format, which reports what is wrong) or is not a mapping.
/// The format of a master-config text, told by its first entry (`None`: not a mapping of
/// entries, or the first entry says neither).
pub fn text_format(text: &str) -> Option<Format> {
    let root = crate::yaml::parse(crate::source::FileId(0), text).ok()?;
    let NodeKind::Map(entries) = &root.kind else { return None };
    detect_format(&entries.first()?.1)
}

pub(super) fn detect_format(node: &Node) -> Option<Format> {
    let NodeKind::Map(entries) = &node.kind else { return None };
    let has = |name: &str| entries.iter().any(|(key, _)| key.as_str() == Some(name));
    match (has("scenarios"), has("seq-len-configs")) {
        (true, false) => Some(Format::Head),
        (false, true) => Some(Format::Feb),
        _ => None,
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Feb => "the Feb-2026 format (`seq-len-configs`)",
        Format::Head => "today's format (`scenarios`)",
    }
}

/// An entry whose format differs from the first entry of its file.
pub(super) fn mixed_format(name: &str, span: Span, format: Format, first_key: &str) -> Diag {
    Diag::error(
        "ix::config::mixed-formats",
        format!("config entry `{name}` is written in {}, but `{first_key}` is not", format_name(format)),
    )
    .at(span, "format differs from the file's first entry")
    .help("a master-config file holds entries of one InferenceX format; move this entry to its own file")
}

impl Cx<'_> {
    /// An entry of today's format (§1.1-§1.7); every problem of the entry is reported.
    pub(super) fn head_entry(&mut self, key: Spanned<String>, node: &Node) -> Option<ConfigEntry> {
        let what = format!("config entry `{}`", key.value);
        let errors_before = self.diags.len();
        let why = "`seq-len-configs` is the Feb-2026 format; today's entries list them under \
                   `scenarios: { fixed-seq-len: [...] }` (an entry uses one format, not both)";
        let entry = self.head_entry_fields(&key, node, &what, why);
        for diag in &mut self.diags[errors_before..] {
            if !diag.message.contains(key.value.as_str()) {
                diag.message = format!("config entry `{}`: {}", key.value, diag.message);
            }
        }
        if self.diags.len() > errors_before { None } else { entry }
    }

    fn head_entry_fields(&mut self, key: &Spanned<String>, node: &Node, what: &str, why: &str) -> Option<ConfigEntry> {
        let fields = self.fields(node, what, ENTRY_FIELDS, &[("seq-len-configs", why)])?;
        let at = key.span;
        let image = self.string(&fields, "image", what, at);
        let model = self.string(&fields, "model", what, at);
        let model_prefix = self.string(&fields, "model-prefix", what, at);
        let precision = self.string(&fields, "precision", what, at);
        let framework = self.string(&fields, "framework", what, at);
        let runner = self.string(&fields, "runner", what, at);
        let multinode = match fields.get("multinode") {
            None => {
                self.missing(&fields, "multinode", what, at);
                None
            }
            Some(node) => self.bool_node("multinode", node).map(|b| b.value),
        };
        let disagg = self.opt_bool(&fields, "disagg").ok().flatten();
        if multinode == Some(false)
            && let Some(disagg) = &disagg
            && disagg.value
        {
            self.error(
                Diag::error(
                    "ix::config::single-node-disagg",
                    format!("{what}: `disagg: true` needs `multinode: true`"),
                )
                .at(disagg.span, "single-node entries are never disaggregated")
                .help("remove `disagg`, or make the entry multi-node with prefill and decode workers"),
            );
        }
        let disagg = disagg.is_some_and(|d| d.value);
        let router = self.component(&fields, "router", what, true).ok().flatten();
        let kv_p2p_transfer = match (multinode, fields.key_span("kv-p2p-transfer")) {
            (Some(false), Some(span)) => {
                self.error(p2p_on_single_node(what, span));
                None
            }
            _ => self.opt_name(&fields, "kv-p2p-transfer", what).ok().flatten(),
        };
        let mut seq_len_configs = Vec::new();
        let mut agentic = Vec::new();
        let Some(scenarios) = fields.get("scenarios") else {
            self.missing(&fields, "scenarios", what, at);
            return None;
        };
        let scenarios_what = format!("`{}` scenarios", key.value);
        let scenario_fields = self.fields(scenarios, &scenarios_what, SCENARIO_FIELDS, &[])?;
        let mut n_lists = 0;
        if let Some(items) = self.opt_list(&scenario_fields, "fixed-seq-len") {
            n_lists += usize::from(!items.is_empty());
            for (idx, item) in items.iter().enumerate() {
                if let Some(seq) = self.seq_len(&key.value, idx, item, multinode) {
                    seq_len_configs.push(seq);
                }
            }
        }
        if let Some(items) = self.opt_list(&scenario_fields, "agentic-coding") {
            n_lists += usize::from(!items.is_empty());
            for (idx, item) in items.iter().enumerate() {
                if let Some(config) = self.agentic_config(&key.value, idx, item, multinode) {
                    agentic.push(config);
                }
            }
        }
        if n_lists == 0 {
            self.error(
                Diag::error(
                    "ix::config::no-scenarios",
                    format!("{what}: at least one scenario type must be specified"),
                )
                .at(scenarios.span, "no non-empty scenario list")
                .help("give `fixed-seq-len` or `agentic-coding` at least one element"),
            );
        }
        let entry = ConfigEntry {
            span: key.span.to(node.span),
            key: key.clone(),
            image: image?,
            model: model?,
            model_prefix: model_prefix?,
            precision: precision?,
            framework: framework?,
            runner: runner?,
            multinode: multinode?,
            disagg,
            seq_len_configs,
            format: Format::Head,
            router,
            kv_p2p_transfer,
            agentic,
        };
        self.config_rules(&entry, &fields, what);
        Some(entry)
    }

    /// The config-wide rules of §1.7, on an entry whose fields all validated.
    fn config_rules(&mut self, entry: &ConfigEntry, fields: &Fields<'_>, what: &str) {
        let has_agentic = entry.agentic.iter().any(|config| !config.search_space.is_empty());
        if has_agentic && !entry.runner.value.starts_with("cluster:") {
            self.error(
                Diag::error(
                    "ix::config::agentic-runner-not-cluster",
                    format!(
                        "{what}: agentic configs must run on a `cluster:` runner label, not `{}`",
                        entry.runner.value
                    ),
                )
                .at(entry.runner.span, "not a `cluster:` label")
                .help("agentic jobs are scheduled on fleet labels such as `cluster:b200-dgxc`"),
            );
        }
        // Every point's router and KV transfer engine, with its span.
        let mut points: Vec<(Span, bool, bool)> = Vec::new();
        for seq in &entry.seq_len_configs {
            for point in &seq.search_space {
                match point {
                    crate::ir::SearchPoint::Single(single) => {
                        points.push((single.span, single.router.is_some(), false))
                    }
                    crate::ir::SearchPoint::Multi(multi) => {
                        points.push((multi.span, multi.router.is_some(), multi.kv_p2p_transfer.is_some()));
                    }
                }
            }
        }
        for config in &entry.agentic {
            for point in &config.search_space {
                points.push((point.span, point.router.is_some(), point.kv_p2p_transfer.is_some()));
            }
        }
        for (name, top, pick) in
            [("router", entry.router.is_some(), 0usize), ("kv-p2p-transfer", entry.kv_p2p_transfer.is_some(), 1usize)]
        {
            let inner = points.iter().find(|(_, router, p2p)| if pick == 0 { *router } else { *p2p });
            if top && let (Some((span, _, _)), Some(top_span)) = (inner, fields.key_span(name)) {
                self.error(
                    Diag::error(
                        "ix::config::both-scopes",
                        format!("{what}: `{name}` is set at the top level and in a search-space entry"),
                    )
                    .at(top_span, "set for the whole entry here")
                    .also(*span, "and again in this search-space entry")
                    .help(format!("set `{name}` in one place: the top level, or each search-space entry")),
                );
            }
        }
        if entry.disagg && entry.multinode {
            let covered = entry.kv_p2p_transfer.is_some() || (!points.is_empty() && points.iter().all(|p| p.2));
            if !covered {
                let span = fields.key_span("disagg").unwrap_or(entry.key.span);
                self.error(
                    Diag::error(
                        "ix::config::disagg-without-p2p",
                        format!("{what}: `disagg: true` needs a `kv-p2p-transfer` engine"),
                    )
                    .at(span, "disaggregated here")
                    .help(
                        "set `kv-p2p-transfer` (for instance `nixl`) at the top level or on every search-space entry",
                    ),
                );
            }
        }
    }

    fn opt_list<'n>(&mut self, fields: &Fields<'n>, name: &str) -> Option<&'n [Node]> {
        let node = fields.get(name)?;
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            NodeKind::Null => None,
            _ => {
                self.type_error(name, node, "a list");
                None
            }
        }
    }

    /// One `agentic-coding` element (§1.5).
    fn agentic_config(&mut self, key: &str, idx: usize, node: &Node, multinode: Option<bool>) -> Option<AgenticConfig> {
        let what = format!("`{key}` scenarios.agentic-coding.{idx}");
        let fields = self.fields(node, &what, AGENTIC_FIELDS, &[])?;
        let dram_utilization = match fields.get("dram-utilization") {
            None => Ok(None),
            Some(value) => self.utilization(value, &what).map(Some).ok_or(()),
        };
        let mut search_space = Vec::new();
        let mut ok = true;
        if let Some(items) = self.list(&fields, "search-space", &what, node.span) {
            for (point_idx, item) in items.iter().enumerate() {
                match self.agentic_point(key, idx, point_idx, item, multinode) {
                    Some(point) => search_space.push(point),
                    None => ok = false,
                }
            }
        }
        let dram_utilization = dram_utilization.ok()?;
        if dram_utilization.is_none()
            && let Some(point) = search_space.iter().find(|p| p.kv_offloading == Some(KvOffloading::Dram))
        {
            self.error(
                Diag::error(
                    "ix::config::dram-utilization-missing",
                    format!("{what}: `dram-utilization` is required when an entry offloads KV cache to DRAM"),
                )
                .at(point.span, "`kv-offloading: dram` here")
                .also(node.span, "in this agentic-coding element")
                .help("add `dram-utilization: 0.8` (the share of host DRAM the offload may use) to the element"),
            );
            return None;
        }
        ok.then_some(AgenticConfig { dram_utilization, search_space, span: node.span })
    }

    /// `dram-utilization`: a number in (0, 1], kept as written.
    fn utilization(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        let value = match node.kind {
            NodeKind::Int(value) => value as f64,
            NodeKind::Float(value) => value,
            _ => {
                self.type_error("dram-utilization", node, "a number in (0, 1]");
                return None;
            }
        };
        let text = self.text.get(node.span.start as usize..node.span.end as usize).unwrap_or("").trim();
        if !(value > 0.0 && value <= 1.0) || crate::ir::Decimal::parse(text).is_none() {
            self.error(
                Diag::error(
                    "ix::config::dram-utilization-range",
                    format!(
                        "{what}: `dram-utilization` must be a decimal greater than 0 and at most 1, found `{text}`"
                    ),
                )
                .at(node.span, "outside (0, 1]"),
            );
            return None;
        }
        Some(Spanned::new(text.to_string(), node.span))
    }

    /// One agentic search-space entry (§1.5): concurrency, offload pairing, then shape.
    fn agentic_point(
        &mut self,
        key: &str,
        idx: usize,
        point_idx: usize,
        node: &Node,
        multinode: Option<bool>,
    ) -> Option<AgenticPoint> {
        let what = format!("`{key}` scenarios.agentic-coding.{idx}.search-space.{point_idx}");
        let errors_before = self.diags.len();
        let fields = self.fields(node, &what, AGENTIC_POINT_FIELDS, &[])?;
        let conc = self.concurrency(&fields, &what, node.span);
        let kv_offloading = match fields.get("kv-offloading") {
            None => None,
            Some(value) => match value.as_str() {
                Some("none") => Some(KvOffloading::None),
                Some("dram") => Some(KvOffloading::Dram),
                _ => {
                    self.error(
                        Diag::error(
                            "ix::config::invalid-kv-offloading",
                            format!("{what}: `kv-offloading` must be `none` or `dram`"),
                        )
                        .at(value.span, "expected `none` or `dram`"),
                    );
                    None
                }
            },
        };
        let backend = self.component(&fields, "kv-offload-backend", &what, false).ok().flatten();
        let backend_span = fields.key_span("kv-offload-backend");
        match (kv_offloading, backend_span) {
            (Some(KvOffloading::Dram), None) if fields.get("kv-offloading").is_some() => self.error(
                Diag::error(
                    "ix::config::offload-backend-pairing",
                    format!("{what}: `kv-offloading: dram` needs a `kv-offload-backend`"),
                )
                .at(fields.key_span("kv-offloading").unwrap_or(node.span), "offloads to DRAM")
                .help("name the backend, for instance `kv-offload-backend: { name: hicache }`"),
            ),
            (None | Some(KvOffloading::None), Some(span)) => self.error(
                Diag::error(
                    "ix::config::offload-backend-pairing",
                    format!("{what}: `kv-offload-backend` is only allowed with `kv-offloading: dram`"),
                )
                .at(span, "a backend without DRAM offloading")
                .help("remove the backend, or set `kv-offloading: dram`"),
            ),
            _ => {}
        }
        let tp = fields.get("tp");
        let workers = (fields.get("prefill").is_some(), fields.get("decode").is_some());
        let shape = match (tp, workers) {
            (Some(_), (false, false)) => {
                let tp = self.int(&fields, "tp", &what, node.span);
                let parallel = self.parallel(&fields, &what, tp.as_ref().map(|tp| tp.value));
                if kv_offloading.is_none() && fields.get("kv-offloading").is_none() {
                    self.missing(&fields, "kv-offloading", &what, node.span);
                }
                if multinode == Some(true) {
                    self.error(shape_mismatch(&what, node.span, true));
                }
                match (tp, parallel) {
                    (Some(tp), Some(parallel)) => {
                        let (pp, dcp_size, pcp_size) = parallel.values();
                        Some(AgenticShape::Single { tp: tp.value, pp, dcp_size, pcp_size })
                    }
                    _ => None,
                }
            }
            (None, (true, true)) => {
                for name in PARALLEL_FIELDS {
                    if let Some(span) = fields.key_span(name) {
                        self.error(
                            Diag::error(
                                "ix::config::misplaced-field",
                                format!("{what}: `{name}` of a worker-shaped agentic entry belongs in the workers"),
                            )
                            .at(span, "not allowed here")
                            .help(format!("set `{name}` inside `prefill` and `decode`")),
                        );
                    }
                }
                if multinode == Some(false) {
                    self.error(shape_mismatch(&what, node.span, false));
                }
                let format = std::mem::replace(&mut self.format, Format::Head);
                let prefill = self.worker(&fields, "prefill", &what, node.span);
                let decode = self.worker(&fields, "decode", &what, node.span);
                self.format = format;
                match (prefill, decode) {
                    (Some(prefill), Some(decode)) => {
                        self.hardware_pair(&prefill, &decode, &fields, &what, node.span);
                        Some(AgenticShape::Multi { prefill, decode })
                    }
                    _ => None,
                }
            }
            _ => {
                self.error(
                    Diag::error(
                        "ix::config::agentic-shape",
                        format!("{what} must set either `tp` (one server) or both `prefill` and `decode`, not a mix"),
                    )
                    .at(node.span, "neither shape")
                    .help("single-node agentic entries take `tp`; multi-node ones take `prefill` and `decode` workers"),
                );
                None
            }
        };
        let ep = self.opt_int(&fields, "ep");
        let dp_attn = self.opt_bool(&fields, "dp-attn");
        let spec_decoding = self.spec_decoding(&fields);
        let router = self.component(&fields, "router", &what, true);
        let kv_p2p_transfer = match (multinode, fields.key_span("kv-p2p-transfer")) {
            (Some(false), Some(span)) => {
                self.error(p2p_on_single_node(&what, span));
                Err(())
            }
            _ => self.opt_name(&fields, "kv-p2p-transfer", &what),
        };
        if self.diags.len() > errors_before {
            return None;
        }
        Some(AgenticPoint {
            shape: shape?,
            ep: ep.ok()?.map(|ep| ep.value),
            dp_attn: dp_attn.ok()?.map(|d| d.value),
            spec_decoding: spec_decoding.ok()?,
            kv_offloading,
            kv_offload_backend: backend,
            router: router.ok()?,
            kv_p2p_transfer: kv_p2p_transfer.ok()?,
            conc: conc?,
            span: node.span,
        })
    }

    /// `pp`, `dcp-size`, `pcp-size` (§1.3): strict positive integers, `tp` divisible by
    /// `dcp-size`. Feb-format mappings never hold them (their field lists reject them).
    pub(super) fn parallel(&mut self, fields: &Fields<'_>, what: &str, tp: Option<i64>) -> Option<Parallel> {
        let mut values = [None; 3];
        let mut ok = true;
        for (slot, name) in values.iter_mut().zip(PARALLEL_FIELDS) {
            let Some(node) = fields.get(name) else { continue };
            match node.kind {
                NodeKind::Int(value) if value > 0 => *slot = Some(value),
                _ => {
                    let found = match &node.kind {
                        NodeKind::Int(value) => format!("`{value}`"),
                        _ => node.type_name().to_string(),
                    };
                    self.error(
                        Diag::error(
                            "ix::config::invalid-parallel-size",
                            format!("{what}.{name} must be a positive integer, found {found}"),
                        )
                        .at(node.span, "expected an integer of at least 1")
                        .help("pp, dcp-size and pcp-size are strict integers: no quotes, no decimals"),
                    );
                    ok = false;
                }
            }
        }
        let [pp, dcp_size, pcp_size] = values;
        if let (Some(tp), Some(dcp)) = (tp, dcp_size)
            && tp % dcp != 0
        {
            let span = fields.get("dcp-size").map_or(fields.owner, |node| node.span);
            self.error(
                Diag::error(
                    "ix::config::tp-not-divisible-by-dcp",
                    format!("{what}: `tp` ({tp}) must be divisible by `dcp-size` ({dcp})"),
                )
                .at(span, "does not divide tp")
                .help("decode-context parallelism reuses the tensor-parallel GPUs"),
            );
            ok = false;
        }
        ok.then_some(Parallel { pp, dcp_size, pcp_size })
    }

    /// A `router` (`version_required`) or `kv-offload-backend` object (§1.6).
    pub(super) fn component(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        what: &str,
        version_required: bool,
    ) -> Result<Option<Component>, ()> {
        let Some(node) = fields.get(name) else { return Ok(None) };
        let inner_what = format!("{what}.{name}");
        let Some(inner) = self.fields(node, &inner_what, &["name", "version"], &[]) else { return Err(()) };
        let before = self.diags.len();
        let component_name = self.nonempty(&inner, "name", &inner_what, node.span, name);
        let version = if version_required || inner.get("version").is_some() {
            self.nonempty(&inner, "version", &inner_what, node.span, name)
        } else {
            None
        };
        if let (Some(version), Some(version_node)) = (&version, inner.get("version"))
            && version.starts_with("image:")
        {
            self.error(
                Diag::error(
                    "ix::config::version-is-image",
                    format!("{what}: `{name}.version` must be a version, not an image reference"),
                )
                .at(version_node.span, "starts with `image:`")
                .help("write the component's own version (for instance `0.8.1`)"),
            );
        }
        if self.diags.len() > before {
            return Err(());
        }
        Ok(component_name.map(|component_name| Component { name: component_name, version }))
    }

    fn nonempty(&mut self, fields: &Fields<'_>, name: &str, what: &str, at: Span, owner: &str) -> Option<String> {
        let value = self.string(fields, name, what, at)?;
        if value.value.trim().is_empty() {
            self.error(
                Diag::error("ix::config::empty-string", format!("{what}: `{owner}.{name}` must not be empty"))
                    .at(value.span, "empty"),
            );
            return None;
        }
        Some(value.value)
    }

    /// An optional non-empty string (`kv-p2p-transfer`, a worker's `hardware`).
    pub(super) fn opt_name(&mut self, fields: &Fields<'_>, name: &str, what: &str) -> Result<Option<String>, ()> {
        let Some(node) = fields.get(name) else { return Ok(None) };
        match node.as_str() {
            Some(text) if !text.trim().is_empty() => Ok(Some(text.to_string())),
            Some(_) => {
                self.error(
                    Diag::error("ix::config::empty-string", format!("{what}: `{name}` must not be empty"))
                        .at(node.span, "empty"),
                );
                Err(())
            }
            None => {
                self.type_error(name, node, "a string");
                Err(())
            }
        }
    }

    /// Worker `hardware` is set on both workers or on neither (§1.4).
    pub(super) fn hardware_pair(
        &mut self,
        prefill: &Worker,
        decode: &Worker,
        fields: &Fields<'_>,
        what: &str,
        at: Span,
    ) {
        if prefill.hardware.is_some() == decode.hardware.is_some() {
            return;
        }
        let (set, unset) = if prefill.hardware.is_some() { ("prefill", "decode") } else { ("decode", "prefill") };
        let span = fields.get(set).map_or(at, |node| node.span);
        self.error(
            Diag::error(
                "ix::config::hardware-on-one-worker",
                format!("{what}: `hardware` is set on the {set} worker but not on the {unset} worker"),
            )
            .at(span, "`hardware` set here")
            .help("set `hardware` on both workers or on neither"),
        );
    }
}

fn p2p_on_single_node(what: &str, span: Span) -> Diag {
    Diag::error(
        "ix::config::p2p-on-single-node",
        format!("{what}: `kv-p2p-transfer` is only valid when `multinode` is true"),
    )
    .at(span, "a single-node entry has no KV transfer between nodes")
    .help("remove `kv-p2p-transfer`, or make the entry multi-node")
}

fn shape_mismatch(what: &str, span: Span, single_shape: bool) -> Diag {
    let (message, help) = if single_shape {
        (
            format!("{what} sets `tp` (one server), but its config is multi-node (`multinode: true`)"),
            "multi-node agentic entries take `prefill` and `decode` workers",
        )
    } else {
        (
            format!("{what} sets `prefill` and `decode` workers, but its config is single-node and needs `tp`"),
            "single-node agentic entries take `tp` (InferenceX's generator crashes on this entry)",
        )
    };
    Diag::error("ix::config::agentic-shape-mismatch", message).at(span, "this entry").help(help)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use crate::expand::{self, FullSweep, HeadEvals, NodeMode};
    use crate::ir::inferencex::lower_master_configs;
    use crate::ir::runners::lower_runners;
    use crate::source::SourceMap;

    /// Fragments of today's schema that, glued together, reach every rule of §1 and §3.4.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("k:\n".to_string()),
            Just("  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n".to_string()),
            Just("  runner: cluster:x\n".to_string()),
            Just("  runner: b200\n".to_string()),
            Just("  multinode: false\n".to_string()),
            Just("  multinode: true\n".to_string()),
            Just("  disagg: true\n".to_string()),
            Just("  kv-p2p-transfer: nixl\n".to_string()),
            Just("  router: { name: r, version: '1' }\n".to_string()),
            Just("  seq-len-configs: []\n".to_string()),
            Just("  scenarios:\n    fixed-seq-len:\n    - isl: 8192\n      osl: 1024\n      search-space:\n".to_string()),
            Just("      - { tp: 8, pp: 2, dcp-size: 3, conc-start: 4, conc-end: 64 }\n".to_string()),
            Just("      - { tp: 8, conc-list: [16, 32], router: { name: r, version: 'image:x' } }\n".to_string()),
            Just("    agentic-coding:\n    - dram-utilization: 0.80\n      search-space:\n".to_string()),
            Just("    - dram-utilization: 7\n      trace-source: x\n      search-space:\n".to_string()),
            Just(
                "      - { tp: 4, kv-offloading: dram, kv-offload-backend: { name: hicache }, conc-list: [1, 2] }\n"
                    .to_string()
            ),
            Just("      - { tp: 16, pcp-size: 2, kv-offloading: dram, kv-offload-backend: { name: b }, conc-start: 1, conc-end: 9 }\n".to_string()),
            Just(
                "      - conc-list: [16]\n        kv-offloading: dram\n        kv-offload-backend: { name: m }\n        prefill: { num-worker: 1, tp: 8, pp: 2, ep: 1, dp-attn: false, hardware: g }\n        decode: { num-worker: 0, tp: 8, ep: 1, dp-attn: false }\n"
                    .to_string()
            ),
            Just("        pp: \"2\"\n".to_string()),
            Just("&a [*a]\n".to_string()),
            "[ -~\n]{0,20}",
        ]
    }

    fn runners_fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("labels:\n  cluster:x: [x_0, x_1]\n  b200: [b200_0]\n".to_string()),
            Just("hardware:\n  cluster:x: { available-cpu-dram-mib: 3_095_781, gpus-per-node: 8 }\n".to_string()),
            Just("hardware:\n  cluster:x: { available-cpu-dram-mib: 0, gpus-per-node: 3 }\n".to_string()),
            Just("launchers: {}\n".to_string()),
            Just("b200: [b200_0]\n".to_string()),
            "[ -~\n]{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn todays_schema_never_panics_through_expansion(
            parts in proptest::collection::vec(fragment(), 0..14),
            runner_parts in proptest::collection::vec(runners_fragment(), 0..4),
        ) {
            let mut sources = SourceMap::new();
            let file = sources.add("fuzz.yaml".to_string(), Arc::from(parts.concat()));
            let runners_file = sources.add("runners.yaml".to_string(), Arc::from(runner_parts.concat()));
            let (sweep, mut diags) = lower_master_configs(&sources, &[file]);
            let runners = lower_runners(&sources, runners_file, &mut diags);
            for diag in &diags {
                if let Some(label) = &diag.primary {
                    let text_len = sources.get(label.span.file).text.len();
                    prop_assert!(label.span.end as usize <= text_len);
                }
            }
            let _ = crate::diag::render(&sources, &diags, crate::diag::RenderOptions::plain());
            if let Ok(mut jobs) = expand::full_sweep(&sweep, &runners, &FullSweep::new(NodeMode::Both)) {
                expand::mark_evals_head(&mut jobs, HeadEvals { evals_only: false, all_evals: true });
            }
        }
    }
}
