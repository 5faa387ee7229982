//! The human view of a verdict: verdict, summary, reasons, metric table.

use std::fmt::Write;

use crate::evidence::Decision;
use crate::judge::metrics::{fmt_num, fmt_p, fmt_value, signed};
use crate::judge::signal::Severity;
use crate::verdict::{JudgeMode, MetricOutcome, Verdict};

/// How many reasons of each weight the human view shows; `--json` has them all.
const MAX_WEIGHTY_REASONS: usize = 8;
const MAX_PASS_REASONS: usize = 4;

pub fn render_verdict(v: &Verdict) -> String {
    let mut out = String::new();
    let mark = match v.verdict {
        Decision::Promote => "✔ PROMOTE",
        Decision::Abort => "✘ ABORT",
        Decision::Inconclusive => "? INCONCLUSIVE",
    };
    let _ = writeln!(
        out,
        "{mark}  {}/{}  confidence {}%",
        v.rollout.namespace, v.rollout.name, v.confidence
    );
    if let Some(img) = &v.rollout.canary_image {
        let _ = writeln!(out, "canary {img}");
    }
    let _ = writeln!(out, "\n{}\n", v.summary);

    let weighty: Vec<_> = v
        .reasons
        .iter()
        .filter(|r| r.severity <= Severity::Concern)
        .collect();
    let passes: Vec<_> = v
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Pass)
        .collect();
    let infos: Vec<_> = v
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Info)
        .collect();
    if !weighty.is_empty() || !passes.is_empty() {
        let _ = writeln!(out, "Reasons");
        for r in weighty.iter().take(MAX_WEIGHTY_REASONS) {
            let _ = writeln!(
                out,
                "  [{:<10}] {:<8} {}\n               at {}",
                r.severity.as_str(),
                r.signal.as_str(),
                r.detail,
                r.evidence
            );
        }
        if weighty.len() > MAX_WEIGHTY_REASONS {
            let _ = writeln!(
                out,
                "  … {} more (see --json)",
                weighty.len() - MAX_WEIGHTY_REASONS
            );
        }
        for r in passes.iter().take(MAX_PASS_REASONS) {
            let _ = writeln!(out, "  [pass      ] {:<8} {}", r.signal.as_str(), r.detail);
        }
        if passes.len() > MAX_PASS_REASONS {
            let _ = writeln!(
                out,
                "  … {} more checks passed",
                passes.len() - MAX_PASS_REASONS
            );
        }
        for r in infos.iter().take(3) {
            let _ = writeln!(out, "  [info      ] {:<8} {}", r.signal.as_str(), r.detail);
        }
        out.push('\n');
    }

    if !v.metrics.is_empty() {
        let _ = writeln!(
            out,
            "{:<28} {:>12} {:>12} {:>14} {:>9}  {:<16} outcome",
            "metric", "canary", "stable", "effect", "p", "tolerance"
        );
        for m in &v.metrics {
            let unit = m.unit.as_deref();
            let effect = match (m.shift, m.ratio) {
                (Some(s), _) if unit == Some("ratio") => {
                    format!("{} pp", signed(fmt_num(s * 100.0)))
                }
                (_, Some(r)) => format!("×{}", fmt_num(r)),
                (Some(s), None) => signed(fmt_num(s)),
                (None, _) => "—".into(),
            };
            let outcome = match m.outcome {
                MetricOutcome::Regression if m.critical => "REGRESSION (critical)".to_owned(),
                MetricOutcome::Regression => "REGRESSION".to_owned(),
                o => o.as_str().to_owned(),
            };
            let name = if m.critical {
                format!("{} *", m.name)
            } else {
                m.name.clone()
            };
            let _ = writeln!(
                out,
                "{:<28} {:>12} {:>12} {:>14} {:>9}  {:<16} {}",
                name,
                fmt_value(m.canary_median, unit),
                fmt_value(m.stable_median, unit),
                effect,
                m.p_value.map(fmt_p).unwrap_or_else(|| "—".into()),
                m.tolerance,
                outcome
            );
        }
        let _ = writeln!(
            out,
            "(medians over the window; * critical metric; effect = Hodges-Lehmann estimate; p = one-sided Mann-Whitney)"
        );
    }
    let mode = match v.mode {
        JudgeMode::StatisticsAndLogs => match &v.model {
            None => "statistics and logs alone (no model consulted)".to_owned(),
            Some(m) => format!("statistics and logs alone (model {m} was unavailable)"),
        },
        JudgeMode::Hybrid => format!(
            "hybrid with {} ({} prompt + {} completion tokens)",
            v.model.as_deref().unwrap_or("a model"),
            v.usage.prompt_tokens,
            v.usage.completion_tokens
        ),
    };
    let _ = writeln!(out, "judged on {mode} in {} ms", v.usage.latency_ms);
    out
}
