//! Logs from Loki instead of the kubelet: `[gather.logs] source = "loki"`.
//!
//! A pod's log in the kube API is gone once its container restarted twice or
//! its node was drained; a log store still has it. Each side is one LogQL
//! stream selector, `{namespace="<ns>", rollouts_pod_template_hash="<hash>"}`
//! (or `pod=~"a|b"` for a side chosen by pod names; the label names are
//! configurable), read with `GET /loki/api/v1/query_range`,
//! `direction=forward`, paged by time: the next page starts 1 ns after the
//! newest entry of the last one. Lines are grouped by the stream's pod and
//! container labels, so pods that no longer exist are read too.
//!
//! The bounds are the kube reader's (`[gather.kube]`): `max-log-lines` and
//! `max-log-bytes` per pod and container, `max-pods-per-side` pods; a bound
//! reached marks that log source `truncated`, as the kube reader does. Every
//! failure is a gap.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rollwise_tools::call::CallObserver;
use serde::{Deserialize, Serialize};

use super::kube::{KubeGatherConfig, SeriesMatch};
use super::sources::{
    Failed, MAX_BODY_BYTES, RetryPolicy, body_bounded, retry_after, snippet, transport,
    with_retries,
};
use crate::error::{Error, Result};
use crate::evidence::{LogSource, PodLogs};

const SERVICE: &str = "loki";

/// Where pod logs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogSourceKind {
    /// The kube API's pod log (the kubelet's files).
    #[default]
    Kube,
    Loki,
}

/// The `[gather.logs]` table of `rollwise.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogsConfig {
    pub source: LogSourceKind,
    /// Loki's base URL (`http://loki-gateway.monitoring`); needed for `loki`.
    pub url: Option<String>,
    /// Sent as `X-Scope-OrgID` (multi-tenant Loki); unset: no header.
    pub tenant: Option<String>,
    pub timeout_secs: f64,
    pub max_attempts: u32,
    pub max_retry_after_secs: u64,
    pub namespace_label: String,
    pub pod_label: String,
    pub container_label: String,
    pub hash_label: String,
    /// Entries per request (at most Loki's `max_entries_limit_per_query`,
    /// 5000 by default).
    pub page_limit: u32,
    /// Requests per side; the rest of the window is left unread (truncated).
    pub max_pages: u32,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            source: LogSourceKind::Kube,
            url: None,
            tenant: None,
            timeout_secs: 10.0,
            max_attempts: 3,
            max_retry_after_secs: 10,
            // What Promtail's and Grafana Alloy's Kubernetes discovery set,
            // pod labels copied with `labelmap` (`-` becomes `_`).
            namespace_label: "namespace".into(),
            pod_label: "pod".into(),
            container_label: "container".into(),
            hash_label: "rollouts_pod_template_hash".into(),
            page_limit: 1000,
            max_pages: 20,
        }
    }
}

fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && s.len() <= 128
}

impl LogsConfig {
    pub fn validate(&self) -> Result<()> {
        let err = |m: String| Error::Config(format!("gather.logs: {m}"));
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(err("timeout-secs must be > 0".into()));
        }
        if self.max_attempts == 0 || self.page_limit == 0 || self.max_pages == 0 {
            return Err(err(
                "max-attempts, page-limit and max-pages must be > 0".into()
            ));
        }
        for l in [
            &self.namespace_label,
            &self.pod_label,
            &self.container_label,
            &self.hash_label,
        ] {
            if !is_label_name(l) {
                return Err(err(format!("{l:?} is not a Loki label name")));
            }
        }
        if let Some(t) = &self.tenant
            && (t.is_empty() || t.len() > 150 || t.bytes().any(|c| !c.is_ascii_graphic()))
        {
            return Err(err(format!("tenant {t:?} is not a tenant id")));
        }
        match (&self.url, self.source) {
            (None, LogSourceKind::Loki) => Err(err("source = \"loki\" needs a url".into())),
            (Some(u), _) => reqwest::Url::parse(u)
                .map(|_| ())
                .map_err(|e| err(format!("url {u:?}: {e}"))),
            (None, LogSourceKind::Kube) => Ok(()),
        }
    }
}

#[derive(Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    data: Option<ReplyData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ReplyData {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    /// `[["<unix ns>", "<line>"], ...]`; a third element (structured
    /// metadata) may follow and is ignored.
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

/// One entry of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub ts_ns: i128,
    pub pod: String,
    pub container: String,
    pub line: String,
}

