//! One metric's canary and stable samples as an inline SVG chart: both series
//! in window order, their medians as dashed lines, axes with ticks and labels,
//! and the test's outcome, p-value and tolerance in the title. Server-rendered,
//! no script; colours are presentation attributes (not CSS), so the page's
//! Content-Security-Policy needs nothing for them.

use std::fmt::Write;

use super::fmt;
use super::html::esc;
use crate::evidence::MetricSeries;
use crate::verdict::MetricResult;

const W: f64 = 720.0;
const H: f64 = 276.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 62.0;
pub const CANARY: &str = "#c2410c";
pub const STABLE: &str = "#1d4ed8";

/// The chart of one metric. `series` holds the samples (absent when the
/// evidence had none for this metric); `result` the judge's test of it.
/// `id` makes element ids unique on the page. Every text is escaped; the
/// caller redacts.
pub fn metric_chart(
    id: usize,
    result: &MetricResult,
    series: Option<&MetricSeries>,
    redact: &dyn Fn(&str) -> String,
) -> String {
    let canary: &[f64] = series.map_or(&[], |s| &s.canary);
    let stable: &[f64] = series.map_or(&[], |s| &s.stable);
    let unit = result.unit.as_deref().map(redact);
    let name = redact(&result.name);
    let mut s = String::with_capacity(4096);
    let title_id = format!("chart-{id}-title");
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-labelledby="{title_id}" data-metric="{}">"#,
        esc(&name)
    );
    let title = format!(
        "{name}{}: {} · p = {} · tolerance {}",
        if result.critical { " (critical)" } else { "" },
        result.outcome.as_str(),
        fmt::p_value(result.p_value),
        redact(&result.tolerance),
    );
    let _ = write!(
        s,
        r##"<title id="{title_id}">{}</title><text x="{LEFT}" y="18" font-size="14" font-weight="600" fill="#111">{}</text>"##,
        esc(&title),
        esc(&title)
    );
    let medians = format!(
        "canary median {} · stable median {} · {} / {} samples",
        fmt::opt_number(result.canary_median),
        fmt::opt_number(result.stable_median),
        canary.len(),
        stable.len()
    );
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="34" font-size="12" fill="#444">{}</text>"##,
        esc(&medians)
    );

    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#bbb"/>"##
    );

    let n = canary.len().max(stable.len());
    if n == 0 {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="14" text-anchor="middle" fill="#666">no samples</text></svg>"##,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
        return s;
    }

    let (lo, hi) = y_range(canary, stable, result);
    let step = nice_step((hi - lo) / 4.0);
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));

    // Y ticks and grid, at round numbers.
    for v in ticks(lo, hi, step) {
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#444">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0,
            esc(&tick_label(v, step))
        );
    }
    // X ticks: first, middle, last sample.
    let mut ticks = vec![0, (n - 1) / 2, n - 1];
    ticks.dedup();
    for i in ticks {
        let xx = x(i);
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#888"/><text x="{xx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#444">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 5.0,
            TOP + plot_h + 18.0,
            i + 1
        );
    }
    // Axis labels.
    let _ = write!(
        s,
        r##"<text class="axis-label" x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#222">sample (window order)</text>"##,
        LEFT + plot_w / 2.0,
        TOP + plot_h + 34.0
    );
    let y_label = unit.clone().unwrap_or_else(|| name.clone());
    let _ = write!(
        s,
        r##"<text class="axis-label" x="14" y="{:.1}" font-size="12" text-anchor="middle" fill="#222" transform="rotate(-90 14 {:.1})">{}</text>"##,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        esc(&y_label)
    );

    // Medians, then the series on top.
    for (median, colour, side) in [
        (result.stable_median, STABLE, "stable"),
        (result.canary_median, CANARY, "canary"),
    ] {
        if let Some(m) = median.filter(|m| m.is_finite()) {
            let _ = write!(
                s,
                r#"<line class="median median-{side}" x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4" opacity="0.8"/>"#,
                LEFT + plot_w,
                yy = y(m)
            );
        }
    }
    for (values, colour, side) in [(stable, STABLE, "stable"), (canary, CANARY, "canary")] {
        if values.is_empty() {
            continue;
        }
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="series series-{side}" fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{side} sample {}: {}</title></circle>"#,
                x(i),
                y(*v),
                i + 1,
                esc(&fmt::number(*v))
            );
        }
    }
    // Legend, under the axis label.
    for (k, (colour, side)) in [(CANARY, "canary"), (STABLE, "stable")].iter().enumerate() {
        let lx = LEFT + 200.0 * k as f64;
        let ly = H - 8.0;
        let _ = write!(
            s,
            r##"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#222">{side} (dashed: median)</text>"##,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The value range shown: every sample and median, padded 8%; a flat series
/// gets a band around its value so it does not sit on an edge.
fn y_range(canary: &[f64], stable: &[f64], r: &MetricResult) -> (f64, f64) {
    let all = canary
        .iter()
        .chain(stable)
        .copied()
        .chain(r.canary_median)
        .chain(r.stable_median)
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        let band = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - band, hi + band);
    }
    let pad = (hi - lo) * 0.08;
    // Rates and latencies are never negative: do not pad below zero.
    if lo >= 0.0 {
        lo = (lo - pad).max(0.0);
    } else {
        lo -= pad;
    }
    hi += pad;
    (lo, hi)
}

