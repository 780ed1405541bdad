//! Expansion of today's InferenceX format (INFERENCEX-HEAD §3-§4): `full-sweep` and
//! `test-config` over fixed-seq-len and agentic-coding scenarios, with DRAM offload sizing from
//! runner hardware. The Feb-2026 rules stay in the parent module; which set applies is decided
//! per invocation by the format of the configs (see `Sweep::format`).
//!
//! Order: configs in merged order; inside a config, fixed jobs (seq-len blocks, points, values)
//! then agentic jobs (elements, points, values). Single-node jobs: concurrency outer, node
//! inner; multi-node fixed: one job per node; multi-node agentic: node outer, concurrency inner.

use crate::diag::{Diag, did_you_mean};
use crate::expand::job::{HeadFields, Job, JobOrigin, JobShape, Scenario};
use crate::expand::{FullSweep, NodeMode, conc_range, key_matches, member};
use crate::ir::{
    AgenticConfig, AgenticPoint, AgenticShape, ConfigEntry, Decimal, Format, KvOffloading, RunnerTable, SearchPoint,
    Sweep, Worker, seq_len_name_head,
};

/// Agentic jobs replay traces for this long, in seconds (a generator constant at HEAD).
pub const AGENTIC_DURATION_S: i64 = 3600;
/// DRAM offload sizing never counts more host memory than this (3 TB decimal), in MiB.
const MAX_AGENTIC_DRAM_MIB: i64 = 2_861_022;

/// The options of today's `test-config` (INFERENCEX-HEAD §4.2).
#[derive(Clone, Debug, Default)]
pub struct HeadTestConfig {
    /// Keys or shell-style patterns (`*`, `?`, `[...]`), resolved in order without repeats.
    pub config_keys: Vec<String>,
    pub conc: Option<Vec<i64>>,
    pub seq_lens: Option<Vec<(i64, i64)>>,
    pub scenarios: Option<Vec<Scenario>>,
    pub runner_node_filter: Option<String>,
}

fn wants(scenarios: Option<&Vec<Scenario>>, scenario: Scenario) -> bool {
    scenarios.is_none_or(|list| list.contains(&scenario))
}

fn base_job(entry: &ConfigEntry, entry_idx: usize, scenario: Scenario) -> Job {
    Job {
        image: entry.image.value.clone(),
        model: entry.model.value.clone(),
        model_prefix: entry.model_prefix.value.clone(),
        precision: entry.precision.value.clone(),
        framework: entry.framework.value.clone(),
        runner: entry.runner.value.clone(),
        isl: 0,
        osl: 0,
        shape: JobShape::Single { tp: 0, ep: 1, dp_attn: false, conc: 0 },
        spec_decoding: crate::ir::SpecDecoding::None,
        max_model_len: 0,
        exp_name: String::new(),
        disagg: entry.disagg,
        run_eval: false,
        origin: JobOrigin {
            key: entry.key.value.clone(),
            entry_idx,
            seq_idx: 0,
            point_idx: 0,
            entry_span: entry.key.span,
            point_span: entry.span,
        },
        head: HeadFields {
            format: Format::Head,
            scenario,
            router: entry.router.clone(),
            kv_p2p_transfer: entry.kv_p2p_transfer.clone(),
            ..HeadFields::default()
        },
    }
}

/// Worker objects of HEAD jobs carry pp/dcp/pcp (defaults made explicit by the JSON writer).
fn fixed_job(entry: &ConfigEntry, entry_idx: usize, seq_idx: usize, isl: i64, osl: i64) -> Job {
    let mut job = base_job(entry, entry_idx, Scenario::FixedSeqLen);
    job.isl = isl;
    job.osl = osl;
    job.max_model_len = isl + osl + 256;
    job.exp_name = format!("{}_{}", entry.model_prefix.value, seq_len_name_head(isl, osl));
    job.origin.seq_idx = seq_idx;
    job
}

/// Where a config's jobs run: the label itself, or the filtered nodes.
enum Targets {
    Label,
    Nodes(Vec<String>),
}

