//! Server metrics (AGENTIC.md §5.3-5.4): Prometheus text parsing and scraping, aiperf's
//! `server_metrics_export.json` shape, and the adapters that turn it into the aggregate's
//! `server_metrics` object (vLLM, SGLang, and llama.cpp, which upstream rejects).
//!
//! Counter names drop the `_total` suffix (aiperf's export does; both spellings are accepted).
//! Counters report the increase over the profiling window, gauges their avg/min/max.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

/// One parsed sample: name (without `_total`), labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub counter: bool,
}

/// Parses Prometheus text exposition (comments give the types; unknown lines are skipped).
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (head, value) = match line.rfind('}') {
            Some(close) => (&line[..=close], line[close + 1..].trim()),
            None => match line.split_once(char::is_whitespace) {
                Some((name, value)) => (name, value.trim()),
                None => continue,
            },
        };
        let value = value.split_whitespace().next().unwrap_or("");
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = match head.split_once('{') {
            Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
            None => (head, BTreeMap::new()),
        };
        if name.ends_with("_bucket") || name.ends_with("_sum") || name.ends_with("_count") || name.ends_with("_created")
        {
            continue;
        }
        let base = name.strip_suffix("_total").unwrap_or(name);
        let counter = types.get(name).or_else(|| types.get(base)).is_some_and(|kind| kind == "counter")
            || name.ends_with("_total");
        samples.push(Sample { name: base.to_owned(), labels, value, counter });
    }
    samples
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((idx, ch)) = chars.next() {
            match ch {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        value.push(next);
                    }
                }
                '"' => {
                    end = idx + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.insert(key.trim().trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end.min(after.len())..];
    }
    labels
}

/// Scrapes taken over a run: (time since the profiling start in s, samples).
#[derive(Debug, Clone, Default)]
pub struct Scrapes {
    pub url: String,
    pub snapshots: Vec<(f64, Vec<Sample>)>,
}

/// A series key (name, labels) and its points: (is counter, [(time, value)]).
type SeriesPoints = BTreeMap<(String, BTreeMap<String, String>), (bool, Vec<(f64, f64)>)>;

/// One exported series: its labels and its stats.
type SeriesStats<'a> = (&'a Map<String, Value>, &'a Map<String, Value>);

/// aiperf's export shape from a baseline scrape and the scrapes of the profiling window.
pub fn export(scrapes: &Scrapes, slice: f64) -> Value {
    let mut series: SeriesPoints = BTreeMap::new();
    for (at, samples) in &scrapes.snapshots {
        for sample in samples {
            let entry =
                series.entry((sample.name.clone(), sample.labels.clone())).or_insert((sample.counter, Vec::new()));
            entry.1.push((*at, sample.value));
        }
    }
    let mut metrics: Map<String, Value> = Map::new();
    for ((name, labels), (counter, points)) in series {
        let Some(&(first_t, first)) = points.first() else { continue };
        let &(last_t, last) = points.last().unwrap_or(&(first_t, first));
        let span = (last_t - first_t).max(1e-9);
        let stats = if counter {
            let total = (last - first).max(0.0);
            json!({"total": total, "rate": total / span})
        } else {
            let values: Vec<f64> = points.iter().map(|p| p.1).collect();
            let avg = values.iter().sum::<f64>() / values.len() as f64;
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            json!({"avg": avg, "min": min, "max": max})
        };
        let mut slices = Vec::new();
        let mut start = first_t;
        while slice > 0.0 && start < last_t {
            let inside: Vec<&(f64, f64)> = points.iter().filter(|p| p.0 >= start && p.0 <= start + slice).collect();
            if let (Some(a), Some(b)) = (inside.first(), inside.last()) {
                if counter {
                    slices.push(
                        json!({"start": start, "total": (b.1 - a.1).max(0.0), "rate": (b.1 - a.1).max(0.0) / slice}),
                    );
                } else {
                    let avg = inside.iter().map(|p| p.1).sum::<f64>() / inside.len() as f64;
                    slices.push(json!({"start": start, "avg": avg}));
                }
            }
            start += slice;
        }
        let entry = metrics
            .entry(name)
            .or_insert_with(|| json!({"type": if counter { "counter" } else { "gauge" }, "series": []}));
        if let Some(list) = entry.get_mut("series").and_then(Value::as_array_mut) {
            list.push(json!({"endpoint_url": scrapes.url, "labels": labels, "stats": stats, "timeslices": slices}));
        }
    }
    json!({
        "schema_version": "ix-1",
        "summary": {"endpoints_configured": [scrapes.url], "endpoints_successful": if scrapes.snapshots.is_empty() { json!([]) } else { json!([scrapes.url]) }},
        "metrics": metrics,
    })
}

