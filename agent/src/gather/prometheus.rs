//! Prometheus → metric series: one PromQL template per metric, rendered once
//! per side, read with `/api/v1/query_range` into [`MetricSeries`].
//!
//! Templates are plain text with `{{placeholder}}`s (no template language:
//! nothing in a query runs but PromQL). Every value substituted is validated
//! Kubernetes syntax (namespace, name, hash) or built here (the side's label
//! matcher), so a request cannot inject PromQL through a label value.
//!
//! | placeholder     | value                                                                  |
//! |-----------------|------------------------------------------------------------------------|
//! | `{{namespace}}` | the Rollout's namespace                                                |
//! | `{{rollout}}`   | the Rollout's name                                                     |
//! | `{{selector}}`  | the side's matcher: `rollouts_pod_template_hash="<hash>"` or `pod=~"a\|b"` |
//! | `{{hash}}`      | the side's pod-template hash (an error when the side has none)         |
//! | `{{interval}}`  | the rate interval (`rate-interval`, e.g. `1m`)                        |
//! | `{{window}}`    | the whole window in seconds (`600s`), for `increase(...[{{window}}])` |
//!
//! Overrides, highest precedence first:
//! 1. the request's `queries` (metric name → template);
//! 2. the Rollout's annotations: `rollwise.io/query.<metric>: <template>`
//!    replaces one metric's query (or adds a metric: lower is better, not
//!    critical, no unit), `rollwise.io/metrics: <JSON>` gives full definitions
//!    (`[{"name": "...", "unit": "ratio", "better": "higher", "critical": true,
//!    "query": "..."}]`, same shape as the configuration's `[[metrics]]`), and
//!    `rollwise.io/traffic-query: <template>` the request-count query;
//! 3. the configuration (`[gather.prometheus]`), whose defaults are below.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rollwise_tools::call::{CallObserver, CallPolicy};
use serde::{Deserialize, Serialize};

use super::kube::SeriesMatch;
use crate::error::{Error, Result};
use crate::evidence::{Better, MetricSeries, Sides, Traffic};

pub const QUERY_ANNOTATION_PREFIX: &str = "rollwise.io/query.";
pub const METRICS_ANNOTATION: &str = "rollwise.io/metrics";
pub const TRAFFIC_ANNOTATION: &str = "rollwise.io/traffic-query";

const SERVICE: &str = "prometheus";

/// How a side's series are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBy {
    /// The pod-template hash label (Prometheus' pod relabelling copies
    /// `rollouts-pod-template-hash` to `rollouts_pod_template_hash`).
    #[default]
    Hash,
    /// The pods' names (`pod=~"a|b"`), for setups without that relabelling.
    Pod,
}

/// One metric: how to query it and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default)]
    pub better: Better,
    #[serde(default)]
    pub critical: bool,
    /// A PromQL template returning one series (aggregate with `sum`).
    pub query: String,
}

/// The `[gather.prometheus]` table of `rollwise.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrometheusConfig {
    /// The source's name in `[[gather.sources]]` (`prometheus` for
    /// `[gather.prometheus]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Base URL (`http://prometheus.monitoring:9090`); without one no metrics
    /// are gathered and the bundle says so in its gaps.
    pub url: Option<String>,
    /// Per query, including reading the answer; also sent as the query's
    /// own `timeout` so Prometheus stops evaluating too.
    pub timeout_secs: f64,
    pub max_attempts: u32,
    /// Resolution of range queries: one sample per step per side.
    pub step_secs: u64,
    /// `{{interval}}`: the range of `rate()`; at least 4 scrape intervals.
    pub rate_interval: String,
    pub match_by: MatchBy,
    pub hash_label: String,
    pub pod_label: String,
    pub metrics: Vec<MetricQuery>,
    /// Requests per side over the window (an instant query at the end).
    pub traffic_query: Option<String>,
}

