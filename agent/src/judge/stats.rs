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
