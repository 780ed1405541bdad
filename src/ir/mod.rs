//! The typed IR of a sweep, independent of the syntax it came from.
//!
//! Both front ends lower into these types: InferenceX master-config YAML (`ir::inferencex`) and
//! the `.ix` DSL (`syntax` + `ir::lower`). Every value keeps the span it came from, so later stages
//! (expansion, task keys, `ix plan`) can point back at the line that produced a job.
//!
//! The IR deliberately keeps a few InferenceX distinctions that change generated jobs (an absent
//! `ep` versus `ep: 1`, a present-but-empty `conc-list`, absent `additional-settings`), because the
//! reference generator treats them differently and `ix matrix` must produce the same jobs.

pub mod inferencex;
pub mod lower;
pub mod runners;
pub mod to_dsl;

use crate::source::{Span, Spanned};

/// A whole sweep: config entries in merged order (files in the order given, keys in file order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sweep {
    pub entries: Vec<ConfigEntry>,
}

impl Sweep {
    /// The InferenceX format of the sweep's entries (one per sweep: `ir::merge_files` rejects
    /// a mix); Feb-2026 for an empty sweep.
    pub fn format(&self) -> Format {
        self.entries.first().map_or(Format::Feb, |entry| entry.format)
    }

    pub fn entry(&self, key: &str) -> Option<&ConfigEntry> {
        self.entries.iter().find(|entry| entry.key.value == key)
    }
}

/// One config entry (a top-level key of a master config, or a `sweep` of the DSL).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigEntry {
    pub key: Spanned<String>,
    pub image: Spanned<String>,
    pub model: Spanned<String>,
    pub model_prefix: Spanned<String>,
    pub precision: Spanned<String>,
    pub framework: Spanned<String>,
    /// Runner type (a key of the runners config).
    pub runner: Spanned<String>,
    pub multinode: bool,
    pub disagg: bool,
    /// The fixed-sequence-length blocks (`seq-len-configs` in Feb-2026 files, the
    /// `scenarios.fixed-seq-len` list today).
    pub seq_len_configs: Vec<SeqLenConfig>,
    /// Which InferenceX config format the entry was written in; it picks the rule set of `ix matrix`.
    pub format: Format,
    /// The entry-wide router (`router:` at the top level; HEAD format only).
    pub router: Option<Component>,
    /// The entry-wide KV transfer engine (`kv-p2p-transfer:` at the top level; HEAD, multi-node).
    pub kv_p2p_transfer: Option<String>,
    /// The `scenarios.agentic-coding` elements (HEAD format only).
    pub agentic: Vec<AgenticConfig>,
    /// The whole entry, for labels that point at "the sweep that produced this job".
    pub span: Span,
}

/// The max-model-len of a job at `isl`/`osl` (`isl + osl + 200`, as the reference computes it),
/// `None` when it overflows; both front ends reject such lengths with a spanned error.
pub fn max_model_len(isl: i64, osl: i64) -> Option<i64> {
    isl.checked_add(osl)?.checked_add(200)
}

/// Why an image name cannot be used, if it cannot: it reaches `docker run` (and `srun
/// --container-image`) as an argument, where a leading `-` would be read as an option, and
/// control characters have no place in a reference.
pub fn image_problem(image: &str) -> Option<&'static str> {
    if image.starts_with('-') {
        Some("an image may not start with `-` (it would be read as an option)")
    } else if image.chars().any(char::is_control) {
        Some("an image may not contain control characters")
    } else {
        None
    }
}

/// The GPUs of a worker group (`num-worker × tp`), `None` when it overflows.
pub fn worker_gpus(worker: &Worker) -> Option<i64> {
    worker.num_worker.checked_mul(worker.tp)
}

/// The two InferenceX config formats `ix` reads (INFERENCEX-HEAD §10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// February 2026: `seq-len-configs`, flat runners.yaml, opt-in evals.
    #[default]
    Feb,
    /// InferenceX today (commit 843c6254f and later): `scenarios`, `labels:`/`hardware:`.
    Head,
}

/// A named component with an optional version (`router`, `kv-offload-backend`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Component {
    pub name: String,
    pub version: Option<String>,
}

/// Where an agentic point keeps KV cache that does not fit on the GPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOffloading {
    None,
    Dram,
}

impl KvOffloading {
    pub fn as_str(self) -> &'static str {
        match self {
            KvOffloading::None => "none",
            KvOffloading::Dram => "dram",
        }
    }
}

