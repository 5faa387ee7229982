//! Facts about the evidence itself: what is missing or too thin to judge on.

use crate::evidence::{Evidence, PodLogs, Strategy};
use crate::judge::config::{JudgeConfig, MetricKind};
use crate::judge::signal::{Severity, Signal, SignalSource};
use crate::logs::timeline::{parse_rfc3339, parse_timestamp};

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
    for silent in silent_canary_logs(ev) {
        out.push(s(
            Severity::Concern,
            format!(
                "canary pod {} stopped logging {:.0} s before the window ended, though it had logged about {:.0} lines a minute and is still running{}: a stalled or hung process is not a healthy one (no data)",
                silent.pod,
                silent.gap_secs,
                silent.lines_per_sec * 60.0,
                if silent.stable_logs_to_end { "; stable pods logged until the end" } else { "" }
            ),
            &format!("logs.canary[{}] {}", silent.index, silent.pod),
            80,
        ));
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

/// Timestamped lines a pod needs before its silence says anything.
const MIN_TIMED_LINES: usize = 30;
/// Lines the pod's own rate predicts for the silent stretch: at 20 expected
/// lines, none arriving by chance has probability e^-20 (a Poisson count).
const SILENCE_EXPECTED_LINES: f64 = 20.0;
/// Shortest silence that counts, as a share of the window and in seconds.
const SILENCE_WINDOW_SHARE: f64 = 0.25;
const SILENCE_MIN_SECS: f64 = 60.0;

/// A canary pod whose log stopped before the window ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SilentPod {
    pub index: usize,
    pub pod: String,
    pub gap_secs: f64,
    pub lines_per_sec: f64,
    pub stable_logs_to_end: bool,
}

fn timed(logs: &PodLogs) -> (usize, Option<(f64, f64)>) {
    let mut n = 0;
    let mut span: Option<(f64, f64)> = None;
    for t in logs.lines.iter().filter_map(|l| parse_timestamp(l)) {
        n += 1;
        span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
    }
    (n, span)
}

