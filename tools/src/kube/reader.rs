//! [`ClusterReader`]: every Kubernetes read rollwise makes, and nothing else.
//! The `kube::Client` is private and only GET requests are built, so code
//! holding a reader cannot change the cluster.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use super::validate;
use crate::call::{CallObserver, CallPolicy};
use crate::crd::{AnalysisRun, POD_TEMPLATE_HASH_LABEL, Rollout};
use crate::error::{Error, Result};

const SERVICE: &str = "kubernetes";

/// Most objects one list call returns. A side with more pods than this is
/// read in part (the first page); events and AnalysisRuns likewise.
pub const LIST_LIMIT: u32 = 500;

/// One bounded read of one container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub container: String,
    /// The previous (terminated) instance of the container, after a restart.
    pub previous: bool,
    /// Only lines newer than this many seconds (the analysis window).
    pub since_seconds: Option<i64>,
    /// Only lines from this time on (`sinceTime`; used instead of
    /// `since_seconds` when both are given): a window's start, exactly.
    pub since_time: Option<k8s_openapi::jiff::Timestamp>,
    /// At most this many lines, the newest.
    pub tail_lines: Option<i64>,
    /// At most this many bytes; the API server stops reading there.
    pub limit_bytes: i64,
}

/// A container's log as read: complete lines only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogText {
    pub lines: Vec<String>,
    /// A bound (`tail_lines` or `limit_bytes`) was reached: older or newer
    /// lines exist that were not read.
    pub truncated: bool,
}

/// Read-only access to one cluster.
#[derive(Clone)]
pub struct ClusterReader {
    client: Client,
    policy: CallPolicy,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for ClusterReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterReader")
            .field("policy", &self.policy)
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

impl ClusterReader {
    pub fn new(client: Client, policy: CallPolicy, observer: Arc<dyn CallObserver>) -> Self {
        ClusterReader {
            client,
            policy,
            observer,
        }
    }

    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// The API server's version (`GET /version`), one attempt within the
    /// policy's timeout: whether the cluster answers at all, for readiness.
    pub async fn server_version(&self) -> Result<String> {
        let what = "the API server version";
        match tokio::time::timeout(self.policy.timeout, self.client.apiserver_version()).await {
            Ok(Ok(v)) => Ok(v.git_version),
            Ok(Err(e)) => Err(classify(e, what)),
            Err(_) => Err(Error::Transport {
                service: SERVICE,
                message: format!("{what}: no answer within {:?}", self.policy.timeout),
            }),
        }
    }

    async fn get<K>(&self, op: &'static str, ns: &str, name: &str) -> Result<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        validate::namespace(ns)?;
        validate::object_name(name)?;
        let what = format!("{} {ns}/{name}", K::kind(&K::DynamicType::default()));
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        self.policy
            .run(&*self.observer, SERVICE, op, &what, || async {
                api.get(name).await.map_err(|e| classify(e, &what))
            })
            .await
    }

    async fn list<K>(&self, op: &'static str, ns: &str, lp: ListParams) -> Result<Vec<K>>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        validate::namespace(ns)?;
        let what = format!("{}s in {ns}", K::kind(&K::DynamicType::default()));
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let lp = lp.limit(LIST_LIMIT);
        self.policy
            .run(&*self.observer, SERVICE, op, &what, || async {
                api.list(&lp)
                    .await
                    .map(|l| l.items)
                    .map_err(|e| classify(e, &what))
            })
            .await
    }

    /// The Argo Rollout `ns/name`.
    pub async fn rollout(&self, ns: &str, name: &str) -> Result<Rollout> {
        self.get("get_rollout", ns, name).await
    }

    pub async fn pod(&self, ns: &str, name: &str) -> Result<Pod> {
        self.get("get_pod", ns, name).await
    }

    /// Pods matching an equality-based label selector (validated first).
    pub async fn pods(&self, ns: &str, selector: &str) -> Result<Vec<Pod>> {
        validate::label_selector(selector)?;
        self.list("list_pods", ns, ListParams::default().labels(selector))
            .await
    }

    /// Pods of one revision: `rollouts-pod-template-hash=<hash>`.
    pub async fn pods_by_hash(&self, ns: &str, hash: &str) -> Result<Vec<Pod>> {
        validate::label_value(hash)?;
        let sel = format!("{POD_TEMPLATE_HASH_LABEL}={hash}");
        self.list("list_pods", ns, ListParams::default().labels(&sel))
            .await
    }

    /// ReplicaSets of one revision (normally one).
    pub async fn replica_sets_by_hash(&self, ns: &str, hash: &str) -> Result<Vec<ReplicaSet>> {
        validate::label_value(hash)?;
        let sel = format!("{POD_TEMPLATE_HASH_LABEL}={hash}");
        self.list("list_replicasets", ns, ListParams::default().labels(&sel))
            .await
    }

