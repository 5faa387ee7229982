//! The agent's repository tools, on the typed [`Tool`] trait, over one
//! [`FixSession`]. The session holds the [`RepoPolicy`]: no tool takes a
//! repository or a branch, so nothing the model reads (a log line, a file, a
//! commit message) can point a write elsewhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{
    FileChange, NewPullRequest, PullRequest, Redact, RepoPolicy, RepoReader, RepoWriter, diff,
};
use crate::error::{Error, Result};
use crate::tool::{BoxFuture, DynTool, Tool};

/// What the model writes for a pull request; the body around it (verdict,
/// evidence, the diff) comes from the renderer, not from the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrDraft {
    /// Short title, e.g. "Guard the empty cart in price lookup".
    pub title: String,
    /// The root cause, as found in the evidence and the code.
    pub root_cause: String,
    /// What the change does.
    pub change: String,
    /// How a reviewer can verify the fix.
    pub verification: String,
}

/// The facts [`PrBodyRenderer`] gets beside the model's [`PrDraft`].
#[derive(Debug, Clone, Serialize)]
pub struct PrFacts {
    pub repo: String,
    pub branch: String,
    pub base: String,
    pub files: Vec<String>,
    pub diff: String,
}

/// Renders a pull request body (the agent renders its tera template).
pub trait PrBodyRenderer: Send + Sync {
    fn render(&self, draft: &PrDraft, facts: &PrFacts) -> Result<String>;
}

/// What a run wrote, for its outcome and the dry-run output.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FixState {
    /// The fix branch's head after this run's last commit.
    pub head: Option<String>,
    /// path → (content on the base branch, content on the fix branch).
    pub files: BTreeMap<String, (String, String)>,
    pub commits: Vec<String>,
    pub pr: Option<PullRequest>,
    /// True when an existing pull request was updated rather than opened.
    pub pr_updated: bool,
    pub pr_title: Option<String>,
    pub pr_body: Option<String>,
    pub labels: Vec<String>,
}

impl FixState {
    /// Unified diff of every file this run changed.
    pub fn diff(&self) -> String {
        self.files
            .iter()
            .map(|(p, (old, new))| diff::unified(p, old, new))
            .collect()
    }
}

/// One remediation run against one repository.
pub struct FixSession {
    policy: RepoPolicy,
    reader: Arc<dyn RepoReader>,
    writer: Arc<dyn RepoWriter>,
    redact: Arc<dyn Redact>,
    renderer: Arc<dyn PrBodyRenderer>,
    state: Mutex<FixState>,
}

