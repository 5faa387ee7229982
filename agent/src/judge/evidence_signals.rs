//! Facts about the evidence itself: what is missing or too thin to judge on.

use crate::evidence::{Evidence, Strategy};
use crate::judge::config::{JudgeConfig, MetricKind};
use crate::judge::signal::{Severity, Signal, SignalSource};

pub fn evidence_signals(ev: &Evidence, cfg: &JudgeConfig) -> Vec<Signal> {
    let mut out = Vec::new();
    let s = |sev, detail: String, at: &str, strength| {
        Signal::new(SignalSource::Evidence, sev, detail, at, strength)
    };
    if ev.rollout.baseline {
        out.push(s(
            Severity::Info,
            "the canary is compared with an Experiment's baseline: fresh pods of the stable version started beside it, not the long-running stable pods".into(),
            "rollout.baseline",
            40,
        ));
    }
    match ev.rollout.strategy {
        Some(Strategy::BlueGreenPrePromotion) => out.push(s(
            Severity::Info,
            "blue-green pre-promotion: the preview version serves no user traffic, so it is judged on what smoke or load tests drove through the preview Service".into(),
            "rollout.strategy",
            40,
        )),
        Some(Strategy::BlueGreenPostPromotion) => out.push(s(
            Severity::Info,
            "blue-green post-promotion: the new active version is compared with the previous active one over the window".into(),
            "rollout.strategy",
            40,
        )),
        Some(Strategy::Canary) | None => {}
    }
    for (i, gap) in ev.gaps.iter().enumerate() {
        out.push(s(
            Severity::Concern,
            format!("evidence incomplete (no data): {gap}"),
            &format!("gaps[{i}]"),
            90,
        ));
    }
    if ev.metrics.is_empty() {
        out.push(s(
            Severity::Concern,
            "no metrics were gathered, so nothing shows the canary serving well (no data)".into(),
            "metrics",
            85,
        ));
    } else if ev.metrics.iter().all(|m| m.canary.is_empty()) {
        out.push(s(
            Severity::Concern,
            "every canary metric series is empty (no data)".into(),
            "metrics",
            85,
        ));
    }
    match ev.traffic.and_then(|t| t.canary_requests) {
        Some(0) => out.push(s(
            Severity::Concern,
            format!(
                "the canary received no traffic (0 requests{}) so its behaviour under load is unknown",
                ev.rollout
                    .canary_weight
                    .map(|w| format!(" at weight {w}%"))
                    .unwrap_or_default()
            ),
            "traffic.canaryRequests",
            85,
        )),
        Some(n) if n < cfg.min_canary_requests => out.push(s(
            Severity::Concern,
            format!(
                "low traffic: the canary served only {n} requests, fewer than the {} needed to judge request metrics (insufficient data)",
                cfg.min_canary_requests
            ),
            "traffic.canaryRequests",
            80,
        )),
        Some(_) => {}
        None => match load_metric(ev) {
            Some((i, name)) => out.push(s(
                Severity::Info,
                format!(
                    "request counts were not provided; the throughput metric {name} shows the canary doing work"
                ),
                &format!("metrics[{i}] {name}"),
                50,
            )),
            None => out.push(s(
                Severity::Concern,
                "request counts were not provided and no throughput metric shows the canary doing work, so its behaviour under load is unknown (no data)".into(),
                "traffic",
                80,
            )),
        },
    }
    if ev.logs.canary.iter().all(|p| p.lines.is_empty()) {
        out.push(s(
            Severity::Info,
            "no canary logs were gathered, so log templates could not be compared".into(),
            "logs.canary",
            50,
        ));
    }
    out
}

/// Invariant (no promote when load cannot be established): a canary that served
/// nothing has shown nothing, so promote needs evidence of load. `traffic`
/// gives it for request-serving services; without it, a throughput metric (a
/// rate or count of work done: unit `…/s`, or a name saying per second,
/// throughput, processed or requests) whose canary series has a positive sample
/// gives it for any workload, a queue worker included. Anything else leaves
/// load unknown.
fn load_metric(ev: &Evidence) -> Option<(usize, &str)> {
    ev.metrics.iter().enumerate().find_map(|(i, m)| {
        (MetricKind::is_throughput(&m.name, m.unit.as_deref()) && m.canary.iter().any(|v| *v > 0.0))
            .then_some((i, m.name.as_str()))
    })
}
