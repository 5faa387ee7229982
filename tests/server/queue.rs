//! The analysis queue: bounded (`max-queued-analyses`, then 503 `queue_full`
//! with Retry-After), and an analysis that waits past the analysis timeout is
//! answered inconclusive like one that ran out of time, never a 500.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use super::{FakeSource, Reply, TOKEN, analyze_body, call, scenario, state_with};

const SCENARIOS: [&str; 3] = [
    "p01-rollouts-demo-bad-red.json",
    "p02-catalog-node-latency.json",
    "p03-inventory-go-panic.json",
];

async fn analyze(st: &Arc<rollwise::server::AppState>, name: &str, deadline: &str) -> Reply {
    call(
        st,
        "POST",
        "/v1/analyze",
        Some(analyze_body(&scenario(name)).to_string()),
        &[
            ("authorization", &format!("Bearer {TOKEN}")),
            ("x-rollwise-deadline", deadline),
        ],
    )
    .await
}

#[tokio::test]
async fn past_the_queue_an_analysis_is_refused_with_retry_after() {
    let mut fake = FakeSource::with(&SCENARIOS);
    fake.delay = Duration::from_secs(3);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.max_concurrent_analyses = 1;
        c.max_queued_analyses = 1;
        c.retry_after_secs = 4;
    });
    let running = analyze(&st, SCENARIOS[0], "0.05").await;
    assert_eq!(
        running.body["error"]["code"], "analysis_running",
        "{}",
        running.text
    );
    let queued = analyze(&st, SCENARIOS[1], "0.05").await;
    assert_eq!(
        queued.body["error"]["code"], "analysis_running",
        "{}",
        queued.text
    );
    let refused = analyze(&st, SCENARIOS[2], "0.05").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["error"]["code"], "queue_full",
        "{}",
        refused.text
    );
    assert!(
        refused.body["error"]["message"].is_string(),
        "{}",
        refused.text
    );
    assert_eq!(refused.headers["retry-after"], "4");
    // Joining an analysis already running or queued needs no place.
    let joined = analyze(&st, SCENARIOS[1], "0.05").await;
    assert_eq!(
        joined.body["error"]["code"], "analysis_running",
        "{}",
        joined.text
    );
}

#[tokio::test]
async fn an_analysis_that_waits_past_the_timeout_is_answered_inconclusive() {
    let mut fake = FakeSource::with(&SCENARIOS);
    fake.delay = Duration::from_secs(5);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.max_concurrent_analyses = 1;
        c.analysis_timeout_secs = 0.3;
        c.deadline_secs = 5.0;
    });
    analyze(&st, SCENARIOS[0], "0.05").await;
    analyze(&st, SCENARIOS[1], "0.05").await;
    // Third in line: the slot is taken past its analysis timeout; the caller
    // waits (deadline 5 s) and gets the timeout's verdict, not an error.
    let last = analyze(&st, SCENARIOS[2], "5").await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    assert_eq!(last.body["verdict"], "inconclusive", "{}", last.text);
    assert!(
        last.text.contains("ran out of time") || last.text.contains("no analysis slot came free"),
        "{}",
        last.text
    );
}

/// A bundle already judged is answered from the cache while every slot and
/// every queue place is taken: it needs neither (nor a parse); a new bundle
/// then is refused with `queue_full`, and is not cached.
#[tokio::test]
async fn a_cached_bundle_is_answered_while_the_slots_and_the_queue_are_full() {
    let mut fake = FakeSource::with(&SCENARIOS);
    fake.delay = Duration::from_secs(3);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.max_concurrent_analyses = 1;
        c.max_queued_analyses = 1;
    });
    let verdicts = |body: String, deadline: &'static str| {
        let st = Arc::clone(&st);
        async move {
            call(
                &st,
                "POST",
                "/v1/verdicts",
                Some(body),
                &[
                    ("authorization", &format!("Bearer {TOKEN}")),
                    ("x-rollwise-deadline", deadline),
                ],
            )
            .await
        }
    };
    let bundle = serde_json::to_string(&scenario(SCENARIOS[2])).unwrap();
    let first = verdicts(bundle.clone(), "30").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let running = analyze(&st, SCENARIOS[0], "0.05").await;
    assert_eq!(running.body["error"]["code"], "analysis_running");
    let queued = analyze(&st, SCENARIOS[1], "0.05").await;
    assert_eq!(queued.body["error"]["code"], "analysis_running");
    let again = verdicts(bundle, "0.05").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["analysisId"], first.body["analysisId"]);
    let mut other = serde_json::to_value(scenario(SCENARIOS[2])).unwrap();
    other["name"] = "another bundle".into();
    let refused = verdicts(other.to_string(), "0.05").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["error"]["code"], "queue_full",
        "{}",
        refused.text
    );
}
