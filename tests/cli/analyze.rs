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

#[test]
fn secrets_in_events_and_logs_never_reach_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("secret.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&bundle(&[0.0; 6], &[0.0; 6], "promote")).expect("json");
    let aws = "AKIAQWERTYUIOPASDFGH";
    let pw = "hunter2-Sup3rS3cret!";
    v["events"] = serde_json::json!([{
        "object": "Pod/checkout-c4n4ry-a", "type": "Warning", "reason": "FailedMount",
        "message": format!("mount failed: aws_access_key_id={aws} password={pw}"), "count": 3
    }]);
    let lines: Vec<String> = (0..20)
        .map(|i| format!("ERROR db login failed for user=app password={pw} attempt={i}"))
        .collect();
    v["logs"]["canary"][0]["lines"] = serde_json::json!(lines);
    std::fs::write(&p, v.to_string()).expect("write");
    for args in [
        vec!["analyze", "--evidence", p.to_str().expect("utf8"), "--json"],
        vec!["analyze", "--evidence", p.to_str().expect("utf8")],
        vec!["logs", "diff", "--evidence", p.to_str().expect("utf8")],
        vec!["logs", "digest", "--evidence", p.to_str().expect("utf8")],
    ] {
        let out = rollwise(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let all = stdout(&out) + &stderr(&out);
        assert!(
            !all.contains(aws) && !all.contains(pw),
            "{args:?} leaked: {all}"
        );
    }
    // The warning itself is still reported, and the new error logs keep it from promoting.
    let out = rollwise(&["analyze", "--evidence", p.to_str().expect("utf8"), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_ne!(v["verdict"], "promote");
    assert!(v["reasons"].to_string().contains("FailedMount"));
}

#[test]
fn logs_cluster_prints_one_id_per_line() {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .args(["logs", "cluster"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            b"user 1 logged in from 10.0.0.1\nuser 22 logged in from 10.0.0.7\ndisk full on /var\n",
        )
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let ids: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf8")
        .lines()
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
}

#[test]
fn logs_digest_respects_the_budget_and_names_the_cause() {
    let out = rollwise(&[
        "logs",
        "digest",
        "--evidence",
        &public("p03-inventory-go-panic.json"),
        "--budget",
        "600",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("index out of range"),
        "{}",
        stdout(&out)
    );
    let tokens: usize = stderr(&out)
        .trim_start_matches('(')
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("token count on stderr");
    assert!(tokens <= 600, "{tokens}");
}