impl Targets {
    fn emit(&self, job: &Job, jobs: &mut Vec<Job>) {
        match self {
            Targets::Label => jobs.push(job.clone()),
            Targets::Nodes(nodes) => {
                for node in nodes {
                    let mut job = job.clone();
                    job.runner.clone_from(node);
                    jobs.push(job);
                }
            }
        }
    }

    fn names<'a>(&'a self, label: &'a str) -> Vec<&'a str> {
        match self {
            Targets::Label => vec![label],
            Targets::Nodes(nodes) => nodes.iter().map(String::as_str).collect(),
        }
    }
}

/// `full-sweep` at HEAD (§4.1).
pub fn full_sweep(sweep: &Sweep, runners: &RunnerTable, opts: &FullSweep) -> Result<Vec<Job>, Vec<Diag>> {
    if let Some(types) = &opts.runner_type {
        let invalid: Vec<&str> = types.iter().map(String::as_str).filter(|t| runners.get(t).is_none()).collect();
        if !invalid.is_empty() {
            let mut valid: Vec<&str> = runners.names().collect();
            valid.sort_unstable();
            let mut diag = Diag::error(
                "ix::matrix::invalid-runner-type",
                format!(
                    "invalid runner type(s): {}; valid runner labels are: {}",
                    invalid.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                    valid.join(", ")
                ),
            );
            if let Some(suggestion) = did_you_mean(invalid[0], valid.iter().copied()) {
                diag = diag.help(format!("did you mean `{suggestion}`?"));
            }
            return Err(vec![diag]);
        }
    }
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    for (entry_idx, entry) in sweep.entries.iter().enumerate() {
        let kind_ok = match opts.mode {
            NodeMode::Single => !entry.multinode,
            NodeMode::Multi => entry.multinode,
            NodeMode::Both => true,
        };
        if !kind_ok
            || !key_matches(entry, opts.model_prefix.as_ref())
            || !member(&entry.precision.value, opts.precision.as_ref())
            || !member(&entry.framework.value, opts.framework.as_ref())
            || !member(&entry.runner.value, opts.runner_type.as_ref())
        {
            continue;
        }
        let targets = match &opts.runner_node_filter {
            None => Targets::Label,
            Some(filter) => {
                let nodes: Vec<String> = runners
                    .get(&entry.runner.value)
                    .map(|runner| {
                        runner.nodes.iter().map(|n| n.value.clone()).filter(|n| n.contains(filter.as_str())).collect()
                    })
                    .unwrap_or_default();
                if nodes.is_empty() {
                    continue;
                }
                Targets::Nodes(nodes)
            }
        };
        if wants(opts.scenarios.as_ref(), Scenario::FixedSeqLen) {
            full_sweep_fixed(entry, entry_idx, &targets, opts, &mut jobs);
        }
        if wants(opts.scenarios.as_ref(), Scenario::AgenticCoding) {
            let values = |point: &AgenticPoint| {
                let mut values = super::listed_or_stepped(&point.conc, opts.step_size);
                if let Some(min_conc) = opts.min_conc {
                    values.retain(|v| *v >= min_conc);
                }
                if let Some(max_conc) = opts.max_conc {
                    values.retain(|v| *v <= max_conc);
                }
                values
            };
            if let Err(diag) = agentic_jobs(entry, entry_idx, runners, &targets, &values, &mut jobs) {
                errors.push(*diag);
            }
        }
    }
    if errors.is_empty() { Ok(jobs) } else { Err(errors) }
}

