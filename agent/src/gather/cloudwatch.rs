//! CloudWatch → metric series: `GetMetricData` through CloudWatch's Query
//! API (a form-encoded `POST /` with `Action=GetMetricData&Version=2010-08-01`,
//! answered in XML, the protocol the API Reference documents), signed with
//! Signature Version 4.
//!
//! Each metric's template is one `Expression` of a `MetricDataQuery`: a
//! Metrics Insights query (`SELECT SUM(...) FROM ... WHERE {{selector}}`) or
//! metric math. `{{selector}}` is a WHERE condition:
//! `rollouts_pod_template_hash = '<hash>'` (`hash-dimension`) or
//! `(FullPodName = 'a' OR FullPodName = 'b')` (`pod-dimension`);
//! `{{interval}}` is the period in seconds, `{{window}}` the window in seconds.
//!
//! Credentials, in order: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`
//! (+ `AWS_SESSION_TOKEN`); else web identity (IRSA):
//! `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` exchanged
//! with STS `AssumeRoleWithWebIdentity` (unsigned, Query API), cached until
//! five minutes before they expire. Neither: every query is a gap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rollwise_tools::call::CallObserver;
use serde::{Deserialize, Serialize};

use super::datadog::{default_attempts, default_max_retry_after, default_step, default_timeout};
use super::kube::SeriesMatch;
use super::prometheus::{MetricQuery, SideQuery};
use super::sources::{
    EnvLookup, Failed, MAX_BODY_BYTES, MetricSource, RetryPolicy, Secret, body_bounded,
    check_vendor_common, read_secret, retry_after, snippet, transport, with_retries,
};
use crate::error::{Error, Result};
use crate::llm::BoxFuture;

const SERVICE: &str = "cloudwatch";
const STS: &str = "sts";
/// Pages of one query followed (NextToken) before the rest is a gap.
const MAX_PAGES: usize = 10;

/// A `[[gather.sources]]` entry with `kind = "cloudwatch"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CloudWatchConfig {
    pub name: String,
    /// Unset: `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Unset: `https://monitoring.<region>.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Unset: `https://sts.<region>.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
    #[serde(default = "default_hash_dimension")]
    pub hash_dimension: String,
    #[serde(default = "default_pod_dimension")]
    pub pod_dimension: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_secs: u64,
    /// The `Period` of every query: one value per step per side.
    #[serde(default = "default_step")]
    pub step_secs: u64,
    pub metrics: Vec<MetricQuery>,
    /// Requests per side: a count per period (`SUM`), added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_query: Option<String>,
}

fn default_hash_dimension() -> String {
    "rollouts_pod_template_hash".into()
}
fn default_pod_dimension() -> String {
    "FullPodName".into()
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && s.len() <= 255
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

impl CloudWatchConfig {
    pub fn validate(&self) -> Result<()> {
        check_vendor_common(
            "cloudwatch",
            &self.name,
            self.timeout_secs,
            self.max_attempts,
            self.step_secs,
            &self.metrics,
            self.traffic_query.as_deref(),
        )?;
        let err = |m: String| Error::Config(format!("gather.sources {:?}: {m}", self.name));
        // CloudWatch periods: 1, 5, 10, 30 or a multiple of 60 seconds.
        if ![1, 5, 10, 30].contains(&self.step_secs) && !self.step_secs.is_multiple_of(60) {
            return Err(err(format!(
                "step-secs {} is not a CloudWatch period (1, 5, 10, 30 or a multiple of 60)",
                self.step_secs
            )));
        }
        for d in [&self.hash_dimension, &self.pod_dimension] {
            if !is_identifier(d) {
                return Err(err(format!("{d:?} is not a dimension name")));
            }
        }
        if let Some(r) = &self.region
            && !is_region(r)
        {
            return Err(err(format!("region {r:?} is not an AWS region name")));
        }
        for u in self.endpoint.iter().chain(&self.sts_endpoint) {
            reqwest::Url::parse(u).map_err(|e| err(format!("endpoint {u:?}: {e}")))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Signature Version 4.

/// AWS credentials; the secret parts never appear in `Debug`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// Temporary credentials expire; static ones do not.
    pub expires: Option<jiff::Timestamp>,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, data).as_ref().to_vec()
}

/// What SigV4 signs of one request.
#[derive(Debug, Clone)]
pub struct SigningInput<'a> {
    pub method: &'a str,
    /// The URI path, already URI-encoded (`/` for the Query API).
    pub path: &'a str,
    /// The query string as sent (`a=1&b=2`), already encoded; sorted here.
    pub query: &'a str,
    /// Every header to sign, `host` and `x-amz-date` included.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` header's value.
    pub amz_date: &'a str,
}

/// The `Authorization` header of a request signed with SigV4 (AWS's
/// "Create a signed AWS API request": canonical request, string to sign,
/// the derived key chain, HMAC-SHA256).
pub fn authorization(input: &SigningInput<'_>, access_key_id: &str, secret: &str) -> String {
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let mut pairs: Vec<(&str, &str)> = input
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        input.path,
        query.join("&"),
        canonical_headers,
        signed,
        sha256_hex(input.payload)
    );
    let date = input.amz_date.get(..8).unwrap_or(input.amz_date);
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.amz_date,
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, input.region.as_bytes());
    let k_service = hmac(&k_region, input.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
}

