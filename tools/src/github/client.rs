//! The GitHub REST API through octocrab, for github.com and GitHub Enterprise
//! Server (any base URL: `https://ghe.example.com/api/v3`).
//!
//! Requests are built by hand on octocrab's raw methods (`_get`, `_post`,
//! `_patch`): the bodies are the documented ones and nothing else, and the
//! status of every call reaches the [`CallObserver`]. Reads are retried on
//! transient failures under the config's [`CallPolicy`]; writes are not (a retried POST
//! could open a second pull request). Every call has a timeout.
//!
//! Call `rollwise::tls::install_crypto_provider()` before [`GithubRepo::new`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    CallObserver, ChangedFile, CommitInfo, Comparison, FileChange, NewPullRequest, PullRequest,
    RepoReader, RepoRef, RepoWriter, SearchHit,
};
use crate::call::{CallPolicy, Jitter};
use crate::error::{Error, Result};
use crate::tool::BoxFuture;

const SERVICE: &str = "GitHub";
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// How rollwise authenticates to GitHub.
#[derive(Clone, PartialEq)]
pub enum GithubAuth {
    /// No credentials: public repositories, read-only, low rate limit.
    Anonymous,
    /// A personal access or fine-grained token (`ROLLWISE_GITHUB_TOKEN`).
    Token(String),
    /// A GitHub App installation (`ROLLWISE_GITHUB_APP_ID`,
    /// `ROLLWISE_GITHUB_APP_KEY_FILE`, `ROLLWISE_GITHUB_APP_INSTALLATION_ID`).
    App {
        app_id: u64,
        private_key_pem: String,
        installation_id: u64,
    },
}

// By hand: credentials never reach a log line through `{:?}`.
impl std::fmt::Debug for GithubAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GithubAuth::Anonymous => f.write_str("Anonymous"),
            GithubAuth::Token(_) => f.write_str("Token(<set>)"),
            GithubAuth::App {
                app_id,
                installation_id,
                ..
            } => write!(
                f,
                "App {{ app_id: {app_id}, installation_id: {installation_id} }}"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GithubConfig {
    pub api_url: String,
    pub auth: GithubAuth,
    /// `timeout`: per request (connect, read and write each, and the whole
    /// call). `max_attempts`: per read, including the first; writes are sent
    /// once.
    pub policy: CallPolicy,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            api_url: DEFAULT_API_URL.into(),
            auth: GithubAuth::Anonymous,
            policy: CallPolicy {
                timeout: Duration::from_secs(20),
                max_attempts: 3,
                base_backoff: Duration::from_millis(300),
                max_backoff: Duration::from_secs(5),
                jitter: Jitter::Full,
            },
        }
    }
}

impl GithubConfig {
    /// From `ROLLWISE_GITHUB_API_URL`, `ROLLWISE_GITHUB_TOKEN` or the
    /// `ROLLWISE_GITHUB_APP_*` triple; `env` is injected so tests need no
    /// process environment.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let mut cfg = GithubConfig::default();
        if let Some(url) = get("ROLLWISE_GITHUB_API_URL") {
            cfg.api_url = url.trim_end_matches('/').to_owned();
        }
        let app = (
            get("ROLLWISE_GITHUB_APP_ID"),
            get("ROLLWISE_GITHUB_APP_KEY_FILE"),
            get("ROLLWISE_GITHUB_APP_INSTALLATION_ID"),
        );
        cfg.auth = match (get("ROLLWISE_GITHUB_TOKEN"), app) {
            (Some(t), _) => GithubAuth::Token(t),
            (None, (Some(id), Some(key), Some(inst))) => {
                let num = |k: &str, v: &str| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::Config(format!("{k} is not a number")))
                };
                let pem = std::fs::read_to_string(&key).map_err(|e| {
                    Error::Config(format!(
                        "cannot read ROLLWISE_GITHUB_APP_KEY_FILE {key}: {e}"
                    ))
                })?;
                GithubAuth::App {
                    app_id: num("ROLLWISE_GITHUB_APP_ID", &id)?,
                    private_key_pem: pem,
                    installation_id: num("ROLLWISE_GITHUB_APP_INSTALLATION_ID", &inst)?,
                }
            }
            (None, (None, None, None)) => GithubAuth::Anonymous,
            (None, _) => {
                return Err(Error::Config(
                    "a GitHub App needs ROLLWISE_GITHUB_APP_ID, ROLLWISE_GITHUB_APP_KEY_FILE and ROLLWISE_GITHUB_APP_INSTALLATION_ID".into(),
                ));
            }
        };
        Ok(cfg)
    }
}

