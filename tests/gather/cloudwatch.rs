//! CloudWatch `GetMetricData` (Query API) through a wire-level fake that
//! asserts every request: the documented parameters, the SigV4
//! Authorization header's shape and its signature recomputed over what
//! arrived; NextToken paging; credentials from the environment and from web
//! identity through a fake STS; throttling then success; no credentials and a
//! dead port as gaps that never promote.

use std::sync::Arc;
use std::time::Duration;

use rollwise::evidence::{Decision, Sides};
use rollwise::gather::CallMetrics;
use rollwise::gather::cloudwatch::{
    CloudWatchClient, CloudWatchConfig, SigningInput, authorization,
};
use rollwise::gather::kube::SeriesMatch;
use rollwise::gather::prometheus::{MetricsRequest, SideQuery};
use rollwise::gather::sources::{EnvLookup, RetryPolicy, VendorSource};

use super::vendor_fake::*;

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
const STS_KEY_ID: &str = "ASgeIAIOSFODNN7EXAMPLE";
const STS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
const STS_TOKEN: &str = "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE";

const ERRORS: &str = "SELECT SUM(http_requests_5xx) FROM \"ContainerInsights/Prometheus\" WHERE Namespace = '{{namespace}}' AND {{selector}}";

fn config(endpoint: &str, sts: Option<&str>) -> CloudWatchConfig {
    let sts = sts
        .map(|s| format!("sts-endpoint = \"{s}\"\n"))
        .unwrap_or_default();
    let toml = format!(
        r#"
name = "cw"
region = "us-east-1"
endpoint = "{endpoint}/"
{sts}step-secs = 30

[[metrics]]
name = "errors"
better = "lower"
critical = true
query = '''{ERRORS}'''
"#
    );
    let cfg: CloudWatchConfig = toml::from_str(&toml).unwrap();
    cfg.validate().unwrap();
    cfg
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> EnvLookup {
    Arc::new(move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn static_env() -> EnvLookup {
    env(&[
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ])
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        timeout: Duration::from_millis(500),
        max_attempts: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(3),
    }
}

fn client(cfg: &CloudWatchConfig, metrics: &CallMetrics, env: EnvLookup) -> CloudWatchClient {
    CloudWatchClient::new(cfg, Arc::new(metrics.clone()), env)
        .unwrap()
        .with_policy(policy())
}

fn vendor(cfg: &CloudWatchConfig, metrics: &CallMetrics, env: EnvLookup) -> VendorSource {
    VendorSource {
        name: cfg.name.clone(),
        api: Arc::new(client(cfg, metrics, env)),
        metrics: cfg.metrics.clone(),
        traffic_query: None,
        step: Duration::from_secs(cfg.step_secs),
    }
}

fn end() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_790_000_000).unwrap()
}

fn request(cfg: &CloudWatchConfig) -> MetricsRequest<'static> {
    let side = |h: &str| SideQuery {
        series: SeriesMatch::Hash(h.to_owned()),
        pods: vec![],
        hash: Some(h.to_owned()),
    };
    MetricsRequest {
        namespace: "shop",
        rollout: "checkout",
        sides: Sides {
            canary: side("c4n4ry"),
            stable: side("st4bl3"),
        },
        start: end() - jiff::SignedDuration::from_secs(300),
        end: end(),
        metrics: cfg.metrics.clone(),
        traffic_query: None,
    }
}

/// The parameters GetMetricData documents (API Reference, "Request
/// Parameters" and "Common Parameters"), as this client sends them.
const DOCUMENTED: [&str; 10] = [
    "Action",
    "Version",
    "StartTime",
    "EndTime",
    "ScanBy",
    "NextToken",
    "MetricDataQueries.member.1.Id",
    "MetricDataQueries.member.1.Expression",
    "MetricDataQueries.member.1.Period",
    "MetricDataQueries.member.1.ReturnData",
];

