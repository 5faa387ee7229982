//! Prometheus' failure modes through a wire-level fake (HTTP/1.1 on a
//! loopback socket) that records and asserts every query it receives: an
//! error status, a hang, a 503 then success, NaN and infinite samples.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollwise::evidence::Sides;
use rollwise::gather::CallMetrics;
use rollwise::gather::kube::SeriesMatch;
use rollwise::gather::prometheus::{
    MetricQuery, MetricsRequest, PrometheusClient, PrometheusConfig, PrometheusGatherer, SideQuery,
};
use rollwise_tools::call::CallPolicy;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::kube_fake::parse_query;

#[derive(Debug, Clone)]
enum Reply {
    Json(u16, Value),
    Hang,
}

type Responder = Box<dyn Fn(&str, &BTreeMap<String, String>, usize) -> Reply + Send + Sync>;

type Seen = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

struct FakeProm {
    url: String,
    seen: Seen,
}

impl FakeProm {
    async fn start(respond: Responder) -> FakeProm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let respond = Arc::new(respond);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen2.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // One GET (no body) per head; keep-alive serves several.
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                        buf.drain(..head_end);
                        let target = head.split(' ').nth(1).unwrap_or("").to_owned();
                        let method = head.split(' ').next().unwrap_or("").to_owned();
                        let (path, query) = match target.split_once('?') {
                            Some((p, q)) => (p.to_owned(), parse_query(Some(q))),
                            None => (target.clone(), BTreeMap::new()),
                        };
                        assert_eq!(method, "GET", "{head}");
                        let n = {
                            let mut s = seen.lock().unwrap();
                            s.push((path.clone(), query.clone()));
                            s.len()
                        };
                        match respond(&path, &query, n) {
                            Reply::Hang => {
                                tokio::time::sleep(Duration::from_secs(30)).await;
                                return;
                            }
                            Reply::Json(code, v) => {
                                let body = serde_json::to_vec(&v).unwrap();
                                let head = format!(
                                    "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                                    body.len()
                                );
                                if sock.write_all(head.as_bytes()).await.is_err()
                                    || sock.write_all(&body).await.is_err()
                                {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        FakeProm { url, seen }
    }

    fn seen(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.seen.lock().unwrap().clone()
    }
}

fn matrix(values: &[(f64, &str)]) -> Reply {
    let vals: Vec<Value> = values.iter().map(|(t, v)| json!([t, v])).collect();
    Reply::Json(
        200,
        json!({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": {}, "values": vals}]}}),
    )
}

fn policy() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ..CallPolicy::default()
    }
}

fn end() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_790_000_000).unwrap()
}

fn one_metric_request() -> MetricsRequest<'static> {
    let side = |h: &str| SideQuery {
        series: SeriesMatch::Hash(h.to_owned()),
        pods: Vec::new(),
        hash: Some(h.to_owned()),
    };
    MetricsRequest {
        namespace: "shop",
        rollout: "checkout",
        sides: Sides {
            canary: side("c4n4ry"),
            stable: side("st4bl3"),
        },
        start: end()
            .checked_sub(jiff::SignedDuration::from_secs(300))
            .unwrap(),
        end: end(),
        metrics: vec![MetricQuery {
            name: "error_rate".into(),
            unit: Some("ratio".into()),
            better: Default::default(),
            critical: true,
            query: r#"sum(rate(errors{ns="{{namespace}}",{{selector}}}[{{interval}}]))"#.into(),
        }],
        traffic_query: None,
    }
}

fn gatherer(url: &str, metrics: &CallMetrics) -> PrometheusGatherer {
    let client = PrometheusClient::new(url, policy(), Arc::new(metrics.clone())).unwrap();
    PrometheusGatherer::new(client, PrometheusConfig::default())
}

