//! A `Signal` is one checkable fact the judge found, with how much it weighs.
//! Every analyser (metrics, pods, events, logs, later the LLM) produces signals;
//! the `DecisionRule` combines them. Keeping one currency for all of them is what
//! lets new inputs join without touching the rule's guarantees.

use serde::{Deserialize, Serialize};

/// Where a signal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SignalSource {
    Metric,
    Pod,
    Event,
    Log,
    /// Facts about the evidence itself: missing parts, too little traffic.
    Evidence,
    Llm,
}

impl SignalSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalSource::Metric => "metric",
            SignalSource::Pod => "pod",
            SignalSource::Event => "event",
            SignalSource::Log => "log",
            SignalSource::Evidence => "evidence",
            SignalSource::Llm => "llm",
        }
    }
}

/// How much a signal weighs, strongest first. The ordering is used by the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Aborts on its own, and nothing can outvote it (a critical metric's clear
    /// regression, crashing canary pods, a novel error template at a real rate).
    Critical,
    /// A clear regression of a non-critical signal: aborts unless something stronger
    /// says otherwise (nothing may turn it into promote).
    Regression,
    /// The evidence cannot support a promote (missing data, too little traffic, pods
    /// not ready, new warnings): at best inconclusive.
    Concern,
    /// A positive check that passed (a metric within tolerance, pods healthy).
    Pass,
    /// Context worth showing, with no weight.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Regression => "regression",
            Severity::Concern => "concern",
            Severity::Pass => "pass",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub source: SignalSource,
    pub severity: Severity,
    /// One line a person can check, e.g. "error_rate regressed: canary 15.6% vs stable 0.0%".
    pub detail: String,
    /// Where in the evidence to look, e.g. `metrics[0] error_rate`, `pods.canary[1]`,
    /// `logs.canary template T12`.
    pub evidence: String,
    /// How sure the analyser is of this signal, 0..=100 (for a metric, from its
    /// p-value and effect; for counts, from the counts).
    pub strength: u8,
    /// A short form for one-sentence summaries, when the detail's first clause
    /// is not it (a log signal names its cause line, not the generic head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
}

impl Signal {
    pub fn new(
        source: SignalSource,
        severity: Severity,
        detail: impl Into<String>,
        evidence: impl Into<String>,
        strength: u8,
    ) -> Self {
        Signal {
            source,
            severity,
            detail: detail.into(),
            evidence: evidence.into(),
            strength: strength.min(100),
            headline: None,
        }
    }

    pub fn with_headline(mut self, headline: impl Into<String>) -> Self {
        self.headline = Some(headline.into());
        self
    }

    /// What a one-sentence summary quotes: the headline, else the detail up to
    /// its first "; " (details read "headline; specifics").
    pub fn short(&self) -> &str {
        match &self.headline {
            Some(h) => h,
            None => self.detail.split("; ").next().unwrap_or(&self.detail),
        }
    }
}