    /// Events about one object (`involvedObject` kind and name, and uid when
    /// given so a deleted-and-recreated namesake's events are left out).
    pub async fn events(
        &self,
        ns: &str,
        kind: &str,
        name: &str,
        uid: Option<&str>,
    ) -> Result<Vec<Event>> {
        if kind.is_empty() || kind.len() > 63 || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::Invalid {
                what: "kind".into(),
                message: format!("{kind:?} is not a Kubernetes kind"),
            });
        }
        validate::object_name(name)?;
        let mut fields = format!("involvedObject.kind={kind},involvedObject.name={name}");
        if let Some(uid) = uid {
            if uid.is_empty()
                || uid.len() > 64
                || !uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            {
                return Err(Error::Invalid {
                    what: "uid".into(),
                    message: format!("{uid:?} is not a UID"),
                });
            }
            fields.push_str(",involvedObject.uid=");
            fields.push_str(uid);
        }
        self.list("list_events", ns, ListParams::default().fields(&fields))
            .await
    }

    /// AnalysisRuns owned by the Rollout `ns/rollout` (Argo sets the Rollout
    /// as their controller owner; they carry no label naming it).
    pub async fn analysis_runs(&self, ns: &str, rollout: &str) -> Result<Vec<AnalysisRun>> {
        validate::object_name(rollout)?;
        let runs: Vec<AnalysisRun> = self
            .list("list_analysisruns", ns, ListParams::default())
            .await?;
        Ok(runs
            .into_iter()
            .filter(|r| {
                r.metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|o| o.kind == "Rollout" && o.name == rollout))
            })
            .collect())
    }

    /// One container's log, bounded by `req`. Bytes that are not UTF-8 are
    /// replaced (logs are untrusted text), and a line cut by `limit_bytes` is
    /// dropped.
    pub async fn logs(&self, ns: &str, pod: &str, req: &LogRequest) -> Result<LogText> {
        validate::namespace(ns)?;
        validate::object_name(pod)?;
        validate::label_value(&req.container)?;
        let lp = kube::api::LogParams {
            container: Some(req.container.clone()),
            previous: req.previous,
            since_seconds: req.since_seconds.filter(|_| req.since_time.is_none()),
            since_time: req.since_time,
            tail_lines: req.tail_lines,
            limit_bytes: Some(req.limit_bytes),
            ..Default::default()
        };
        let what = format!(
            "{}logs of pod {ns}/{pod} container {}",
            if req.previous { "previous " } else { "" },
            req.container
        );
        let request = kube::core::Request::new(Pod::url_path(&(), Some(ns)))
            .logs(pod, &lp)
            .map_err(|e| Error::Invalid {
                what: "log request".into(),
                message: e.to_string(),
            })?;
        let op = if req.previous {
            "pod_logs_previous"
        } else {
            "pod_logs"
        };
        let limit = usize::try_from(req.limit_bytes).unwrap_or(usize::MAX);
        let tail = req
            .tail_lines
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(usize::MAX);
        self.policy
            .run(&*self.observer, SERVICE, op, &what, || {
                let request = request.clone();
                let what = &what;
                async move {
                    let res = self
                        .client
                        .send(request.map(kube::client::Body::from))
                        .await
                        .map_err(|e| classify(e, what))?;
                    let status = res.status();
                    let body = res
                        .into_body()
                        .collect_bytes()
                        .await
                        .map_err(|e| classify(e, what))?;
                    if !status.is_success() {
                        return Err(status_error(status.as_u16(), &body, what));
                    }
                    Ok(split_log(&body, limit, tail))
                }
            })
            .await
    }
}

/// Complete lines of a log body of at most `limit` bytes and `tail` lines.
fn split_log(body: &[u8], limit: usize, tail: usize) -> LogText {
    let mut truncated = false;
    let mut bytes = body;
    if bytes.len() >= limit {
        truncated = true;
        bytes = &bytes[..limit.min(bytes.len())];
        // The last line is incomplete unless the cut fell right after a newline.
        match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => bytes = &bytes[..=i],
            None => bytes = &[],
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    if lines.len() >= tail {
        truncated = true;
    }
    LogText { lines, truncated }
}

/// An error status of a raw request, read as kube reads one (a `Status` JSON
/// body, or plain text from a proxy).
fn status_error(code: u16, body: &[u8], what: &str) -> Error {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<kube::core::Status>(&text)
        .map(|s| s.message)
        .unwrap_or_else(|_| text.trim().chars().take(300).collect());
    classify_status(code, message, what)
}

fn classify_status(code: u16, message: String, what: &str) -> Error {
    match code {
        404 => Error::NotFound {
            what: what.to_owned(),
        },
        401 | 403 => Error::Forbidden(format!("{what}: {message}")),
        _ => Error::Api {
            service: SERVICE,
            code,
            message,
        },
    }
}

/// A kube error as the crate's error.
pub(crate) fn classify(e: kube::Error, what: &str) -> Error {
    match e {
        kube::Error::Api(s) => classify_status(s.code, s.message, what),
        kube::Error::SerdeError(e) => Error::Decode {
            service: SERVICE,
            message: format!("{what}: {e}"),
        },
        kube::Error::FromUtf8(e) => Error::Decode {
            service: SERVICE,
            message: format!("{what}: {e}"),
        },
        other => Error::Transport {
            service: SERVICE,
            message: format!("{what}: {other}"),
        },
    }
}

/// Seconds in a duration, rounded up, for `sinceSeconds` (at least 1: the API
/// refuses 0).
pub fn since_seconds(d: Duration) -> i64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(s.max(1)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bodies_are_cut_at_whole_lines() {
        let t = split_log(b"a\nb\nc\n", 100, 100);
        assert_eq!(t.lines, ["a", "b", "c"]);
        assert!(!t.truncated);
        let t = split_log(b"a\nbb\ncc", 6, 100);
        assert_eq!(t.lines, ["a", "bb"]);
        assert!(t.truncated);
        let t = split_log(b"a\r\nb\n", 100, 2);
        assert_eq!(t.lines, ["a", "b"]);
        assert!(t.truncated);
        let t = split_log(b"\xff\xfeok\n", 100, 100);
        assert_eq!(t.lines, ["\u{fffd}\u{fffd}ok"]);
        // A cut inside a multi-byte character never fails the read.
        let t = split_log("é\néé".as_bytes(), 5, 100);
        assert_eq!(t.lines, ["é"]);
    }

    #[test]
    fn since_seconds_rounds_up() {
        assert_eq!(since_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(since_seconds(Duration::ZERO), 1);
        assert_eq!(since_seconds(Duration::from_secs(600)), 600);
    }
}