#[tokio::test]
async fn queries_are_rendered_per_side_and_sent_as_documented() {
    let fake = FakeProm::start(Box::new(|_, q, _| {
        if q["query"].contains("c4n4ry") {
            matrix(&[(1.0, "0.2"), (2.0, "NaN"), (3.0, "0.3"), (4.0, "+Inf")])
        } else {
            matrix(&[(1.0, "0.001"), (2.0, "0"), (3.0, "0.002")])
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let part = gatherer(&fake.url, &metrics)
        .gather(&one_metric_request())
        .await;
    assert!(part.gaps.is_empty(), "{:#?}", part.gaps);
    // NaN (no requests in a step) and +Inf are dropped, not read as values.
    assert_eq!(part.metrics[0].canary, [0.2, 0.3]);
    assert_eq!(part.metrics[0].stable, [0.001, 0.0, 0.002]);
    let mut seen = fake.seen();
    seen.sort_by(|a, b| a.1["query"].cmp(&b.1["query"]));
    assert_eq!(seen.len(), 2);
    let (path, q) = &seen[0];
    assert_eq!(path, "/api/v1/query_range");
    assert_eq!(
        q["query"],
        r#"sum(rate(errors{ns="shop",rollouts_pod_template_hash="c4n4ry"}[1m]))"#
    );
    assert_eq!(q["start"], "1789999700.000");
    assert_eq!(q["end"], "1790000000.000");
    assert_eq!(q["step"], "30s");
    assert_eq!(q["timeout"], "300ms");
    assert_eq!(q.len(), 5, "{q:?}");
    assert_eq!(
        seen[1].1["query"],
        r#"sum(rate(errors{ns="shop",rollouts_pod_template_hash="st4bl3"}[1m]))"#
    );
    assert_eq!(metrics.count("prometheus", "query_range", "ok"), 2);
}

#[tokio::test]
async fn an_error_status_is_a_gap_and_not_retried() {
    let fake = FakeProm::start(Box::new(|_, _, _| {
        Reply::Json(
            400,
            json!({"status": "error", "errorType": "bad_data",
                   "error": "1:30: parse error: unexpected right bracket ']'"}),
        )
    }))
    .await;
    let metrics = CallMetrics::default();
    let part = gatherer(&fake.url, &metrics)
        .gather(&one_metric_request())
        .await;
    assert_eq!(fake.seen().len(), 2, "one request per side, no retry");
    for side in ["canary", "stable"] {
        let want = format!(
            "metric error_rate ({side}) could not be read: prometheus API error 400: bad_data: 1:30: parse error"
        );
        assert!(
            part.gaps.iter().any(|g| g.starts_with(&want)),
            "{:#?}",
            part.gaps
        );
    }
    assert!(part.metrics[0].canary.is_empty() && part.metrics[0].stable.is_empty());
    assert_eq!(metrics.count("prometheus", "query_range", "api_error"), 2);
}

#[tokio::test]
async fn a_hanging_prometheus_times_out_into_a_gap() {
    let fake = FakeProm::start(Box::new(|_, _, _| Reply::Hang)).await;
    let metrics = CallMetrics::default();
    let started = std::time::Instant::now();
    let part = gatherer(&fake.url, &metrics)
        .gather(&one_metric_request())
        .await;
    let took = started.elapsed();
    // Two sides, two attempts each (the timeout is transient).
    assert_eq!(fake.seen().len(), 4);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        part.gaps
            .iter()
            .any(|g| g == "metric error_rate (canary) could not be read: Prometheus query_range timed out after 300ms"),
        "{:#?}",
        part.gaps
    );
    assert_eq!(metrics.count("prometheus", "query_range", "timeout"), 4);
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let fake = FakeProm::start(Box::new(|_, _, n| {
        if n == 1 {
            Reply::Json(
                503,
                json!({"status": "error", "errorType": "unavailable", "error": "too many queries"}),
            )
        } else {
            matrix(&[(1.0, "0.5"), (2.0, "0.25")])
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let client = PrometheusClient::new(&fake.url, policy(), Arc::new(metrics.clone())).unwrap();
    let series = client
        .query_range("up", end(), end(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(series[0].values, [(1.0, 0.5), (2.0, 0.25)]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "the retry repeats the same query");
    assert_eq!(metrics.count("prometheus", "query_range", "api_error"), 1);
    assert_eq!(metrics.count("prometheus", "query_range", "ok"), 1);
}

#[tokio::test]
async fn a_success_reply_of_the_wrong_shape_is_refused() {
    let fake = FakeProm::start(Box::new(|_, _, _| {
        Reply::Json(
            200,
            json!({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"pod": "a"}, "values": [[1, "1"]]},
                {"metric": {"pod": "b"}, "values": [[1, "2"]]}]}}),
        )
    }))
    .await;
    let part = gatherer(&fake.url, &CallMetrics::default())
        .gather(&one_metric_request())
        .await;
    assert!(
        part.gaps.iter().any(|g| g
            == "metric error_rate (canary): the query returned 2 series; it must return one (aggregate with sum)"),
        "{:#?}",
        part.gaps
    );
}
