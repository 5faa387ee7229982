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

/// Result of a two-sample Mann-Whitney U test, canary against stable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// Mann-Whitney U statistic of the first sample (canary): number of pairs (c, s) with c > s, ties counted 1/2.
    pub u: f64,
    /// One-sided p-value for H1: canary tends to be greater than stable.
    pub p_greater: f64,
    /// One-sided p-value for H1: canary tends to be less than stable.
    pub p_less: f64,
    /// Two-sided p-value.
    pub p_two_sided: f64,
    /// True when the exact null distribution was used, false for the normal approximation.
    pub exact: bool,
}

/// SciPy's `method='auto'` uses the exact distribution only while the smaller
/// sample has at most this many values (`_mwu_choose_method` in
/// `scipy/stats/_mannwhitneyu.py`, SciPy 1.17).
const EXACT_MAX_SMALLER: usize = 8;

/// Our own bound on top of SciPy's rule: the exact distribution needs a table of
/// `n·m/2` probabilities, so for a tiny sample against a huge one (never seen in a
/// canary window) we fall back to the normal approximation instead of allocating
/// without limit. With the smaller sample ≤ 8 this only triggers past ~500 000
/// values in the larger one.
const EXACT_MAX_PAIRS: usize = 1 << 22;

/// Mann-Whitney U test of `canary` against `stable`, matching
/// `scipy.stats.mannwhitneyu(canary, stable, use_continuity=True, method='auto')`
/// for each `alternative` (SciPy 1.17): the exact null distribution when there are
/// no ties in the pooled sample and the smaller sample has at most 8 values,
/// otherwise the normal approximation with tie and continuity correction.
///
/// None when either sample is empty or contains NaN (SciPy raises on both).
pub fn mann_whitney_u(canary: &[f64], stable: &[f64]) -> Option<RankTest> {
    let n1 = canary.len();
    let n2 = stable.len();
    if n1 == 0 || n2 == 0 || canary.iter().chain(stable).any(|v| v.is_nan()) {
        return None;
    }
    let ranked = rank_pooled(canary, stable);
    // U1 = R1 − n1(n1+1)/2 (Mann & Whitney 1947; "method 2" on Wikipedia's page).
    let n1f = n1 as f64;
    let n2f = n2 as f64;
    let u1 = ranked.canary_rank_sum - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let pairs = n1.saturating_mul(n2);
    let exact = n1.min(n2) <= EXACT_MAX_SMALLER && !ranked.has_ties && pairs <= EXACT_MAX_PAIRS;

    // As SciPy: every p-value is an upper tail; "less" uses the tail of U2 (the
    // distribution is symmetric), two-sided doubles the tail of max(U1, U2).
    let (p_greater, p_less, p_two_sided) = if exact {
        let dist = ExactU::new(n1.min(n2), n1.max(n2));
        let (u1i, u2i) = (u1.round() as usize, u2.round() as usize);
        (dist.sf(u1i), dist.sf(u2i), 2.0 * dist.sf(u1i.max(u2i)))
    } else {
        let sd = normal_sd(n1f, n2f, ranked.tie_term);
        let tail = |u: f64| normal_sf(continuity_z(u, n1f * n2f / 2.0, sd));
        (tail(u1), tail(u2), 2.0 * tail(u1.max(u2)))
    };
    Some(RankTest {
        u: u1,
        p_greater: clamp_p(p_greater),
        p_less: clamp_p(p_less),
        p_two_sided: clamp_p(p_two_sided),
        exact,
    })
}

/// SciPy clips to [0, 1]: doubling the tail at U = n·m/2 exceeds 1.
fn clamp_p(p: f64) -> f64 {
    if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) }
}

/// Standard deviation of U under H0 with the tie correction
/// σ = sqrt(n1·n2/12 · ((n+1) − Σ(t³−t)/(n(n−1)))), as in SciPy's `_get_mwu_z`
/// (Wikipedia, "Normal approximation and tie correction").
fn normal_sd(n1: f64, n2: f64, tie_term: f64) -> f64 {
    let n = n1 + n2;
    // n ≥ 2 because both samples are non-empty. When every value is tied the
    // bracket is 0 in exact arithmetic; rounding must not turn it negative (NaN).
    let bracket = ((n + 1.0) - tie_term / (n * (n - 1.0))).max(0.0);
    (n1 * n2 / 12.0 * bracket).sqrt()
}