/// Success rate: 1 - 5xx share, whichever of `code` or `status` labels the
/// counter uses (a matcher on an absent label matches the empty string).
const SUCCESS_RATE: &str = r#"sum(rate(http_requests_total{namespace="{{namespace}}",{{selector}},code!~"5..",status!~"5.."}[{{interval}}])) / sum(rate(http_requests_total{namespace="{{namespace}}",{{selector}}}[{{interval}}]))"#;
const LATENCY: &str = r#"histogram_quantile(Q, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",{{selector}}}[{{interval}}])))"#;
const TRAFFIC: &str =
    r#"sum(increase(http_requests_total{namespace="{{namespace}}",{{selector}}}[{{window}}]))"#;

pub fn default_metrics() -> Vec<MetricQuery> {
    let latency = |q: &str, name: &str| MetricQuery {
        name: name.to_owned(),
        unit: Some("s".to_owned()),
        better: Better::Lower,
        critical: false,
        query: LATENCY.replacen('Q', q, 1),
    };
    vec![
        MetricQuery {
            name: "success_rate".to_owned(),
            unit: Some("ratio".to_owned()),
            better: Better::Higher,
            critical: true,
            query: SUCCESS_RATE.to_owned(),
        },
        latency("0.95", "latency_p95"),
        latency("0.99", "latency_p99"),
    ]
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            name: None,
            url: None,
            timeout_secs: 10.0,
            max_attempts: 3,
            // 30 s: ten samples per side in a 5-minute step, enough for the
            // rank test (3 per side minimum) without smoothing spikes away.
            step_secs: 30,
            // Four 15 s scrapes: the shortest range `rate()` reads reliably.
            rate_interval: "1m".to_owned(),
            match_by: MatchBy::Hash,
            hash_label: "rollouts_pod_template_hash".to_owned(),
            pod_label: "pod".to_owned(),
            metrics: default_metrics(),
            traffic_query: Some(TRAFFIC.to_owned()),
        }
    }
}

fn config_err(m: impl Into<String>) -> Error {
    Error::Config(m.into())
}

fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && s.len() <= 128
}

fn is_metric_name(s: &str) -> bool {
    is_label_name(s) && s.len() <= 64
}

/// A PromQL duration such as `1m`, `90s`, `1h30m`.
fn is_promql_duration(s: &str) -> bool {
    let mut digits = false;
    let mut units = false;
    let mut rest = s;
    if s.is_empty() || s.len() > 16 {
        return false;
    }
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        digits = true;
        rest = &rest[n..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => {
                units = true;
                rest = &rest[u.len()..];
            }
            None => return false,
        }
    }
    digits && units
}

impl PrometheusConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(config_err("gather.prometheus.timeout-secs must be > 0"));
        }
        if self.max_attempts == 0 || self.step_secs == 0 {
            return Err(config_err(
                "gather.prometheus: max-attempts and step-secs must be > 0",
            ));
        }
        if !is_promql_duration(&self.rate_interval) {
            return Err(config_err(format!(
                "gather.prometheus.rate-interval {:?} is not a PromQL duration",
                self.rate_interval
            )));
        }
        for l in [&self.hash_label, &self.pod_label] {
            if !is_label_name(l) {
                return Err(config_err(format!("{l:?} is not a Prometheus label name")));
            }
        }
        if let Some(u) = &self.url {
            reqwest::Url::parse(u)
                .map_err(|e| config_err(format!("gather.prometheus.url {u:?}: {e}")))?;
        }
        check_metrics(&self.metrics)?;
        Ok(())
    }
}

pub(crate) fn check_metrics(ms: &[MetricQuery]) -> Result<()> {
    for (i, m) in ms.iter().enumerate() {
        if !is_metric_name(&m.name) {
            return Err(config_err(format!(
                "metric name {:?} must be a Prometheus-style name of at most 64 characters",
                m.name
            )));
        }
        if ms[..i].iter().any(|o| o.name == m.name) {
            return Err(config_err(format!("metric {:?} is defined twice", m.name)));
        }
        check_template(&m.query)?;
    }
    Ok(())
}

