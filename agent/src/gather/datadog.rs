//! Datadog → metric series: the v2 timeseries query API
//! (`POST /api/v2/query/timeseries`), one query named `a` and the formula
//! `a` per request, keys in the `DD-API-KEY` and `DD-APPLICATION-KEY`
//! headers.
//!
//! `{{selector}}` is a tag filter: `kube_replica_set:<rollout>-<hash>` for a
//! side with a hash (the Agent tags every pod with its ReplicaSet, and Argo
//! names a ReplicaSet `<rollout>-<hash>`), `<hash-tag>:<hash>` when
//! `hash-tag` is set, else `(pod_name:a OR pod_name:b)`; combine it with
//! `AND` (`{kube_namespace:{{namespace}} AND {{selector}}}`). `{{interval}}`
//! is the step in seconds (for `.rollup(avg, {{interval}})`), `{{window}}`
//! the window in seconds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rollwise_tools::call::CallObserver;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kube::SeriesMatch;
use super::prometheus::{MetricQuery, SideQuery};
use super::sources::{
    EnvLookup, Failed, MAX_BODY_BYTES, MetricSource, RetryPolicy, body_bounded,
    check_vendor_common, opt_path, read_secret, retry_after, snippet, transport, with_retries,
};
use crate::error::{Error, Result};
use crate::llm::BoxFuture;

const SERVICE: &str = "datadog";

/// A `[[gather.sources]]` entry with `kind = "datadog"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatadogConfig {
    pub name: String,
    /// The Datadog site (`datadoghq.com`, `datadoghq.eu`, `us5.datadoghq.com`...):
    /// the API is `https://api.<site>`.
    #[serde(default = "default_site")]
    pub site: String,
    /// The API's base URL instead of the site's (a proxy, a test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where the API key is: the file wins (a mounted Secret key), else the variable.
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    #[serde(default = "default_app_key_env")]
    pub app_key_env: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_key_file: Option<PathBuf>,
    /// A tag carrying the pod-template hash; unset: `kube_replica_set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_tag: Option<String>,
    #[serde(default = "default_pod_tag")]
    pub pod_tag: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The longest Retry-After (or X-RateLimit-Reset) waited for.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_secs: u64,
    /// One value per step per side (the request's `interval`).
    #[serde(default = "default_step")]
    pub step_secs: u64,
    pub metrics: Vec<MetricQuery>,
    /// Requests per side: a count per interval (`.as_count()`), added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_query: Option<String>,
}

fn default_site() -> String {
    "datadoghq.com".into()
}
fn default_api_key_env() -> String {
    "ROLLWISE_DATADOG_API_KEY".into()
}
fn default_app_key_env() -> String {
    "ROLLWISE_DATADOG_APP_KEY".into()
}
fn default_pod_tag() -> String {
    "pod_name".into()
}
pub(crate) fn default_timeout() -> f64 {
    10.0
}
pub(crate) fn default_attempts() -> u32 {
    3
}
pub(crate) fn default_max_retry_after() -> u64 {
    10
}
pub(crate) fn default_step() -> u64 {
    30
}

/// A Datadog tag key: letters, digits, `_ - . /`, starting with a letter.
fn is_tag_key(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || b"_-./".contains(&c))
        && s.len() <= 200
}

impl DatadogConfig {
    pub fn validate(&self) -> Result<()> {
        check_vendor_common(
            "datadog",
            &self.name,
            self.timeout_secs,
            self.max_attempts,
            self.step_secs,
            &self.metrics,
            self.traffic_query.as_deref(),
        )?;
        let err = |m: String| Error::Config(format!("gather.sources {:?}: {m}", self.name));
        for t in self.hash_tag.iter().chain([&self.pod_tag]) {
            if !is_tag_key(t) {
                return Err(err(format!("{t:?} is not a Datadog tag key")));
            }
        }
        if !self
            .site
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
            || self.site.is_empty()
        {
            return Err(err(format!("site {:?} is not a host name", self.site)));
        }
        reqwest::Url::parse(&self.base_url()).map_err(|e| err(format!("url: {e}")))?;
        Ok(())
    }

    fn base_url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("https://api.{}", self.site))
    }
}

/// The v2 timeseries client of one Datadog source.
#[derive(Clone)]
pub struct DatadogClient {
    name: String,
    http: reqwest::Client,
    endpoint: reqwest::Url,
    cfg: DatadogConfig,
    policy: RetryPolicy,
    observer: Arc<dyn CallObserver>,
    env: EnvLookup,
}

impl std::fmt::Debug for DatadogClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogClient")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Option<ReplyData>,
    #[serde(default)]
    errors: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ReplyData {
    attributes: ReplyAttributes,
}

#[derive(Deserialize)]
struct ReplyAttributes {
    #[serde(default)]
    series: Vec<serde_json::Value>,
    #[serde(default)]
    times: Vec<i64>,
    /// One list per series, aligned with `times`; `null` where there is no value.
    #[serde(default)]
    values: Vec<Vec<Option<f64>>>,
}

