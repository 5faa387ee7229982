//! The `rollwise` binary as a user runs it: exit codes, output shapes, gates.

mod analyze;
mod demo;
mod eval;
mod llm;

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn rollwise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollwise")
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

/// A real component a test needs (`what`) is not installed. That fails the
/// test, on a laptop as in CI: a skip would count as a pass. The message names
/// the install step.
pub fn missing(what: &str) -> ! {
    panic!("{what} is missing: run scripts/setup.sh (it installs every component the tests need)");
}

pub fn public(name: &str) -> String {
    repo_path(&format!("evals/scenarios/tune/public/{name}"))
        .display()
        .to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A minimal valid bundle with one critical error-rate metric.
pub fn bundle(canary: &[f64], stable: &[f64], expected: &str) -> String {
    serde_json::json!({
        "version": 1,
        "name": "synthetic",
        "rollout": {"namespace": "shop", "name": "checkout", "canaryHash": "c4n4ry", "stableHash": "st4bl3"},
        "traffic": {"canaryRequests": 1000, "stableRequests": 4000},
        "metrics": [{"name": "error_rate", "unit": "ratio", "better": "lower", "critical": true,
                     "canary": canary, "stable": stable}],
        "pods": {"canary": [{"name": "checkout-c4n4ry-a", "ready": true, "restarts": 0}],
                 "stable": [{"name": "checkout-st4bl3-b", "ready": true, "restarts": 0}]},
        "logs": {"canary": [{"pod": "checkout-c4n4ry-a", "lines": ["GET /health 200"]}],
                 "stable": [{"pod": "checkout-st4bl3-b", "lines": ["GET /health 200"]}]},
        "expected": {"verdict": expected, "category": "test", "rootCause": []}
    })
    .to_string()
}
