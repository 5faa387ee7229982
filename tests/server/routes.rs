//! Every route and every error, through axum's oneshot.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use rollwise::gather::PodSelector;
use serde_json::json;

use super::{FakeSource, TOKEN, analyze_body, call, post, scenario, state_with, state_with_source};

const PROMOTE: &str = "p12-rollouts-demo-blue-to-yellow.json";
const ABORT: &str = "p03-inventory-go-panic.json";

#[tokio::test]
async fn every_analyze_endpoint_needs_the_token() {
    let st = state_with(Some(Arc::new(FakeSource::with(&[PROMOTE]))), |_| {});
    for uri in ["/v1/analyze", "/v1/verdicts", "/a2a/analyze", "/v1/flagger"] {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Basic czNjcjN0"),
            Some(TOKEN),
        ] {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("authorization", a)).into_iter().collect();
            let r = call(&st, "POST", uri, Some("{}".into()), &headers).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri} with {auth:?}");
            assert_eq!(r.body["error"]["code"], "unauthorized");
        }
    }
    // The probes and metrics stay open.
    for uri in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            call(&st, "GET", uri, None, &[]).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_server_without_a_token_refuses_to_start_unless_told() {
    let parts = |allow| rollwise::server::StateParts {
        cfg: rollwise::server::ServerConfig {
            allow_unauthenticated: allow,
            ..Default::default()
        },
        analyzer: rollwise::server::Analyzer::new(rollwise::judge::Judge::new(
            Default::default(),
            Default::default(),
        )),
        source: None,
        token: None,
        hooks: vec![],
        metrics: Arc::new(rollwise::server::Metrics::new()),
        store: None,
        holder: None,
    };
    let err = rollwise::server::AppState::new(parts(false)).unwrap_err();
    assert!(err.to_string().contains("ROLLWISE_API_TOKEN"), "{err}");
    assert!(rollwise::server::AppState::new(parts(true)).is_ok());
}

#[tokio::test]
async fn analyze_judges_gathered_evidence_and_replies_small_json() {
    let src = Arc::new(FakeSource::with(&[PROMOTE, ABORT]));
    let st = state_with(Some(Arc::clone(&src)), |_| {});
    for (name, want) in [(PROMOTE, "promote"), (ABORT, "abort")] {
        let ev = scenario(name);
        let r = post(&st, "/v1/analyze", analyze_body(&ev)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["verdict"], want, "{name}: {}", r.text);
        let keys: Vec<&str> = r
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "verdict",
                "confidence",
                "summary",
                "reasons",
                "analysisId",
                "url",
                "measurement"
            ]
        );
        let id = r.body["analysisId"].as_str().unwrap();
        assert_eq!(
            r.body["url"],
            format!("https://rollwise.example/analyses/{id}")
        );
        assert!(r.body["reasons"].as_array().unwrap().len() <= 5);
        assert!(
            stored(&st, id).await.is_some(),
            "recorded for the verdict page"
        );
    }
    let calls = src.calls();
    assert_eq!(calls.len(), 2);
    let ev = scenario(ABORT);
    let c = &calls[1];
    assert_eq!(c.namespace, ev.rollout.namespace);
    assert_eq!(c.rollout, ev.rollout.name);
    assert!(c.read_rollout);
    assert_eq!(
        c.canary,
        PodSelector::Hash(ev.rollout.canary_hash.clone().unwrap())
    );
    assert_eq!(
        c.stable,
        PodSelector::Hash(ev.rollout.stable_hash.clone().unwrap())
    );
    assert_eq!(c.window, Duration::from_secs(600));
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let st = state_with(Some(Arc::new(FakeSource::with(&[PROMOTE]))), |_| {});
    let ev = scenario(PROMOTE);
    let good = analyze_body(&ev);
    let with = |k: &str, v: serde_json::Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases = [
        (with("namespace", json!("Not_A_Namespace")), "namespace"),
        (with("rollout", json!("a/b")), "rollout"),
        (with("canaryHash", json!("x\"} or vector(1)")), "canaryHash"),
        (without("canaryHash"), "canaryHash"),
        (without("stableHash"), "stableHash"),
        (with("stableHash", good["canaryHash"].clone()), "canaryHash"),
        (with("window", json!("10d")), "window"),
        (with("window", json!(5)), "window"),
        (with("namespace", json!(7)), "namespace"),
        (
            with("queries", json!({"error-rate": "x\ny"})),
            "queries.error-rate",
        ),
    ];
    for (body, field) in cases {
        let r = post(&st, "/v1/analyze", body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.text);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    // Not JSON at all, or an unknown field: 400 saying so.
    let auth = format!("Bearer {TOKEN}");
    let r = call(
        &st,
        "POST",
        "/v1/analyze",
        Some("{nope".into()),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "bad_request");
    let r = post(&st, "/v1/analyze", with("canaryHsh", json!("abc"))).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert!(r.text.contains("canaryHsh"), "{}", r.text);
}

