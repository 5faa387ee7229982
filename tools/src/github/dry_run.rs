//! A [`RepoWriter`] that sends nothing: it records what would have been
//! written, so `--dry-run` can print the diff and the PR body. Pull requests
//! it "opens" are found again by [`RepoWriter::find_open_pr`], so dedupe
//! behaves as it would against GitHub.

use std::sync::Mutex;

use super::{FileChange, NewPullRequest, PullRequest, RepoWriter};
use crate::error::{Error, Result};
use crate::tool::BoxFuture;

#[derive(Debug, Default)]
pub struct DryRunWriter {
    log: Mutex<Vec<DryRunWrite>>,
    prs: Mutex<Vec<PullRequest>>,
}

/// One write that was not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum DryRunWrite {
    CreateBranch {
        branch: String,
        sha: String,
    },
    Commit {
        branch: String,
        files: Vec<FileChange>,
        message: String,
    },
    OpenPr {
        title: String,
        head: String,
        base: String,
    },
    UpdatePr {
        number: u64,
    },
    AddLabels {
        number: u64,
        labels: Vec<String>,
    },
}

impl DryRunWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every write, in order.
    pub fn writes(&self) -> Vec<DryRunWrite> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn record(&self, w: DryRunWrite) -> Result<()> {
        self.log
            .lock()
            .map_err(|_| Error::Config("dry-run log poisoned".into()))?
            .push(w);
        Ok(())
    }
}

impl RepoWriter for DryRunWriter {
    fn create_branch<'a>(&'a self, branch: &'a str, sha: &'a str) -> BoxFuture<'a, Result<()>> {
        let r = self.record(DryRunWrite::CreateBranch {
            branch: branch.into(),
            sha: sha.into(),
        });
        Box::pin(async move { r })
    }

    fn commit_files<'a>(
        &'a self,
        branch: &'a str,
        _parent: &'a str,
        files: &'a [FileChange],
        message: &'a str,
    ) -> BoxFuture<'a, Result<String>> {
        let n = self.writes().len();
        let r = self
            .record(DryRunWrite::Commit {
                branch: branch.into(),
                files: files.to_vec(),
                message: message.into(),
            })
            .map(|()| format!("dry-run-commit-{n}"));
        Box::pin(async move { r })
    }

    fn find_open_pr<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<PullRequest>>> {
        let found = self
            .prs
            .lock()
            .ok()
            .and_then(|p| p.iter().find(|p| p.head == branch).cloned());
        Box::pin(async move { Ok(found) })
    }

    fn open_draft_pr<'a>(&'a self, pr: &'a NewPullRequest) -> BoxFuture<'a, Result<PullRequest>> {
        let out = self
            .record(DryRunWrite::OpenPr {
                title: pr.title.clone(),
                head: pr.head.clone(),
                base: pr.base.clone(),
            })
            .and_then(|()| {
                let mut prs = self
                    .prs
                    .lock()
                    .map_err(|_| Error::Config("dry-run log poisoned".into()))?;
                let p = PullRequest {
                    number: prs.len() as u64 + 1,
                    url: format!("dry-run://pull/{}", prs.len() + 1),
                    draft: true,
                    head: pr.head.clone(),
                    base: pr.base.clone(),
                };
                prs.push(p.clone());
                Ok(p)
            });
        Box::pin(async move { out })
    }

    fn update_pr<'a>(
        &'a self,
        number: u64,
        _title: &'a str,
        _body: &'a str,
    ) -> BoxFuture<'a, Result<PullRequest>> {
        let out = self
            .record(DryRunWrite::UpdatePr { number })
            .and_then(|()| {
                self.prs
                    .lock()
                    .ok()
                    .and_then(|p| p.iter().find(|p| p.number == number).cloned())
                    .ok_or_else(|| Error::NotFound {
                        what: format!("pull request #{number}"),
                    })
            });
        Box::pin(async move { out })
    }

    fn add_labels<'a>(&'a self, number: u64, labels: &'a [String]) -> BoxFuture<'a, Result<()>> {
        let r = self.record(DryRunWrite::AddLabels {
            number,
            labels: labels.to_vec(),
        });
        Box::pin(async move { r })
    }
}
