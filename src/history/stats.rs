//! The statistics behind compare's verdicts: sample mean and spread, and Welch's two-sample
//! t-test (unequal variances) with its two-sided p-value from Student's t distribution (through
//! the regularized incomplete beta function; no dependency).

/// Mean, sample standard deviation (n - 1) and count of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub std_dev: f64,
    pub n: usize,
}

/// The mean and spread of `values` (`None` when empty). One value has a spread of 0.
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = if n > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
    Some(Spread { mean, std_dev: var.sqrt(), n })
}

/// Welch's t-test of two samples: the t statistic, the Welch–Satterthwaite degrees of freedom
/// and the two-sided p-value. `None` with fewer than two values on a side. Two samples without
/// any spread have p = 0 when their means differ and 1 when they do not.
pub fn welch(base: &[f64], head: &[f64]) -> Option<(f64, f64, f64)> {
    let (a, b) = (spread(base)?, spread(head)?);
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let (va, vb) = (a.std_dev.powi(2) / a.n as f64, b.std_dev.powi(2) / b.n as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        let p = if a.mean == b.mean { 1.0 } else { 0.0 };
        return Some((0.0, (a.n + b.n - 2) as f64, p));
    }
    let t = (b.mean - a.mean) / se2.sqrt();
    let df = se2.powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
    Some((t, df, student_two_sided(t, df)))
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
pub fn student_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    incomplete_beta(df / 2.0, 0.5, x).clamp(0.0, 1.0)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9), accurate to about 1e-15 for x > 0.
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (idx, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + idx as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_p_values_match_tables() {
        // Two-sided critical values: t(0.975, 10) = 2.228, t(0.995, 4) = 4.604, t(0.975, 1) = 12.706.
        assert!((student_two_sided(2.228, 10.0) - 0.05).abs() < 1e-3);
        assert!((student_two_sided(4.604, 4.0) - 0.01).abs() < 1e-3);
        assert!((student_two_sided(12.706, 1.0) - 0.05).abs() < 1e-3);
        assert!((student_two_sided(0.0, 7.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn welch_matches_a_worked_example() {
        // Wikipedia, "Welch's t-test", example 1: t = 2.455 (head minus base), df = 24.99, p = 0.021.
        let a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
        let b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
        let (t, df, p) = welch(&a, &b).expect("two samples");
        assert!((t - 2.45536).abs() < 1e-4, "t = {t}");
        assert!((df - 24.9885).abs() < 1e-3, "df = {df}");
        assert!((p - 0.0214).abs() < 1e-3, "p = {p}");
    }

    #[test]
    fn welch_needs_two_values_a_side() {
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        assert_eq!(welch(&[1.0, 1.0], &[1.0, 1.0]).map(|r| r.2), Some(1.0));
        assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]).map(|r| r.2), Some(0.0));
    }
}
