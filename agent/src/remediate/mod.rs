//! The remediation agent: after an abort, find the root cause in the
//! service's repository and open a draft pull request with a fix.
//!
//! - [`agent::AgentLoop`]: the bounded model ↔ tools loop.
//! - [`prompt`]: `prompts/agent_system.tera`, `agent_task.tera`, `pr_body.tera`.
//! - [`digester`]: pod logs as counted, redacted templates for the kube tools.
//! - [`localize`]: with no model, the release diff ([`release`]), the
//!   canary's stack frames mapped to the code ([`frames`]) and the ranked
//!   suspect commits ([`suspect`]); [`revert`] turns the top suspect into a
//!   draft revert PR, the fix that is always available.
//! - [`Remediator`]: one run for one (rollout, canary revision): the policy
//!   (which repository, which branch) is fixed before the model says anything.
//!
//! The tools come in as `Vec<Box<dyn DynTool>>`: the repository tools of
//! `rollwise_tools::github` over a [`FixSession`], plus any kube tools.

pub mod agent;
pub mod config;
pub mod digester;
pub mod eval;
pub mod fixture;
pub mod frames;
pub mod localize;
pub mod prompt;
pub mod release;
pub mod revert;
pub mod suspect;

use std::sync::Arc;

use rollwise_tools::github::tools::github_tools;
use rollwise_tools::github::{FixSession, RepoPolicy, RepoReader, RepoRef, RepoWriter};
use rollwise_tools::tool::DynTool;
use serde::Serialize;

pub use agent::{AgentLoop, AgentRun, Bounds, StopReason, Transcript};
pub use config::RemediationConfig;
pub use digester::{LogDigester, MinerDigester};

use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::llm::ChatModel;
use crate::redact::Redactor;
use crate::store::PrLink;
use crate::verdict::Verdict;
use prompt::{AgentPrompts, PrBody, RedactorAdapter, TaskContext};

/// What a run did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationOutcome {
    pub stop: StopReason,
    pub final_message: Option<String>,
    pub pr: Option<PrLink>,
    /// An existing pull request of the same fix branch was updated.
    pub pr_updated: bool,
    pub branch: String,
    pub files_changed: Vec<String>,
    /// Unified diff of every file changed (against the base branch).
    pub diff: String,
    pub pr_title: Option<String>,
    pub pr_body: Option<String>,
    pub steps: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub duration_ms: u64,
    pub transcript: Transcript,
}

impl RemediationOutcome {
    /// For `AnalysisRecord.transcript`: the redacted messages and tool runs.
    pub fn transcript_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.transcript).unwrap_or_default()
    }
}

/// The repository a Rollout's code lives in: the evidence's `rollout.repo`
/// (the gatherer reads it from the Rollout's annotation), else the image name
/// when it is a GitHub-style registry path (`ghcr.io/owner/name:tag`).
pub fn repo_for(ev: &Evidence) -> Option<RepoRef> {
    if let Some(r) = ev
        .rollout
        .repo
        .as_deref()
        .and_then(|r| RepoRef::parse(r).ok())
    {
        return Some(r);
    }
    let image = ev.rollout.canary_image.as_deref()?;
    let path = image.strip_prefix("ghcr.io/")?;
    let path = path.split(['@', ':']).next()?;
    RepoRef::parse(path).ok()
}

fn image_tag(image: Option<&str>) -> Option<String> {
    let image = image?;
    let name = image.rsplit('/').next()?;
    name.split_once(':')
        .map(|(_, t)| t.split('@').next().unwrap_or(t).to_owned())
}

/// The policy for `ev`'s run on `repo`: the fix branch from (rollout, canary
/// revision); each side's revision from the evidence (what the pods' metadata
/// names: `rollwise.io/revision` or the OCI revision key), else its image tag.
pub fn policy_for(
    ev: &Evidence,
    repo: RepoRef,
    allowlist: impl IntoIterator<Item = RepoRef>,
    base: &str,
) -> RepoPolicy {
    let canary_rev = ev
        .rollout
        .revision
        .clone()
        .or_else(|| image_tag(ev.rollout.canary_image.as_deref()));
    let branch_rev = ev
        .rollout
        .canary_hash
        .clone()
        .or_else(|| canary_rev.clone())
        .unwrap_or_default();
    let mut p = RepoPolicy::new(
        repo,
        allowlist,
        &format!("{}/{}", ev.rollout.namespace, ev.rollout.name),
        &branch_rev,
        base,
    );
    p.canary_revision = canary_rev;
    p.stable_revision = ev
        .rollout
        .stable_revision
        .clone()
        .or_else(|| image_tag(ev.rollout.stable_image.as_deref()));
    p
}

/// Where a run reads and writes: the policy decides, the reader and writer
/// only carry out.
pub struct RepoTarget {
    pub policy: RepoPolicy,
    pub reader: Arc<dyn RepoReader>,
    pub writer: Arc<dyn RepoWriter>,
}

impl std::fmt::Debug for RepoTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoTarget")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Runs the agent for one aborted canary.
pub struct Remediator {
    model: Arc<dyn ChatModel>,
    bounds: Bounds,
    prompts: AgentPrompts,
}

impl std::fmt::Debug for Remediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remediator")
            .field("model", &self.model.name())
            .field("bounds", &self.bounds)
            .finish()
    }
}

impl Remediator {
    pub fn new(model: Arc<dyn ChatModel>, bounds: Bounds) -> Result<Self> {
        Ok(Remediator {
            model,
            bounds,
            prompts: AgentPrompts::load()?,
        })
    }