/// One repository on GitHub.
#[derive(Clone)]
pub struct GithubRepo {
    octo: Octocrab,
    repo: RepoRef,
    cfg: GithubConfig,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for GithubRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubRepo")
            .field("repo", &self.repo)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn config_err(e: octocrab::Error) -> Error {
    Error::Config(format!("GitHub client: {e}"))
}

impl GithubRepo {
    /// Must be called inside a tokio runtime (octocrab spawns its request
    /// buffer on it); outside one this is an error, not a panic.
    pub fn new(repo: RepoRef, cfg: GithubConfig, observer: Arc<dyn CallObserver>) -> Result<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(
                "the GitHub client must be built inside a tokio runtime".into(),
            ));
        }
        let t = Some(cfg.policy.timeout);
        let builder = Octocrab::builder()
            .base_uri(cfg.api_url.as_str())
            .map_err(config_err)?
            .set_connect_timeout(t)
            .set_read_timeout(t)
            .set_write_timeout(t)
            // Our own retries: reads only, bounded, observed.
            .add_retry_config(RetryConfig::None);
        let octo = match &cfg.auth {
            GithubAuth::Anonymous => builder.build().map_err(config_err)?,
            GithubAuth::Token(t) => builder
                .personal_token(t.clone())
                .build()
                .map_err(config_err)?,
            GithubAuth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => builder
                .app_from_rsa_pem(AppId(*app_id), private_key_pem.as_bytes())
                .map_err(config_err)?
                .build()
                .map_err(config_err)?
                .installation(InstallationId(*installation_id))
                .map_err(config_err)?,
        };
        Ok(GithubRepo {
            octo,
            repo,
            cfg,
            observer,
        })
    }

    fn route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// One request: timeout, status to the observer, errors classified.
    async fn send(
        &self,
        op: &'static str,
        method: http::Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String)> {
        let started = Instant::now();
        let call = async {
            let resp = match method {
                http::Method::GET => self.octo._get(uri).await,
                http::Method::POST => self.octo._post(uri, body).await,
                http::Method::PATCH => self.octo._patch(uri, body).await,
                _ => return Err(Error::Config(format!("unsupported method {method}"))),
            }
            .map_err(transport)?;
            let status = resp.status().as_u16();
            let text = self.octo.body_to_string(resp).await.map_err(transport)?;
            Ok((status, text))
        };
        let out = match tokio::time::timeout(self.cfg.policy.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                what: format!("GitHub {op}"),
                after: self.cfg.policy.timeout,
            }),
        };
        let outcome = match &out {
            Ok((s, _)) if (200..300).contains(s) => "ok".to_owned(),
            Ok((s, _)) => s.to_string(),
            Err(e) => e.outcome().to_owned(),
        };
        self.observer
            .observe("github", op, &outcome, started.elapsed());
        let (status, text) = out?;
        if (200..300).contains(&status) {
            Ok((status, text))
        } else {
            Err(api_error(op, status, &text))
        }
    }

    async fn get<T: DeserializeOwned>(&self, op: &'static str, uri: &str) -> Result<T> {
        let (_, text) = self
            .cfg
            .policy
            .retry(op, |_| self.send(op, http::Method::GET, uri, None))
            .await?;
        decode(op, &text)
    }

    async fn write<T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: http::Method,
        uri: &str,
        body: &Value,
    ) -> Result<T> {
        let (_, text) = self.send(op, method, uri, Some(body)).await?;
        decode(op, &text)
    }
}

fn transport(e: octocrab::Error) -> Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if msg.to_lowercase().contains("timed out") || msg.to_lowercase().contains("timeout") {
        Error::Timeout {
            what: "GitHub request".into(),
            after: Duration::ZERO,
        }
    } else {
        Error::Transport {
            service: SERVICE,
            message: msg.chars().take(300).collect(),
        }
    }
}

