//! Datadog's v2 timeseries API through a wire-level fake that asserts every
//! request (path, method, key headers, the body against the request schema
//! of Datadog's OpenAPI description) and answers with the documented
//! response shape: rendering per side, a 429 then 200, missing keys and a
//! dead port as gaps, and a bundle with such a gap never promoting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rollwise::evidence::{Decision, Sides};
use rollwise::gather::CallMetrics;
use rollwise::gather::datadog::{DatadogClient, DatadogConfig};
use rollwise::gather::kube::SeriesMatch;
use rollwise::gather::prometheus::{MetricQuery, MetricsRequest, SideQuery};
use rollwise::gather::sources::{EnvLookup, RetryPolicy, VendorSource};
use serde_json::json;

use super::vendor_fake::*;

const API_KEY: &str = "dd-api-9f3c1a7e5b2d4c6e8a0b1c2d3e4f5a6b";
const APP_KEY: &str = "dd-app-0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3";

fn env_with_keys() -> EnvLookup {
    Arc::new(|k| match k {
        "ROLLWISE_DATADOG_API_KEY" => Some(API_KEY.to_owned()),
        "ROLLWISE_DATADOG_APP_KEY" => Some(APP_KEY.to_owned()),
        _ => None,
    })
}

fn no_env() -> EnvLookup {
    Arc::new(|_| None)
}

const ERRORS: &str = "sum:trace.http.request.errors{kube_namespace:{{namespace}} AND {{selector}}}.as_rate() / sum:trace.http.request.hits{kube_namespace:{{namespace}} AND {{selector}}}.as_rate()";
const HITS: &str =
    "sum:trace.http.request.hits{kube_namespace:{{namespace}} AND {{selector}}}.as_count()";

fn config(url: &str) -> DatadogConfig {
    let toml = format!(
        r#"
name = "dd"
url = "{url}"
step-secs = 30
traffic-query = '{HITS}'

[[metrics]]
name = "error_rate"
unit = "ratio"
better = "lower"
critical = true
query = '{ERRORS}'
"#
    );
    let cfg: DatadogConfig = toml::from_str(&toml).unwrap();
    cfg.validate().unwrap();
    cfg
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

fn source(url: &str, metrics: &CallMetrics, env: EnvLookup) -> VendorSource {
    let cfg = config(url);
    let client = DatadogClient::new(&cfg, Arc::new(metrics.clone()), env)
        .unwrap()
        .with_policy(policy());
    VendorSource {
        name: cfg.name.clone(),
        api: Arc::new(client),
        metrics: cfg.metrics.clone(),
        traffic_query: cfg.traffic_query.clone(),
        step: Duration::from_secs(cfg.step_secs),
    }
}

fn end() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_790_000_000).unwrap()
}

fn request(metrics: Vec<MetricQuery>, traffic: Option<String>) -> MetricsRequest<'static> {
    MetricsRequest {
        namespace: "shop",
        rollout: "checkout",
        sides: Sides {
            canary: SideQuery {
                series: SeriesMatch::Hash("c4n4ry".into()),
                pods: vec![],
                hash: Some("c4n4ry".into()),
            },
            // A side chosen by pod names (an Experiment's baseline).
            stable: SideQuery {
                series: SeriesMatch::Pods(vec!["checkout-b4se-1".into(), "checkout-b4se-2".into()]),
                pods: vec![],
                hash: Some("st4bl3".into()),
            },
        },
        start: end() - jiff::SignedDuration::from_secs(300),
        end: end(),
        metrics,
        traffic_query: traffic,
    }
}

fn response(values: serde_json::Value) -> Answer {
    let mut body: serde_json::Value =
        serde_json::from_str(&data("datadog/timeseries-response.json")).unwrap();
    if !values.is_null() {
        let n = values.as_array().unwrap().len();
        body["data"]["attributes"]["times"] = json!(
            (0..n)
                .map(|i| 1_789_999_730_000_i64 + 30_000 * i as i64)
                .collect::<Vec<_>>()
        );
        body["data"]["attributes"]["values"] = json!([values]);
    }
    Answer::json(200, &body)
}

