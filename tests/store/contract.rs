//! What every backend must do the same way: insert and read back, list with
//! the page's filters newest first, the typed updates, answers by key,
//! retention, PR dedupe and claims. Time is passed in, never slept.
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::evidence::Decision;
use rollwise::store::{
    AnalysisRecord, Claim, Feedback, FeedbackVia, Filter, NotificationOutcome, PrLink, Retention,
    RevisionRef, Store, StoreUrl,
};

use crate::notify::{public_scenario, record};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_800_000_000_000;

/// A record of `scenario` with its own id, namespace and creation time.
fn rec(id: &str, scenario: &str, ns: &str, created_ms: i64) -> Arc<AnalysisRecord> {
    let mut ev = public_scenario(scenario);
    ev.rollout.namespace = ns.into();
    let mut r = record(id, &ev);
    r.created_ms = created_ms;
    Arc::new(r)
}

fn json(r: &AnalysisRecord) -> serde_json::Value {
    serde_json::to_value(r).unwrap()
}

fn ids(v: &[Arc<AnalysisRecord>]) -> Vec<&str> {
    v.iter().map(|r| r.id.as_str()).collect()
}

pub async fn contract(s: &Store) {
    // Insert and read back, templates (exemplars, injection hits) included.
    let abort = rec(
        "a1",
        "p07-payment-service-npe-refunds.json",
        "pay",
        T0 - 40 * DAY,
    );
    assert_eq!(abort.verdict.verdict, Decision::Abort);
    assert!(abort.templates.is_some());
    let ok = rec(
        "a2",
        "p12-rollouts-demo-blue-to-yellow.json",
        "demo",
        T0 - DAY,
    );
    let newest = rec("a3", "p07-payment-service-npe-refunds.json", "pay", T0);
    s.insert(Arc::clone(&abort), Some("k1")).await.unwrap();
    s.insert(Arc::clone(&ok), None).await.unwrap();
    s.insert(Arc::clone(&newest), Some("k1")).await.unwrap();
    let got = s.get("a1").await.unwrap().unwrap();
    assert_eq!(json(&got), json(&abort), "{} round trip", s.backend_name());
    assert!(s.get("missing").await.unwrap().is_none());

    // Lists: newest first, by namespace, rollout, verdict, with a limit.
    let all = s.list(&Filter::default()).await.unwrap();
    assert_eq!(ids(&all), ["a3", "a2", "a1"]);
    let f = Filter {
        namespace: Some("pay".into()),
        limit: Some(1),
        ..Filter::default()
    };
    assert_eq!(ids(&s.list(&f).await.unwrap()), ["a3"]);
    let f = Filter {
        verdict: Some(ok.verdict.verdict),
        rollout: Some(ok.evidence.rollout.name.clone()),
        ..Filter::default()
    };
    assert_eq!(ids(&s.list(&f).await.unwrap()), ["a2"]);

    // By key: the newest at or after `since`.
    let k = s
        .latest_for_key("k1", T0 - 50 * DAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.id, "a3");
    assert!(s.latest_for_key("k1", T0 + 1).await.unwrap().is_none());
    assert!(s.latest_for_key("k2", 0).await.unwrap().is_none());

    // Typed updates.
    let note = |ch: &str, ok: bool| NotificationOutcome {
        channel: ch.into(),
        ok,
        detail: format!("sent to {ch}"),
        thread_ts: ok.then(|| "1793000000.000100".into()),
    };
    assert!(
        s.add_notification("a3", &note("#deploys", true), T0)
            .await
            .unwrap()
    );
    assert!(
        s.add_notification("a3", &note("#oncall", false), T0)
            .await
            .unwrap()
    );
    assert!(
        !s.add_notification("missing", &note("#x", true), T0)
            .await
            .unwrap()
    );
    // Feedback: appended in order, the latest is the label; its reason is
    // redacted before it is stored.
    let said = |expected: Decision, right: bool, reason: &str, at: i64| Feedback {
        expected,
        right,
        reason: reason.into(),
        who: "U024BE7LH".into(),
        via: FeedbackVia::Slack,
        created_ms: at,
    };
    assert!(
        s.add_feedback("a3", &said(Decision::Promote, false, "flaky test", T0))
            .await
            .unwrap()
    );
    assert!(
        s.add_feedback(
            "a3",
            &said(
                Decision::Abort,
                true,
                "key AKIAIOSFODNN7EXAMPLE leaked",
                T0 + 1
            )
        )
        .await
        .unwrap()
    );
    assert!(
        !s.add_feedback("missing", &said(Decision::Abort, true, "", T0))
            .await
            .unwrap()
    );
    let a3 = s.get("a3").await.unwrap().unwrap();
    assert_eq!(a3.feedback.len(), 2);
    assert_eq!(
        a3.feedback[0],
        said(Decision::Promote, false, "flaky test", T0)
    );
    let label = a3.label().unwrap();
    assert_eq!(
        (label.expected, label.right, label.created_ms),
        (Decision::Abort, true, T0 + 1)
    );
    assert!(
        !label.reason.contains("AKIAIOSFODNN7EXAMPLE"),
        "{:?}",
        label.reason
    );
    let listed = s.list(&Filter::default()).await.unwrap();
    assert_eq!(
        listed.iter().find(|r| r.id == "a3").unwrap().feedback,
        a3.feedback
    );

    let rev = RevisionRef::of(&newest.evidence);
    let pr = PrLink {
        url: "https://github.com/acme/payments/pull/9".into(),
        number: 9,
        repo: "acme/payments".into(),
    };
    assert!(s.pr_for(&rev).await.unwrap().is_none());
    assert!(s.set_pr("a3", &rev, &pr, T0).await.unwrap());
    let transcript = serde_json::json!([{"step": 1, "tool": "read_file"}]);
    assert!(s.set_transcript("a3", &transcript).await.unwrap());
    assert!(!s.set_transcript("missing", &transcript).await.unwrap());
    let a3 = s.get("a3").await.unwrap().unwrap();
    assert_eq!(
        a3.notifications,
        [note("#deploys", true), note("#oncall", false)]
    );
    assert_eq!(a3.pr.as_ref(), Some(&pr));
    assert_eq!(a3.transcript.as_ref(), Some(&transcript));
    assert_eq!(s.pr_for(&rev).await.unwrap(), Some(pr.clone()));
    let other = RevisionRef {
        revision: "other".into(),
        ..rev.clone()
    };
    assert!(s.pr_for(&other).await.unwrap().is_none());

    // Claims: exclusive until they expire; renewable by their holder;
    // released only by it.
    let ttl = Duration::from_secs(60);
    assert_eq!(s.claim("c", "A", ttl, T0).await.unwrap(), Claim::Won);
    assert_eq!(
        s.claim("c", "B", ttl, T0 + 1).await.unwrap(),
        Claim::HeldBy {
            holder: "A".into(),
            expires_ms: T0 + 60_000
        }
    );
    assert_eq!(
        s.claim("c", "A", ttl, T0 + 2).await.unwrap(),
        Claim::Won,
        "renewed"
    );
    s.release("c", "B").await.unwrap();
    assert!(matches!(
        s.claim("c", "B", ttl, T0 + 3).await.unwrap(),
        Claim::HeldBy { .. }
    ));
    assert_eq!(
        s.claim("c", "B", ttl, T0 + 60_003).await.unwrap(),
        Claim::Won,
        "taken over once expired"
    );
    s.release("c", "B").await.unwrap();
    assert_eq!(
        s.claim("c", "A", ttl, T0 + 60_004).await.unwrap(),
        Claim::Won
    );

    // Retention: older than 30 days goes, with its notifications; the cap
    // keeps the newest; PR rows stay for dedupe.
    assert!(
        s.add_notification("a1", &note("#deploys", true), T0)
            .await
            .unwrap()
    );
    assert!(
        s.add_feedback("a1", &said(Decision::Promote, false, "", T0))
            .await
            .unwrap()
    );
    let keep = Retention {
        max_age: Duration::from_secs(30 * 86_400),
        max_analyses: 10,
    };
    let swept = s.sweep(&keep, T0).await.unwrap();
    assert_eq!(swept.analyses, 1);
    assert_eq!(
        ids(&s.list(&Filter::default()).await.unwrap()),
        ["a3", "a2"]
    );
    assert_eq!(
        s.sweep(&keep, T0).await.unwrap().analyses,
        0,
        "a second sweep finds nothing"
    );
    // A record re-inserted with the old id starts without the swept notifications.
    s.insert(Arc::clone(&abort), None).await.unwrap();
    assert!(s.get("a1").await.unwrap().unwrap().notifications.is_empty());
    assert!(s.get("a1").await.unwrap().unwrap().feedback.is_empty());
    let one = Retention {
        max_age: Duration::from_secs(365 * 86_400),
        max_analyses: 1,
    };
    assert_eq!(s.sweep(&one, T0).await.unwrap().analyses, 2);
    assert_eq!(ids(&s.list(&Filter::default()).await.unwrap()), ["a3"]);
    let gone = Retention {
        max_age: Duration::from_secs(3600),
        max_analyses: 10,
    };
    assert_eq!(
        s.sweep(&gone, T0 + 2 * 3_600_000).await.unwrap().analyses,
        1
    );
    assert!(s.get("a3").await.unwrap().is_none());
    assert_eq!(
        s.pr_for(&rev).await.unwrap(),
        Some(pr),
        "PR rows outlive the analyses"
    );
    assert!(
        s.set_pr(
            "a3",
            &rev,
            &PrLink {
                number: 10,
                ..a3.pr.clone().unwrap()
            },
            T0
        )
        .await
        .is_ok_and(|linked| !linked)
    );
}