/// Every placeholder a template may name.
pub const PLACEHOLDERS: [&str; 6] = [
    "namespace",
    "rollout",
    "selector",
    "hash",
    "interval",
    "window",
];

pub(crate) fn check_template(t: &str) -> Result<()> {
    if t.trim().is_empty() || t.len() > 4096 {
        return Err(config_err("a PromQL template must be 1 to 4096 bytes"));
    }
    let mut rest = t;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Err(config_err(format!("unclosed placeholder in {t:?}")));
        };
        let name = after[..j].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(config_err(format!(
                "unknown placeholder {{{{{name}}}}} (known: {})",
                PLACEHOLDERS.join(", ")
            )));
        }
        rest = &after[j + 2..];
    }
    Ok(())
}

/// Values for one side's rendering; all validated or built here.
#[derive(Debug, Clone)]
pub struct TemplateVars<'a> {
    pub namespace: &'a str,
    pub rollout: &'a str,
    pub selector: String,
    pub hash: Option<&'a str>,
    pub interval: &'a str,
    pub window: String,
}

/// Substitute placeholders. A template using `{{hash}}` for a side without
/// one is an error rather than a query for the empty hash.
pub fn render(template: &str, v: &TemplateVars<'_>) -> Result<String> {
    check_template(template)?;
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").unwrap_or(after.len());
        let value = match after[..j].trim() {
            "namespace" => v.namespace,
            "rollout" => v.rollout,
            "selector" => v.selector.as_str(),
            "hash" => v.hash.ok_or_else(|| {
                config_err("the query uses {{hash}} but this side has no pod-template hash")
            })?,
            "interval" => v.interval,
            _ => v.window.as_str(),
        };
        out.push_str(value);
        rest = after.get(j + 2..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

/// The label matcher of one side, or `None` when nothing identifies it.
pub fn side_selector(cfg: &PrometheusConfig, m: &SeriesMatch, pods: &[String]) -> Option<String> {
    let by_pods = |names: &[String]| -> Option<String> {
        if names.is_empty() {
            return None;
        }
        // Pod names are DNS subdomains ([a-z0-9.-]): only the dot is a regex
        // metacharacter, escaped for the regex and again for the string.
        let alt: Vec<String> = names
            .iter()
            .filter(|n| rollwise_tools::kube::validate::object_name(n).is_ok())
            .map(|n| n.replace('.', "\\\\."))
            .collect();
        if alt.is_empty() {
            return None;
        }
        Some(format!("{}=~\"{}\"", cfg.pod_label, alt.join("|")))
    };
    match (cfg.match_by, m) {
        (MatchBy::Hash, SeriesMatch::Hash(h)) => Some(format!("{}=\"{h}\"", cfg.hash_label)),
        (MatchBy::Pod, SeriesMatch::Hash(_)) => by_pods(pods),
        (_, SeriesMatch::Pods(p)) => by_pods(p),
        (_, SeriesMatch::Nothing) => None,
    }
}

/// The metrics to query for one Rollout: configuration, then annotations,
/// then the request. Errors name the source that is wrong.
pub fn effective_metrics(
    cfg: &PrometheusConfig,
    annotations: &BTreeMap<String, String>,
    request: &BTreeMap<String, String>,
) -> Result<(Vec<MetricQuery>, Option<String>)> {
    effective_metrics_from(
        cfg.metrics.clone(),
        cfg.traffic_query.clone(),
        annotations,
        request,
    )
}

/// [`effective_metrics`] over any source's metric definitions and traffic
/// query (the overrides have the same shape for every source).
pub fn effective_metrics_from(
    mut metrics: Vec<MetricQuery>,
    mut traffic: Option<String>,
    annotations: &BTreeMap<String, String>,
    request: &BTreeMap<String, String>,
) -> Result<(Vec<MetricQuery>, Option<String>)> {
    let upsert_query = |metrics: &mut Vec<MetricQuery>, name: &str, q: &str| match metrics
        .iter_mut()
        .find(|m| m.name == name)
    {
        Some(m) => m.query = q.to_owned(),
        None => metrics.push(MetricQuery {
            name: name.to_owned(),
            unit: None,
            better: Better::Lower,
            critical: false,
            query: q.to_owned(),
        }),
    };
    if let Some(json) = annotations.get(METRICS_ANNOTATION) {
        let defs: Vec<MetricQuery> = serde_json::from_str(json).map_err(|e| {
            config_err(format!("annotation {METRICS_ANNOTATION} is not valid: {e}"))
        })?;
        for d in defs {
            match metrics.iter_mut().find(|m| m.name == d.name) {
                Some(m) => *m = d,
                None => metrics.push(d),
            }
        }
    }
    for (k, q) in annotations {
        if let Some(name) = k.strip_prefix(QUERY_ANNOTATION_PREFIX) {
            upsert_query(&mut metrics, name, q);
        }
    }
    if let Some(t) = annotations.get(TRAFFIC_ANNOTATION) {
        check_template(t)
            .map_err(|e| config_err(format!("annotation {TRAFFIC_ANNOTATION}: {e}")))?;
        traffic = Some(t.clone());
    }
    for (name, q) in request {
        upsert_query(&mut metrics, name, q);
    }
    check_metrics(&metrics)?;
    Ok((metrics, traffic))
}

/// A request's PromQL overrides, checked before anything is gathered so a
/// bad one is the caller's error (400), not a gap.
pub fn validate_request_queries(queries: &BTreeMap<String, String>) -> Result<()> {
    for (name, q) in queries {
        if !is_metric_name(name) {
            return Err(Error::Usage(format!(
                "query name {name:?} must be a Prometheus-style metric name"
            )));
        }
        check_template(q).map_err(|e| Error::Usage(format!("query {name:?}: {e}")))?;
    }
    Ok(())
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value); NaN and infinities as Prometheus sent them.
    pub values: Vec<(f64, f64)>,
}

/// A Prometheus HTTP API client (`/api/v1/query_range`, `/api/v1/query`).
#[derive(Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    base: reqwest::Url,
    policy: CallPolicy,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for PrometheusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusClient")
            .field("base", &self.base.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ApiReply {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<ApiSeries>,
}

#[derive(Deserialize)]
struct ApiSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

fn fmt_time(t: jiff::Timestamp) -> String {
    let ms = t.as_millisecond();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn parse_sample(v: &str) -> rollwise_tools::Result<f64> {
    // Prometheus writes NaN, +Inf and -Inf as such; Rust parses all three.
    v.parse::<f64>().map_err(|_| rollwise_tools::Error::Decode {
        service: SERVICE,
        message: format!("sample {v:?} is not a number"),
    })
}

impl PrometheusClient {
    pub fn new(
        base_url: &str,
        policy: CallPolicy,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let mut base = reqwest::Url::parse(base_url)
            .map_err(|e| config_err(format!("Prometheus URL {base_url:?}: {e}")))?;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| config_err(format!("HTTP client: {e}")))?;
        Ok(PrometheusClient {
            http,
            base,
            policy,
            observer,
        })
    }

    async fn call(
        &self,
        op: &'static str,
        path: &str,
        params: &[(&str, String)],
    ) -> rollwise_tools::Result<ApiData> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| rollwise_tools::Error::Config(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            // Prometheus stops evaluating when we stop waiting.
            q.append_pair("timeout", &format!("{}ms", self.policy.timeout.as_millis()));
        }
        let what = format!("Prometheus {op}");
        self.policy
            .run(&*self.observer, SERVICE, op, &what, || async {
                let res = self.http.get(url.clone()).send().await.map_err(|e| {
                    rollwise_tools::Error::Transport {
                        service: SERVICE,
                        message: e.to_string(),
                    }
                })?;
                let code = res.status().as_u16();
                let body = res
                    .bytes()
                    .await
                    .map_err(|e| rollwise_tools::Error::Transport {
                        service: SERVICE,
                        message: e.to_string(),
                    })?;
                let reply: Option<ApiReply> = serde_json::from_slice(&body).ok();
                if !(200..300).contains(&code)
                    || reply.as_ref().is_some_and(|r| r.status != "success")
                {
                    let message = match &reply {
                        Some(r) => format!(
                            "{}: {}",
                            r.error_type.as_deref().unwrap_or("error"),
                            r.error.as_deref().unwrap_or("")
                        ),
                        None => String::from_utf8_lossy(&body).chars().take(300).collect(),
                    };
                    return Err(rollwise_tools::Error::Api {
                        service: SERVICE,
                        // A 200 saying "error" is still a failed query.
                        code: if code == 200 { 422 } else { code },
                        message,
                    });
                }
                reply
                    .and_then(|r| r.data)
                    .ok_or_else(|| rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: "a success reply without data".into(),
                    })
            })
            .await
    }

    /// A range query from `start` to `end`, one sample per `step`.
    pub async fn query_range(
        &self,
        query: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> rollwise_tools::Result<Vec<RangeSeries>> {
        let params = [
            ("query", query.to_owned()),
            ("start", fmt_time(start)),
            ("end", fmt_time(end)),
            ("step", format!("{}s", step.as_secs().max(1))),
        ];
        let data = self
            .call("query_range", "api/v1/query_range", &params)
            .await?;
        if data.result_type != "matrix" {
            return Err(rollwise_tools::Error::Decode {
                service: SERVICE,
                message: format!("a range query returned a {}", data.result_type),
            });
        }
        data.result
            .into_iter()
            .map(|s| {
                let values = s
                    .values
                    .iter()
                    .map(|(t, v)| parse_sample(v).map(|v| (*t, v)))
                    .collect::<rollwise_tools::Result<Vec<_>>>()?;
                Ok(RangeSeries {
                    labels: s.metric,
                    values,
                })
            })
            .collect()
    }

    /// An instant query at `time`: one value per series.
    pub async fn query(
        &self,
        query: &str,
        time: jiff::Timestamp,
    ) -> rollwise_tools::Result<Vec<f64>> {
        let params = [("query", query.to_owned()), ("time", fmt_time(time))];
        let data = self.call("query", "api/v1/query", &params).await?;
        match data.result_type.as_str() {
            "vector" => data
                .result
                .iter()
                .filter_map(|s| s.value.as_ref())
                .map(|(_, v)| parse_sample(v))
                .collect(),
            "scalar" => Err(rollwise_tools::Error::Decode {
                service: SERVICE,
                message: "a scalar, not a vector: wrap the query in vector() or sum()".into(),
            }),
            other => Err(rollwise_tools::Error::Decode {
                service: SERVICE,
                message: format!("an instant query returned a {other}"),
            }),
        }
    }
}

/// How one side is matched: its series match, its pods' names (for
/// `match-by = "pod"`) and its hash (for `{{hash}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct SideQuery {
    pub series: SeriesMatch,
    pub pods: Vec<String>,
    pub hash: Option<String>,
}