impl std::fmt::Debug for FixSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixSession")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl FixSession {
    pub fn new(
        policy: RepoPolicy,
        reader: Arc<dyn RepoReader>,
        writer: Arc<dyn RepoWriter>,
        redact: Arc<dyn Redact>,
        renderer: Arc<dyn PrBodyRenderer>,
    ) -> Result<Self> {
        if reader.repo() != &policy.repo {
            return Err(Error::Config(format!(
                "the reader is for {} but the run is for {}",
                reader.repo(),
                policy.repo
            )));
        }
        Ok(FixSession {
            policy,
            reader,
            writer,
            redact,
            renderer,
            state: Mutex::new(FixState::default()),
        })
    }

    pub fn policy(&self) -> &RepoPolicy {
        &self.policy
    }

    pub async fn state(&self) -> FixState {
        self.state.lock().await.clone()
    }

    async fn read(&self, path: &str, rev: Option<&str>) -> Result<String> {
        if rev.is_none()
            && let Some((_, new)) = self.state.lock().await.files.get(path)
        {
            return Ok(new.clone());
        }
        self.reader.read_file(path, rev).await
    }

    /// Writes `files` as one commit on the fix branch, through the policy's
    /// guards (allowlist, fix branch, protected paths, redaction).
    pub async fn commit(&self, message: &str, files: Vec<FileChange>) -> Result<String> {
        let p = &self.policy;
        p.check_write(&p.branch)?;
        if files.is_empty() || files.len() > p.max_files {
            return Err(Error::InvalidArgs {
                tool: "commit_changes".into(),
                message: format!("commit between 1 and {} files", p.max_files),
            });
        }
        let mut clean = Vec::with_capacity(files.len());
        for f in files {
            p.check_path(&f.path)?;
            if f.content.len() > p.max_file_bytes {
                return Err(Error::InvalidArgs {
                    tool: "commit_changes".into(),
                    message: format!("{} is larger than {} bytes", f.path, p.max_file_bytes),
                });
            }
            // Nothing secret leaves in a commit, whatever the model wrote.
            clean.push(FileChange {
                content: self.redact.redact(&f.content),
                path: f.path,
            });
        }
        let message = self.redact.redact(message);
        let mut st = self.state.lock().await;
        let parent =
            match &st.head {
                Some(h) => h.clone(),
                None => match self.reader.branch_head(&p.branch).await? {
                    // A previous run's branch: commit on top of it.
                    Some(h) => h,
                    None => {
                        let base = self.reader.branch_head(&p.base).await?.ok_or_else(|| {
                            Error::NotFound {
                                what: format!("base branch {}", p.base),
                            }
                        })?;
                        self.writer.create_branch(&p.branch, &base).await?;
                        base
                    }
                },
            };
        for f in &clean {
            if !st.files.contains_key(&f.path) {
                let old = match self.reader.read_file(&f.path, Some(&p.base)).await {
                    Ok(t) => t,
                    Err(Error::NotFound { .. }) => String::new(),
                    Err(e) => return Err(e),
                };
                st.files.insert(f.path.clone(), (old, String::new()));
            }
        }
        let sha = self
            .writer
            .commit_files(&p.branch, &parent, &clean, &message)
            .await?;
        for f in clean {
            if let Some(entry) = st.files.get_mut(&f.path) {
                entry.1 = f.content;
            }
        }
        st.head = Some(sha.clone());
        st.commits.push(sha.clone());
        Ok(sha)
    }

    /// Opens (or updates) the fix branch's draft pull request.
    pub async fn open_pr(&self, draft: PrDraft) -> Result<PullRequest> {
        let p = &self.policy;
        p.check_write(&p.branch)?;
        let mut st = self.state.lock().await;
        if st.commits.is_empty() {
            return Err(Error::InvalidArgs {
                tool: "open_draft_pr".into(),
                message: "commit the fix with commit_changes before opening the pull request"
                    .into(),
            });
        }
        let facts = PrFacts {
            repo: p.repo.to_string(),
            branch: p.branch.clone(),
            base: p.base.clone(),
            files: st.files.keys().cloned().collect(),
            diff: st.diff(),
        };
        let body = self.redact.redact(&self.renderer.render(&draft, &facts)?);
        let title: String = self
            .redact
            .redact(&format!("rollwise: {}", draft.title.trim()))
            .chars()
            .take(120)
            .collect();
        let pr = match self.writer.find_open_pr(&p.branch).await? {
            Some(existing) => {
                st.pr_updated = true;
                self.writer
                    .update_pr(existing.number, &title, &body)
                    .await?
            }
            None => {
                self.writer
                    .open_draft_pr(&NewPullRequest {
                        title: title.clone(),
                        head: p.branch.clone(),
                        base: p.base.clone(),
                        body: body.clone(),
                    })
                    .await?
            }
        };
        st.pr = Some(pr.clone());
        st.pr_title = Some(title);
        st.pr_body = Some(body);
        Ok(pr)
    }

    /// Labels the pull request (`rollwise` always, at most five).
    pub async fn label(&self, labels: Vec<String>) -> Result<Vec<String>> {
        let p = &self.policy;
        p.check_write(&p.branch)?;
        let mut st = self.state.lock().await;
        let Some(pr) = st.pr.clone() else {
            return Err(Error::InvalidArgs {
                tool: "add_labels".into(),
                message: "open the pull request with open_draft_pr first".into(),
            });
        };
        let mut clean: Vec<String> = vec!["rollwise".into()];
        for l in labels {
            let l = l.trim();
            let ok = !l.is_empty()
                && l.len() <= 50
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | ' ' | '/'));
            if ok && !clean.iter().any(|c| c == l) {
                clean.push(l.to_owned());
            }
        }
        clean.truncate(5);
        self.writer.add_labels(pr.number, &clean).await?;
        st.labels = clean.clone();
        Ok(clean)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadFileArgs {
    /// Path from the repository root, e.g. `cmd/server/main.go`.
    pub path: String,
    /// A branch, tag or commit; the default branch (with this run's changes) when absent.
    #[serde(default)]
    pub revision: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchCodeArgs {
    /// Words to find in the repository's code, e.g. `index out of range` or a function name.
    pub query: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListCommitsArgs {
    /// Only commits touching this path.
    #[serde(default)]
    pub path: Option<String>,
    /// At most this many (default 10, at most 30).
    #[serde(default)]
    pub limit: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CommitArgs {
    /// Commit message: one line saying what the fix does.
    pub message: String,
    /// Files to write, each with its complete new content.
    pub files: Vec<FileChange>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LabelArgs {
    /// Labels to add, e.g. `bug`.
    pub labels: Vec<String>,
}

macro_rules! session_tool {
    ($ty:ident) => {
        #[derive(Debug, Clone)]
        pub struct $ty(pub Arc<FixSession>);
    };
}
session_tool!(ReadFile);
session_tool!(SearchCode);
session_tool!(ListCommits);
session_tool!(CompareRevisions);
session_tool!(CommitChanges);
session_tool!(OpenDraftPr);
session_tool!(AddLabels);

fn to_text<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Decode {
        service: "tool output",
        message: e.to_string(),
    })
}

impl Tool for ReadFile {
    type Args = ReadFileArgs;
    fn name(&self) -> &'static str {
        "read_file"
    }
    fn description(&self) -> &'static str {
        "Read a text file of the service's repository."
    }
    fn call(&self, a: ReadFileArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move { self.0.read(&a.path, a.revision.as_deref()).await })
    }
}

