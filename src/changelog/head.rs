//! Today's perf-changelog processing (INFERENCEX-HEAD §6.3-§6.6): per-scenario coverage,
//! all-evals entries first, separate throughput and eval runs, `--trim-conc`, recipe
//! fingerprints and the output object with its eval lists.
//!
//! The Feb-2026 processing stays in the parent module. Append-only entries (§6.4) compare the
//! throughput rows of the base revision's configs (read through git by the caller) with the
//! head's and emit only the new points; of the reference's scope checks, `ix` keeps "every
//! selected config exists at base", "every base curve and concurrency survives" and "every new
//! row extends an existing series with the same image" (COMPAT.md).

use serde_json::{Map, Value, json};

use super::Entry;
use crate::diag::Diag;
use crate::expand::head::{HeadTestConfig, test_config};
use crate::expand::{self, HeadEvals, Job, KeyOrder, Scenario};
use crate::ir::{RunnerTable, Sweep, seq_len_name_head};

/// The processor's own flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadFlags {
    pub trim_conc: bool,
    pub all_evals: bool,
    pub evals_only: bool,
}

/// Configs grouped by the scenario tuple still to run for them, in first-seen order.
fn groups(
    keys: &[String],
    scenarios: &[Scenario],
    covered: &mut Vec<(String, Scenario)>,
) -> Vec<(Vec<Scenario>, Vec<String>)> {
    let mut out: Vec<(Vec<Scenario>, Vec<String>)> = Vec::new();
    for key in keys {
        let fresh: Vec<Scenario> =
            scenarios.iter().copied().filter(|s| !covered.iter().any(|(k, c)| k == key && c == s)).collect();
        if fresh.is_empty() {
            continue;
        }
        covered.extend(fresh.iter().map(|s| (key.clone(), *s)));
        match out.iter_mut().find(|(tuple, _)| *tuple == fresh) {
            Some((_, members)) => members.push(key.clone()),
            None => out.push((fresh, vec![key.clone()])),
        }
    }
    out
}

/// The processor's output for the added entries (§6.6).
pub fn jobs_output(
    sweep: &Sweep,
    runners: &RunnerTable,
    entries: &[Entry],
    resolved: &[Vec<String>],
    flags: HeadFlags,
    refs: (&str, &str),
    base: Option<(&Sweep, &RunnerTable)>,
) -> Result<Value, Vec<Diag>> {
    if let Some(entry) = entries.iter().find(|entry| entry.append_only) {
        let refusal = if entries.iter().any(|e| !e.append_only) {
            Some("append-only entries cannot be mixed with regular entries in one change")
        } else if flags.all_evals || flags.evals_only {
            Some("append-only entries cannot be processed with `--all-evals` or `--evals-only`")
        } else if base.is_none() {
            Some("append-only entries need the base revision's master configs")
        } else {
            None
        };
        if let Some(message) = refusal {
            let keys: Vec<&str> = entry.config_keys.iter().map(|k| k.value.as_str()).collect();
            let message = format!("{message} (the `append-only` entry for `{}`)", keys.join("`, `"));
            return Err(vec![
                Diag::error("ix::changelog::append-only", message)
                    .help("an append-only entry adds points to existing curves; give it a change of its own"),
            ]);
        }
    }
    if let Some((base_sweep, base_runners)) = base
        && entries.iter().any(|entry| entry.append_only)
    {
        let rows = append_only_rows(sweep, runners, base_sweep, base_runners, entries, resolved)?;
        return Ok(output(rows, Vec::new(), entries, refs));
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&idx| !entries[idx].all_evals);
    let mut throughput: Vec<Job> = Vec::new();
    let mut evals: Vec<Job> = Vec::new();
    let mut covered_throughput: Vec<(String, Scenario)> = Vec::new();
    let mut covered_evals: Vec<(String, Scenario)> = Vec::new();
    for idx in order {
        let (entry, keys) = (&entries[idx], &resolved[idx]);
        let scenarios = entry.scenarios();
        if !(flags.evals_only || entry.evals_only || entry.all_evals) {
            for (tuple, members) in groups(keys, &scenarios, &mut covered_throughput) {
                let opts = HeadTestConfig { config_keys: members, scenarios: Some(tuple), ..HeadTestConfig::default() };
                throughput.extend(test_config(sweep, runners, &opts)?);
            }
        }
        for (tuple, members) in groups(keys, &scenarios, &mut covered_evals) {
            let opts = HeadTestConfig { config_keys: members, scenarios: Some(tuple), ..HeadTestConfig::default() };
            let mut jobs = test_config(sweep, runners, &opts)?;
            let all_evals = flags.all_evals || entry.all_evals;
            expand::mark_evals_head(&mut jobs, HeadEvals { evals_only: true, all_evals });
            if let Some(min_ep) = entry.eval_min_prefill_ep {
                jobs.retain(|job| match &job.shape {
                    expand::JobShape::Multi { prefill, .. } => prefill.ep >= min_ep,
                    expand::JobShape::Single { .. } => true,
                });
            }
            evals.extend(jobs);
        }
    }
    let mut rows = fingerprinted(throughput);
    if flags.trim_conc {
        rows = trim_conc(rows);
    }
    Ok(output(rows, evals, entries, refs))
}

