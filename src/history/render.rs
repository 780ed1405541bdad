//! Renders a [`Comparison`] as a terminal table, GitHub-flavoured markdown (a pull request
//! comment) or JSON (`ix.compare/v1`). Returns strings; the CLI prints them.

use serde_json::json;

use super::compare::{Comparison, Row, Rule, Verdict};

/// Rows of "within noise" shown in markdown before the rest are only counted (a pull request
/// comment is limited to 65,536 characters).
const MARKDOWN_NOISE_ROWS: usize = 100;

fn number(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let digits = (4 - value.abs().log10().floor() as i32).clamp(0, 9) as usize;
    format!("{value:.digits$}")
}

fn value_cell(spread: &super::stats::Spread) -> String {
    if spread.n > 1 { format!("{} ± {}", number(spread.mean), number(spread.std_dev)) } else { number(spread.mean) }
}

fn percent_cell(row: &Row) -> String {
    row.percent.map_or_else(|| "n/a".into(), |p| format!("{p:+.2}%"))
}

fn rule_cell(row: &Row) -> String {
    match (row.rule, row.p_value) {
        (Rule::Welch, Some(p)) => format!("p={p:.3} n={}/{}", row.base.n, row.head.n),
        _ => "threshold".into(),
    }
}

fn cells(row: &Row) -> Vec<String> {
    vec![
        row.label.clone(),
        row.metric.clone(),
        value_cell(&row.base),
        value_cell(&row.head),
        number(row.delta),
        percent_cell(row),
        row.verdict.as_str().to_string(),
        rule_cell(row),
    ]
}

const HEADERS: [&str; 8] = ["config", "metric", "baseline", "current", "delta", "change", "verdict", "rule"];

/// The rule in one sentence, as stated under every table.
pub fn rule_text(comparison: &Comparison) -> String {
    let o = &comparison.options;
    format!(
        "Rule: with repeats on both sides, Welch's t-test over the repeat values, p < {} and |change| >= {}%; \
         without, |change| >= {}%.",
        o.alpha, o.min_effect_pct, o.threshold_pct
    )
}

fn counts(comparison: &Comparison) -> String {
    format!(
        "{} regressed, {} improved, {} within noise ({} configurations matched; {} only in the baseline, {} only in \
         the current results)",
        comparison.count(Verdict::Regressed),
        comparison.count(Verdict::Improved),
        comparison.count(Verdict::WithinNoise),
        comparison.rows.iter().map(|r| &r.identity).collect::<std::collections::BTreeSet<_>>().len(),
        comparison.only_base.len(),
        comparison.only_head.len(),
    )
}

