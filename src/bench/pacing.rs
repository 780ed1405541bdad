//! The arrival schedule: absolute send offsets computed before the run (LOAD-GENERATOR.md §4.1).
//!
//! Owns the inter-arrival draws (gamma with shape = burstiness, mean 1/rate; Poisson at
//! burstiness 1) and nothing else. Because the offsets are absolute, client lag never accumulates
//! into drift, unlike the reference's relative sleeps (COMPAT.md). The draws use a seeded
//! generator of their own, not NumPy's stream.

use std::time::Duration;

use rand::SeedableRng;
use rand_distr::{Distribution, Gamma};

/// When each request is due, as an offset from the start of the measured run.
pub fn schedule(n: usize, request_rate: f64, burstiness: f64, seed: u64) -> Vec<Duration> {
    if !request_rate.is_finite() || request_rate <= 0.0 {
        return vec![Duration::ZERO; n];
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x0005_eed0_fa77_17a1);
    let shape = burstiness;
    let scale = 1.0 / (request_rate * burstiness);
    let gamma = Gamma::new(shape, scale).ok();
    let mut offsets = Vec::with_capacity(n);
    let mut at = 0.0f64;
    for _ in 0..n {
        offsets.push(Duration::from_secs_f64(at));
        let gap = match &gamma {
            Some(gamma) => gamma.sample(&mut rng),
            None => 1.0 / request_rate,
        };
        at += gap;
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_rate_sends_everything_at_once() {
        assert!(schedule(5, f64::INFINITY, 1.0, 0).iter().all(|d| d.is_zero()));
    }

    #[test]
    fn mean_gap_is_one_over_rate() {
        for burstiness in [0.5, 1.0, 4.0] {
            let offsets = schedule(20_001, 100.0, burstiness, 7);
            let mean_gap = offsets[20_000].as_secs_f64() / 20_000.0;
            assert!((mean_gap - 0.01).abs() < 0.0005, "burstiness {burstiness}: mean gap {mean_gap}");
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_starts_at_zero() {
        let first = schedule(100, 50.0, 1.0, 3);
        assert_eq!(first, schedule(100, 50.0, 1.0, 3));
        assert_eq!(first[0], Duration::ZERO);
        assert!(first.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
