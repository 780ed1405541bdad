//! Run metrics exactly as LOAD-GENERATOR.md §7 defines them: per-request TTFT, TPOT, ITL, E2EL,
//! their mean/median/population-std/linear percentiles, throughputs over the whole duration, and
//! goodput against SLOs.
//!
//! Owns arithmetic only. Failed requests never reach the latency lists; they are counted apart.

use std::time::Duration;

/// The four latency metrics the reference can report, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Ttft,
    Tpot,
    Itl,
    E2el,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Metric::Ttft, Metric::Tpot, Metric::Itl, Metric::E2el];

    pub fn key(self) -> &'static str {
        match self {
            Metric::Ttft => "ttft",
            Metric::Tpot => "tpot",
            Metric::Itl => "itl",
            Metric::E2el => "e2el",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.key() == name)
    }

    /// The console banner title the reference prints.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Ttft => "Time to First Token",
            Metric::Tpot => "Time per Output Token (excl. 1st token)",
            Metric::Itl => "Inter-token Latency",
            Metric::E2el => "End-to-end Latency",
        }
    }
}

/// Goodput SLOs in milliseconds; `None` = not constrained.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slos {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2el_ms: Option<f64>,
}

/// What metrics need from one successful request.
#[derive(Debug, Clone)]
pub struct SuccessSample<'a> {
    pub ttft: Duration,
    pub latency: Duration,
    /// Inter-chunk gaps in seconds.
    pub itl_s: &'a [f32],
    pub output_tokens: u64,
    pub prompt_len: u64,
}

/// mean, median, std and the requested percentiles of one metric, in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    /// `(percentile, value)` in the order requested.
    pub percentiles: Vec<(f64, f64)>,
}

/// Aggregated run metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub completed: u64,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub request_throughput: f64,
    pub request_goodput: Option<f64>,
    pub output_throughput: f64,
    pub total_token_throughput: f64,
    pub ttft: Stats,
    pub tpot: Stats,
    pub itl: Stats,
    pub e2el: Stats,
}

