//! From raw pod logs to log signals: group lines into records, mine templates
//! over both versions with one miner (so a template means the same on both
//! sides), count per side, diff, and turn the diff into signals.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::diff::{self, DiffConfig, DiffInput, InjectionScan, TemplateCounts, TemplateDiff};
use super::miner::{Budget, CapCounts, MinerConfig, OVERFLOW_TEMPLATE, TemplateId, TemplateMiner};
use super::record::{Level, LogRecord, records};
use super::stop::Stop;
use super::timeline::{
    DEFAULT_STARTUP_SHARE, PodClock, TimelineTally, is_ready_line, parse_rfc3339, parse_timestamp,
};
use crate::evidence::{Evidence, PodLogs, PodStatus, Side};
use crate::judge::signal::{Severity, Signal, SignalSource};
use crate::redact::Redactor;

/// Exemplar lines kept per template: enough to show a person, bounded memory.
const EXEMPLARS_PER_TEMPLATE: usize = 2;
/// An exemplar is the record's head line plus its first detail lines, clipped.
const EXEMPLAR_CHARS: usize = 400;

#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub miner: MinerConfig,
    pub diff: DiffConfig,
}

/// The log part of an assessment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogReport {
    pub diff: TemplateDiff,
    pub templates: usize,
    /// Records the miner's caps sent to the overflow template.
    #[serde(skip_serializing_if = "CapCounts::is_zero")]
    pub caps: CapCounts,
    #[serde(skip)]
    pub signals: Vec<Signal>,
}

impl LogReport {
    /// What is known when the analysis was stopped before it finished:
    /// nothing about the logs, which is itself a concern.
    fn stopped(ev: &Evidence) -> Self {
        let count = |pods: &[PodLogs]| pods.iter().filter(|p| !p.lines.is_empty()).count();
        LogReport {
            diff: TemplateDiff {
                changes: Vec::new(),
                canary_records: 0,
                stable_records: 0,
                canary_pods: count(&ev.logs.canary),
                stable_pods: count(&ev.logs.stable),
                canary_requests: ev.traffic.and_then(|t| t.canary_requests),
                stable_requests: ev.traffic.and_then(|t| t.stable_requests),
                injections: Vec::new(),
            },
            templates: 0,
            caps: CapCounts::default(),
            signals: vec![Signal::new(
                SignalSource::Log,
                Severity::Concern,
                "the log analysis was stopped before it finished (out of time), so the logs were not judged (no data)",
                "logs",
                90,
            )],
        }
    }
}

/// The concern that the template caps were reached: the records past them
/// share one catch-all template, so new shapes among them are not told
/// apart and the diff cannot vouch for the logs.
fn cap_signal(caps: &CapCounts, cfg: &MinerConfig) -> Signal {
    let mut which = Vec::new();
    if caps.pod > 0 {
        which.push(format!("{} per pod", cfg.max_templates_per_pod));
    }
    if caps.version > 0 {
        which.push(format!("{} per version", cfg.max_templates_per_version));
    }
    if caps.leaf > 0 {
        which.push(format!("{} of one shape", cfg.max_leaf_templates));
    }
    if caps.total > 0 {
        which.push(format!("{} in all", cfg.max_templates));
    }
    Signal::new(
        SignalSource::Log,
        Severity::Concern,
        format!(
            "log template cap reached: {} record(s) past {} templates went into one catch-all template (\"{OVERFLOW_TEMPLATE}\"), so the logs are only partly judged (insufficient data)",
            caps.messages(),
            which.join(", ")
        ),
        "logs",
        80,
    )
}

#[derive(Debug, Default)]
struct Tally {
    canary: u64,
    stable: u64,
    canary_pods: usize,
    last_canary_pod: Option<usize>,
    exemplars: Vec<String>,
    /// Records looked at for an exemplar: bounded so that a template whose
    /// first lines are identical does not cost a redaction per line.
    exemplar_tries: u8,
    timeline: TimelineTally,
}

#[derive(Debug, Default)]
pub struct LogAnalyzer {
    cfg: LogConfig,
    redactor: Redactor,
}

