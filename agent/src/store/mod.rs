//! The history of analyses: for the verdict page, repeat calls, PR dedupe
//! and the claims that keep replicas from doing the same work twice.
//!
//! One handle, [`Store`], over three backends: [`memory`] (the demo and
//! tests), [`sqlite`] (the embedded default of `rollwise serve`) and
//! [`postgres`] (several replicas sharing one database). Records are
//! immutable once inserted except for what arrives later, which the typed
//! operations set: the remediation PR, the agent's transcript, notification
//! outcomes. Every operation has a timeout; callers log and count failures
//! and go on (a store error never changes a verdict).

pub mod config;
pub mod memory;
pub mod migrate;
pub mod postgres;
pub mod sqlite;
pub mod sweep;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use config::{Retention, StoreConfig, StoreUrl};
pub use memory::MemoryStore;

use crate::evidence::{Decision, Evidence};
use crate::logs::diff::TemplateDiff;
use crate::redact::Redactor;
use crate::verdict::Verdict;

/// Where an analysis came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `POST /v1/analyze` (Argo's web provider): evidence gathered by rollwise.
    Analyze,
    /// `POST /v1/verdicts`: an evidence bundle sent by the caller.
    Verdicts,
    /// `POST /a2a/analyze`: the metric-ai plugin's contract.
    A2a,
    /// The Flagger webhook.
    Flagger,
    /// The command line.
    Cli,
}

impl Origin {
    /// The name in metrics and logs (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Analyze => "analyze",
            Origin::Verdicts => "verdicts",
            Origin::A2a => "a2a",
            Origin::Flagger => "flagger",
            Origin::Cli => "cli",
        }
    }
}

/// A link to the draft pull request the remediation agent opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrLink {
    pub url: String,
    pub number: u64,
    pub repo: String,
}

/// What happened to one notification (Slack message) of a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationOutcome {
    pub channel: String,
    pub ok: bool,
    pub detail: String,
    /// Bot-token mode: the message's `ts`, under which follow-ups are threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

/// Through what a person gave [`Feedback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackVia {
    Slack,
    Page,
    Api,
}

impl FeedbackVia {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackVia::Slack => "slack",
            FeedbackVia::Page => "page",
            FeedbackVia::Api => "api",
        }
    }
}

/// A person's judgement of a verdict: right, or what it should have been.
/// It labels the analysis (the latest entry wins); it never promotes or
/// aborts anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// What the verdict should have been (the verdict given, when right).
    pub expected: Decision,
    /// Whether the verdict given was right.
    pub right: bool,
    /// Why, in the person's words (redacted, at most [`FEEDBACK_REASON_CHARS`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Who: a Slack user id, the auth proxy's user, or the API caller's name;
    /// never a token.
    pub who: String,
    pub via: FeedbackVia,
    /// Unix milliseconds.
    pub created_ms: i64,
}

/// The longest feedback reason kept, in characters.
pub const FEEDBACK_REASON_CHARS: usize = 500;

/// One finished analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRecord {
    pub id: String,
    pub origin: Origin,
    /// Unix milliseconds.
    pub created_ms: i64,
    pub verdict: Verdict,
    /// The evidence judged, with log lines removed (pod names kept): metrics,
    /// pods and events are what the page charts and lists. Raw logs are not
    /// kept; the template diff below is their redacted summary.
    pub evidence: Evidence,
    /// The template diff with redacted exemplars, when logs were compared.
    pub templates: Option<TemplateDiff>,
    pub pr: Option<PrLink>,
    pub notifications: Vec<NotificationOutcome>,
    /// The remediation agent's redacted transcript, when it ran (JSON lines).
    pub transcript: Option<serde_json::Value>,
    /// People's judgements of the verdict, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<Feedback>,
}

impl AnalysisRecord {
    /// The latest feedback: the analysis's label, if anyone gave one.
    pub fn label(&self) -> Option<&Feedback> {
        self.feedback.last()
    }
}

impl AnalysisRecord {
    pub fn new(
        id: String,
        origin: Origin,
        created_ms: i64,
        verdict: Verdict,
        evidence: &Evidence,
        templates: Option<TemplateDiff>,
    ) -> Self {
        AnalysisRecord {
            id,
            origin,
            created_ms,
            verdict,
            evidence: without_log_lines(evidence),
            templates,
            pr: None,
            notifications: Vec::new(),
            transcript: None,
            feedback: Vec::new(),
        }
    }
}

