//! Recent analyses, for the verdict page, repeat calls and PR dedupe.
//!
//! In memory and bounded: the newest `capacity` records are kept, older ones
//! are dropped. Records are immutable once inserted except for the links that
//! arrive later (the remediation PR, notification outcomes), which `update`
//! sets. A durable store (SQLite) replaces this behind the same methods.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::evidence::{Decision, Evidence};
use crate::logs::diff::TemplateDiff;
use crate::verdict::Verdict;

/// Where an analysis came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `POST /v1/analyze` (Argo's web provider): evidence gathered by rollwise.
    Analyze,
    /// `POST /v1/verdicts`: an evidence bundle sent by the caller.
    Verdicts,
    /// `POST /a2a/analyze`: the metric-ai plugin's contract.
    A2a,
    /// The Flagger webhook.
    Flagger,
    /// The command line.
    Cli,
}

impl Origin {
    /// The name in metrics and logs (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Analyze => "analyze",
            Origin::Verdicts => "verdicts",
            Origin::A2a => "a2a",
            Origin::Flagger => "flagger",
            Origin::Cli => "cli",
        }
    }
}

/// A link to the draft pull request the remediation agent opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrLink {
    pub url: String,
    pub number: u64,
    pub repo: String,
}

/// What happened to one notification (Slack message) of a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationOutcome {
    pub channel: String,
    pub ok: bool,
    pub detail: String,
    /// Bot-token mode: the message's `ts`, under which follow-ups are threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

/// One finished analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRecord {
    pub id: String,
    pub origin: Origin,
    /// Unix milliseconds.
    pub created_ms: i64,
    pub verdict: Verdict,
    /// The evidence judged, with log lines removed (pod names kept): metrics,
    /// pods and events are what the page charts and lists. Raw logs are not
    /// kept; the template diff below is their redacted summary.
    pub evidence: Evidence,
    /// The template diff with redacted exemplars, when logs were compared.
    pub templates: Option<TemplateDiff>,
    pub pr: Option<PrLink>,
    pub notifications: Vec<NotificationOutcome>,
    /// The remediation agent's redacted transcript, when it ran (JSON lines).
    pub transcript: Option<serde_json::Value>,
}

impl AnalysisRecord {
    pub fn new(
        id: String,
        origin: Origin,
        created_ms: i64,
        verdict: Verdict,
        evidence: &Evidence,
        templates: Option<TemplateDiff>,
    ) -> Self {
        AnalysisRecord {
            id,
            origin,
            created_ms,
            verdict,
            evidence: without_log_lines(evidence),
            templates,
            pr: None,
            notifications: Vec::new(),
            transcript: None,
        }
    }
}

/// A copy of `ev` with every log line dropped (pod names kept) and the
/// labelled-scenario fields cleared.
pub fn without_log_lines(ev: &Evidence) -> Evidence {
    let mut out = Evidence {
        logs: Default::default(),
        planted_secrets: Vec::new(),
        expected: None,
        ..ev.clone()
    };
    out.logs.canary = ev.logs.canary.iter().map(strip).collect();
    out.logs.stable = ev.logs.stable.iter().map(strip).collect();
    out
}

fn strip(p: &crate::evidence::PodLogs) -> crate::evidence::PodLogs {
    crate::evidence::PodLogs {
        pod: p.pod.clone(),
        lines: Vec::new(),
        sources: p.sources.clone(),
    }
}

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub rollout: Option<String>,
    pub verdict: Option<Decision>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, r: &AnalysisRecord) -> bool {
        let ro = &r.evidence.rollout;
        self.namespace.as_deref().is_none_or(|n| ro.namespace == n)
            && self.rollout.as_deref().is_none_or(|n| ro.name == n)
            && self.verdict.is_none_or(|v| r.verdict.verdict == v)
    }
}

/// The in-memory store.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    records: RwLock<VecDeque<Arc<AnalysisRecord>>>,
}

pub const DEFAULT_CAPACITY: usize = 500;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            capacity: capacity.max(1),
            records: RwLock::new(VecDeque::new()),
        }
    }

    /// Keep `rec`, dropping the oldest record when full.
    pub fn insert(&self, rec: AnalysisRecord) -> Arc<AnalysisRecord> {
        let rec = Arc::new(rec);
        let mut g = self.records.write().unwrap_or_else(|p| p.into_inner());
        g.retain(|r| r.id != rec.id);
        while g.len() >= self.capacity {
            g.pop_front();
        }
        g.push_back(Arc::clone(&rec));
        rec
    }

    pub fn get(&self, id: &str) -> Option<Arc<AnalysisRecord>> {
        let g = self.records.read().unwrap_or_else(|p| p.into_inner());
        g.iter().rev().find(|r| r.id == id).cloned()
    }

    /// Newest first.
    pub fn list(&self, f: &Filter) -> Vec<Arc<AnalysisRecord>> {
        let g = self.records.read().unwrap_or_else(|p| p.into_inner());
        g.iter()
            .rev()
            .filter(|r| f.matches(r))
            .take(f.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Change one record (PR link, notification outcome). False if it is gone.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut AnalysisRecord)) -> bool {
        let mut g = self.records.write().unwrap_or_else(|p| p.into_inner());
        match g.iter_mut().find(|r| r.id == id) {
            Some(r) => {
                change(Arc::make_mut(r));
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.records.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::test_support::evidence;
    use crate::judge::{Judge, JudgeConfig};
    use crate::logs::LogConfig;

    fn judge() -> Judge {
        Judge::new(JudgeConfig::default(), LogConfig::default())
    }

    fn record(id: &str, ns: &str, v: Decision) -> AnalysisRecord {
        let mut ev = evidence();
        ev.rollout.namespace = ns.into();
        let mut verdict = judge().judge(&ev);
        verdict.verdict = v;
        AnalysisRecord::new(id.into(), Origin::Verdicts, 0, verdict, &ev, None)
    }

    #[test]
    fn keeps_the_newest_and_filters() {
        let s = MemoryStore::new(2);
        s.insert(record("a", "x", Decision::Promote));
        s.insert(record("b", "y", Decision::Abort));
        s.insert(record("c", "x", Decision::Abort));
        assert!(s.get("a").is_none(), "oldest dropped at capacity");
        let ids: Vec<_> = s
            .list(&Filter::default())
            .iter()
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(ids, ["c", "b"]);
        let f = Filter {
            namespace: Some("x".into()),
            ..Filter::default()
        };
        assert_eq!(s.list(&f).len(), 1);
        let f = Filter {
            verdict: Some(Decision::Abort),
            limit: Some(1),
            ..Filter::default()
        };
        assert_eq!(s.list(&f)[0].id, "c");
    }

    #[test]
    fn update_sets_links_and_strips_logs() {
        let s = MemoryStore::default();
        let mut ev = evidence();
        ev.logs.canary.push(crate::evidence::PodLogs {
            pod: "p".into(),
            lines: vec!["secret line".into()],
            sources: Vec::new(),
        });
        let v = judge().judge(&ev);
        s.insert(AnalysisRecord::new(
            "z".into(),
            Origin::Cli,
            1,
            v,
            &ev,
            None,
        ));
        assert!(
            s.get("z")
                .is_some_and(|r| r.evidence.logs.canary[0].lines.is_empty())
        );
        assert!(s.update("z", |r| r.pr = Some(PrLink {
            url: "u".into(),
            number: 3,
            repo: "o/r".into()
        })));
        assert_eq!(
            s.get("z").and_then(|r| r.pr.clone()).map(|p| p.number),
            Some(3)
        );
        assert!(!s.update("missing", |_| {}));
    }
}
