//! The history section of the HTML report (`ix report --results-db`): per configuration, each
//! headline metric over the database's runs (by run date; the run, image digest and commit on
//! hover), with the runs where it regressed against the run before marked. A regression is
//! `history::compare::judge`'s verdict on the two runs' values, so the report and `ix compare`
//! agree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::history::compare::{CompareOptions, Verdict, judge, label_of};
use crate::history::stats::spread;
use crate::history::{Point, PointKind, Run};

/// A run and its points, as read from the database.
pub struct RunPoints {
    pub run: Run,
    pub points: Vec<Point>,
}

/// The metrics charted per configuration: (record key, title, factor to the unit shown).
const METRICS: [(&str, &str, f64); 4] = [
    ("tput_per_gpu", "Throughput per GPU (tok/s)", 1.0),
    ("median_ttft", "Median TTFT (ms)", 1000.0),
    ("median_tpot", "Median TPOT (ms)", 1000.0),
    ("median_e2el", "Median E2EL (s)", 1.0),
];

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;

const STYLE: &str = "<style>section.history h3{font-size:14px;margin:14px 0 4px}\
svg.hist .line{fill:none;stroke:#4e79a7;stroke-width:1.5}svg.hist .pt{fill:#4e79a7;stroke:#fff}\
svg.hist .pt.regressed{fill:#e15759}svg.hist .mark{fill:none;stroke:#e15759;stroke-width:2}</style>";

/// One run's values of one configuration.
struct Visit<'a> {
    run: &'a Run,
    date: String,
    image_digest: String,
    values: BTreeMap<&'static str, Vec<f64>>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn short(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let digits = (3 - value.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{value:.digits$}")
}

/// The history section for `runs` (oldest first), or a note when no configuration is in more
/// than one run.
pub fn render_history(runs: &[RunPoints], options: &CompareOptions) -> String {
    let mut configs: BTreeMap<(String, String), Vec<Visit<'_>>> = BTreeMap::new();
    for run_points in runs {
        let mut per_config: BTreeMap<(String, String), Visit<'_>> = BTreeMap::new();
        for point in run_points.points.iter().filter(|p| p.kind != PointKind::Eval) {
            let visit = per_config.entry((label_of(point), point.identity.clone())).or_insert_with(|| Visit {
                run: &run_points.run,
                date: String::new(),
                image_digest: String::new(),
                values: BTreeMap::new(),
            });
            let date = point.started_at.clone().unwrap_or_else(|| run_points.run.ingested_at.clone());
            if visit.date.is_empty() || date < visit.date {
                visit.date = date;
            }
            if visit.image_digest.is_empty() {
                visit.image_digest = point.image_digest.clone().unwrap_or_default();
            }
            for (metric, _, _) in METRICS {
                if let Some((_, value)) = point.metrics.iter().find(|(name, _)| name == metric) {
                    visit.values.entry(metric).or_default().push(*value);
                }
            }
        }
        for (key, visit) in per_config {
            configs.entry(key).or_default().push(visit);
        }
    }
    let mut out = String::from(STYLE);
    let _ = write!(out, "<section class=\"history\"><h2>History ({} runs)</h2>", runs.len());
    let repeated: Vec<_> = configs.iter().filter(|(_, visits)| visits.len() > 1).collect();
    if repeated.is_empty() {
        out.push_str("<p class=\"note\">No configuration is in more than one run of the database yet.</p></section>");
        return out;
    }
    let _ = write!(
        out,
        "<p class=\"note\">Each configuration's headline metrics by run date (mean over its repeats). Red points \
         regressed against the run before ({}); hover a point for its run, image digest and commit.</p>",
        escape(&crate::history::render::rule_text(&crate::history::compare::Comparison {
            rows: Vec::new(),
            only_base: Vec::new(),
            only_head: Vec::new(),
            options: options.clone(),
        }))
    );
    for (config_idx, ((label, _), visits)) in repeated.into_iter().enumerate() {
        let _ = write!(out, "<h3>{}</h3><div class=\"charts\">", escape(label));
        for (metric, title, factor) in METRICS {
            chart(&mut out, config_idx, metric, title, factor, visits, options);
        }
        out.push_str("</div>");
    }
    out.push_str("</section>\n");
    out
}

fn chart(
    out: &mut String,
    config_idx: usize,
    metric: &str,
    title: &str,
    factor: f64,
    visits: &[Visit<'_>],
    options: &CompareOptions,
) {
    let means: Vec<Option<f64>> = visits
        .iter()
        .map(|v| v.values.get(metric).and_then(|values| spread(values)).map(|s| s.mean * factor))
        .collect();
    let max = means.iter().flatten().fold(0.0f64, |a, b| a.max(*b)) * 1.1;
    let max = if max > 0.0 { max } else { 1.0 };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |idx: usize| {
        LEFT + if visits.len() > 1 { idx as f64 / (visits.len() - 1) as f64 * plot_w } else { plot_w / 2.0 }
    };
    let py = |value: f64| TOP + (1.0 - value / max) * plot_h;
    let _ = write!(
        out,
        r#"<svg class="chart hist" data-chart="history-{config_idx}-{metric}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg"><text class="title" x="{}" y="16" text-anchor="middle">{}</text><rect class="frame" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for tick in [0.0, max / 2.0, max] {
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            py(tick) + 4.0,
            short(tick)
        );
    }
    for (idx, visit) in [(0, visits.first()), (visits.len() - 1, visits.last())] {
        if let Some(visit) = visit {
            let _ = write!(
                out,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                px(idx),
                HEIGHT - 12.0,
                escape(visit.date.get(..10).unwrap_or(&visit.date))
            );
        }
    }
    let path: Vec<String> =
        means.iter().enumerate().filter_map(|(idx, m)| m.map(|m| format!("{:.1},{:.1}", px(idx), py(m)))).collect();
    if path.len() > 1 {
        let _ = write!(out, r#"<polyline class="line" points="{}"/>"#, path.join(" "));
    }
    for (idx, visit) in visits.iter().enumerate() {
        let Some(mean) = means[idx] else { continue };
        let regressed = idx > 0
            && match (visits[idx - 1].values.get(metric), visit.values.get(metric)) {
                (Some(before), Some(now)) => {
                    judge(metric, before, now, options).is_some_and(|row| row.verdict == Verdict::Regressed)
                }
                _ => false,
            };
        let values = visit.values.get(metric).map(Vec::as_slice).unwrap_or_default();
        let spread_text = match spread(values) {
            Some(s) if s.n > 1 => format!(" ± {} (n={})", short(s.std_dev * factor), s.n),
            _ => String::new(),
        };
        let tip = format!(
            "{}\n{title}: {}{spread_text}{}\nrun {}{}\nimage {}\ncommit {}",
            visit.date,
            short(mean),
            if regressed { " · regressed" } else { "" },
            visit.run.run_id,
            visit.run.label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default(),
            if visit.image_digest.is_empty() { "unknown" } else { &visit.image_digest },
            visit.run.git_commit.as_deref().unwrap_or("unknown"),
        );
        let (x, y) = (px(idx), py(mean));
        if regressed {
            let _ = write!(out, r#"<circle class="mark" cx="{x:.1}" cy="{y:.1}" r="7.5"/>"#);
        }
        let _ = write!(
            out,
            r#"<circle class="pt{}" cx="{x:.1}" cy="{y:.1}" r="4" data-tip="{tip}"><title>{tip}</title></circle>"#,
            if regressed { " regressed" } else { "" },
            tip = escape(&tip)
        );
    }
    out.push_str("</svg>");
}