fn amz_date(t: jiff::Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The `Host` header reqwest sends for `url` (the port only when not the default).
fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// `application/x-www-form-urlencoded` of `pairs` (the WHATWG byte set:
/// alphanumerics and `*-._` as they are, space as `+`, the rest `%XX`).
fn form(pairs: &[(&str, String)]) -> String {
    fn enc(out: &mut String, s: &str) {
        for b in s.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b))
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(&mut out, k);
        out.push('=');
        enc(&mut out, v);
    }
    out
}

// ---------------------------------------------------------------------------
// The Query API's XML.

#[derive(Debug, Deserialize)]
struct Members<T> {
    #[serde(default = "Vec::new")]
    member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricDataResponse {
    get_metric_data_result: GetMetricDataResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricDataResult {
    #[serde(default)]
    metric_data_results: Members<MetricDataResult>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    messages: Members<MessageData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDataResult {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    timestamps: Members<String>,
    #[serde(default)]
    values: Members<f64>,
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    messages: Members<MessageData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageData {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    assume_role_with_web_identity_result: AssumeRoleResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResult {
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Error codes AWS returns (as HTTP 400) for throttling: retried like a 429.
const THROTTLING: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// A failed Query API call: its code and message, throttling as 429.
fn api_failure(service: &'static str, code: u16, headers: &http::HeaderMap, body: &[u8]) -> Failed {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<ErrorResponse> = quick_xml::de::from_str(&text).ok();
    let (err_code, message) = match &parsed {
        Some(e) => (
            e.error.code.clone().unwrap_or_default(),
            e.error.message.clone().unwrap_or_default(),
        ),
        None => (String::new(), snippet(body, 300)),
    };
    let throttled = code == 429 || THROTTLING.contains(&err_code.as_str());
    let code = if throttled { 429 } else { code };
    Failed {
        error: rollwise_tools::Error::Api {
            service,
            code,
            message: if err_code.is_empty() {
                message
            } else {
                format!("{err_code}: {message}")
            },
        },
        retry_after: if throttled || code >= 500 {
            retry_after(headers, None)
        } else {
            None
        },
    }
}

// ---------------------------------------------------------------------------
// The client.

/// `GetMetricData` of one CloudWatch source, with its credentials.
#[derive(Clone)]
pub struct CloudWatchClient {
    name: String,
    cfg: CloudWatchConfig,
    http: reqwest::Client,
    policy: RetryPolicy,
    observer: Arc<dyn CallObserver>,
    env: EnvLookup,
    cache: Arc<tokio::sync::Mutex<Option<Credentials>>>,
    /// The clock signatures are dated by (tests: AWS's test-vector time).
    now: fn() -> jiff::Timestamp,
}

impl std::fmt::Debug for CloudWatchClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchClient")
            .field("name", &self.name)
            .field("region", &self.cfg.region)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Where credentials come from, as the environment says.
#[derive(Debug)]
enum CredentialSource {
    Static(Credentials),
    WebIdentity {
        token_file: PathBuf,
        role_arn: String,
        session_name: String,
    },
}

impl CloudWatchClient {
    pub fn new(
        cfg: &CloudWatchConfig,
        observer: Arc<dyn CallObserver>,
        env: EnvLookup,
    ) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let mut policy = RetryPolicy::new(cfg.timeout_secs, cfg.max_attempts);
        policy.max_retry_after = Duration::from_secs(cfg.max_retry_after_secs);
        Ok(CloudWatchClient {
            name: cfg.name.clone(),
            cfg: cfg.clone(),
            http,
            policy,
            observer,
            env,
            cache: Arc::default(),
            now: jiff::Timestamp::now,
        })
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn region(&self) -> rollwise_tools::Result<String> {
        self.cfg
            .region
            .clone()
            .or_else(|| (self.env)("AWS_REGION"))
            .or_else(|| (self.env)("AWS_DEFAULT_REGION"))
            .filter(|r| is_region(r))
            .ok_or_else(|| {
                rollwise_tools::Error::Config(
                    "no AWS region: set region in the source, or AWS_REGION".into(),
                )
            })
    }

    fn endpoint(&self, region: &str) -> rollwise_tools::Result<reqwest::Url> {
        let u = self
            .cfg
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://monitoring.{region}.amazonaws.com/"));
        reqwest::Url::parse(&u).map_err(|e| rollwise_tools::Error::Config(format!("{u:?}: {e}")))
    }

    fn credential_source(&self) -> rollwise_tools::Result<CredentialSource> {
        let none = |why: &str| {
            rollwise_tools::Error::Config(format!(
                "no AWS credentials ({why}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (IRSA)"
            ))
        };
        let key = read_secret(&self.env, "AWS_ACCESS_KEY_ID", None);
        let secret = read_secret(&self.env, "AWS_SECRET_ACCESS_KEY", None);
        match (key, secret) {
            (Ok(k), Ok(s)) => {
                return Ok(CredentialSource::Static(Credentials {
                    access_key_id: k.expose().to_owned(),
                    secret_access_key: s,
                    session_token: read_secret(&self.env, "AWS_SESSION_TOKEN", None).ok(),
                    expires: None,
                }));
            }
            (Ok(_), Err(_)) => return Err(none("AWS_SECRET_ACCESS_KEY is not set")),
            (Err(_), Ok(_)) => return Err(none("AWS_ACCESS_KEY_ID is not set")),
            (Err(_), Err(_)) => {}
        }
        match (
            (self.env)("AWS_WEB_IDENTITY_TOKEN_FILE"),
            (self.env)("AWS_ROLE_ARN"),
        ) {
            (Some(f), Some(role)) if !f.is_empty() && !role.is_empty() => {
                Ok(CredentialSource::WebIdentity {
                    token_file: PathBuf::from(f),
                    role_arn: role,
                    session_name: (self.env)("AWS_ROLE_SESSION_NAME")
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "rollwise".into()),
                })
            }
            (Some(_), None) => Err(none("AWS_ROLE_ARN is not set")),
            _ => Err(none("none in the environment")),
        }
    }

    /// Credentials for the next call: static ones, or cached temporary ones
    /// while they have more than five minutes left, else fresh from STS.
    pub async fn credentials(&self) -> rollwise_tools::Result<Credentials> {
        let (token_file, role_arn, session_name) = match self.credential_source()? {
            CredentialSource::Static(c) => return Ok(c),
            CredentialSource::WebIdentity {
                token_file,
                role_arn,
                session_name,
            } => (token_file, role_arn, session_name),
        };
        let mut cache = self.cache.lock().await;
        let fresh_until = (self.now)() + jiff::SignedDuration::from_secs(300);
        if let Some(c) = cache.as_ref()
            && c.expires.is_some_and(|e| e > fresh_until)
        {
            return Ok(c.clone());
        }
        let c = self
            .assume_role(&token_file, &role_arn, &session_name)
            .await?;
        *cache = Some(c.clone());
        Ok(c)
    }

    async fn assume_role(
        &self,
        token_file: &std::path::Path,
        role_arn: &str,
        session_name: &str,
    ) -> rollwise_tools::Result<Credentials> {
        let region = self.region()?;
        let url = self
            .cfg
            .sts_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"));
        let url = reqwest::Url::parse(&url)
            .map_err(|e| rollwise_tools::Error::Config(format!("{url:?}: {e}")))?;
        // The projected token is rotated by the kubelet: read it each time.
        let token = read_secret(&self.env, "", Some(token_file)).map_err(|why| {
            rollwise_tools::Error::Config(format!("the web identity token: {why}"))
        })?;
        let body = form(&[
            ("Action", "AssumeRoleWithWebIdentity".into()),
            ("Version", "2011-06-15".into()),
            ("RoleArn", role_arn.to_owned()),
            ("RoleSessionName", session_name.to_owned()),
            ("WebIdentityToken", token.expose().to_owned()),
        ]);
        let what = format!("STS AssumeRoleWithWebIdentity ({})", self.name);
        with_retries(
            &self.policy,
            &*self.observer,
            STS,
            "assume_role_with_web_identity",
            &what,
            || async {
                let res = self
                    .http
                    .post(url.clone())
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded; charset=utf-8",
                    )
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| Failed::from(transport(STS, &e)))?;
                let code = res.status().as_u16();
                let headers = res.headers().clone();
                let bytes = body_bounded(res, STS, MAX_BODY_BYTES)
                    .await
                    .map_err(Failed::from)?;
                if !(200..300).contains(&code) {
                    return Err(api_failure(STS, code, &headers, &bytes));
                }
                let r: AssumeRoleResponse =
                    quick_xml::de::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                        Failed::from(rollwise_tools::Error::Decode {
                            service: STS,
                            message: format!("not an AssumeRoleWithWebIdentityResponse: {e}"),
                        })
                    })?;
                let c = r.assume_role_with_web_identity_result.credentials;
                let expires = c.expiration.parse::<jiff::Timestamp>().map_err(|e| {
                    Failed::from(rollwise_tools::Error::Decode {
                        service: STS,
                        message: format!("Expiration {:?}: {e}", c.expiration),
                    })
                })?;
                Ok(Credentials {
                    access_key_id: c.access_key_id,
                    secret_access_key: Secret::new(c.secret_access_key),
                    session_token: Some(Secret::new(c.session_token)),
                    expires: Some(expires),
                })
            },
        )
        .await
    }

    /// One `GetMetricData` expression over the window, all pages: one value
    /// list per result label.
    pub async fn get_metric_data(
        &self,
        expression: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        period: Duration,
    ) -> rollwise_tools::Result<Vec<Vec<f64>>> {
        let region = self.region()?;
        let url = self.endpoint(&region)?;
        let creds = self.credentials().await?;
        let whole = |t: jiff::Timestamp| {
            jiff::Timestamp::from_second(t.as_second())
                .unwrap_or(t)
                .to_string()
        };
        let mut series: Vec<(String, Vec<f64>)> = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![
                ("Action", "GetMetricData".to_owned()),
                ("Version", "2010-08-01".to_owned()),
                ("StartTime", whole(start)),
                ("EndTime", whole(end)),
                ("ScanBy", "TimestampAscending".to_owned()),
                ("MetricDataQueries.member.1.Id", "q".to_owned()),
                (
                    "MetricDataQueries.member.1.Expression",
                    expression.to_owned(),
                ),
                (
                    "MetricDataQueries.member.1.Period",
                    period.as_secs().max(1).to_string(),
                ),
                ("MetricDataQueries.member.1.ReturnData", "true".to_owned()),
            ];
            if let Some(t) = &next {
                params.push(("NextToken", t.clone()));
            }
            let page = self.page(&url, &region, &creds, &form(&params)).await?;
            for r in page.metric_data_results.member {
                match r.status_code.as_deref() {
                    Some("InternalError") | Some("Forbidden") => {
                        let why: Vec<String> = r
                            .messages
                            .member
                            .iter()
                            .filter_map(|m| m.value.clone().or_else(|| m.code.clone()))
                            .collect();
                        return Err(rollwise_tools::Error::Api {
                            service: SERVICE,
                            code: 422,
                            message: format!(
                                "result {} is {}: {}",
                                r.id,
                                r.status_code.as_deref().unwrap_or_default(),
                                why.join("; ")
                            ),
                        });
                    }
                    _ => {}
                }
                if r.timestamps.member.len() != r.values.member.len() {
                    return Err(rollwise_tools::Error::Decode {
                        service: SERVICE,
                        message: format!(
                            "result {}: {} timestamps but {} values",
                            r.id,
                            r.timestamps.member.len(),
                            r.values.member.len()
                        ),
                    });
                }
                let key = format!("{}\u{0}{}", r.id, r.label.unwrap_or_default());
                match series.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.extend(r.values.member),
                    None => series.push((key, r.values.member)),
                }
            }
            // Top-level messages (a query over Metrics Insights' three
            // hours, say) come with no results: say them instead of "no data".
            if series.is_empty()
                && page.next_token.is_none()
                && let Some(m) = page.messages.member.first()
            {
                return Err(rollwise_tools::Error::Api {
                    service: SERVICE,
                    code: 422,
                    message: format!(
                        "{}: {}",
                        m.code.as_deref().unwrap_or("message"),
                        m.value.as_deref().unwrap_or_default()
                    ),
                });
            }
            next = page.next_token.filter(|t| !t.is_empty());
            if next.is_none() {
                return Ok(series.into_iter().map(|(_, v)| v).collect());
            }
        }
        Err(rollwise_tools::Error::Decode {
            service: SERVICE,
            message: format!("more than {MAX_PAGES} pages of results; narrow the query"),
        })
    }

    async fn page(
        &self,
        url: &reqwest::Url,
        region: &str,
        creds: &Credentials,
        body: &str,
    ) -> rollwise_tools::Result<GetMetricDataResult> {
        let what = format!("CloudWatch GetMetricData ({})", self.name);
        let host = host_header(url);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        with_retries(
            &self.policy,
            &*self.observer,
            SERVICE,
            "get_metric_data",
            &what,
            || async {
                // Signed per attempt: a retry carries a current date.
                let date = amz_date((self.now)());
                let mut headers: Vec<(&str, &str)> = vec![
                    ("content-type", content_type),
                    ("host", &host),
                    ("x-amz-date", &date),
                ];
                if let Some(t) = &creds.session_token {
                    headers.push(("x-amz-security-token", t.expose()));
                }
                let auth = authorization(
                    &SigningInput {
                        method: "POST",
                        path: if url.path().is_empty() {
                            "/"
                        } else {
                            url.path()
                        },
                        query: url.query().unwrap_or_default(),
                        headers: &headers,
                        payload: body.as_bytes(),
                        region,
                        service: "monitoring",
                        amz_date: &date,
                    },
                    &creds.access_key_id,
                    creds.secret_access_key.expose(),
                );
                let mut req = self
                    .http
                    .post(url.clone())
                    .header(http::header::CONTENT_TYPE, content_type)
                    .header("x-amz-date", &date)
                    .header(http::header::AUTHORIZATION, auth)
                    .body(body.to_owned());
                if let Some(t) = &creds.session_token {
                    req = req.header("x-amz-security-token", t.expose());
                }
                let res = req
                    .send()
                    .await
                    .map_err(|e| Failed::from(transport(SERVICE, &e)))?;
                let code = res.status().as_u16();
                let headers = res.headers().clone();
                let bytes = body_bounded(res, SERVICE, MAX_BODY_BYTES)
                    .await
                    .map_err(Failed::from)?;
                if !(200..300).contains(&code) {
                    return Err(api_failure(SERVICE, code, &headers, &bytes));
                }
                let r: GetMetricDataResponse =
                    quick_xml::de::from_str(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                        Failed::from(rollwise_tools::Error::Decode {
                            service: SERVICE,
                            message: format!("not a GetMetricDataResponse: {e}"),
                        })
                    })?;
                Ok(r.get_metric_data_result)
            },
        )
        .await
    }
}

