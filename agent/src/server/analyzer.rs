//! The judge as the service runs it: statistics and logs on a blocking thread
//! (CPU work off the async workers), the model's advice awaited on the
//! runtime, the decision by the same `DecisionRule` as the CLI. A crash or an
//! error anywhere gives an inconclusive verdict, never promote.
//!
//! The blocking work is cancellable: it stops at the analysis deadline, or as
//! soon as the future of [`Analyzer::analyze`] is dropped (a caller's
//! timeout), and the analysis slot it was given is freed only once that work
//! has really ended, so `max-concurrent-analyses` bounds the CPU in use, not
//! just the analyses someone still waits for.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;

use crate::evidence::Evidence;
use crate::judge::{Advice, Assessment, Judge};
use crate::llm::hybrid::log_digest;
use crate::llm::{LlmJudge, LogDigest as Digest};
use crate::logs::Stop;
use crate::logs::diff::TemplateDiff;
use crate::logs::digest::TokenCounter;
use crate::verdict::{RolloutSummary, Verdict};

/// What one analysis produced.
#[derive(Debug, Clone)]
pub struct Judged {
    pub verdict: Verdict,
    /// The template diff (redacted exemplars), for the verdict page.
    pub templates: Option<TemplateDiff>,
}

#[derive(Debug)]
pub struct Analyzer {
    judge: Arc<Judge>,
    llm: Option<Arc<LlmJudge>>,
    counter: Option<Arc<TokenCounter>>,
}

impl Analyzer {
    /// Statistics and logs alone.
    pub fn new(judge: Judge) -> Self {
        Analyzer {
            judge: Arc::new(judge),
            llm: None,
            counter: None,
        }
    }

    /// With a model that advises (it can only add caution).
    pub fn with_llm(judge: Judge, llm: LlmJudge) -> crate::Result<Self> {
        Ok(Analyzer {
            judge: Arc::new(judge),
            llm: Some(Arc::new(llm)),
            counter: Some(Arc::new(TokenCounter::new()?)),
        })
    }

    pub fn judge(&self) -> &Judge {
        &self.judge
    }

    pub fn model_name(&self) -> Option<&str> {
        self.llm.as_ref().map(|l| l.model_name())
    }

    /// Judge one bundle by `until`. `extra` is operator context from the AnalysisTemplate
    /// (`extraPrompt`), shown to the model after the digest; it cannot change
    /// the rule, only what the model is asked to look at. `slot` (the
    /// analysis permit) is held until the last of the work has stopped, also
    /// when this future is dropped before it finishes.
    pub async fn analyze(
        &self,
        ev: Arc<Evidence>,
        extra: Option<String>,
        until: Instant,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Judged {
        let stop = Stop::at(until);
        // Dropped with this future: tells the blocking work to stop.
        let _stop_on_drop = StopOnDrop(stop.clone());
        let slot = Arc::new(slot);
        let judge = Arc::clone(&self.judge);
        let llm = self.llm.clone();
        let counter = self.counter.clone();
        let ev2 = Arc::clone(&ev);
        let (slot2, stop2) = (Arc::clone(&slot), stop.clone());
        let assessed = tokio::task::spawn_blocking(move || {
            let out = assess(
                &judge,
                &ev2,
                &stop2,
                llm.as_deref(),
                counter.as_deref(),
                extra,
            );
            // The evidence, then the slot: whoever sees the slot free sees the work over.
            drop(ev2);
            drop(slot2);
            out
        })
        .await;
        let (a, digest) = match assessed {
            Ok(x) => x,
            Err(e) => return Self::crashed(&ev, &e.to_string()),
        };
        if stop.is_stopped() {
            return Judged {
                verdict: Verdict::could_not_judge(
                    RolloutSummary::of(&ev),
                    "the analysis ran out of time while judging (analysis-timeout-secs)",
                ),
                templates: None,
            };
        }
        let advice: Option<Advice> = match (&self.llm, digest) {
            (Some(l), Some(d)) => Some(l.advise(&ev, &a, &d).await),
            _ => None,
        };
        let templates = Some(a.logs.diff.clone());
        let judge = Arc::clone(&self.judge);
        let ev2 = Arc::clone(&ev);
        let slot2 = Arc::clone(&slot);
        let decided = tokio::task::spawn_blocking(move || {
            let v = judge.decide(&ev2, a, advice);
            drop(ev2);
            drop(slot2);
            v
        })
        .await;
        drop(slot);
        match decided {
            Ok(verdict) => Judged { verdict, templates },
            Err(e) => Self::crashed(&ev, &e.to_string()),
        }
    }

    fn crashed(ev: &Evidence, why: &str) -> Judged {
        tracing::error!(rollout = %ev.rollout.name, error = %why, "the judge crashed");
        Judged {
            verdict: Verdict::could_not_judge(
                RolloutSummary::of(ev),
                format!("internal error while judging ({why})"),
            ),
            templates: None,
        }
    }
}

/// Sets its [`Stop`] when dropped.
struct StopOnDrop(Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The blocking part before the model: the assessment, and the digest the model reads.
fn assess(
    judge: &Judge,
    ev: &Evidence,
    stop: &Stop,
    llm: Option<&LlmJudge>,
    counter: Option<&TokenCounter>,
    extra: Option<String>,
) -> (Assessment, Option<Digest>) {
    let a = judge.assess_until(ev, stop);
    let digest = match (llm, counter) {
        (Some(l), Some(c)) if !stop.is_stopped() => {
            let mut d = log_digest(judge, c, ev, &a, l.config().digest_tokens);
            if let Some(x) = extra.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
                let x = crate::fence::field(&judge.log_analyzer().redactor().clip(x, 500));
                d.text
                    .push_str("\n\nOperator context (from the AnalysisTemplate): ");
                d.text.push_str(&x);
            }
            Some(d)
        }
        _ => None,
    };
    (a, digest)
}
