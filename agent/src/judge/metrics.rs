//! Canary-vs-stable comparison of each metric, as Kayenta does: a two-sample
//! Mann-Whitney U test for "is there a difference", and a Hodges-Lehmann estimate
//! for "is it big enough to matter". A metric regresses only when both say so.

use crate::evidence::{Better, Evidence, MetricSeries};
use crate::judge::config::{JudgeConfig, MetricKind};
use crate::judge::signal::{Severity, Signal, SignalSource};
use crate::judge::stats;
use crate::verdict::{MetricOutcome, MetricResult};

/// Judge every metric of the bundle; one result and one signal per metric.
pub fn judge_metrics(ev: &Evidence, cfg: &JudgeConfig) -> (Vec<MetricResult>, Vec<Signal>) {
    let requests = (
        ev.traffic.and_then(|t| t.canary_requests),
        ev.traffic.and_then(|t| t.stable_requests),
    );
    let mut results = Vec::with_capacity(ev.metrics.len());
    let mut signals = Vec::with_capacity(ev.metrics.len());
    for (i, m) in ev.metrics.iter().enumerate() {
        let ratio;
        let m = match as_ratio(m) {
            Some(r) => {
                ratio = r;
                &ratio
            }
            None => m,
        };
        let scaled;
        let (m, share_note) = match traffic_share_scale(m, ev.rollout.canary_weight) {
            ShareScale::AsIs => (m, None),
            ShareScale::Scaled(k) => {
                scaled = MetricSeries {
                    canary: m.canary.iter().map(|x| x * k).collect(),
                    ..m.clone()
                };
                (
                    &scaled,
                    Some(format!(
                        "canary scaled ×{} to stable's traffic share",
                        fmt_num(k)
                    )),
                )
            }
            ShareScale::Unknown => {
                let detail = format!(
                    "{}: no verdict possible, a version-total throughput follows each version's traffic share, and the canary weight is unknown or 0/100",
                    m.name
                );
                let mut r = unjudged(m, String::new());
                r.note = "canary weight unknown: a version total cannot be compared".into();
                results.push(r);
                signals.push(Signal::new(
                    SignalSource::Metric,
                    Severity::Concern,
                    detail,
                    format!("metrics[{i}] {}", m.name),
                    50,
                ));
                continue;
            }
        };
        let (mut result, mut signal) = judge_metric(i, m, requests, cfg);
        if let Some(note) = share_note {
            result.note = format!("{} ({note})", result.note);
            signal.detail = format!("{} ({note})", signal.detail);
        }
        if let Some(extra) = unhealthy_level(i, m, &result, cfg) {
            signals.push(extra);
        }
        results.push(result);
        signals.push(signal);
    }
    (results, signals)
}

/// A percentage is a ratio written ×100: the same series in 0..1, so that every
/// rule written for ratios (the absolute error tolerance, badness `1 - x`, the
/// error ceiling) means the same whichever way the bundle wrote it.
fn as_ratio(m: &MetricSeries) -> Option<MetricSeries> {
    let unit = m.unit.as_deref()?.trim().to_ascii_lowercase();
    matches!(unit.as_str(), "percent" | "%" | "pct").then(|| MetricSeries {
        unit: Some("ratio".into()),
        canary: m.canary.iter().map(|x| x / 100.0).collect(),
        stable: m.stable.iter().map(|x| x / 100.0).collect(),
        ..m.clone()
    })
}

/// How a throughput metric's canary series is made comparable with stable's.
enum ShareScale {
    AsIs,
    Scaled(f64),
    Unknown,
}

/// A version-total throughput (requests or records per second summed over a
/// version's pods) follows the share of traffic each version gets: at canary
/// weight `w`%, the canary does `w / (100 - w)` of stable's work while behaving
/// exactly as well. So its canary samples are scaled by `(100 - w) / w` before
/// the comparison; per-instance rates and every other metric compare as they
/// are. Without a weight strictly between 0 and 100 the total is not comparable.
fn traffic_share_scale(m: &MetricSeries, weight: Option<u8>) -> ShareScale {
    if !MetricKind::is_throughput(&m.name, m.unit.as_deref())
        || MetricKind::is_per_instance(&m.name)
    {
        return ShareScale::AsIs;
    }
    match weight {
        Some(w) if (1..100).contains(&w) => ShareScale::Scaled(f64::from(100 - w) / f64::from(w)),
        _ => ShareScale::Unknown,
    }
}

/// The tolerance applied to one metric.
#[derive(Debug, Clone, Copy)]
enum Tolerance {
    /// Absolute shift of a ratio, in the bad direction.
    Absolute(f64),
    /// Ratio canary/stable in the bad direction, and an absolute floor under which
    /// no change matters.
    Relative { ratio: f64, floor: f64 },
}

