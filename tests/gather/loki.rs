//! Logs from Loki's `query_range` through a wire-level fake that asserts
//! every request (path, LogQL selector, nanosecond window, limit,
//! direction=forward, tenant header) and answers with the documented
//! `streams` shape: paging by time, the kube reader's bounds, a 429 then
//! 200, and a dead port as a gap.

use std::sync::Arc;
use std::time::Duration;

use rollwise::gather::CallMetrics;
use rollwise::gather::kube::{KubeGatherConfig, SeriesMatch};
use rollwise::gather::loki::{LogsConfig, LokiReader};
use rollwise::gather::sources::RetryPolicy;
use serde_json::json;

use super::vendor_fake::*;

const START_NS: i128 = 1_789_999_700_000_000_000;
const END_NS: i128 = 1_790_000_000_000_000_000;

fn logs_config(url: &str, page_limit: u32) -> LogsConfig {
    let cfg: LogsConfig = toml::from_str(&format!(
        "source = \"loki\"\nurl = \"{url}\"\ntenant = \"team-shop\"\npage-limit = {page_limit}\n"
    ))
    .unwrap();
    cfg.validate().unwrap();
    cfg
}

fn reader(url: &str, page_limit: u32, bounds: KubeGatherConfig, m: &CallMetrics) -> LokiReader {
    LokiReader::new(&logs_config(url, page_limit), &bounds, Arc::new(m.clone()))
        .unwrap()
        .with_policy(RetryPolicy {
            timeout: Duration::from_millis(500),
            max_attempts: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(3),
        })
}

fn window() -> (jiff::Timestamp, jiff::Timestamp) {
    (
        jiff::Timestamp::from_nanosecond(START_NS).unwrap(),
        jiff::Timestamp::from_nanosecond(END_NS).unwrap(),
    )
}

fn paged() -> Responder {
    Arc::new(|s, _| {
        if s.query["start"] == START_NS.to_string() {
            Answer::json(
                200,
                &serde_json::from_str(&data("loki/query-range-page1.json")).unwrap(),
            )
        } else {
            Answer::json(
                200,
                &serde_json::from_str(&data("loki/query-range-page2.json")).unwrap(),
            )
        }
    })
}

#[tokio::test]
async fn a_side_is_read_forward_page_by_page_and_grouped_by_pod() {
    let fake = Fake::start(paged()).await;
    let metrics = CallMetrics::default();
    let r = reader(&fake.url, 3, KubeGatherConfig::default(), &metrics);
    let (start, end) = window();
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "GET");
        assert_eq!(s.path, "/loki/api/v1/query_range");
        assert_eq!(
            s.query["query"],
            r#"{namespace="shop", rollouts_pod_template_hash="c4n4ry"}"#
        );
        assert_eq!(s.query["end"], END_NS.to_string());
        assert_eq!(s.query["limit"], "3");
        assert_eq!(s.query["direction"], "forward");
        assert_eq!(s.query.len(), 5, "{:?}", s.query);
        assert_eq!(s.header("x-scope-orgid"), Some("team-shop"));
    }
    assert_eq!(seen[0].query["start"], START_NS.to_string());
    // The next page starts 1 ns after the newest entry of the first.
    assert_eq!(seen[1].query["start"], "1789999702500000001");
    assert_eq!(out.pods.len(), 2);
    let a1 = &out.pods[0];
    assert_eq!(a1.pod, "checkout-c4n4ry-a1");
    assert_eq!(
        a1.lines,
        [
            "level=info msg=\"listening on :8080\"",
            "level=error msg=\"refund failed\" err=\"nil pointer\"",
            "proxy ready"
        ]
    );
    let srcs: Vec<(&str, usize, bool)> = a1
        .sources
        .iter()
        .map(|s| (s.container.as_str(), s.lines, s.truncated))
        .collect();
    assert_eq!(srcs, [("app", 2, false), ("sidecar", 1, false)]);
    assert_eq!(out.pods[1].pod, "checkout-c4n4ry-b2");
    assert_eq!(metrics.count("loki", "query_range", "ok"), 2);
}