/// An aligned text table: the changed rows (all rows with `all`), then the counts and rule.
pub fn to_text(comparison: &Comparison, all: bool) -> String {
    let rows: Vec<Vec<String>> =
        comparison.rows.iter().filter(|r| all || r.verdict != Verdict::WithinNoise).map(cells).collect();
    let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (idx, cell) in row.iter().enumerate() {
            widths[idx] = widths[idx].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    if !rows.is_empty() {
        line(&HEADERS.map(String::from));
        for row in &rows {
            line(row);
        }
        out.push('\n');
    }
    out.push_str(&counts(comparison));
    out.push('\n');
    out.push_str(&rule_text(comparison));
    out.push('\n');
    out
}

fn markdown_table(rows: &[&Row]) -> String {
    let mut out = format!("| {} |\n|{}\n", HEADERS.join(" | "), "---|".repeat(HEADERS.len()));
    for row in rows {
        let mut cells = cells(row);
        cells[6] = match row.verdict {
            Verdict::Regressed => "🔴 regressed".into(),
            Verdict::Improved => "🟢 improved".into(),
            Verdict::WithinNoise => "⚪ within noise".into(),
        };
        let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", escaped.join(" | ")));
    }
    out
}

/// GitHub-flavoured markdown for a pull request comment.
pub fn to_markdown(comparison: &Comparison, title: &str) -> String {
    let mut out = format!("### {title}\n\n**{}**\n\n", counts(comparison));
    for (verdict, heading) in [(Verdict::Regressed, "Regressions"), (Verdict::Improved, "Improvements")] {
        let rows: Vec<&Row> = comparison.rows.iter().filter(|r| r.verdict == verdict).collect();
        if !rows.is_empty() {
            out.push_str(&format!("#### {heading}\n\n{}\n", markdown_table(&rows)));
        }
    }
    let noise: Vec<&Row> = comparison.rows.iter().filter(|r| r.verdict == Verdict::WithinNoise).collect();
    if !noise.is_empty() {
        let shown = &noise[..noise.len().min(MARKDOWN_NOISE_ROWS)];
        out.push_str(&format!("<details><summary>{} within noise</summary>\n\n{}", noise.len(), markdown_table(shown)));
        if noise.len() > shown.len() {
            out.push_str(&format!("\n… and {} more\n", noise.len() - shown.len()));
        }
        out.push_str("\n</details>\n\n");
    }
    for (what, labels) in
        [("Only in the baseline", &comparison.only_base), ("Only in the current results", &comparison.only_head)]
    {
        if !labels.is_empty() {
            // A pull request's few configurations against all of main: count them, name a few.
            let named: Vec<String> = labels.iter().take(20).map(|l| format!("`{l}`")).collect();
            let more = match labels.len() - named.len() {
                0 => String::new(),
                rest => format!(" and {rest} more"),
            };
            out.push_str(&format!("{what} ({}): {}{more}\n\n", labels.len(), named.join(", ")));
        }
    }
    out.push_str(&format!("_{}_\n", rule_text(comparison)));
    out
}

/// `ix.compare/v1` JSON: the options, every row and the unmatched configurations.
pub fn to_json(comparison: &Comparison) -> String {
    let o = &comparison.options;
    let rows: Vec<serde_json::Value> = comparison
        .rows
        .iter()
        .map(|row| {
            json!({
                "config": row.label,
                "identity": row.identity,
                "metric": row.metric,
                "baseline": { "mean": row.base.mean, "std_dev": row.base.std_dev, "n": row.base.n },
                "current": { "mean": row.head.mean, "std_dev": row.head.std_dev, "n": row.head.n },
                "delta": row.delta,
                "percent": row.percent,
                "p_value": row.p_value,
                "rule": match row.rule { Rule::Welch => "welch", Rule::Threshold => "threshold" },
                "verdict": row.verdict.as_str(),
            })
        })
        .collect();
    let value = json!({
        "schema": "ix.compare/v1",
        "rule": { "alpha": o.alpha, "min_effect_pct": o.min_effect_pct, "threshold_pct": o.threshold_pct },
        "regressed": comparison.count(Verdict::Regressed),
        "improved": comparison.count(Verdict::Improved),
        "within_noise": comparison.count(Verdict::WithinNoise),
        "rows": rows,
        "only_base": comparison.only_base,
        "only_head": comparison.only_head,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// The metrics of the repeat summary of `ix run --repeat`.
const REPEAT_METRICS: [&str; 4] = ["tput_per_gpu", "median_ttft", "median_tpot", "median_e2el"];

/// Per configuration over its repeats: the count, and each headline metric's mean ± sample
/// standard deviation (and that as a percent of the mean), as a markdown table.
pub fn repeat_summary(points: &[super::Point]) -> String {
    let mut groups: std::collections::BTreeMap<(String, String), Vec<&super::Point>> = Default::default();
    for point in points.iter().filter(|p| p.kind != super::PointKind::Eval) {
        groups.entry((super::compare::label_of(point), point.identity.clone())).or_default().push(point);
    }
    let mut out = format!(
        "| config | repeats | {} |\n|{}\n",
        REPEAT_METRICS.join(" | "),
        "---|".repeat(2 + REPEAT_METRICS.len())
    );
    for ((label, _), group) in &groups {
        let mut cells = vec![label.replace('|', "\\|"), group.len().to_string()];
        for metric in REPEAT_METRICS {
            let values: Vec<f64> =
                group.iter().filter_map(|p| p.metrics.iter().find(|(n, _)| n == metric).map(|(_, v)| *v)).collect();
            cells.push(match super::stats::spread(&values) {
                Some(s) if s.mean != 0.0 => {
                    format!("{} ± {} ({:.1}%)", number(s.mean), number(s.std_dev), s.std_dev / s.mean.abs() * 100.0)
                }
                Some(s) => number(s.mean),
                None => String::new(),
            });
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
