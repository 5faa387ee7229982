//! Judging: statistics on metrics, pod and event signals, log signals, and the
//! `DecisionRule` that combines them into a `Verdict`.

pub mod config;
pub mod decide;
pub mod evidence_signals;
pub mod metrics;
pub mod pods;
pub mod signal;
pub mod stats;

use std::time::Instant;

use crate::evidence::Evidence;
use crate::logs::{LogAnalyzer, LogConfig, LogReport, Stop};
use crate::verdict::{JudgeMode, RolloutSummary, Usage, Verdict};
pub use config::JudgeConfig;
pub use decide::{AdvisoryOpinion, DecisionRule};
pub use signal::{Severity, Signal, SignalSource};

/// Judges evidence bundles. Built once (it compiles the redaction patterns),
/// used for many bundles.
#[derive(Debug, Default)]
pub struct Judge {
    cfg: JudgeConfig,
    rule: DecisionRule,
    logs: LogAnalyzer,
}

impl Judge {
    pub fn new(cfg: JudgeConfig, logs: LogConfig) -> Self {
        Judge {
            cfg,
            rule: DecisionRule,
            logs: LogAnalyzer::new(logs, crate::redact::Redactor::new()),
        }
    }

    pub fn log_analyzer(&self) -> &LogAnalyzer {
        &self.logs
    }

    pub fn config(&self) -> &JudgeConfig {
        &self.cfg
    }

    /// Judge one bundle on statistics, pods, events and logs.
    pub fn judge(&self, ev: &Evidence) -> Verdict {
        let assessment = self.assess(ev);
        self.decide(ev, assessment, None)
    }

    /// First phase: everything checkable (metrics, pods, events, logs), before any
    /// adviser is asked. An adviser (the LLM judge) reads the assessment, then
    /// [`Judge::decide`] combines both.
    pub fn assess(&self, ev: &Evidence) -> Assessment {
        self.assess_until(ev, &Stop::never())
    }

    /// [`Judge::assess`], the logs given up once `stop` says so (see
    /// [`LogAnalyzer::analyze_until`]); the caller checks `stop` afterwards.
    pub fn assess_until(&self, ev: &Evidence, stop: &Stop) -> Assessment {
        let started = Instant::now();
        let (metrics, mut signals) = metrics::judge_metrics(ev, &self.cfg);
        signals.extend(pods::pod_signals(ev, &self.cfg, self.logs.redactor()));
        signals.extend(evidence_signals::evidence_signals(ev, &self.cfg));
        let logs = self.logs.analyze_until(ev, stop);
        signals.extend(logs.signals.iter().cloned());
        // The adviser reads these details before `decide` runs: redact them now.
        redact_details(&mut signals, self.logs.redactor());
        Assessment {
            metrics,
            signals,
            logs,
            started,
        }
    }

    /// Second phase: the `DecisionRule` over the assessment and an optional advice.
    pub fn decide(&self, ev: &Evidence, a: Assessment, advice: Option<Advice>) -> Verdict {
        let subject = format!("{}/{}", ev.rollout.namespace, ev.rollout.name);
        let mut signals = a.signals;
        let (opinion, mode, model, mut usage) = match advice {
            None => (None, JudgeMode::StatisticsAndLogs, None, Usage::default()),
            Some(Advice::Unavailable { model, why, usage }) => {
                signals.push(Signal::new(
                    SignalSource::Llm,
                    Severity::Info,
                    format!("the model was unavailable ({why}); the verdict rests on statistics, pods, events and logs alone"),
                    "llm",
                    0,
                ));
                (None, JudgeMode::StatisticsAndLogs, Some(model), usage)
            }
            Some(Advice::Opinion {
                opinion,
                model,
                usage,
            }) => (Some(opinion), JudgeMode::Hybrid, Some(model), usage),
        };
        // Reasons quote evidence (event messages, log exemplars, model text),
        // which is untrusted and may hold secrets: redact every detail here, in
        // one place, whatever analyser produced it.
        let redactor = self.logs.redactor();
        redact_details(&mut signals, redactor);
        // The model's rationale is quoted in a reason too, and a model may echo
        // what it read.
        let opinion = opinion.map(|mut o| {
            if let std::borrow::Cow::Owned(clean) = redactor.redact(&o.rationale) {
                o.rationale = clean;
            }
            o
        });
        let decided = self.rule.decide(&subject, signals, opinion.as_ref());
        usage.latency_ms = u64::try_from(a.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Verdict {
            verdict: decided.verdict,
            confidence: decided.confidence,
            summary: decided.summary,
            reasons: decided.reasons,
            metrics: a.metrics,
            mode,
            model,
            usage,
            rollout: RolloutSummary::of(ev),
        }
    }
}

/// The checkable part of a judgement, before any adviser.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub metrics: Vec<crate::verdict::MetricResult>,
    pub signals: Vec<Signal>,
    /// The template diff behind the log signals (what the digest is built from).
    pub logs: LogReport,
    started: Instant,
}

/// What an adviser (the LLM judge) contributed.
#[derive(Debug, Clone)]
pub enum Advice {
    Opinion {
        opinion: AdvisoryOpinion,
        model: String,
        /// Tokens spent; `latency_ms` is overwritten with the whole analysis time.
        usage: Usage,
    },
    /// Asked, but no usable answer (timeout, error, garbage): recorded as a reason.
    Unavailable {
        model: String,
        why: String,
        usage: Usage,
    },
}

#[cfg(test)]
pub(crate) mod test_support;

/// Replaces every signal detail by its redacted text (details quote untrusted
/// evidence, and every reader of a signal is outside the process).
fn redact_details(signals: &mut [Signal], redactor: &crate::redact::Redactor) {
    for s in signals {
        if let std::borrow::Cow::Owned(clean) = redactor.redact_lines(&s.detail) {
            s.detail = clean;
        }
    }
}
