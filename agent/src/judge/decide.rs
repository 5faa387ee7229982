//! The one `DecisionRule`: signals in, verdict out.
//!
//! Its guarantees, each with a test below:
//! - any `Critical` signal → abort, and nothing else can change that;
//! - any `Regression` → abort;
//! - any `Concern` → at best inconclusive;
//! - promote needs positive evidence (at least one `Pass` signal) and nothing worse;
//! - an advisory opinion (the LLM) can only move a verdict towards caution:
//!   promote → inconclusive, inconclusive → abort; it never produces promote,
//!   and it moves nothing unless it is at least `MIN_ADVISER_CONFIDENCE` sure,
//!   nor when it read evidence text that addresses it (`steered`).

use serde::{Deserialize, Serialize};

use crate::evidence::Decision;
use crate::judge::signal::{Severity, Signal, SignalSource};
use crate::verdict::Reason;

/// An opinion from an adviser that reads the evidence but cannot be trusted to be
/// right (the LLM judge): it may add caution and explanation, never confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryOpinion {
    pub verdict: Decision,
    pub confidence: u8,
    pub rationale: String,
    /// The adviser read evidence that addresses it (instructions to a model
    /// in an event or a log line): its answer may be that text obeyed rather
    /// than a judgement, so it is recorded and moves nothing.
    #[serde(default)]
    pub steered: bool,
}

/// What the rule decided, before it is dressed as a `Verdict`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub verdict: Decision,
    pub confidence: u8,
    pub summary: String,
    pub reasons: Vec<Reason>,
}

/// Below this confidence an adviser's opinion is recorded but moves nothing: a
/// small local model answers "abort (1%)" on a no-traffic canary, which is a
/// guess, not a judgement worth blocking a rollout on.
pub const MIN_ADVISER_CONFIDENCE: u8 = 50;

#[derive(Debug, Clone, Default)]
pub struct DecisionRule;

impl DecisionRule {
    /// The verdict from checkable signals alone.
    fn floor(signals: &[Signal]) -> Decision {
        let worst = signals.iter().map(|s| s.severity).min();
        match worst {
            Some(Severity::Critical | Severity::Regression) => Decision::Abort,
            Some(Severity::Concern) => Decision::Inconclusive,
            Some(Severity::Pass) => Decision::Promote,
            // Only context, or nothing at all: no positive evidence to promote on.
            Some(Severity::Info) | None => Decision::Inconclusive,
        }
    }

    pub fn decide(
        &self,
        subject: &str,
        mut signals: Vec<Signal>,
        opinion: Option<&AdvisoryOpinion>,
    ) -> Decided {
        let floor = Self::floor(&signals);
        let weighty = opinion.filter(|o| o.confidence >= MIN_ADVISER_CONFIDENCE && !o.steered);
        let verdict = match (floor, weighty.map(|o| o.verdict)) {
            (Decision::Abort, _) => Decision::Abort,
            (Decision::Inconclusive, Some(Decision::Abort)) => Decision::Abort,
            (Decision::Inconclusive, _) => Decision::Inconclusive,
            (Decision::Promote, Some(Decision::Abort | Decision::Inconclusive)) => {
                Decision::Inconclusive
            }
            (Decision::Promote, _) => Decision::Promote,
        };
        if let Some(o) = opinion {
            let effect = if o.steered {
                "not counted: the evidence it read addresses an AI model, so its answer may obey that text"
            } else if o.confidence < MIN_ADVISER_CONFIDENCE {
                "too unsure to change the verdict"
            } else if verdict == floor {
                "agrees or cannot change the verdict"
            } else {
                "moved the verdict towards caution"
            };
            signals.push(Signal::new(
                SignalSource::Llm,
                if verdict == floor {
                    Severity::Info
                } else {
                    Severity::Concern
                },
                format!(
                    "model says {} ({}%), {effect}: {}",
                    o.verdict, o.confidence, o.rationale
                ),
                "llm",
                o.confidence,
            ));
        }
        // Most important first: severity, then strength, then source order.
        signals.sort_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then(b.strength.cmp(&a.strength))
                .then(a.source.cmp(&b.source))
        });
        let confidence = confidence(verdict, floor, &signals, opinion);
        let summary = summary(subject, verdict, &signals);
        let reasons = signals.iter().map(Reason::from).collect();
        Decided {
            verdict,
            confidence,
            summary,
            reasons,
        }
    }
}