/// A copy of `ev` with every log line dropped (pod names kept) and the
/// labelled-scenario fields cleared.
pub fn without_log_lines(ev: &Evidence) -> Evidence {
    let mut out = Evidence {
        logs: Default::default(),
        planted_secrets: Vec::new(),
        expected: None,
        ..ev.clone()
    };
    out.logs.canary = ev.logs.canary.iter().map(strip).collect();
    out.logs.stable = ev.logs.stable.iter().map(strip).collect();
    out
}

fn strip(p: &crate::evidence::PodLogs) -> crate::evidence::PodLogs {
    crate::evidence::PodLogs {
        pod: p.pod.clone(),
        lines: Vec::new(),
        sources: p.sources.clone(),
    }
}

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub rollout: Option<String>,
    pub verdict: Option<Decision>,
    pub limit: Option<usize>,
}

impl Filter {
    pub fn matches(&self, r: &AnalysisRecord) -> bool {
        let ro = &r.evidence.rollout;
        self.namespace.as_deref().is_none_or(|n| ro.namespace == n)
            && self.rollout.as_deref().is_none_or(|n| ro.name == n)
            && self.verdict.is_none_or(|v| r.verdict.verdict == v)
    }
}

/// One revision of a Rollout: what one remediation (one draft PR) is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RevisionRef {
    pub namespace: String,
    pub rollout: String,
    /// The canary's pod-template hash (what Argo calls the revision's
    /// ReplicaSet), else the git revision the Rollout names, else "unknown".
    pub revision: String,
}

impl RevisionRef {
    pub fn of(ev: &Evidence) -> Self {
        let r = &ev.rollout;
        RevisionRef {
            namespace: r.namespace.clone(),
            rollout: r.name.clone(),
            revision: r
                .canary_hash
                .clone()
                .or_else(|| r.revision.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// The claim a remediation of this revision takes.
    pub fn claim_name(&self) -> String {
        format!(
            "remediate/{}/{}/{}",
            self.namespace, self.rollout, self.revision
        )
    }
}

/// The answer of [`Store::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds it until the TTL runs out or it releases it.
    Won,
    /// Someone else does, until `expires_ms` (Unix milliseconds).
    HeldBy { holder: String, expires_ms: i64 },
}

/// What a retention sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub analyses: u64,
    pub claims: u64,
}

/// Why a store operation failed. Callers log and count it and carry on: the
/// history is a record of verdicts, never a condition for giving one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed (I/O, constraint, connection lost).
    #[error("{backend} store: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
    /// An operation that did not finish within the store's timeout.
    #[error("{backend} store: {op} took longer than {}s", .after.as_secs_f64())]
    Timeout {
        backend: &'static str,
        op: &'static str,
        after: Duration,
    },
    /// The schema cannot be brought up to date: a changed or unknown migration.
    #[error("store migration {file}: {message}")]
    Migration { file: String, message: String },
    /// A stored record that no longer reads as one.
    #[error("stored analysis {id} cannot be read: {message}")]
    Decode { id: String, message: String },
    /// A store URL that names no backend we have (the password is redacted).
    #[error("store URL {url}: {message}")]
    Url { url: String, message: String },
    /// A `[store]` table that does not make sense (the message names the key).
    #[error("invalid configuration: [store] {0}")]
    Config(String),
}

impl StoreError {
    /// A short class for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Backend { .. } => "backend",
            StoreError::Timeout { .. } => "timeout",
            StoreError::Migration { .. } => "migration",
            StoreError::Decode { .. } => "decode",
            StoreError::Url { .. } => "url",
            StoreError::Config(_) => "config",
        }
    }
}

/// Who takes claims: the pod's name (`POD_NAME`, else `HOSTNAME`) and a
/// random suffix per process, so a restarted pod is a new holder.
pub fn holder_identity(env: impl Fn(&str) -> Option<String>) -> String {
    use std::hash::{BuildHasher, Hasher};
    let pod = env("POD_NAME")
        .or_else(|| env("HOSTNAME"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "rollwise".into());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("{}-{:08x}", pod.trim(), h.finish() as u32)
}

/// Now, in Unix milliseconds (the store's clock; tests pass their own).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[derive(Debug)]
enum Backend {
    Memory(MemoryStore),
    Sqlite(sqlite::SqliteStore),
    /// Boxed: its config and client are large, the others small.
    Postgres(Box<postgres::PostgresStore>),
}

/// The store handle the service, the page and the hooks share (cheap to clone).
/// Everything it keeps is redacted first: the history outlives the request,
/// and a shared database is across the network.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<Backend>,
    op_timeout: Duration,
    redactor: Arc<Redactor>,
}

