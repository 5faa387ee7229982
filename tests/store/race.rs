//! Two replicas (two `Store` handles, two service states) on one Postgres:
//! one analysis per key and one remediation per revision.
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::Duration;

use rollwise::store::{Claim, Store, StoreUrl};

#[tokio::test]
async fn two_handles_racing_for_one_claim_give_exactly_one_winner() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    let now = rollwise::store::now_ms();
    let ttl = Duration::from_secs(60);
    let mut wins = 0;
    for round in 0..50 {
        let name = format!("remediate/ns/r/hash{round}");
        let (ra, rb) = tokio::join!(
            a.claim(&name, "replica-a", ttl, now),
            b.claim(&name, "replica-b", ttl, now)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let won = [&ra, &rb].iter().filter(|c| ***c == Claim::Won).count();
        assert_eq!(won, 1, "round {round}: {ra:?} {rb:?}");
        wins += won;
    }
    assert_eq!(wins, 50);
    // Expired: the other takes over.
    assert_eq!(
        a.claim("k", "replica-a", ttl, now).await.unwrap(),
        Claim::Won
    );
    assert!(matches!(
        b.claim("k", "replica-b", ttl, now + 1).await.unwrap(),
        Claim::HeldBy { .. }
    ));
    assert_eq!(
        b.claim("k", "replica-b", ttl, now + 60_001).await.unwrap(),
        Claim::Won
    );
    eprintln!("50 rounds of two replicas racing for one claim: exactly one winner each");
}

#[tokio::test]
async fn two_replicas_asked_the_same_step_analyse_once() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    const ABORT: &str = "p03-inventory-go-panic.json";
    let src = Arc::new(crate::server::FakeSource {
        delay: Duration::from_millis(800),
        ..crate::server::FakeSource::with(&[ABORT])
    });
    let replica = |name: &str| {
        let store = url.clone();
        let src = Arc::clone(&src);
        let name = name.to_owned();
        async move {
            let s = Store::open(&store).await.unwrap();
            crate::server::state_on(Some(src), s, &name)
        }
    };
    let a = replica("replica-a").await;
    let b = replica("replica-b").await;
    let ev = crate::server::scenario(ABORT);
    // Three steps (windows), each sent to both replicas at the same instant.
    for (round, window) in ["10m", "11m", "12m"].into_iter().enumerate() {
        let mut body = crate::server::analyze_body(&ev);
        body["window"] = window.into();
        let (ra, rb) = tokio::join!(
            crate::server::post(&a, "/v1/analyze", body.clone()),
            crate::server::post(&b, "/v1/analyze", body.clone()),
        );
        assert_eq!(ra.status, 200, "{}", ra.text);
        assert_eq!(rb.status, 200, "{}", rb.text);
        assert_eq!(src.calls().len(), round + 1, "one gather for both replicas");
        assert_eq!(
            ra.body["analysisId"], rb.body["analysisId"],
            "one replica answered from the other's record"
        );
        assert_eq!(ra.body["verdict"], rb.body["verdict"]);
    }
    let answered = |st: &rollwise::server::AppState| {
        st.metrics
            .encode()
            .lines()
            .find(|l| l.starts_with("rollwise_cache_lookups_total{result=\"replica\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        answered(&a) + answered(&b),
        3,
        "each step: one analysed, one answered from it"
    );
    eprintln!(
        "two replicas, three steps sent to both at once: 3 analyses, 3 answers from the other replica's record (a: {}, b: {})",
        answered(&a),
        answered(&b)
    );
}