impl LogAnalyzer {
    pub fn new(cfg: LogConfig, redactor: Redactor) -> Self {
        LogAnalyzer { cfg, redactor }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn config(&self) -> &LogConfig {
        &self.cfg
    }

    pub fn analyze(&self, ev: &Evidence) -> LogReport {
        self.analyze_until(ev, &Stop::never())
    }

    /// [`LogAnalyzer::analyze`], given up once `stop` says so: then the
    /// report says only that the logs were not judged.
    pub fn analyze_until(&self, ev: &Evidence, stop: &Stop) -> LogReport {
        self.analyze_or_stop(ev, stop)
            .unwrap_or_else(|| LogReport::stopped(ev))
    }

    fn analyze_or_stop(&self, ev: &Evidence, stop: &Stop) -> Option<LogReport> {
        let mut miner = TemplateMiner::new(self.cfg.miner.clone());
        // Keyed by level too: the same words at ERROR and at DEBUG are different facts.
        let mut tallies: FxHashMap<(TemplateId, Level), Tally> = FxHashMap::default();
        let mut records_per_side = [0u64; 2];
        // Injections hide in variable text that templates mask: scan raw lines.
        let mut injections = InjectionScan::new();
        let mut clocks: Vec<PodClock> = Vec::new();
        for (side, pods) in [
            (Side::Canary, &ev.logs.canary),
            (Side::Stable, &ev.logs.stable),
        ] {
            let mut budget = Budget::version(&self.cfg.miner);
            for (pod_index, pod) in pods.iter().enumerate() {
                budget = budget.next_pod(&self.cfg.miner);
                for (i, line) in pod.lines.iter().enumerate() {
                    if stop.is_stopped_at(i) {
                        return None;
                    }
                    injections.add(line, side == Side::Canary, |l| {
                        self.redactor
                            .redact(l)
                            .chars()
                            .take(EXEMPLAR_CHARS)
                            .collect()
                    });
                }
                let recs = records(&pod.lines);
                let (positions, timed) = positions(pod, &recs);
                let status = match side {
                    Side::Canary => ev.pods.canary.iter().find(|p| p.name == pod.pod),
                    Side::Stable => ev.pods.stable.iter().find(|p| p.name == pod.pod),
                };
                let clock = pod_clock(pod, &recs, (&positions, timed), status);
                records_per_side[side as usize] += self.tally_pod(
                    (&mut miner, &mut budget, stop),
                    &mut tallies,
                    (side, pod_index),
                    pod,
                    (&recs, &positions, &clock),
                )?;
                if side == Side::Canary {
                    clocks.push(clock);
                }
            }
        }
        let pods_with_logs = |pods: &[PodLogs]| pods.iter().filter(|p| !p.lines.is_empty()).count();
        let templates = tallies
            .into_iter()
            .map(|((id, level), t)| TemplateCounts {
                // A template keeps the constant words of raw lines, so a secret
                // logged on every line is in it: redacted here, before any reader
                // clips it (a clipped secret no longer matches its rule).
                template: self.redactor.redact(miner.template(id)).into_owned(),
                level,
                canary: t.canary,
                stable: t.stable,
                canary_pods: t.canary_pods,
                timeline: t.timeline.finish(&clocks),
                exemplars: t.exemplars,
            })
            .collect();
        let input = DiffInput {
            templates,
            canary_records: records_per_side[Side::Canary as usize],
            stable_records: records_per_side[Side::Stable as usize],
            canary_pods: pods_with_logs(&ev.logs.canary),
            stable_pods: pods_with_logs(&ev.logs.stable),
            canary_requests: ev.traffic.and_then(|t| t.canary_requests),
            stable_requests: ev.traffic.and_then(|t| t.stable_requests),
            injections: injections.finish(),
        };
        let diff = diff::diff_until(&input, &self.cfg.diff, stop)?;
        let mut signals = diff::log_signals(&diff, &self.cfg.diff);
        let caps = miner.caps();
        if caps.messages() > 0 {
            signals.push(cap_signal(&caps, &self.cfg.miner));
        }
        Some(LogReport {
            diff,
            templates: miner.len(),
            caps,
            signals,
        })
    }

    /// Mine one pod's records into the tallies within `budget`; returns how
    /// many records it had, `None` if stopped.
    fn tally_pod(
        &self,
        (miner, budget, stop): (&mut TemplateMiner, &mut Budget, &Stop),
        tallies: &mut FxHashMap<(TemplateId, Level), Tally>,
        (side, pod_index): (Side, usize),
        pod: &PodLogs,
        (recs, positions, clock): (&[LogRecord<'_>], &[f64], &PodClock),
    ) -> Option<u64> {
        let mut n = 0;
        for (rec, &at) in recs.iter().zip(positions) {
            if stop.is_stopped_at(n) {
                return None;
            }
            n += 1;
            let id = miner.add_within(&rec.message, budget);
            let t = tallies.entry((id, rec.level)).or_default();
            match side {
                Side::Canary => {
                    t.canary += 1;
                    t.timeline.add(pod_index, at, clock);
                    if t.last_canary_pod != Some(pod_index) {
                        t.last_canary_pod = Some(pod_index);
                        t.canary_pods += 1;
                    }
                }
                Side::Stable => t.stable += 1,
            }
            if t.exemplars.len() < EXEMPLARS_PER_TEMPLATE && t.exemplar_tries < 8 {
                t.exemplar_tries += 1;
                let head = pod.lines.get(rec.line).map(String::as_str).unwrap_or("");
                // Clip the head and each detail line separately: a long head line
                // must not crowd out the exception line that names the cause
                // (p07: the NullPointerException sits under a 250-character ERROR).
                // The record is redacted as one text before any line is clipped,
                // so a key block over several detail lines goes as a whole.
                let mut raw = head.to_owned();
                for d in &rec.detail {
                    raw.push('\n');
                    raw.push_str(d.trim());
                }
                let redacted = self.redactor.redact_lines(&raw);
                let mut lines = redacted.split('\n');
                let mut clipped: String = lines
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(EXEMPLAR_CHARS)
                    .collect();
                for d in lines {
                    clipped.push_str(" ⏎ ");
                    clipped.extend(d.chars().take(EXEMPLAR_CHARS / 2));
                }
                if !t.exemplars.contains(&clipped) {
                    t.exemplars.push(clipped);
                }
            }
        }
        Some(n as u64)
    }
}

/// Seconds from a pod's first timestamped log record to the first record that
/// says the process is up ([`is_ready_line`]), when its lines carry
/// timestamps: the start-up the pod's own log shows. `None` for an untimed
/// log or one that never says it is up.
pub fn logged_startup_secs(pod: &PodLogs) -> Option<f64> {
    let recs = records(&pod.lines);
    let (positions, timed) = positions(pod, &recs);
    if !timed {
        return None;
    }
    first_ready_position(&recs, &positions)
}

/// The position of a pod's first record that says the process is up.
fn first_ready_position(recs: &[LogRecord<'_>], positions: &[f64]) -> Option<f64> {
    recs.iter()
        .zip(positions)
        .find(|(r, _)| is_ready_line(&r.message))
        .map(|(_, &p)| p)
}

/// Seconds from a pod's `startedAt` to its `readyAt`, when its status has
/// both (bundle version 2).
pub fn status_startup_secs(status: &PodStatus) -> Option<f64> {
    Some(
        parse_rfc3339(status.ready_at.as_deref()?)? - parse_rfc3339(status.started_at.as_deref()?)?,
    )
}

/// Each record's position in its pod: seconds since the first timestamped
/// record when at least half the records carry a timestamp (a record without
/// one takes the last time seen), else the record's index.
fn positions(pod: &PodLogs, recs: &[LogRecord<'_>]) -> (Vec<f64>, bool) {
    let stamps: Vec<Option<f64>> = recs
        .iter()
        .map(|r| pod.lines.get(r.line).and_then(|l| parse_timestamp(l)))
        .collect();
    let timed = stamps.iter().filter(|s| s.is_some()).count();
    let Some(start) = stamps
        .iter()
        .flatten()
        .copied()
        .next()
        .filter(|_| 2 * timed >= recs.len())
    else {
        return ((0..recs.len()).map(|i| i as f64).collect(), false);
    };
    let mut last = start;
    let out = stamps
        .iter()
        .map(|s| {
            if let Some(t) = s {
                last = last.max(*t);
            }
            last - start
        })
        .collect();
    (out, true)
}

/// A pod's clock (see [`super::timeline`]): readiness from `readyAt -
/// startedAt` when the bundle has them and the lines are timed, else the first
/// line that says the process is up, else the first fifth of the window.
/// Healthy means the pod status says ready with no restarts.
fn pod_clock(
    pod: &PodLogs,
    recs: &[LogRecord<'_>],
    (positions, timed): (&[f64], bool),
    status: Option<&PodStatus>,
) -> PodClock {
    let end = positions.last().copied().unwrap_or(0.0);
    let from_status = status
        .and_then(status_startup_secs)
        .filter(|d| timed && *d >= 0.0);
    let ready_at = from_status
        .or_else(|| first_ready_position(recs, positions))
        .unwrap_or(end * DEFAULT_STARTUP_SHARE);
    PodClock {
        name: pod.pod.clone(),
        timed,
        ready_at,
        end,
        healthy: status.is_some_and(|s| s.ready && s.restarts == 0),
    }
}