/// `errors` is a list of strings on 4xx and a string on a 200 with a
/// partial failure.
fn errors_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Array(a) if !a.is_empty() => Some(
            a.iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

impl DatadogClient {
    pub fn new(
        cfg: &DatadogConfig,
        observer: Arc<dyn CallObserver>,
        env: EnvLookup,
    ) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let base = cfg.base_url();
        let mut endpoint = reqwest::Url::parse(&base)
            .map_err(|e| Error::Config(format!("Datadog URL {base:?}: {e}")))?;
        let path = format!(
            "{}/api/v2/query/timeseries",
            endpoint.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let mut policy = RetryPolicy::new(cfg.timeout_secs, cfg.max_attempts);
        policy.max_retry_after = Duration::from_secs(cfg.max_retry_after_secs);
        Ok(DatadogClient {
            name: cfg.name.clone(),
            http,
            endpoint,
            cfg: cfg.clone(),
            policy,
            observer,
            env,
        })
    }

    /// Replace the retry policy (tests: short backoffs).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn keys(&self) -> rollwise_tools::Result<(super::sources::Secret, super::sources::Secret)> {
        let api = read_secret(
            &self.env,
            &self.cfg.api_key_env,
            opt_path(&self.cfg.api_key_file),
        );
        let app = read_secret(
            &self.env,
            &self.cfg.app_key_env,
            opt_path(&self.cfg.app_key_file),
        );
        match (api, app) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (a, b) => {
                let why: Vec<String> = [a.err(), b.err()].into_iter().flatten().collect();
                Err(rollwise_tools::Error::Config(format!(
                    "no Datadog credentials: {}",
                    why.join(", ")
                )))
            }
        }
    }

    /// One timeseries query: every series it returns, values aligned with
    /// the response's `times`.
    pub async fn timeseries(
        &self,
        query: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> rollwise_tools::Result<Vec<Vec<f64>>> {
        let (api_key, app_key) = self.keys()?;
        let body = json!({
            "data": {
                "type": "timeseries_request",
                "attributes": {
                    "from": start.as_millisecond(),
                    "to": end.as_millisecond(),
                    "interval": i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1000),
                    "queries": [{"data_source": "metrics", "name": "a", "query": query}],
                    "formulas": [{"formula": "a"}],
                }
            }
        });
        let what = format!("Datadog query ({})", self.name);
        with_retries(
            &self.policy,
            &*self.observer,
            SERVICE,
            "query_timeseries",
            &what,
            || async {
                let res = self
                    .http
                    .post(self.endpoint.clone())
                    .header("DD-API-KEY", api_key.expose())
                    .header("DD-APPLICATION-KEY", app_key.expose())
                    .header(http::header::ACCEPT, "application/json")
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| Failed::from(transport(SERVICE, &e)))?;
                let code = res.status().as_u16();
                let wait = retry_after(res.headers(), Some("x-ratelimit-reset"));
                let bytes = body_bounded(res, SERVICE, MAX_BODY_BYTES)
                    .await
                    .map_err(Failed::from)?;
                let reply: Option<Reply> = serde_json::from_slice(&bytes).ok();
                if !(200..300).contains(&code) {
                    let message = reply
                        .as_ref()
                        .and_then(|r| r.errors.as_ref())
                        .and_then(errors_text)
                        .unwrap_or_else(|| snippet(&bytes, 300));
                    return Err(Failed {
                        error: rollwise_tools::Error::Api {
                            service: SERVICE,
                            code,
                            message,
                        },
                        retry_after: if code == 429 || code >= 500 {
                            wait
                        } else {
                            None
                        },
                    });
                }
                let reply = reply.ok_or_else(|| {
                    Failed::from(rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: format!("not a timeseries response: {}", snippet(&bytes, 200)),
                    })
                })?;
                let Some(data) = reply.data else {
                    return Err(Failed::from(rollwise_tools::Error::Api {
                        service: SERVICE,
                        code: 422,
                        message: reply
                            .errors
                            .as_ref()
                            .and_then(errors_text)
                            .unwrap_or_else(|| "a response without data".into()),
                    }));
                };
                let a = data.attributes;
                if a.values.len() != a.series.len()
                    || a.values.iter().any(|v| v.len() != a.times.len())
                {
                    return Err(Failed::from(rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: format!(
                            "{} series, {} value lists and {} times do not line up",
                            a.series.len(),
                            a.values.len(),
                            a.times.len()
                        ),
                    }));
                }
                Ok(a.values
                    .into_iter()
                    .map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                    .collect())
            },
        )
        .await
    }
}

impl MetricSource for DatadogClient {
    fn describe(&self) -> String {
        format!("datadog source {:?}", self.name)
    }

    fn selector(&self, rollout: &str, side: &SideQuery) -> Option<String> {
        let pods = |names: &[String]| -> Option<String> {
            let ok: Vec<String> = names
                .iter()
                .filter(|n| rollwise_tools::kube::validate::object_name(n).is_ok())
                .map(|n| format!("{}:{n}", self.cfg.pod_tag))
                .collect();
            match ok.len() {
                0 => None,
                1 => ok.into_iter().next(),
                _ => Some(format!("({})", ok.join(" OR "))),
            }
        };
        match &side.series {
            SeriesMatch::Hash(h) => Some(match &self.cfg.hash_tag {
                Some(tag) => format!("{tag}:{h}"),
                None => format!("kube_replica_set:{rollout}-{h}"),
            }),
            SeriesMatch::Pods(p) => pods(p),
            SeriesMatch::Nothing => None,
        }
    }

    fn range<'a>(
        &'a self,
        query: &'a str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> BoxFuture<'a, rollwise_tools::Result<Vec<Vec<f64>>>> {
        Box::pin(self.timeseries(query, start, end, step))
    }

    fn ready(&self) -> BoxFuture<'_, std::result::Result<String, String>> {
        Box::pin(async move {
            self.keys()
                .map(|_| format!("{}: keys present", self.endpoint.as_str()))
                .map_err(|e| e.to_string())
        })
    }
}
