//! rollouts-plugin-metric-ai, both versions, against `/a2a/analyze`: the
//! request the plugin builds (`A2ARequest` in internal/plugin/a2a.go: userId,
//! prompt, context, and since memory support `memoryId`; newer versions add
//! `context.repoUrl` and `context.baseBranch`) and the reply each version
//! decodes (`A2AResponse`: five fields, and in the newer one `prLink`,
//! `modelResults` and `votingRationale`, all `omitempty`).

use std::sync::Arc;

use axum::http::StatusCode;
use rollwise::gather::PodSelector;
use serde::Deserialize;
use serde_json::Value;

use crate::server::{FakeSource, post, scenario, state_with};

/// The older plugin's `A2AResponse`. Go's decoder ignores unknown fields,
/// as serde does without `deny_unknown_fields`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct OlderResponse {
    analysis: String,
    root_cause: String,
    remediation: String,
    promote: bool,
    confidence: i64,
}

/// The newer plugin's `A2AResponse`, every field it knows and nothing else.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct NewerResponse {
    analysis: String,
    root_cause: String,
    remediation: String,
    #[serde(default)]
    pr_link: Option<String>,
    promote: bool,
    confidence: i64,
    #[serde(default)]
    model_results: Vec<NewerModelResult>,
    #[serde(default)]
    voting_rationale: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct NewerModelResult {
    model_name: String,
    analysis: String,
    root_cause: String,
    remediation: String,
    promote: bool,
    confidence: i64,
    execution_time_ms: i64,
    #[serde(default)]
    error: Option<String>,
}

fn fixture(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(crate::cli::repo_path(rel)).unwrap()).unwrap()
}

#[tokio::test]
async fn either_plugin_version_is_answered_and_reads_the_reply() {
    let current = fixture("tests/server/fixtures/request.example.json");
    let newer = fixture("tests/plugin/fixtures/a2a-request-newer.json");
    // Before memory support the plugin sent no memoryId.
    let mut oldest = current.clone();
    oldest.as_object_mut().unwrap().remove("memoryId");
    for (ev_name, promote) in [
        ("p01-rollouts-demo-bad-red.json", false),
        ("p12-rollouts-demo-blue-to-yellow.json", true),
    ] {
        let mut ev = scenario(ev_name);
        ev.rollout.namespace = "default".into();
        ev.rollout.name = "canary-demo".into();
        let mut fake = FakeSource::default();
        fake.by_canary.insert("role=canary".into(), ev);
        let src = Arc::new(fake);
        let st = state_with(Some(Arc::clone(&src)), |_| {});
        for (shape, body) in [
            ("oldest", &oldest),
            ("current", &current),
            ("newer", &newer),
        ] {
            let r = post(&st, "/a2a/analyze", body.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{shape}: {}", r.text);
            let old: OlderResponse = serde_json::from_value(r.body.clone())
                .unwrap_or_else(|e| panic!("{shape}: older plugin: {e}: {}", r.text));
            let new: NewerResponse = serde_json::from_value(r.body.clone())
                .unwrap_or_else(|e| panic!("{shape}: newer plugin: {e}: {}", r.text));
            assert_eq!(old.promote, promote, "{shape} {ev_name}");
            assert_eq!(new.promote, promote);
            assert!((0..=100).contains(&new.confidence));
            // One rule decides: one entry, agreeing with `promote`.
            assert_eq!(new.model_results.len(), 1, "{shape}");
            assert_eq!(new.model_results[0].promote, promote);
            assert_eq!(new.model_results[0].confidence, new.confidence);
            assert!(!new.voting_rationale.is_empty());
            assert!(new.pr_link.is_none(), "no remediation ran");
        }
        // Every shape selected the same pods of the same Rollout.
        let calls = src.calls();
        assert!(!calls.is_empty());
        for c in &calls {
            assert_eq!(c.canary, PodSelector::Labels("role=canary".into()));
            assert_eq!(c.stable, PodSelector::Labels("role=stable".into()));
            assert_eq!(c.rollout, "canary-demo");
        }
    }
}
