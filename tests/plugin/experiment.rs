//! The Experiment baseline: plugin/experiment-analysis-template.yaml and
//! plugin/rollout-experiment-example.yaml follow the CRDs, and the request the
//! template makes reaches the gatherer as a baseline side.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use rollwise::gather::PodSelector;
use rollwise_tools::crd::{AnalysisTemplate, Rollout};
use serde_json::{Value, json};

use super::{round_trips, substitute};
use crate::server::{FakeSource, post, scenario, state_with};

#[tokio::test]
async fn the_experiment_template_sends_a_baseline_hash_and_analyze_gathers_the_baseline() {
    let t: AnalysisTemplate = round_trips("experiment-analysis-template.yaml");
    let t = serde_json::to_value(&t).unwrap();
    let r: Rollout = round_trips("rollout-experiment-example.yaml");
    let r = serde_json::to_value(&r).unwrap();
    let exp = r["spec"]["strategy"]["canary"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s.get("experiment"))
        .unwrap();
    let a = &exp["analyses"][0];
    assert_eq!(a["templateName"], t["metadata"]["name"]);
    let given: BTreeMap<&str, &Value> = a["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap(), x))
        .collect();
    assert_eq!(
        given["baseline-hash"]["value"],
        "{{templates.baseline.podTemplateHash}}"
    );
    let templates: Vec<&str> = exp["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert!(templates.contains(&"baseline"));
    for arg in t["spec"]["args"].as_array().unwrap() {
        let n = arg["name"].as_str().unwrap();
        if arg.get("value").is_none() && arg.get("valueFrom").is_none() {
            assert!(given.contains_key(n), "the experiment does not pass {n}");
        }
    }
    // The body Argo sends, with the hashes it substitutes.
    let mut ev = scenario("p01-rollouts-demo-bad-red.json");
    let canary = ev.rollout.canary_hash.clone().unwrap();
    let baseline = ev.rollout.stable_hash.clone().unwrap();
    let args = BTreeMap::from([
        ("namespace", ev.rollout.namespace.as_str()),
        ("rollout", ev.rollout.name.as_str()),
        ("canary-hash", canary.as_str()),
        ("baseline-hash", baseline.as_str()),
        ("window", "10m"),
    ]);
    let body = substitute(
        &t["spec"]["metrics"][0]["provider"]["web"]["jsonBody"],
        &args,
    );
    assert!(body.get("stableHash").is_none());
    ev.rollout.baseline = true;
    let mut fake = FakeSource::default();
    fake.by_canary.insert(canary.clone(), ev);
    let src = Arc::new(fake);
    let st = state_with(Some(Arc::clone(&src)), |_| {});
    let r = post(&st, "/v1/analyze", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    let c = &src.calls()[0];
    assert_eq!(c.canary, PodSelector::Hash(canary.clone()));
    assert_eq!(c.stable, PodSelector::Baseline(baseline.clone()));
    // One of the two, never both.
    let mut both = body.clone();
    both["stableHash"] = json!(baseline);
    let r = post(&st, "/v1/analyze", both).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "baselineHash");
    let mut neither = body;
    neither.as_object_mut().unwrap().remove("baselineHash");
    let r = post(&st, "/v1/analyze", neither).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["field"], "stableHash");
}