impl Tolerance {
    fn for_metric(kind: MetricKind, unit: Option<&str>, cfg: &JudgeConfig) -> Tolerance {
        match kind {
            MetricKind::ErrorRatio => Tolerance::Absolute(cfg.error_ratio_tolerance),
            MetricKind::Latency => {
                let per_ms = match unit.map(str::to_ascii_lowercase).as_deref() {
                    Some("s" | "second" | "seconds") => 0.001,
                    Some("us" | "µs") => 1000.0,
                    Some("ns") => 1_000_000.0,
                    _ => 1.0,
                };
                Tolerance::Relative {
                    ratio: cfg.latency_ratio_tolerance,
                    floor: cfg.latency_floor_ms * per_ms,
                }
            }
            MetricKind::Other => Tolerance::Relative {
                ratio: cfg.other_ratio_tolerance,
                floor: 0.0,
            },
        }
    }

    fn describe(self, better: Better, unit: Option<&str>) -> String {
        let bad = match better {
            Better::Lower => "+",
            Better::Higher => "−",
        };
        match self {
            Tolerance::Absolute(a) => format!("{bad}{} pp", fmt_num(a * 100.0)),
            Tolerance::Relative { ratio, floor } if floor > 0.0 => {
                format!("×{} and {bad}{}", fmt_num(ratio), fmt_unit(floor, unit))
            }
            Tolerance::Relative { ratio, .. } => format!("×{}", fmt_num(ratio)),
        }
    }

    /// Is an effect of this size beyond the tolerance, in the given direction
    /// (`worse` = the bad direction for this metric)?
    fn exceeded(self, shift: f64, ratio: Option<f64>, worse: bool, better: Better) -> bool {
        // Orient so that a positive number is "in the direction asked about".
        let sign = match (better, worse) {
            (Better::Lower, true) | (Better::Higher, false) => 1.0,
            (Better::Lower, false) | (Better::Higher, true) => -1.0,
        };
        let oriented_shift = sign * shift;
        match self {
            Tolerance::Absolute(a) => oriented_shift > a,
            Tolerance::Relative { ratio: r, floor } => {
                if oriented_shift <= floor {
                    return false;
                }
                match ratio {
                    Some(q) if sign > 0.0 => q > r,
                    Some(q) => q < 1.0 / r,
                    // A zero or negative value on one side: the ratio is undefined,
                    // and a positive shift from zero is unbounded relatively.
                    None => true,
                }
            }
        }
    }
}

/// A metric's result before any test: its levels, no outcome yet (`NoData`).
fn unjudged(m: &MetricSeries, tolerance: String) -> MetricResult {
    MetricResult {
        name: m.name.clone(),
        unit: m.unit.clone(),
        better: m.better,
        critical: m.critical,
        outcome: MetricOutcome::NoData,
        canary_samples: m.canary.len(),
        stable_samples: m.stable.len(),
        canary_median: stats::median(&m.canary),
        stable_median: stats::median(&m.stable),
        shift: None,
        ratio: None,
        p_value: None,
        tolerance,
        note: String::new(),
    }
}