/// A round step near `raw`: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.5 {
        1.0
    } else if f <= 3.0 {
        2.0
    } else if f <= 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Multiples of `step` from `lo` to `hi` (at most a dozen).
fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step).round().clamp(0.0, 12.0) as usize;
    (0..=n).map(|k| lo + step * k as f64).collect()
}

/// A tick value with the decimals its step needs and no more.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if decimals > 6 {
        format!("{v:.1e}")
    } else {
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Better;
    use crate::verdict::MetricOutcome;

    fn result(name: &str) -> MetricResult {
        MetricResult {
            name: name.into(),
            unit: Some("ms".into()),
            better: Better::Lower,
            critical: true,
            outcome: MetricOutcome::Regression,
            canary_samples: 3,
            stable_samples: 3,
            canary_median: Some(300.0),
            stable_median: Some(100.0),
            shift: Some(200.0),
            ratio: Some(3.0),
            p_value: Some(0.004),
            tolerance: "×1.2".into(),
            note: String::new(),
        }
    }

    #[test]
    fn draws_both_series_medians_and_labels() {
        let series = MetricSeries {
            name: "lat<script>".into(),
            unit: Some("ms".into()),
            better: Better::Lower,
            critical: true,
            canary: vec![290.0, 300.0, 310.0],
            stable: vec![100.0, 100.0, 101.0],
        };
        let svg = metric_chart(0, &result("lat<script>"), Some(&series), &|s| s.to_owned());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("class=\"median").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("sample (window order)") && svg.contains(">ms<"));
        assert!(svg.contains("p = 0.004") && svg.contains("tolerance ×1.2"));
        assert!(!svg.contains("<script"), "escaped");
        let empty = metric_chart(1, &result("x"), None, &|s| s.to_owned());
        assert!(empty.contains("no samples"));
        let flat = MetricSeries {
            canary: vec![0.0; 4],
            stable: vec![0.0; 4],
            ..series
        };
        let mut r = result("flat");
        r.canary_median = Some(0.0);
        r.stable_median = Some(0.0);
        let svg = metric_chart(2, &r, Some(&flat), &|s| s.to_owned());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(0.045), 0.05);
        assert_eq!(nice_step(2100.0), 2000.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(tick_label(0.15000000000000002, 0.05), "0.15");
        assert_eq!(tick_label(8000.0, 2000.0), "8000");
        assert_eq!(ticks(0.0, 0.2, 0.05).len(), 5);
    }
}
