//! Statistics for canary-vs-stable comparison.

/// Complementary error function, erfc(x) = 1 − erf(x).
///
/// Chebyshev fit from W. J. Cody's rational approximations as given in
/// Numerical Recipes (`erfcc`), fractional error below 1.2e-7 everywhere — ample
/// for p-values compared against thresholds of 0.02.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Upper tail of the standard normal distribution, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Lower tail of the standard normal distribution, P(Z ≤ z).
pub fn normal_cdf(z: f64) -> f64 {
    normal_sf(-z)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy.stats.norm.sf.
    #[test]
    fn normal_tail_matches_scipy() {
        let cases = [
            (0.0, 0.5),
            (1.0, 0.158_655_253_931_457_05),
            (1.959_963_984_540_054, 0.025),
            (2.326_347_874_040_841, 0.01),
            (3.0, 0.001_349_898_031_630_094_6),
            (5.0, 2.866_515_718_791_939e-7),
            (-1.0, 0.841_344_746_068_543),
        ];
        for (z, want) in cases {
            let got = normal_sf(z);
            assert!(
                ((got - want) / want).abs() < 2e-7,
                "sf({z}) = {got}, want {want}"
            );
        }
        assert!((normal_cdf(1.0) - 0.841_344_746_068_543).abs() < 1e-7);
    }
}

// --- proportions ---
// Tests of "is the canary's rate of an event higher than the stable's?" over
// counts (log template occurrences per log record). Kept at the end of the file,
// apart from the rank statistics above.

/// Natural log of the gamma function, Lanczos approximation (g = 7, 9 terms, as in
/// Numerical Recipes 3rd ed. §6.1); relative error below 1e-13 for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
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
        // Reflection formula keeps the approximation in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln C(n, k).
pub fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Upper tail of the binomial distribution, P(X ≥ k) for X ~ Bin(n, p), summed
/// exactly in log space.
pub fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut sum = 0.0;
    for i in k..=n {
        let term = (ln_choose(n, i) + i as f64 * lp + (n - i) as f64 * lq).exp();
        sum += term;
        // Past the mode the terms only shrink; stop when they no longer matter.
        if (i as f64) > n as f64 * p && term < sum * 1e-15 {
            break;
        }
    }
    sum.min(1.0)
}

/// Above this many events in total the exact test's O(k) sum is replaced by the
/// normal approximation, which is accurate there (every expected count ≥ 5 for
/// any exposure share between 1% and 99%).
const EXACT_MAX_EVENTS: u64 = 20_000;

/// One-sided p-value for "the canary's rate x_c/n_c is greater than the stable's
/// x_s/n_s". Exact conditional test: given k = x_c + x_s events, under equal
/// rates X_c ~ Bin(k, n_c / (n_c + n_s)) (the Poisson-rate comparison used for
/// counts in different exposures). Normal approximation of the two-proportion
/// z-test for large counts. Returns 1.0 when either exposure is zero.
pub fn rate_greater_p(x_c: u64, n_c: u64, x_s: u64, n_s: u64) -> f64 {
    if n_c == 0 || n_s == 0 {
        return 1.0;
    }
    let k = x_c + x_s;
    let share = n_c as f64 / (n_c as f64 + n_s as f64);
    if k <= EXACT_MAX_EVENTS {
        return binomial_sf(x_c, k, share);
    }
    let (pc, ps) = (x_c as f64 / n_c as f64, x_s as f64 / n_s as f64);
    let pooled = k as f64 / (n_c as f64 + n_s as f64);
    let se = (pooled * (1.0 - pooled) * (1.0 / n_c as f64 + 1.0 / n_s as f64)).sqrt();
    if se <= 0.0 {
        return if pc > ps { 0.0 } else { 1.0 };
    }
    normal_sf((pc - ps) / se)
}

#[cfg(test)]
mod proportion_tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut fact = 1.0f64;
        for n in 1..20u32 {
            fact *= f64::from(n);
            let got = ln_gamma(f64::from(n) + 1.0);
            assert!((got - fact.ln()).abs() < 1e-10, "ln Γ({}) = {got}", n + 1);
        }
        // Γ(0.5) = √π
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    // Reference values: exact sums of C(n,i) p^i (1-p)^(n-i) with Python integers.
    #[test]
    fn binomial_tail_matches_scipy() {
        let cases = [
            (3, 3, 0.275, 0.020_796_875),
            (6, 12, 0.24, 0.045_335_589_129_814_12),
            (5, 10, 0.5, 0.623_046_875),
            (0, 10, 0.3, 1.0),
            (11, 10, 0.3, 0.0),
        ];
        for (k, n, p, want) in cases {
            let got = binomial_sf(k, n, p);
            assert!(
                (got - want).abs() < 1e-9,
                "P(X≥{k}; {n}, {p}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn rate_test_directions() {
        // Same rate: not significant; canary 5x the rate: significant.
        assert!(rate_greater_p(10, 1000, 30, 3000) > 0.3);
        assert!(rate_greater_p(50, 1000, 30, 3000) < 1e-6);
        // A lower canary rate is never "greater".
        assert!(rate_greater_p(1, 1000, 90, 3000) > 0.99);
        // Large counts take the normal path and agree in direction.
        assert!(rate_greater_p(30_000, 100_000, 30_000, 300_000) < 1e-10);
        assert!(rate_greater_p(10_000, 100_000, 30_000, 300_000) > 0.4);
        assert_eq!(rate_greater_p(5, 0, 1, 10), 1.0);
    }
}