fn api_error(op: &str, status: u16, body: &str) -> Error {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    match status {
        404 => Error::NotFound {
            what: format!("GitHub {op} ({message})"),
        },
        401 | 403 => Error::Forbidden(format!("GitHub {op}: {message}")),
        _ => Error::Api {
            service: SERVICE,
            code: status,
            message: format!("{op}: {message}"),
        },
    }
}

fn decode<T: DeserializeOwned>(op: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Decode {
        service: SERVICE,
        message: format!("{op}: {e}"),
    })
}

/// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A repository path: each segment encoded, slashes kept.
fn enc_path(p: &str) -> String {
    p.split('/').map(enc).collect::<Vec<_>>().join("/")
}

/// The model's search words without any qualifier that widens the search
/// beyond this repository (`repo:`, `org:`, `user:`...): rollwise adds the
/// one `repo:` qualifier itself.
fn scoped_words(query: &str) -> String {
    const SCOPE: [&str; 6] = ["repo", "org", "user", "owner", "repository", "enterprise"];
    query
        .split_whitespace()
        .filter(|w| {
            let key = w
                .split(':')
                .next()
                .unwrap_or("")
                .trim_start_matches(['-', '(']);
            !(w.contains(':') && SCOPE.iter().any(|s| key.eq_ignore_ascii_case(s)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
struct RepoBody {
    default_branch: String,
}

#[derive(Deserialize)]
struct ContentBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct SearchBody {
    items: Vec<SearchItem>,
}

#[derive(Deserialize)]
struct SearchItem {
    path: String,
    #[serde(default)]
    text_matches: Vec<TextMatch>,
}

#[derive(Deserialize)]
struct TextMatch {
    #[serde(default)]
    fragment: Option<String>,
}

#[derive(Deserialize)]
struct CommitItem {
    sha: String,
    commit: CommitDetail,
}

#[derive(Deserialize)]
struct CommitDetail {
    message: String,
    #[serde(default)]
    author: Option<Person>,
}

#[derive(Deserialize)]
struct Person {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct CompareBody {
    #[serde(default)]
    commits: Vec<CommitItem>,
    #[serde(default)]
    files: Vec<CompareFile>,
}

#[derive(Deserialize)]
struct CompareFile {
    filename: String,
    status: String,
    #[serde(default)]
    patch: Option<String>,
}

#[derive(Deserialize)]
struct RefBody {
    object: ShaBody,
}

#[derive(Deserialize)]
struct ShaBody {
    sha: String,
}

#[derive(Deserialize)]
struct GitCommitBody {
    tree: ShaBody,
}

#[derive(Deserialize)]
struct PullBody {
    number: u64,
    html_url: String,
    #[serde(default)]
    draft: Option<bool>,
    head: BranchBody,
    base: BranchBody,
}

#[derive(Deserialize)]
struct BranchBody {
    #[serde(rename = "ref")]
    name: String,
}

impl From<PullBody> for PullRequest {
    fn from(p: PullBody) -> Self {
        PullRequest {
            number: p.number,
            url: p.html_url,
            draft: p.draft.unwrap_or(false),
            head: p.head.name,
            base: p.base.name,
        }
    }
}

fn commit_info(c: CommitItem) -> CommitInfo {
    CommitInfo {
        sha: c.sha,
        message: c.commit.message,
        author: c.commit.author.and_then(|a| a.name).unwrap_or_default(),
    }
}

fn decode_base64(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' | b' ' => continue,
            _ => {
                return Err(Error::Decode {
                    service: SERVICE,
                    message: "file content is not base64".into(),
                });
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

impl RepoReader for GithubRepo {
    fn repo(&self) -> &RepoRef {
        &self.repo
    }

    fn default_branch(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let r: RepoBody = self.get("repos/get", &self.route("")).await?;
            Ok(r.default_branch)
        })
    }

    fn read_file<'a>(
        &'a self,
        path: &'a str,
        rev: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let mut uri = self.route(&format!("/contents/{}", enc_path(path)));
            if let Some(rev) = rev {
                uri.push_str(&format!("?ref={}", enc(rev)));
            }
            let c: ContentBody = self.get("repos/get-content", &uri).await?;
            if c.kind != "file" {
                return Err(Error::NotFound {
                    what: format!("file {path} (it is a {})", c.kind),
                });
            }
            let bytes = match (c.encoding.as_deref(), c.content) {
                (Some("base64"), Some(b)) => decode_base64(&b)?,
                (_, Some(text)) => text.into_bytes(),
                (_, None) => Vec::new(),
            };
            String::from_utf8(bytes).map_err(|_| Error::Decode {
                service: SERVICE,
                message: format!("{path} is not UTF-8 text"),
            })
        })
    }

    fn search_code<'a>(
        &'a self,
        query: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(async move {
            // The repository qualifier is ours, after the model's words: a
            // query cannot reach another repository.
            let q = format!(
                "{} repo:{}/{}",
                scoped_words(query),
                self.repo.owner,
                self.repo.name
            );
            let uri = format!("/search/code?q={}&per_page={}", enc(&q), limit.clamp(1, 50));
            let s: SearchBody = self.get("search/code", &uri).await?;
            Ok(s.items
                .into_iter()
                .take(limit)
                .map(|i| SearchHit {
                    path: i.path,
                    lines: i
                        .text_matches
                        .into_iter()
                        .filter_map(|m| m.fragment)
                        .collect(),
                })
                .collect())
        })
    }

    fn list_commits<'a>(
        &'a self,
        rev: Option<&'a str>,
        path: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<CommitInfo>>> {
        Box::pin(async move {
            let mut uri = self.route(&format!("/commits?per_page={}", limit.clamp(1, 100)));
            if let Some(r) = rev {
                uri.push_str(&format!("&sha={}", enc(r)));
            }
            if let Some(p) = path {
                uri.push_str(&format!("&path={}", enc(p)));
            }
            let items: Vec<CommitItem> = self.get("repos/list-commits", &uri).await?;
            Ok(items.into_iter().take(limit).map(commit_info).collect())
        })
    }

    fn compare<'a>(&'a self, base: &'a str, head: &'a str) -> BoxFuture<'a, Result<Comparison>> {
        Box::pin(async move {
            let uri = self.route(&format!("/compare/{}...{}", enc(base), enc(head)));
            let c: CompareBody = self.get("repos/compare-commits", &uri).await?;
            Ok(Comparison {
                base: base.to_owned(),
                head: head.to_owned(),
                commits: c.commits.into_iter().map(commit_info).collect(),
                files: c
                    .files
                    .into_iter()
                    .map(|f| ChangedFile {
                        path: f.filename,
                        status: f.status,
                        patch: f.patch,
                    })
                    .collect(),
            })
        })
    }

    fn branch_head<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let uri = self.route(&format!("/git/ref/heads/{}", enc_path(branch)));
            match self.get::<RefBody>("git/get-ref", &uri).await {
                Ok(r) => Ok(Some(r.object.sha)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

impl RepoWriter for GithubRepo {
    fn create_branch<'a>(&'a self, branch: &'a str, sha: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
            let _: RefBody = self
                .write(
                    "git/create-ref",
                    http::Method::POST,
                    &self.route("/git/refs"),
                    &body,
                )
                .await?;
            Ok(())
        })
    }

    fn commit_files<'a>(
        &'a self,
        branch: &'a str,
        parent: &'a str,
        files: &'a [FileChange],
        message: &'a str,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            // Git Data API: one tree on top of the parent's, one commit, then
            // the branch moved to it (fast-forward only: `force: false`).
            let parent_commit: GitCommitBody = self
                .get(
                    "git/get-commit",
                    &self.route(&format!("/git/commits/{}", enc(parent))),
                )
                .await?;
            let tree: Vec<Value> = files
                .iter()
                .map(|f| json!({"path": f.path, "mode": "100644", "type": "blob", "content": f.content}))
                .collect();
            let body = json!({"base_tree": parent_commit.tree.sha, "tree": tree});
            let new_tree: ShaBody = self
                .write(
                    "git/create-tree",
                    http::Method::POST,
                    &self.route("/git/trees"),
                    &body,
                )
                .await?;
            let body = json!({"message": message, "tree": new_tree.sha, "parents": [parent]});
            let commit: ShaBody = self
                .write(
                    "git/create-commit",
                    http::Method::POST,
                    &self.route("/git/commits"),
                    &body,
                )
                .await?;
            let body = json!({"sha": commit.sha, "force": false});
            let _: RefBody = self
                .write(
                    "git/update-ref",
                    http::Method::PATCH,
                    &self.route(&format!("/git/refs/heads/{}", enc_path(branch))),
                    &body,
                )
                .await?;
            Ok(commit.sha)
        })
    }

    fn find_open_pr<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<PullRequest>>> {
        Box::pin(async move {
            let head = format!("{}:{branch}", self.repo.owner);
            let uri = self.route(&format!(
                "/pulls?state=open&head={}&per_page=10",
                enc(&head)
            ));
            let prs: Vec<PullBody> = self.get("pulls/list", &uri).await?;
            Ok(prs
                .into_iter()
                .map(PullRequest::from)
                .find(|p| p.head == branch))
        })
    }

    fn open_draft_pr<'a>(&'a self, pr: &'a NewPullRequest) -> BoxFuture<'a, Result<PullRequest>> {
        Box::pin(async move {
            let body = json!({
                "title": pr.title, "head": pr.head, "base": pr.base,
                "body": pr.body, "draft": true, "maintainer_can_modify": true
            });
            let p: PullBody = self
                .write(
                    "pulls/create",
                    http::Method::POST,
                    &self.route("/pulls"),
                    &body,
                )
                .await?;
            Ok(p.into())
        })
    }

    fn update_pr<'a>(
        &'a self,
        number: u64,
        title: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<PullRequest>> {
        Box::pin(async move {
            let b = json!({"title": title, "body": body});
            let p: PullBody = self
                .write(
                    "pulls/update",
                    http::Method::PATCH,
                    &self.route(&format!("/pulls/{number}")),
                    &b,
                )
                .await?;
            Ok(p.into())
        })
    }

    fn add_labels<'a>(&'a self, number: u64, labels: &'a [String]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let b = json!({"labels": labels});
            let _: Vec<Value> = self
                .write(
                    "issues/add-labels",
                    http::Method::POST,
                    &self.route(&format!("/issues/{number}/labels")),
                    &b,
                )
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Retryable;

    #[test]
    fn config_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = GithubConfig::from_env(env(&[
            ("ROLLWISE_GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
            ("ROLLWISE_GITHUB_TOKEN", "t0k"),
        ]))
        .unwrap();
        assert_eq!(c.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(c.auth, GithubAuth::Token("t0k".into()));
        assert!(!format!("{c:?}").contains("t0k"), "token never in Debug");
        let c = GithubConfig::from_env(env(&[])).unwrap();
        assert_eq!(c.api_url, DEFAULT_API_URL);
        assert_eq!(c.auth, GithubAuth::Anonymous);
        assert!(GithubConfig::from_env(env(&[("ROLLWISE_GITHUB_APP_ID", "1")])).is_err());
    }

    #[test]
    fn searches_cannot_leave_the_repository() {
        assert_eq!(
            scoped_words("panic: index repo:other/x ORG:evil -user:me owner:o path:src"),
            "panic: index path:src"
        );
    }

    #[test]
    fn a_github_app_needs_a_valid_key_and_a_runtime() {
        let cfg = GithubConfig {
            auth: GithubAuth::App {
                app_id: 1,
                private_key_pem: "not a key".into(),
                installation_id: 2,
            },
            ..GithubConfig::default()
        };
        let repo = RepoRef::new("a", "b").unwrap();
        let e = GithubRepo::new(
            repo.clone(),
            cfg.clone(),
            Arc::new(super::super::NoObserver),
        )
        .unwrap_err();
        assert!(e.to_string().contains("tokio runtime"), "{e}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _g = rt.enter();
        let e = GithubRepo::new(repo, cfg, Arc::new(super::super::NoObserver)).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }

    #[test]
    fn base64_and_encoding() {
        assert_eq!(decode_base64("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert_eq!(enc_path("src/a b.go"), "src/a%20b.go");
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(api_error("x", 404, "{}"), Error::NotFound { .. }));
        assert!(matches!(api_error("x", 403, "{}"), Error::Forbidden(_)));
        let e = api_error("x", 422, r#"{"message":"Reference already exists"}"#);
        assert!(e.to_string().contains("Reference already exists"), "{e}");
        assert!(api_error("x", 502, "").is_transient());
    }
}
