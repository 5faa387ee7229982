use super::*;

#[test]
fn analyze_json_has_the_verdict_fields() {
    let out = rollwise(&[
        "analyze",
        "--evidence",
        &public("p01-rollouts-demo-bad-red.json"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    assert_eq!(v["verdict"], "abort");
    let confidence = v["confidence"].as_u64().expect("integer confidence");
    assert!((1..=100).contains(&confidence));
    assert!(v["summary"].as_str().is_some_and(|s| !s.is_empty()));
    let reasons = v["reasons"].as_array().expect("reasons");
    assert!(!reasons.is_empty());
    for r in reasons {
        assert!(
            r["signal"].is_string() && r["detail"].is_string() && r["evidence"].is_string(),
            "{r}"
        );
    }
    let metrics = v["metrics"].as_array().expect("metric table");
    assert_eq!(metrics[0]["name"], "error_rate");
    assert_eq!(metrics[0]["outcome"], "regression");
}

#[test]
fn analyze_human_view_shows_verdict_reasons_and_table() {
    let out = rollwise(&[
        "analyze",
        "--evidence",
        &public("p12-rollouts-demo-blue-to-yellow.json"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PROMOTE"), "{text}");
    assert!(text.contains("Reasons"), "{text}");
    assert!(text.contains("error_rate *"), "{text}");
    assert!(text.contains("tolerance"), "{text}");
}

#[test]
fn missing_file_is_a_usage_error_naming_the_file() {
    let out = rollwise(&["analyze", "--evidence", "/nonexistent/bundle.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/bundle.json"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_json_names_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.json");
    std::fs::write(&p, "{\n  \"version\": 1,\n  \"name\": \"x\",\n  oops\n}").expect("write");
    let out = rollwise(&["analyze", "--evidence", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.json") && err.contains("line 4"), "{err}");
}

#[test]
fn wrong_type_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("wrong.json");
    let text =
        bundle(&[0.0; 5], &[0.0; 5], "promote").replace("\"restarts\":0", "\"restarts\":\"three\"");
    std::fs::write(&p, text).expect("write");
    let out = rollwise(&["analyze", "--evidence", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pods.canary[0].restarts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn negative_count_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("neg.json");
    let text = bundle(&[0.0; 5], &[0.0; 5], "promote")
        .replace("\"canaryRequests\":1000", "\"canaryRequests\":-5");
    std::fs::write(&p, text).expect("write");
    let out = rollwise(&["analyze", "--evidence", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("traffic.canaryRequests"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let out = rollwise(&[
        "analyze",
        "--evidence",
        &public("p01-rollouts-demo-bad-red.json"),
        "--max-evidence-bytes",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("over the limit"), "{}", stderr(&out));
}

#[test]
fn no_arguments_is_a_usage_error() {
    let out = rollwise(&[]);
    assert_eq!(out.status.code(), Some(2));
}