/// One `agentic-coding` element: its points and the share of host DRAM they may offload to.
#[derive(Clone, Debug, PartialEq)]
pub struct AgenticConfig {
    /// `dram-utilization` exactly as written (a decimal in (0, 1]), so offload sizing is exact.
    pub dram_utilization: Option<Spanned<String>>,
    pub search_space: Vec<AgenticPoint>,
    pub span: Span,
}

/// One agentic search-space entry (INFERENCEX-HEAD §1.5).
#[derive(Clone, Debug, PartialEq)]
pub struct AgenticPoint {
    pub shape: AgenticShape,
    /// `None` when not written (jobs then use 1).
    pub ep: Option<i64>,
    /// `None` when not written (jobs then use false).
    pub dp_attn: Option<bool>,
    pub spec_decoding: SpecDecoding,
    /// Required for the single-node shape; multi-node jobs default to `none`.
    pub kv_offloading: Option<KvOffloading>,
    pub kv_offload_backend: Option<Component>,
    pub router: Option<Component>,
    pub kv_p2p_transfer: Option<String>,
    pub conc: Concurrency,
    pub span: Span,
}

/// The server layout of an agentic point: one server (`tp` …) or prefill and decode workers.
// Built once per point while lowering; unboxed like `expand::JobShape`.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum AgenticShape {
    Single { tp: i64, pp: i64, dcp_size: i64, pcp_size: i64 },
    Multi { prefill: Worker, decode: Worker },
}

/// One sequence-length block: an (isl, osl) pair and the points measured at it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqLenConfig {
    pub isl: Spanned<i64>,
    pub osl: Spanned<i64>,
    pub search_space: Vec<SearchPoint>,
    pub span: Span,
}

/// A search-space entry: single-node or multi-node.
#[derive(Clone, Debug, PartialEq)]
pub enum SearchPoint {
    Single(SinglePoint),
    Multi(MultiPoint),
}

impl SearchPoint {
    pub fn span(&self) -> Span {
        match self {
            SearchPoint::Single(point) => point.span,
            SearchPoint::Multi(point) => point.span,
        }
    }

    pub fn concurrency(&self) -> &Concurrency {
        match self {
            SearchPoint::Single(point) => &point.conc,
            SearchPoint::Multi(point) => &point.conc,
        }
    }
}

/// Speculative decoding mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpecDecoding {
    #[default]
    None,
    Mtp,
    DraftModel,
}

impl SpecDecoding {
    pub const ALL: [SpecDecoding; 3] = [SpecDecoding::Mtp, SpecDecoding::DraftModel, SpecDecoding::None];

    pub fn as_str(self) -> &'static str {
        match self {
            SpecDecoding::None => "none",
            SpecDecoding::Mtp => "mtp",
            SpecDecoding::DraftModel => "draft_model",
        }
    }

    pub fn parse(text: &str) -> Option<SpecDecoding> {
        SpecDecoding::ALL.into_iter().find(|spec| spec.as_str() == text)
    }
}

/// The concurrency values of a point, as written.
///
/// Validation guarantees that exactly one form is effective: a range (`start` and `end`) or a
/// non-empty `list`. The raw presence of each key is kept because the reference's subcommands
/// read them differently (see REFERENCE-SEMANTICS §1.4, §4.2, §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concurrency {
    pub start: Option<Spanned<i64>>,
    pub end: Option<Spanned<i64>>,
    pub list: Option<Spanned<Vec<i64>>>,
}

impl Concurrency {
    pub fn range(start: Spanned<i64>, end: Spanned<i64>) -> Concurrency {
        Concurrency { start: Some(start), end: Some(end), list: None }
    }

    pub fn list(values: Spanned<Vec<i64>>) -> Concurrency {
        Concurrency { start: None, end: None, list: Some(values) }
    }

    /// The non-empty list, when the list form is in effect for full-sweep.
    pub fn nonempty_list(&self) -> Option<&[i64]> {
        self.list.as_ref().map(|list| list.value.as_slice()).filter(|list| !list.is_empty())
    }

    /// `(start, end)` when both are present.
    pub fn range_bounds(&self) -> Option<(i64, i64)> {
        Some((self.start.as_ref()?.value, self.end.as_ref()?.value))
    }
}

/// A single-node search-space point.
#[derive(Clone, Debug, PartialEq)]
pub struct SinglePoint {
    pub tp: Spanned<i64>,
    /// `None` when not written (jobs then use 1).
    pub ep: Option<Spanned<i64>>,
    /// `None` when not written (jobs then use false).
    pub dp_attn: Option<Spanned<bool>>,
    pub spec_decoding: SpecDecoding,
    pub conc: Concurrency,
    /// Pipeline, decode-context and prefill-context parallel sizes (HEAD format; `None` when not
    /// written, jobs then use 1).
    pub parallel: Parallel,
    /// A point-level router (HEAD format).
    pub router: Option<Component>,
    pub span: Span,
}