#[tokio::test]
async fn concurrent_identical_calls_share_one_analysis_and_repeats_come_from_cache() {
    let mut fake = FakeSource::with(&[ABORT]);
    fake.delay = Duration::from_millis(300);
    let src = Arc::new(fake);
    let st = state_with(Some(Arc::clone(&src)), |_| {});
    let body = analyze_body(&scenario(ABORT));
    let calls = (0..20).map(|_| {
        let st = Arc::clone(&st);
        let body = body.clone();
        tokio::spawn(async move { post(&st, "/v1/analyze", body).await })
    });
    let mut ids = std::collections::BTreeSet::new();
    for c in calls {
        let r = c.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["verdict"], "abort");
        ids.insert(r.body["analysisId"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one analysis for 20 identical calls");
    assert_eq!(src.calls().len(), 1, "gathered once");
    let again = post(&st, "/v1/analyze", body).await;
    assert_eq!(
        again.body["analysisId"].as_str(),
        ids.first().map(String::as_str)
    );
    assert_eq!(src.calls().len(), 1, "a repeat is answered from cache");
    let m = call(&st, "GET", "/metrics", None, &[]).await.text;
    let count = |result: &str| -> u64 {
        let prefix = format!("rollwise_cache_lookups_total{{result=\"{result}\"}} ");
        m.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0, |n| n.parse().unwrap())
    };
    assert_eq!(count("started"), 1, "{m}");
    // Most join the running analysis; a late one may find it finished.
    assert_eq!(count("joined") + count("cached"), 20, "{m}");
    assert!(count("cached") >= 1, "{m}");
}

#[tokio::test]
async fn past_the_deadline_the_caller_gets_503_retry_after_then_the_cached_verdict() {
    let mut fake = FakeSource::with(&[ABORT]);
    fake.delay = Duration::from_millis(800);
    let src = Arc::new(fake);
    let st = state_with(Some(Arc::clone(&src)), |c| c.retry_after_secs = 7);
    let body = analyze_body(&scenario(ABORT)).to_string();
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-rollwise-deadline", "0.1"),
    ];
    let r = call(&st, "POST", "/v1/analyze", Some(body.clone()), &headers).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.body["error"]["code"], "analysis_running");
    let id = r.body["error"]["analysisId"].as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    // The analysis goes on without the caller; Argo's retry gets its verdict.
    let t = std::time::Instant::now();
    let r = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = call(&st, "POST", "/v1/analyze", Some(body.clone()), &headers).await;
        if r.status == StatusCode::OK || t.elapsed() > Duration::from_secs(30) {
            break r;
        }
        assert_eq!(
            r.body["error"]["analysisId"],
            id.as_str(),
            "the retry joins the same analysis"
        );
    };
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["analysisId"], id.as_str());
    assert_eq!(r.body["verdict"], "abort");
    assert_eq!(src.calls().len(), 1);
}