/// Checks a GetMetricData request as CloudWatch would: the parameters, then
/// the signature recomputed over the headers and body that arrived.
fn assert_signed_get_metric_data(s: &Seen, key_id: &str, secret: &str, token: &str) {
    assert_eq!(s.method, "POST");
    assert_eq!(s.path, "/");
    assert_eq!(
        s.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    let form = s.form();
    for k in form.keys() {
        assert!(
            DOCUMENTED.contains(&k.as_str()),
            "undocumented parameter {k}"
        );
    }
    assert_eq!(form["Action"], "GetMetricData");
    assert_eq!(form["Version"], "2010-08-01");
    assert_eq!(form["StartTime"], "2026-09-21T15:28:20Z");
    assert_eq!(form["EndTime"], "2026-09-21T15:33:20Z");
    assert_eq!(form["ScanBy"], "TimestampAscending");
    assert_eq!(form["MetricDataQueries.member.1.Id"], "q");
    assert_eq!(form["MetricDataQueries.member.1.Period"], "30");
    assert_eq!(form["MetricDataQueries.member.1.ReturnData"], "true");

    let date = s.header("x-amz-date").unwrap();
    assert_eq!(date.len(), 16, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[8] == b'T', "{date}");
    assert_eq!(s.header("x-amz-security-token"), Some(token));
    let auth = s.header("authorization").unwrap();
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{}/us-east-1/monitoring/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=",
        &date[..8]
    );
    assert!(auth.starts_with(&prefix), "{auth}");
    let sig = &auth[prefix.len()..];
    assert!(
        sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sig}"
    );
    let host = s.header("host").unwrap();
    let headers = [
        ("content-type", s.header("content-type").unwrap()),
        ("host", host),
        ("x-amz-date", date),
        ("x-amz-security-token", token),
    ];
    let expected = authorization(
        &SigningInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: &s.body,
            region: "us-east-1",
            service: "monitoring",
            amz_date: date,
        },
        key_id,
        secret,
    );
    assert_eq!(auth, expected, "the signature does not cover what was sent");
}