#[tokio::test]
async fn the_kube_readers_bounds_hold_and_mark_truncation() {
    let fake = Fake::start(paged()).await;
    let bounds = KubeGatherConfig {
        max_log_lines: 1,
        max_pods_per_side: 1,
        ..Default::default()
    };
    let r = reader(&fake.url, 3, bounds, &CallMetrics::default());
    let (start, end) = window();
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    // One pod, one line per container; the second pod is not read.
    assert_eq!(out.pods.len(), 1);
    assert_eq!(out.pods[0].lines.len(), 1);
    let app = &out.pods[0].sources[0];
    assert_eq!(
        (app.container.as_str(), app.lines, app.truncated),
        ("app", 1, true)
    );
    // A byte bound: the 35- and 47-byte lines do not fit in 16.
    let bounds = KubeGatherConfig {
        max_log_bytes: 16,
        ..Default::default()
    };
    let r = reader(&fake.url, 3, bounds, &CallMetrics::default());
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    assert!(out.pods[0].sources[0].truncated);
    assert_eq!(out.pods[0].lines, ["proxy ready"]);
}

#[tokio::test]
async fn pods_by_name_are_matched_with_an_escaped_regex() {
    let fake = Fake::start(Arc::new(|_, _| {
        Answer::json(
            200,
            &json!({"status": "success", "data": {"resultType": "streams", "result": []}}),
        )
    }))
    .await;
    let r = reader(
        &fake.url,
        100,
        KubeGatherConfig::default(),
        &CallMetrics::default(),
    );
    let (start, end) = window();
    let out = r
        .side_logs(
            "stable",
            "shop",
            &SeriesMatch::Pods(vec!["a.b-1".into(), "c-2".into(), "x\"}|{".into()]),
            start,
            end,
        )
        .await;
    assert!(out.gaps.is_empty() && out.pods.is_empty());
    assert_eq!(
        fake.seen()[0].query["query"],
        r#"{namespace="shop", pod=~"a\\.b-1|c-2"}"#
    );
}

#[tokio::test]
async fn a_429_is_retried_after_its_wait() {
    let fake = Fake::start(Arc::new(|s, n| {
        if n == 1 {
            Answer::Body(
                429,
                vec![("retry-after", "1".into())],
                "text/plain",
                "too many outstanding requests".into(),
            )
        } else {
            paged()(s, n)
        }
    }))
    .await;
    let metrics = CallMetrics::default();
    let r = reader(&fake.url, 10, KubeGatherConfig::default(), &metrics);
    let (start, end) = window();
    let started = std::time::Instant::now();
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(out.gaps.is_empty(), "{:#?}", out.gaps);
    assert_eq!(out.pods.len(), 2);
    assert_eq!(metrics.count("loki", "query_range", "rate_limited"), 1);
    assert_eq!(metrics.count("loki", "query_range", "ok"), 1);
}

#[tokio::test]
async fn a_dead_port_or_a_bad_query_is_a_gap() {
    let url = dead_url().await;
    let r = reader(
        &url,
        10,
        KubeGatherConfig::default(),
        &CallMetrics::default(),
    );
    let (start, end) = window();
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    assert_eq!(out.gaps.len(), 1, "{:#?}", out.gaps);
    assert!(
        out.gaps[0]
            .starts_with("logs of the canary side could not be read from Loki: loki unreachable"),
        "{}",
        out.gaps[0]
    );
    let fake = Fake::start(Arc::new(|_, _| {
        Answer::Body(
            400,
            vec![],
            "text/plain",
            "parse error at line 1, col 2: syntax error".into(),
        )
    }))
    .await;
    let r = reader(
        &fake.url,
        10,
        KubeGatherConfig::default(),
        &CallMetrics::default(),
    );
    let out = r
        .side_logs(
            "canary",
            "shop",
            &SeriesMatch::Hash("c4n4ry".into()),
            start,
            end,
        )
        .await;
    assert_eq!(fake.seen().len(), 1, "a 400 is not retried");
    assert_eq!(
        out.gaps,
        [
            "logs of the canary side could not be read from Loki: loki API error 400: parse error at line 1, col 2: syntax error"
        ]
    );
    let out = r
        .side_logs("stable", "shop", &SeriesMatch::Nothing, start, end)
        .await;
    assert_eq!(
        out.gaps,
        [
            "no stable logs from Loki: the stable side has neither a pod-template hash nor pods to match"
        ]
    );
}

#[tokio::test]
async fn a_body_past_the_bound_is_refused_while_it_is_read() {
    rollwise::tls::install_crypto_provider();
    let fake = Fake::start(Arc::new(|_, _| {
        Answer::Body(200, vec![], "application/json", "x".repeat(4096))
    }))
    .await;
    let res = reqwest::get(&fake.url).await.unwrap();
    let e = rollwise::gather::sources::body_bounded(res, "loki", 1000)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unexpected response from loki: the response is larger than 1000 bytes"
    );
    let res = reqwest::get(&fake.url).await.unwrap();
    let body = rollwise::gather::sources::body_bounded(res, "loki", 4096)
        .await
        .unwrap();
    assert_eq!(body.len(), 4096);
}
