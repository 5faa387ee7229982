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

/// `rollwise serve --evidence-dir evals/scenarios/tune/bluegreen` answers the
/// web provider's request for each blue-green bundle with its label, and the
/// reasons say which blue-green analysis it was.
#[tokio::test]
async fn the_blue_green_scenarios_replay_through_analyze() {
    use crate::server::{post, state_with_source};
    use std::sync::Arc;
    let dir = crate::cli::repo_path("evals/scenarios/tune/bluegreen");
    let src = rollwise::gather::files::DirectorySource::load(&dir, 1 << 28).unwrap();
    assert_eq!(src.len(), 5);
    let st = state_with_source(Some(Arc::new(src)), |_| {});
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let ev = rollwise::evidence::load_file(&path, 1 << 28).unwrap();
        let want = ev.expected.as_ref().unwrap().verdict;
        let r = post(&st, "/v1/analyze", crate::server::analyze_body(&ev)).await;
        assert_eq!(r.body["verdict"], want.as_str(), "{}: {}", ev.name, r.text);
        let says = match ev.rollout.strategy {
            Some(rollwise::evidence::Strategy::BlueGreenPrePromotion) => "pre-promotion",
            Some(rollwise::evidence::Strategy::BlueGreenPostPromotion) => "post-promotion",
            other => panic!("{}: strategy {other:?}", ev.name),
        };
        let v = rollwise::judge::Judge::new(Default::default(), Default::default()).judge(&ev);
        assert!(
            v.reasons.iter().any(|x| x.detail.contains(says)),
            "{}: {:?}",
            ev.name,
            v.reasons
        );
    }
}