/// `server.log` (and `watchtower-*.out` up to 3 folders up), concatenated.
pub fn read_logs(result_dir: &Path) -> String {
    let mut text = std::fs::read_to_string(result_dir.join("server.log")).unwrap_or_default();
    let mut dir = Some(result_dir);
    for _ in 0..4 {
        let Some(current) = dir else { break };
        if let Ok(entries) = std::fs::read_dir(current) {
            let mut names: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("watchtower-") && n.ends_with(".out"))
                })
                .collect();
            names.sort();
            for name in names {
                text.push_str(&std::fs::read_to_string(name).unwrap_or_default());
            }
        }
        dir = current.parent();
    }
    text
}

/// The KV pool size from server logs: vLLM `GPU KV cache size: N tokens` summed per engine,
/// SGLang `max_total_num_tokens=N` per DP rank (× `dp_size` when only one rank logged).
fn pool_from_logs(logs: &str) -> Option<u64> {
    let number = |text: &str| -> Option<u64> {
        let digits: String =
            text.chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(|c| *c != ',').collect();
        digits.parse().ok()
    };
    let mut vllm: BTreeMap<String, u64> = BTreeMap::new();
    let mut sglang: BTreeMap<String, u64> = BTreeMap::new();
    let mut dp_size = 1u64;
    for line in logs.lines() {
        if let Some(pos) = line.find("GPU KV cache size: ") {
            let engine = line.split_whitespace().next().unwrap_or("").trim_start_matches('(').to_owned();
            if let Some(n) = number(&line[pos + "GPU KV cache size: ".len()..]) {
                vllm.insert(engine, n);
            }
        }
        if let Some(pos) = line.find("max_total_num_tokens=") {
            let rank = line
                .find(" DP")
                .map(|at| line[at + 1..].split_whitespace().next().unwrap_or("").to_owned())
                .unwrap_or_default();
            if let Some(n) = number(&line[pos + "max_total_num_tokens=".len()..]) {
                sglang.entry(rank).or_insert(n);
            }
        }
        if let Some(pos) = line.find("dp_size=") {
            dp_size = number(&line[pos + "dp_size=".len()..]).unwrap_or(1).max(1);
        }
    }
    if !vllm.is_empty() {
        return Some(vllm.values().sum());
    }
    if !sglang.is_empty() {
        let sum: u64 = sglang.values().sum();
        return Some(if sglang.len() == 1 { sum * dp_size } else { sum });
    }
    None
}

/// Reads series of one metric from an export: `(labels, stats)`.
fn series<'a>(metrics: &'a Map<String, Value>, name: &str) -> Vec<SeriesStats<'a>> {
    let entry = metrics.get(name).or_else(|| metrics.get(&format!("{name}_total")));
    let Some(list) = entry.and_then(|m| m.get("series")).and_then(Value::as_array) else { return Vec::new() };
    list.iter().filter_map(|s| Some((s.get("labels")?.as_object()?, s.get("stats")?.as_object()?))).collect()
}

fn stat_sum(metrics: &Map<String, Value>, name: &str, stat: &str) -> Option<f64> {
    let values: Vec<f64> =
        series(metrics, name).iter().filter_map(|(_, s)| s.get(stat).and_then(Value::as_f64)).collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

fn stat_max(metrics: &Map<String, Value>, name: &str, stat: &str) -> Option<f64> {
    series(metrics, name).iter().filter_map(|(_, s)| s.get(stat).and_then(Value::as_f64)).reduce(f64::max)
}

fn by_label(metrics: &Map<String, Value>, name: &str, label: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (labels, stats) in series(metrics, name) {
        if let (Some(key), Some(total)) =
            (labels.get(label).and_then(Value::as_str), stats.get("total").and_then(Value::as_f64))
        {
            let previous = out.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            out.insert(key.to_owned(), (previous + total).into());
        }
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => (a / b).into(),
        _ => Value::Null,
    }
}

fn opt(value: Option<f64>) -> Value {
    value.map_or(Value::Null, Value::from)
}

/// Which adapter reads an export: by metric prefix, else by framework.
fn adapter(metrics: &Map<String, Value>, framework: &str) -> Result<&'static str, String> {
    let has = |prefix: &str| metrics.keys().any(|k| k.starts_with(prefix));
    if has("dynamo_") {
        return Ok("dynamo-vllm");
    }
    for (prefix, name) in [("atom:", "atom"), ("sglang:", "sglang"), ("vllm:", "vllm"), ("llamacpp:", "llamacpp")] {
        if has(prefix) {
            return Ok(name);
        }
    }
    if !metrics.is_empty() {
        let first = metrics.keys().next().map(String::as_str).unwrap_or("");
        return Err(format!("unknown server metric family (first metric `{first}`)"));
    }
    Ok(match framework {
        f if f.starts_with("dynamo") => "dynamo-vllm",
        "sglang" => "sglang",
        "atom" => "atom",
        _ => "vllm",
    })
}

