//! What the service does after a verdict, in tasks of their own: announce it
//! on Slack, and after a confident abort run the remediation agent. Neither
//! can change the verdict or delay the reply to Argo.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise_tools::call::CallObserver;
use rollwise_tools::github::{GithubConfig, GithubRepo, RepoReader, RepoWriter};
use rollwise_tools::kube::ClusterReader;
use rollwise_tools::kube::tools::{KubeToolbox, LogLimits};
use rollwise_tools::tool::DynTool;

use super::{History, Metrics, VerdictHook};
use crate::llm::{BoxFuture, ChatModel, ChatReply, ChatRequest, LlmError};
use crate::llm::{ToolChatRequest, ToolTurn};
use crate::notify::Notifier;
use crate::redact::Redactor;
use crate::remediate::{MinerDigester, RemediationConfig, Remediator, RepoTarget, policy_for};
use crate::store::{AnalysisRecord, Claim, RevisionRef};

/// Posts every verdict the configuration asks for to Slack.
#[derive(Debug)]
pub struct SlackHook {
    notifier: Arc<Notifier>,
}

impl SlackHook {
    pub fn new(notifier: Arc<Notifier>) -> Self {
        SlackHook { notifier }
    }
}

impl VerdictHook for SlackHook {
    fn after<'a>(&'a self, rec: Arc<AnalysisRecord>, history: History) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(o) = self.notifier.notify(&rec).await {
                if !o.ok {
                    tracing::warn!(analysis = %rec.id, detail = %o.detail, "Slack notification failed");
                }
                history.add_notification(&rec.id, &o).await;
            }
        })
    }
}

/// After a confident abort: the remediation agent, read-only in the cluster,
/// opening a draft PR on the allowlisted repository the Rollout names.
pub struct RemediationHook {
    pub cfg: RemediationConfig,
    pub model: Arc<dyn ChatModel>,
    pub github: GithubConfig,
    /// The cluster reader for the agent's kube tools (none in replay mode).
    pub kube: Option<ClusterReader>,
    pub metrics: Arc<Metrics>,
    pub notifier: Option<Arc<Notifier>>,
}

/// How long a remediation's claim on its revision lasts: longer than the
/// agent may run. Released when no PR came of it, so a later abort retries.
pub const REMEDIATION_CLAIM: Duration = Duration::from_secs(3600);

impl std::fmt::Debug for RemediationHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemediationHook")
            .field("cfg", &self.cfg)
            .field("model", &self.model.name())
            .finish_non_exhaustive()
    }
}

impl RemediationHook {
    pub fn new(
        cfg: RemediationConfig,
        model: Arc<dyn ChatModel>,
        github: GithubConfig,
        kube: Option<ClusterReader>,
        metrics: Arc<Metrics>,
        notifier: Option<Arc<Notifier>>,
    ) -> Self {
        RemediationHook {
            cfg,
            model,
            github,
            kube,
            metrics,
            notifier,
        }
    }

    async fn say(&self, rec: &AnalysisRecord, history: &History, text: &str) {
        tracing::info!(analysis = %rec.id, "{text}");
        if let Some(n) = &self.notifier
            && rec.notifications.iter().any(|o| o.ok)
        {
            let o = n.follow_up(rec, text).await;
            history.add_notification(&rec.id, &o).await;
        }
    }

    /// Why this revision is not remediated again, if it is not: a PR exists
    /// for it, another run holds its claim, or the store cannot tell (then
    /// no run: a duplicate PR is the harm this guards against).
    async fn skip_reason(
        &self,
        rev: &RevisionRef,
        history: &History,
        holder: &str,
    ) -> Option<String> {
        match history.pr_for(rev).await {
            Ok(Some(pr)) => return Some(format!("pr_exists: {}", pr.url)),
            Ok(None) => {}
            Err(()) => return Some("store_unavailable".into()),
        }
        match history
            .claim(&rev.claim_name(), holder, REMEDIATION_CLAIM)
            .await
        {
            Ok(Claim::Won) => None,
            Ok(Claim::HeldBy { holder, .. }) => Some(format!("claimed: {holder}")),
            Err(()) => Some("store_unavailable".into()),
        }
    }

