//! What `format head` adds to the checker: `agentic` blocks, routers, KV transfer engines and
//! offloading, worker hardware, `hardware` declarations and the config-wide rules of
//! INFERENCEX-HEAD §1.7, with the same meaning as the YAML front end gives them.

use crate::diag::{Diag, did_you_mean};
use crate::ir::{
    AgenticConfig, AgenticPoint, AgenticShape, Component, ConfigEntry, Decimal, Format, Hardware, KvOffloading,
    RunnerTable, SearchPoint,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{AgenticBlock, Block, BodyItem, ComponentSpec, Decl, File, Point, PointLine};

use super::Cx;
use super::point::worker;

/// The facts a `hardware` declaration takes, both required.
const HARDWARE_FACTS: [&str; 2] = ["cpu-dram-mib", "gpus-per-node"];

impl Cx {
    pub(super) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// `format head` / `format feb`: at most one, before anything depends on it.
    pub(super) fn format_decls(&mut self, file: &File) {
        let mut first: Option<Span> = None;
        for stmt in &file.decls {
            let Decl::Format(name) = &stmt.node else { continue };
            if let Some(first) = first {
                self.diags.push(
                    Diag::error("ix::dsl::duplicate-format", "the file declares its format twice")
                        .at(name.span, "declared again here")
                        .also(first, "first declared here"),
                );
                continue;
            }
            first = Some(name.span);
            match name.value.as_str() {
                "head" => self.format = Format::Head,
                "feb" => self.format = Format::Feb,
                other => {
                    let mut diag = Diag::error("ix::dsl::unknown-format", format!("unknown format `{other}`"))
                        .at(name.span, "not an InferenceX format");
                    diag = match did_you_mean(other, ["head", "feb"]) {
                        Some(s) => diag.help(format!("did you mean `{s}`?")),
                        None => diag.help("`format head` (InferenceX today) or `format feb` (Feb 2026, the default)"),
                    };
                    self.diags.push(diag);
                }
            }
        }
    }

    pub(super) fn needs_head(&self, what: &str, span: Span) -> Diag {
        Diag::error("ix::dsl::needs-format-head", format!("`{what}` exists only in today's InferenceX format"))
            .at(span, "not in the Feb-2026 format")
            .help("put `format head` at the top of the file to use today's rules")
    }

    /// A router (`version_required`) or KV offload backend.
    pub(super) fn component(&mut self, spec: &ComponentSpec, what: &str, version_required: bool) -> Option<Component> {
        let name = self.nonempty(&spec.name, what);
        let version = match &spec.version {
            Some(version) => {
                let ok = self.nonempty(version, what);
                if version.value.starts_with("image:") {
                    self.diags.push(
                        Diag::error(
                            "ix::dsl::version-is-image",
                            format!("the `{what}` version must be a version, not an image reference"),
                        )
                        .at(version.span, "starts with `image:`")
                        .help("write the component's own version (for instance \"0.8.1\")"),
                    );
                    return None;
                }
                Some(ok?)
            }
            None if version_required => {
                self.diags.push(
                    Diag::error("ix::dsl::missing-version", format!("`{what}` needs a version"))
                        .at(spec.name.span, "no version")
                        .help(format!("write it after the name: `{what} {} \"0.8.1\"`", spec.name.value)),
                );
                return None;
            }
            None => None,
        };
        Some(Component { name: name?, version })
    }

    pub(super) fn nonempty(&mut self, text: &Spanned<String>, what: &str) -> Option<String> {
        if text.value.trim().is_empty() {
            self.diags
                .push(Diag::error("ix::dsl::empty-name", format!("`{what}` must not be empty")).at(text.span, "empty"));
            return None;
        }
        Some(text.value.clone())
    }

    /// `kv none` or `kv dram BACKEND ["VERSION"]`.
    pub(super) fn kv(
        &mut self,
        mode: &Spanned<String>,
        backend: Option<&ComponentSpec>,
        span: Span,
    ) -> Option<(KvOffloading, Option<Component>)> {
        match (mode.value.as_str(), backend) {
            ("none", None) => Some((KvOffloading::None, None)),
            ("dram", Some(backend)) => Some((KvOffloading::Dram, Some(self.component(backend, "kv", false)?))),
            ("none", Some(backend)) => {
                self.diags.push(
                    Diag::error("ix::dsl::offload-backend-pairing", "a KV offload backend needs `kv dram`")
                        .at(backend.name.span, "a backend without DRAM offloading")
                        .help("write `kv none`, or `kv dram BACKEND`"),
                );
                None
            }
            ("dram", None) => {
                self.diags.push(
                    Diag::error("ix::dsl::offload-backend-pairing", "`kv dram` needs a KV offload backend")
                        .at(span, "offloads to DRAM")
                        .help("name the backend: `kv dram hicache`"),
                );
                None
            }
            (other, _) => {
                self.diags.push(
                    Diag::error("ix::dsl::invalid-kv-offloading", format!("unknown KV offloading `{other}`"))
                        .at(mode.span, "expected `none` or `dram`"),
                );
                None
            }
        }
    }

    pub(super) fn dcp_divides(&mut self, tp: i64, dcp: i64, span: Span) {
        if dcp >= 1 && tp % dcp != 0 {
            self.diags.push(
                Diag::error("ix::dsl::dcp-not-dividing-tp", format!("`tp` {tp} is not divisible by `dcp` {dcp}"))
                    .at(span, "decode-context parallelism reuses the tensor-parallel GPUs")
                    .help("pick a `dcp` that divides `tp`"),
            );
        }
    }

    /// `hardware NAME { cpu-dram-mib N, gpus-per-node N }` (a `hardware:` entry of runners.yaml).
    pub(super) fn hardware_decl(
        &mut self,
        name: &Spanned<String>,
        facts: &[(Spanned<String>, Spanned<i64>)],
        span: Span,
        runners: &mut RunnerTable,
    ) {
        if let Some(first) = runners.hardware(&name.value) {
            self.diags.push(
                Diag::error("ix::dsl::duplicate-hardware", format!("hardware `{}` is declared twice", name.value))
                    .at(name.span, "declared again here")
                    .also(first.key.span, "first declared here"),
            );
            return;
        }
        let mut values = [None; 2];
        let errors_before = self.error_count();
        for (key, value) in facts {
            let Some(slot) = HARDWARE_FACTS.iter().position(|fact| *fact == key.value) else {
                let mut diag = Diag::error("ix::dsl::unknown-field", format!("unknown host fact `{}`", key.value))
                    .at(key.span, "not a host fact");
                diag = match did_you_mean(&key.value, HARDWARE_FACTS) {
                    Some(s) => diag.help(format!("did you mean `{s}`?")),
                    None => diag.help("host facts: `cpu-dram-mib`, `gpus-per-node`"),
                };
                self.diags.push(diag);
                continue;
            };
            if values[slot].is_some() {
                self.diags.push(
                    Diag::error("ix::dsl::duplicate-field", format!("`{}` is set twice", key.value))
                        .at(key.span, "set again here"),
                );
            } else if self.positive(value, &format!("`{}`", key.value)) {
                values[slot] = Some(value.value);
            }
        }
        for (fact, value) in HARDWARE_FACTS.iter().zip(values) {
            if value.is_none() && !facts.iter().any(|(key, _)| key.value == *fact) {
                self.diags.push(
                    Diag::error("ix::dsl::missing-field", format!("hardware `{}` does not set `{fact}`", name.value))
                        .at(span, format!("`{fact}` is required")),
                );
            }
        }
        if let ([Some(available_cpu_dram_mib), Some(gpus_per_node)], true) =
            (values, self.error_count() == errors_before)
        {
            runners.hardware.push(Hardware { key: name.clone(), available_cpu_dram_mib, gpus_per_node });
        }
    }

    /// The agentic blocks of a sweep: its own, else those of the one template that has them.
    pub(super) fn agentic_blocks(&mut self, block: &Block, parents: &[&Block], multinode: bool) -> Vec<AgenticConfig> {
        let mut blocks = agentic_of(block);
        if blocks.is_empty() {
            let with: Vec<&&Block> = parents.iter().filter(|p| !agentic_of(p).is_empty()).collect();
            if with.len() > 1 {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::template-conflict",
                        format!("templates of sweep `{}` both define `agentic` blocks", block.name.value),
                    )
                    .at(with[1].name.span, "defines `agentic` blocks")
                    .also(with[0].name.span, "also defines `agentic` blocks")
                    .help("write the `agentic` blocks in the sweep itself to choose"),
                );
            }
            blocks = with.first().map(|p| agentic_of(p)).unwrap_or_default();
        }
        let mut out = Vec::new();
        for agentic in blocks {
            if self.format == Format::Feb {
                self.diags.push(self.needs_head("agentic", agentic.span));
                continue;
            }
            if let Some(config) = self.agentic_block(agentic, multinode) {
                out.push(config);
            }
        }
        out
    }

    fn agentic_block(&mut self, block: &AgenticBlock, multinode: bool) -> Option<AgenticConfig> {
        let errors_before = self.error_count();
        if let Some(dram) = &block.dram {
            let in_range = Decimal::parse(&dram.value).is_some_and(|d| d.digits > 0 && d.digits <= 10i128.pow(d.scale));
            if !in_range {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::dram-utilization-range",
                        format!(
                            "the DRAM utilization must be a decimal greater than 0 and at most 1, found `{}`",
                            dram.value
                        ),
                    )
                    .at(dram.span, "outside (0, 1]"),
                );
            }
        }
        let mut search_space = Vec::new();
        for line in &block.points {
            let PointLine::Point(point) = &line.node else { continue };
            if let Some(point) = self.agentic_point(point, multinode) {
                search_space.push(point);
            }
        }
        if block.dram.is_none()
            && let Some(point) = search_space.iter().find(|p| p.kv_offloading == Some(KvOffloading::Dram))
        {
            self.diags.push(
                Diag::error(
                    "ix::dsl::dram-utilization-missing",
                    "an agentic block whose points offload KV cache to DRAM needs a DRAM utilization",
                )
                .at(point.span, "`kv dram` here")
                .also(block.span, "in this block")
                .help("write the share of host DRAM the offload may use: `agentic dram 0.8 { ... }`"),
            );
        }
        (self.error_count() == errors_before).then(|| AgenticConfig {
            dram_utilization: block.dram.clone(),
            search_space,
            span: block.span,
        })
    }

    fn agentic_point(&mut self, point: &Point, multinode: bool) -> Option<AgenticPoint> {
        let items = self.items(point, multinode, true)?;
        let (kv_offloading, kv_offload_backend) = match items.kv {
            Some((mode, backend)) => (Some(mode), backend),
            None => (None, None),
        };
        let shape = if multinode {
            AgenticShape::Multi { prefill: worker(items.prefill?), decode: worker(items.decode?) }
        } else {
            if kv_offloading.is_none() {
                self.diags.push(
                    Diag::error("ix::dsl::missing-field", "a single-node agentic point has no `kv`")
                        .at(point.span, "`kv` is required")
                        .help("add `kv none`, or `kv dram BACKEND` to offload KV cache to host DRAM"),
                );
                return None;
            }
            let (pp, dcp_size, pcp_size) = items.parallel.values();
            AgenticShape::Single { tp: items.tp?.value, pp, dcp_size, pcp_size }
        };
        Some(AgenticPoint {
            shape,
            ep: items.ep.map(|ep| ep.value),
            dp_attn: items.dp_attn.map(|d| d.value),
            spec_decoding: items.spec,
            kv_offloading,
            kv_offload_backend,
            router: items.router,
            kv_p2p_transfer: items.p2p,
            conc: items.conc?,
            span: point.span,
        })
    }

    /// The config-wide rules (INFERENCEX-HEAD §1.7) on a sweep whose fields and points checked.
    /// `router`, `p2p` and `disagg` are the spans of those header fields, when set.
    pub(super) fn config_rules(
        &mut self,
        entry: &ConfigEntry,
        router: Option<Span>,
        p2p: Option<Span>,
        disagg: Option<Span>,
    ) {
        let name = &entry.key.value;
        if !entry.multinode && entry.disagg {
            self.diags.push(
                Diag::error("ix::dsl::single-node-disagg", format!("sweep `{name}`: `disagg` needs `multinode`"))
                    .at(disagg.unwrap_or(entry.key.span), "single-node sweeps are never disaggregated")
                    .help("remove `disagg`, or make the sweep multi-node with prefill and decode workers"),
            );
        }
        if !entry.multinode
            && let Some(span) = p2p
        {
            self.diags.push(
                Diag::error("ix::dsl::p2p-on-single-node", format!("sweep `{name}`: `p2p` needs `multinode`"))
                    .at(span, "a single-node sweep has no KV transfer between nodes")
                    .help("remove `p2p`, or make the sweep multi-node"),
            );
        }
        let has_agentic = entry.agentic.iter().any(|config| !config.search_space.is_empty());
        if has_agentic && !entry.runner.value.starts_with("cluster:") {
            self.diags.push(
                Diag::error(
                    "ix::dsl::agentic-runner-not-cluster",
                    format!(
                        "sweep `{name}`: agentic points must run on a `cluster:` runner label, not `{}`",
                        entry.runner.value
                    ),
                )
                .at(entry.runner.span, "not a `cluster:` label")
                .help("agentic jobs are scheduled on fleet labels such as \"cluster:b200-dgxc\""),
            );
        }
        // (span, has router, has p2p) of every point.
        let mut points: Vec<(Span, bool, bool)> = Vec::new();
        for seq in &entry.seq_len_configs {
            for point in &seq.search_space {
                match point {
                    SearchPoint::Single(single) => points.push((single.span, single.router.is_some(), false)),
                    SearchPoint::Multi(multi) => {
                        points.push((multi.span, multi.router.is_some(), multi.kv_p2p_transfer.is_some()))
                    }
                }
            }
        }
        for config in &entry.agentic {
            for point in &config.search_space {
                points.push((point.span, point.router.is_some(), point.kv_p2p_transfer.is_some()));
            }
        }
        for (what, top, pick) in [("router", router, 0), ("p2p", p2p, 1)] {
            let inner = points.iter().find(|(_, router, p2p)| if pick == 0 { *router } else { *p2p });
            if let (Some(top), Some((span, _, _))) = (top, inner) {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::both-scopes",
                        format!("sweep `{name}`: `{what}` is set for the sweep and in a point"),
                    )
                    .at(top, "set for the whole sweep here")
                    .also(*span, "and again in this point")
                    .help(format!("set `{what}` in one place: the sweep, or each point")),
                );
            }
        }
        if entry.disagg && entry.multinode {
            let covered = entry.kv_p2p_transfer.is_some() || (!points.is_empty() && points.iter().all(|p| p.2));
            if !covered {
                self.diags.push(
                    Diag::error(
                        "ix::dsl::disagg-without-p2p",
                        format!("sweep `{name}`: `disagg` needs a `p2p` engine"),
                    )
                    .at(disagg.unwrap_or(entry.key.span), "disaggregated here")
                    .help("set `p2p nixl` (or another engine) on the sweep or on every point"),
                );
            }
        }
    }
}

fn agentic_of(block: &Block) -> Vec<&AgenticBlock> {
    block
        .items
        .iter()
        .filter_map(|item| match &item.node {
            BodyItem::Agentic(agentic) => Some(agentic),
            _ => None,
        })
        .collect()
}