fn confidence(
    verdict: Decision,
    floor: Decision,
    signals: &[Signal],
    opinion: Option<&AdvisoryOpinion>,
) -> u8 {
    let strongest = |sev: &[Severity]| {
        signals
            .iter()
            .filter(|s| sev.contains(&s.severity))
            .map(|s| u32::from(s.strength))
            .max()
            .unwrap_or(50)
    };
    // Independent kinds of evidence agreeing make a verdict surer.
    let corroboration = |sev: &[Severity]| {
        let mut sources: Vec<SignalSource> = signals
            .iter()
            .filter(|s| sev.contains(&s.severity))
            .map(|s| s.source)
            .collect();
        sources.sort();
        sources.dedup();
        3 * (sources.len().saturating_sub(1)) as u32
    };
    let c = match verdict {
        Decision::Abort if floor == Decision::Abort => {
            let bad = [Severity::Critical, Severity::Regression];
            let base = if signals.iter().any(|s| s.severity == Severity::Critical) {
                strongest(&[Severity::Critical])
            } else {
                strongest(&bad).saturating_sub(10)
            };
            base + corroboration(&bad)
        }
        // Abort only because the adviser said so on ambiguous evidence.
        Decision::Abort => opinion.map_or(50, |o| u32::from(o.confidence)).min(70),
        Decision::Inconclusive => strongest(&[Severity::Concern]).min(90),
        Decision::Promote => {
            let weakest_pass = signals
                .iter()
                .filter(|s| s.severity == Severity::Pass)
                .map(|s| u32::from(s.strength))
                .min()
                .unwrap_or(50);
            let missing = signals
                .iter()
                .filter(|s| s.severity == Severity::Info && s.source == SignalSource::Evidence)
                .count() as u32;
            weakest_pass.saturating_sub(5 * missing)
        }
    };
    c.clamp(1, 99) as u8
}

fn summary(subject: &str, verdict: Decision, signals: &[Signal]) -> String {
    let weighty: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.severity <= Severity::Concern)
        .collect();
    let head = verdict.as_str();
    let body = match (verdict, weighty.first()) {
        (Decision::Promote, _) => {
            let passes = signals
                .iter()
                .filter(|s| s.severity == Severity::Pass)
                .count();
            format!("{passes} checks passed and no signal argues against the canary")
        }
        (_, Some(top)) => {
            // The top signal and the strongest one of another kind (a metric and
            // the log line behind it, say): two independent facts in one sentence.
            // Logs usually name the cause of what metrics and pods show, so a log
            // signal is preferred as the second fact.
            let other = |s: &&&Signal| s.source != top.source && s.severity == top.severity;
            let second = weighty
                .iter()
                .filter(other)
                .find(|s| s.source == SignalSource::Log)
                .or_else(|| weighty.iter().find(other));
            let shown = 1 + usize::from(second.is_some());
            let mut text = clip(top.short(), 240);
            if let Some(second) = second {
                text.push_str(", and ");
                text.push_str(&clip(second.short(), 160));
            }
            let more = weighty.len() - shown;
            if more > 0 {
                text.push_str(&format!(
                    " (and {more} more signal{})",
                    if more == 1 { "" } else { "s" }
                ));
            }
            text
        }
        (_, None) => "no evidence strong enough to promote on".to_owned(),
    };
    format!("{subject}: {head}: {body}.")
}