#[tokio::test]
async fn get_metric_data_is_signed_paged_and_rendered_per_side() {
    let fake = Fake::start(Arc::new(|s, _| {
        if s.form().contains_key("NextToken") {
            Answer::xml(200, &data("cloudwatch/get-metric-data-page2.xml"))
        } else {
            Answer::xml(200, &data("cloudwatch/get-metric-data-page1.xml"))
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let cfg = config(&fake.url, None);
    // 2026-09-21T15:33:20Z
    let end = jiff::Timestamp::from_second(1_790_004_800).unwrap();
    let mut req = request(&cfg);
    req.start = end - jiff::SignedDuration::from_secs(300);
    req.end = end;
    let part = vendor(&cfg, &metrics, static_env()).gather(&req).await;
    assert!(part.gaps.is_empty(), "{:#?}", part.gaps);
    assert_eq!(part.metrics[0].canary, [0.012, 0.009, 0.011]);
    assert_eq!(part.metrics[0].stable, [0.012, 0.009, 0.011]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 4, "two pages per side");
    for s in &seen {
        assert_signed_get_metric_data(s, KEY_ID, SECRET, TOKEN);
    }
    let mut expressions: Vec<String> = seen
        .iter()
        .map(|s| s.form()["MetricDataQueries.member.1.Expression"].clone())
        .collect();
    expressions.sort();
    expressions.dedup();
    assert_eq!(
        expressions,
        [
            "SELECT SUM(http_requests_5xx) FROM \"ContainerInsights/Prometheus\" WHERE Namespace = 'shop' AND rollouts_pod_template_hash = 'c4n4ry'",
            "SELECT SUM(http_requests_5xx) FROM \"ContainerInsights/Prometheus\" WHERE Namespace = 'shop' AND rollouts_pod_template_hash = 'st4bl3'",
        ]
    );
    let second: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.form().contains_key("NextToken"))
        .collect();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].form()["NextToken"], "eyJwYWdlIjoyfQ==");
    assert_eq!(metrics.count("cloudwatch", "get_metric_data", "ok"), 4);
}

#[tokio::test]
async fn web_identity_credentials_come_from_sts_once_and_sign_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln\n",
    )
    .unwrap();
    let token_path: &'static str = Box::leak(token_file.display().to_string().into_boxed_str());
    let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/rollwise-reader",
        ),
        ("AWS_ROLE_SESSION_NAME", "rollwise-test"),
    ]));
    let fake = Fake::start(Arc::new(|s, _| {
        if s.path == "/sts/" {
            Answer::xml(200, &data("cloudwatch/assume-role-with-web-identity.xml"))
        } else {
            Answer::xml(200, &data("cloudwatch/get-metric-data-page2.xml"))
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let cfg = config(&fake.url, Some(&format!("{}/sts/", fake.url)));
    let end = jiff::Timestamp::from_second(1_790_004_800).unwrap();
    let mut req = request(&cfg);
    req.start = end - jiff::SignedDuration::from_secs(300);
    req.end = end;
    let part = vendor(&cfg, &metrics, env(pairs)).gather(&req).await;
    assert!(part.gaps.is_empty(), "{:#?}", part.gaps);
    let seen = fake.seen();
    let sts: Vec<&Seen> = seen.iter().filter(|s| s.path == "/sts/").collect();
    // Both sides ask at once; the cache lock makes one exchange serve both.
    assert_eq!(sts.len(), 1, "credentials are cached");
    let form = sts[0].form();
    assert_eq!(sts[0].method, "POST");
    assert_eq!(form["Action"], "AssumeRoleWithWebIdentity");
    assert_eq!(form["Version"], "2011-06-15");
    assert_eq!(
        form["RoleArn"],
        "arn:aws:iam::123456789012:role/rollwise-reader"
    );
    assert_eq!(form["RoleSessionName"], "rollwise-test");
    assert_eq!(
        form["WebIdentityToken"],
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2ln"
    );
    assert_eq!(form.len(), 5, "{form:?}");
    assert!(
        sts[0].header("authorization").is_none(),
        "AssumeRoleWithWebIdentity is unsigned"
    );
    let calls: Vec<&Seen> = seen.iter().filter(|s| s.path == "/").collect();
    assert_eq!(calls.len(), 2);
    for s in calls {
        assert_signed_get_metric_data(s, STS_KEY_ID, STS_SECRET, STS_TOKEN);
    }
    assert_eq!(
        metrics.count("sts", "assume_role_with_web_identity", "ok"),
        1
    );
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let fake = Fake::start(Arc::new(|_, n| {
        if n == 1 {
            Answer::xml(400, &data("cloudwatch/throttling.xml"))
        } else {
            Answer::xml(200, &data("cloudwatch/get-metric-data-page2.xml"))
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let c = client(&config(&fake.url, None), &metrics, static_env());
    let v = c
        .get_metric_data("SELECT 1", end(), end(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(v, [vec![0.011]]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(
        metrics.count("cloudwatch", "get_metric_data", "rate_limited"),
        1
    );
    assert_eq!(metrics.count("cloudwatch", "get_metric_data", "ok"), 1);
}

#[tokio::test]
async fn no_credentials_are_a_gap_without_a_request() {
    let fake = Fake::start(Arc::new(|_, _| Answer::xml(200, ""))).await;
    let metrics = CallMetrics::default();
    let cfg = config(&fake.url, None);
    let part = vendor(&cfg, &metrics, env(&[]))
        .gather(&request(&cfg))
        .await;
    assert!(fake.seen().is_empty());
    assert!(
        part.gaps.contains(&"metric errors (canary) from cloudwatch source \"cw\": could not be read: configuration: no AWS credentials (none in the environment): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (IRSA)".to_owned()),
        "{:#?}",
        part.gaps
    );
    assert_eq!(judge_with(part), Decision::Inconclusive);
}

#[tokio::test]
async fn a_dead_port_is_a_gap_and_no_secret_reaches_logs_or_gaps() {
    let (logs, guard) = capture_logs();
    let url = dead_url().await;
    let metrics = CallMetrics::default();
    let cfg = config(&url, None);
    let src = vendor(&cfg, &metrics, static_env());
    let part = src.gather(&request(&cfg)).await;
    drop(guard);
    assert_eq!(part.gaps.len(), 2, "{:#?}", part.gaps);
    for g in &part.gaps {
        assert!(
            g.contains("from cloudwatch source \"cw\": could not be read: cloudwatch unreachable"),
            "{g}"
        );
    }
    let text = logs.text();
    assert!(text.contains("retrying"), "the capture saw nothing: {text}");
    let everything = format!("{text}\n{:?}\n{src:?}", part.gaps);
    for secret in [SECRET, TOKEN] {
        assert!(
            !everything.contains(secret),
            "a secret leaked:\n{everything}"
        );
    }
    assert_eq!(judge_with(part), Decision::Inconclusive);
}
