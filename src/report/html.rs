//! The self-contained HTML report (inline SVG charts drawn here, inline CSS and a little inline
//! JS for sorting, filtering and tooltips; nothing is fetched at view time) and its text-only
//! markdown sibling.
//!
//! Layout: one section per (model, ISL, OSL) with three charts — throughput per GPU against
//! interactivity (one line per hardware x framework x precision through that series' Pareto
//! frontier), TTFT against concurrency and E2EL against concurrency — then one table of all
//! records. This module decides nothing about which records exist; `crate::results` does.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::assets::{SCRIPT, STYLE};
use super::table::{github_table, python_g};
use crate::results::Record;

mod agentic;
use agentic::{flatten_agentic, render_agentic};

/// Tableau-10: distinguishable colours, also for common colour-vision deficiencies.
const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 330.0;
const MARGIN_LEFT: f64 = 64.0;
const MARGIN_RIGHT: f64 = 16.0;
const MARGIN_TOP: f64 = 30.0;
const MARGIN_BOTTOM: f64 = 46.0;

/// The view of one record the report needs.
struct Row<'a> {
    record: &'a Record,
    group: (String, i64, i64),
    series: String,
}

impl Row<'_> {
    fn num(&self, key: &str) -> Option<f64> {
        self.record.fields.get(key).and_then(Value::as_f64).filter(|v| v.is_finite())
    }

    fn text(&self, key: &str) -> String {
        match self.record.fields.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }

    fn is_multinode(&self) -> bool {
        self.record.fields.get("is_multinode").and_then(Value::as_bool).unwrap_or(false)
    }

    /// Parallelism, e.g. `TP8 EP1 DPA false` or `P: TP4 EP4 x1 (4 GPUs) / D: TP8 EP8 x2 (16 GPUs)`.
    fn parallelism(&self) -> String {
        if self.is_multinode() {
            format!(
                "P: TP{} EP{} DPA {} x{} ({} GPUs) / D: TP{} EP{} DPA {} x{} ({} GPUs)",
                self.text("prefill_tp"),
                self.text("prefill_ep"),
                self.text("prefill_dp_attention"),
                self.text("prefill_num_workers"),
                self.text("num_prefill_gpu"),
                self.text("decode_tp"),
                self.text("decode_ep"),
                self.text("decode_dp_attention"),
                self.text("decode_num_workers"),
                self.text("num_decode_gpu")
            )
        } else {
            format!("TP{} EP{} DPA {}", self.text("tp"), self.text("ep"), self.text("dp_attention"))
        }
    }

    fn tooltip(&self) -> String {
        let metric = |key: &str, factor: f64, unit: &str| {
            self.num(key).map_or("n/a".to_string(), |value| format!("{}{unit}", python_g(value * factor)))
        };
        format!(
            "{} · {} · conc {}\n{}\nthroughput/GPU {} tok/s · interactivity {} tok/s/user\nTTFT {} · TPOT {} · E2EL {}\nmodel {} · image {}{}",
            self.series,
            self.parallelism(),
            self.text("conc"),
            self.record.path.display(),
            metric("tput_per_gpu", 1.0, ""),
            metric("median_intvty", 1.0, ""),
            metric("median_ttft", 1000.0, " ms"),
            metric("median_tpot", 1000.0, " ms"),
            metric("median_e2el", 1.0, " s"),
            self.text("model"),
            self.text("image"),
            self.record.fields.get("image_digest").and_then(|d| d.as_str()).map_or(String::new(), |d| format!(" {d}")),
        )
    }
}

fn rows(records: &[Record]) -> Vec<Row<'_>> {
    records
        .iter()
        .map(|record| {
            let text = |key: &str| record.fields.get(key).and_then(Value::as_str).unwrap_or("").to_string();
            let int = |key: &str| record.fields.get(key).and_then(Value::as_i64).unwrap_or(0);
            let model = Some(text("infmax_model_prefix")).filter(|m| !m.is_empty()).unwrap_or_else(|| text("model"));
            let mut series =
                format!("{} {} {}", text("hw").to_uppercase(), text("framework"), text("precision").to_uppercase());
            let spec = text("spec_decoding");
            if !spec.is_empty() && spec != "none" {
                let _ = write!(series, " +{spec}");
            }
            Row { record, group: (model, int("isl"), int("osl")), series }
        })
        .collect()
}

