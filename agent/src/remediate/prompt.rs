//! The agent's prompts and the pull request body, as tera templates from
//! `prompts/` (embedded at build time).

use crate::text::error_chain;
use serde::Serialize;

use rollwise_tools::github::tools::{PrBodyRenderer, PrDraft, PrFacts};

use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::fence::{block, field};
use crate::redact::Redactor;
use crate::verdict::Verdict;

pub const TEMPLATES: [(&str, &str); 3] = [
    (
        "agent_system.tera",
        include_str!("../../../prompts/agent_system.tera"),
    ),
    (
        "agent_task.tera",
        include_str!("../../../prompts/agent_task.tera"),
    ),
    (
        "pr_body.tera",
        include_str!("../../../prompts/pr_body.tera"),
    ),
];

#[derive(Debug)]
pub struct AgentPrompts {
    tera: tera::Tera,
}

/// What the templates may use: facts rollwise established, and the digest
/// (untrusted, fenced by the template).
#[derive(Debug, Clone, Serialize)]
pub struct TaskContext {
    pub rollout: String,
    pub canary_image: Option<String>,
    pub stable_image: Option<String>,
    pub repo: String,
    pub base: String,
    pub verdict: String,
    pub confidence: u8,
    pub summary: String,
    pub reasons: Vec<ReasonFact>,
    pub digest: String,
    pub max_steps: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonFact {
    pub severity: String,
    pub detail: String,
    pub evidence: String,
}

impl TaskContext {
    pub fn new(
        ev: &Evidence,
        verdict: &Verdict,
        digest: &str,
        repo: &str,
        base: &str,
        max_steps: u32,
    ) -> Self {
        TaskContext {
            rollout: field(&format!("{}/{}", ev.rollout.namespace, ev.rollout.name)),
            canary_image: ev.rollout.canary_image.as_deref().map(field),
            stable_image: ev.rollout.stable_image.as_deref().map(field),
            repo: repo.to_owned(),
            base: base.to_owned(),
            verdict: verdict.verdict.to_string(),
            confidence: verdict.confidence,
            // Reasons and the summary quote evidence (event messages, templates).
            summary: field(&verdict.summary),
            reasons: verdict
                .reasons
                .iter()
                .map(|r| ReasonFact {
                    severity: serde_json::to_value(r.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    detail: field(&r.detail),
                    evidence: field(&r.evidence),
                })
                .collect(),
            // The template fences it; a closing fence inside cannot end it.
            digest: block(digest),
            max_steps,
        }
    }
}

impl AgentPrompts {
    pub fn load() -> Result<Self> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        for (name, src) in TEMPLATES {
            tera.add_raw_template(name, src).map_err(|e| {
                Error::Config(format!("prompt template {name}: {}", error_chain(&e)))
            })?;
        }
        Ok(AgentPrompts { tera })
    }

    pub fn render<T: Serialize>(&self, name: &str, ctx: &T) -> Result<String> {
        let c = tera::Context::from_serialize(ctx)
            .map_err(|e| Error::Config(format!("prompt context: {}", error_chain(&e))))?;
        self.tera
            .render(name, &c)
            .map_err(|e| Error::Config(format!("rendering {name}: {}", error_chain(&e))))
    }
}

/// Renders `pr_body.tera` with the verdict's facts around the model's draft.
#[derive(Debug)]
pub struct PrBody {
    prompts: AgentPrompts,
    task: TaskContext,
}

impl PrBody {
    pub fn new(task: TaskContext) -> Result<Self> {
        Ok(PrBody {
            prompts: AgentPrompts::load()?,
            task,
        })
    }
}

#[derive(Serialize)]
struct BodyContext<'a> {
    #[serde(flatten)]
    task: &'a TaskContext,
    draft: &'a PrDraft,
    facts: &'a PrFacts,
}

impl PrBodyRenderer for PrBody {
    fn render(&self, draft: &PrDraft, facts: &PrFacts) -> rollwise_tools::Result<String> {
        self.prompts
            .render(
                "pr_body.tera",
                &BodyContext {
                    task: &self.task,
                    draft,
                    facts,
                },
            )
            .map_err(|e| rollwise_tools::Error::Config(e.to_string()))
    }
}

/// rollwise's redactor behind the tools crate's `Redact` trait.
#[derive(Debug, Default)]
pub struct RedactorAdapter(pub Redactor);

impl rollwise_tools::github::Redact for RedactorAdapter {
    fn redact(&self, text: &str) -> String {
        self.0.redact(text).into_owned()
    }
}
