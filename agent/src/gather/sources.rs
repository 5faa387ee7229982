//! Metric sources: `[[gather.sources]]`, a list of Prometheus, Datadog and
//! CloudWatch sources read side by side into one bundle.
//!
//! `[gather.prometheus]` (with a `url`) is the first source of the list,
//! named `prometheus`, exactly as before; `[[gather.sources]]` entries follow
//! in order. Each source has its own per-metric query templates with the
//! placeholders of [`super::prometheus::render`] (`{{namespace}}`,
//! `{{rollout}}`, `{{selector}}`, `{{hash}}`, `{{interval}}`, `{{window}}`);
//! only `{{selector}}`, `{{interval}}` and `{{window}}` are written in the
//! source's own syntax (see `docs/queries.md`).
//!
//! A metric belongs to the first source that defines it. Overrides by metric
//! name (the request's `queries`, the Rollout's `rollwise.io/query.<metric>`
//! and `rollwise.io/metrics` annotations) go to the source that defines the
//! metric; a name no source defines is added to the first source.
//!
//! Every failure (missing credentials, an unreachable source, a refused
//! query) is a gap naming the source and the metric: the judge then cannot
//! promote.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rollwise_tools::call::{CallObserver, Retryable};
use serde::{Deserialize, Serialize};

use super::cloudwatch::CloudWatchConfig;
use super::datadog::DatadogConfig;
use super::prometheus::{
    METRICS_ANNOTATION, MetricQuery, MetricsPart, MetricsRequest, PrometheusConfig,
    PrometheusGatherer, QUERY_ANNOTATION_PREFIX, SideQuery, TRAFFIC_ANNOTATION, TemplateVars,
    effective_metrics_from, render,
};
use crate::error::{Error, Result};
use crate::evidence::{MetricSeries, Sides, Traffic};
use crate::llm::BoxFuture;

/// The name `[gather.prometheus]` has as a source.
pub const DEFAULT_PROMETHEUS_NAME: &str = "prometheus";

/// One entry of `[[gather.sources]]`, told apart by its `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SourceConfig {
    /// The keys of `[gather.prometheus]`, plus `name`.
    Prometheus(PrometheusConfig),
    Datadog(DatadogConfig),
    Cloudwatch(CloudWatchConfig),
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Prometheus(p) => p.name.as_deref().unwrap_or(DEFAULT_PROMETHEUS_NAME),
            SourceConfig::Datadog(d) => &d.name,
            SourceConfig::Cloudwatch(c) => &c.name,
        }
    }

    pub fn metrics(&self) -> &[MetricQuery] {
        match self {
            SourceConfig::Prometheus(p) => &p.metrics,
            SourceConfig::Datadog(d) => &d.metrics,
            SourceConfig::Cloudwatch(c) => &c.metrics,
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            SourceConfig::Prometheus(p) => {
                if p.url.is_none() {
                    return Err(Error::Config(format!(
                        "gather.sources {:?}: a prometheus source needs a url",
                        self.name()
                    )));
                }
                p.validate()
            }
            SourceConfig::Datadog(d) => d.validate(),
            SourceConfig::Cloudwatch(c) => c.validate(),
        }
    }
}

/// The whole list: `[gather.prometheus]` first (when it has a url), then
/// `[[gather.sources]]`. Names are unique, and so are metric names across
/// sources (a metric is read from one place).
pub fn effective_sources(
    prometheus: &PrometheusConfig,
    extra: &[SourceConfig],
) -> Result<Vec<SourceConfig>> {
    let mut all = Vec::with_capacity(extra.len() + 1);
    if prometheus.url.is_some() {
        all.push(SourceConfig::Prometheus(prometheus.clone()));
    }
    all.extend(extra.iter().cloned());
    for (i, s) in all.iter().enumerate() {
        s.validate()?;
        if !is_source_name(s.name()) {
            return Err(Error::Config(format!(
                "gather.sources name {:?}: 1 to 63 of [a-z0-9-], starting with a letter",
                s.name()
            )));
        }
        if all[..i].iter().any(|o| o.name() == s.name()) {
            return Err(Error::Config(format!(
                "gather.sources: two sources are named {:?}",
                s.name()
            )));
        }
        for m in s.metrics() {
            if let Some(o) = all[..i]
                .iter()
                .find(|o| o.metrics().iter().any(|x| x.name == m.name))
            {
                return Err(Error::Config(format!(
                    "metric {:?} is defined by both source {:?} and source {:?}",
                    m.name,
                    o.name(),
                    s.name()
                )));
            }
        }
    }
    Ok(all)
}

