//! The verdict pages: routes, filters, JSON variants, 404s, security headers,
//! hostile text made inert (unit-level with `oneshot`), and the real thing in
//! headless Chromium (`browser.rs`).

mod auth;
mod browser;
mod routes;

use rollwise::evidence::KubeEvent;
use rollwise::page::{PageConfig, router};
use rollwise::store::{PrLink, Store};

use crate::notify::{public_scenario, record};

/// Text planted in an exemplar and an event message of the hostile record.
/// A GCP service-account file's key id, as a log exemplar quotes it.
pub const GCP_KEY_ID: &str = "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c";
pub const GCP_KEY_ID_LINE: &str =
    r#""private_key_id": "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c","#;
pub const SCRIPT_EXEMPLAR: &str = "<script>document.title='pwned-exemplar'</script>";
pub const SCRIPT_EVENT: &str =
    "<img src=x onerror=\"document.title='pwned-event'\"><script>alert(1)</script>";

/// A store with a failing canary (p05, with a PR), a clean one (p12), an
/// inconclusive one (p21) and a hostile record (p07 plus markup in logs and
/// events), newest last.
pub fn store() -> Store {
    let mut p05 = record(
        "p05-oom",
        &public_scenario("p05-reports-flask-oomkilled.json"),
    );
    p05.pr = Some(PrLink {
        url: "https://github.com/acme/reports/pull/17".into(),
        number: 17,
        repo: "acme/reports".into(),
    });
    let records = [
        p05,
        record(
            "p12-ok",
            &public_scenario("p12-rollouts-demo-blue-to-yellow.json"),
        ),
        record("p21-quiet", &public_scenario("p21-ratings-no-traffic.json")),
        hostile(),
    ];
    // A millisecond apart, in that order: lists are newest first.
    Store::memory_with(
        100,
        records.into_iter().enumerate().map(|(i, mut r)| {
            r.created_ms += i as i64;
            r
        }),
    )
}

pub fn hostile() -> rollwise::store::AnalysisRecord {
    let mut ev = public_scenario("p07-payment-service-npe-refunds.json");
    ev.events.push(KubeEvent {
        object: "Pod/payment-service-x".into(),
        kind: "Warning".into(),
        reason: "BackOff".into(),
        message: SCRIPT_EVENT.into(),
        count: 2,
    });
    let mut rec = record("hostile", &ev);
    let d = rec.templates.as_mut().expect("p07 has logs");
    let c = d
        .changes
        .iter_mut()
        .find(|c| c.change.is_increase())
        .expect("p07 has a novel template");
    c.exemplars = vec![format!(
        "ERROR {SCRIPT_EXEMPLAR} AKIAIOSFODNN7EXAMPLE ⏎ {GCP_KEY_ID_LINE}"
    )];
    rec
}

pub fn app(store: Store) -> axum::Router {
    router(store, PageConfig::default())
}
