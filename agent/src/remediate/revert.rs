//! The fix that is always available: revert the suspect commit.
//!
//! [`plan`] reverts the commit on a scratch checkout of the canary revision
//! (`git revert --no-commit`, so later commits stay) and reads the files the
//! revert changed; [`open_pr`] writes them through the run's [`FixSession`]
//! (the same guards as any fix: allowlisted repository, the fix branch only,
//! protected paths refused, contents redacted) and opens a draft pull request
//! labelled as a revert proposal. When the commit does not revert cleanly, or
//! the revert would delete a file (a commit through the contents API only
//! writes files), the plan says so instead of guessing.

use std::path::Path;

use rollwise_tools::github::tools::PrDraft;
use rollwise_tools::github::{FileChange, FixSession, PullRequest};
use serde::Serialize;

use super::release::{ReleaseDiff, git};
use super::suspect::{self, Suspect};
use crate::error::{Error, Result};

/// The label every revert proposal carries.
pub const REVERT_LABEL: &str = "revert-proposal";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertPlan {
    pub sha: String,
    pub subject: String,
    /// The files as they are after the revert.
    pub files: Vec<FileChange>,
    /// Why the commit cannot be reverted (then `files` is empty).
    pub cannot: Option<String>,
}

/// Reverts `sha` on a scratch worktree of the canary revision of `release`,
/// created under `scratch` and removed afterwards.
pub fn plan(release: &ReleaseDiff, sha: &str, scratch: &Path) -> Result<RevertPlan> {
    let subject = release
        .commits
        .iter()
        .find(|c| c.sha == sha)
        .map(|c| c.subject.clone())
        .ok_or_else(|| Error::Config(format!("{sha} is not a commit of the release")))?;
    let dir = scratch.join(format!("revert-{}", sha.get(..12).unwrap_or(sha)));
    let d = dir.to_string_lossy().into_owned();
    let repo = &release.repo;
    git(
        repo,
        &[
            "worktree",
            "add",
            "--detach",
            "--quiet",
            &d,
            &release.canary_sha,
        ],
    )?;
    let result = (|| -> Result<RevertPlan> {
        let mut plan = RevertPlan {
            sha: sha.to_owned(),
            subject: subject.clone(),
            files: Vec::new(),
            cannot: None,
        };
        if let Err(e) = git(&dir, &["revert", "--no-commit", "--no-edit", sha]) {
            let first = e.to_string();
            plan.cannot = Some(format!(
                "it does not revert cleanly on the canary revision (a later commit changed the same lines): {}",
                first.lines().last().unwrap_or(&first)
            ));
            return Ok(plan);
        }
        let status = git(&dir, &["diff", "--cached", "--name-status", "--no-renames"])?;
        for l in status.lines() {
            let Some((st, path)) = l.split_once('\t') else {
                continue;
            };
            if st.starts_with('D') {
                plan.cannot = Some(format!(
                    "reverting it deletes {path}, and a fix commit can only write files"
                ));
                plan.files.clear();
                return Ok(plan);
            }
            let content = std::fs::read_to_string(dir.join(path)).map_err(|e| Error::Io {
                what: format!("cannot read reverted {path}"),
                source: e,
            })?;
            plan.files.push(FileChange {
                path: path.to_owned(),
                content,
            });
        }
        if plan.files.is_empty() {
            plan.cannot = Some("reverting it changes nothing on the canary revision".into());
        }
        Ok(plan)
    })();
    let _ = git(repo, &["worktree", "remove", "--force", &d]);
    result
}

/// A guard's refusal or a writer's failure, as this crate's error.
fn tool_error(e: rollwise_tools::Error) -> Error {
    Error::Config(e.to_string())
}

/// What [`open_pr`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertOutcome {
    pub pr: Option<PullRequest>,
    pub files: Vec<String>,
    /// Why no pull request was opened.
    pub not_opened: Option<String>,
    /// Guarded tool calls made (commit, pull request, labels).
    pub steps: u32,
}

/// Commits `plan` through `session` and opens the draft revert PR. The body
/// carries the release diff and the top suspects with their evidence.
pub async fn open_pr(
    session: &FixSession,
    plan: &RevertPlan,
    release: &ReleaseDiff,
    suspects: &[Suspect],
) -> Result<RevertOutcome> {
    let short = plan.sha.get(..8).unwrap_or(&plan.sha);
    if let Some(why) = &plan.cannot {
        return Ok(RevertOutcome {
            pr: None,
            files: Vec::new(),
            not_opened: Some(format!("no revert of {short} proposed: {why}")),
            steps: 0,
        });
    }
    // A revert that would write CI or ownership files is refused by the
    // guards anyway; say so instead of failing the run.
    if let Some((path, e)) = plan.files.iter().find_map(|f| {
        session
            .policy()
            .check_path(&f.path)
            .err()
            .map(|e| (&f.path, e))
    }) {
        return Ok(RevertOutcome {
            pr: None,
            files: Vec::new(),
            not_opened: Some(format!(
                "no revert of {short} proposed: it writes {path}: {e}"
            )),
            steps: 0,
        });
    }
    let message = format!(
        "Revert \"{}\"\n\nThis reverts commit {}: rollwise's top suspect for the canary's failure.",
        plan.subject, plan.sha
    );
    session
        .commit(&message, plan.files.clone())
        .await
        .map_err(tool_error)?;
    let files: Vec<String> = plan.files.iter().map(|f| f.path.clone()).collect();
    let draft = PrDraft {
        title: format!("Revert {short} \"{}\" (revert proposal)", plan.subject),
        root_cause: format!(
            "The canary's failure points at commit {short} \"{}\". Suspects, ranked by the \
             evidence in the canary's logs and the release diff (no model):\n\n{}\n{}",
            plan.subject,
            suspect::markdown(suspects, 3),
            release.markdown()
        ),
        change: format!(
            "Reverts {short} on top of the canary revision {} (later commits are kept); files: {}. \
             This is a revert proposal, not a fix: it restores the behaviour of the stable \
             revision for what this commit changed.",
            release.canary,
            files.join(", ")
        ),
        verification: "Run the test suite on this branch; then roll the canary out again and \
                       check that the failing template no longer appears."
            .into(),
    };
    let pr = session.open_pr(draft).await.map_err(tool_error)?;
    session
        .label(vec![REVERT_LABEL.into()])
        .await
        .map_err(tool_error)?;
    Ok(RevertOutcome {
        pr: Some(pr),
        files,
        not_opened: None,
        steps: 3,
    })
}