/// Indices of the points not dominated by another (higher or equal in both coordinates, higher in
/// one), sorted by x.
pub fn pareto_frontier(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    // Highest x first; among equal x, highest y first, so only that one can be on the frontier.
    order.sort_by(|&a, &b| points[b].0.total_cmp(&points[a].0).then(points[b].1.total_cmp(&points[a].1)));
    let mut frontier = Vec::new();
    let mut best_y = f64::NEG_INFINITY;
    for idx in order {
        if points[idx].1 > best_y {
            best_y = points[idx].1;
            frontier.push(idx);
        }
    }
    frontier.reverse();
    frontier
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

/// "Nice" axis bounds and step for a linear axis starting at zero.
fn linear_ticks(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw_step = max / 5.0;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw_step).unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// Axis tick label: short and readable (`12k`, `2.5`, `0.25`).
fn tick_label(value: f64) -> String {
    if value.abs() >= 10_000.0 {
        format!("{}k", python_g(value / 1000.0))
    } else {
        python_g((value * 1e6).round() / 1e6)
    }
}

/// How a chart maps data to pixels.
#[derive(Clone, Copy)]
enum Scale {
    Linear { max: f64 },
    Log2 { min_exp: i32, max_exp: i32 },
}

impl Scale {
    fn fraction(self, value: f64) -> f64 {
        match self {
            Scale::Linear { max } => value / max,
            Scale::Log2 { min_exp, max_exp } => {
                if max_exp == min_exp {
                    0.5
                } else {
                    (value.max(1e-9).log2() - f64::from(min_exp)) / f64::from(max_exp - min_exp)
                }
            }
        }
    }

    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Linear { max } => {
                let (_, step) = linear_ticks(max);
                (0..).map(|i| f64::from(i) * step).take_while(|v| *v <= max * 1.0001).collect()
            }
            Scale::Log2 { min_exp, max_exp } => (min_exp..=max_exp).map(|e| 2f64.powi(e)).collect(),
        }
    }
}

/// One point of a chart, with the row it came from.
struct ChartPoint<'a> {
    x: f64,
    y: f64,
    row: &'a Row<'a>,
}

enum LineKind {
    /// Connect the series' Pareto frontier (throughput vs interactivity).
    Frontier,
    /// Connect the best (lowest) value at each x (latency vs concurrency).
    LowestPerX,
}

struct ChartSpec<'a> {
    id: String,
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x_log2: bool,
    line: LineKind,
}

