//! The remediation agent's repository tools.
//!
//! * [`RepoReader`]: read a repository (a file, code search, commits, a
//!   comparison). Two backends: [`client::GithubRepo`] (the GitHub or GitHub
//!   Enterprise REST API through octocrab) and [`local::LocalRepo`] (a working
//!   tree on disk, for `rollwise remediate --repo PATH`).
//! * [`RepoWriter`]: the few writes a fix needs (a branch, one commit, a draft
//!   PR, labels). [`client::GithubRepo`] sends them; [`dry_run::DryRunWriter`]
//!   records them in memory and sends nothing, anywhere.
//! * [`policy::RepoPolicy`]: which repository the run is for, whether it may be
//!   written, and the one branch writes may go to.
//! * [`tools`]: the agent's tools on the [`crate::tool::Tool`] trait. None of
//!   them takes a repository or a branch as an argument: the model cannot
//!   choose where a write goes.

pub mod client;
pub mod diff;
pub mod dry_run;
pub mod local;
pub mod policy;
pub mod tools;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tool::BoxFuture;

pub use client::{GithubAuth, GithubConfig, GithubRepo};
pub use dry_run::DryRunWriter;
pub use local::LocalRepo;
pub use policy::RepoPolicy;
pub use tools::{FixSession, FixState, github_tools};

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn new(owner: &str, name: &str) -> Result<Self> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if ok(owner) && ok(name) {
            Ok(RepoRef {
                owner: owner.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(Error::Config(format!(
                "not a repository name: {owner:?}/{name:?}"
            )))
        }
    }

    /// `owner/name`, `https://host/owner/name(.git)`, or `git@host:owner/name.git`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().trim_end_matches('/');
        let s = s.strip_suffix(".git").unwrap_or(s);
        let path = if let Some(rest) = s.strip_prefix("git@") {
            rest.split_once(':').map(|(_, p)| p).unwrap_or("")
        } else if let Some(rest) = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
        {
            rest.split_once('/').map(|(_, p)| p).unwrap_or("")
        } else {
            s
        };
        let mut parts = path.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(o), Some(n), None) => RepoRef::new(o, n),
            _ => Err(Error::Config(format!(
                "cannot read a repository (owner/name or URL) from {s:?}"
            ))),
        }
    }
}

impl std::fmt::Display for RepoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub path: String,
    /// Matching lines (`line: text`), when the backend has them.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub message: String,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base: String,
    pub head: String,
    pub commits: Vec<CommitInfo>,
    /// Changed files with their (possibly clipped) patches.
    pub files: Vec<ChangedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub status: String,
    pub patch: Option<String>,
}

/// One file written by a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileChange {
    /// Path relative to the repository root, e.g. `src/handler.go`.
    pub path: String,
    /// The file's complete new content.
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullRequest {
    pub number: u64,
    pub url: String,
    pub draft: bool,
    pub head: String,
    pub base: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPullRequest {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
}

/// Reads one repository.
pub trait RepoReader: Send + Sync {
    /// The repository read, as `owner/name` (a local tree is `local/<dir name>`).
    fn repo(&self) -> &RepoRef;
    fn default_branch(&self) -> BoxFuture<'_, Result<String>>;
    /// A file's text at `rev` (a branch, tag or commit), or at the default branch.
    fn read_file<'a>(
        &'a self,
        path: &'a str,
        rev: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>>;
    fn search_code<'a>(
        &'a self,
        query: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>>;
    fn list_commits<'a>(
        &'a self,
        rev: Option<&'a str>,
        path: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<CommitInfo>>>;
    fn compare<'a>(&'a self, base: &'a str, head: &'a str) -> BoxFuture<'a, Result<Comparison>>;
    /// The commit a branch points to, `None` when the branch does not exist.
    fn branch_head<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<String>>>;
}

/// Writes to one repository. Callers go through [`tools::FixSession`], which
/// applies the [`RepoPolicy`]; implementations only send.
pub trait RepoWriter: Send + Sync {
    fn create_branch<'a>(&'a self, branch: &'a str, sha: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Write `files` as one commit on top of `parent` and move `branch` to it.
    fn commit_files<'a>(
        &'a self,
        branch: &'a str,
        parent: &'a str,
        files: &'a [FileChange],
        message: &'a str,
    ) -> BoxFuture<'a, Result<String>>;
    /// An open pull request whose head is `branch`.
    fn find_open_pr<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<PullRequest>>>;
    fn open_draft_pr<'a>(&'a self, pr: &'a NewPullRequest) -> BoxFuture<'a, Result<PullRequest>>;
    fn update_pr<'a>(
        &'a self,
        number: u64,
        title: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<PullRequest>>;
    fn add_labels<'a>(&'a self, number: u64, labels: &'a [String]) -> BoxFuture<'a, Result<()>>;
}

/// Every GitHub API call is reported to the crate's one observer: dependency
/// `github`, the operation, and `ok` or the HTTP status (`404`, `502`), or
/// `transport` when no status came back.
pub use crate::call::{CallObserver, NoObserver};

/// Removes secrets from text before it leaves the process (the agent injects
/// rollwise's redactor; this crate cannot depend on it).
pub trait Redact: Send + Sync {
    fn redact(&self, text: &str) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_refs_parse_from_names_and_urls() {
        let r = RepoRef::new("acme", "shop").unwrap();
        for s in [
            "acme/shop",
            "https://github.com/acme/shop",
            "https://github.com/acme/shop.git",
            "https://ghe.example.com/acme/shop/",
            "git@github.com:acme/shop.git",
        ] {
            assert_eq!(RepoRef::parse(s).unwrap(), r, "{s}");
        }
        for bad in [
            "acme",
            "acme/shop/extra",
            "../x",
            "a b/c",
            "https://github.com/",
        ] {
            assert!(RepoRef::parse(bad).is_err(), "{bad}");
        }
    }
}