fn judge_metric(
    index: usize,
    m: &MetricSeries,
    (canary_requests, stable_requests): (Option<u64>, Option<u64>),
    cfg: &JudgeConfig,
) -> (MetricResult, Signal) {
    let kind = MetricKind::of(&m.name, m.unit.as_deref());
    let tolerance = Tolerance::for_metric(kind, m.unit.as_deref(), cfg);
    let evidence_ref = format!("metrics[{index}] {}", m.name);
    let mut result = unjudged(m, tolerance.describe(m.better, m.unit.as_deref()));
    let unit = m.unit.as_deref();

    // Invariant (no promote without data on a metric): a metric that was asked
    // for but cannot be judged (no samples, no baseline, too few samples, too
    // little traffic) is a concern whether or not it is critical. Missing data is
    // never read as healthy data, and a thin series is missing data.
    let no_data_severity = Severity::Concern;
    let thin_traffic =
        kind.needs_traffic() && canary_requests.is_some_and(|n| n < cfg.min_canary_requests);
    let no_data_note = if m.canary.is_empty() {
        Some("no canary samples".to_owned())
    } else if m.stable.is_empty() {
        Some("no stable samples to compare with".to_owned())
    } else if thin_traffic {
        Some(format!(
            "canary served {} requests, fewer than the {} needed to judge a request metric",
            canary_requests.unwrap_or(0),
            cfg.min_canary_requests
        ))
    } else if m.canary.len() < cfg.min_samples || m.stable.len() < cfg.min_samples {
        Some(format!(
            "{} canary / {} stable samples, fewer than the {} needed on each side",
            m.canary.len(),
            m.stable.len(),
            cfg.min_samples
        ))
    } else {
        None
    };
    if thin_traffic
        && !m.canary.is_empty()
        && !m.stable.is_empty()
        && let (Some(n_c), Some(n_s)) = (canary_requests, stable_requests)
        && let Some((p, note)) = thin_traffic_regression(m, kind, tolerance, n_c, n_s, cfg)
    {
        result.outcome = MetricOutcome::Regression;
        result.p_value = Some(p);
        result.note = note.clone();
        let severity = if m.critical {
            Severity::Critical
        } else {
            Severity::Regression
        };
        let detail = format!(
            "{} regressed despite thin traffic: {note}",
            display_name(&m.name, kind, m.critical)
        );
        let strength = (100.0 * (1.0 - p)).clamp(60.0, 95.0) as u8;
        return (
            result,
            Signal::new(
                SignalSource::Metric,
                severity,
                detail,
                evidence_ref,
                strength,
            ),
        );
    }
    if let Some(note) = no_data_note {
        let detail = format!(
            "{}: no verdict possible, {note}",
            display_name(&m.name, kind, m.critical)
        );
        result.note = note;
        return (
            result,
            Signal::new(
                SignalSource::Metric,
                no_data_severity,
                detail,
                evidence_ref,
                50,
            ),
        );
    }

    let (Some(test), Some(shift)) = (
        stats::mann_whitney_u(&m.canary, &m.stable),
        stats::hodges_lehmann_shift(&m.canary, &m.stable),
    ) else {
        result.note = "samples could not be compared".into();
        return (
            result,
            Signal::new(
                SignalSource::Metric,
                no_data_severity,
                format!("{}: samples could not be compared", m.name),
                evidence_ref,
                50,
            ),
        );
    };
    let ratio = stats::hodges_lehmann_ratio(&m.canary, &m.stable);
    result.shift = Some(shift);
    result.ratio = ratio;

    // One-sided tests in each direction: "worse" is up for lower-is-better.
    let (p_worse, p_better) = match m.better {
        Better::Lower => (test.p_greater, test.p_less),
        Better::Higher => (test.p_less, test.p_greater),
    };
    let worse_beyond = tolerance.exceeded(shift, ratio, true, m.better);
    let better_beyond = tolerance.exceeded(shift, ratio, false, m.better);
    let levels = format!(
        "canary {} vs stable {} (median of {} / {} samples)",
        fmt_value(result.canary_median, unit),
        fmt_value(result.stable_median, unit),
        m.canary.len(),
        m.stable.len()
    );
    let effect = fmt_effect(shift, ratio, kind, unit);

    // A canary that gets worse during the window (a leak, a filling pool) can have
    // a whole-window median inside tolerance while its end state is broken. So the
    // later half of the canary series is tested against stable too, at alpha / 2
    // (Bonferroni for the second look), whenever it alone has enough samples.
    let late = late_window_regression(m, tolerance, cfg);

    let (outcome, severity, p, note) = if p_worse < cfg.alpha && worse_beyond {
        let severity = if m.critical {
            Severity::Critical
        } else {
            Severity::Regression
        };
        (
            MetricOutcome::Regression,
            severity,
            p_worse,
            format!(
                "worse by {effect}, beyond the tolerance {}; Mann-Whitney p = {}",
                result.tolerance,
                fmt_p(p_worse)
            ),
        )
    } else if let Some((p_late, late_note)) = late {
        let severity = if m.critical {
            Severity::Critical
        } else {
            Severity::Regression
        };
        (MetricOutcome::Regression, severity, p_late, late_note)
    } else if p_better < cfg.alpha && better_beyond {
        (
            MetricOutcome::Improvement,
            Severity::Pass,
            p_better,
            format!("better by {effect}; Mann-Whitney p = {}", fmt_p(p_better)),
        )
    } else if p_worse < cfg.alpha {
        (
            MetricOutcome::Pass,
            Severity::Pass,
            p_worse,
            format!(
                "worse by {effect}, a significant (p = {}) but tolerated change (tolerance {})",
                fmt_p(p_worse),
                result.tolerance
            ),
        )
    } else {
        (
            MetricOutcome::Pass,
            Severity::Pass,
            p_worse.min(p_better),
            format!(
                "no significant difference (p = {}), effect {effect}",
                fmt_p(p_worse.min(p_better))
            ),
        )
    };
    result.outcome = outcome;
    result.p_value = Some(p);
    result.note = note.clone();

    let strength = match outcome {
        // Sure of a regression: the smaller p, the surer; capped below 100 since
        // 10 samples never make anything certain.
        MetricOutcome::Regression => (100.0 * (1.0 - p)).clamp(60.0, 99.0) as u8,
        // Sure of a pass: more samples, surer.
        _ => (50 + 4 * m.canary.len().min(m.stable.len())).min(95) as u8,
    };
    let label = match outcome {
        MetricOutcome::Regression => "regressed",
        MetricOutcome::Improvement => "improved",
        _ => "within tolerance",
    };
    let detail = format!(
        "{} {label}: {levels}; {note}",
        display_name(&m.name, kind, m.critical),
    );
    (
        result,
        Signal::new(
            SignalSource::Metric,
            severity,
            detail,
            evidence_ref,
            strength,
        ),
    )
}

