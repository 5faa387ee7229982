//! The judge's answer: what to do with the canary, how sure, and why.

use serde::{Deserialize, Serialize};

use crate::evidence::{Better, Decision};
use crate::judge::signal::{Severity, Signal, SignalSource};

/// Outcome of the canary-vs-stable comparison of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MetricOutcome {
    Pass,
    Regression,
    Improvement,
    NoData,
}

impl MetricOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricOutcome::Pass => "pass",
            MetricOutcome::Regression => "regression",
            MetricOutcome::Improvement => "improvement",
            MetricOutcome::NoData => "no data",
        }
    }
}

/// One row of the per-metric table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub better: Better,
    pub critical: bool,
    pub outcome: MetricOutcome,
    pub canary_samples: usize,
    pub stable_samples: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_median: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_median: Option<f64>,
    /// Hodges-Lehmann estimate of the canary − stable shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<f64>,
    /// Hodges-Lehmann estimate of the canary / stable ratio, when both are positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// One-sided Mann-Whitney p-value in the direction of the observed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The tolerance applied, in words, e.g. "+1 pp absolute" or "×1.20".
    pub tolerance: String,
    /// Why the outcome is what it is, in one line.
    pub note: String,
}

/// One reason a person can check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// What kind of signal: metric, pod, event, log, evidence, llm.
    pub signal: SignalSource,
    pub severity: Severity,
    pub detail: String,
    /// Where in the evidence to look.
    pub evidence: String,
}

impl From<&Signal> for Reason {
    fn from(s: &Signal) -> Self {
        Reason {
            signal: s.source,
            severity: s.severity,
            detail: s.detail.clone(),
            evidence: s.evidence.clone(),
        }
    }
}

/// How the verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JudgeMode {
    /// Statistics, pods, events and logs; no model consulted.
    StatisticsAndLogs,
    /// The above plus an LLM opinion.
    Hybrid,
}

/// Token and time accounting for one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub verdict: Decision,
    /// 0..=100.
    pub confidence: u8,
    /// One sentence.
    pub summary: String,
    pub reasons: Vec<Reason>,
    pub metrics: Vec<MetricResult>,
    pub mode: JudgeMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub usage: Usage,
    pub rollout: RolloutSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSummary {
    pub scenario: String,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_image: Option<String>,
}

impl RolloutSummary {
    /// The identity of the rollout a bundle describes.
    pub fn of(ev: &crate::evidence::Evidence) -> Self {
        RolloutSummary {
            scenario: ev.name.clone(),
            namespace: ev.rollout.namespace.clone(),
            name: ev.rollout.name.clone(),
            canary_hash: ev.rollout.canary_hash.clone(),
            stable_hash: ev.rollout.stable_hash.clone(),
            canary_image: ev.rollout.canary_image.clone(),
        }
    }
}

impl Verdict {
    /// The verdict when judging could not happen at all (gathering failed, the
    /// judge crashed, time ran out): inconclusive with the reason, never promote.
    pub fn could_not_judge(rollout: RolloutSummary, why: impl Into<String>) -> Verdict {
        let why = why.into();
        Verdict {
            verdict: Decision::Inconclusive,
            confidence: 0,
            summary: format!(
                "{}/{}: inconclusive, no judgement was possible: {why}",
                rollout.namespace, rollout.name
            ),
            reasons: vec![Reason {
                signal: SignalSource::Evidence,
                severity: Severity::Concern,
                detail: format!("no judgement was possible (no data): {why}"),
                evidence: "gather".into(),
            }],
            metrics: Vec::new(),
            mode: JudgeMode::StatisticsAndLogs,
            model: None,
            usage: Usage::default(),
            rollout,
        }
    }
}