#[tokio::test]
async fn gathering_failures_and_timeouts_are_inconclusive_never_promote() {
    let mut fake = FakeSource::with(&[PROMOTE]);
    fake.fail = Some("rollouts.argoproj.io \"rollouts-demo\" not found".into());
    let st = state_with(Some(Arc::new(fake)), |_| {});
    let r = post(&st, "/v1/analyze", analyze_body(&scenario(PROMOTE))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["verdict"], "inconclusive");
    assert_eq!(r.body["confidence"], 0);
    assert!(r.text.contains("not found"), "{}", r.text);

    let mut fake = FakeSource::with(&[PROMOTE]);
    fake.delay = Duration::from_secs(5);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.analysis_timeout_secs = 0.2;
        c.deadline_secs = 2.0;
    });
    let r = post(&st, "/v1/analyze", analyze_body(&scenario(PROMOTE))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "inconclusive");
    assert!(r.text.contains("ran out of time"), "{}", r.text);
}

/// Before: the second analysis got 503 `overloaded` at once and was never
/// run, so its retry found nothing and was refused again.
#[tokio::test]
async fn analyses_past_the_slots_queue_and_their_retry_finds_the_verdict() {
    let mut fake = FakeSource::with(&[PROMOTE, ABORT]);
    fake.delay = Duration::from_millis(500);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.max_concurrent_analyses = 1;
        c.deadline_secs = 0.05;
        c.retry_after_secs = 3;
    });
    let a = post(&st, "/v1/analyze", analyze_body(&scenario(PROMOTE))).await;
    assert_eq!(a.body["error"]["code"], "analysis_running", "{}", a.text);
    let b = post(&st, "/v1/analyze", analyze_body(&scenario(ABORT))).await;
    assert_eq!(b.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(b.body["error"]["code"], "analysis_running", "{}", b.text);
    assert_eq!(b.headers["retry-after"], "3");
    // One slot, two analyses of 0.5 s each (plus judging): the queued one
    // runs once the first is done, and a retry finds its verdict.
    let mut b = b;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b = post(&st, "/v1/analyze", analyze_body(&scenario(ABORT))).await;
        if b.status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
    }
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    assert_eq!(b.body["verdict"], "abort", "{}", b.text);
}

#[tokio::test]
async fn without_a_cluster_gathering_routes_say_so_and_verdicts_still_work() {
    let st = state_with(None, |_| {});
    let r = post(&st, "/v1/analyze", analyze_body(&scenario(PROMOTE))).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["error"]["code"], "no_cluster");
    let bundle = std::fs::read_to_string(crate::cli::repo_path(&format!(
        "evals/scenarios/tune/public/{ABORT}"
    )))
    .unwrap();
    let auth = format!("Bearer {TOKEN}");
    let r = call(
        &st,
        "POST",
        "/v1/verdicts",
        Some(bundle),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
}