/// Invariant (no promote on missing data): a process that stops logging while
/// its pod stays up has stopped producing evidence, and often stopped working
/// (a deadlock, a stalled event loop, a consumer that died inside a live
/// process). Logs are read from their end, so a gatherer's line bound never
/// makes a pod look silent at the end. A canary pod still listed at the end of
/// the window whose timestamped log stops for at least a quarter of the window
/// (and a minute), where its own earlier rate predicts at least
/// [`SILENCE_EXPECTED_LINES`] lines, is silent. Not for the preview side of a
/// blue-green release (its traffic is whatever tests send, and tests end), and
/// only where the log's clock matches the window's (its last line within the
/// window, give or take a window).
pub fn silent_canary_logs(ev: &Evidence) -> Vec<SilentPod> {
    if ev.rollout.strategy == Some(Strategy::BlueGreenPrePromotion) {
        return Vec::new();
    }
    let window = ev
        .window
        .as_ref()
        .and_then(|w| Some((parse_rfc3339(&w.start)?, parse_rfc3339(&w.end)?)))
        .filter(|(a, b)| b > a);
    let spans: Vec<(usize, Option<(f64, f64)>)> = ev.logs.canary.iter().map(timed).collect();
    let stable_spans: Vec<Option<(f64, f64)>> = ev.logs.stable.iter().map(|p| timed(p).1).collect();
    // Without a window, the evidence's own latest and earliest lines bound it.
    let Some((start, end)) = window.or_else(|| {
        let all = spans
            .iter()
            .filter_map(|s| s.1)
            .chain(stable_spans.iter().flatten().copied());
        all.fold(None, |acc: Option<(f64, f64)>, (a, b)| {
            Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
        })
    }) else {
        return Vec::new();
    };
    let len = end - start;
    if len <= 0.0 {
        return Vec::new();
    }
    let min_gap = (len * SILENCE_WINDOW_SHARE).max(SILENCE_MIN_SECS);
    let stable_last = stable_spans
        .iter()
        .flatten()
        .map(|s| s.1)
        .filter(|&t| (start - len..=end + len).contains(&t))
        .fold(f64::NEG_INFINITY, f64::max);
    let mut out = Vec::new();
    for (i, (logs, (n, span))) in ev.logs.canary.iter().zip(&spans).enumerate() {
        let Some((first, last)) = *span else { continue };
        let listed = ev.pods.canary.iter().any(|p| p.name == logs.pod);
        if !listed || *n < MIN_TIMED_LINES || last <= first {
            continue;
        }
        if !(start - len..=end + len).contains(&last) {
            continue;
        }
        let gap = end - last;
        let rate = (*n - 1) as f64 / (last - first);
        if gap >= min_gap && rate * gap >= SILENCE_EXPECTED_LINES {
            out.push(SilentPod {
                index: i,
                pod: logs.pod.clone(),
                gap_secs: gap,
                lines_per_sec: rate,
                stable_logs_to_end: end - stable_last < min_gap / 4.0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{PodLogs, Window};
    use crate::judge::test_support::{evidence, pod};

    /// A line every `every` seconds from `from` to `to` (seconds after 12:00).
    fn lines(from: u32, to: u32, every: u32) -> Vec<String> {
        (from..to)
            .step_by(every as usize)
            .map(|s| {
                format!(
                    "2026-11-30T12:{:02}:{:02}Z INFO job {s} done",
                    s / 60,
                    s % 60
                )
            })
            .collect()
    }

    fn logs(pod: &str, lines: Vec<String>) -> PodLogs {
        PodLogs {
            pod: pod.into(),
            lines,
            sources: vec![],
        }
    }

    fn bundle(canary: Vec<String>) -> Evidence {
        let mut ev = evidence();
        ev.window = Some(Window {
            start: "2026-11-30T12:00:00Z".into(),
            end: "2026-11-30T12:20:00Z".into(),
        });
        ev.pods.canary = vec![pod("worker-c4n4ry-a", true, 0, None)];
        ev.logs.canary = vec![logs("worker-c4n4ry-a", canary)];
        ev.logs.stable = vec![logs("worker-st4bl3-b", lines(0, 1200, 2))];
        ev
    }

    #[test]
    fn a_canary_that_stops_logging_while_running_is_silent() {
        // Busy for 7 minutes, then nothing for 13.
        let silent = silent_canary_logs(&bundle(lines(0, 420, 3)));
        assert_eq!(silent.len(), 1);
        assert!((silent[0].gap_secs - 783.0).abs() < 1.0, "{silent:?}");
        assert!(silent[0].stable_logs_to_end);
        let ev = bundle(lines(0, 420, 3));
        let signals = evidence_signals(&ev, &crate::judge::config::JudgeConfig::default());
        assert!(
            signals
                .iter()
                .any(|s| s.severity == Severity::Concern && s.detail.contains("stopped logging"))
        );
    }

    #[test]
    fn silence_needs_a_rate_that_predicts_lines_a_clock_and_a_live_pod() {
        // Logging to the end.
        assert!(silent_canary_logs(&bundle(lines(0, 1200, 3))).is_empty());
        // A pod that logs once every 40 s: too few lines to say anything.
        assert!(silent_canary_logs(&bundle(lines(0, 420, 40))).is_empty());
        // A short pause (under a quarter of the window).
        assert!(silent_canary_logs(&bundle(lines(0, 1000, 3))).is_empty());
        // The pod is gone at the end (deleted during the window).
        let mut ev = bundle(lines(0, 420, 3));
        ev.pods.canary[0].name = "worker-c4n4ry-z".into();
        assert!(silent_canary_logs(&ev).is_empty());
        // A clock of another year (a format without one): not comparable.
        let mut ev = bundle(lines(0, 420, 3));
        ev.logs.canary[0].lines = ev.logs.canary[0]
            .lines
            .iter()
            .map(|l| l.replacen("2026", "2000", 1))
            .collect();
        assert!(silent_canary_logs(&ev).is_empty());
        // The preview side of a blue-green release serves only tests.
        let mut ev = bundle(lines(0, 420, 3));
        ev.rollout.strategy = Some(Strategy::BlueGreenPrePromotion);
        assert!(silent_canary_logs(&ev).is_empty());
        // No window: the evidence's own lines bound it.
        let mut ev = bundle(lines(0, 420, 3));
        ev.window = None;
        assert_eq!(silent_canary_logs(&ev).len(), 1);
    }
}
