//! The LLM flags as a user meets them: the mode is stated, `--llm off` and no
//! URL mean no model, an unreachable endpoint degrades to statistics and logs.

use std::process::{Command, Output};

use super::{public, stderr, stdout};

fn rollwise_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rollwise"));
    c.args(args)
        .env_remove("RUST_LOG")
        .env_remove("ROLLWISE_LLM")
        .env_remove("ROLLWISE_LLM_URL")
        .env_remove("ROLLWISE_LLM_MODEL")
        .env_remove("ROLLWISE_CONFIG")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run rollwise")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn no_url_means_statistics_and_logs_and_says_so() {
    let p = public("p01-rollouts-demo-bad-red.json");
    let o = rollwise_env(&["analyze", "--evidence", &p], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no model consulted"), "{}", stderr(&o));
    assert!(stdout(&o).contains("statistics and logs alone"));
    let o = rollwise_env(
        &["analyze", "--evidence", &p, "--json", "--llm", "off"],
        &[],
    );
    let v = json(&o);
    assert_eq!(v["mode"], "statistics-and-logs");
    assert!(v.get("model").is_none());
}

#[test]
fn scripted_model_is_recorded_with_tokens() {
    let p = public("p12-rollouts-demo-blue-to-yellow.json");
    let o = rollwise_env(
        &[
            "analyze",
            "--evidence",
            &p,
            "--json",
            "--llm",
            "scripted:abort",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["mode"], "hybrid");
    assert_eq!(v["model"], "scripted-abort");
    assert!(v["usage"]["promptTokens"].as_u64().unwrap() > 100, "{v}");
    assert!(v["usage"]["completionTokens"].as_u64().unwrap() > 5);
    // A clean canary: the model's abort only adds caution.
    assert_eq!(v["verdict"], "inconclusive");
}

#[test]
fn unreachable_endpoint_degrades_with_a_reason() {
    let p = public("p12-rollouts-demo-blue-to-yellow.json");
    let o = rollwise_env(
        &["analyze", "--evidence", &p, "--json"],
        &[
            // Port 9 (discard) on loopback: nothing listens there.
            ("ROLLWISE_LLM_URL", "http://127.0.0.1:9/v1"),
            ("ROLLWISE_LLM_MODEL", "m"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["mode"], "statistics-and-logs");
    assert_eq!(v["model"], "m");
    assert_eq!(v["verdict"], "promote");
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("unavailable") && reasons.contains("unreachable"),
        "{reasons}"
    );
}

#[test]
fn llm_on_without_endpoint_and_bad_config_are_usage_errors() {
    let p = public("p12-rollouts-demo-blue-to-yellow.json");
    let o = rollwise_env(&["analyze", "--evidence", &p, "--llm", "on"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ROLLWISE_LLM_URL"), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("rollwise.toml");
    std::fs::write(&cfg, "[llm]\ntemperature = 5.0\n").unwrap();
    let o = rollwise_env(
        &[
            "analyze",
            "--evidence",
            &p,
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("temperature"), "{}", stderr(&o));
}

#[test]
fn demo_without_the_local_model_says_it_runs_without_one() {
    let o = rollwise_env(&["demo"], &[("ROLLWISE_VENV", "/nonexistent-venv")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ALONE: no model is used"),
        "{}",
        stdout(&o)
    );
}
