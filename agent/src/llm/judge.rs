//! The hybrid step: ask the model about one canary step and turn its answer into
//! an [`Advice`] for the `DecisionRule`. Whatever the model does (time out, fail,
//! return garbage, or answer "promote" to everything), the result is either an
//! opinion the rule may use for caution only, or "unavailable".

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::prompt::{PromptContext, Prompts};
use super::reply::{LlmReply, compact_reply_schema, parse_reply, reply_schema};
use super::{
    ChatModel, ChatRequest, LlmConfig, LlmError, OutputFormat, Spent, complete_with_retry,
};
use crate::error::Result;
use crate::evidence::{Decision, Evidence};
use crate::judge::{Advice, AdvisoryOpinion, Assessment};
use crate::redact::Redactor;
use crate::verdict::Usage;

/// Name of the reply schema / tool, as the endpoint sees it.
pub const SCHEMA_NAME: &str = "canary_verdict";

/// The log digest the model reads (never raw logs): built by
/// [`crate::logs::digest::build_digest`].
pub type LogDigest = crate::logs::digest::Digest;

/// No digest (a bundle without logs, or tests).
pub fn empty_digest() -> LogDigest {
    LogDigest {
        text: String::new(),
        tokens: 0,
        truncated: false,
    }
}

/// What the seed plugin's approach produced on one scenario: the model's verdict
/// taken as is, as that plugin did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineResult {
    pub verdict: Option<Decision>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Asks a [`ChatModel`] for an opinion. Built once, used for many bundles.
#[derive(Debug)]
pub struct LlmJudge {
    model: Arc<dyn ChatModel>,
    prompts: Prompts,
    cfg: LlmConfig,
    redactor: Redactor,
    schema: serde_json::Value,
}

impl LlmJudge {
    pub fn new(model: Arc<dyn ChatModel>, cfg: LlmConfig) -> Result<Self> {
        cfg.validate()?;
        let prompts = Prompts::load(cfg.prompts_dir.as_deref())?;
        Ok(LlmJudge {
            model,
            prompts,
            redactor: Redactor::new(),
            schema: match cfg.prompt_style {
                super::PromptStyle::Compact => compact_reply_schema(),
                super::PromptStyle::Full => reply_schema(),
            },
            cfg,
        })
    }

    pub fn model_name(&self) -> &str {
        self.model.name()
    }

    pub fn config(&self) -> &LlmConfig {
        &self.cfg
    }

    /// The system and user prompts exactly as sent, redacted.
    pub fn render(
        &self,
        ev: &Evidence,
        a: &Assessment,
        digest: &LogDigest,
        format: OutputFormat,
    ) -> Result<(String, String)> {
        let ctx = PromptContext::new(
            ev,
            a,
            &digest.text,
            digest.truncated,
            format,
            SCHEMA_NAME,
            &self.schema,
            &self.redactor,
        );
        let system = self.prompts.render("system.tera", &ctx)?;
        let user = self
            .prompts
            .render(self.cfg.prompt_style.template(), &ctx)?;
        Ok((self.redact(&system), self.redact(&user)))
    }

    /// Redaction is the last step before anything leaves the process, applied
    /// to whole prompts so no template variable can bypass it.
    fn redact(&self, s: &str) -> String {
        self.redactor.redact_lines(s).into_owned()
    }

    fn request(&self, system: String, user: String, format: OutputFormat) -> ChatRequest {
        ChatRequest {
            system,
            user,
            schema_name: SCHEMA_NAME.into(),
            schema: self.schema.clone(),
            format,
            max_tokens: self.cfg.max_tokens,
            temperature: self.cfg.temperature,
            frequency_penalty: self.cfg.frequency_penalty,
        }
    }

