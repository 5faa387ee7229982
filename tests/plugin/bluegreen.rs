//! Blue-green: the pre- and post-promotion templates and the example Rollout
//! follow the CRDs, call `/v1/analyze` as the canary template does, and the
//! Rollout passes every argument each template needs.

use std::collections::BTreeMap;

use rollwise_tools::crd::{AnalysisTemplate, Rollout};
use serde_json::Value;

use super::{check_web_metric, round_trips};

fn needed(t: &Value) -> Vec<String> {
    t["spec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("value").is_none() && a.get("valueFrom").is_none())
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

fn metric<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["spec"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

#[test]
fn the_blue_green_templates_and_rollout_fit_together() {
    let pre: AnalysisTemplate = round_trips("bluegreen-prepromotion-template.yaml");
    let pre = serde_json::to_value(&pre).unwrap();
    let post: AnalysisTemplate = round_trips("bluegreen-postpromotion-template.yaml");
    let post = serde_json::to_value(&post).unwrap();
    check_web_metric(
        "bluegreen-prepromotion-template.yaml",
        metric(&pre, "rollwise"),
    );
    check_web_metric(
        "bluegreen-postpromotion-template.yaml",
        metric(&post, "rollwise"),
    );
    // Pre-promotion: the load reaches the preview Service before rollwise
    // reads the window.
    let load = &metric(&pre, "preview-load")["provider"]["job"]["spec"]["template"]["spec"]["containers"]
        [0]["args"][0];
    assert!(load.as_str().unwrap().contains("{{args.preview-service}}"));
    assert_eq!(metric(&pre, "rollwise")["initialDelay"], "{{args.window}}");
    let r: Rollout = round_trips("rollout-bluegreen-example.yaml");
    let r = serde_json::to_value(&r).unwrap();
    let bg = &r["spec"]["strategy"]["blueGreen"];
    for (key, t) in [
        ("prePromotionAnalysis", &pre),
        ("postPromotionAnalysis", &post),
    ] {
        let a = &bg[key];
        assert_eq!(
            a["templates"][0]["templateName"], t["metadata"]["name"],
            "{key}"
        );
        let given: BTreeMap<&str, &Value> = a["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["name"].as_str().unwrap(), x))
            .collect();
        for n in needed(t) {
            assert!(given.contains_key(n.as_str()), "{key} does not pass {n}");
        }
        assert_eq!(
            given["canary-hash"]["valueFrom"]["podTemplateHashValue"],
            "Latest"
        );
        assert_eq!(
            given["stable-hash"]["valueFrom"]["podTemplateHashValue"],
            "Stable"
        );
    }
    assert_eq!(
        bg["prePromotionAnalysis"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "preview-service")
            .unwrap()["value"],
        bg["previewService"]
    );
}