/// Throughput rows as the generator prints them, each with its `recipe-fingerprint`.
fn fingerprinted(jobs: Vec<Job>) -> Vec<(Job, Value)> {
    jobs.into_iter()
        .map(|job| {
            let mut value = job.to_json(KeyOrder::Sweep);
            let fingerprint = recipe_fingerprint(&value);
            if let Value::Object(map) = &mut value {
                map.insert("recipe-fingerprint".into(), Value::String(fingerprint));
            }
            (job, value)
        })
        .collect()
}

/// A row without the fields that vary along a curve: its curve identity (§6.4).
fn curve_key(value: &Value) -> String {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        for field in ["conc", "exp-name", "recipe-fingerprint"] {
            map.shift_remove(field);
        }
    }
    value.to_string()
}

/// The plotted series a row belongs to (§6.4): model, prefix, precision, framework, runner,
/// disagg, scenario, isl/osl and spec for fixed rows, offload on/off, worker hardware.
fn series_key(job: &Job) -> String {
    let hardware = match &job.shape {
        expand::JobShape::Multi { prefill, decode, .. } => format!("{:?}/{:?}", prefill.hardware, decode.hardware),
        expand::JobShape::Single { .. } => String::new(),
    };
    let fixed = if job.is_agentic() {
        String::new()
    } else {
        format!("{}/{}/{}", job.isl, job.osl, job.spec_decoding.as_str())
    };
    let offload = job.head.kv_offloading.is_some_and(|kv| kv == crate::ir::KvOffloading::Dram);
    let runner = &job.runner;
    format!(
        "{}|{}|{}|{}|{runner}|{}|{}|{fixed}|{offload}|{hardware}",
        job.model,
        job.model_prefix,
        job.precision,
        job.framework,
        job.disagg,
        job.head.scenario.as_str()
    )
}

fn row_concs(value: &Value) -> Vec<i64> {
    match value.get("conc") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_i64).collect(),
        Some(other) => other.as_i64().into_iter().collect(),
        None => Vec::new(),
    }
}