    /// Ask the model; never fails: problems become [`Advice::Unavailable`].
    pub async fn advise(&self, ev: &Evidence, a: &Assessment, digest: &LogDigest) -> Advice {
        let started = Instant::now();
        let mut spent = Spent::default();
        let outcome = self
            .ask(&mut spent, |format| self.render(ev, a, digest, format))
            .await;
        let usage = Usage {
            prompt_tokens: spent.prompt_tokens,
            completion_tokens: spent.completion_tokens,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let model = self.model.name().to_owned();
        // Text in the evidence that gives a model instructions may be what
        // the answer obeys: such an answer is kept as a reason, not counted.
        let steered = super::prompt::addressed_to_model(ev) > 0 || a.logs.diff.has_injection();
        match outcome {
            Ok(reply) => Advice::Opinion {
                opinion: AdvisoryOpinion {
                    steered,
                    ..opinion_from(&reply)
                },
                model,
                usage,
            },
            Err(why) => {
                tracing::warn!(%why, "model unavailable; judging on statistics and logs");
                Advice::Unavailable { model, why, usage }
            }
        }
    }

    /// The seed plugin's approach on the same bundle, for the eval comparison.
    pub async fn seed_baseline(&self, ev: &Evidence, a: &Assessment) -> BaselineResult {
        let started = Instant::now();
        let mut spent = Spent::default();
        let outcome = self
            .ask(&mut spent, |format| {
                let ctx = PromptContext::new(
                    ev,
                    a,
                    "",
                    false,
                    format,
                    SCHEMA_NAME,
                    &self.schema,
                    &self.redactor,
                )
                .with_seed_baseline_log(ev);
                let system = self.prompts.render("system.tera", &ctx)?;
                let user = self.prompts.render("seed_baseline.tera", &ctx)?;
                Ok((self.redact(&system), self.redact(&user)))
            })
            .await;
        let (verdict, error) = match outcome {
            Ok(r) => (Some(r.verdict.into()), None),
            Err(e) => (None, Some(e)),
        };
        BaselineResult {
            verdict,
            prompt_tokens: spent.prompt_tokens,
            completion_tokens: spent.completion_tokens,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error,
        }
    }

    /// Try each structured-output format the endpoint accepts; retry transient
    /// errors under the policy and a malformed reply once; otherwise say why not.
    async fn ask(
        &self,
        spent: &mut Spent,
        render: impl Fn(OutputFormat) -> Result<(String, String)>,
    ) -> std::result::Result<LlmReply, String> {
        let policy = self.cfg.retry_policy();
        let mut last = String::from("no output format configured");
        for &format in self.cfg.structured_output.formats() {
            let (system, user) = render(format).map_err(|e| format!("prompt: {e}"))?;
            let mut req = self.request(system, user, format);
            let mut malformed_retries = 1;
            loop {
                let result = complete_with_retry(self.model.as_ref(), &req, &policy, spent)
                    .await
                    .and_then(|r| parse_reply(&r.text));
                match result {
                    Ok(reply) => return Ok(reply),
                    Err(LlmError::Malformed(m)) if malformed_retries > 0 => {
                        tracing::debug!(%m, "malformed reply, asking once more");
                        malformed_retries -= 1;
                        // At temperature 0 the same prompt gives the same broken
                        // answer (small models loop on a token); a little
                        // randomness gives the retry a chance.
                        req.temperature = (req.temperature + 0.4).min(1.0);
                    }
                    Err(e @ LlmError::Unsupported { .. }) => {
                        tracing::debug!(error = %e, "trying the next output format");
                        last = e.to_string();
                        break;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Err(last)
    }
}

/// The opinion the `DecisionRule` reads: the model's verdict, bounded
/// confidence, and its explanation in one line (summary, then root cause, then
/// reasons), since a person reads it in the verdict's reasons.
fn opinion_from(r: &LlmReply) -> AdvisoryOpinion {
    let mut rationale = r.summary.trim().trim_end_matches('.').to_owned();
    if !r.suspected_root_cause.trim().is_empty() {
        rationale.push_str("; suspected root cause: ");
        rationale.push_str(r.suspected_root_cause.trim());
    }
    for reason in r.reasons.iter().filter(|x| !x.trim().is_empty()) {
        rationale.push_str("; ");
        rationale.push_str(reason.trim());
    }
    AdvisoryOpinion {
        verdict: r.verdict.into(),
        confidence: u8::try_from(r.confidence.min(100)).unwrap_or(100),
        rationale,
        steered: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Judge;
    use crate::llm::scripted::ScriptedModel;

    fn judge_with(model: ScriptedModel) -> (LlmJudge, Arc<ScriptedModel>) {
        let model = Arc::new(model);
        let cfg = LlmConfig {
            max_backoff_secs: 0.01,
            ..LlmConfig::default()
        };
        (LlmJudge::new(model.clone(), cfg).unwrap(), model)
    }

    fn run(j: &LlmJudge) -> Advice {
        let ev = crate::judge::test_support::evidence();
        let a = Judge::default().assess(&ev);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(j.advise(&ev, &a, &empty_digest()))
    }

    const OK: &str = r#"{"verdict":"abort","confidence":70,"summary":"errors rose","reasons":["r1"],"suspected_root_cause":"NPE"}"#;

    #[test]
    fn malformed_is_retried_once_then_unavailable() {
        let (j, m) =
            judge_with(ScriptedModel::queue(vec![Ok("garbage".into()), Ok(OK.into())]).unwrap());
        let Advice::Opinion { opinion, .. } = run(&j) else {
            panic!("expected an opinion")
        };
        assert_eq!(opinion.verdict, Decision::Abort);
        assert!(opinion.rationale.contains("suspected root cause: NPE"));
        assert_eq!(m.requests().len(), 2);

        let (j, m) = judge_with(
            ScriptedModel::queue(vec![
                Ok("garbage".into()),
                Ok("{\"verdict\":1}".into()),
                Ok(OK.into()),
            ])
            .unwrap(),
        );
        assert!(matches!(run(&j), Advice::Unavailable { why, .. } if why.contains("malformed")));
        assert_eq!(
            m.requests().len(),
            2,
            "only one retry for a malformed reply"
        );
    }

    #[test]
    fn unsupported_format_falls_back_in_order() {
        let unsupported = |f| LlmError::Unsupported {
            format: f,
            message: "no".into(),
        };
        let (j, m) = judge_with(
            ScriptedModel::queue(vec![
                Err(unsupported("json_schema")),
                Err(unsupported("tool call")),
                Ok(format!("```json\n{OK}\n```")),
            ])
            .unwrap(),
        );
        assert!(matches!(run(&j), Advice::Opinion { .. }));
        let formats: Vec<_> = m.requests().iter().map(|r| r.format).collect();
        assert_eq!(
            formats,
            vec![
                OutputFormat::JsonSchema,
                OutputFormat::ToolCall,
                OutputFormat::FencedJson
            ]
        );
        assert!(
            m.requests()[2].user.contains("\"confidence\""),
            "fenced mode puts the schema in the prompt"
        );
    }

    #[test]
    fn fatal_errors_are_not_retried_and_tokens_are_counted() {
        let (j, m) = judge_with(
            ScriptedModel::queue(vec![Err(LlmError::Auth("bad key".into())), Ok(OK.into())])
                .unwrap(),
        );
        let Advice::Unavailable { why, usage, .. } = run(&j) else {
            panic!("expected unavailable")
        };
        assert!(why.contains("bad key"));
        assert_eq!(usage.prompt_tokens, 0);
        assert_eq!(m.requests().len(), 1);

        let (j, _) = judge_with(ScriptedModel::queue(vec![Ok(OK.into())]).unwrap());
        let Advice::Opinion { usage, .. } = run(&j) else {
            panic!("expected an opinion")
        };
        assert!(usage.prompt_tokens > 100, "{usage:?}");
        assert!(usage.completion_tokens > 10, "{usage:?}");
    }
}