fn render_chart(
    out: &mut String,
    spec: &ChartSpec<'_>,
    series: &[(String, Vec<ChartPoint<'_>>)],
    colors: &BTreeMap<String, usize>,
) {
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let all = series.iter().flat_map(|(_, points)| points.iter());
    let max_x = all.clone().map(|p| p.x).fold(0.0, f64::max);
    let max_y = all.clone().map(|p| p.y).fold(0.0, f64::max);
    let x_scale = if spec.x_log2 {
        let min_x = all.clone().map(|p| p.x).fold(f64::INFINITY, f64::min);
        let min_exp = if min_x.is_finite() && min_x > 0.0 { min_x.log2().floor() as i32 } else { 0 };
        let max_exp = if max_x > 0.0 { max_x.log2().ceil() as i32 } else { 0 };
        Scale::Log2 { min_exp, max_exp: max_exp.max(min_exp + 1) }
    } else {
        Scale::Linear { max: linear_ticks(max_x * 1.04).0 }
    };
    let y_scale = Scale::Linear { max: linear_ticks(max_y * 1.04).0 };
    let px = |x: f64| MARGIN_LEFT + x_scale.fraction(x) * plot_w;
    let py = |y: f64| MARGIN_TOP + (1.0 - y_scale.fraction(y)) * plot_h;

    let _ = write!(
        out,
        r#"<figure class="chart-box"><svg class="chart" data-chart="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">"#,
        id = escape(&spec.id),
        title = escape(spec.title)
    );
    let _ = write!(
        out,
        r#"<text class="title" x="{}" y="18" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(spec.title)
    );
    // Grid and ticks.
    for tick in y_scale.ticks() {
        let y = py(tick);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{MARGIN_LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - MARGIN_RIGHT,
            MARGIN_LEFT - 6.0,
            y + 4.0,
            tick_label(tick)
        );
    }
    for tick in x_scale.ticks() {
        let x = px(tick);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{MARGIN_TOP}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            MARGIN_TOP + plot_h,
            MARGIN_TOP + plot_h + 16.0,
            tick_label(tick)
        );
    }
    let _ = write!(
        out,
        r#"<rect class="frame" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="axis" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        MARGIN_LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        escape(spec.x_label),
        MARGIN_TOP + plot_h / 2.0,
        escape(spec.y_label)
    );

    for (label, points) in series {
        let color = PALETTE[colors.get(label).copied().unwrap_or(0) % PALETTE.len()];
        let dashed = colors.get(label).copied().unwrap_or(0) >= PALETTE.len();
        let _ = write!(out, r#"<g class="series" data-series="{}" style="--c:{color}">"#, escape(label));
        let coords: Vec<(f64, f64)> = points.iter().map(|p| (p.x, p.y)).collect();
        let (line_points, on_frontier): (Vec<usize>, Vec<bool>) = match spec.line {
            LineKind::Frontier => {
                let frontier = pareto_frontier(&coords);
                let mut flags = vec![false; points.len()];
                for idx in &frontier {
                    flags[*idx] = true;
                }
                (frontier, flags)
            }
            LineKind::LowestPerX => {
                let mut best: BTreeMap<u64, usize> = BTreeMap::new();
                for (idx, point) in points.iter().enumerate() {
                    let entry = best.entry(point.x.to_bits()).or_insert(idx);
                    if point.y < points[*entry].y {
                        *entry = idx;
                    }
                }
                let mut line: Vec<usize> = best.into_values().collect();
                line.sort_by(|a, b| points[*a].x.total_cmp(&points[*b].x));
                (line, vec![false; points.len()])
            }
        };
        if line_points.len() > 1 {
            let path: Vec<String> =
                line_points.iter().map(|idx| format!("{:.1},{:.1}", px(points[*idx].x), py(points[*idx].y))).collect();
            let class = if matches!(spec.line, LineKind::Frontier) { "frontier-line" } else { "line" };
            let dash = if dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(out, r#"<polyline class="{class}" points="{}"{dash}/>"#, path.join(" "));
        }
        for (idx, point) in points.iter().enumerate() {
            let class = if on_frontier[idx] {
                "pt frontier"
            } else if matches!(spec.line, LineKind::Frontier) {
                "pt dominated"
            } else {
                "pt"
            };
            let tip = point.row.tooltip();
            let _ = write!(
                out,
                r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{}" data-tip="{tip}"><title>{tip}</title></circle>"#,
                px(point.x),
                py(point.y),
                if on_frontier[idx] { 4.5 } else { 3.2 },
                tip = escape(&tip)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg></figure>");
}

/// (header, record key, factor, is text) of the records table.
const TABLE_COLUMNS: [(&str, &str, f64, bool); 17] = [
    ("Model", "infmax_model_prefix", 1.0, true),
    ("Served model", "model", 1.0, true),
    ("ISL", "isl", 1.0, false),
    ("OSL", "osl", 1.0, false),
    ("Hardware", "hw", 1.0, true),
    ("Framework", "framework", 1.0, true),
    ("Precision", "precision", 1.0, true),
    ("Spec", "spec_decoding", 1.0, true),
    ("Parallelism", "", 1.0, true),
    ("Conc", "conc", 1.0, false),
    ("TTFT (ms)", "median_ttft", 1000.0, false),
    ("TPOT (ms)", "median_tpot", 1000.0, false),
    ("Interactivity (tok/s/user)", "median_intvty", 1.0, false),
    ("E2EL (s)", "median_e2el", 1.0, false),
    ("TPUT per GPU", "tput_per_gpu", 1.0, false),
    ("Output TPUT per GPU", "output_tput_per_gpu", 1.0, false),
    ("Input TPUT per GPU", "input_tput_per_gpu", 1.0, false),
];

/// Groups rows by (model, ISL, OSL), then by series, both in sorted order.
#[allow(clippy::type_complexity)]
fn grouped<'a>(rows: &'a [Row<'a>]) -> BTreeMap<(String, i64, i64), BTreeMap<String, Vec<&'a Row<'a>>>> {
    let mut groups: BTreeMap<(String, i64, i64), BTreeMap<String, Vec<&Row<'_>>>> = BTreeMap::new();
    for row in rows {
        groups.entry(row.group.clone()).or_default().entry(row.series.clone()).or_default().push(row);
    }
    groups
}

fn seq_label(isl: i64, osl: i64) -> String {
    let short = |n: i64| if n % 1024 == 0 { format!("{}k", n / 1024) } else { n.to_string() };
    format!("{}/{} (ISL {isl}, OSL {osl})", short(isl), short(osl))
}

/// Renders the HTML report for a set of aggregate records. The output is one file with no
/// external references.
pub fn render_html(records: &[Record]) -> String {
    render_html_with_evals(records, &[])
}

/// [`render_html`] plus a table of accuracy-eval rows (`results::evals` rows).
pub fn render_html_with_evals(records: &[Record], evals: &[serde_json::Map<String, serde_json::Value>]) -> String {
    render_html_with_extras(records, evals, &Extras::default())
}

/// What a report from the results database adds to the records' own report.
#[derive(Default)]
pub struct Extras<'a> {
    /// A baseline run's records, overlaid on the throughput (Pareto) charts as dashed series
    /// named `<series> · baseline`.
    pub baseline: &'a [Record],
    /// HTML inserted before the records table (the history section, `report::history`).
    pub history: String,
}

/// [`render_html_with_evals`] with a baseline overlay and a history section.
pub fn render_html_with_extras(
    records: &[Record],
    evals: &[serde_json::Map<String, serde_json::Value>],
    extras: &Extras<'_>,
) -> String {
    let (agentic, fixed): (Vec<Record>, Vec<Record>) =
        records.iter().cloned().partition(crate::results::summary::is_agentic);
    let agentic = flatten_agentic(&agentic);
    let records = fixed.as_slice();
    let baseline_rows = rows(extras.baseline);
    let rows = rows(records);
    let groups = grouped(&rows);
    let baseline_groups = grouped(&baseline_rows);
    let mut colors: BTreeMap<String, usize> = {
        let mut labels: Vec<&String> = rows.iter().chain(&baseline_rows).map(|row| &row.series).collect();
        labels.sort();
        labels.dedup();
        labels.into_iter().enumerate().map(|(idx, label)| (label.clone(), idx)).collect()
    };
    // A baseline series has its series' colour, dashed (an index past the palette).
    for row in &baseline_rows {
        let idx = colors[&row.series] % PALETTE.len() + PALETTE.len();
        colors.insert(format!("{} · baseline", row.series), idx);
    }

    let mut out = String::with_capacity(4096 + records.len() * 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    out.push_str("<title>ix benchmark report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>Benchmark report</h1>");
    let _ = writeln!(
        out,
        "<p class=\"note\">{} records in {} model / sequence-length groups. Higher and further right is better on the throughput charts; outlined points and the lines are each series' Pareto frontier, faded points are dominated configurations. Latency charts show every configuration, the line follows the lowest value at each concurrency. Hover a point for its configuration; click a legend entry to hide a series.</p>",
        records.len(),
        groups.len()
    );
    if records.is_empty() && agentic.is_empty() {
        out.push_str("<p>No aggregate records (JSON objects with <code>is_multinode</code>) were found.</p>");
    }
    for (group_idx, ((model, isl, osl), series_map)) in groups.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"group\" data-group=\"{group_idx}\"><h2>{} · {}</h2><ul class=\"legend\">",
            escape(model),
            seq_label(*isl, *osl)
        );
        legend_items(&mut out, series_map, &colors);
        out.push_str("</ul><div class=\"charts\">");
        let charts = [
            (
                ChartSpec {
                    id: format!("{group_idx}-tput"),
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
                    id: format!("{group_idx}-ttft"),
                    title: "TTFT vs concurrency",
                    x_label: "Concurrency (log2)",
                    y_label: "Median TTFT (ms)",
                    x_log2: true,
                    line: LineKind::LowestPerX,
                },
                ("conc", 1.0, "median_ttft", 1000.0),
            ),
            (
                ChartSpec {
                    id: format!("{group_idx}-e2el"),
                    title: "E2E latency vs concurrency",
                    x_label: "Concurrency (log2)",
                    y_label: "Median E2EL (s)",
                    x_log2: true,
                    line: LineKind::LowestPerX,
                },
                ("conc", 1.0, "median_e2el", 1.0),
            ),
        ];
        let no_baseline = BTreeMap::new();
        let baseline = baseline_groups.get(&(model.clone(), *isl, *osl)).unwrap_or(&no_baseline);
        for (spec, (x_key, x_factor, y_key, y_factor)) in &charts {
            let overlay = baseline
                .iter()
                .filter(|_| matches!(spec.line, LineKind::Frontier))
                .map(|(label, members)| (format!("{label} · baseline"), members));
            let series: Vec<(String, Vec<ChartPoint<'_>>)> = series_map
                .iter()
                .map(|(label, members)| (label.clone(), members))
                .chain(overlay)
                .map(|(label, members)| {
                    let points = members
                        .iter()
                        .filter_map(|row| {
                            Some(ChartPoint { x: row.num(x_key)? * x_factor, y: row.num(y_key)? * y_factor, row })
                        })
                        .collect();
                    (label, points)
                })
                .collect();
            render_chart(&mut out, spec, &series, &colors);
        }
        out.push_str("</div></section>\n");
    }

    render_agentic(&mut out, &agentic);
    out.push_str(&extras.history);
    out.push_str("<h2>All records</h2><p><input id=\"filter\" type=\"search\" placeholder=\"Filter: e.g. b200 fp8 1024\" aria-label=\"Filter records\"> <span id=\"count\" class=\"note\">");
    let _ = write!(out, "{} of {} records</span></p>", rows.len(), rows.len());
    out.push_str("<div class=\"table-wrap\"><table class=\"records\"><thead><tr>");
    for (header, _, _, is_text) in TABLE_COLUMNS {
        let _ = write!(out, "<th{}>{}</th>", if is_text { " class=\"t\"" } else { "" }, escape(header));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &rows {
        let _ = write!(out, "<tr data-tip=\"{}\">", escape(&row.tooltip()));
        for (_, key, factor, is_text) in TABLE_COLUMNS {
            if key.is_empty() {
                let _ = write!(out, "<td class=\"t\">{}</td>", escape(&row.parallelism()));
            } else if is_text {
                let _ = write!(out, "<td class=\"t\">{}</td>", escape(&row.text(key)));
            } else {
                match row.num(key) {
                    Some(value) => {
                        let value = value * factor;
                        let _ = write!(out, "<td data-v=\"{value}\">{}</td>", python_g(value));
                    }
                    None => out.push_str("<td></td>"),
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    if !evals.is_empty() {
        out.push_str("<h2>Accuracy evals</h2><div class=\"scroll\"><table class=\"evals\"><thead><tr>");
        for header in crate::results::evals::EVAL_HEADERS {
            let _ = write!(out, "<th class=\"t\">{}</th>", escape(header));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in evals {
            out.push_str("<tr>");
            for cell in crate::results::evals::eval_table_row(row) {
                let _ = write!(out, "<td class=\"t\">{}</td>", escape(cell.as_deref().unwrap_or("")));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("<div id=\"tip\" hidden></div><script>");
    out.push_str(SCRIPT);
    out.push_str("</script></body></html>\n");
    out
}

/// Renders the markdown report for terminals: per (model, ISL, OSL), every configuration sorted by
/// series and interactivity, with its Pareto-frontier membership.
pub fn render_markdown(records: &[Record]) -> String {
    let rows = rows(records);
    let groups = grouped(&rows);
    let mut out = String::from("# Benchmark report\n\n");
    if records.is_empty() {
        out.push_str("No aggregate records found.\n");
        return out;
    }
    let headers = [
        "Series",
        "Parallelism",
        "Conc",
        "Interactivity (tok/s/user)",
        "TPUT per GPU",
        "TTFT (ms)",
        "E2EL (s)",
        "Pareto",
    ];
    for ((model, isl, osl), series_map) in &groups {
        let _ = writeln!(out, "## {model} · {}\n", seq_label(*isl, *osl));
        let mut cells: Vec<Vec<Option<String>>> = Vec::new();
        for (label, members) in series_map {
            let mut members: Vec<&&Row<'_>> = members.iter().collect();
            members.sort_by(|a, b| {
                a.num("median_intvty").unwrap_or(0.0).total_cmp(&b.num("median_intvty").unwrap_or(0.0))
            });
            let coords: Vec<(f64, f64)> = members
                .iter()
                .map(|row| (row.num("median_intvty").unwrap_or(f64::NAN), row.num("tput_per_gpu").unwrap_or(f64::NAN)))
                .collect();
            let valid: Vec<usize> =
                (0..coords.len()).filter(|idx| coords[*idx].0.is_finite() && coords[*idx].1.is_finite()).collect();
            let valid_coords: Vec<(f64, f64)> = valid.iter().map(|idx| coords[*idx]).collect();
            let frontier: Vec<usize> = pareto_frontier(&valid_coords).into_iter().map(|idx| valid[idx]).collect();
            for (idx, row) in members.iter().enumerate() {
                let metric = |key: &str, factor: f64| row.num(key).map(|v| python_g(v * factor));
                cells.push(vec![
                    Some(label.clone()),
                    Some(row.parallelism()),
                    Some(row.text("conc")),
                    metric("median_intvty", 1.0),
                    metric("tput_per_gpu", 1.0),
                    metric("median_ttft", 1000.0),
                    metric("median_e2el", 1.0),
                    Some(if frontier.contains(&idx) { "yes" } else { "" }.to_string()),
                ]);
            }
        }
        out.push_str(&github_table(&headers, &cells));
        out.push_str("\n\n");
    }
    out
}

/// The legend entries of one group: a swatch, the series label and its number of configs.
fn legend_items(out: &mut String, series_map: &BTreeMap<String, Vec<&Row<'_>>>, colors: &BTreeMap<String, usize>) {
    for (label, members) in series_map {
        let color = PALETTE[colors[label] % PALETTE.len()];
        let _ = write!(
            out,
            "<li data-series=\"{}\" style=\"--c:{color}\"><span class=\"sw\"></span>{} <span class=\"key\">({} configs)</span></li>",
            escape(label),
            escape(label),
            members.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::pareto_frontier;

    #[test]
    fn frontier_keeps_only_undominated_points_sorted_by_x() {
        let points = [(10.0, 100.0), (20.0, 80.0), (15.0, 60.0), (30.0, 20.0), (20.0, 50.0), (5.0, 100.0)];
        assert_eq!(pareto_frontier(&points), vec![0, 1, 3]);
        assert!(pareto_frontier(&[]).is_empty());
    }
}
