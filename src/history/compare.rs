//! `ix compare`: two sets of points matched by configuration identity, and per metric a
//! verdict (improved, regressed, within noise) from a stated rule:
//!
//! - **With repeats** (at least two values on each side for the configuration, e.g. from
//!   `ix run --repeat N`): Welch's two-sample t-test over the repeat values. A change is real
//!   when the two-sided p-value is below `alpha` (default 0.01) **and** the means differ by at
//!   least `min_effect_pct` percent (default 3%), so a tiny but consistent drift is not flagged.
//! - **Without repeats**: the means differ by at least `threshold_pct` percent (default 5%).
//!
//! Whether a change is an improvement depends on the metric's direction
//! ([`super::higher_is_better`]): throughputs up, latencies down.

use std::collections::BTreeMap;

use super::stats::{Spread, spread, welch};
use super::{Point, PointKind, higher_is_better};

/// The metrics compared when none are named: the summary table's headline numbers.
pub const DEFAULT_METRICS: &[&str] = &[
    "tput_per_gpu",
    "output_tput_per_gpu",
    "median_ttft",
    "median_tpot",
    "median_e2el",
    "median_intvty",
    "server_cache_hit_rate",
    "score",
];

/// The knobs of the verdict rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Metrics to compare; empty: [`DEFAULT_METRICS`].
    pub metrics: Vec<String>,
    /// Significance level of the t-test (with repeats).
    pub alpha: f64,
    /// The smallest change, in percent of the baseline mean, that counts with repeats.
    pub min_effect_pct: f64,
    /// The smallest change, in percent, that counts without repeats.
    pub threshold_pct: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { metrics: Vec::new(), alpha: 0.01, min_effect_pct: 3.0, threshold_pct: 5.0 }
    }
}

/// What a metric of a configuration did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Regressed,
    Improved,
    WithinNoise,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// Which rule decided a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Welch's t-test over repeats plus the minimum effect size.
    Welch,
    /// The fixed threshold (a side had a single value).
    Threshold,
}

/// One metric of one configuration present on both sides.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub identity: String,
    /// A short name of the configuration (`key isl/osl tp… conc…`).
    pub label: String,
    pub metric: String,
    pub base: Spread,
    pub head: Spread,
    pub delta: f64,
    /// The change in percent of the baseline mean (`None` when that is 0).
    pub percent: Option<f64>,
    pub p_value: Option<f64>,
    pub rule: Rule,
    pub verdict: Verdict,
}

/// The outcome of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
    /// Configurations only in the baseline, and only in the current set (labels).
    pub only_base: Vec<String>,
    pub only_head: Vec<String>,
    pub options: CompareOptions,
}

impl Comparison {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|row| row.verdict == verdict).count()
    }

    /// The configurations (labels) with at least one regressed metric.
    pub fn regressed_configs(&self) -> Vec<&str> {
        let mut labels: Vec<&str> =
            self.rows.iter().filter(|r| r.verdict == Verdict::Regressed).map(|r| r.label.as_str()).collect();
        labels.dedup();
        labels
    }
}

/// A configuration's values per metric, over its points (repeats, nodes).
struct Group {
    label: String,
    values: BTreeMap<String, Vec<f64>>,
}

fn identity_value<'a>(identity: &'a str, name: &str) -> Option<&'a str> {
    identity.split(';').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// `key isl/osl tp… ep… conc…`, or `key task` for an eval.
pub fn label_of(point: &Point) -> String {
    let id = &point.identity;
    let get = |name: &str| identity_value(id, name).unwrap_or("?");
    match point.kind {
        PointKind::Eval => format!("{} {}", point.config_key, get("task")),
        _ if identity_value(id, "tp").is_some() => {
            format!(
                "{} {}/{} tp{} ep{} c{}",
                point.config_key,
                get("isl"),
                get("osl"),
                get("tp"),
                get("ep"),
                get("conc")
            )
        }
        _ => format!("{} {}", point.config_key, id),
    }
}

fn groups(points: &[Point], metrics: &[String]) -> BTreeMap<(PointKind, String), Group> {
    let mut groups: BTreeMap<(PointKind, String), Group> = BTreeMap::new();
    for point in points {
        let group = groups
            .entry((point.kind, point.identity.clone()))
            .or_insert_with(|| Group { label: label_of(point), values: BTreeMap::new() });
        for (name, value) in &point.metrics {
            if value.is_finite() && metrics.iter().any(|m| m == name) {
                group.values.entry(name.clone()).or_default().push(*value);
            }
        }
    }
    groups
}

/// The verdict of one metric's samples, by the rule in the module docs.
pub fn judge(metric: &str, base: &[f64], head: &[f64], options: &CompareOptions) -> Option<Row> {
    let (b, h) = (spread(base)?, spread(head)?);
    let delta = h.mean - b.mean;
    let percent = (b.mean != 0.0).then(|| delta / b.mean.abs() * 100.0);
    let (rule, p_value, significant) = match welch(base, head) {
        Some((_, _, p)) => {
            (Rule::Welch, Some(p), p < options.alpha && percent.is_some_and(|pc| pc.abs() >= options.min_effect_pct))
        }
        None => (Rule::Threshold, None, percent.is_some_and(|pc| pc.abs() >= options.threshold_pct)),
    };
    let verdict = match (significant, higher_is_better(metric)) {
        (true, Some(higher)) if (delta > 0.0) == higher => Verdict::Improved,
        (true, Some(_)) => Verdict::Regressed,
        _ => Verdict::WithinNoise,
    };
    Some(Row {
        identity: String::new(),
        label: String::new(),
        metric: metric.to_string(),
        base: b,
        head: h,
        delta,
        percent,
        p_value,
        rule,
        verdict,
    })
}

/// Compares `head` against `base`.
pub fn compare(base: &[Point], head: &[Point], options: &CompareOptions) -> Comparison {
    let metrics: Vec<String> = if options.metrics.is_empty() {
        DEFAULT_METRICS.iter().map(|m| m.to_string()).collect()
    } else {
        options.metrics.clone()
    };
    let base_groups = groups(base, &metrics);
    let head_groups = groups(head, &metrics);
    let mut rows = Vec::new();
    let mut only_base = Vec::new();
    for (key, base_group) in &base_groups {
        let Some(head_group) = head_groups.get(key) else {
            only_base.push(base_group.label.clone());
            continue;
        };
        for metric in &metrics {
            let (Some(b), Some(h)) = (base_group.values.get(metric), head_group.values.get(metric)) else { continue };
            if let Some(mut row) = judge(metric, b, h, options) {
                row.identity = key.1.clone();
                row.label = head_group.label.clone();
                rows.push(row);
            }
        }
    }
    let only_head =
        head_groups.iter().filter(|(key, _)| !base_groups.contains_key(*key)).map(|(_, g)| g.label.clone()).collect();
    rows.sort_by(|a, b| (a.verdict, &a.label, &a.metric).cmp(&(b.verdict, &b.label, &b.metric)));
    Comparison { rows, only_base, only_head, options: options.clone() }
}