/// What is being asked of Prometheus for one analysis.
#[derive(Debug, Clone)]
pub struct MetricsRequest<'a> {
    pub namespace: &'a str,
    pub rollout: &'a str,
    pub sides: Sides<SideQuery>,
    pub start: jiff::Timestamp,
    pub end: jiff::Timestamp,
    pub metrics: Vec<MetricQuery>,
    pub traffic_query: Option<String>,
}

/// The metrics part of a bundle.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsPart {
    pub metrics: Vec<MetricSeries>,
    pub traffic: Option<Traffic>,
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PrometheusGatherer {
    client: PrometheusClient,
    cfg: PrometheusConfig,
}

impl PrometheusGatherer {
    pub fn new(client: PrometheusClient, cfg: PrometheusConfig) -> Self {
        PrometheusGatherer { client, cfg }
    }

    /// For readiness: one instant query (`vector(1)`), or why it failed.
    pub async fn ping(&self) -> std::result::Result<String, String> {
        match self.client.query("vector(1)", jiff::Timestamp::now()).await {
            Ok(_) => Ok(format!("{} answers queries", self.client.base.as_str())),
            Err(e) => Err(format!("{}: {e}", self.client.base.as_str())),
        }
    }

    pub fn config(&self) -> &PrometheusConfig {
        &self.cfg
    }

