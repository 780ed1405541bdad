//! The report's agentic-coding section (AGENTIC.md §5.4 aggregates): the records flattened
//! for the shared chart code, and the section's charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::{ChartPoint, ChartSpec, LineKind, Row, escape, grouped, legend_items, render_chart, rows};
use crate::results::Record;

/// Agentic aggregates as flat records: identity plus `median_intvty`, `tput_per_gpu`,
/// `median_ttft` (s) and the cache hit rates, so the chart code reads them like the others.
pub(super) fn flatten_agentic(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|record| {
            let value = Value::Object(record.fields.clone());
            let mut fields = serde_json::Map::new();
            for key in
                ["infmax_model_prefix", "model", "hw", "framework", "precision", "spec_decoding", "tp", "ep", "conc"]
            {
                fields.insert(key.into(), record.fields.get(key).cloned().unwrap_or(Value::Null));
            }
            fields.insert("isl".into(), 0.into());
            fields.insert("osl".into(), 0.into());
            for (key, pointer) in [
                ("median_intvty", "/request_metrics/latency/intvty/p50"),
                ("tput_per_gpu", "/request_metrics/throughput/per_gpu/total_tput_tps"),
                ("median_ttft", "/request_metrics/latency/ttft/p50"),
                ("server_cache_hit_rate", "/server_metrics/cache/overall_cache_hit_rate"),
                ("theoretical_cache_hit_rate", "/request_metrics/cache/theoretical_cache_hit_rate"),
            ] {
                fields.insert(key.into(), value.pointer(pointer).cloned().unwrap_or(Value::Null));
            }
            fields.insert(
                "ttft_by_context_length".into(),
                value.pointer("/ix/ttft_by_context_length").cloned().unwrap_or(Value::Null),
            );
            Record { path: record.path.clone(), fields }
        })
        .collect()
}

/// The agentic section: per model, throughput vs interactivity, cache hit rate and TTFT against
/// users (concurrency), one series per hardware/framework/precision; then TTFT against context
/// length, one series per configuration and user count.
pub(super) fn render_agentic(out: &mut String, records: &[Record]) {
    if records.is_empty() {
        return;
    }
    let rows = rows(records);
    let groups = grouped(&rows);
    let colors: BTreeMap<String, usize> = {
        let mut labels: Vec<&String> = rows.iter().map(|row| &row.series).collect();
        labels.sort();
        labels.dedup();
        labels.into_iter().enumerate().map(|(idx, label)| (label.clone(), idx)).collect()
    };
    let _ = write!(
        out,
        "<h2>Agentic replay</h2><p class=\"note\">{} agentic-coding aggregates (trace replay with prefix reuse).</p>",
        records.len()
    );
    for (group_idx, ((model, _, _), series_map)) in groups.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"group\" data-group=\"agentic-{group_idx}\"><h2>{} · agentic coding</h2><ul class=\"legend\">",
            escape(model)
        );
        legend_items(out, series_map, &colors);
        out.push_str("</ul><div class=\"charts\">");
        let charts = [
            (
                ChartSpec {
                    id: format!("agentic-{group_idx}-tput"),
                    title: "Throughput per GPU vs interactivity",
                    x_label: "Interactivity (tok/s/user)",
                    y_label: "Throughput per GPU (tok/s)",
                    x_log2: false,
                    line: LineKind::Frontier,
                },
                ("median_intvty", 1.0, "tput_per_gpu", 1.0),
            ),
            (
                ChartSpec {
                    id: format!("agentic-{group_idx}-cache"),
                    title: "Server prefix-cache hit rate vs users",
                    x_label: "Users (log2)",
                    y_label: "Cache hit rate",
                    x_log2: true,
                    line: LineKind::LowestPerX,
                },
                ("conc", 1.0, "server_cache_hit_rate", 1.0),
            ),
            (
                ChartSpec {
                    id: format!("agentic-{group_idx}-ttft"),
                    title: "TTFT vs users",
                    x_label: "Users (log2)",
                    y_label: "Median TTFT (ms)",
                    x_log2: true,
                    line: LineKind::LowestPerX,
                },
                ("conc", 1.0, "median_ttft", 1000.0),
            ),
        ];
        for (spec, (x_key, x_factor, y_key, y_factor)) in &charts {
            let series: Vec<(String, Vec<ChartPoint<'_>>)> = series_map
                .iter()
                .map(|(label, members)| {
                    let points = members
                        .iter()
                        .filter_map(|row| {
                            Some(ChartPoint { x: row.num(x_key)? * x_factor, y: row.num(y_key)? * y_factor, row })
                        })
                        .collect();
                    (label.clone(), points)
                })
                .collect();
            render_chart(out, spec, &series, &colors);
        }
        render_context_chart(out, group_idx, series_map);
        out.push_str("</div></section>\n");
    }
}

/// TTFT (median per bin) against the mean context length of the bin, from the replay's
/// `ix.ttft_by_context_length`; one series per configuration and user count.
fn render_context_chart(out: &mut String, group_idx: usize, series_map: &BTreeMap<String, Vec<&Row<'_>>>) {
    let mut series: Vec<(String, Vec<ChartPoint<'_>>)> = Vec::new();
    for (label, members) in series_map {
        let mut members = members.clone();
        members.sort_by_key(|row| row.num("conc").map(|c| c as i64));
        for row in members {
            let Some(bins) = row.record.fields.get("ttft_by_context_length").and_then(Value::as_array) else {
                continue;
            };
            let points: Vec<ChartPoint<'_>> = bins
                .iter()
                .filter_map(|bin| {
                    let x = bin.get("context_tokens_mean")?.as_f64()?;
                    let y = bin.get("ttft_p50_ms")?.as_f64()?;
                    (x.is_finite() && y.is_finite()).then_some(ChartPoint { x, y, row })
                })
                .collect();
            if !points.is_empty() {
                series.push((format!("{label} · {} users", row.text("conc")), points));
            }
        }
    }
    if series.is_empty() {
        return;
    }
    let colors: BTreeMap<String, usize> =
        series.iter().enumerate().map(|(idx, (label, _))| (label.clone(), idx)).collect();
    let spec = ChartSpec {
        id: format!("agentic-{group_idx}-context"),
        title: "TTFT vs context length",
        x_label: "Context length (tokens, bin mean)",
        y_label: "Median TTFT (ms)",
        x_log2: false,
        line: LineKind::LowestPerX,
    };
    render_chart(out, &spec, &series, &colors);
}