/// Thin traffic hides small effects, not large ones: an error ratio regresses when
/// enough canary requests failed and an exact test on the (estimated) counts says
/// the canary fails more than stable, beyond tolerance.
fn thin_traffic_regression(
    m: &MetricSeries,
    kind: MetricKind,
    tolerance: Tolerance,
    n_c: u64,
    n_s: u64,
    cfg: &JudgeConfig,
) -> Option<(f64, String)> {
    if kind != MetricKind::ErrorRatio {
        return None;
    }
    // The series are per-interval ratios; the mean badness times the request
    // count estimates the failures (exact when intervals carry equal traffic).
    // Written against badness, so a success ratio is tested like an error ratio.
    let mean_badness =
        |xs: &[f64]| xs.iter().map(|x| badness(m.better, *x)).sum::<f64>() / xs.len() as f64;
    let (rate_c, rate_s) = (
        mean_badness(&m.canary).clamp(0.0, 1.0),
        mean_badness(&m.stable).clamp(0.0, 1.0),
    );
    let x_c = (rate_c * n_c as f64).round() as u64;
    let x_s = (rate_s * n_s as f64).round() as u64;
    if x_c < cfg.min_failures_thin_traffic {
        return None;
    }
    if x_c > n_c || x_s > n_s {
        return None;
    }
    let p = stats::rate_greater_p(x_c, n_c, x_s, n_s);
    let (obs_c, obs_s) = (x_c as f64 / n_c as f64, x_s as f64 / n_s as f64);
    if p < cfg.alpha && tolerance.exceeded(obs_c - obs_s, None, true, Better::Lower) {
        Some((
            p,
            format!(
                "≈{x_c} of {n_c} canary requests failed ({}) vs ≈{x_s} of {n_s} on stable ({}); exact binomial test p = {}",
                fmt_value(Some(obs_c), Some("ratio")),
                fmt_value(Some(obs_s), Some("ratio")),
                fmt_p(p)
            ),
        ))
    } else {
        None
    }
}

/// The badness of one sample of a request ratio: the share of requests that went
/// wrong. An error ratio is its own badness; a success ratio (`better: higher`)
/// has badness `1 - x`.
///
/// Invariant (one notion of badness): every rule stated for "errors" (the error
/// ceiling, the thin-traffic binomial test) is written against this, so the same
/// failures give the same verdict however the ratio is written.
pub fn badness(better: Better, x: f64) -> f64 {
    match better {
        Better::Lower => x,
        Better::Higher => 1.0 - x,
    }
}

/// A share of failing requests this high is an incident whatever stable does:
/// never promote (invariant: the error ceiling, on badness).
fn unhealthy_level(
    index: usize,
    m: &MetricSeries,
    r: &MetricResult,
    cfg: &JudgeConfig,
) -> Option<Signal> {
    let kind = MetricKind::of(&m.name, m.unit.as_deref());
    // Improvement too: better than a broken baseline is still broken.
    if kind != MetricKind::ErrorRatio
        || !matches!(r.outcome, MetricOutcome::Pass | MetricOutcome::Improvement)
    {
        return None;
    }
    let canary = badness(m.better, r.canary_median?);
    if canary < cfg.unhealthy_error_ratio {
        return None;
    }
    Some(Signal::new(
        SignalSource::Metric,
        Severity::Concern,
        format!(
            "the service is unhealthy: the canary fails {} of requests ({}) and stable {}; no worse than a broken baseline is not safe to promote (limit {})",
            fmt_value(Some(canary), Some("ratio")),
            m.name,
            fmt_value(r.stable_median.map(|x| badness(m.better, x)), Some("ratio")),
            fmt_value(Some(cfg.unhealthy_error_ratio), Some("ratio")),
        ),
        format!("metrics[{index}] {}", m.name),
        80,
    ))
}