/// The new points of append-only entries (§6.4): the same test-config on base and head, every
/// base curve and concurrency kept at head, and only what head adds emitted.
fn append_only_rows(
    sweep: &Sweep,
    runners: &RunnerTable,
    base_sweep: &Sweep,
    base_runners: &RunnerTable,
    entries: &[Entry],
    resolved: &[Vec<String>],
) -> Result<Vec<(Job, Value)>, Vec<Diag>> {
    let error = |message: String| vec![Diag::error("ix::changelog::append-only", message)];
    let mut out = Vec::new();
    let mut covered: Vec<(String, Scenario)> = Vec::new();
    for (entry, keys) in entries.iter().zip(resolved) {
        if let Some(missing) = keys.iter().find(|key| base_sweep.entry(key).is_none()) {
            return Err(error(format!("append-only entry: config `{missing}` does not exist at the base revision")));
        }
        for (tuple, members) in groups(keys, &entry.scenarios(), &mut covered) {
            let opts = HeadTestConfig { config_keys: members, scenarios: Some(tuple), ..HeadTestConfig::default() };
            let base_rows = fingerprinted(test_config(base_sweep, base_runners, &opts)?);
            let head_rows = fingerprinted(test_config(sweep, runners, &opts)?);
            if base_rows.is_empty() {
                return Err(error("append-only entry: the base revision has no rows for its configs".into()));
            }
            let head_curves: Vec<(String, Vec<i64>)> = {
                let mut curves: Vec<(String, Vec<i64>)> = Vec::new();
                for (_, value) in &head_rows {
                    let key = curve_key(value);
                    match curves.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, concs)) => concs.extend(row_concs(value)),
                        None => curves.push((key, row_concs(value))),
                    }
                }
                curves
            };
            let mut base_curves: Vec<(String, Vec<i64>)> = Vec::new();
            for (_, value) in &base_rows {
                let key = curve_key(value);
                let concs = row_concs(value);
                match head_curves.iter().find(|(k, _)| *k == key) {
                    Some((_, head_concs)) if concs.iter().all(|c| head_concs.contains(c)) => {}
                    _ => {
                        return Err(error(format!(
                            "append-only entry: a base curve or concurrency of `{}` is gone at head",
                            value.get("exp-name").and_then(Value::as_str).unwrap_or("?")
                        )));
                    }
                }
                match base_curves.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, all)) => all.extend(concs),
                    None => base_curves.push((key, concs)),
                }
            }
            let before = out.len();
            for (job, mut value) in head_rows {
                let known: &[i64] =
                    base_curves.iter().find(|(k, _)| *k == curve_key(&value)).map_or(&[], |(_, c)| c.as_slice());
                let fresh: Vec<i64> = row_concs(&value).into_iter().filter(|c| !known.contains(c)).collect();
                if fresh.is_empty() {
                    continue;
                }
                let series = series_key(&job);
                let base_images: Vec<&str> = base_rows
                    .iter()
                    .filter(|(base_job, _)| series_key(base_job) == series)
                    .map(|(base_job, _)| base_job.image.as_str())
                    .collect();
                if base_images.is_empty() || base_images.iter().any(|image| *image != job.image) {
                    return Err(error(format!(
                        "append-only entry: `{}` does not extend an existing series with the same image",
                        job.exp_name
                    )));
                }
                if job.is_multinode() {
                    value["conc"] = json!(fresh);
                }
                out.push((job, value));
            }
            if out.len() == before {
                return Err(error("append-only entry: head adds no new points".into()));
            }
        }
    }
    Ok(out)
}

/// The processor's output object from throughput rows and eval jobs.
fn output(rows: Vec<(Job, Value)>, evals: Vec<Job>, entries: &[Entry], refs: (&str, &str)) -> Value {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (job, value) in rows {
        let bucket = if job.is_agentic() { "agentic".to_string() } else { seq_len_name_head(job.isl, job.osl) };
        let target = if job.is_multinode() { &mut multi } else { &mut single };
        if let Value::Array(list) = target.entry(bucket).or_insert_with(|| json!([])) {
            list.push(revalidate(&job, value));
        }
    }
    let mut lists: [Vec<Value>; 4] = Default::default();
    for job in evals {
        let slot = match (job.is_multinode(), job.is_agentic()) {
            (false, false) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (true, true) => 3,
        };
        let value = job.to_json(KeyOrder::Sweep);
        lists[slot].push(revalidate(&job, value));
    }
    let [fixed_evals, agentic_evals, multinode_evals, multinode_agentic_evals] = lists;
    let entries: Vec<Value> = entries.iter().map(Entry::to_json_head).collect();
    json!({
        "single_node": single,
        "multi_node": multi,
        "evals": fixed_evals,
        "agentic_evals": agentic_evals,
        "multinode_evals": multinode_evals,
        "multinode_agentic_evals": multinode_agentic_evals,
        "changelog_metadata": { "base_ref": refs.0, "head_ref": refs.1, "entries": entries },
    })
}

/// Defaults the reference's output models add to rows the generator printed without them.
fn revalidate(job: &Job, mut value: Value) -> Value {
    let Value::Object(map) = &mut value else { return value };
    if !job.is_agentic() {
        map.entry("eval-only").or_insert(Value::Bool(false));
        if job.is_multinode() {
            map.entry("eval-all-concs").or_insert(Value::Bool(false));
        }
    }
    for worker in ["prefill", "decode"] {
        if let Some(Value::Object(w)) = map.get_mut(worker) {
            w.entry("additional-settings").or_insert_with(|| json!([]));
        }
    }
    value
}