/// `pp`, `dcp-size` and `pcp-size` as written (each `None` when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Parallel {
    pub pp: Option<i64>,
    pub dcp_size: Option<i64>,
    pub pcp_size: Option<i64>,
}

impl Parallel {
    /// `(pp, dcp-size, pcp-size)` with the defaults of 1 applied.
    pub fn values(self) -> (i64, i64, i64) {
        (self.pp.unwrap_or(1), self.dcp_size.unwrap_or(1), self.pcp_size.unwrap_or(1))
    }
}

/// A multi-node (disaggregated) search-space point.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiPoint {
    pub spec_decoding: SpecDecoding,
    pub prefill: Worker,
    pub decode: Worker,
    pub conc: Concurrency,
    /// A point-level router and KV transfer engine (HEAD format).
    pub router: Option<Component>,
    pub kv_p2p_transfer: Option<String>,
    pub span: Span,
}

/// A prefill or decode worker group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Worker {
    pub num_worker: i64,
    pub tp: i64,
    pub ep: i64,
    pub dp_attn: bool,
    /// `NAME=value` settings exported to the launcher; `None` when not written.
    pub additional_settings: Option<Vec<String>>,
    /// `pp`, `dcp-size`, `pcp-size` of the worker (HEAD format; Feb workers have none).
    pub parallel: Parallel,
    /// The GPU SKU of the worker pool (HEAD format), passed into jobs as written.
    pub hardware: Option<String>,
}

/// Runner types and their nodes, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunnerTable {
    pub types: Vec<RunnerType>,
    /// Host facts of today's runners.yaml (`hardware:`), keyed by label; empty for Feb files.
    pub hardware: Vec<Hardware>,
    /// The runners file's format: `labels:` (HEAD) or a flat map (Feb).
    pub format: Format,
}

/// One `hardware:` entry of runners.yaml: what DRAM offload sizing needs to know of a host.
#[derive(Clone, Debug, PartialEq)]
pub struct Hardware {
    pub key: Spanned<String>,
    pub available_cpu_dram_mib: i64,
    pub gpus_per_node: i64,
}