#[tokio::test]
async fn verdicts_rejects_bad_bundles_by_field_and_size() {
    let st = state_with(None, |c| c.max_body_bytes = 4096);
    let auth = format!("Bearer {TOKEN}");
    let h = [("authorization", auth.as_str())];
    let r = call(&st, "POST", "/v1/verdicts", Some(r#"{"version":1,"name":"x","rollout":{"namespace":"a","name":"b"},"metrics":[{"name":"m","canary":"oops","stable":[]}]}"#.into()), &h).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "metrics[0].canary", "{}", r.text);
    let r = call(
        &st,
        "POST",
        "/v1/verdicts",
        Some(r#"{"version":9}"#.into()),
        &h,
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let big = format!(r#"{{"version":1,"name":"{}"}}"#, "x".repeat(5000));
    let r = call(&st, "POST", "/v1/verdicts", Some(big), &h).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn a2a_speaks_the_metric_ai_plugin_contract() {
    let dir = crate::cli::repo_path("tests/server/fixtures");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("request.example.json")).unwrap())
            .unwrap();
    let contract: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("response.example.json")).unwrap())
            .unwrap();
    // The sample's selectors name the canary and stable pods.
    let mut ev = scenario(ABORT);
    ev.rollout.namespace = "default".into();
    ev.rollout.name = "canary-demo".into();
    let mut fake = FakeSource::default();
    fake.by_canary.insert("role=canary".into(), ev);
    let src = Arc::new(fake);
    let st = state_with(Some(Arc::clone(&src)), |_| {});
    let r = post(&st, "/a2a/analyze", sample).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Same fields, same JSON types as the plugin's agent.
    let got = r.body.as_object().unwrap();
    let want = contract.as_object().unwrap();
    // Every field of the sample, plus only the newer agent's optional ones.
    for k in got.keys() {
        assert!(
            want.contains_key(k)
                || ["modelResults", "votingRationale", "prLink"].contains(&k.as_str()),
            "{k}"
        );
    }
    for (k, v) in want {
        assert_eq!(
            std::mem::discriminant(v),
            std::mem::discriminant(&got[k]),
            "{k}: {} vs {}",
            v,
            got[k]
        );
    }
    assert_eq!(r.body["promote"], false);
    assert!(!r.body["rootCause"].as_str().unwrap().is_empty());
    let c = &src.calls()[0];
    assert_eq!(c.canary, PodSelector::Labels("role=canary".into()));
    assert_eq!(c.stable, PodSelector::Labels("role=stable".into()));
    assert_eq!(
        (c.namespace.as_str(), c.rollout.as_str()),
        ("default", "canary-demo")
    );
    // A bad selector is a 422 naming it.
    let r = post(
        &st,
        "/a2a/analyze",
        json!({"context": {"namespace": "default", "rolloutName": "x", "canarySelector": "role"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "context.canarySelector");
}

#[tokio::test]
async fn flagger_advances_on_promote_and_halts_otherwise() {
    let mut fake = FakeSource::default();
    fake.by_canary
        .insert("app=podinfo".into(), scenario(PROMOTE));
    fake.by_canary.insert("app=broken".into(), scenario(ABORT));
    let src = Arc::new(fake);
    let st = state_with(Some(Arc::clone(&src)), |_| {});
    let body = |name: &str| json!({"name": name, "namespace": "test", "phase": "Progressing", "metadata": {}});
    let r = post(&st, "/v1/flagger", body("podinfo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "promote");
    let r = post(&st, "/v1/flagger", body("broken")).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    let c = &src.calls()[0];
    assert!(!c.read_rollout, "Flagger canaries have no Argo Rollout");
    // Flagger sends no headers: the token may ride in the metadata instead.
    let mut b = body("podinfo");
    b["metadata"]["token"] = json!(TOKEN);
    let r = call(&st, "POST", "/v1/flagger", Some(b.to_string()), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    b["metadata"]["token"] = json!("wrong");
    let r = call(&st, "POST", "/v1/flagger", Some(b.to_string()), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(c.stable, PodSelector::Labels("app=podinfo-primary".into()));
}

#[tokio::test]
async fn readyz_reports_each_dependency_and_metrics_count_verdicts() {
    let st = state_with(Some(Arc::new(FakeSource::with(&[ABORT]))), |_| {});
    let r = call(&st, "GET", "/readyz", None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["checks"]["kubernetes"]["ok"], true);
    let mut fake = FakeSource::with(&[ABORT]);
    fake.fail = Some("connection refused".into());
    let down = state_with(Some(Arc::new(fake)), |_| {});
    let r = call(&down, "GET", "/readyz", None, &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body["checks"]["kubernetes"]["detail"],
        "connection refused"
    );

    post(&st, "/v1/analyze", analyze_body(&scenario(ABORT))).await;
    let m = call(&st, "GET", "/metrics", None, &[]).await;
    assert!(
        m.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    for line in [
        r#"rollwise_analyses_total{endpoint="analyze",verdict="abort"} 1"#,
        r#"rollwise_http_requests_total{route="/v1/analyze",status="200"} 1"#,
        r#"rollwise_http_requests_total{route="/readyz",status="200"} 1"#,
        "rollwise_analysis_duration_seconds_count",
        "rollwise_analyses_in_flight 0",
    ] {
        assert!(m.text.contains(line), "missing {line}:\n{}", m.text);
    }
}

#[derive(Debug, Default)]
struct SlowHook {
    seen: std::sync::Mutex<Vec<String>>,
}

impl rollwise::server::VerdictHook for SlowHook {
    fn after<'a>(
        &'a self,
        rec: Arc<rollwise::store::AnalysisRecord>,
        _history: rollwise::server::History,
    ) -> rollwise::llm::BoxFuture<'a, ()> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.seen.lock().unwrap().push(rec.id.clone());
        })
    }
}

/// A service with `hook` after every verdict.
fn with_hook(hook: Arc<SlowHook>) -> Arc<rollwise::server::AppState> {
    rollwise::server::AppState::new(rollwise::server::StateParts {
        cfg: rollwise::server::ServerConfig::default(),
        analyzer: rollwise::server::Analyzer::new(rollwise::judge::Judge::new(
            Default::default(),
            Default::default(),
        )),
        source: Some(Arc::new(FakeSource::with(&[ABORT]))),
        token: Some(TOKEN.into()),
        hooks: vec![hook],
        metrics: Arc::new(rollwise::server::Metrics::new()),
        store: None,
        holder: None,
    })
    .unwrap()
}

#[tokio::test]
async fn hooks_run_after_the_reply_without_delaying_it() {
    let hook = Arc::new(SlowHook::default());
    let st = with_hook(Arc::clone(&hook));
    let r = post(&st, "/v1/analyze", analyze_body(&scenario(ABORT))).await;
    assert_eq!(r.status, StatusCode::OK);
    // The reply came before the (300 ms) hook finished: it did not wait for it.
    assert!(
        hook.seen.lock().unwrap().is_empty(),
        "the hook delayed the reply"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        hook.seen.lock().unwrap().as_slice(),
        [r.body["analysisId"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn shutdown_waits_for_the_hooks_a_verdict_started() {
    let hook = Arc::new(SlowHook::default());
    let st = with_hook(Arc::clone(&hook));
    let r = post(&st, "/v1/analyze", analyze_body(&scenario(ABORT))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(hook.seen.lock().unwrap().is_empty());
    // SIGTERM right after the reply: drain returns only once the (300 ms)
    // hook has posted, well within its bound.
    let started = std::time::Instant::now();
    st.drain().await;
    assert_eq!(hook.seen.lock().unwrap().len(), 1, "the hook was cut off");
    assert!(started.elapsed() < rollwise::server::HOOK_DRAIN);
}

#[tokio::test]
async fn replay_mode_answers_from_a_directory_of_bundles() {
    let dir = crate::cli::repo_path("evals/scenarios/tune/public");
    let src = rollwise::gather::files::DirectorySource::load(&dir, 1 << 28).unwrap();
    assert_eq!(src.len(), 24);
    let st = state_with_source(Some(Arc::new(src)), |_| {});
    let ev = scenario("p01-rollouts-demo-bad-red.json");
    let r = post(&st, "/v1/analyze", analyze_body(&ev)).await;
    assert_eq!(r.body["verdict"], "abort", "{}", r.text);
    let mut body = analyze_body(&ev);
    body["stableHash"] = json!("0000000000");
    let r = post(&st, "/v1/analyze", body).await;
    assert_eq!(r.body["verdict"], "inconclusive", "{}", r.text);
    assert!(r.text.contains("stable hash"), "{}", r.text);
}

/// The record once the history has it (it is written just after the reply).
async fn stored(
    st: &rollwise::server::AppState,
    id: &str,
) -> Option<Arc<rollwise::store::AnalysisRecord>> {
    for _ in 0..100 {
        if let Some(r) = st.history.store.get(id).await.unwrap() {
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Before: `/v1/flagger` read and parsed any body up to 64 MiB before the
/// token (401 after the parse); `/v1/verdicts` took `../../etc` as a namespace
/// and answered overload with Retry-After 5 whatever the config said.
#[tokio::test]
async fn bodies_are_bounded_per_route_and_bundles_are_checked_like_other_input() {
    let mut fake = FakeSource::with(&[PROMOTE]);
    fake.delay = Duration::from_secs(3);
    let st = state_with(Some(Arc::new(fake)), |c| {
        c.retry_after_secs = 7;
        c.max_concurrent_analyses = 1;
        c.deadline_secs = 30.0;
    });
    let big = format!(r#"{{"name":"{}","namespace":"a"}}"#, "x".repeat(200_000));
    // Without the token: 401, whatever the body (it is not read).
    let r = call(&st, "POST", "/v1/flagger", Some(big.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // With it: over the small-body bound of every route but /v1/verdicts.
    let auth = format!("Bearer {TOKEN}");
    let h = [("authorization", auth.as_str())];
    for uri in ["/v1/flagger", "/v1/analyze", "/a2a/analyze"] {
        let r = call(&st, "POST", uri, Some(big.clone()), &h).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}: {}", r.text);
        assert_eq!(
            r.body["error"]["code"], "body_too_large",
            "{uri}: {}",
            r.text
        );
    }
    // A webhook whose metadata carries the token is still read.
    let meta = json!({"name": "podinfo", "namespace": "test", "metadata": {"token": TOKEN, "window": "1s"}});
    let r = call(&st, "POST", "/v1/flagger", Some(meta.to_string()), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "metadata.window", "{}", r.text);

    let path = crate::cli::repo_path(&format!("evals/scenarios/tune/public/{ABORT}"));
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (field, bad) in [
        ("namespace", "../../etc"),
        ("name", "a\r\nb"),
        ("canaryHash", "x\"}or vector(1)"),
    ] {
        let mut b = bundle.clone();
        b["rollout"][field] = json!(bad);
        let r = call(&st, "POST", "/v1/verdicts", Some(b.to_string()), &h).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(
            r.body["error"]["field"],
            format!("rollout.{field}"),
            "{}",
            r.text
        );
    }

    // A 200 KB string is clipped while reading: the bundle is still judged.
    bundle["description"] = json!("y".repeat(200_000));
    let r = call(&st, "POST", "/v1/verdicts", Some(bundle.to_string()), &h).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(r.body["verdict"], "promote", "{}", r.text);
    assert!(r.text.contains("clipped while reading"), "{}", r.text);

    // The only slot taken: the bundle just judged is answered from the
    // cache; a new one waits up to the deadline, then 503 with the
    // configured Retry-After.
    let short = [h[0], ("x-rollwise-deadline", "0.3")];
    let body = analyze_body(&scenario(PROMOTE)).to_string();
    let a = call(&st, "POST", "/v1/analyze", Some(body), &short).await;
    assert_eq!(a.body["error"]["code"], "analysis_running", "{}", a.text);
    let cached = call(
        &st,
        "POST",
        "/v1/verdicts",
        Some(bundle.to_string()),
        &short,
    )
    .await;
    assert_eq!(cached.status, StatusCode::OK, "{}", cached.text);
    bundle["description"] = json!("another bundle");
    let r = call(
        &st,
        "POST",
        "/v1/verdicts",
        Some(bundle.to_string()),
        &short,
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "overloaded", "{}", r.text);
    assert_eq!(r.headers["retry-after"], "7");
}

/// The metric-ai plugin reads only a 200 as an answer: a verdict not ready
/// in time keeps the contract's shape with 503 (an error measurement, which
/// Argo retries), never a `promote: false` 200 (a failed one, an abort).
/// The plugin can only be given a URL, so the token also works as the
/// password of HTTP Basic auth (Go sends `http://user:token@host` as Basic).
#[tokio::test]
async fn a2a_on_a_deadline_keeps_the_contract_shape_and_basic_auth_works() {
    let dir = crate::cli::repo_path("tests/server/fixtures");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("request.example.json")).unwrap())
            .unwrap();
    let contract: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("response.example.json")).unwrap())
            .unwrap();
    let mut ev = scenario(PROMOTE);
    ev.rollout.namespace = "default".into();
    ev.rollout.name = "canary-demo".into();
    let mut fake = FakeSource::default();
    fake.by_canary.insert("role=canary".into(), ev);
    fake.delay = Duration::from_secs(2);
    let st = state_with(Some(Arc::new(fake)), |c| c.retry_after_secs = 3);
    let basic = format!(
        "Basic {}",
        // "rollwise:s3cr3t-t0ken"
        "cm9sbHdpc2U6czNjcjN0LXQwa2Vu"
    );
    assert_eq!(format!("rollwise:{TOKEN}"), "rollwise:s3cr3t-t0ken");
    let h = [
        ("authorization", basic.as_str()),
        ("x-rollwise-deadline", "0.3"),
    ];
    let r = call(&st, "POST", "/a2a/analyze", Some(sample.to_string()), &h).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.headers["retry-after"], "3");
    let mut got: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
    let mut want: Vec<_> = contract.as_object().unwrap().keys().cloned().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{}", r.text);
    assert_eq!(r.body["promote"], false);
    assert_eq!(r.body["confidence"], 0);
    assert!(
        r.body["analysis"]
            .as_str()
            .unwrap()
            .contains("still running"),
        "{}",
        r.text
    );
    // Without a deadline header the plugin's call waits for the verdict.
    let r = call(
        &st,
        "POST",
        "/a2a/analyze",
        Some(sample.to_string()),
        &[("authorization", basic.as_str())],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["promote"], true, "{}", r.text);
    // A wrong Basic password is 401.
    let wrong = "Basic cm9sbHdpc2U6d3Jvbmc="; // rollwise:wrong
    let r = call(
        &st,
        "POST",
        "/a2a/analyze",
        Some(sample.to_string()),
        &[("authorization", wrong)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// A bundle posted again within the cache TTL is the same analysis: one
/// judgement, one record, the same analysis id; concurrent copies join it.
#[tokio::test]
async fn a_repeated_bundle_is_answered_from_the_cache() {
    let st = state_with(None, |_| {});
    let body = serde_json::to_value(scenario(ABORT)).unwrap();
    let first = post(&st, "/v1/verdicts", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let again = futures_join(&st, &body, 8).await;
    for r in &again {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["analysisId"], first.body["analysisId"]);
        assert_eq!(r.body["verdict"], first.body["verdict"]);
    }
    let mut other = body.clone();
    other["name"] = json!("another bundle");
    let r = post(&st, "/v1/verdicts", other).await;
    assert_ne!(r.body["analysisId"], first.body["analysisId"]);
    let m = call(&st, "GET", "/metrics", None, &[]).await.text;
    let count = |result: &str| -> u64 {
        let prefix = format!("rollwise_cache_lookups_total{{result=\"{result}\"}} ");
        m.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    assert_eq!(count("started"), 2, "{m}");
    assert_eq!(count("cached") + count("joined"), 8, "{m}");
}

async fn futures_join(
    st: &Arc<rollwise::server::AppState>,
    body: &serde_json::Value,
    n: usize,
) -> Vec<super::Reply> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let st = Arc::clone(st);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            post(&st, "/v1/verdicts", body).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