fn is_source_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && s.len() <= 63
}

/// Checks shared by every vendor source's table.
pub(crate) fn check_vendor_common(
    kind: &str,
    name: &str,
    timeout_secs: f64,
    max_attempts: u32,
    step_secs: u64,
    metrics: &[MetricQuery],
    traffic_query: Option<&str>,
) -> Result<()> {
    let err = |m: &str| Error::Config(format!("gather.sources {name:?} ({kind}): {m}"));
    if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
        return Err(err("timeout-secs must be > 0"));
    }
    if max_attempts == 0 || step_secs == 0 {
        return Err(err("max-attempts and step-secs must be > 0"));
    }
    if metrics.is_empty() {
        return Err(err("at least one [[...metrics]] entry is needed"));
    }
    super::prometheus::check_metrics(metrics).map_err(|e| err(&e.to_string()))?;
    if let Some(t) = traffic_query {
        super::prometheus::check_template(t).map_err(|e| err(&e.to_string()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Secrets and the environment.

/// Reads an environment variable; the process's own in production, a map in
/// tests (edition 2024 makes `set_var` unsafe, and tests run side by side).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|k| std::env::var(k).ok())
}

/// A credential read from the environment or a mounted Secret file. Its
/// `Debug` never shows the value, and no error message quotes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A secret from `file` (a mounted Secret key, re-read on every call so a
/// rotation needs no restart) or else the variable `var`. Surrounding
/// whitespace is dropped; empty counts as absent. `Err` says where it looked,
/// never what it found.
pub fn read_secret(
    env: &EnvLookup,
    var: &str,
    file: Option<&Path>,
) -> std::result::Result<Secret, String> {
    if let Some(path) = file {
        return match std::fs::read_to_string(path) {
            Ok(s) if !s.trim().is_empty() => Ok(Secret(s.trim().to_owned())),
            Ok(_) => Err(format!("{} is empty", path.display())),
            Err(e) => Err(format!("{} cannot be read: {}", path.display(), e.kind())),
        };
    }
    match env(var) {
        Some(s) if !s.trim().is_empty() => Ok(Secret(s.trim().to_owned())),
        _ => Err(format!("{var} is not set")),
    }
}

/// An optional path in a config table.
pub(crate) fn opt_path(p: &Option<PathBuf>) -> Option<&Path> {
    p.as_deref()
}

// ---------------------------------------------------------------------------
// Retries: a small loop of its own (jitter and Retry-After, which
// `CallPolicy` does not have), so it can be swapped for a shared one.

/// Timeout and retries of one vendor call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Per attempt, including reading the whole response.
    pub timeout: Duration,
    /// Attempts in total; only transient failures (5xx, 429, timeout,
    /// transport) are retried.
    pub max_attempts: u32,
    /// The backoff before retry n (0-based) is drawn from
    /// `[d/2, d]` with `d = min(base * 2^n, max)`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A server asking for a longer wait than this (Retry-After) is not
    /// waited for: the call fails, and the analysis has a gap, inside its
    /// deadline.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn new(timeout_secs: f64, max_attempts: u32) -> Self {
        RetryPolicy {
            timeout: Duration::from_secs_f64(timeout_secs),
            max_attempts,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// One failed attempt and the wait the server asked for, if any.
#[derive(Debug)]
pub struct Failed {
    pub error: rollwise_tools::Error,
    pub retry_after: Option<Duration>,
}

impl From<rollwise_tools::Error> for Failed {
    fn from(error: rollwise_tools::Error) -> Self {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// The outcome label of a failed attempt: a rate limit is told apart from
/// other API errors, since it calls for slowing down rather than fixing.
pub fn outcome(e: &rollwise_tools::Error) -> &'static str {
    match e {
        rollwise_tools::Error::Api { code: 429, .. } => "rate_limited",
        e => e.outcome(),
    }
}

/// Run `call` under `policy`, observing every attempt.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    observer: &dyn CallObserver,
    dependency: &'static str,
    op: &'static str,
    what: &str,
    mut call: F,
) -> rollwise_tools::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failed>>,
{
    let mut attempt = 0u32;
    loop {
        let started = Instant::now();
        let res = match tokio::time::timeout(policy.timeout, call()).await {
            Ok(r) => r,
            Err(_) => Err(Failed::from(rollwise_tools::Error::Timeout {
                what: what.to_owned(),
                after: policy.timeout,
            })),
        };
        let label = match &res {
            Ok(_) => "ok",
            Err(f) => outcome(&f.error),
        };
        observer.observe(dependency, op, label, started.elapsed());
        let failed = match res {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        attempt += 1;
        if !failed.error.is_transient() || attempt >= policy.max_attempts {
            return Err(failed.error);
        }
        let wait = match failed.retry_after {
            Some(w) if w > policy.max_retry_after => {
                return Err(match failed.error {
                    rollwise_tools::Error::Api {
                        service,
                        code,
                        message,
                    } => rollwise_tools::Error::Api {
                        service,
                        code,
                        message: format!(
                            "{message} (asked to retry after {}s, longer than the {}s allowed)",
                            w.as_secs(),
                            policy.max_retry_after.as_secs()
                        ),
                    },
                    e => e,
                });
            }
            Some(w) => w,
            None => jittered_backoff(policy, attempt - 1),
        };
        tracing::debug!(error = %failed.error, ?wait, attempt, dependency, op, "retrying");
        tokio::time::sleep(wait).await;
    }
}

fn jittered_backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let d = policy
        .base_backoff
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(policy.max_backoff);
    let half = d / 2;
    let spread = u64::try_from((d - half).as_micros()).unwrap_or(u64::MAX);
    half + Duration::from_micros(random_u64() % spread.max(1))
}

fn random_u64() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    // SystemRandom fails only without an OS random source; no jitter then.
    match ring::rand::SystemRandom::new().fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => 0,
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110), else `fallback`
/// (a vendor's own reset header, in seconds).
pub fn retry_after(headers: &http::HeaderMap, fallback: Option<&str>) -> Option<Duration> {
    let secs = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
    };
    if let Some(v) = headers.get(http::header::RETRY_AFTER) {
        let v = v.to_str().ok()?;
        if let Some(d) = secs(v) {
            return Some(d);
        }
        let at = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(v.trim())
            .ok()?;
        let ahead = at.duration_since(jiff::Timestamp::now());
        return Some(Duration::try_from(ahead).unwrap_or(Duration::ZERO));
    }
    fallback
        .and_then(|h| headers.get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(secs)
}

/// A transport failure without the URL's query (it may carry a key).
pub(crate) fn transport(service: &'static str, e: &reqwest::Error) -> rollwise_tools::Error {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the response body could not be read"
    } else {
        "request failed"
    };
    rollwise_tools::Error::Transport {
        service,
        message: match std::error::Error::source(e) {
            Some(src) => format!("{kind}: {src}"),
            None => kind.to_owned(),
        },
    }
}

/// The most a vendor's answer may be: one page of logs (Loki's
/// `page-limit` lines) or a query's series. Larger is an error, not an
/// allocation a source can push without bound.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// A response body of at most `max` bytes, read as it arrives.
pub async fn body_bounded(
    mut res: reqwest::Response,
    service: &'static str,
    max: usize,
) -> rollwise_tools::Result<Vec<u8>> {
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large(service, max));
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| transport(service, &e))? {
        if out.len() + chunk.len() > max {
            return Err(too_large(service, max));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn too_large(service: &'static str, max: usize) -> rollwise_tools::Error {
    rollwise_tools::Error::Decode {
        service,
        message: format!("the response is larger than {max} bytes"),
    }
}

/// At most `n` characters of a response body, for an error message.
pub(crate) fn snippet(body: &[u8], n: usize) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(n)
        .collect::<String>()
        .replace(['\n', '\r'], " ")
}

// ---------------------------------------------------------------------------
// Vendor sources.

/// One vendor's query API, as the generic gathering below needs it.
pub trait MetricSource: Send + Sync + std::fmt::Debug {
    /// `datadog source "dd"`: how gaps name it.
    fn describe(&self) -> String;
    /// The `{{selector}}` of one side in the vendor's query syntax, or
    /// `None` when nothing identifies the side.
    fn selector(&self, rollout: &str, side: &SideQuery) -> Option<String>;
    /// The series one query returns from `start` to `end`, one value per
    /// `step` (NaN where the vendor has no value).
    fn range<'a>(
        &'a self,
        query: &'a str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> BoxFuture<'a, rollwise_tools::Result<Vec<Vec<f64>>>>;
    /// For `/readyz`: whether calls can be made (credentials present).
    fn ready(&self) -> BoxFuture<'_, std::result::Result<String, String>>;
}

/// A vendor source with its metric definitions.
#[derive(Debug, Clone)]
pub struct VendorSource {
    pub name: String,
    pub api: Arc<dyn MetricSource>,
    pub metrics: Vec<MetricQuery>,
    pub traffic_query: Option<String>,
    pub step: Duration,
}

impl VendorSource {
    /// Query every metric for both sides concurrently. Failures are gaps.
    pub async fn gather(&self, req: &MetricsRequest<'_>) -> MetricsPart {
        let who = self.api.describe();
        let window_secs = req.end.duration_since(req.start).as_secs().max(1);
        let interval = self.step.as_secs().max(1).to_string();
        let window = window_secs.to_string();
        fn vars<'a>(
            api: &dyn MetricSource,
            req: &'a MetricsRequest<'a>,
            side: &'a SideQuery,
            interval: &'a str,
            window: &str,
        ) -> Option<TemplateVars<'a>> {
            api.selector(req.rollout, side)
                .map(|selector| TemplateVars {
                    namespace: req.namespace,
                    rollout: req.rollout,
                    selector,
                    hash: side.hash.as_deref(),
                    interval,
                    window: window.to_owned(),
                })
        }
        let api = &*self.api;
        let sides = [
            (
                "canary",
                vars(api, req, &req.sides.canary, &interval, &window),
            ),
            (
                "stable",
                vars(api, req, &req.sides.stable, &interval, &window),
            ),
        ];
        let mut part = MetricsPart::default();
        for (name, v) in &sides {
            if v.is_none() {
                part.gaps.push(format!(
                    "no {name} metrics from {who}: the {name} side has neither a pod-template hash nor pods to match"
                ));
            }
        }
        let mut calls: Vec<BoxFuture<'_, (usize, usize, SideValues)>> = Vec::new();
        for (mi, m) in req.metrics.iter().enumerate() {
            for (si, (_, v)) in sides.iter().enumerate() {
                let Some(v) = v else { continue };
                let query = render(&m.query, v);
                let api = self.api.clone();
                let step = self.step;
                calls.push(Box::pin(async move {
                    let r = match query {
                        Ok(q) => match api.range(&q, req.start, req.end, step).await {
                            Ok(series) => one_series(series),
                            Err(e) => Err(format!("could not be read: {e}")),
                        },
                        Err(e) => Err(format!("could not be read: {e}")),
                    };
                    (mi, si, r)
                }));
            }
        }
        let traffic_calls: Vec<BoxFuture<'_, Option<std::result::Result<u64, String>>>> =
            match &req.traffic_query {
                Some(t) => sides
                    .iter()
                    .map(|(_, v)| {
                        let query = v.as_ref().map(|v| render(t, v));
                        let api = self.api.clone();
                        let whole = Duration::from_secs(u64::try_from(window_secs).unwrap_or(1));
                        let fut: BoxFuture<'_, _> = Box::pin(async move {
                            match query? {
                                Ok(q) => Some(
                                    api.range(&q, req.start, req.end, whole)
                                        .await
                                        .map_err(|e| e.to_string())
                                        .and_then(count_of),
                                ),
                                Err(e) => Some(Err(e.to_string())),
                            }
                        });
                        fut
                    })
                    .collect(),
                None => Vec::new(),
            };
        let (results, traffic) = tokio::join!(join_all(calls), join_all(traffic_calls));
        let mut per_metric: Vec<[Option<SideValues>; 2]> =
            req.metrics.iter().map(|_| [None, None]).collect();
        for (mi, si, r) in results {
            per_metric[mi][si] = Some(r);
        }
        for (m, [c, s]) in req.metrics.iter().zip(per_metric) {
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
                    Some(Ok(v)) => *out = v,
                    Some(Err(why)) => part
                        .gaps
                        .push(format!("metric {} ({side}) from {who}: {why}", m.name)),
                }
            }
            part.metrics.push(series);
        }
        if req.traffic_query.is_some() {
            let mut counts = [None, None];
            for (i, t) in traffic.into_iter().enumerate() {
                let side = if i == 0 { "canary" } else { "stable" };
                match t {
                    Some(Ok(n)) => counts[i] = Some(n),
                    Some(Err(e)) => part.gaps.push(format!(
                        "traffic ({side}) from {who} could not be read: {e}"
                    )),
                    None => {}
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

/// One side's values of one metric, or why there are none.
type SideValues = std::result::Result<Vec<f64>, String>;

/// The finite values of the one series a metric query must return.
fn one_series(list: Vec<Vec<f64>>) -> std::result::Result<Vec<f64>, String> {
    match list.as_slice() {
        [] => Err("the query returned no data".into()),
        [one] => {
            let v: Vec<f64> = one.iter().copied().filter(|v| v.is_finite()).collect();
            if v.is_empty() {
                Err(format!(
                    "all {} values are empty or not finite (no requests?)",
                    one.len()
                ))
            } else {
                Ok(v)
            }
        }
        many => Err(format!(
            "the query returned {} series; it must return one (aggregate them)",
            many.len()
        )),
    }
}

/// A request count: the intervals of the one series added up (no series:
/// nothing was counted, 0).
fn count_of(list: Vec<Vec<f64>>) -> std::result::Result<u64, String> {
    match list.as_slice() {
        [] => Ok(0),
        [one] => {
            let total: f64 = one.iter().filter(|v| v.is_finite()).sum();
            if total >= 0.0 {
                Ok(total.round() as u64)
            } else {
                Err(format!("expected a count, got {total}"))
            }
        }
        many => Err(format!("expected one series of counts, got {}", many.len())),
    }
}

/// Poll every future until all are done; results in input order.
async fn join_all<'a, T>(mut futs: Vec<BoxFuture<'a, T>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futs.iter_mut().zip(out.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            match Pin::new(f).poll(cx) {
                Poll::Ready(v) => *slot = Some(v),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------
// The list.

/// One configured source, ready to query.
#[derive(Debug, Clone)]
pub enum Source {
    Prometheus(Box<PrometheusGatherer>),
    Vendor(VendorSource),
}

impl Source {
    fn metrics(&self) -> &[MetricQuery] {
        match self {
            Source::Prometheus(p) => &p.config().metrics,
            Source::Vendor(v) => &v.metrics,
        }
    }

    fn traffic_query(&self) -> Option<&str> {
        match self {
            Source::Prometheus(p) => p.config().traffic_query.as_deref(),
            Source::Vendor(v) => v.traffic_query.as_deref(),
        }
    }

    /// The source's name (readiness checks are reported by it).
    pub fn name(&self) -> &str {
        match self {
            Source::Prometheus(p) => p
                .config()
                .name
                .as_deref()
                .unwrap_or(DEFAULT_PROMETHEUS_NAME),
            Source::Vendor(v) => &v.name,
        }
    }

    /// For `/readyz`: whether the source can answer.
    pub async fn ready(&self) -> std::result::Result<String, String> {
        match self {
            Source::Prometheus(p) => p.ping().await,
            Source::Vendor(v) => v.api.ready().await,
        }
    }
}

/// Build the sources of `cfg` (validated by the caller).
pub fn build(
    cfgs: &[SourceConfig],
    observer: Arc<dyn CallObserver>,
    env: &EnvLookup,
) -> Result<Vec<Source>> {
    cfgs.iter()
        .map(|c| {
            Ok(match c {
                SourceConfig::Prometheus(p) => {
                    let Some(url) = &p.url else {
                        return Err(Error::Config("a prometheus source needs a url".into()));
                    };
                    let policy = rollwise_tools::call::CallPolicy {
                        timeout: Duration::from_secs_f64(p.timeout_secs),
                        max_attempts: p.max_attempts,
                        ..Default::default()
                    };
                    let client =
                        super::prometheus::PrometheusClient::new(url, policy, observer.clone())?;
                    Source::Prometheus(Box::new(PrometheusGatherer::new(client, p.clone())))
                }
                SourceConfig::Datadog(d) => Source::Vendor(VendorSource {
                    name: d.name.clone(),
                    api: Arc::new(super::datadog::DatadogClient::new(
                        d,
                        observer.clone(),
                        env.clone(),
                    )?),
                    metrics: d.metrics.clone(),
                    traffic_query: d.traffic_query.clone(),
                    step: Duration::from_secs(d.step_secs),
                }),
                SourceConfig::Cloudwatch(cw) => Source::Vendor(VendorSource {
                    name: cw.name.clone(),
                    api: Arc::new(super::cloudwatch::CloudWatchClient::new(
                        cw,
                        observer.clone(),
                        env.clone(),
                    )?),
                    metrics: cw.metrics.clone(),
                    traffic_query: cw.traffic_query.clone(),
                    step: Duration::from_secs(cw.step_secs),
                }),
            })
        })
        .collect()
}

/// What every source is asked for one analysis.
#[derive(Debug, Clone)]
pub struct SourcesRequest<'a> {
    pub namespace: &'a str,
    pub rollout: &'a str,
    pub sides: Sides<SideQuery>,
    pub start: jiff::Timestamp,
    pub end: jiff::Timestamp,
    /// The Rollout's annotations.
    pub annotations: &'a BTreeMap<String, String>,
    /// The request's query overrides.
    pub queries: &'a BTreeMap<String, String>,
}

/// Read every source concurrently and merge their parts in source order
/// (the first source with a traffic count gives the traffic).
pub async fn gather_all(sources: &[Source], req: &SourcesRequest<'_>) -> MetricsPart {
    if sources.is_empty() {
        return MetricsPart {
            gaps: vec![
                "no metric source is configured ([gather.prometheus] url or [[gather.sources]]): no metrics were gathered".into(),
            ],
            ..Default::default()
        };
    }
    let routed = route_overrides(sources, req.annotations, req.queries);
    let mut plans = Vec::with_capacity(sources.len());
    let mut part = MetricsPart::default();
    for (s, (ann, queries)) in sources.iter().zip(routed) {
        let (metrics, traffic_query) = match effective_metrics_from(
            s.metrics().to_vec(),
            s.traffic_query().map(str::to_owned),
            &ann,
            &queries,
        ) {
            Ok(m) => m,
            Err(e) => {
                part.gaps.push(format!(
                    "the Rollout's metric annotations are unusable: {e}"
                ));
                continue;
            }
        };
        plans.push((
            s,
            MetricsRequest {
                namespace: req.namespace,
                rollout: req.rollout,
                sides: req.sides.clone(),
                start: req.start,
                end: req.end,
                metrics,
                traffic_query,
            },
        ));
    }
    let futs: Vec<BoxFuture<'_, MetricsPart>> = plans
        .iter()
        .map(|(s, r)| -> BoxFuture<'_, MetricsPart> {
            match s {
                Source::Prometheus(p) => Box::pin(p.gather(r)),
                Source::Vendor(v) => Box::pin(v.gather(r)),
            }
        })
        .collect();
    for p in join_all(futs).await {
        part.metrics.extend(p.metrics);
        part.gaps.extend(p.gaps);
        if part.traffic.is_none() {
            part.traffic = p.traffic;
        }
    }
    part
}

type Routed = (BTreeMap<String, String>, BTreeMap<String, String>);

/// Each source's share of the overrides: a metric's override goes to the
/// source that defines the metric, a new metric to the first source, the
/// traffic query to the first source that has one (else the first).
fn route_overrides(
    sources: &[Source],
    annotations: &BTreeMap<String, String>,
    queries: &BTreeMap<String, String>,
) -> Vec<Routed> {
    let owner = |name: &str| {
        sources
            .iter()
            .position(|s| s.metrics().iter().any(|m| m.name == name))
            .unwrap_or(0)
    };
    let traffic_owner = sources
        .iter()
        .position(|s| s.traffic_query().is_some())
        .unwrap_or(0);
    let mut out: Vec<Routed> = sources
        .iter()
        .map(|_| (BTreeMap::new(), BTreeMap::new()))
        .collect();
    for (k, v) in annotations {
        if let Some(name) = k.strip_prefix(QUERY_ANNOTATION_PREFIX) {
            out[owner(name)].0.insert(k.clone(), v.clone());
        } else if k == TRAFFIC_ANNOTATION {
            out[traffic_owner].0.insert(k.clone(), v.clone());
        } else if k == METRICS_ANNOTATION {
            match serde_json::from_str::<Vec<serde_json::Value>>(v) {
                Ok(defs) => {
                    let mut split: Vec<Vec<serde_json::Value>> =
                        sources.iter().map(|_| Vec::new()).collect();
                    for d in defs {
                        let i = d.get("name").and_then(|n| n.as_str()).map_or(0, owner);
                        split[i].push(d);
                    }
                    for (i, defs) in split.into_iter().enumerate() {
                        if !defs.is_empty() {
                            out[i]
                                .0
                                .insert(k.clone(), serde_json::Value::Array(defs).to_string());
                        }
                    }
                }
                // Unreadable: the first source reports it as a gap.
                Err(_) => {
                    out[0].0.insert(k.clone(), v.clone());
                }
            }
        }
    }
    for (name, q) in queries {
        out[owner(name)].1.insert(name.clone(), q.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendor(name: &str, metrics: &[&str], traffic: bool) -> Source {
        #[derive(Debug)]
        struct Nothing;
        impl MetricSource for Nothing {
            fn describe(&self) -> String {
                "nothing".into()
            }
            fn selector(&self, _: &str, _: &SideQuery) -> Option<String> {
                None
            }
            fn range<'a>(
                &'a self,
                _: &'a str,
                _: jiff::Timestamp,
                _: jiff::Timestamp,
                _: Duration,
            ) -> BoxFuture<'a, rollwise_tools::Result<Vec<Vec<f64>>>> {
                Box::pin(async { Ok(Vec::new()) })
            }
            fn ready(&self) -> BoxFuture<'_, std::result::Result<String, String>> {
                Box::pin(async { Ok(String::new()) })
            }
        }
        Source::Vendor(VendorSource {
            name: name.into(),
            api: Arc::new(Nothing),
            metrics: metrics
                .iter()
                .map(|m| MetricQuery {
                    name: (*m).into(),
                    unit: None,
                    better: Default::default(),
                    critical: false,
                    query: "q".into(),
                })
                .collect(),
            traffic_query: traffic.then(|| "t".into()),
            step: Duration::from_secs(30),
        })
    }

    #[test]
    fn overrides_go_to_the_source_that_defines_the_metric() {
        let sources = [vendor("a", &["x"], false), vendor("b", &["y"], true)];
        let map = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
        };
        let ann = map(&[
            ("rollwise.io/query.y", "yy"),
            ("rollwise.io/query.new", "nn"),
            ("rollwise.io/traffic-query", "tt"),
            (
                "rollwise.io/metrics",
                r#"[{"name":"x","query":"xx"},{"name":"y","query":"y2"}]"#,
            ),
            ("rollwise.io/repo", "org/repo"),
        ]);
        let req = map(&[("y", "from-request"), ("z", "new-from-request")]);
        let r = route_overrides(&sources, &ann, &req);
        assert_eq!(
            r[0].0.keys().collect::<Vec<_>>(),
            ["rollwise.io/metrics", "rollwise.io/query.new"]
        );
        assert_eq!(
            r[0].0["rollwise.io/metrics"],
            r#"[{"name":"x","query":"xx"}]"#
        );
        assert_eq!(
            r[1].0["rollwise.io/metrics"],
            r#"[{"name":"y","query":"y2"}]"#
        );
        assert_eq!(r[1].0["rollwise.io/query.y"], "yy");
        assert_eq!(r[1].0["rollwise.io/traffic-query"], "tt");
        assert_eq!(r[1].1["y"], "from-request");
        assert_eq!(r[0].1["z"], "new-from-request");
        assert!(!r[1].1.contains_key("z"));
        // Unreadable JSON stays with the first source, which reports it.
        let bad = map(&[("rollwise.io/metrics", "{")]);
        let r = route_overrides(&sources, &bad, &BTreeMap::new());
        assert_eq!(r[0].0["rollwise.io/metrics"], "{");
        assert!(r[1].0.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn retries_honour_retry_after_and_stop_at_the_cap() {
        #[derive(Debug, Default)]
        struct Seen(std::sync::Mutex<Vec<String>>);
        impl CallObserver for Seen {
            fn observe(&self, d: &str, op: &str, o: &str, _: Duration) {
                self.0.lock().unwrap().push(format!("{d}/{op}/{o}"));
            }
        }
        let policy = RetryPolicy::new(1.0, 3);
        let seen = Seen::default();
        let mut n = 0;
        let started = tokio::time::Instant::now();
        let r: rollwise_tools::Result<u32> =
            with_retries(&policy, &seen, "datadog", "query", "q", || {
                n += 1;
                let k = n;
                async move {
                    if k == 1 {
                        Err(Failed {
                            error: rollwise_tools::Error::Api {
                                service: "datadog",
                                code: 429,
                                message: "slow down".into(),
                            },
                            retry_after: Some(Duration::from_secs(4)),
                        })
                    } else {
                        Ok(k)
                    }
                }
            })
            .await;
        assert_eq!(r.unwrap(), 2);
        assert!(started.elapsed() >= Duration::from_secs(4));
        assert_eq!(
            *seen.0.lock().unwrap(),
            ["datadog/query/rate_limited", "datadog/query/ok"]
        );
        // A wait beyond the cap is not taken: the call fails at once.
        let seen = Seen::default();
        let r: rollwise_tools::Result<u32> =
            with_retries(&policy, &seen, "datadog", "query", "q", || async {
                Err(Failed {
                    error: rollwise_tools::Error::Api {
                        service: "datadog",
                        code: 429,
                        message: "slow down".into(),
                    },
                    retry_after: Some(Duration::from_secs(600)),
                })
            })
            .await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("asked to retry after 600s"), "{e}");
        assert_eq!(seen.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn backoff_is_jittered_within_half_to_full() {
        let p = RetryPolicy::new(1.0, 5);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let d = jittered_backoff(&p, 1);
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(400),
                "{d:?}"
            );
            distinct.insert(d);
        }
        assert!(distinct.len() > 1, "no jitter: {distinct:?}");
        assert!(jittered_backoff(&p, 10) <= p.max_backoff);
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_a_fallback() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h, None), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, None), Some(Duration::ZERO));
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-reset", "7".parse().unwrap());
        assert_eq!(
            retry_after(&h, Some("x-ratelimit-reset")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_after(&h, None), None);
    }

    #[test]
    fn secrets_never_show_and_files_win() {
        let env: EnvLookup = Arc::new(|k| (k == "K").then(|| " v4lue \n".to_owned()));
        let s = read_secret(&env, "K", None).unwrap();
        assert_eq!(s.expose(), "v4lue");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(
            read_secret(&env, "OTHER", None).unwrap_err(),
            "OTHER is not set"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "fr0m-file\n").unwrap();
        assert_eq!(
            read_secret(&env, "K", Some(&f)).unwrap().expose(),
            "fr0m-file"
        );
        let e = read_secret(&env, "K", Some(&dir.path().join("none"))).unwrap_err();
        assert!(e.contains("cannot be read") && !e.contains("v4lue"), "{e}");
    }

    #[test]
    fn counts_and_series_are_checked() {
        assert_eq!(
            one_series(vec![vec![1.0, f64::NAN, 2.0]]).unwrap(),
            [1.0, 2.0]
        );
        assert!(one_series(vec![]).is_err());
        assert!(one_series(vec![vec![f64::NAN]]).is_err());
        assert!(one_series(vec![vec![1.0], vec![2.0]]).is_err());
        assert_eq!(count_of(vec![]).unwrap(), 0);
        assert_eq!(count_of(vec![vec![10.4, f64::NAN, 5.0]]).unwrap(), 15);
        assert!(count_of(vec![vec![-3.0]]).is_err());
    }
}