/// How long one store operation may take before it fails (SQLite waits up to
/// its busy timeout for a lock; Postgres may be across the network).
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// Dispatch one operation to the backend, within the store's timeout.
macro_rules! dispatch {
    ($self:ident, $op:literal, |$b:ident| $call:expr) => {{
        let fut = async {
            match &*$self.backend {
                Backend::Memory($b) => Ok($call),
                Backend::Sqlite($b) => $call.await,
                Backend::Postgres($b) => $call.await,
            }
        };
        match tokio::time::timeout($self.op_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout {
                backend: $self.backend_name(),
                op: $op,
                after: $self.op_timeout,
            }),
        }
    }};
}

impl Store {
    /// The in-memory store holding at most `capacity` analyses.
    pub fn memory(capacity: usize) -> Self {
        Store::from_backend(Backend::Memory(MemoryStore::new(capacity)))
    }

    /// A memory store already holding `records` (oldest first): fixtures.
    pub fn memory_with(capacity: usize, records: impl IntoIterator<Item = AnalysisRecord>) -> Self {
        let m = MemoryStore::new(capacity);
        let redactor = Redactor::new();
        for r in records {
            if let Ok(r) = redacted_record(&r, &redactor) {
                m.insert(Arc::new(r), None);
            }
        }
        Store::from_backend(Backend::Memory(m))
    }

    /// Open (and migrate) the store `url` names.
    pub async fn open(url: &StoreUrl) -> Result<Self, StoreError> {
        Self::open_with_migrations(url, migrate::MIGRATIONS).await
    }

    /// Open `url` with these migrations instead of the embedded ones (tests
    /// of the refusal to use a database whose migrations changed).
    pub async fn open_with_migrations(
        url: &StoreUrl,
        migrations: &[migrate::Migration],
    ) -> Result<Self, StoreError> {
        Ok(match url {
            StoreUrl::Memory => Store::memory(DEFAULT_CAPACITY),
            StoreUrl::Sqlite(path) => Store::from_backend(Backend::Sqlite(
                sqlite::SqliteStore::open_with(path, migrations).await?,
            )),
            StoreUrl::Postgres(url) => Store::from_backend(Backend::Postgres(Box::new(
                postgres::PostgresStore::connect(url, migrations).await?,
            ))),
        })
    }

    fn from_backend(b: Backend) -> Self {
        Store {
            backend: Arc::new(b),
            op_timeout: OP_TIMEOUT,
            redactor: Arc::new(Redactor::new()),
        }
    }