    async fn remediate(&self, rec: &AnalysisRecord, history: &History) -> Result<String, String> {
        let ev = &rec.evidence;
        let repo = self
            .cfg
            .repo_for(ev)
            .ok_or("no repository is known for this Rollout (annotate it with rollwise.io/repo or map it in [remediate.repos])")?;
        let allow = self.cfg.allowlist().map_err(|e| e.to_string())?;
        if !allow.contains(&repo) {
            return Err(format!("{repo} is not on [remediate] allowed_repos"));
        }
        let observer: Arc<dyn CallObserver> = self.metrics.clone();
        let gh = Arc::new(
            GithubRepo::new(repo.clone(), self.github.clone(), observer)
                .map_err(|e| e.to_string())?,
        );
        let base = gh.default_branch().await.map_err(|e| e.to_string())?;
        let policy = policy_for(ev, repo, allow, &base);
        let mut tools: Vec<Box<dyn DynTool>> = Vec::new();
        if let Some(reader) = &self.kube {
            let digester = Arc::new(MinerDigester::new(Redactor::new()));
            let kt = KubeToolbox::new(
                reader.clone(),
                &ev.rollout.namespace,
                &ev.rollout.name,
                digester,
                LogLimits::default(),
            )
            .map_err(|e| e.to_string())?;
            tools.extend(kt.tools());
        }
        let remediator = Remediator::new(Arc::clone(&self.model), self.cfg.bounds())
            .map_err(|e| e.to_string())?;
        let reader: Arc<dyn RepoReader> = gh.clone();
        let writer: Arc<dyn RepoWriter> = gh;
        let outcome = remediator
            .run(
                ev,
                &rec.verdict,
                &record_digest(rec),
                RepoTarget {
                    policy,
                    reader,
                    writer,
                },
                tools,
            )
            .await
            .map_err(|e| e.to_string())?;
        history
            .set_transcript(&rec.id, &outcome.transcript_json())
            .await;
        if let Some(pr) = &outcome.pr {
            history
                .set_pr(&rec.id, &RevisionRef::of(&rec.evidence), pr)
                .await;
        }
        match &outcome.pr {
            Some(pr) => Ok(format!(
                "Draft fix {} pull request: {} ({} files, {} steps)",
                if outcome.pr_updated {
                    "updated in its"
                } else {
                    "proposed in a"
                },
                pr.url,
                outcome.files_changed.len(),
                outcome.steps
            )),
            None => Err(format!(
                "the agent stopped ({:?}) after {} steps without a pull request",
                outcome.stop, outcome.steps
            )),
        }
    }
}

impl VerdictHook for RemediationHook {
    fn after<'a>(&'a self, rec: Arc<AnalysisRecord>, history: History) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.cfg.should_run(&rec.verdict) {
                return;
            }
            // One remediation per revision, across replicas sharing the
            // store: the PR table, then the claim. The holder is this
            // analysis on this process, so a second abort of the same
            // revision here is refused as one on another replica is.
            let rev = RevisionRef::of(&rec.evidence);
            let holder = format!("{}#{}", history.holder, rec.id);
            if let Some(why) = self.skip_reason(&rev, &history, &holder).await {
                let reason = why.split(':').next().unwrap_or("other");
                self.metrics.remediation_skipped(reason);
                tracing::info!(
                    analysis = %rec.id,
                    revision = %rev.claim_name(),
                    reason = %why,
                    "remediation skipped"
                );
                return;
            }
            // The Slack hook ran before this one: the record now holds its
            // message, which the follow-up threads under.
            let current = history.current(rec).await;
            let result = self.remediate(&current, &history).await;
            if result.is_err() {
                // No PR: free the revision so that a later abort can retry.
                history.release(&rev.claim_name(), &holder).await;
            }
            let text = match result {
                Ok(t) => t,
                Err(why) => format!("Remediation did not open a pull request: {why}"),
            };
            self.say(&current, &history, &text).await;
        })
    }
}

/// What the agent is told about the analysis: the verdict, its reasons and
/// the template diff with redacted exemplars (raw logs are not kept).
pub fn record_digest(rec: &AnalysisRecord) -> String {
    let r = Redactor::new();
    let v = &rec.verdict;
    let mut out = format!("{}\n\nReasons:\n", v.summary);
    for reason in v.reasons.iter().take(10) {
        out.push_str(&format!(
            "- [{:?}] {} ({})\n",
            reason.severity, reason.detail, reason.evidence
        ));
    }
    if let Some(d) = &rec.templates {
        out.push_str("\nLog templates that changed (canary vs stable counts):\n");
        for c in d.changes.iter().filter(|c| c.meaningful).take(12) {
            out.push_str(&format!(
                "- {} vs {}: {}\n",
                c.canary,
                c.stable,
                r.clip(&c.template, 300)
            ));
            if let Some(x) = c.exemplars.first() {
                out.push_str(&format!("  e.g. {}\n", r.clip(x, 300)));
            }
        }
    }
    r.redact_lines(&out).into_owned()
}

/// A model whose every call is timed and counted in `/metrics`
/// (`rollwise_external_calls_total{dependency="llm"}`).
#[derive(Debug)]
pub struct ObservedModel {
    pub inner: Arc<dyn ChatModel>,
    pub metrics: Arc<Metrics>,
}

fn outcome_of<T>(r: &Result<T, LlmError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

impl ChatModel for ObservedModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn complete<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, LlmError>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.complete(req).await;
            self.metrics
                .dependency_call("llm", "chat_completion", outcome_of(&r), t.elapsed());
            r
        })
    }

    fn complete_with_tools<'a>(
        &'a self,
        req: &'a ToolChatRequest,
    ) -> BoxFuture<'a, Result<ToolTurn, LlmError>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.complete_with_tools(req).await;
            self.metrics
                .dependency_call("llm", "tool_turn", outcome_of(&r), t.elapsed());
            r
        })
    }
}