/// Insert `n` records and list the newest 50: the latency the service and
/// the page see. Printed for the record.
pub async fn measure(s: &Store, n: usize) {
    let base = rec("m", "p07-payment-service-npe-refunds.json", "perf", T0);
    let t = Instant::now();
    for i in 0..n {
        let mut r = (*base).clone();
        r.id = format!("m{i:05}");
        r.created_ms = T0 + i as i64;
        s.insert(Arc::new(r), Some("perf")).await.unwrap();
    }
    let insert = t.elapsed() / n as u32;
    let t = Instant::now();
    let page = s
        .list(&Filter {
            namespace: Some("perf".into()),
            limit: Some(50),
            ..Filter::default()
        })
        .await
        .unwrap();
    let list = t.elapsed();
    assert_eq!(page.len(), 50.min(n));
    let t = Instant::now();
    s.get("m00000").await.unwrap().unwrap();
    let get = t.elapsed();
    eprintln!(
        "{}: insert {insert:?} per record ({n} records), list newest 50 {list:?}, get {get:?}",
        s.backend_name()
    );
}

/// Secrets planted where the record keeps evidence text verbatim: the bundle's
/// description and an event message (the judge's reasons are redacted already).
const STORED_SECRETS: [&str; 3] = [
    "AKIA2SMEKG2N6EQS6FEL",
    "glpat-Xk3s9vQ2mN8pL5rT7wYz",
    "Sup3rS3cretPassw0rd",
];