fn full_sweep_fixed(entry: &ConfigEntry, entry_idx: usize, targets: &Targets, opts: &FullSweep, jobs: &mut Vec<Job>) {
    for (seq_idx, seq) in entry.seq_len_configs.iter().enumerate() {
        let (isl, osl) = (seq.isl.value, seq.osl.value);
        if opts.seq_lens.as_ref().is_some_and(|pairs| !pairs.contains(&(isl, osl))) {
            continue;
        }
        for (point_idx, point) in seq.search_space.iter().enumerate() {
            let mut job = fixed_job(entry, entry_idx, seq_idx, isl, osl);
            job.origin.point_idx = point_idx;
            job.origin.point_span = point.span();
            match point {
                SearchPoint::Single(point) => {
                    if let Some(max_tp) = opts.max_tp
                        && (max_tp <= 0 || point.tp.value > max_tp)
                    {
                        continue;
                    }
                    let mut ep = point.ep.as_ref().map_or(1, |ep| ep.value);
                    if let Some(max_ep) = opts.max_ep {
                        if max_ep <= 0 {
                            continue;
                        }
                        if point.ep.is_some() && ep > max_ep {
                            ep = max_ep;
                        }
                    }
                    let range = point.conc.range_bounds();
                    let values = match point.conc.nonempty_list() {
                        _ if range.is_none() && opts.lists_per_value => {
                            super::list_values_per_value(point.conc.list.as_ref().map_or(&[], |l| &l.value), opts)
                        }
                        Some(list) => {
                            let mut values = list.to_vec();
                            if let Some(min_conc) = opts.min_conc {
                                if min_conc <= 0 {
                                    continue;
                                }
                                values.retain(|v| *v >= min_conc);
                                if values.is_empty() {
                                    continue;
                                }
                            }
                            if let Some(max_conc) = opts.max_conc {
                                if max_conc <= 0 {
                                    continue;
                                }
                                values.retain(|v| *v <= max_conc);
                                if values.is_empty() {
                                    values.push(max_conc);
                                }
                            }
                            values
                        }
                        None => {
                            let Some((start, end)) = range else { continue };
                            match super::range_values(start, end, opts) {
                                Some(values) => values,
                                None => continue,
                            }
                        }
                    };
                    job.spec_decoding = point.spec_decoding;
                    job.head.parallel = point.parallel;
                    if point.router.is_some() {
                        job.head.router.clone_from(&point.router);
                    }
                    let dp_attn = point.dp_attn.as_ref().is_some_and(|d| d.value);
                    for conc in values {
                        job.shape = JobShape::Single { tp: point.tp.value, ep, dp_attn, conc };
                        targets.emit(&job, jobs);
                    }
                }
                SearchPoint::Multi(point) => {
                    let Some(values) = super::multi_node_values(&point.conc, opts) else { continue };
                    set_multi(&mut job, point, values);
                    targets.emit(&job, jobs);
                }
            }
        }
    }
}

fn set_multi(job: &mut Job, point: &crate::ir::MultiPoint, conc: Vec<i64>) {
    job.spec_decoding = point.spec_decoding;
    if point.router.is_some() {
        job.head.router.clone_from(&point.router);
    }
    if point.kv_p2p_transfer.is_some() {
        job.head.kv_p2p_transfer.clone_from(&point.kv_p2p_transfer);
    }
    job.shape = JobShape::Multi { prefill: point.prefill.clone(), decode: point.decode.clone(), conc };
}