impl Metrics {
    pub fn stats(&self, metric: Metric) -> &Stats {
        match metric {
            Metric::Ttft => &self.ttft,
            Metric::Tpot => &self.tpot,
            Metric::Itl => &self.itl,
            Metric::E2el => &self.e2el,
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// TPOT of one request in ms, `None` when it has at most one output token.
pub fn tpot_ms(sample: &SuccessSample<'_>) -> Option<f64> {
    (sample.output_tokens > 1).then(|| (ms(sample.latency) - ms(sample.ttft)) / (sample.output_tokens - 1) as f64)
}

/// Computes every metric of a run.
pub fn compute(samples: &[SuccessSample<'_>], duration: Duration, percentiles: &[f64], slos: Option<&Slos>) -> Metrics {
    let dur = duration.as_secs_f64().max(f64::MIN_POSITIVE);
    let completed = samples.len() as u64;
    let total_input_tokens: u64 = samples.iter().map(|s| s.prompt_len).sum();
    let total_output_tokens: u64 = samples.iter().map(|s| s.output_tokens).sum();
    let ttfts: Vec<f64> = samples.iter().map(|s| ms(s.ttft)).collect();
    let e2els: Vec<f64> = samples.iter().map(|s| ms(s.latency)).collect();
    let tpots: Vec<f64> = samples.iter().filter_map(tpot_ms).collect();
    // Pooled ITL samples stay f32 (in ms) to halve the largest allocation of a big run.
    let itls: Vec<f32> = samples.iter().flat_map(|s| s.itl_s.iter().map(|gap| gap * 1000.0)).collect();
    let request_goodput = slos.map(|slos| {
        let good = samples
            .iter()
            .filter(|s| {
                slos.ttft_ms.is_none_or(|slo| slo >= ms(s.ttft))
                    && slos.tpot_ms.is_none_or(|slo| slo >= tpot_ms(s).unwrap_or(0.0))
                    && slos.e2el_ms.is_none_or(|slo| slo >= ms(s.latency))
            })
            .count();
        good as f64 / dur
    });
    Metrics {
        completed,
        total_input_tokens,
        total_output_tokens,
        request_throughput: completed as f64 / dur,
        request_goodput,
        output_throughput: total_output_tokens as f64 / dur,
        total_token_throughput: (total_input_tokens + total_output_tokens) as f64 / dur,
        ttft: stats(ttfts, percentiles),
        tpot: stats(tpots, percentiles),
        itl: stats_f32(itls, percentiles),
        e2el: stats(e2els, percentiles),
    }
}

/// Statistics of a list in the reference's conventions (empty list → all zeros).
pub fn stats(mut values: Vec<f64>, percentiles: &[f64]) -> Stats {
    if values.is_empty() {
        return Stats {
            mean: 0.0,
            median: 0.0,
            std: 0.0,
            percentiles: percentiles.iter().map(|&p| (p, 0.0)).collect(),
        };
    }
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Stats {
        mean,
        median: percentile(&values, 50.0),
        std: variance.sqrt(),
        percentiles: percentiles.iter().map(|&p| (p, percentile(&values, p))).collect(),
    }
}

/// [`stats`] for a large list of f32 values (sums in f64).
pub fn stats_f32(mut values: Vec<f32>, percentiles: &[f64]) -> Stats {
    if values.is_empty() {
        return stats(Vec::new(), percentiles);
    }
    values.sort_by(f32::total_cmp);
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let variance = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let at = |p: f64| {
        let h = (values.len() - 1) as f64 * p / 100.0;
        let (lower, upper) = (h.floor() as usize, h.ceil() as usize);
        f64::from(values[lower]) + (h - lower as f64) * (f64::from(values[upper]) - f64::from(values[lower]))
    };
    Stats {
        mean,
        median: at(50.0),
        std: variance.sqrt(),
        percentiles: percentiles.iter().map(|&p| (p, at(p))).collect(),
    }
}

/// NumPy's default (linear) percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let lower = h.floor() as usize;
    let upper = h.ceil() as usize;
    sorted[lower] + (h - lower as f64) * (sorted[upper] - sorted[lower])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ttft_ms: u64, latency_ms: u64, itl_s: &'static [f32], output_tokens: u64) -> SuccessSample<'static> {
        SuccessSample {
            ttft: Duration::from_millis(ttft_ms),
            latency: Duration::from_millis(latency_ms),
            itl_s,
            output_tokens,
            prompt_len: 10,
        }
    }

    #[test]
    fn percentiles_are_linear_like_numpy() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&values, 50.0), 2.5);
        assert!((percentile(&values, 99.0) - 3.97).abs() < 1e-12);
        assert_eq!(percentile(&values, 0.0), 1.0);
        assert_eq!(percentile(&values, 100.0), 4.0);
    }

    #[test]
    fn population_std_and_even_median() {
        let stats = stats(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[99.0]);
        assert_eq!(stats.mean, 5.0);
        assert_eq!(stats.std, 2.0);
        assert_eq!(stats.median, 4.5);
    }

    #[test]
    fn empty_lists_give_zeros() {
        let metrics = compute(&[], Duration::from_secs(1), &[99.0], None);
        assert_eq!(metrics.ttft.mean, 0.0);
        assert_eq!(metrics.tpot.percentiles, vec![(99.0, 0.0)]);
        assert_eq!(metrics.request_goodput, None);
    }

    #[test]
    fn tpot_skips_single_token_outputs_and_itl_is_pooled() {
        let samples = [sample(10, 40, &[0.010, 0.020], 4), sample(5, 5, &[], 1)];
        let metrics = compute(&samples, Duration::from_secs(2), &[50.0], None);
        assert_eq!(metrics.tpot.mean, 10.0);
        assert!((metrics.itl.mean - 15.0).abs() < 1e-5);
        assert_eq!(metrics.total_output_tokens, 5);
        assert_eq!(metrics.request_throughput, 1.0);
        assert_eq!(metrics.total_token_throughput, 12.5);
    }

    #[test]
    fn goodput_is_inclusive_and_single_token_tpot_passes() {
        let samples = [sample(10, 40, &[0.010, 0.020], 4), sample(5, 5, &[], 1), sample(11, 40, &[], 2)];
        let slos = Slos { ttft_ms: Some(10.0), tpot_ms: Some(10.0), e2el_ms: None };
        let metrics = compute(&samples, Duration::from_secs(1), &[99.0], Some(&slos));
        assert_eq!(metrics.request_goodput, Some(2.0));
    }
}
