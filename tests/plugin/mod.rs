//! The manifests in plugin/ are what Argo Rollouts and Flagger will read: they
//! must parse as the CRDs define them (no unknown or misspelt field), and the
//! request the AnalysisTemplate makes must be one `/v1/analyze` accepts.

mod bluegreen;
mod experiment;
mod metric_ai;
mod notifications;

use std::collections::BTreeMap;

use rollwise_tools::crd::{AnalysisTemplate, ClusterAnalysisTemplate, Rollout};
use serde_json::Value;

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(crate::cli::repo_path(&format!("plugin/{name}"))).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parse as the typed CRD and back: a field the CRD does not define is lost on
/// the way, and the comparison fails naming the file.
pub(crate) fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let raw = yaml(name);
    let typed: T = serde_json::from_value(raw.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        raw,
        "{name}: a field is not in the CRD"
    );
    typed
}

/// Argo's argument substitution: `{{args.NAME}}` → value.
pub(crate) fn substitute(v: &Value, args: &BTreeMap<&str, &str>) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            for (k, val) in args {
                out = out.replace(&format!("{{{{args.{k}}}}}"), val);
            }
            assert!(!out.contains("{{"), "unsubstituted argument in {s}");
            Value::String(out)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, args)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, args)).collect()),
        other => other.clone(),
    }
}

pub(crate) fn check_web_metric(name: &str, metric: &Value) {
    assert_eq!(
        metric["successCondition"], r#"result.verdict == "promote""#,
        "{name}"
    );
    assert_eq!(
        metric["failureCondition"], r#"result.verdict == "abort""#,
        "{name}"
    );
    let web = &metric["provider"]["web"];
    assert_eq!(web["method"], "POST");
    assert_eq!(web["jsonPath"], "{$.measurement}");
    assert!(web["url"].as_str().unwrap().ends_with("/v1/analyze"));
    // Argo's client timeout must be longer than rollwise's deadline.
    let deadline = rollwise::server::ServerConfig::default().deadline_secs;
    assert!(web["timeoutSeconds"].as_f64().unwrap() > deadline, "{name}");
    assert_eq!(web["headers"][0]["value"], "Bearer {{args.api-token}}");
    let args = BTreeMap::from([
        ("namespace", "shop"),
        ("rollout", "checkout"),
        ("canary-hash", "6f8b9c7d5"),
        ("stable-hash", "5c4b3a291"),
        ("window", "10m"),
    ]);
    let body = substitute(&web["jsonBody"], &args);
    let req: rollwise::server::api::AnalyzeRequest =
        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
    assert_eq!(req.canary_hash.as_deref(), Some("6f8b9c7d5"));
    assert_eq!(req.window.unwrap().duration().unwrap().as_secs(), 600);
}

#[test]
fn analysis_templates_follow_the_crd_and_send_what_analyze_takes() {
    let t: AnalysisTemplate = round_trips("analysis-template.yaml");
    let v = serde_json::to_value(&t).unwrap();
    check_web_metric("analysis-template.yaml", &v["spec"]["metrics"][0]);
    let c: ClusterAnalysisTemplate = round_trips("cluster-analysis-template.yaml");
    let cv = serde_json::to_value(&c).unwrap();
    check_web_metric("cluster-analysis-template.yaml", &cv["spec"]["metrics"][0]);
    assert_eq!(v["spec"], cv["spec"], "the two templates say the same");
    let m: AnalysisTemplate = round_trips("metric-ai-analysis-template.yaml");
    let plugin = &serde_json::to_value(&m).unwrap()["spec"]["metrics"][0]["provider"]["plugin"]["argoproj-labs/metric-ai"];
    assert!(
        plugin["agentUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://rollwise.")
    );
}

#[test]
fn the_rollout_example_passes_every_argument_the_template_needs() {
    let r: Rollout = round_trips("rollout-example.yaml");
    let t = yaml("analysis-template.yaml");
    let needed: Vec<&str> = t["spec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("value").is_none() && a.get("valueFrom").is_none())
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        needed,
        ["namespace", "rollout", "canary-hash", "stable-hash"]
    );
    let v = serde_json::to_value(&r).unwrap();
    let steps = v["spec"]["strategy"]["canary"]["steps"].as_array().unwrap();
    let analyses: Vec<&Value> = steps.iter().filter_map(|s| s.get("analysis")).collect();
    assert_eq!(analyses.len(), 2);
    for a in analyses {
        assert_eq!(a["templates"][0]["templateName"], "rollwise");
        let given: BTreeMap<&str, &Value> = a["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["name"].as_str().unwrap(), x))
            .collect();
        for n in &needed {
            assert!(given.contains_key(n), "the Rollout does not pass {n}");
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
}

#[test]
fn the_flagger_example_calls_the_flagger_route() {
    let c = yaml("flagger-canary.yaml");
    let hook = &c["spec"]["analysis"]["webhooks"][0];
    assert_eq!(hook["type"], "rollout");
    assert!(hook["url"].as_str().unwrap().ends_with("/v1/flagger"));
    assert!(hook["metadata"]["token"].is_string());
}