/// The later half of the canary series against the whole stable series: the
/// one-sided p-value and a note when it regresses beyond tolerance.
fn late_window_regression(
    m: &MetricSeries,
    tolerance: Tolerance,
    cfg: &JudgeConfig,
) -> Option<(f64, String)> {
    let half = m.canary.len() / 2;
    let late = &m.canary[half..];
    if half == 0 || late.len() < cfg.min_samples.max(4) {
        return None;
    }
    let test = stats::mann_whitney_u(late, &m.stable)?;
    let shift = stats::hodges_lehmann_shift(late, &m.stable)?;
    let ratio = stats::hodges_lehmann_ratio(late, &m.stable);
    let p = match m.better {
        Better::Lower => test.p_greater,
        Better::Higher => test.p_less,
    };
    if p < cfg.alpha / 2.0 && tolerance.exceeded(shift, ratio, true, m.better) {
        let kind = MetricKind::of(&m.name, m.unit.as_deref());
        Some((
            p,
            format!(
                "worsening during the window: the last {} canary samples (median {}) are worse by {} than stable, beyond the tolerance {}; Mann-Whitney p = {}",
                late.len(),
                fmt_value(stats::median(late), m.unit.as_deref()),
                fmt_effect(shift, ratio, kind, m.unit.as_deref()),
                tolerance.describe(m.better, m.unit.as_deref()),
                fmt_p(p)
            ),
        ))
    } else {
        None
    }
}

fn fmt_effect(shift: f64, ratio: Option<f64>, kind: MetricKind, unit: Option<&str>) -> String {
    match kind {
        MetricKind::ErrorRatio => format!(
            "{}{} pp",
            if shift >= 0.0 { "+" } else { "" },
            fmt_num(shift * 100.0)
        ),
        _ => {
            let abs = format!(
                "{}{}",
                if shift >= 0.0 { "+" } else { "" },
                fmt_unit(shift, unit)
            );
            match ratio {
                Some(r) => format!("{abs} (×{})", fmt_num(r)),
                None => abs,
            }
        }
    }
}

/// A formatted change with its sign: "+3 ms", "-2 ms", "0 ms" (never "+-0").
pub fn signed(formatted: String) -> String {
    let zero = formatted
        .trim_start_matches('-')
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .all(|c| c == '0' || c == '.');
    if zero {
        formatted.trim_start_matches('-').to_owned()
    } else if formatted.starts_with('-') {
        formatted
    } else {
        format!("+{formatted}")
    }
}

/// A value with its unit: ratios as percentages.
pub fn fmt_value(v: Option<f64>, unit: Option<&str>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) => fmt_unit(v, unit),
    }
}

fn fmt_unit(v: f64, unit: Option<&str>) -> String {
    match unit {
        Some("ratio") => format!("{}%", fmt_num(v * 100.0)),
        Some(u) if !u.is_empty() => format!("{} {u}", fmt_num(v)),
        _ => fmt_num(v),
    }
}

/// Numbers with as many digits as a person needs: 3 significant, no trailing zeros.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (2 - mag).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