/// z = (U − μ − ½)/σ. SciPy always subtracts the continuity half because it only
/// ever evaluates the upper tail. σ = 0 (all tied) gives z = −∞, so p = 1.
fn continuity_z(u: f64, mu: f64, sd: f64) -> f64 {
    (u - mu - 0.5) / sd
}

struct PooledRanks {
    canary_rank_sum: f64,
    has_ties: bool,
    /// Σ (t³ − t) over groups of t tied values in the pooled sample.
    tie_term: f64,
}

/// Average ranks (1-based) of the pooled sample, as `scipy.stats.rankdata(..,
/// 'average')`. Inputs contain no NaN, so `partial_cmp` is total; it also makes
/// −0.0 and 0.0 a tie, as NumPy's comparisons do.
fn rank_pooled(canary: &[f64], stable: &[f64]) -> PooledRanks {
    let mut pooled: Vec<(f64, bool)> = canary
        .iter()
        .map(|&v| (v, true))
        .chain(stable.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut out = PooledRanks {
        canary_rank_sum: 0.0,
        has_ties: false,
        tie_term: 0.0,
    };
    let mut start = 0;
    while start < pooled.len() {
        let value = pooled[start].0;
        let end = pooled[start..]
            .iter()
            .position(|p| p.0 != value)
            .map_or(pooled.len(), |len| start + len);
        let t = (end - start) as f64;
        // Ranks start+1 ..= end share their mean.
        let avg_rank = (start + 1 + end) as f64 / 2.0;
        let canaries = pooled[start..end].iter().filter(|p| p.1).count() as f64;
        out.canary_rank_sum += avg_rank * canaries;
        if end - start > 1 {
            out.has_ties = true;
            out.tie_term += t * t * t - t;
        }
        start = end;
    }
    out
}

/// Exact null distribution of U for samples of sizes `m ≤ n` without ties.
///
/// The number of arrangements with U = k is the coefficient of q^k in the
/// Gaussian binomial [m+n choose m]_q = Π_{i=1..m} (1 − q^{n+i}) / (1 − q^i)
/// (Mann & Whitney 1947 give the equivalent recurrence f(m,n,k) = f(m−1,n,k−n) +
/// f(m,n−1,k); the product form is Andrews, *The Theory of Partitions*, Thm 3.1).
/// Applying the factors one at a time as truncated power series costs
/// O(m · K) for coefficients up to K ≤ m·n/2 — O(n·m) overall since m ≤ 8.
/// SciPy computes the same counts with Löffler's (1983) recurrence.
struct ExactU {
    m: usize,
    n: usize,
}

impl ExactU {
    fn new(m: usize, n: usize) -> Self {
        Self { m, n }
    }

    /// P(U = k) for k in 0..=kmax.
    ///
    /// Each factor step is scaled by i/(n+i), so after step i the full polynomial
    /// sums to 1 and values never overflow. Below degree n+1 only additions of
    /// non-negative terms occur, so the small tail probabilities that decide
    /// significance keep full relative precision.
    fn pmf_upto(&self, kmax: usize) -> Vec<f64> {
        let mut c = vec![0.0; kmax + 1];
        if let Some(c0) = c.first_mut() {
            *c0 = 1.0;
        }
        for i in 1..=self.m {
            // Divide by (1 − q^i): c[k] += c[k − i], ascending.
            for k in i..=kmax {
                c[k] += c[k - i];
            }
            // Multiply by (1 − q^{n+i}): c[k] −= c[k − n − i], descending.
            let d = self.n + i;
            for k in (d..=kmax).rev() {
                c[k] -= c[k - d];
            }
            let scale = i as f64 / d as f64;
            for v in &mut c {
                *v *= scale;
            }
        }
        c
    }

    /// P(U ≥ k), including the mass at k. Sums the shorter, left tail and uses
    /// the symmetry P(U = k) = P(U = mn − k), exactly as SciPy's `_MWU.sf`.
    fn sf(&self, k: usize) -> f64 {
        let mn = self.m * self.n;
        let k = k.min(mn);
        let kc = mn - k;
        if k < kc {
            let pmf = self.pmf_upto(k);
            let cdf: f64 = pmf.iter().sum();
            1.0 - cdf + pmf[k]
        } else {
            self.pmf_upto(kc).iter().sum()
        }
    }
}

/// Median; the mean of the two middle values for an even count (as NumPy).
/// None when empty or when any value is NaN.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        Some(sorted[mid])
    } else {
        Some(midpoint(sorted[mid - 1], sorted[mid]))
    }
}