/// A record with [`STORED_SECRETS`] in its evidence, inserted as `id`.
async fn insert_with_secrets(s: &Store, id: &str) -> Arc<AnalysisRecord> {
    let mut ev = public_scenario("p20-accounts-nest-secrets-in-logs.json");
    ev.description = Some(format!(
        "release with key {} and token {}",
        STORED_SECRETS[0], STORED_SECRETS[1]
    ));
    let mut event = ev.events.first().cloned().expect("p20 has events");
    event.message = format!(
        "Error: connect to db failed, DATABASE_URL=postgres://app:{}@db:5432/app",
        STORED_SECRETS[2]
    );
    ev.events.push(event);
    let r = Arc::new(record(id, &ev));
    s.insert(Arc::clone(&r), None).await.unwrap();
    s.set_transcript(
        id,
        &serde_json::json!([{"role": "tool", "content": format!("found {}", STORED_SECRETS[0])}]),
    )
    .await
    .unwrap();
    r
}

/// What is read back holds no planted secret, the markers instead.
async fn reads_back_redacted(s: &Store, id: &str) {
    let got = s.get(id).await.unwrap().unwrap();
    let text = json(&got).to_string();
    for secret in STORED_SECRETS {
        assert!(
            !text.contains(secret),
            "{}: {secret} stored",
            s.backend_name()
        );
    }
    let desc = got.evidence.description.as_deref().unwrap_or_default();
    assert!(desc.contains("[REDACTED:aws-key]"), "{desc}");
    assert!(desc.contains("[REDACTED:gitlab-token]"), "{desc}");
    let last = got.evidence.events.last().unwrap();
    assert!(
        last.message
            .contains("postgres://app:[REDACTED:password]@db:5432"),
        "{}",
        last.message
    );
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    contract(&Store::memory(100)).await;
}