    /// The same store with another per-operation timeout.
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.op_timeout = t;
        self
    }

    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Memory(_) => "memory",
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether other processes see the same history and claims (several
    /// replicas can share it).
    pub fn is_shared(&self) -> bool {
        matches!(&*self.backend, Backend::Postgres(_))
    }

    /// Keep `rec`; `key` is the digest of the request that started it (see
    /// `AnalysisKey::digest`), so another replica can answer from it.
    pub async fn insert(
        &self,
        rec: Arc<AnalysisRecord>,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        let rec = Arc::new(redacted_record(&rec, &self.redactor)?);
        dispatch!(self, "insert", |b| b.insert(Arc::clone(&rec), key))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        dispatch!(self, "get", |b| b.get(id))
    }

    /// Newest first.
    pub async fn list(&self, f: &Filter) -> Result<Vec<Arc<AnalysisRecord>>, StoreError> {
        dispatch!(self, "list", |b| b.list(f))
    }

    /// The newest analysis started by a request with this key and created
    /// at or after `since_ms`.
    pub async fn latest_for_key(
        &self,
        key: &str,
        since_ms: i64,
    ) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        dispatch!(self, "latest_for_key", |b| b.latest_for_key(key, since_ms))
    }

    /// Link the draft PR to analysis `id` and remember it for `rev` (kept
    /// past retention, for dedupe). False when the analysis is gone (the PR
    /// is remembered all the same).
    pub async fn set_pr(
        &self,
        id: &str,
        rev: &RevisionRef,
        pr: &PrLink,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, "set_pr", |b| b.set_pr(id, rev, pr, now_ms))
    }

    /// The draft PR already opened for `rev`, if any.
    pub async fn pr_for(&self, rev: &RevisionRef) -> Result<Option<PrLink>, StoreError> {
        dispatch!(self, "pr_for", |b| b.pr_for(rev))
    }

    /// Keep the remediation agent's redacted transcript. False when gone.
    pub async fn set_transcript(
        &self,
        id: &str,
        transcript: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let transcript = &self.redactor.redact_json(transcript.clone());
        dispatch!(self, "set_transcript", |b| b.set_transcript(id, transcript))
    }

    /// Append one notification outcome. False when the analysis is gone.
    pub async fn add_notification(
        &self,
        id: &str,
        o: &NotificationOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let o = &NotificationOutcome {
            detail: self.redactor.redact_lines(&o.detail).into_owned(),
            ..o.clone()
        };
        dispatch!(self, "add_notification", |b| b
            .add_notification(id, o, now_ms))
    }

    /// Append one person's feedback, its reason and who through
    /// [`Redactor::clip`] (redacted, then clipped). False when the analysis
    /// is gone.
    pub async fn add_feedback(&self, id: &str, f: &Feedback) -> Result<bool, StoreError> {
        let f = &Feedback {
            reason: self.redactor.clip(&f.reason, FEEDBACK_REASON_CHARS),
            who: self.redactor.clip(&f.who, 200),
            ..f.clone()
        };
        dispatch!(self, "add_feedback", |b| b.add_feedback(id, f))
    }

    /// Take (or renew) the lease `name` for `ttl` from `now_ms`: won when
    /// nobody holds it, it expired, or `holder` already holds it. Atomic
    /// across every process sharing the store.
    pub async fn claim(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now_ms: i64,
    ) -> Result<Claim, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let expires = now_ms.saturating_add(ttl_ms);
        dispatch!(self, "claim", |b| b.claim(name, holder, expires, now_ms))
    }

    /// Give up the lease if `holder` holds it.
    pub async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        dispatch!(self, "release", |b| b.release(name, holder))
    }

    /// Delete analyses (and their notifications) older than the retention or
    /// beyond the cap, and claims long expired. PR rows stay.
    pub async fn sweep(&self, r: &Retention, now_ms: i64) -> Result<Swept, StoreError> {
        let cutoff =
            now_ms.saturating_sub(i64::try_from(r.max_age.as_millis()).unwrap_or(i64::MAX));
        let cap = u64::try_from(r.max_analyses).unwrap_or(u64::MAX);
        dispatch!(self, "sweep", |b| b.sweep(cutoff, cap, now_ms))
    }
}

/// `rec` with every string redacted (event messages, the bundle's
/// description, reasons, exemplars, the transcript), through its JSON form so
/// that no field is forgotten. A record that does not survive the round trip
/// is not stored rather than stored raw.
fn redacted_record(rec: &AnalysisRecord, r: &Redactor) -> Result<AnalysisRecord, StoreError> {
    let bad = |e: serde_json::Error| StoreError::Decode {
        id: rec.id.clone(),
        message: format!("redacting before storing: {e}"),
    };
    let v = serde_json::to_value(rec).map_err(bad)?;
    serde_json::from_value(r.redact_json(v)).map_err(bad)
}

/// At most this many analyses in the memory store when none is configured.
pub const DEFAULT_CAPACITY: usize = 500;

/// The record of a stored row: `record_json` holds everything but the links
/// that arrive later, which have columns or rows of their own.
pub(crate) fn decode_record(
    id: &str,
    record_json: &str,
    templates_json: Option<&str>,
    pr_json: Option<&str>,
    transcript_json: Option<&str>,
    notifications: Vec<NotificationOutcome>,
) -> Result<AnalysisRecord, StoreError> {
    let bad = |e: serde_json::Error| StoreError::Decode {
        id: id.to_owned(),
        message: e.to_string(),
    };
    let mut rec: AnalysisRecord = serde_json::from_str(record_json).map_err(bad)?;
    rec.templates = templates_json
        .map(serde_json::from_str)
        .transpose()
        .map_err(bad)?;
    rec.pr = pr_json.map(serde_json::from_str).transpose().map_err(bad)?;
    rec.transcript = transcript_json
        .map(serde_json::from_str)
        .transpose()
        .map_err(bad)?;
    rec.notifications = notifications;
    Ok(rec)
}

/// The columns of a new row: (record_json without the later links,
/// templates_json).
pub(crate) fn encode_record(rec: &AnalysisRecord) -> Result<(String, Option<String>), StoreError> {
    let bad = |e: serde_json::Error| StoreError::Decode {
        id: rec.id.clone(),
        message: e.to_string(),
    };
    let bare = AnalysisRecord {
        templates: None,
        pr: None,
        notifications: Vec::new(),
        transcript: None,
        feedback: Vec::new(),
        ..rec.clone()
    };
    let json = serde_json::to_string(&bare).map_err(bad)?;
    let templates = rec
        .templates
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(bad)?;
    Ok((json, templates))
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