pub fn fmt_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// The metric's name as a person says it, with the series name for reference:
/// "error rate (error_rate, critical)".
fn display_name(name: &str, kind: MetricKind, critical: bool) -> String {
    let crit = if critical { ", critical" } else { "" };
    match kind {
        MetricKind::ErrorRatio if name.contains("success") => {
            format!("success rate ({name}{crit})")
        }
        MetricKind::ErrorRatio => format!("error rate ({name}{crit})"),
        _ if critical => format!("{name} (critical)"),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::test_support::{evidence, metric};

    const STABLE_ERR: [f64; 10] = [0.0, 0.001, 0.0, 0.002, 0.0, 0.0, 0.001, 0.0, 0.0, 0.001];

    fn judge_one(m: MetricSeries) -> (MetricResult, Signal) {
        let mut ev = evidence();
        ev.metrics = vec![m];
        let (mut r, mut s) = judge_metrics(&ev, &JudgeConfig::default());
        (r.remove(0), s.remove(0))
    }

    #[test]
    fn a_percentage_is_judged_as_the_same_ratio() {
        let canary = [0.19, 0.15, 0.14, 0.15, 0.17, 0.15, 0.13, 0.19, 0.18, 0.18];
        let pct = |xs: &[f64]| xs.iter().map(|x| x * 100.0).collect::<Vec<_>>();
        let (r1, s1) = judge_one(metric("error_rate", "ratio", true, &canary, &STABLE_ERR));
        let (r2, s2) = judge_one(metric(
            "error_rate",
            "percent",
            true,
            &pct(&canary),
            &pct(&STABLE_ERR),
        ));
        assert_eq!((r1.outcome, s1.severity), (r2.outcome, s2.severity));
        assert_eq!(r2.outcome, MetricOutcome::Regression);
        // A tolerated 0.3 pp shift is tolerated in percent too.
        let small: Vec<f64> = STABLE_ERR.iter().map(|v| v + 0.003).collect();
        let (r, _) = judge_one(metric(
            "error_rate",
            "%",
            true,
            &pct(&small),
            &pct(&STABLE_ERR),
        ));
        assert_eq!(r.outcome, MetricOutcome::Pass);
    }

    #[test]
    fn a_version_total_throughput_is_compared_at_its_traffic_share() {
        let rate = |canary: &[f64], weight: Option<u8>, name: &str| {
            let mut ev = evidence();
            ev.rollout.canary_weight = weight;
            let mut m = metric(
                name,
                "req/s",
                false,
                canary,
                &[36.0, 35.0, 37.0, 36.5, 35.5, 36.0],
            );
            m.better = Better::Higher;
            ev.metrics = vec![m];
            let (mut r, mut s) = judge_metrics(&ev, &JudgeConfig::default());
            (r.remove(0), s.remove(0))
        };
        // At 25% the canary does a third of stable's work, behaving the same.
        let same = [12.0, 11.8, 12.2, 12.1, 11.9, 12.0];
        let (r, s) = rate(&same, Some(25), "request_rate");
        assert_eq!(r.outcome, MetricOutcome::Pass, "{}", s.detail);
        assert!(s.detail.contains("scaled ×3"), "{}", s.detail);
        // Half of that is a real drop.
        let half: Vec<f64> = same.iter().map(|x| x / 2.0).collect();
        assert_eq!(
            rate(&half, Some(25), "request_rate").0.outcome,
            MetricOutcome::Regression
        );
        // No weight: a total cannot be compared, which is no data, not a pass.
        let (r, s) = rate(&same, None, "request_rate");
        assert_eq!(
            (r.outcome, s.severity),
            (MetricOutcome::NoData, Severity::Concern)
        );
        // A per-pod rate compares as it is.
        let (r, _) = rate(&same, Some(25), "requests_per_pod_per_second");
        assert_eq!(r.outcome, MetricOutcome::Regression);
        let (r, _) = rate(
            &[36.0, 35.5, 36.5, 36.0, 35.0, 37.0],
            None,
            "requests_per_pod_per_second",
        );
        assert_eq!(r.outcome, MetricOutcome::Pass);
    }

    #[test]
    fn clear_critical_error_regression_is_critical() {
        let canary = [0.19, 0.15, 0.14, 0.15, 0.17, 0.15, 0.13, 0.19, 0.18, 0.18];
        let (r, s) = judge_one(metric("error_rate", "ratio", true, &canary, &STABLE_ERR));
        assert_eq!(r.outcome, MetricOutcome::Regression);
        assert_eq!(s.severity, Severity::Critical);
        assert!(r.p_value.is_some_and(|p| p < 0.001), "{r:?}");
        assert!(
            s.detail
                .starts_with("error rate (error_rate, critical) regressed"),
            "{}",
            s.detail
        );
    }

    #[test]
    fn the_same_regression_on_a_non_critical_metric_is_a_regression() {
        let canary = [0.19, 0.15, 0.14, 0.15, 0.17, 0.15, 0.13, 0.19, 0.18, 0.18];
        let (_, s) = judge_one(metric("error_rate", "ratio", false, &canary, &STABLE_ERR));
        assert_eq!(s.severity, Severity::Regression);
    }

    #[test]
    fn a_significant_but_tolerated_change_passes() {
        // Always higher, but by 0.3 pp: below Flagger's 1 pp.
        let canary: Vec<f64> = STABLE_ERR.iter().map(|v| v + 0.003).collect();
        let (r, s) = judge_one(metric("error_rate", "ratio", true, &canary, &STABLE_ERR));
        assert_eq!(r.outcome, MetricOutcome::Pass);
        assert_eq!(s.severity, Severity::Pass);
        assert!(r.note.contains("tolerated"), "{}", r.note);
    }

    #[test]
    fn empty_canary_series_is_no_data_and_a_concern_critical_or_not() {
        let (r, s) = judge_one(metric("error_rate", "ratio", true, &[], &STABLE_ERR));
        assert_eq!(r.outcome, MetricOutcome::NoData);
        assert_eq!(s.severity, Severity::Concern);
        // A metric that was asked for but has no data never reads as healthy.
        let (r, s) = judge_one(metric("latency_p99_ms", "ms", false, &[], &[1.0; 5]));
        assert_eq!(r.outcome, MetricOutcome::NoData);
        assert_eq!(s.severity, Severity::Concern);
    }

    #[test]
    fn too_few_samples_or_requests_is_no_data() {
        let (r, _) = judge_one(metric(
            "error_rate",
            "ratio",
            true,
            &[0.5, 0.5],
            &STABLE_ERR,
        ));
        assert_eq!(r.outcome, MetricOutcome::NoData);
        let mut ev = evidence();
        ev.traffic = Some(crate::evidence::Traffic {
            canary_requests: Some(11),
            stable_requests: Some(900),
        });
        let one_bad_bucket = [0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        ev.metrics = vec![metric(
            "error_rate",
            "ratio",
            true,
            &one_bad_bucket,
            &STABLE_ERR,
        )];
        let (r, s) = judge_metrics(&ev, &JudgeConfig::default());
        assert_eq!(r[0].outcome, MetricOutcome::NoData);
        assert!(s[0].detail.contains("11 requests"), "{}", s[0].detail);
        // Memory does not depend on traffic.
        ev.metrics = vec![metric(
            "memory_mib",
            "MiB",
            false,
            &[900.0; 10],
            &[300.0, 310.0, 305.0, 299.0, 301.0],
        )];
        let (r, _) = judge_metrics(&ev, &JudgeConfig::default());
        assert_eq!(r[0].outcome, MetricOutcome::Regression);
    }

    #[test]
    fn latency_needs_both_ratio_and_absolute_floor() {
        let stable = [2.0, 2.1, 1.9, 2.0, 2.2, 2.0, 1.8, 2.1];
        // +50% but +1 ms: nobody notices.
        let canary = [3.0, 3.1, 2.9, 3.0, 3.2, 3.0, 2.8, 3.1];
        let (r, _) = judge_one(metric("latency_p99_ms", "ms", false, &canary, &stable));
        assert_eq!(r.outcome, MetricOutcome::Pass, "{r:?}");
        let stable = [200.0, 210.0, 190.0, 205.0, 195.0, 200.0, 215.0, 185.0];
        let canary = [400.0, 420.0, 380.0, 410.0, 390.0, 400.0, 430.0, 370.0];
        let (r, s) = judge_one(metric("latency_p99_ms", "ms", false, &canary, &stable));
        assert_eq!(r.outcome, MetricOutcome::Regression);
        assert_eq!(s.severity, Severity::Regression);
        assert!(r.ratio.is_some_and(|q| (q - 2.0).abs() < 0.1), "{r:?}");
    }

    #[test]
    fn latency_floor_scales_with_seconds() {
        // 0.2 s → 0.4 s is +200 ms, well above the 25 ms floor once converted.
        let stable = [0.20, 0.21, 0.19, 0.2, 0.2, 0.22];
        let canary = [0.40, 0.41, 0.39, 0.4, 0.4, 0.42];
        let (r, _) = judge_one(metric("request_duration_p99", "s", false, &canary, &stable));
        assert_eq!(r.outcome, MetricOutcome::Regression);
    }

    #[test]
    fn lower_latency_is_an_improvement() {
        let stable = [400.0, 420.0, 380.0, 410.0, 390.0, 400.0];
        let canary = [200.0, 210.0, 190.0, 205.0, 195.0, 200.0];
        let (r, s) = judge_one(metric("latency_p99_ms", "ms", true, &canary, &stable));
        assert_eq!(r.outcome, MetricOutcome::Improvement);
        assert_eq!(s.severity, Severity::Pass);
    }

    #[test]
    fn higher_is_better_metrics_regress_downwards() {
        let mut m = metric(
            "success_rate",
            "ratio",
            true,
            &[0.90, 0.91, 0.89, 0.9, 0.9, 0.92],
            &[0.999, 0.998, 1.0, 0.999, 0.999, 1.0],
        );
        m.better = Better::Higher;
        let (r, s) = judge_one(m.clone());
        assert_eq!(r.outcome, MetricOutcome::Regression, "{r:?}");
        assert_eq!(s.severity, Severity::Critical);
        assert!(s.detail.starts_with("success rate"));
        std::mem::swap(&mut m.canary, &mut m.stable);
        let (r, _) = judge_one(m);
        assert_eq!(r.outcome, MetricOutcome::Improvement);
    }

    #[test]
    fn a_canary_worsening_during_the_window_regresses() {
        // Whole-window median shift under 1 pp, but the end state is 3-4%.
        let canary = [
            0.0005, 0.0003, 0.0002, 0.0023, 0.0059, 0.0126, 0.019, 0.024, 0.033, 0.039,
        ];
        let stable = [
            0.0003, 0.0002, 0.0002, 0.0003, 0.0003, 0.0002, 0.0003, 0.0002, 0.0003, 0.0003,
        ];
        let (r, s) = judge_one(metric("error_rate", "ratio", true, &canary, &stable));
        assert_eq!(r.outcome, MetricOutcome::Regression);
        assert_eq!(s.severity, Severity::Critical);
        assert!(r.note.contains("worsening during the window"), "{}", r.note);
    }

    #[test]
    fn thin_traffic_with_many_failures_still_regresses() {
        let mut ev = evidence();
        ev.traffic = Some(crate::evidence::Traffic {
            canary_requests: Some(38),
            stable_requests: Some(712),
        });
        let canary = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.3333, 0.75, 0.5, 0.25];
        ev.metrics = vec![metric("error_rate", "ratio", true, &canary, &[0.0; 10])];
        let (r, s) = judge_metrics(&ev, &JudgeConfig::default());
        assert_eq!(r[0].outcome, MetricOutcome::Regression, "{:?}", r[0]);
        assert_eq!(s[0].severity, Severity::Critical);
        assert!(
            s[0].detail.contains("of 38 canary requests failed"),
            "{}",
            s[0].detail
        );
        // One failure in eleven requests is still too little to tell.
        ev.traffic = Some(crate::evidence::Traffic {
            canary_requests: Some(11),
            stable_requests: Some(1100),
        });
        ev.metrics = vec![metric(
            "error_rate",
            "ratio",
            true,
            &[0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
            &[0.0; 10],
        )];
        let (r, _) = judge_metrics(&ev, &JudgeConfig::default());
        assert_eq!(r[0].outcome, MetricOutcome::NoData);
    }

    #[test]
    fn a_broken_baseline_is_not_a_reason_to_promote() {
        let canary = [0.37, 0.15, 0.2, 0.18, 0.27, 0.23, 0.27, 0.25, 0.29, 0.27];
        let stable = [0.27, 0.25, 0.23, 0.21, 0.24, 0.23, 0.22, 0.23, 0.24, 0.25];
        let mut ev = evidence();
        ev.metrics = vec![metric(
            "grpc_server_error_ratio",
            "ratio",
            true,
            &canary,
            &stable,
        )];
        let (r, s) = judge_metrics(&ev, &JudgeConfig::default());
        assert_eq!(r[0].outcome, MetricOutcome::Pass);
        assert!(
            s.iter()
                .any(|s| s.severity == Severity::Concern && s.detail.contains("unhealthy"))
        );
        // A small shared background error rate (3%) is the service's normal.
        let canary = [0.03, 0.04, 0.03, 0.02, 0.03, 0.04, 0.03, 0.03, 0.02, 0.03];
        ev.metrics = vec![metric("error_rate", "ratio", true, &canary, &canary)];
        let (_, s) = judge_metrics(&ev, &JudgeConfig::default());
        assert!(s.iter().all(|s| s.severity == Severity::Pass));
    }

    #[test]
    fn identical_series_pass_with_p_one() {
        let (r, _) = judge_one(metric("error_rate", "ratio", true, &[0.0; 10], &[0.0; 10]));
        assert_eq!(r.outcome, MetricOutcome::Pass);
        assert!(r.p_value.is_some_and(|p| p > 0.4));
    }

    #[test]
    fn kinds_follow_name_and_unit() {
        assert_eq!(
            MetricKind::of("error_rate", Some("ratio")),
            MetricKind::ErrorRatio
        );
        assert_eq!(
            MetricKind::of("http_5xx_ratio", Some("ratio")),
            MetricKind::ErrorRatio
        );
        assert_eq!(
            MetricKind::of("latency_p99_ms", Some("ms")),
            MetricKind::Latency
        );
        assert_eq!(MetricKind::of("gc_pause", Some("s")), MetricKind::Latency);
        assert_eq!(MetricKind::of("cpu_seconds", Some("s")), MetricKind::Other);
        assert_eq!(
            MetricKind::of("memory_working_set_mib", Some("MiB")),
            MetricKind::Other
        );
        assert_eq!(
            MetricKind::of("cache_hit_ratio", Some("ratio")),
            MetricKind::Other
        );
        // Failed work goes by other words than "error".
        for name in [
            "refused_spans_ratio",
            "rejected_messages_ratio",
            "dropped_packets_ratio",
            "upstream_timeout_ratio",
            "auth_denied_ratio",
            "packet_loss_percent",
            "jobs_succeeded_ratio",
        ] {
            assert_eq!(
                MetricKind::of(name, Some("ratio")),
                MetricKind::ErrorRatio,
                "{name}"
            );
        }
        assert!(!MetricKind::is_throughput(
            "rejected_per_second",
            Some("1/s")
        ));
        assert!(MetricKind::is_throughput("spans_processed", Some("1/s")));
        assert!(!MetricKind::is_throughput(
            "http_server_requests_p99",
            Some("ms")
        ));
        assert!(!MetricKind::is_throughput(
            "http_server_requests_seconds",
            Some("s")
        ));
        assert!(!MetricKind::is_throughput(
            "requests_success_ratio",
            Some("ratio")
        ));
        assert!(MetricKind::is_throughput("http_requests", Some("1/s")));
    }

    #[test]
    fn changes_carry_one_sign() {
        assert_eq!(signed(fmt_num(-0.0)), "0");
        assert_eq!(signed(fmt_num(0.0)), "0");
        assert_eq!(signed(fmt_num(2.5)), "+2.5");
        assert_eq!(signed(fmt_num(-2.5)), "-2.5");
        assert_eq!(signed(fmt_unit(-0.0, Some("ms"))), "0 ms");
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(fmt_num(0.15612), "0.156");
        assert_eq!(fmt_num(1234.6), "1235");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_value(Some(0.0312), Some("ratio")), "3.12%");
    }
}
