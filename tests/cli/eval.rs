use super::*;

#[test]
fn eval_reports_scores_and_writes_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let out = rollwise(&[
        "eval",
        "--scenarios",
        repo_path("evals/scenarios/tune/public")
            .to_str()
            .expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    for needle in [
        "accuracy",
        "false-promote rate",
        "false-abort rate",
        "root-cause hit rate",
        "Confusion matrix",
    ] {
        assert!(md.contains(needle), "missing {needle}: {md}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid json");
    assert_eq!(report["scores"]["scenarios"], 24);
    assert_eq!(report["results"].as_array().map(Vec::len), Some(24));
    for r in report["results"].as_array().expect("results") {
        for field in [
            "verdict",
            "confidence",
            "promptTokens",
            "completionTokens",
            "latencyMs",
        ] {
            assert!(!r[field].is_null(), "{field} missing in {r}");
        }
    }
}

#[test]
fn a_false_promote_fails_the_gate_but_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Labelled abort, but the evidence is clean: the judge promotes, which the
    // gate must count as a false promote.
    std::fs::write(
        dir.path().join("s.json"),
        bundle(
            &[0.0, 0.001, 0.0, 0.0, 0.002],
            &[0.0, 0.001, 0.0, 0.002, 0.0],
            "abort",
        ),
    )
    .expect("write");
    let d = dir.path().to_str().expect("utf8");
    let plain = rollwise(&["eval", "--scenarios", d]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stdout(&plain).contains("FALSE PROMOTE"));
    let gated = rollwise(&["eval", "--scenarios", d, "--max-false-promote", "0"]);
    assert_eq!(gated.status.code(), Some(1));
    assert!(
        stderr(&gated).contains("false-promote rate"),
        "{}",
        stderr(&gated)
    );
}

#[test]
fn unlabelled_scenarios_are_an_input_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = bundle(&[0.0; 5], &[0.0; 5], "promote");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v.as_object_mut().expect("object").remove("expected");
    std::fs::write(dir.path().join("s.json"), v.to_string()).expect("write");
    let out = rollwise(&["eval", "--scenarios", dir.path().to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected"), "{}", stderr(&out));
}

#[test]
fn bad_gate_value_is_a_usage_error() {
    let out = rollwise(&["eval", "--scenarios", ".", "--max-false-promote", "7"]);
    assert_eq!(out.status.code(), Some(2));
}