    /// Query every metric for both sides concurrently. Failures are gaps.
    pub async fn gather(&self, req: &MetricsRequest<'_>) -> MetricsPart {
        let window_secs = req.end.duration_since(req.start).as_secs().max(1);
        fn vars<'a>(
            cfg: &'a PrometheusConfig,
            req: &'a MetricsRequest<'a>,
            side: &'a SideQuery,
            window_secs: i64,
        ) -> Option<TemplateVars<'a>> {
            side_selector(cfg, &side.series, &side.pods).map(|selector| TemplateVars {
                namespace: req.namespace,
                rollout: req.rollout,
                selector,
                hash: side.hash.as_deref(),
                interval: &cfg.rate_interval,
                window: format!("{window_secs}s"),
            })
        }
        let sides = [
            (
                "canary",
                vars(&self.cfg, req, &req.sides.canary, window_secs),
            ),
            (
                "stable",
                vars(&self.cfg, req, &req.sides.stable, window_secs),
            ),
        ];
        let mut part = MetricsPart::default();
        for (name, v) in &sides {
            if v.is_none() {
                part.gaps.push(format!(
                    "no {name} metrics: the {name} side has neither a pod-template hash nor pods to match"
                ));
            }
        }
        let step = Duration::from_secs(self.cfg.step_secs);
        let mut tasks = tokio::task::JoinSet::new();
        for (mi, m) in req.metrics.iter().enumerate() {
            for (si, (_, v)) in sides.iter().enumerate() {
                let Some(v) = v else { continue };
                let query = render(&m.query, v);
                let client = self.client.clone();
                let (start, end) = (req.start, req.end);
                tasks.spawn(async move {
                    let r = match query {
                        Ok(q) => client
                            .query_range(&q, start, end, step)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    (mi, si, r)
                });
            }
        }
        let traffic_tasks: Vec<_> = match &req.traffic_query {
            Some(t) => sides
                .iter()
                .map(|(_, v)| {
                    let query = v.as_ref().map(|v| render(t, v));
                    let client = self.client.clone();
                    let end = req.end;
                    tokio::spawn(async move {
                        match query {
                            Some(Ok(q)) => {
                                Some(client.query(&q, end).await.map_err(|e| e.to_string()))
                            }
                            Some(Err(e)) => Some(Err(e.to_string())),
                            None => None,
                        }
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        type SideResult = Option<std::result::Result<Vec<RangeSeries>, String>>;
        let mut results: Vec<[SideResult; 2]> = req.metrics.iter().map(|_| [None, None]).collect();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((mi, si, r)) => results[mi][si] = Some(r),
                Err(e) => part.gaps.push(format!("a metric query task failed: {e}")),
            }
        }
        for (m, [c, s]) in req.metrics.iter().zip(results) {
            let mut series = MetricSeries {
                name: m.name.clone(),
                unit: m.unit.clone(),
                better: m.better,
                critical: m.critical,
                canary: Vec::new(),
                stable: Vec::new(),
            };
            for (side, r, out) in [
                ("canary", c, &mut series.canary),
                ("stable", s, &mut series.stable),
            ] {
                match r {
                    None => {}
                    Some(Err(e)) => part
                        .gaps
                        .push(format!("metric {} ({side}) could not be read: {e}", m.name)),
                    Some(Ok(list)) => match samples(list) {
                        Ok(v) => *out = v,
                        Err(why) => part.gaps.push(format!("metric {} ({side}): {why}", m.name)),
                    },
                }
            }
            part.metrics.push(series);
        }
        if req.traffic_query.is_some() {
            let mut counts = [None, None];
            for (i, t) in traffic_tasks.into_iter().enumerate() {
                let side = if i == 0 { "canary" } else { "stable" };
                match t.await {
                    Ok(Some(Ok(v))) => match v.as_slice() {
                        [x] if x.is_finite() && *x >= 0.0 => {
                            counts[i] = Some(x.round() as u64);
                        }
                        [] => counts[i] = Some(0),
                        other => part.gaps.push(format!(
                            "traffic ({side}): expected one finite count, got {other:?}"
                        )),
                    },
                    Ok(Some(Err(e))) => part
                        .gaps
                        .push(format!("traffic ({side}) could not be read: {e}")),
                    Ok(None) => {}
                    Err(e) => part.gaps.push(format!("traffic ({side}) task failed: {e}")),
                }
            }
            if counts.iter().any(Option::is_some) {
                part.traffic = Some(Traffic {
                    canary_requests: counts[0],
                    stable_requests: counts[1],
                });
            }
        }
        part
    }
}

/// The finite samples of a query that must return one series. NaN (0/0 with
/// no traffic in a step) and infinities are dropped; nothing left is an error.
fn samples(list: Vec<RangeSeries>) -> std::result::Result<Vec<f64>, String> {
    match list.len() {
        0 => Err("the query returned no data".into()),
        1 => {
            let v: Vec<f64> = list[0]
                .values
                .iter()
                .map(|(_, v)| *v)
                .filter(|v| v.is_finite())
                .collect();
            if v.is_empty() {
                Err(format!(
                    "all {} samples are NaN or infinite (no requests?)",
                    list[0].values.len()
                ))
            } else {
                Ok(v)
            }
        }
        n => Err(format!(
            "the query returned {n} series; it must return one (aggregate with sum)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars<'static> {
        TemplateVars {
            namespace: "shop",
            rollout: "checkout",
            selector: "rollouts_pod_template_hash=\"abc\"".into(),
            hash: Some("abc"),
            interval: "1m",
            window: "600s".into(),
        }
    }

    #[test]
    fn defaults_validate_and_render() {
        let cfg = PrometheusConfig::default();
        cfg.validate().unwrap();
        let q = render(&cfg.metrics[0].query, &vars()).unwrap();
        assert!(
            q.contains(r#"{namespace="shop",rollouts_pod_template_hash="abc",code!~"5..""#),
            "{q}"
        );
        assert!(q.contains("[1m]"));
        assert!(!q.contains("{{"));
        let q = render(&cfg.metrics[2].query, &vars()).unwrap();
        assert!(q.starts_with("histogram_quantile(0.99, "), "{q}");
        let t = render(cfg.traffic_query.as_deref().unwrap(), &vars()).unwrap();
        assert!(t.ends_with("[600s]))"), "{t}");
    }

    #[test]
    fn templates_are_checked() {
        assert!(render("up{x=\"{{bogus}}\"}", &vars()).is_err());
        assert!(render("up{{{namespace}", &vars()).is_err());
        let mut v = vars();
        v.hash = None;
        let e = render("x{h=\"{{hash}}\"}", &v).unwrap_err();
        assert!(e.to_string().contains("no pod-template hash"), "{e}");
        assert_eq!(render("{{ rollout }}", &vars()).unwrap(), "checkout");
    }

    #[test]
    fn pod_matchers_escape_dots() {
        let cfg = PrometheusConfig {
            match_by: MatchBy::Pod,
            ..Default::default()
        };
        let pods = vec!["a.b-1".to_owned(), "c-2".to_owned()];
        assert_eq!(
            side_selector(&cfg, &SeriesMatch::Hash("h".into()), &pods).unwrap(),
            r#"pod=~"a\\.b-1|c-2""#
        );
        assert_eq!(side_selector(&cfg, &SeriesMatch::Nothing, &[]), None);
        // Names are re-checked: nothing from the cluster reaches PromQL unchecked.
        let odd = vec!["a\"}or vector(1)".to_owned()];
        assert_eq!(side_selector(&cfg, &SeriesMatch::Pods(odd), &[]), None);
        let cfg = PrometheusConfig::default();
        assert_eq!(
            side_selector(&cfg, &SeriesMatch::Hash("h1".into()), &pods).unwrap(),
            r#"rollouts_pod_template_hash="h1""#
        );
    }

    #[test]
    fn overrides_apply_in_order() {
        let cfg = PrometheusConfig::default();
        let mut ann = BTreeMap::new();
        ann.insert(
            METRICS_ANNOTATION.to_owned(),
            r#"[{"name":"latency_p99","unit":"ms","query":"ann_full"},{"name":"mem","better":"lower","query":"m"}]"#.to_owned(),
        );
        ann.insert(
            format!("{QUERY_ANNOTATION_PREFIX}success_rate"),
            "ann_sr".to_owned(),
        );
        ann.insert(TRAFFIC_ANNOTATION.to_owned(), "t".to_owned());
        let mut req = BTreeMap::new();
        req.insert("success_rate".to_owned(), "req_sr".to_owned());
        let (ms, traffic) = effective_metrics(&cfg, &ann, &req).unwrap();
        fn find<'a>(ms: &'a [MetricQuery], n: &str) -> &'a MetricQuery {
            ms.iter().find(|m| m.name == n).unwrap()
        }
        let get = |n: &str| find(&ms, n).clone();
        assert_eq!(get("success_rate").query, "req_sr");
        // Overriding the query keeps the definition.
        assert!(get("success_rate").critical);
        assert_eq!(get("success_rate").better, Better::Higher);
        assert_eq!(get("latency_p99").unit.as_deref(), Some("ms"));
        assert_eq!(get("latency_p99").query, "ann_full");
        assert_eq!(get("mem").query, "m");
        assert_eq!(traffic.as_deref(), Some("t"));
        ann.insert(METRICS_ANNOTATION.to_owned(), "{".to_owned());
        assert!(effective_metrics(&cfg, &ann, &req).is_err());
        let mut bad = BTreeMap::new();
        bad.insert("bad name".to_owned(), "q".to_owned());
        assert!(effective_metrics(&cfg, &BTreeMap::new(), &bad).is_err());
    }

    #[test]
    fn samples_drop_non_finite_and_refuse_ambiguity() {
        let s = |vals: &[f64]| RangeSeries {
            labels: BTreeMap::new(),
            values: vals.iter().map(|v| (0.0, *v)).collect(),
        };
        assert_eq!(
            samples(vec![s(&[1.0, f64::NAN, 0.5, f64::INFINITY])]).unwrap(),
            [1.0, 0.5]
        );
        assert!(samples(vec![]).is_err());
        assert!(samples(vec![s(&[f64::NAN])]).is_err());
        assert!(samples(vec![s(&[1.0]), s(&[2.0])]).is_err());
        assert_eq!(parse_sample("+Inf").unwrap(), f64::INFINITY);
        assert!(parse_sample("NaN").unwrap().is_nan());
        assert!(parse_sample("x").is_err());
    }

    #[test]
    fn durations_and_names() {
        for ok in ["1m", "90s", "1h30m", "500ms"] {
            assert!(is_promql_duration(ok), "{ok}");
        }
        for bad in ["", "1", "m", "1m]", "1 m", "1x"] {
            assert!(!is_promql_duration(bad), "{bad}");
        }
        assert!(is_metric_name("latency_p99"));
        assert!(!is_metric_name("9x"));
        assert!(!is_metric_name("a-b"));
    }
}