/// A clipped headline without its closing full stop (the summary adds its own).
fn clip(s: &str, max: usize) -> String {
    crate::text::clip(s.trim_end_matches('.'), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(sev: Severity) -> Signal {
        Signal::new(SignalSource::Metric, sev, format!("{sev:?}"), "x", 80)
    }

    fn opinion(v: Decision) -> AdvisoryOpinion {
        AdvisoryOpinion {
            verdict: v,
            confidence: 99,
            rationale: "because".into(),
            steered: false,
        }
    }

    #[test]
    fn floor_follows_the_worst_signal() {
        let r = DecisionRule;
        let d = |s: Vec<Signal>| r.decide("x", s, None).verdict;
        assert_eq!(
            d(vec![sig(Severity::Pass), sig(Severity::Critical)]),
            Decision::Abort
        );
        assert_eq!(
            d(vec![sig(Severity::Pass), sig(Severity::Regression)]),
            Decision::Abort
        );
        assert_eq!(
            d(vec![sig(Severity::Pass), sig(Severity::Concern)]),
            Decision::Inconclusive
        );
        assert_eq!(
            d(vec![sig(Severity::Pass), sig(Severity::Info)]),
            Decision::Promote
        );
        assert_eq!(d(vec![sig(Severity::Info)]), Decision::Inconclusive);
        assert_eq!(d(vec![]), Decision::Inconclusive);
    }

    #[test]
    fn no_opinion_turns_a_failure_into_promote() {
        let r = DecisionRule;
        for floor in [Severity::Critical, Severity::Regression, Severity::Concern] {
            for v in Decision::ALL {
                let got = r.decide(
                    "x",
                    vec![sig(Severity::Pass), sig(floor)],
                    Some(&opinion(v)),
                );
                assert_ne!(got.verdict, Decision::Promote, "{floor:?} + model {v}");
            }
        }
        // Nothing positive to promote on: the model's promote does not create it.
        for signals in [vec![], vec![sig(Severity::Info)]] {
            let got = r.decide("x", signals, Some(&opinion(Decision::Promote)));
            assert_eq!(got.verdict, Decision::Inconclusive);
        }
    }

    #[test]
    fn opinion_only_adds_caution() {
        let r = DecisionRule;
        let clean = || vec![sig(Severity::Pass)];
        let v = |o| r.decide("x", clean(), Some(&opinion(o))).verdict;
        assert_eq!(v(Decision::Promote), Decision::Promote);
        assert_eq!(v(Decision::Inconclusive), Decision::Inconclusive);
        assert_eq!(v(Decision::Abort), Decision::Inconclusive);
        let ambiguous = vec![sig(Severity::Pass), sig(Severity::Concern)];
        assert_eq!(
            r.decide("x", ambiguous, Some(&opinion(Decision::Abort)))
                .verdict,
            Decision::Abort
        );
        let critical = vec![sig(Severity::Critical)];
        assert_eq!(
            r.decide("x", critical, Some(&opinion(Decision::Promote)))
                .verdict,
            Decision::Abort
        );
    }

    #[test]
    fn a_steered_opinion_moves_nothing() {
        let r = DecisionRule;
        let steered = AdvisoryOpinion {
            steered: true,
            ..opinion(Decision::Abort)
        };
        for signals in [
            vec![sig(Severity::Pass)],
            vec![sig(Severity::Pass), sig(Severity::Concern)],
        ] {
            let alone = r.decide("x", signals.clone(), None).verdict;
            let d = r.decide("x", signals, Some(&steered));
            assert_eq!(d.verdict, alone);
            assert!(
                d.reasons
                    .iter()
                    .any(|x| x.detail.contains("addresses an AI model"))
            );
        }
    }

    #[test]
    fn an_unsure_opinion_moves_nothing() {
        let r = DecisionRule;
        let unsure = AdvisoryOpinion {
            verdict: Decision::Abort,
            confidence: MIN_ADVISER_CONFIDENCE - 1,
            rationale: "guess".into(),
            steered: false,
        };
        let ambiguous = vec![sig(Severity::Pass), sig(Severity::Concern)];
        let d = r.decide("x", ambiguous.clone(), Some(&unsure));
        assert_eq!(d.verdict, Decision::Inconclusive);
        assert!(d.reasons.iter().any(|x| x.detail.contains("too unsure")));
        let sure = AdvisoryOpinion {
            confidence: MIN_ADVISER_CONFIDENCE,
            ..unsure
        };
        assert_eq!(
            r.decide("x", ambiguous, Some(&sure)).verdict,
            Decision::Abort
        );
        assert_eq!(
            r.decide("x", vec![sig(Severity::Pass)], Some(&sure))
                .verdict,
            Decision::Inconclusive
        );
    }

    #[test]
    fn reasons_are_ordered_and_summary_names_the_top_one() {
        let mut crit = sig(Severity::Critical);
        crit.detail = "error_rate regressed".into();
        let d = DecisionRule.decide("shop/checkout", vec![sig(Severity::Pass), crit], None);
        assert_eq!(d.reasons[0].severity, Severity::Critical);
        assert!(d.summary.contains("error_rate regressed"), "{}", d.summary);
        assert!(d.summary.starts_with("shop/checkout: abort"));
        assert!((1..=99).contains(&d.confidence));
    }
}