/// The aggregate's `server_metrics` object.
pub fn summarize(
    export: Option<&Value>,
    logs: &str,
    framework: &str,
    requests_completed: u64,
    prompt_fallback: u64,
    generation_fallback: u64,
) -> Result<Value, String> {
    let empty = Map::new();
    let metrics = export.and_then(|e| e.get("metrics")).and_then(Value::as_object).unwrap_or(&empty);
    let adapter = adapter(metrics, framework)?;
    let (mut gpu_hit, mut cpu_hit, mut external_hit, mut overall) =
        (Value::Null, Value::Null, Value::Null, Value::Null);
    let (mut hits, mut queries, mut external_hits, mut external_queries) = (None, None, None, None);
    let mut cached_by_source = Map::new();
    let (mut gpu_usage, mut gpu_total, mut cpu_usage, mut cpu_used, mut cpu_total) = (None, None, None, None, None);
    let (mut prompt, mut generation) = (None, None);
    let (mut gpu_cache_hit, mut cpu_or_external, mut computed) = (None, None, None);
    let mut raw = Map::new();
    let mut sources = Vec::new();
    match adapter {
        "vllm" | "dynamo-vllm" => {
            prompt = stat_sum(metrics, "vllm:prompt_tokens", "total");
            generation = stat_sum(metrics, "vllm:generation_tokens", "total");
            hits = stat_sum(metrics, "vllm:prefix_cache_hits", "total");
            queries = stat_sum(metrics, "vllm:prefix_cache_queries", "total");
            external_hits = stat_sum(metrics, "vllm:external_prefix_cache_hits", "total");
            external_queries = stat_sum(metrics, "vllm:external_prefix_cache_queries", "total");
            gpu_hit = ratio(hits, queries);
            external_hit = ratio(external_hits, external_queries);
            cpu_hit = external_hit.clone();
            overall = gpu_hit.clone();
            let by_source = by_label(metrics, "vllm:prompt_tokens_by_source", "source");
            if !by_source.is_empty() {
                let get = |key: &str| by_source.get(key).and_then(Value::as_f64);
                let total: f64 = by_source.values().filter_map(Value::as_f64).sum();
                let local = get("local_cache_hit");
                let external = get("external_kv_transfer");
                gpu_hit = ratio(local, Some(total));
                if external.is_some() {
                    cpu_hit = ratio(external, Some(total));
                    external_hit = cpu_hit.clone();
                }
                overall = ratio(Some(local.unwrap_or(0.0) + external.unwrap_or(0.0)), Some(total));
                gpu_cache_hit = local;
                cpu_or_external = external;
                computed = get("local_compute");
                raw = by_source;
            }
            let usage = stat_max(metrics, "vllm:kv_cache_usage_perc", "max")
                .or_else(|| stat_max(metrics, "vllm:gpu_cache_usage_perc", "max"));
            gpu_usage = usage.map(|u| if u > 1.5 { u / 100.0 } else { u });
            cpu_usage =
                stat_max(metrics, "vllm:cpu_kv_cache_usage_perc", "max").map(|u| if u > 1.5 { u / 100.0 } else { u });
            for (labels, stats) in series(metrics, "vllm:prompt_tokens") {
                let engine = labels.get("engine").and_then(Value::as_str).unwrap_or("0");
                let url = export
                    .and_then(|e| e.pointer("/metrics/vllm:prompt_tokens/series/0/endpoint_url"))
                    .and_then(Value::as_str)
                    .or_else(|| {
                        export
                            .and_then(|e| e.pointer("/summary/endpoint_info"))
                            .and_then(Value::as_object)
                            .and_then(|info| info.keys().next().map(String::as_str))
                    })
                    .unwrap_or("");
                let engine_series = |name: &str, stat: &str| {
                    series(metrics, name)
                        .iter()
                        .filter(|(l, _)| l.get("engine").and_then(Value::as_str).unwrap_or("0") == engine)
                        .filter_map(|(_, s)| s.get(stat).and_then(Value::as_f64))
                        .reduce(f64::max)
                };
                sources.push(json!({
                    "id": format!("combined|{url}|engine={engine}"),
                    "role": "combined",
                    "prompt_tokens": opt(stats.get("total").and_then(Value::as_f64)),
                    "generation_tokens": opt(engine_series("vllm:generation_tokens", "total")),
                    "prefix_cache_hit_rate": ratio(engine_series("vllm:prefix_cache_hits", "total"), engine_series("vllm:prefix_cache_queries", "total")),
                    "gpu_kv_cache_usage_pct": opt(engine_series("vllm:kv_cache_usage_perc", "max")),
                }));
            }
        }
        "sglang" => {
            prompt = stat_sum(metrics, "sglang:prompt_tokens", "total");
            generation = stat_sum(metrics, "sglang:generation_tokens", "total");
            cached_by_source = by_label(metrics, "sglang:cached_tokens", "cache_source");
            let get = |key: &str| cached_by_source.get(key).and_then(Value::as_f64);
            if !cached_by_source.is_empty() {
                let device = get("device");
                let host = get("host");
                let total: f64 = cached_by_source.values().filter_map(Value::as_f64).sum();
                gpu_hit = ratio(device, prompt);
                cpu_hit = ratio(host, prompt);
                external_hit = cpu_hit.clone();
                overall = ratio(Some(total), prompt);
                gpu_cache_hit = device;
                cpu_or_external = host;
                raw = cached_by_source.clone();
            } else {
                overall = opt(series(metrics, "sglang:cache_hit_rate")
                    .iter()
                    .filter_map(|(_, s)| s.get("avg").and_then(Value::as_f64))
                    .reduce(|a, b| (a + b) / 2.0));
            }
            computed = series(metrics, "sglang:realtime_tokens")
                .iter()
                .filter(|(l, _)| l.get("mode").and_then(Value::as_str) == Some("prefill_compute"))
                .filter_map(|(_, s)| s.get("total").and_then(Value::as_f64))
                .reduce(|a, b| a + b);
            gpu_usage = stat_max(metrics, "sglang:token_usage", "max");
            gpu_total = stat_max(metrics, "sglang:max_total_num_tokens", "max");
            cpu_used = stat_max(metrics, "sglang:hicache_host_used_tokens", "max");
            cpu_total = stat_max(metrics, "sglang:hicache_host_total_tokens", "max");
            if let (Some(used), Some(total)) = (cpu_used, cpu_total) {
                cpu_usage = (total > 0.0).then(|| used / total);
            }
        }
        "llamacpp" => {
            // llama.cpp's prompt counter excludes cached tokens.
            let computed_tokens = stat_sum(metrics, "llamacpp:prompt_tokens", "total");
            let cached = stat_sum(metrics, "llamacpp:prompt_tokens_cached", "total");
            generation = stat_sum(metrics, "llamacpp:tokens_predicted", "total");
            if let (Some(computed_tokens), Some(cached)) = (computed_tokens, cached) {
                prompt = Some(computed_tokens + cached);
                hits = Some(cached);
                queries = prompt;
                gpu_hit = ratio(Some(cached), prompt);
                overall = gpu_hit.clone();
                gpu_cache_hit = Some(cached);
                computed = Some(computed_tokens);
            }
        }
        _ => {
            let cached = stat_sum(metrics, "atom:prefix_cache_cached_tokens", "total");
            let full = stat_sum(metrics, "atom:prefix_cache_full_tokens", "total");
            gpu_hit = ratio(cached, full);
            overall = gpu_hit.clone();
        }
    }
    let pool = pool_from_logs(logs).map(|n| n as f64).or(gpu_total);
    let as_int = |v: Option<f64>| {
        v.map_or(Value::Null, |v| if v.fract() == 0.0 { Value::from(v as i64) } else { Value::from(v) })
    };
    Ok(json!({
        "present": !metrics.is_empty(),
        "adapter": adapter,
        "metric_count": metrics.len(),
        "cache": {
            "gpu_cache_hit_rate": gpu_hit,
            "cpu_cache_hit_rate": cpu_hit,
            "external_cache_hit_rate": external_hit,
            "overall_cache_hit_rate": overall,
            "prefix_cache_hits": as_int(hits),
            "prefix_cache_queries": as_int(queries),
            "external_prefix_cache_hits": as_int(external_hits),
            "external_prefix_cache_queries": as_int(external_queries),
            "cached_tokens_by_source": Value::Object(cached_by_source.into_iter().map(|(k, v)| (k, as_int(v.as_f64()))).collect()),
            "frontend_cache_hit_rate": Value::Null,
            "router_kv_hit_rate": Value::Null,
            "router_shared_cache_hit_rate": Value::Null,
            "frontend_cached_tokens": Value::Null,
            "frontend_input_tokens": Value::Null,
        },
        "kv_cache": {
            "gpu_usage_pct": opt(gpu_usage),
            "gpu_total_tokens": as_int(pool),
            "cpu_usage_pct": opt(cpu_usage),
            "cpu_used_tokens": as_int(cpu_used),
            "cpu_total_tokens": as_int(cpu_total),
        },
        "kv_offload": {
            "bytes_gpu_to_cpu": Value::Null,
            "bytes_cpu_to_gpu": Value::Null,
            "time_gpu_to_cpu": Value::Null,
            "time_cpu_to_gpu": Value::Null,
            "bandwidth_gpu_to_cpu_bytes_per_second": Value::Null,
            "bandwidth_cpu_to_gpu_bytes_per_second": Value::Null,
        },
        "tokens": {
            "prompt_total": as_int(prompt.or(Some(prompt_fallback as f64))),
            "generation_total": as_int(generation.or(Some(generation_fallback as f64))),
            "requests_completed": requests_completed,
            "prompt_by_source": {
                "gpu_cache_hit": as_int(gpu_cache_hit),
                "cpu_or_external_cache_hit": as_int(cpu_or_external),
                "computed": as_int(computed),
                "raw": Value::Object(raw.into_iter().map(|(k, v)| (k, as_int(v.as_f64()))).collect()),
            },
        },
        "sources": sources,
    }))
}