/// Reads pod logs from Loki.
#[derive(Clone)]
pub struct LokiReader {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    cfg: LogsConfig,
    max_lines: usize,
    max_bytes: usize,
    max_pods: usize,
    policy: RetryPolicy,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for LokiReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LokiReader")
            .field("endpoint", &self.endpoint.as_str())
            .field("tenant", &self.cfg.tenant)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A side's logs as read, and what went wrong.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SideLogs {
    pub pods: Vec<PodLogs>,
    pub gaps: Vec<String>,
}

#[derive(Default)]
struct PodAcc {
    lines: Vec<String>,
    /// container → (lines, bytes, truncated), in first-seen order.
    containers: Vec<(String, usize, usize, bool)>,
}

impl LokiReader {
    /// `cfg` is `[gather.logs]` (validated, with a url); the bounds are
    /// `[gather.kube]`'s.
    pub fn new(
        cfg: &LogsConfig,
        bounds: &KubeGatherConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let base = cfg
            .url
            .as_deref()
            .ok_or_else(|| Error::Config("gather.logs: source = \"loki\" needs a url".into()))?;
        let mut endpoint = reqwest::Url::parse(base)
            .map_err(|e| Error::Config(format!("Loki URL {base:?}: {e}")))?;
        let path = format!(
            "{}/loki/api/v1/query_range",
            endpoint.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let mut policy = RetryPolicy::new(cfg.timeout_secs, cfg.max_attempts);
        policy.max_retry_after = Duration::from_secs(cfg.max_retry_after_secs);
        Ok(LokiReader {
            http,
            endpoint,
            cfg: cfg.clone(),
            max_lines: usize::try_from(bounds.max_log_lines).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(bounds.max_log_bytes).unwrap_or(usize::MAX),
            max_pods: bounds.max_pods_per_side,
            policy,
            observer,
        })
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The LogQL stream selector of one side, or `None` when nothing
    /// identifies it. Values are validated Kubernetes names and hashes: no
    /// quote or backslash reaches the query.
    pub fn selector(&self, namespace: &str, series: &SeriesMatch) -> Option<String> {
        let ns = format!("{}=\"{namespace}\"", self.cfg.namespace_label);
        match series {
            SeriesMatch::Hash(h) => Some(format!("{{{ns}, {}=\"{h}\"}}", self.cfg.hash_label)),
            SeriesMatch::Pods(names) => {
                let alt: Vec<String> = names
                    .iter()
                    .filter(|n| rollwise_tools::kube::validate::object_name(n).is_ok())
                    .map(|n| n.replace('.', "\\\\."))
                    .collect();
                if alt.is_empty() {
                    return None;
                }
                Some(format!(
                    "{{{ns}, {}=~\"{}\"}}",
                    self.cfg.pod_label,
                    alt.join("|")
                ))
            }
            SeriesMatch::Nothing => None,
        }
    }

    /// One page: at most `limit` entries from `start_ns` (inclusive) to
    /// `end_ns` (exclusive), oldest first.
    pub async fn page(
        &self,
        query: &str,
        start_ns: i128,
        end_ns: i128,
        limit: u32,
    ) -> rollwise_tools::Result<Vec<Entry>> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("start", &start_ns.to_string())
            .append_pair("end", &end_ns.to_string())
            .append_pair("limit", &limit.to_string())
            .append_pair("direction", "forward");
        let what = "Loki query_range".to_owned();
        with_retries(
            &self.policy,
            &*self.observer,
            SERVICE,
            "query_range",
            &what,
            || async {
                let mut req = self.http.get(url.clone());
                if let Some(t) = &self.cfg.tenant {
                    req = req.header("X-Scope-OrgID", t);
                }
                let res = req
                    .send()
                    .await
                    .map_err(|e| Failed::from(transport(SERVICE, &e)))?;
                let code = res.status().as_u16();
                let wait = retry_after(res.headers(), None);
                let bytes = body_bounded(res, SERVICE, MAX_BODY_BYTES)
                    .await
                    .map_err(Failed::from)?;
                let reply: Option<Reply> = serde_json::from_slice(&bytes).ok();
                if !(200..300).contains(&code)
                    || reply.as_ref().is_some_and(|r| r.status != "success")
                {
                    let message = reply
                        .as_ref()
                        .and_then(|r| r.error.clone())
                        // Loki answers most errors in plain text.
                        .unwrap_or_else(|| snippet(&bytes, 300));
                    return Err(Failed {
                        error: rollwise_tools::Error::Api {
                            service: SERVICE,
                            code: if code == 200 { 422 } else { code },
                            message,
                        },
                        retry_after: if code == 429 || code >= 500 {
                            wait
                        } else {
                            None
                        },
                    });
                }
                let data = reply.and_then(|r| r.data).ok_or_else(|| {
                    Failed::from(rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: "a success reply without data".into(),
                    })
                })?;
                if data.result_type != "streams" {
                    return Err(Failed::from(rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: format!(
                            "a log query returned {}; the query must be a stream selector",
                            data.result_type
                        ),
                    }));
                }
                let mut out = Vec::new();
                for s in data.result {
                    let pod = s
                        .stream
                        .get(&self.cfg.pod_label)
                        .cloned()
                        .unwrap_or_else(|| "(no pod label)".into());
                    let container = s
                        .stream
                        .get(&self.cfg.container_label)
                        .cloned()
                        .unwrap_or_default();
                    for v in s.values {
                        let (Some(ts), Some(line)) = (
                            v.first()
                                .and_then(|t| t.as_str())
                                .and_then(|t| t.parse().ok()),
                            v.get(1).and_then(|l| l.as_str()),
                        ) else {
                            return Err(Failed::from(rollwise_tools::Error::Decode {
                                service: SERVICE,
                                message: "an entry that is not [\"<unix ns>\", \"<line>\"]".into(),
                            }));
                        };
                        out.push(Entry {
                            ts_ns: ts,
                            pod: pod.clone(),
                            container: container.clone(),
                            line: line.to_owned(),
                        });
                    }
                }
                out.sort_by_key(|e| e.ts_ns);
                Ok(out)
            },
        )
        .await
    }

    /// One side's logs over `[start, end)`, bounded as documented above.
    pub async fn side_logs(
        &self,
        side: &str,
        namespace: &str,
        series: &SeriesMatch,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> SideLogs {
        let mut out = SideLogs::default();
        let Some(query) = self.selector(namespace, series) else {
            out.gaps.push(format!(
                "no {side} logs from Loki: the {side} side has neither a pod-template hash nor pods to match"
            ));
            return out;
        };
        let mut pods: Vec<(String, PodAcc)> = Vec::new();
        let budget = self.max_lines.saturating_mul(self.max_pods.max(1));
        let mut kept = 0usize;
        let mut from = start.as_nanosecond();
        let until = end.as_nanosecond();
        let mut complete = false;
        for _ in 0..self.cfg.max_pages {
            let page = match self.page(&query, from, until, self.cfg.page_limit).await {
                Ok(p) => p,
                Err(e) => {
                    out.gaps.push(format!(
                        "logs of the {side} side could not be read from Loki: {e}"
                    ));
                    break;
                }
            };
            let n = page.len();
            let last = page.last().map(|e| e.ts_ns);
            for e in page {
                let idx = match pods.iter().position(|(p, _)| *p == e.pod) {
                    Some(i) => i,
                    None if pods.len() < self.max_pods => {
                        pods.push((e.pod.clone(), PodAcc::default()));
                        pods.len() - 1
                    }
                    None => continue,
                };
                let acc = &mut pods[idx].1;
                let ci = match acc.containers.iter().position(|c| c.0 == e.container) {
                    Some(i) => i,
                    None => {
                        acc.containers.push((e.container.clone(), 0, 0, false));
                        acc.containers.len() - 1
                    }
                };
                let c = &mut acc.containers[ci];
                if c.1 >= self.max_lines || c.2 + e.line.len() + 1 > self.max_bytes {
                    c.3 = true;
                    continue;
                }
                c.1 += 1;
                c.2 += e.line.len() + 1;
                acc.lines.push(e.line);
                kept += 1;
            }
            match last {
                Some(t) if n >= usize::try_from(self.cfg.page_limit).unwrap_or(usize::MAX) => {
                    from = t + 1;
                }
                _ => {
                    complete = true;
                    break;
                }
            }
            if kept >= budget || from >= until {
                complete = from >= until;
                break;
            }
        }
        for (pod, acc) in pods {
            out.pods.push(PodLogs {
                pod,
                lines: acc.lines,
                sources: acc
                    .containers
                    .into_iter()
                    .map(|(container, lines, _, truncated)| LogSource {
                        container,
                        previous: false,
                        lines,
                        truncated: truncated || !complete,
                    })
                    .collect(),
            });
        }
        out
    }
}