/// The agentic jobs of one config: per element and point, DRAM sizing (before any
/// concurrency filter, as the reference does), then one job per value and node.
fn agentic_jobs(
    entry: &ConfigEntry,
    entry_idx: usize,
    runners: &RunnerTable,
    targets: &Targets,
    values: &dyn Fn(&AgenticPoint) -> Vec<i64>,
    jobs: &mut Vec<Job>,
) -> Result<(), Box<Diag>> {
    for (config_idx, config) in entry.agentic.iter().enumerate() {
        for (point_idx, point) in config.search_space.iter().enumerate() {
            let dram_gb = dram_offload_gb(entry, config, point, runners)?;
            let values = values(point);
            if values.is_empty() {
                continue;
            }
            let mut job = base_job(entry, entry_idx, Scenario::AgenticCoding);
            job.origin.seq_idx = config_idx;
            job.origin.point_idx = point_idx;
            job.origin.point_span = point.span;
            job.spec_decoding = point.spec_decoding;
            let offloading = point.kv_offloading.unwrap_or(KvOffloading::None);
            job.head.kv_offloading = Some(offloading);
            job.head.kv_offload_backend.clone_from(&point.kv_offload_backend);
            job.head.total_cpu_dram_gb = dram_gb;
            job.head.duration = AGENTIC_DURATION_S;
            if point.router.is_some() {
                job.head.router.clone_from(&point.router);
            }
            if point.kv_p2p_transfer.is_some() {
                job.head.kv_p2p_transfer.clone_from(&point.kv_p2p_transfer);
            }
            let kv = match (offloading, &point.kv_offload_backend) {
                (KvOffloading::Dram, Some(backend)) => format!("kvdram-{}", backend.name),
                (KvOffloading::Dram, None) => "kvdram".to_string(),
                (KvOffloading::None, _) => "kvnone".to_string(),
            };
            match &point.shape {
                AgenticShape::Single { tp, pp, dcp_size, pcp_size } => {
                    job.head.parallel =
                        crate::ir::Parallel { pp: Some(*pp), dcp_size: Some(*dcp_size), pcp_size: Some(*pcp_size) };
                    let spec = match point.spec_decoding {
                        crate::ir::SpecDecoding::None => String::new(),
                        other => format!("_spec-{}", other.as_str()),
                    };
                    let (ep, dp_attn) = (point.ep.unwrap_or(1), point.dp_attn.unwrap_or(false));
                    for conc in values {
                        job.exp_name = format!("{}_tp{tp}_conc{conc}_{kv}{spec}", entry.model_prefix.value);
                        job.shape = JobShape::Single { tp: *tp, ep, dp_attn, conc };
                        targets.emit(&job, jobs);
                    }
                }
                AgenticShape::Multi { prefill, decode } => {
                    let part = |role: char, worker: &Worker| {
                        let mut text = format!("{role}{}x{}", worker.num_worker, worker.tp);
                        if worker.ep != 1 {
                            text.push_str(&format!("ep{}", worker.ep));
                        }
                        if worker.dp_attn {
                            text.push_str("dpa");
                        }
                        text
                    };
                    let stem = format!("{}_{}_{}", entry.model_prefix.value, part('p', prefill), part('d', decode));
                    let kv_suffix = if offloading == KvOffloading::None { String::new() } else { format!("_{kv}") };
                    for node in targets.names(&entry.runner.value) {
                        for &conc in &values {
                            let mut job = job.clone();
                            job.runner = node.to_string();
                            job.exp_name = format!("{stem}_conc{conc}{kv_suffix}");
                            job.shape =
                                JobShape::Multi { prefill: prefill.clone(), decode: decode.clone(), conc: vec![conc] };
                            jobs.push(job);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `total-cpu-dram-gb` of an agentic point (§3.4), in exact integer arithmetic.
fn dram_offload_gb(
    entry: &ConfigEntry,
    config: &AgenticConfig,
    point: &AgenticPoint,
    runners: &RunnerTable,
) -> Result<i64, Box<Diag>> {
    if point.kv_offloading != Some(KvOffloading::Dram) {
        return Ok(0);
    }
    let label = &entry.runner.value;
    let Some(hardware) = runners.hardware(label) else {
        let mut keys: Vec<&str> = runners.hardware.iter().map(|h| h.key.value.as_str()).collect();
        keys.sort_unstable();
        return Err(Box::new(
            Diag::error(
                "ix::matrix::missing-runner-hardware",
                format!(
                    "runner `{label}` requires `available-cpu-dram-mib` in runner hardware metadata (config `{}`); \
                 available hardware keys: {}",
                    entry.key.value,
                    if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
                ),
            )
            .at(entry.runner.span, "no `hardware:` entry for this label")
            .help("add the label under `hardware:` in runners.yaml with `available-cpu-dram-mib` and `gpus-per-node`"),
        ));
    };
    let gpus_per_node = hardware.gpus_per_node;
    let size_error = |product: i64, what: &str| {
        Diag::error(
            "ix::matrix::offload-gpus-per-node",
            format!(
                "config `{}`: {what} uses {product} GPUs, which does not fit `gpus-per-node` {gpus_per_node} of runner `{label}`",
                entry.key.value
            ),
        )
        .at(point.span, "this agentic entry offloads to DRAM")
    };
    let gpus = match &point.shape {
        AgenticShape::Single { tp, pp, pcp_size, .. } => {
            let product = tp * pp * pcp_size;
            if product > gpus_per_node {
                return Err(Box::new(size_error(product, "the server (tp x pp x pcp-size)")));
            }
            product
        }
        AgenticShape::Multi { prefill, .. } => {
            let (pp, _, pcp_size) = prefill.parallel.values();
            let product = prefill.tp * pp * pcp_size;
            if product > gpus_per_node {
                if product % gpus_per_node != 0 {
                    return Err(Box::new(size_error(product, "the prefill worker (tp x pp x pcp-size)")));
                }
                gpus_per_node
            } else {
                if product <= 0 || gpus_per_node % product != 0 {
                    return Err(Box::new(size_error(product, "the prefill worker (tp x pp x pcp-size)")));
                }
                product
            }
        }
    };
    let utilization = config.dram_utilization.as_ref().and_then(|text| Decimal::parse(&text.value));
    let Some(utilization) = utilization else { return Ok(0) };
    let available = i128::from(hardware.available_cpu_dram_mib.min(MAX_AGENTIC_DRAM_MIB));
    let numerator = available * 1_048_576 * utilization.digits * i128::from(gpus);
    let denominator = 10i128.pow(utilization.scale) * i128::from(gpus_per_node) * 1_000_000_000;
    Ok(i64::try_from(numerator / denominator).unwrap_or(i64::MAX))
}

/// Shell-style pattern matching as Python's `fnmatch.fnmatchcase`: `*`, `?`, `[...]`, `[!...]`.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    fn class(pattern: &[char], at: usize, ch: char) -> Option<(bool, usize)> {
        let mut idx = at + 1;
        let negate = matches!(pattern.get(idx), Some('!'));
        if negate {
            idx += 1;
        }
        let start = idx;
        let mut matched = false;
        while idx < pattern.len() && (idx == start || pattern[idx] != ']') {
            if idx + 2 < pattern.len() && pattern[idx + 1] == '-' && pattern[idx + 2] != ']' {
                matched |= pattern[idx] <= ch && ch <= pattern[idx + 2];
                idx += 3;
            } else {
                matched |= pattern[idx] == ch;
                idx += 1;
            }
        }
        if idx >= pattern.len() {
            return None;
        }
        Some((matched != negate, idx + 1))
    }
    fn go(pattern: &[char], p: usize, text: &[char], t: usize) -> bool {
        if p == pattern.len() {
            return t == text.len();
        }
        match pattern[p] {
            '*' => (t..=text.len()).any(|next| go(pattern, p + 1, text, next)),
            '?' => t < text.len() && go(pattern, p + 1, text, t + 1),
            '[' => match class(pattern, p, *text.get(t).unwrap_or(&'\0')) {
                Some((ok, next)) => t < text.len() && ok && go(pattern, next, text, t + 1),
                None => t < text.len() && text[t] == '[' && go(pattern, p + 1, text, t + 1),
            },
            ch => t < text.len() && text[t] == ch && go(pattern, p + 1, text, t + 1),
        }
    }
    go(&pattern, 0, &text, 0)
}

/// Resolves test-config keys and patterns in order, without repeats.
fn resolve_keys<'s>(sweep: &'s Sweep, keys: &[String]) -> Result<Vec<(usize, &'s ConfigEntry)>, Box<Diag>> {
    let mut sorted: Vec<&str> = sweep.entries.iter().map(|e| e.key.value.as_str()).collect();
    sorted.sort_unstable();
    let mut out: Vec<(usize, &ConfigEntry)> = Vec::new();
    let push = |idx: usize, entry: &'s ConfigEntry, out: &mut Vec<(usize, &'s ConfigEntry)>| {
        if !out.iter().any(|(seen, _)| *seen == idx) {
            out.push((idx, entry));
        }
    };
    for key in keys {
        if key.contains(['*', '?']) {
            let before = out.len();
            let mut any = false;
            for (idx, entry) in sweep.entries.iter().enumerate() {
                if fnmatch(key, &entry.key.value) {
                    any = true;
                    push(idx, entry, &mut out);
                }
            }
            if !any && out.len() == before {
                let diag = Diag::error(
                    "ix::matrix::pattern-matched-nothing",
                    format!("pattern `{key}` matched no config keys"),
                )
                .help(format!("available keys: {}", sorted.join(", ")));
                return Err(Box::new(diag));
            }
        } else {
            match sweep.entries.iter().enumerate().find(|(_, e)| &e.key.value == key) {
                Some((idx, entry)) => push(idx, entry, &mut out),
                None => {
                    let mut diag =
                        Diag::error("ix::matrix::unknown-config-key", format!("config key(s) not found: {key}"));
                    diag = match did_you_mean(key, sorted.iter().copied()) {
                        Some(suggestion) => diag.help(format!("did you mean `{suggestion}`?")),
                        None => diag.help(format!("available keys: {}", sorted.join(", "))),
                    };
                    return Err(Box::new(diag));
                }
            }
        }
    }
    Ok(out)
}

/// `test-config` at HEAD (§4.2).
pub fn test_config(sweep: &Sweep, runners: &RunnerTable, opts: &HeadTestConfig) -> Result<Vec<Job>, Vec<Diag>> {
    let entries = resolve_keys(sweep, &opts.config_keys).map_err(|diag| vec![*diag])?;
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    let keep = |values: &mut Vec<i64>| {
        if let Some(keep) = &opts.conc {
            values.retain(|v| keep.contains(v));
        }
    };
    for (entry_idx, entry) in entries {
        let targets = match &opts.runner_node_filter {
            None => Targets::Label,
            Some(filter) => {
                let label = &entry.runner.value;
                let mut candidates: Vec<String> = Vec::new();
                if label.contains(filter.as_str()) {
                    candidates.push(label.clone());
                }
                if let Some(runner) = runners.get(label) {
                    candidates.extend(runner.nodes.iter().map(|n| n.value.clone()));
                }
                let mut nodes: Vec<String> = Vec::new();
                for candidate in candidates {
                    if candidate.contains(filter.as_str()) && !nodes.contains(&candidate) {
                        nodes.push(candidate);
                    }
                }
                if nodes.is_empty() {
                    continue;
                }
                Targets::Nodes(nodes)
            }
        };
        if wants(opts.scenarios.as_ref(), Scenario::FixedSeqLen) {
            for (seq_idx, seq) in entry.seq_len_configs.iter().enumerate() {
                let (isl, osl) = (seq.isl.value, seq.osl.value);
                if opts.seq_lens.as_ref().is_some_and(|pairs| !pairs.contains(&(isl, osl))) {
                    continue;
                }
                for (point_idx, point) in seq.search_space.iter().enumerate() {
                    let conc = point.concurrency();
                    let mut values = match &conc.list {
                        Some(list) => list.value.clone(),
                        None => conc.range_bounds().map_or_else(Vec::new, |(s, e)| conc_range(s, e, 2)),
                    };
                    keep(&mut values);
                    if values.is_empty() {
                        continue;
                    }
                    let mut job = fixed_job(entry, entry_idx, seq_idx, isl, osl);
                    job.origin.point_idx = point_idx;
                    job.origin.point_span = point.span();
                    match point {
                        SearchPoint::Single(point) => {
                            job.spec_decoding = point.spec_decoding;
                            job.head.parallel = point.parallel;
                            if point.router.is_some() {
                                job.head.router.clone_from(&point.router);
                            }
                            let ep = point.ep.as_ref().map_or(1, |ep| ep.value);
                            let dp_attn = point.dp_attn.as_ref().is_some_and(|d| d.value);
                            for conc in values {
                                job.shape = JobShape::Single { tp: point.tp.value, ep, dp_attn, conc };
                                targets.emit(&job, &mut jobs);
                            }
                        }
                        SearchPoint::Multi(point) => {
                            set_multi(&mut job, point, values);
                            targets.emit(&job, &mut jobs);
                        }
                    }
                }
            }
        }
        if wants(opts.scenarios.as_ref(), Scenario::AgenticCoding) {
            let values = |point: &AgenticPoint| {
                let mut values = super::listed_or_stepped(&point.conc, 2);
                keep(&mut values);
                values
            };
            if let Err(diag) = agentic_jobs(entry, entry_idx, runners, &targets, &values, &mut jobs) {
                errors.push(*diag);
            }
        }
    }
    if errors.is_empty() { Ok(jobs) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::fnmatch;
    use crate::expand::{FullSweep, NodeMode};
    use crate::source::SourceMap;

    /// `total-cpu-dram-gb` of one single-node agentic point on a runner with `hardware`.
    fn dram_gb(hardware: &str, utilization: &str, point: &str, multinode: bool) -> Result<i64, String> {
        let config = format!(
            "k:\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: f\n  runner: cluster:x\n  \
             multinode: {multinode}\n  scenarios:\n    agentic-coding:\n    - dram-utilization: {utilization}\n      \
             search-space:\n      - {point}\n"
        );
        let runners = format!("labels:\n  cluster:x: [x_0]\nhardware:\n  cluster:x: {hardware}\n");
        let mut sources = SourceMap::new();
        let file = sources.add("c.yaml".into(), Arc::from(config));
        let runners_file = sources.add("r.yaml".into(), Arc::from(runners));
        let (sweep, mut diags) = crate::ir::inferencex::lower_master_configs(&sources, &[file]);
        let table = crate::ir::runners::lower_runners(&sources, runners_file, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let jobs = super::full_sweep(&sweep, &table, &FullSweep::new(NodeMode::Both))
            .map_err(|diags| diags.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "))?;
        assert!(jobs.iter().all(|job| job.head.total_cpu_dram_gb == jobs[0].head.total_cpu_dram_gb));
        Ok(jobs[0].head.total_cpu_dram_gb)
    }

    /// The real values of INFERENCEX-HEAD §3.4, exact decimal arithmetic included.
    #[test]
    fn dram_offload_sizing_matches_the_reference() {
        let backend = "kv-offloading: dram, kv-offload-backend: { name: b }, conc-list: [1]";
        let b200 = "{ available-cpu-dram-mib: 3_095_781, gpus-per-node: 8 }";
        assert_eq!(dram_gb(b200, "0.8", &format!("{{ tp: 8, {backend} }}"), false), Ok(2399));
        assert_eq!(dram_gb(b200, "0.80", &format!("{{ tp: 8, {backend} }}"), false), Ok(2399));
        let b300 = "{ available-cpu-dram-mib: 2_964_436, gpus-per-node: 8 }";
        assert_eq!(dram_gb(b300, "0.8", &format!("{{ tp: 2, {backend} }}"), false), Ok(599));
        let gb200 = "{ available-cpu-dram-mib: 860_160, gpus-per-node: 4 }";
        let workers = "prefill: { num-worker: 1, tp: 8, pp: 2, ep: 1, dp-attn: false }, \
                       decode: { num-worker: 0, tp: 8, pp: 2, ep: 1, dp-attn: false }";
        assert_eq!(dram_gb(gb200, "0.8", &format!("{{ {backend}, {workers} }}"), true), Ok(721));
        let too_wide = dram_gb(b200, "0.8", &format!("{{ tp: 16, {backend} }}"), false).unwrap_err();
        assert!(too_wide.contains("gpus-per-node"), "{too_wide}");
        let odd = "prefill: { num-worker: 1, tp: 3, ep: 1, dp-attn: false }, decode: { num-worker: 1, tp: 3, ep: 1, dp-attn: false }";
        let uneven = dram_gb(gb200, "0.8", &format!("{{ {backend}, {odd} }}"), true).unwrap_err();
        assert!(uneven.contains("gpus-per-node"), "{uneven}");
    }

    #[test]
    fn fnmatch_follows_python() {
        assert!(fnmatch("qwen3.5-fp8-b300-*", "qwen3.5-fp8-b300-sglang"));
        assert!(fnmatch("dsr1-fp?-b200-sglang", "dsr1-fp4-b200-sglang"));
        assert!(!fnmatch("dsr1-fp?-b200-sglang", "dsr1-fp44-b200-sglang"));
        assert!(fnmatch("a[0-9]c", "a5c"));
        assert!(!fnmatch("a[!0-9]c", "a5c"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("[", "["));
    }
}
