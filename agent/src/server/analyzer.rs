//! The judge as the service runs it: statistics and logs on a blocking thread
//! (CPU work off the async workers), the model's advice awaited on the
//! runtime, the decision by the same `DecisionRule` as the CLI. A crash or an
//! error anywhere gives an inconclusive verdict, never promote.

use std::sync::Arc;

use crate::evidence::Evidence;
use crate::judge::{Advice, Judge};
use crate::llm::LlmJudge;
use crate::llm::hybrid::log_digest;
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

    /// Judge one bundle. `extra` is operator context from the AnalysisTemplate
    /// (`extraPrompt`), shown to the model after the digest; it cannot change
    /// the rule, only what the model is asked to look at.
    pub async fn analyze(&self, ev: Arc<Evidence>, extra: Option<String>) -> Judged {
        let judge = Arc::clone(&self.judge);
        let llm = self.llm.clone();
        let counter = self.counter.clone();
        let ev2 = Arc::clone(&ev);
        let assessed = tokio::task::spawn_blocking(move || {
            let a = judge.assess(&ev2);
            let digest = match (&llm, &counter) {
                (Some(l), Some(c)) => {
                    let mut d = log_digest(&judge, c, &ev2, &a, l.config().digest_tokens);
                    if let Some(x) = extra.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
                        let x = judge.log_analyzer().redactor().clip(x, 500);
                        d.text
                            .push_str("\n\nOperator context (from the AnalysisTemplate): ");
                        d.text.push_str(&x);
                    }
                    Some(d)
                }
                _ => None,
            };
            (a, digest)
        })
        .await;
        let (a, digest) = match assessed {
            Ok(x) => x,
            Err(e) => return Self::crashed(&ev, &e.to_string()),
        };
        let advice: Option<Advice> = match (&self.llm, digest) {
            (Some(l), Some(d)) => Some(l.advise(&ev, &a, &d).await),
            _ => None,
        };
        let templates = Some(a.logs.diff.clone());
        let judge = Arc::clone(&self.judge);
        let ev2 = Arc::clone(&ev);
        match tokio::task::spawn_blocking(move || judge.decide(&ev2, a, advice)).await {
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
