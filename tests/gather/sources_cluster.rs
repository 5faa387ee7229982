//! The whole gathering with `[[gather.sources]]` and `[gather.logs] source =
//! "loki"` from configuration: Kubernetes through its fake (events, and no
//! pod-log request), Datadog and Loki through wire-level fakes, and a dead
//! source's gap reaching the judge.

use std::sync::Arc;
use std::time::Duration;

use rollwise::evidence::Decision;
use rollwise::gather::sources::EnvLookup;
use rollwise::gather::{ClusterSource, GatherConfig, GatherRequest, PodSelector};
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::logs::LogConfig;
use serde_json::json;

use super::kube::resolve_and_details;
use super::kube_fake::{CANARY_HASH, CANARY_POD, NS, ROLLOUT, STABLE_POD, fake, fixture};
use super::vendor_fake::*;

const WINDOW: u64 = 300;

fn config(datadog: &str, loki: &str) -> GatherConfig {
    let cfg: GatherConfig = toml::from_str(&format!(
        r#"
deadline-secs = 20

[kube]
timeout-secs = 2
max-attempts = 1

[logs]
source = "loki"
url = "{loki}"
timeout-secs = 2
max-attempts = 1

[[sources]]
kind = "datadog"
name = "dd"
url = "{datadog}"
timeout-secs = 2
max-attempts = 1
traffic-query = "sum:trace.http.request.hits{{kube_namespace:{{{{namespace}}}} AND {{{{selector}}}}}}.as_count()"

[[sources.metrics]]
name = "error_rate"
unit = "ratio"
better = "lower"
critical = true
query = "sum:trace.http.request.errors{{kube_namespace:{{{{namespace}}}} AND {{{{selector}}}}}}.as_rate()"
"#
    ))
    .unwrap();
    cfg.validate().unwrap();
    cfg
}

fn keys() -> EnvLookup {
    Arc::new(|k| {
        k.starts_with("ROLLWISE_DATADOG_")
            .then(|| format!("k3y-for-{k}"))
    })
}

/// The window's end: fixed (just after the Loki answer's lines), so the log
/// reads' `sinceTime` (the window's start) is exact.
fn end() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_790_000_100).unwrap()
}

fn request() -> GatherRequest {
    GatherRequest {
        namespace: NS.into(),
        rollout: ROLLOUT.into(),
        read_rollout: true,
        canary: PodSelector::FromRollout,
        stable: PodSelector::FromRollout,
        window: Duration::from_secs(WINDOW),
        end: end(),
        queries: Default::default(),
    }
}

fn loki_answer() -> Responder {
    Arc::new(|s, _| {
        let pod = if s.query["query"].contains(CANARY_HASH) {
            CANARY_POD
        } else {
            STABLE_POD
        };
        Answer::json(
            200,
            &json!({"status": "success", "data": {"resultType": "streams", "result": [
                {"stream": {"namespace": NS, "pod": pod, "container": "canary-demo"},
                 "values": [["1790000000000000000", "served GET /color"],
                            ["1790000000000000001", "served GET /color"]]}]}}),
        )
    })
}

fn datadog_answer() -> Responder {
    Arc::new(|_, _| {
        Answer::json(
            200,
            &json!({"data": {"type": "timeseries_response", "attributes": {
                "series": [{"group_tags": [], "query_index": 0, "unit": null}],
                "times": [1, 2, 3],
                "values": [[0.0, 0.001, 0.0]]}}}),
        )
    })
}

async fn gather(cfg: &GatherConfig) -> (rollwise::evidence::Evidence, Vec<String>) {
    let w_rollout = fixture("canary-rollout-canary-demo.json");
    let canary = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
    let stable = fixture("canary-pod-canary-demo-877894d5b-6jfpt.json");
    // Logs come from Loki here: the kube API is never asked for a pod's log.
    let mut expects = resolve_and_details(
        &w_rollout,
        &canary,
        &stable,
        end() - jiff::SignedDuration::from_secs(WINDOW as i64),
    );
    expects.retain(|e| !e.path.ends_with("/log"));
    let (client, api) = fake(expects);
    let src = ClusterSource::from_config_with_env(
        client,
        cfg,
        Arc::new(rollwise_tools::call::NoObserver),
        &keys(),
    )
    .unwrap();
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    (ev, api.verify().await)
}

#[tokio::test]
async fn metrics_from_datadog_and_logs_from_loki_fill_one_bundle() {
    let dd = Fake::start(datadog_answer()).await;
    let loki = Fake::start(loki_answer()).await;
    let (ev, kube_requests) = gather(&config(&dd.url, &loki.url)).await;
    assert!(
        kube_requests.iter().all(|r| !r.contains("/log")),
        "pod logs were read from the kube API: {kube_requests:#?}"
    );
    assert!(ev.gaps.is_empty(), "{:#?}", ev.gaps);
    assert_eq!(ev.metrics.len(), 1);
    assert_eq!(ev.metrics[0].canary, [0.0, 0.001, 0.0]);
    assert_eq!(ev.traffic.and_then(|t| t.canary_requests), Some(0));
    assert_eq!(ev.logs.canary[0].pod, CANARY_POD);
    assert_eq!(ev.logs.canary[0].lines.len(), 2);
    assert_eq!(ev.logs.stable[0].pod, STABLE_POD);
    let queries: Vec<String> = loki
        .seen()
        .iter()
        .map(|s| s.query["query"].clone())
        .collect();
    assert!(
        queries.contains(&format!(
            "{{namespace=\"{NS}\", rollouts_pod_template_hash=\"{CANARY_HASH}\"}}"
        )),
        "{queries:?}"
    );
    // Datadog matched the Rollout's ReplicaSets by name.
    assert!(dd.seen().iter().any(|s| {
        s.json()["data"]["attributes"]["queries"][0]["query"]
            .as_str()
            .unwrap()
            .contains(&format!("kube_replica_set:{ROLLOUT}-{CANARY_HASH}"))
    }));
}

#[tokio::test]
async fn an_unreachable_source_is_a_named_gap_and_never_a_promote() {
    let dd = dead_url().await;
    let loki = dead_url().await;
    let (ev, _) = gather(&config(&dd, &loki)).await;
    let has = |p: &str| ev.gaps.iter().any(|g| g.starts_with(p));
    assert!(
        has(
            "metric error_rate (canary) from datadog source \"dd\": could not be read: datadog unreachable"
        ),
        "{:#?}",
        ev.gaps
    );
    assert!(
        has("logs of the canary side could not be read from Loki"),
        "{:#?}",
        ev.gaps
    );
    let v = Judge::new(JudgeConfig::default(), LogConfig::default()).judge(&ev);
    assert_ne!(v.verdict, Decision::Promote);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.detail.contains("datadog source \"dd\"")),
        "{:#?}",
        v.reasons
    );
}