impl RunnerTable {
    /// Adds the runner types and hardware of `other` whose names this table lacks (this table
    /// wins): what `.ix` files declare inline joins a runners file.
    pub fn add_missing(&mut self, other: RunnerTable) {
        for runner in other.types {
            if self.get(&runner.name.value).is_none() {
                self.types.push(runner);
            }
        }
        for hardware in other.hardware {
            if self.hardware(&hardware.key.value).is_none() {
                self.hardware.push(hardware);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.hardware.is_empty()
    }

    pub fn hardware(&self, key: &str) -> Option<&Hardware> {
        self.hardware.iter().find(|hardware| hardware.key.value == key)
    }

    pub fn get(&self, name: &str) -> Option<&RunnerType> {
        self.types.iter().find(|runner| runner.name.value == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|runner| runner.name.value.as_str())
    }
}

/// One runner type: a name and the nodes that carry it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunnerType {
    pub name: Spanned<String>,
    pub nodes: Vec<Spanned<String>>,
}

/// The name of an (isl, osl) pair at HEAD: only `1k1k` and `8k1k` are named (INFERENCEX-HEAD §3.2).
pub fn seq_len_name_head(isl: i64, osl: i64) -> String {
    match (isl, osl) {
        (1024, 8192) => "1024_8192".to_string(),
        _ => seq_len_name(isl, osl),
    }
}

/// The conventional name of an (isl, osl) pair: `1k1k`, `1k8k`, `8k1k`, else `<isl>_<osl>`.
pub fn seq_len_name(isl: i64, osl: i64) -> String {
    match (isl, osl) {
        (1024, 1024) => "1k1k".to_string(),
        (1024, 8192) => "1k8k".to_string(),
        (8192, 1024) => "8k1k".to_string(),
        _ => format!("{isl}_{osl}"),
    }
}

/// Moves a span `delta` bytes later in its file.
/// Moves a span by `delta` bytes; a move back is a wrapping add of the two's complement.
fn shift_span(span: &mut Span, delta: u32) {
    span.start = span.start.wrapping_add(delta);
    span.end = span.end.wrapping_add(delta);
}

fn shift_concurrency(conc: &mut Concurrency, delta: u32) {
    for bound in [&mut conc.start, &mut conc.end].into_iter().flatten() {
        shift_span(&mut bound.span, delta);
    }
    if let Some(list) = &mut conc.list {
        shift_span(&mut list.span, delta);
    }
}

impl ConfigEntry {
    /// Moves every span of the entry `delta` bytes later: an entry lowered from its own block
    /// (spans relative to the block) placed back at the block's offset in the file.
    pub fn shift_spans(&mut self, delta: u32) {
        for field in [
            &mut self.key,
            &mut self.image,
            &mut self.model,
            &mut self.model_prefix,
            &mut self.precision,
            &mut self.framework,
            &mut self.runner,
        ] {
            shift_span(&mut field.span, delta);
        }
        shift_span(&mut self.span, delta);
        for seq in &mut self.seq_len_configs {
            shift_span(&mut seq.isl.span, delta);
            shift_span(&mut seq.osl.span, delta);
            shift_span(&mut seq.span, delta);
            for point in &mut seq.search_space {
                match point {
                    SearchPoint::Single(single) => {
                        shift_span(&mut single.tp.span, delta);
                        if let Some(ep) = &mut single.ep {
                            shift_span(&mut ep.span, delta);
                        }
                        if let Some(dp_attn) = &mut single.dp_attn {
                            shift_span(&mut dp_attn.span, delta);
                        }
                        shift_concurrency(&mut single.conc, delta);
                        shift_span(&mut single.span, delta);
                    }
                    SearchPoint::Multi(multi) => {
                        shift_concurrency(&mut multi.conc, delta);
                        shift_span(&mut multi.span, delta);
                    }
                }
            }
        }
        for agentic in &mut self.agentic {
            shift_span(&mut agentic.span, delta);
            if let Some(utilization) = &mut agentic.dram_utilization {
                shift_span(&mut utilization.span, delta);
            }
            for point in &mut agentic.search_space {
                shift_concurrency(&mut point.conc, delta);
                shift_span(&mut point.span, delta);
            }
        }
    }
}

/// Merges the entries of several files in order; a key defined by an earlier file is an error
/// (`ix::config::duplicate-config-key`), reported once per file with every repeated key.
pub fn merge_files(
    sources: &crate::source::SourceMap,
    per_file: Vec<(crate::source::FileId, Vec<ConfigEntry>)>,
) -> (Sweep, Vec<crate::diag::Diag>) {
    let mut diags = Vec::new();
    let mut sweep = Sweep::default();
    let mut seen: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
    for (file, entries) in per_file {
        let duplicates: Vec<(&ConfigEntry, Span)> =
            entries.iter().filter_map(|entry| seen.get(&entry.key.value).map(|first| (entry, *first))).collect();
        if let Some(&(entry, first)) = duplicates.first() {
            let mut names: Vec<&str> = duplicates.iter().map(|(entry, _)| entry.key.value.as_str()).collect();
            names.sort_unstable();
            let path = &sources.get(file).path;
            diags.push(
                crate::diag::Diag::error(
                    "ix::config::duplicate-config-key",
                    format!("duplicate configuration keys found in `{path}`: {}", names.join(", ")),
                )
                .at(entry.key.span, "already defined by an earlier file")
                .also(first, "first defined here")
                .help("each config key may be defined by only one of the files given"),
            );
        }
        if let (Some(first), Some(entry)) = (
            sweep.entries.first(),
            entries.iter().find(|entry| Some(entry.format) != sweep.entries.first().map(|e| e.format)),
        ) {
            let path = &sources.get(file).path;
            let name = |format: Format| match format {
                Format::Feb => "the Feb-2026 format (`seq-len-configs`)",
                Format::Head => "today's format (`scenarios`)",
            };
            diags.push(
                crate::diag::Diag::error(
                    "ix::config::mixed-formats",
                    format!(
                        "`{path}` is written in {}, but the files before it are in {}",
                        name(entry.format),
                        name(first.format)
                    ),
                )
                .at(entry.key.span, format!("`{}` is in a different format", entry.key.value))
                .also(first.key.span, "first entry of the run")
                .help("one run reads one InferenceX format; run the two formats separately"),
            );
            continue;
        }
        for entry in entries {
            seen.entry(entry.key.value.clone()).or_insert(entry.key.span);
            sweep.entries.push(entry);
        }
    }
    (sweep, diags)
}

/// A non-negative decimal read exactly from its text (`0.80` is 80 / 10^2), for sizing that
/// InferenceX computes in decimal arithmetic (INFERENCEX-HEAD §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub digits: i128,
    pub scale: u32,
}

impl Decimal {
    /// Plain decimal notation only (`1`, `0.8`, `.5`, `1.000`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.strip_prefix('+').unwrap_or(text);
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.len() > 18 || whole.len() > 18 {
            return None;
        }
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Decimal { digits, scale: fraction.len() as u32 })
    }
}