#[tokio::test]
async fn memory_store_redacts_before_storing() {
    let s = Store::memory(10);
    insert_with_secrets(&s, "s1").await;
    reads_back_redacted(&s, "s1").await;
}

#[tokio::test]
async fn sqlite_store_redacts_before_storing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let url = StoreUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
    let s = Store::open(&url).await.unwrap();
    let raw = insert_with_secrets(&s, "s1").await;
    // The record handed in did hold them: the store is what removed them.
    assert!(json(&raw).to_string().contains(STORED_SECRETS[0]));
    reads_back_redacted(&s, "s1").await;
    drop(s);
    // And the file itself: the record, its templates and its transcript.
    let db = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT record_json || coalesce(templates_json, '') || coalesce(transcript_json, '') FROM analyses",
        )
        .unwrap();
    let dumped: String = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|row| row.unwrap())
        .collect();
    assert!(dumped.contains("[REDACTED:aws-key]"), "{dumped:.300}");
    for secret in STORED_SECRETS {
        assert!(!dumped.contains(secret), "{secret} in the sqlite file");
    }
}

#[tokio::test]
async fn sqlite_store_keeps_the_contract_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(&format!("sqlite://{}", dir.path().join("h.db").display())).unwrap();
    let s = Store::open(&url).await.unwrap();
    contract(&s).await;
    measure(&s, 300).await;
    drop(s);
    let again = Store::open(&url).await.unwrap();
    assert!(
        again.get("m00299").await.unwrap().is_some(),
        "the history outlives the process"
    );
}

#[tokio::test]
async fn postgres_store_keeps_the_contract() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    let s = Store::open(&url).await.unwrap();
    assert!(s.is_shared());
    contract(&s).await;
    measure(&s, 300).await;
    insert_with_secrets(&s, "s1").await;
    reads_back_redacted(&s, "s1").await;
}

#[tokio::test]
async fn postgres_migrations_run_once_and_a_changed_file_is_refused() {
    let pg = super::pg::start().await;
    let url = StoreUrl::parse(&pg.url).unwrap();
    // start() opened it once: opening again applies nothing and works.
    let s = Store::open(&url).await.unwrap();
    s.insert(
        rec("x", "p12-rollouts-demo-blue-to-yellow.json", "n", T0),
        None,
    )
    .await
    .unwrap();
    let s2 = Store::open(&url).await.unwrap();
    assert!(
        s2.get("x").await.unwrap().is_some(),
        "migrating again kept the data"
    );
    static CHANGED: &[rollwise::store::migrate::Migration] =
        &[rollwise::store::migrate::Migration {
            version: 1,
            name: "0001_history.sql",
            sql: "CREATE TABLE analyses (id TEXT PRIMARY KEY);",
        }];
    let e = Store::open_with_migrations(&url, CHANGED)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("0001_history.sql") && e.contains("edited"),
        "{e}"
    );
}
