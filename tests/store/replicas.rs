//! The service on a shared store: a claim left by a replica that died is
//! taken over; a revision with a PR, or claimed by another replica, is not
//! remediated again; a failing store never costs a verdict.
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::llm::scripted::ScriptedModel;
use rollwise::remediate::RemediationConfig;
use rollwise::server::cache::AnalysisKey;
use rollwise::server::hooks::RemediationHook;
use rollwise::server::{History, Metrics, VerdictHook};
use rollwise::store::{Claim, PrLink, RevisionRef, Store, StoreUrl, now_ms};
use rollwise_tools::github::{GithubAuth, GithubConfig};

use crate::cli::repo_path;
use crate::server::{FakeSource, analyze_body, post, scenario, state_on};

const ABORT: &str = "p03-inventory-go-panic.json";

#[tokio::test]
async fn a_claim_left_by_a_dead_replica_is_taken_over_when_it_expires() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    let dead = Store::open(&url).await.unwrap();
    let src = Arc::new(FakeSource::with(&[ABORT]));
    let live = state_on(
        Some(Arc::clone(&src)),
        Store::open(&url).await.unwrap(),
        "live",
    );
    let ev = scenario(ABORT);
    // What the route computes for analyze_body(ev).
    let key = AnalysisKey {
        endpoint: "analyze",
        namespace: ev.rollout.namespace.clone(),
        rollout: ev.rollout.name.clone(),
        canary: ev.rollout.canary_hash.clone().unwrap(),
        stable: ev.rollout.stable_hash.clone().unwrap(),
        window_secs: 600,
        extra: String::new(),
    };
    let claim = format!("analyze/{}", key.digest());
    assert_eq!(
        dead.claim(&claim, "dead", Duration::from_millis(1500), now_ms())
            .await
            .unwrap(),
        Claim::Won
    );
    let t = Instant::now();
    let r = post(&live, "/v1/analyze", analyze_body(&ev)).await;
    let took = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    assert_eq!(src.calls().len(), 1, "analysed once the claim expired");
    assert!(
        took >= Duration::from_millis(1200),
        "waited for the claim: {took:?}"
    );
    eprintln!("a dead replica's claim (1.5 s) was taken over after {took:?}");
}

fn remediation(metrics: Arc<Metrics>) -> RemediationHook {
    RemediationHook::new(
        RemediationConfig {
            after_abort: true,
            allowed_repos: vec!["acme/cart".into()],
            min_confidence: 0,
            ..RemediationConfig::default()
        },
        // Neither the model nor GitHub may be called: nothing answers there.
        Arc::new(ScriptedModel::tool_turns(Vec::new()).unwrap()),
        GithubConfig {
            api_url: "http://127.0.0.1:9".into(),
            auth: GithubAuth::Token("unused".into()),
            ..GithubConfig::default()
        },
        None,
        metrics,
        None,
    )
}

/// Replica A's remediation hook after an abort that replica B is already
/// remediating, then after B's PR is recorded.
async fn one_remediation_per_revision(a: Store, b: Store) {
    let ev = rollwise::evidence::load_file(
        &repo_path("evals/scenarios/tune/remediation/r01-cart-go-index-out-of-range.json"),
        1 << 24,
    )
    .unwrap();
    let rec = Arc::new(crate::notify::record("r01-a", &ev));
    assert_eq!(rec.verdict.verdict, rollwise::evidence::Decision::Abort);
    a.insert(Arc::clone(&rec), None).await.unwrap();
    let rev = RevisionRef::of(&ev);
    let metrics = Arc::new(Metrics::new());
    let hook = remediation(Arc::clone(&metrics));
    let history = History {
        store: a.clone(),
        metrics: Arc::clone(&metrics),
        holder: "replica-a".into(),
    };
    let b_holder = "replica-b#r01-b";
    assert_eq!(
        b.claim(
            &rev.claim_name(),
            b_holder,
            Duration::from_secs(3600),
            now_ms()
        )
        .await
        .unwrap(),
        Claim::Won
    );
    hook.after(Arc::clone(&rec), history.clone()).await;
    assert_eq!(metrics.remediation_skipped_count("claimed"), 1);
    let pr = PrLink {
        url: "https://github.com/acme/cart/pull/1".into(),
        number: 1,
        repo: "acme/cart".into(),
    };
    b.set_pr("r01-b", &rev, &pr, now_ms()).await.unwrap();
    b.release(&rev.claim_name(), b_holder).await.unwrap();
    hook.after(Arc::clone(&rec), history).await;
    assert_eq!(metrics.remediation_skipped_count("pr_exists"), 1);
    assert!(
        a.get("r01-a").await.unwrap().unwrap().transcript.is_none(),
        "the agent never ran"
    );
}

#[tokio::test]
async fn a_revision_is_remediated_once_in_one_process() {
    let s = Store::memory(10);
    one_remediation_per_revision(s.clone(), s).await;
}

#[tokio::test]
async fn a_revision_is_remediated_once_across_replicas_on_postgres() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    one_remediation_per_revision(
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_broken_store_costs_no_verdict_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let url = StoreUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
    let store = Store::open(&url).await.unwrap();
    // Someone breaks the database under the running service.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE notifications; DROP TABLE analyses;")
        .unwrap();
    let src = Arc::new(FakeSource::with(&[ABORT]));
    let st = state_on(Some(src), store, "r");
    let ev = scenario(ABORT);
    let r = post(&st, "/v1/verdicts", serde_json::to_value(&ev).unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    let r = post(&st, "/v1/analyze", analyze_body(&ev)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    let t = Instant::now();
    while st.metrics.store_error_count("insert") < 2 && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(st.metrics.store_error_count("insert"), 2);
    assert!(
        st.metrics
            .encode()
            .contains("rollwise_store_errors_total{op=\"insert\",kind=\"backend\"} 2")
    );
}