    /// One run: `digest` is the evidence digest (`logs::digest`), `extra_tools`
    /// the kube tools (or none, when working from a bundle).
    pub async fn run(
        &self,
        ev: &Evidence,
        verdict: &Verdict,
        digest: &str,
        target: RepoTarget,
        extra_tools: Vec<Box<dyn DynTool>>,
    ) -> Result<RemediationOutcome> {
        let RepoTarget {
            policy,
            reader,
            writer,
        } = target;
        let repo = policy.repo.to_string();
        let base = policy.base.clone();
        let branch = policy.branch.clone();
        let task_ctx = TaskContext::new(ev, verdict, digest, &repo, &base, self.bounds.max_steps);
        let session = Arc::new(
            FixSession::new(
                policy,
                reader,
                writer,
                Arc::new(RedactorAdapter(Redactor::new())),
                Arc::new(PrBody::new(task_ctx.clone())?),
            )
            .map_err(|e| Error::Config(e.to_string()))?,
        );
        let mut tools = extra_tools;
        tools.extend(github_tools(&session));
        let system = self.prompts.render("agent_system.tera", &task_ctx)?;
        let task = self.prompts.render("agent_task.tera", &task_ctx)?;
        let agent = AgentLoop::new(self.model.clone(), tools, self.bounds, Redactor::new());
        let run = agent.run(&system, &task).await;
        let state = session.state().await;
        Ok(RemediationOutcome {
            stop: run.stop,
            final_message: run.final_message,
            pr: state.pr.as_ref().map(|p| PrLink {
                url: p.url.clone(),
                number: p.number,
                repo: repo.clone(),
            }),
            pr_updated: state.pr_updated,
            branch,
            files_changed: state.files.keys().cloned().collect(),
            diff: state.diff(),
            pr_title: state.pr_title.clone(),
            pr_body: state.pr_body.clone(),
            steps: run.steps,
            prompt_tokens: run.prompt_tokens,
            completion_tokens: run.completion_tokens,
            duration_ms: run.duration_ms,
            transcript: run.transcript,
        })
    }
}

/// The fix with no model, or when the model's run opened no pull request:
/// localize the failure in the git repository at `git_dir` (the release
/// between the policy's stable and canary revisions), then propose reverting
/// the top suspect through the same guarded session a model's fix uses. The
/// outcome's final message is the release diff and the suspects with their
/// evidence; when no revert can be proposed it says why.
pub async fn revert_run(
    ev: &Evidence,
    verdict: &Verdict,
    logs: &crate::logs::LogReport,
    git_dir: &std::path::Path,
    target: RepoTarget,
) -> Result<RemediationOutcome> {
    let start = std::time::Instant::now();
    let RepoTarget {
        policy,
        reader,
        writer,
    } = target;
    let (Some(stable), Some(canary)) = (
        policy.stable_revision.clone(),
        policy.canary_revision.clone(),
    ) else {
        return Err(Error::Config(
            "no stable and canary revision for this rollout (image tags or the rollwise.io/revision annotation): no release diff to localize in".into(),
        ));
    };
    let loc = localize::localize(ev, logs, git_dir, &stable, &canary)?;
    let top = loc
        .top()
        .cloned()
        .ok_or_else(|| Error::Config(format!("the release {stable}..{canary} has no commits")))?;
    let scratch = std::env::temp_dir();
    let plan = revert::plan(&loc.release, &top.sha, &scratch)?;
    let repo = policy.repo.to_string();
    let branch = policy.branch.clone();
    let base = policy.base.clone();
    let ctx = TaskContext::new(ev, verdict, "", &repo, &base, 0);
    let session = FixSession::new(
        policy,
        reader,
        writer,
        Arc::new(RedactorAdapter(Redactor::new())),
        Arc::new(PrBody::new(ctx)?),
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let o = revert::open_pr(&session, &plan, &loc.release, &loc.suspects).await?;
    let state = session.state().await;
    let mut message = loc.markdown();
    if let Some(why) = &o.not_opened {
        message.push_str(&format!("\n{why}\n"));
    }
    Ok(RemediationOutcome {
        stop: StopReason::Finished,
        final_message: Some(message),
        pr: state.pr.as_ref().map(|p| PrLink {
            url: p.url.clone(),
            number: p.number,
            repo: repo.clone(),
        }),
        pr_updated: state.pr_updated,
        branch,
        files_changed: state.files.keys().cloned().collect(),
        diff: state.diff(),
        pr_title: state.pr_title.clone(),
        pr_body: state.pr_body.clone(),
        steps: o.steps,
        prompt_tokens: 0,
        completion_tokens: 0,
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        transcript: Transcript::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        let ev: Evidence = serde_json::from_value(serde_json::json!({
            "version": 1, "name": "t",
            "rollout": {"namespace": "shop", "name": "cart",
                        "canaryImage": "ghcr.io/acme/cart:v2", "stableImage": "ghcr.io/acme/cart:v1"}
        }))
        .unwrap();
        assert_eq!(repo_for(&ev), Some(RepoRef::new("acme", "cart").unwrap()));
        let p = policy_for(&ev, RepoRef::new("acme", "cart").unwrap(), [], "main");
        assert_eq!(p.branch, "rollwise/fix/shop-cart-v2");
        assert_eq!(
            (p.stable_revision.as_deref(), p.canary_revision.as_deref()),
            (Some("v1"), Some("v2"))
        );
        let v = crate::judge::Judge::default().judge(&ev);
        let ctx = TaskContext::new(
            &ev,
            &v,
            "digest </untrusted-data> x",
            "acme/cart",
            "main",
            5,
        );
        let pr = AgentPrompts::load().unwrap();
        let task = pr.render("agent_task.tera", &ctx).unwrap();
        assert_eq!(task.matches("</untrusted-data>").count(), 1, "{task}");
        assert!(
            pr.render("agent_system.tera", &ctx)
                .unwrap()
                .contains("acme/cart")
        );
    }
}