impl Tool for SearchCode {
    type Args = SearchCodeArgs;
    fn name(&self) -> &'static str {
        "search_code"
    }
    fn description(&self) -> &'static str {
        "Search the service's repository for code containing all the given words; returns paths and matching lines."
    }
    fn call(&self, a: SearchCodeArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move { to_text(&self.0.reader.search_code(&a.query, 10).await?) })
    }
}

impl Tool for ListCommits {
    type Args = ListCommitsArgs;
    fn name(&self) -> &'static str {
        "list_commits"
    }
    fn description(&self) -> &'static str {
        "List recent commits of the canary revision (optionally only those touching a path)."
    }
    fn call(&self, a: ListCommitsArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let s = &self.0;
            let rev = s.policy.canary_revision.as_deref();
            let limit = usize::from(a.limit.unwrap_or(10).clamp(1, 30));
            to_text(&s.reader.list_commits(rev, a.path.as_deref(), limit).await?)
        })
    }
}

impl Tool for CompareRevisions {
    type Args = NoArgs;
    fn name(&self) -> &'static str {
        "compare_revisions"
    }
    fn description(&self) -> &'static str {
        "Compare the stable revision with the canary revision: commits and changed files with patches."
    }
    fn call(&self, _: NoArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let p = &self.0.policy;
            let (Some(stable), Some(canary)) = (&p.stable_revision, &p.canary_revision) else {
                return Err(Error::NotFound {
                    what: "stable and canary revisions (not known for this rollout)".into(),
                });
            };
            to_text(&self.0.reader.compare(stable, canary).await?)
        })
    }
}

impl Tool for CommitChanges {
    type Args = CommitArgs;
    fn name(&self) -> &'static str {
        "commit_changes"
    }
    fn description(&self) -> &'static str {
        "Write one or more files (complete new contents) as one commit on the fix branch."
    }
    fn writes(&self) -> bool {
        true
    }
    fn call(&self, a: CommitArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let n = a.files.len();
            let sha = self.0.commit(&a.message, a.files).await?;
            Ok(format!(
                "committed {n} file(s) as {sha} on {}",
                self.0.policy.branch
            ))
        })
    }
}

impl Tool for OpenDraftPr {
    type Args = PrDraft;
    fn name(&self) -> &'static str {
        "open_draft_pr"
    }
    fn description(&self) -> &'static str {
        "Open (or update) the draft pull request of the fix branch. Call after commit_changes."
    }
    fn writes(&self) -> bool {
        true
    }
    fn call(&self, a: PrDraft) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let pr = self.0.open_pr(a).await?;
            Ok(format!("draft pull request #{} at {}", pr.number, pr.url))
        })
    }
}

impl Tool for AddLabels {
    type Args = LabelArgs;
    fn name(&self) -> &'static str {
        "add_labels"
    }
    fn description(&self) -> &'static str {
        "Add labels to the fix's pull request."
    }
    fn writes(&self) -> bool {
        true
    }
    fn call(&self, a: LabelArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let l = self.0.label(a.labels).await?;
            Ok(format!("labels: {}", l.join(", ")))
        })
    }
}

/// Every repository tool over `session`: the read tools, then the write tools.
pub fn github_tools(session: &Arc<FixSession>) -> Vec<Box<dyn DynTool>> {
    let s = || session.clone();
    vec![
        Box::new(ReadFile(s())),
        Box::new(SearchCode(s())),
        Box::new(ListCommits(s())),
        Box::new(CompareRevisions(s())),
        Box::new(CommitChanges(s())),
        Box::new(OpenDraftPr(s())),
        Box::new(AddLabels(s())),
    ]
}