/// `--trim-conc`: single-node rows keep the lowest concurrency of their curve (first on ties),
/// multi-node rows keep `conc: [min]`.
fn trim_conc(rows: Vec<(Job, Value)>) -> Vec<(Job, Value)> {
    let curve = |value: &Value| {
        let mut value = value.clone();
        if let Value::Object(map) = &mut value {
            map.shift_remove("conc");
            map.shift_remove("exp-name");
        }
        value.to_string()
    };
    let conc = |value: &Value| value.get("conc").and_then(Value::as_i64).unwrap_or(i64::MAX);
    let mut best: Vec<(String, usize)> = Vec::new();
    for (idx, (job, value)) in rows.iter().enumerate() {
        if job.is_multinode() {
            continue;
        }
        let key = curve(value);
        match best.iter_mut().find(|(k, _)| *k == key) {
            Some((_, kept)) => {
                if conc(value) < conc(&rows[*kept].1) {
                    *kept = idx;
                }
            }
            None => best.push((key, idx)),
        }
    }
    rows.into_iter()
        .enumerate()
        .filter_map(|(idx, (mut job, mut value))| {
            if job.is_multinode() {
                if let expand::JobShape::Multi { conc, .. } = &mut job.shape
                    && let Some(min) = conc.iter().min().copied()
                {
                    *conc = vec![min];
                    value["conc"] = json!([min]);
                }
                return Some((job, value));
            }
            best.iter().any(|(_, kept)| *kept == idx).then_some((job, value))
        })
        .collect()
}

/// `recipe-fingerprint` (§6.5): SHA-256 of the generator's row without `conc`, `exp-name` and
/// `recipe-fingerprint`, as JSON with sorted keys, `,`/`:` separators and ASCII escapes.
pub fn recipe_fingerprint(row: &Value) -> String {
    let mut text = String::new();
    if let Value::Object(map) = row {
        let mut trimmed = map.clone();
        for field in ["conc", "exp-name", "recipe-fingerprint"] {
            trimmed.shift_remove(field);
        }
        canonical_json(&Value::Object(trimmed), &mut text);
    }
    sha256_hex(text.as_bytes())
}

fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (idx, key) in keys.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                out.push_str(&expand::to_python_json(&Value::String((*key).clone())));
                out.push(':');
                canonical_json(&map[*key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&expand::to_python_json(other)),
    }
}

/// SHA-256 (FIPS 180-4), lower-case hex. Small inputs only (one fingerprint per row).
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (idx, word) in block.chunks_exact(4).enumerate() {
            w[idx] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for idx in 16..64 {
            let s0 = w[idx - 15].rotate_right(7) ^ w[idx - 15].rotate_right(18) ^ (w[idx - 15] >> 3);
            let s1 = w[idx - 2].rotate_right(17) ^ w[idx - 2].rotate_right(19) ^ (w[idx - 2] >> 10);
            w[idx] = w[idx - 16].wrapping_add(s0).wrapping_add(w[idx - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for idx in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[idx]).wrapping_add(w[idx]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (h, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (slot, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *slot = slot.wrapping_add(value);
        }
    }
    state.iter().map(|word| format!("{word:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{recipe_fingerprint, sha256_hex};

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(sha256_hex(long), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }

    /// The worked example of INFERENCEX-HEAD §6.5 (conc and exp-name do not count).
    #[test]
    fn recipe_fingerprint_matches_the_reference_example() {
        let row = serde_json::json!({
            "image": "lmsysorg/sglang:v0.5.16-cu130", "model": "nvidia/DeepSeek-R1-0528-FP4-V2",
            "model-prefix": "dsr1", "precision": "fp4", "framework": "sglang", "runner": "b200",
            "isl": 8192, "osl": 1024, "tp": 4, "pp": 1, "dcp-size": 1, "pcp-size": 1, "conc": 8,
            "max-model-len": 9472, "ep": 1, "dp-attn": false, "spec-decoding": "none",
            "exp-name": "dsr1_8k1k", "disagg": false, "run-eval": false
        });
        assert_eq!(recipe_fingerprint(&row), "a0b83a5b8efc84ac94f3f1681b70aa1b31298d01b41105148fb190e120468aa6");
    }
}