fn assert_documented_request(s: &Seen) {
    assert_eq!(s.method, "POST");
    assert_eq!(s.path, "/api/v2/query/timeseries");
    assert!(s.query.is_empty(), "{:?}", s.query);
    assert_eq!(s.header("dd-api-key"), Some(API_KEY));
    assert_eq!(s.header("dd-application-key"), Some(APP_KEY));
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert_eq!(s.header("accept"), Some("application/json"));
    let schema: serde_json::Value =
        serde_json::from_str(&data("datadog/timeseries-request.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let body = s.json();
    let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{body:#}");
}

#[tokio::test]
async fn queries_are_rendered_per_side_and_sent_as_documented() {
    let fake = Fake::start(Arc::new(|s, _| {
        let q = s.json()["data"]["attributes"]["queries"][0]["query"]
            .as_str()
            .unwrap()
            .to_owned();
        match (q.contains("as_count"), q.contains("c4n4ry")) {
            (true, true) => response(json!([40.0, 35.0, null, 25.0])),
            (true, false) => response(json!([400.0, 380.0, 410.0, 390.0])),
            (false, true) => response(json!([0.02, null, 0.03, 0.025])),
            (false, false) => response(serde_json::Value::Null),
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let src = source(&fake.url, &metrics, env_with_keys());
    let part = src
        .gather(&request(src.metrics.clone(), src.traffic_query.clone()))
        .await;
    assert!(part.gaps.is_empty(), "{:#?}", part.gaps);
    assert_eq!(part.metrics[0].name, "error_rate");
    // null is a missing value, not a zero.
    assert_eq!(part.metrics[0].canary, [0.02, 0.03, 0.025]);
    assert_eq!(part.metrics[0].stable, [0.001, 0.002, 0.0]);
    let t = part.traffic.unwrap();
    assert_eq!(
        (t.canary_requests, t.stable_requests),
        (Some(100), Some(1580))
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 4);
    for s in &seen {
        assert_documented_request(s);
    }
    let bodies: BTreeMap<String, serde_json::Value> = seen
        .iter()
        .map(|s| {
            let b = s.json();
            (
                b["data"]["attributes"]["queries"][0]["query"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                b,
            )
        })
        .collect();
    let canary = "sum:trace.http.request.errors{kube_namespace:shop AND kube_replica_set:checkout-c4n4ry}.as_rate() / sum:trace.http.request.hits{kube_namespace:shop AND kube_replica_set:checkout-c4n4ry}.as_rate()";
    let stable = "sum:trace.http.request.errors{kube_namespace:shop AND (pod_name:checkout-b4se-1 OR pod_name:checkout-b4se-2)}.as_rate() / sum:trace.http.request.hits{kube_namespace:shop AND (pod_name:checkout-b4se-1 OR pod_name:checkout-b4se-2)}.as_rate()";
    let b = &bodies[canary];
    assert!(bodies.contains_key(stable), "{:?}", bodies.keys());
    assert_eq!(
        b["data"]["attributes"],
        json!({
            "from": 1_789_999_700_000_i64,
            "to": 1_790_000_000_000_i64,
            "interval": 30_000,
            "queries": [{"data_source": "metrics", "name": "a", "query": canary}],
            "formulas": [{"formula": "a"}],
        })
    );
    // The traffic count is one bucket over the whole window.
    let traffic = "sum:trace.http.request.hits{kube_namespace:shop AND kube_replica_set:checkout-c4n4ry}.as_count()";
    assert_eq!(bodies[traffic]["data"]["attributes"]["interval"], 300_000);
    assert_eq!(metrics.count("datadog", "query_timeseries", "ok"), 4);
}

#[tokio::test]
async fn a_429_waits_for_the_reset_then_succeeds() {
    let fake = Fake::start(Arc::new(|_, n| {
        if n == 1 {
            Answer::Body(
                429,
                vec![
                    ("x-ratelimit-limit", "100".into()),
                    ("x-ratelimit-period", "10".into()),
                    ("x-ratelimit-remaining", "0".into()),
                    ("x-ratelimit-reset", "1".into()),
                ],
                "application/json",
                json!({"errors": ["Rate limit of 100 requests in 10 seconds reached"]}).to_string(),
            )
        } else {
            response(json!([0.5, 0.25]))
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let client = DatadogClient::new(
        &config(&fake.url),
        Arc::new(metrics.clone()),
        env_with_keys(),
    )
    .unwrap()
    .with_policy(policy());
    let started = std::time::Instant::now();
    let series = client
        .timeseries("avg:x{*}", end(), end(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(series, [vec![0.5, 0.25]]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].body, seen[1].body,
        "the retry repeats the same query"
    );
    assert_eq!(
        metrics.count("datadog", "query_timeseries", "rate_limited"),
        1
    );
    assert_eq!(metrics.count("datadog", "query_timeseries", "ok"), 1);
}

#[tokio::test]
async fn a_403_is_a_gap_and_not_retried() {
    let fake = Fake::start(Arc::new(|_, _| {
        Answer::json(403, &json!({"errors": ["Forbidden"]}))
    }))
    .await;
    let metrics = CallMetrics::default();
    let src = source(&fake.url, &metrics, env_with_keys());
    let part = src.gather(&request(src.metrics.clone(), None)).await;
    assert_eq!(fake.seen().len(), 2, "one request per side, no retry");
    assert!(
        part.gaps.contains(
            &"metric error_rate (canary) from datadog source \"dd\": could not be read: datadog API error 403: Forbidden".to_owned()
        ),
        "{:#?}",
        part.gaps
    );
    assert_eq!(judge_with(part), Decision::Inconclusive);
}

#[tokio::test]
async fn missing_keys_are_a_gap_without_a_request() {
    let fake = Fake::start(Arc::new(|_, _| response(json!([1.0])))).await;
    let metrics = CallMetrics::default();
    let src = source(&fake.url, &metrics, no_env());
    let part = src.gather(&request(src.metrics.clone(), None)).await;
    assert!(fake.seen().is_empty());
    assert!(
        part.gaps.contains(&"metric error_rate (stable) from datadog source \"dd\": could not be read: configuration: no Datadog credentials: ROLLWISE_DATADOG_API_KEY is not set, ROLLWISE_DATADOG_APP_KEY is not set".to_owned()),
        "{:#?}",
        part.gaps
    );
    assert_eq!(judge_with(part), Decision::Inconclusive);
}

#[tokio::test]
async fn a_dead_port_is_a_gap_and_no_key_reaches_logs_or_gaps() {
    let (logs, guard) = capture_logs();
    let url = dead_url().await;
    let metrics = CallMetrics::default();
    let src = source(&url, &metrics, env_with_keys());
    let part = src.gather(&request(src.metrics.clone(), None)).await;
    drop(guard);
    assert_eq!(part.gaps.len(), 2, "{:#?}", part.gaps);
    for g in &part.gaps {
        assert!(
            g.contains("from datadog source \"dd\": could not be read: datadog unreachable"),
            "{g}"
        );
    }
    assert_eq!(metrics.count("datadog", "query_timeseries", "transport"), 4);
    let text = logs.text();
    assert!(text.contains("retrying"), "the capture saw nothing: {text}");
    let everything = format!("{text}\n{:?}\n{:?}", part.gaps, src);
    for secret in [API_KEY, APP_KEY] {
        assert!(!everything.contains(secret), "a key leaked:\n{everything}");
    }
    assert_eq!(judge_with(part), Decision::Inconclusive);
}

#[tokio::test]
async fn a_hanging_api_times_out_into_a_gap() {
    let fake = Fake::start(Arc::new(|_, _| Answer::Hang)).await;
    let metrics = CallMetrics::default();
    let src = source(&fake.url, &metrics, env_with_keys());
    let started = std::time::Instant::now();
    let part = src.gather(&request(src.metrics.clone(), None)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Two sides, two attempts each: a timeout is transient.
    assert_eq!(fake.seen().len(), 4);
    assert!(
        part.gaps.contains(
            &"metric error_rate (canary) from datadog source \"dd\": could not be read: Datadog query (dd) timed out after 500ms".to_owned()
        ),
        "{:#?}",
        part.gaps
    );
    assert_eq!(metrics.count("datadog", "query_timeseries", "timeout"), 4);
}