impl MetricSource for CloudWatchClient {
    fn describe(&self) -> String {
        format!("cloudwatch source {:?}", self.name)
    }

    fn selector(&self, _rollout: &str, side: &SideQuery) -> Option<String> {
        match &side.series {
            SeriesMatch::Hash(h) => Some(format!("{} = '{h}'", self.cfg.hash_dimension)),
            SeriesMatch::Pods(names) => {
                // Pod names are DNS subdomains: no quote can reach the query.
                let ok: Vec<String> = names
                    .iter()
                    .filter(|n| rollwise_tools::kube::validate::object_name(n).is_ok())
                    .map(|n| format!("{} = '{n}'", self.cfg.pod_dimension))
                    .collect();
                match ok.len() {
                    0 => None,
                    1 => ok.into_iter().next(),
                    _ => Some(format!("({})", ok.join(" OR "))),
                }
            }
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
        Box::pin(self.get_metric_data(query, start, end, step))
    }

    fn ready(&self) -> BoxFuture<'_, std::result::Result<String, String>> {
        Box::pin(async move {
            let region = self.region().map_err(|e| e.to_string())?;
            let how = match self.credential_source().map_err(|e| e.to_string())? {
                CredentialSource::Static(_) => "static credentials",
                CredentialSource::WebIdentity { .. } => "web identity",
            };
            Ok(format!("region {region}, {how}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollwise_tools::call::Retryable;

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn vector(method: &str, query: &str, headers: &[(&str, &str)], payload: &[u8]) -> String {
        authorization(
            &SigningInput {
                method,
                path: "/",
                query,
                headers,
                payload,
                region: "us-east-1",
                service: "service",
                amz_date: "20150830T123600Z",
            },
            KEY,
            SECRET,
        )
    }

    /// AWS's published Signature Version 4 test suite (credentials, date,
    /// region and service of the suite's `context.json`).
    #[test]
    fn aws_sigv4_test_suite_vectors() {
        let base = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        // get-vanilla
        assert_eq!(
            vector("GET", "", &base, b""),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // get-vanilla-query-order-key-case: parameters are sorted first.
        assert!(
            vector("GET", "Param2=value2&Param1=value1", &base, b"").ends_with(
                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
        // post-x-www-form-urlencoded: the body is hashed into the signature.
        let form_headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        assert_eq!(
            vector("POST", "", &form_headers, b"Param1=value1"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
        assert_eq!(
            sha256_hex(b"Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
    }

    #[test]
    fn query_api_xml_decodes() {
        let xml = r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <GetMetricDataResult>
    <MetricDataResults>
      <member>
        <Timestamps><member>2026-12-07T16:00:00Z</member><member>2026-12-07T16:00:30Z</member></Timestamps>
        <Values><member>0.5</member><member>1.25</member></Values>
        <Label>q</Label><Id>q</Id><StatusCode>Complete</StatusCode><Messages/>
      </member>
    </MetricDataResults>
    <Messages/>
  </GetMetricDataResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</GetMetricDataResponse>"#;
        let r: GetMetricDataResponse = quick_xml::de::from_str(xml).unwrap();
        let res = &r.get_metric_data_result.metric_data_results.member[0];
        assert_eq!(res.values.member, [0.5, 1.25]);
        assert_eq!(res.timestamps.member.len(), 2);
        assert!(r.get_metric_data_result.next_token.is_none());
        let empty = r#"<GetMetricDataResponse><GetMetricDataResult><MetricDataResults/><NextToken>t2</NextToken></GetMetricDataResult></GetMetricDataResponse>"#;
        let r: GetMetricDataResponse = quick_xml::de::from_str(empty).unwrap();
        assert!(
            r.get_metric_data_result
                .metric_data_results
                .member
                .is_empty()
        );
        assert_eq!(r.get_metric_data_result.next_token.as_deref(), Some("t2"));
        let h = http::HeaderMap::new();
        let f = api_failure(
            SERVICE,
            400,
            &h,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        );
        assert_eq!(
            f.error.to_string(),
            "cloudwatch API error 429: Throttling: Rate exceeded"
        );
        assert!(f.error.is_transient());
    }
}