/// Scrapes one `/metrics` URL with a plain HTTP/1.1 GET (loopback servers; `None` on failure).
pub async fn scrape(url: &str) -> Option<Vec<Sample>> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(idx) => (&rest[..idx], &rest[idx..]),
        None => (rest, "/metrics"),
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(authority).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body).await.ok()?;
    let text = String::from_utf8_lossy(&body);
    let (head, rest) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return None;
    }
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_owned() };
    Some(parse_prometheus(&body))
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_drops_total_and_keeps_labels() {
        let text = "# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{engine=\"0\",model_name=\"m\"} 12.0\n# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 2\nbad line\nh_bucket{le=\"1\"} 3\n";
        let samples = parse_prometheus(text);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].name, "vllm:prompt_tokens");
        assert!(samples[0].counter);
        assert_eq!(samples[0].labels.get("engine").map(String::as_str), Some("0"));
        assert!(!samples[1].counter);
    }

    #[test]
    fn llamacpp_adapter_counts_cached_over_all_prompt_tokens() {
        let before = parse_prometheus(
            "llamacpp:prompt_tokens_total 100\nllamacpp:prompt_tokens_cached_total 0\nllamacpp:tokens_predicted_total 5\n",
        );
        let after = parse_prometheus(
            "llamacpp:prompt_tokens_total 400\nllamacpp:prompt_tokens_cached_total 900\nllamacpp:tokens_predicted_total 50\n",
        );
        let scrapes = Scrapes { url: "http://x/metrics".into(), snapshots: vec![(0.0, before), (1.0, after)] };
        let summary = summarize(Some(&export(&scrapes, 1.0)), "", "llamacpp", 3, 0, 0).expect("adapter");
        assert_eq!(summary["adapter"], "llamacpp");
        assert_eq!(summary["cache"]["gpu_cache_hit_rate"], 0.75);
        assert_eq!(summary["tokens"]["prompt_total"], 1200);
        assert!(summarize(Some(&json!({"metrics": {"foo:x": {}}})), "", "vllm", 0, 0, 0).is_err());
    }
}