/// (a + b)/2 without overflowing to infinity for large finite values.
fn midpoint(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum.is_finite() {
        sum / 2.0
    } else {
        a / 2.0 + b / 2.0
    }
}

/// Hodges-Lehmann estimate of the shift: median of all pairwise differences canary_i - stable_j. None if either is empty.
///
/// Hodges & Lehmann (1963), the estimator that goes with the rank-sum test. Also
/// None when a value is not finite (∞ − ∞ has no median). The n·m differences are
/// never materialised, so large samples cost O((n+m)·log) time and O(n+m) memory.
pub fn hodges_lehmann_shift(canary: &[f64], stable: &[f64]) -> Option<f64> {
    median_of_differences(canary.to_vec(), stable.to_vec())
}

/// Hodges-Lehmann estimate of the ratio: exp(median of ln c_i - ln s_j); None if either is empty or any value <= 0.
pub fn hodges_lehmann_ratio(canary: &[f64], stable: &[f64]) -> Option<f64> {
    let logs = |xs: &[f64]| -> Option<Vec<f64>> {
        xs.iter().map(|&v| (v > 0.0).then(|| v.ln())).collect()
    };
    median_of_differences(logs(canary)?, logs(stable)?).map(f64::exp)
}

/// Median of { x_i − y_j } (computed in floating point) without building the
/// n·m differences: select the k-th smallest by bisecting over the ordered bit
/// patterns of f64, counting differences ≤ v with two pointers. Correct because
/// rounded subtraction is monotone: fl(x − y) never decreases in x nor increases in y.
fn median_of_differences(mut xs: Vec<f64>, mut ys: Vec<f64>) -> Option<f64> {
    if xs.is_empty() || ys.is_empty() || xs.iter().chain(&ys).any(|v| !v.is_finite()) {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let total = (xs.len() as u128) * (ys.len() as u128);
    // 1-based ranks of the middle element(s).
    let upper = total / 2 + 1;
    let lower = if total.is_multiple_of(2) {
        total / 2
    } else {
        upper
    };
    let a = kth_difference(&xs, &ys, lower)?;
    let b = if lower == upper {
        a
    } else {
        kth_difference(&xs, &ys, upper)?
    };
    Some(midpoint(a, b))
}

/// The k-th smallest (1-based) of fl(x_i − y_j); xs and ys sorted ascending, finite.
fn kth_difference(xs: &[f64], ys: &[f64], k: u128) -> Option<f64> {
    let lo_v = xs.first()? - ys.last()?;
    let hi_v = xs.last()? - ys.first()?;
    // Smallest key whose value has at least k differences at or below it.
    let (mut lo, mut hi) = (order_key(lo_v), order_key(hi_v));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count_at_most(xs, ys, from_order_key(mid)) >= k {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(from_order_key(lo))
}

/// Number of pairs with fl(x_i − y_j) ≤ v. For each x (ascending) the pairs that
/// qualify are a suffix of ys, and that suffix only shrinks as x grows.
fn count_at_most(xs: &[f64], ys: &[f64], v: f64) -> u128 {
    let mut j = 0;
    let mut count = 0u128;
    for &x in xs {
        while j < ys.len() && x - ys[j] > v {
            j += 1;
        }
        count += (ys.len() - j) as u128;
    }
    count
}

/// Maps f64 to u64 so that integer order is numeric order (negatives flipped).
fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn from_order_key(key: u64) -> f64 {
    let bits = if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    };
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

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

    struct Case {
        name: &'static str,
        canary: &'static [f64],
        stable: &'static [f64],
        u: f64,
        p_greater: f64,
        p_less: f64,
        p_two_sided: f64,
        exact: bool,
        hl_shift: f64,
        hl_ratio: Option<f64>,
        median_canary: f64,
    }

    // Generated by evals/reference/stats_reference.py with SciPy 1.17.1,
    // NumPy 2.4.6. Do not edit by hand; re-run the script.
    const SCIPY_CASES: &[Case] = &[
        Case {
            name: "scipy_docstring_males_females",
            canary: &[19.0, 22.0, 16.0, 29.0, 24.0],
            stable: &[20.0, 11.0, 17.0, 12.0],
            u: 17.0,
            p_greater: 0.05555555555555555,
            p_less: 0.9682539682539683,
            p_two_sided: 0.1111111111111111,
            exact: true,
            hl_shift: 7.0,
            hl_ratio: Some(1.4522709489247898),
            median_canary: 22.0,
        },
        Case {
            name: "scipy_docstring_females_males",
            canary: &[20.0, 11.0, 17.0, 12.0],
            stable: &[19.0, 22.0, 16.0, 29.0, 24.0],
            u: 3.0,
            p_greater: 0.9682539682539683,
            p_less: 0.05555555555555555,
            p_two_sided: 0.1111111111111111,
            exact: true,
            hl_shift: -7.0,
            hl_ratio: Some(0.6885767430246847),
            median_canary: 14.5,
        },
        Case {
            name: "exact_small_3_vs_4",
            canary: &[1.1, 2.3, 0.7],
            stable: &[3.4, 5.6, 4.4, 2.9],
            u: 0.0,
            p_greater: 1.0,
            p_less: 0.02857142857142857,
            p_two_sided: 0.05714285714285714,
            exact: true,
            hl_shift: -2.5,
            hl_ratio: Some(0.28439822949726057),
            median_canary: 1.1,
        },
        Case {
            name: "exact_interleaved_5_vs_5",
            canary: &[1.0, 3.0, 5.0, 7.0, 9.0],
            stable: &[2.0, 4.0, 6.0, 8.0, 10.0],
            u: 10.0,
            p_greater: 0.7261904761904762,
            p_less: 0.34523809523809523,
            p_two_sided: 0.6904761904761905,
            exact: true,
            hl_shift: -1.0,
            hl_ratio: Some(0.8333333333333333),
            median_canary: 5.0,
        },
        Case {
            name: "exact_one_vs_one",
            canary: &[1.0],
            stable: &[2.0],
            u: 0.0,
            p_greater: 1.0,
            p_less: 0.5,
            p_two_sided: 1.0,
            exact: true,
            hl_shift: -1.0,
            hl_ratio: Some(0.5),
            median_canary: 1.0,
        },
        Case {
            name: "exact_size_one_canary",
            canary: &[0.5],
            stable: &[0.1, 0.9, 0.3],
            u: 2.0,
            p_greater: 0.5,
            p_less: 0.75,
            p_two_sided: 1.0,
            exact: true,
            hl_shift: 0.2,
            hl_ratio: Some(1.666666666666667),
            median_canary: 0.5,
        },
        Case {
            name: "exact_size_one_stable",
            canary: &[0.2, 0.8, 1.5, 2.5, 0.05],
            stable: &[1.0],
            u: 2.0,
            p_greater: 0.6666666666666666,
            p_less: 0.5,
            p_two_sided: 1.0,
            exact: true,
            hl_shift: -0.19999999999999996,
            hl_ratio: Some(0.8),
            median_canary: 0.8,
        },
        Case {
            name: "exact_canary_clearly_greater_8_vs_8",
            canary: &[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
            stable: &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            u: 64.0,
            p_greater: 7.77000777000777e-05,
            p_less: 1.0,
            p_two_sided: 0.0001554001554001554,
            exact: true,
            hl_shift: 9.0,
            hl_ratio: Some(3.0000000000000004),
            median_canary: 13.5,
        },
        Case {
            name: "exact_8_vs_60",
            canary: &[3.0, 3.7447, 4.5168, 5.3163, 6.1432, 6.9975, 7.8792, 8.7883],
            stable: &[
                1.0, 1.1938, 1.389, 1.5857, 1.7838, 1.9832, 2.1842, 2.3865, 2.5902, 2.7954, 3.002,
                3.21, 3.4194, 3.6303, 3.8426, 4.0563, 4.2714, 4.4879, 4.7058, 4.9252, 5.146,
                5.3682, 5.5918, 5.8169, 6.0434, 6.2712, 6.5006, 6.7313, 6.9634, 7.197, 7.432,
                7.6684, 7.9062, 8.1455, 8.3862, 8.6282, 8.8718, 9.1167, 9.363, 9.6108, 9.86,
                10.1106, 10.3626, 10.6161, 10.871, 11.1272, 11.385, 11.6441, 11.9046, 12.1666,
                12.43, 12.6948, 12.961, 13.2287, 13.4978, 13.7683, 14.0402, 14.3135, 14.5882,
                14.8644,
            ],
            u: 185.0,
            p_greater: 0.8515936014114855,
            p_less: 0.15286184724641183,
            p_two_sided: 0.30572369449282366,
            exact: true,
            hl_shift: -1.5504500000000005,
            hl_ratio: Some(0.7847180102467464),
            median_canary: 5.72975,
        },
        Case {
            name: "exact_negative_values",
            canary: &[-3.5, -1.25, -0.5],
            stable: &[-2.0, -1.0, 0.75, 4.0],
            u: 3.0,
            p_greater: 0.8857142857142858,
            p_less: 0.2,
            p_two_sided: 0.4,
            exact: true,
            hl_shift: -1.75,
            hl_ratio: None,
            median_canary: -1.25,
        },
        Case {
            name: "ties_asymptotic",
            canary: &[1.0, 2.0, 2.0, 3.0, 5.0],
            stable: &[2.0, 3.0, 3.0, 4.0, 6.0, 7.0],
            u: 7.0,
            p_greater: 0.9430484277057347,
            p_less: 0.08152252792711867,
            p_two_sided: 0.16304505585423734,
            exact: false,
            hl_shift: -1.0,
            hl_ratio: Some(0.6666666666666666),
            median_canary: 2.0,
        },
        Case {
            name: "tie_within_canary_only",
            canary: &[1.0, 1.0, 4.0],
            stable: &[2.0, 3.0, 5.0, 6.0],
            u: 2.0,
            p_greater: 0.9457958500092675,
            p_less: 0.10589918915286134,
            p_two_sided: 0.21179837830572268,
            exact: false,
            hl_shift: -2.0,
            hl_ratio: Some(0.408248290463863),
            median_canary: 1.0,
        },
        Case {
            name: "signed_zero_is_a_tie",
            canary: &[-0.0, 1.0],
            stable: &[0.0, 2.0],
            u: 1.5,
            p_greater: 0.7928919108787373,
            p_less: 0.5,
            p_two_sided: 1.0,
            exact: false,
            hl_shift: -0.5,
            hl_ratio: None,
            median_canary: 0.5,
        },
        Case {
            name: "size_one_with_tie",
            canary: &[3.0],
            stable: &[3.0, 4.0, 5.0],
            u: 0.5,
            p_greater: 0.9213503964748575,
            p_less: 0.31867594411696853,
            p_two_sided: 0.6373518882339371,
            exact: false,
            hl_shift: -1.0,
            hl_ratio: Some(0.7500000000000001),
            median_canary: 3.0,
        },
        Case {
            name: "all_equal",
            canary: &[5.0, 5.0, 5.0],
            stable: &[5.0, 5.0, 5.0, 5.0],
            u: 6.0,
            p_greater: 1.0,
            p_less: 1.0,
            p_two_sided: 1.0,
            exact: false,
            hl_shift: 0.0,
            hl_ratio: Some(1.0),
            median_canary: 5.0,
        },
        Case {
            name: "all_equal_single",
            canary: &[7.0],
            stable: &[7.0],
            u: 0.5,
            p_greater: 1.0,
            p_less: 1.0,
            p_two_sided: 1.0,
            exact: false,
            hl_shift: 0.0,
            hl_ratio: Some(1.0),
            median_canary: 7.0,
        },
        Case {
            name: "asymptotic_10_vs_12_no_ties",
            canary: &[0.31, 0.45, 0.12, 0.88, 0.67, 0.53, 0.29, 0.74, 0.96, 0.05],
            stable: &[
                0.41, 0.22, 0.63, 0.18, 0.37, 0.58, 0.11, 0.49, 0.83, 0.27, 0.71, 0.34,
            ],
            u: 69.0,
            p_greater: 0.28757828836382837,
            p_less: 0.7344774492670937,
            p_two_sided: 0.5751565767276567,
            exact: false,
            hl_shift: 0.075,
            hl_ratio: Some(1.1558992312571799),
            median_canary: 0.49,
        },
        Case {
            name: "asymptotic_canary_clearly_greater_20_vs_20",
            canary: &[
                100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0,
                112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0,
            ],
            stable: &[
                0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
                15.0, 16.0, 17.0, 18.0, 19.0,
            ],
            u: 400.0,
            p_greater: 3.397807564086679e-08,
            p_less: 0.9999999707854003,
            p_two_sided: 6.795615128173358e-08,
            exact: false,
            hl_shift: 100.0,
            hl_ratio: None,
            median_canary: 109.5,
        },
        Case {
            name: "p01_error_rate",
            canary: &[
                0.194, 0.1549, 0.1389, 0.1548, 0.1692, 0.1463, 0.1346, 0.1905, 0.1778, 0.1765,
            ],
            stable: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            u: 100.0,
            p_greater: 3.193222375218491e-05,
            p_less: 0.9999773681809917,
            p_two_sided: 6.386444750436982e-05,
            exact: false,
            hl_shift: 0.16205,
            hl_ratio: None,
            median_canary: 0.16205,
        },
        Case {
            name: "p01_latency_p99_ms",
            canary: &[3.6, 4.6, 6.8, 6.2, 5.9, 6.8, 4.3, 5.7, 4.6, 6.1],
            stable: &[5.2, 4.8, 5.0, 5.7, 4.9, 4.5, 4.7, 5.3, 4.2, 5.6],
            u: 64.5,
            p_greater: 0.1446869477974756,
            p_less: 0.8718488761517789,
            p_two_sided: 0.2893738955949512,
            exact: false,
            hl_shift: 0.6000000000000005,
            hl_ratio: Some(1.110171060858),
            median_canary: 5.800000000000001,
        },
    ];

    fn close(got: f64, want: f64, rel: f64) -> bool {
        if want == 0.0 {
            got.abs() < rel
        } else {
            ((got - want) / want).abs() <= rel
        }
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        for c in SCIPY_CASES {
            let got = mann_whitney_u(c.canary, c.stable).unwrap();
            let name = c.name;
            assert_eq!(got.u, c.u, "{name}: U");
            assert_eq!(got.exact, c.exact, "{name}: exact");
            for (what, g, w) in [
                ("p_greater", got.p_greater, c.p_greater),
                ("p_less", got.p_less, c.p_less),
                ("p_two_sided", got.p_two_sided, c.p_two_sided),
            ] {
                assert!(close(g, w, 1e-6), "{name}: {what} = {g}, SciPy {w}");
            }
        }
    }

    #[test]
    fn hodges_lehmann_and_median_match_numpy() {
        for c in SCIPY_CASES {
            let name = c.name;
            let shift = hodges_lehmann_shift(c.canary, c.stable).unwrap();
            assert!(
                close(shift, c.hl_shift, 1e-12),
                "{name}: shift {shift}, numpy {}",
                c.hl_shift
            );
            let ratio = hodges_lehmann_ratio(c.canary, c.stable);
            match (ratio, c.hl_ratio) {
                (Some(g), Some(w)) => assert!(close(g, w, 1e-12), "{name}: ratio {g}, numpy {w}"),
                (None, None) => {}
                (g, w) => panic!("{name}: ratio {g:?}, numpy {w:?}"),
            }
            assert_eq!(median(c.canary), Some(c.median_canary), "{name}: median");
        }
    }

    /// The table must exercise both methods and the situations the judge meets.
    #[test]
    fn reference_table_covers_both_methods() {
        assert!(SCIPY_CASES.iter().any(|c| c.exact));
        assert!(SCIPY_CASES.iter().any(|c| !c.exact));
        assert!(SCIPY_CASES.iter().any(|c| c.p_two_sided == 1.0));
        assert!(
            SCIPY_CASES
                .iter()
                .any(|c| c.canary.len() == 1 || c.stable.len() == 1)
        );
    }

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        for (m, n) in [(1, 1), (2, 3), (3, 3), (5, 8), (8, 8), (8, 60), (4, 1000)] {
            let dist = ExactU::new(m, n);
            let pmf = dist.pmf_upto(m * n);
            let total: f64 = pmf.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "({m},{n}) sums to {total}");
            // The right half comes out of subtractions, so it is only accurate in
            // absolute terms; `sf` never uses it.
            for k in 0..=m * n {
                let (a, b) = (pmf[k], pmf[m * n - k]);
                assert!((a - b).abs() <= 1e-15, "({m},{n}) k={k}: {a} vs {b}");
                assert!(a > -1e-15, "({m},{n}) k={k}: negative mass {a}");
            }
            // The left tail keeps relative precision: U = 0 and U = 1 each have
            // exactly one arrangement out of C(m+n, m).
            let arrangements: f64 = (1..=m).map(|i| (n + i) as f64 / i as f64).product();
            for k in [0, 1] {
                assert!(
                    close(pmf[k], 1.0 / arrangements, 1e-13),
                    "({m},{n}) P(U={k}) = {}",
                    pmf[k]
                );
            }
        }
    }

    #[test]
    fn empty_or_nan_samples_give_none() {
        assert_eq!(mann_whitney_u(&[], &[1.0]), None);
        assert_eq!(mann_whitney_u(&[1.0], &[]), None);
        assert_eq!(mann_whitney_u(&[1.0, f64::NAN], &[2.0]), None);
        assert_eq!(hodges_lehmann_shift(&[], &[1.0]), None);
        assert_eq!(hodges_lehmann_shift(&[f64::NAN], &[1.0]), None);
        assert_eq!(
            hodges_lehmann_shift(&[f64::INFINITY], &[f64::INFINITY]),
            None
        );
        assert_eq!(hodges_lehmann_ratio(&[1.0], &[]), None);
        assert_eq!(hodges_lehmann_ratio(&[1.0, 0.0], &[1.0]), None);
        assert_eq!(hodges_lehmann_ratio(&[1.0], &[-2.0]), None);
        assert_eq!(hodges_lehmann_ratio(&[f64::NAN], &[1.0]), None);
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn infinite_values_do_not_panic() {
        let r = mann_whitney_u(&[f64::INFINITY, 1.0], &[f64::NEG_INFINITY, 2.0]).unwrap();
        // inf > -inf, inf > 2, 1 > -inf; 1 < 2.
        assert_eq!(r.u, 3.0);
        assert!((0.0..=1.0).contains(&r.p_two_sided));
        let huge = hodges_lehmann_shift(&[f64::MAX], &[-f64::MAX]).unwrap();
        assert_eq!(huge, f64::INFINITY);
    }

    /// n = m = 10 000 must use the normal approximation and stay fast (a naive
    /// exact table or n·m differences would take seconds and ~800 MB).
    #[test]
    fn large_samples_are_fast() {
        let canary: Vec<f64> = (0..10_000).map(|i| f64::from(i) * 1.000_1 + 0.5).collect();
        let stable: Vec<f64> = (0..10_000).map(f64::from).collect();
        let start = std::time::Instant::now();
        let r = mann_whitney_u(&canary, &stable).unwrap();
        let shift = hodges_lehmann_shift(&canary, &stable).unwrap();
        let ratio = hodges_lehmann_ratio(&canary, &stable[1..]).unwrap();
        assert!(!r.exact);
        assert!(r.p_greater < 0.5 && r.p_less > 0.5, "{r:?}");
        assert!(shift > 0.0 && shift < 2.0, "{shift}");
        assert!(ratio > 1.0, "{ratio}");
        // Small samples against a very large one stay within the exact bound.
        let small = [0.25, 700.5, 9_000.5];
        let r = mann_whitney_u(&small, &stable).unwrap();
        assert!(r.exact);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    fn sample() -> impl Strategy<Value = Vec<f64>> {
        // Integers scaled down: plenty of ties, and exact sums in f64.
        prop::collection::vec((-40i32..40).prop_map(|v| f64::from(v) / 4.0), 1..25)
    }

    fn positive_sample() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(0.01f64..1e6, 1..25)
    }

    proptest! {
        #[test]
        fn p_values_are_probabilities(x in sample(), y in sample()) {
            let r = mann_whitney_u(&x, &y).unwrap();
            for p in [r.p_greater, r.p_less, r.p_two_sided] {
                prop_assert!((0.0..=1.0).contains(&p), "{r:?}");
            }
        }

        #[test]
        fn swapping_samples_swaps_tails(x in sample(), y in sample()) {
            let xy = mann_whitney_u(&x, &y).unwrap();
            let yx = mann_whitney_u(&y, &x).unwrap();
            prop_assert_eq!(xy.p_greater, yx.p_less);
            prop_assert_eq!(xy.p_less, yx.p_greater);
            prop_assert_eq!(xy.p_two_sided, yx.p_two_sided);
            prop_assert_eq!(xy.u + yx.u, (x.len() * y.len()) as f64);
        }

        #[test]
        fn u_counts_pairs(x in sample(), y in sample()) {
            let r = mann_whitney_u(&x, &y).unwrap();
            let pairs: f64 = x.iter()
                .flat_map(|a| y.iter().map(move |b| match a.partial_cmp(b) {
                    Some(std::cmp::Ordering::Greater) => 1.0,
                    Some(std::cmp::Ordering::Equal) => 0.5,
                    _ => 0.0,
                }))
                .sum();
            prop_assert_eq!(r.u, pairs);
        }

        #[test]
        fn two_sided_doubles_the_smaller_tail(x in sample(), y in sample()) {
            let r = mann_whitney_u(&x, &y).unwrap();
            let want = (2.0 * r.p_greater.min(r.p_less)).min(1.0);
            prop_assert!((r.p_two_sided - want).abs() < 1e-12, "{r:?}");
        }

        #[test]
        fn exact_tails_are_complementary(
            x in prop::collection::hash_set(-500i32..500, 1..9),
            y in prop::collection::hash_set(-500i32..500, 1..30),
        ) {
            // Distinct values (hash sets, then disjoint) force the exact method;
            // then P(U ≥ u) + P(U ≤ u) = 1 + P(U = u), so p_greater + p_less > 1.
            let y: Vec<f64> = y.difference(&x).map(|&v| f64::from(v)).collect();
            let x: Vec<f64> = x.into_iter().map(f64::from).collect();
            prop_assume!(!y.is_empty());
            let r = mann_whitney_u(&x, &y).unwrap();
            prop_assert!(r.exact);
            prop_assert!(r.p_greater + r.p_less > 1.0 - 1e-12, "{r:?}");
        }

        #[test]
        fn hl_shift_moves_with_the_canary(x in sample(), y in sample(), c in -1e3f64..1e3) {
            let moved: Vec<f64> = x.iter().map(|v| v + c).collect();
            let base = hodges_lehmann_shift(&x, &y).unwrap();
            let got = hodges_lehmann_shift(&moved, &y).unwrap();
            prop_assert!((got - (base + c)).abs() <= 1e-9 * (1.0 + c.abs() + base.abs()), "{got} vs {base} + {c}");
        }

        #[test]
        fn hl_ratio_scales_with_the_canary(x in positive_sample(), y in positive_sample(), k in 0.001f64..1e3) {
            let scaled: Vec<f64> = x.iter().map(|v| v * k).collect();
            let base = hodges_lehmann_ratio(&x, &y).unwrap();
            let got = hodges_lehmann_ratio(&scaled, &y).unwrap();
            prop_assert!(((got - k * base) / (k * base)).abs() < 1e-9, "{got} vs {k} * {base}");
        }

        #[test]
        fn hl_shift_matches_brute_force(x in sample(), y in sample()) {
            let diffs: Vec<f64> = x.iter().flat_map(|a| y.iter().map(move |b| a - b)).collect();
            prop_assert_eq!(hodges_lehmann_shift(&x, &y), median(&diffs));
        }

        #[test]
        fn median_ignores_order(mut x in sample(), seed in any::<u64>()) {
            let before = median(&x);
            // A deterministic shuffle driven by the seed.
            let len = x.len();
            let mut s = seed;
            for i in (1..len).rev() {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                x.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(median(&x), before);
            x.reverse();
            prop_assert_eq!(median(&x), before);
        }
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
