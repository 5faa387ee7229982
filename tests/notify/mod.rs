//! Slack notifications against a capturing fake of Slack on a loopback port:
//! every request is recorded and asserted (method, path, content type,
//! Authorization), every payload is validated against the Block Kit JSON
//! Schema generated from `@slack/types` (`block_kit.schema.json`, made by
//! `scripts/slack-block-schema.sh`) and against Slack's limits, and the
//! rendered blocks of two public scenarios are compared with committed
//! snapshots (`snapshots/`, regenerate with `UPDATE_SNAPSHOTS=1`).

mod cli;
mod delivery;
mod outbound;
mod render;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rollwise::evidence::Evidence;
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::logs::LogConfig;
use rollwise::store::{AnalysisRecord, Origin};
use serde_json::Value;

use crate::cli::repo_path;

/// One canned answer of the fake.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Canned {
    pub fn ok_webhook() -> Self {
        Canned {
            status: 200,
            headers: vec![("content-type", "text/plain".into())],
            body: "ok".into(),
        }
    }

    pub fn ok_api(channel: &str, ts: &str) -> Self {
        Canned {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::json!({"ok": true, "channel": channel, "ts": ts}).to_string(),
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: Instant,
}

#[derive(Debug)]
struct FakeState {
    script: VecDeque<Canned>,
    /// Answer once the script is used up.
    then: Canned,
    requests: Vec<Captured>,
}

/// A fake Slack (webhook and Web API) on 127.0.0.1.
#[derive(Debug)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSlack {
    pub async fn start(script: Vec<Canned>, then: Canned) -> FakeSlack {
        let state = Arc::new(Mutex::new(FakeState {
            script: script.into(),
            then,
            requests: Vec::new(),
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSlack { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let body: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        Value::String(format!(
            "NOT JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        ))
    });
    let canned = {
        let mut s = state.lock().unwrap();
        s.requests.push(Captured {
            method,
            path: uri.path().to_owned(),
            headers,
            body,
            at,
        });
        s.script.pop_front().unwrap_or_else(|| s.then.clone())
    };
    let mut resp = (StatusCode::from_u16(canned.status).unwrap(), canned.body).into_response();
    for (k, v) in canned.headers {
        resp.headers_mut()
            .insert(k, axum::http::HeaderValue::from_str(&v).unwrap());
    }
    resp
}

/// The Block Kit schema, compiled once.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text =
            std::fs::read_to_string(repo_path("tests/notify/block_kit.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    })
}

/// Asserts that `msg` is a valid Block Kit message within Slack's limits
/// (as Slack documents them, independently of rollwise's own constants).
pub fn assert_valid_message(msg: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(msg)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "payload violates the Block Kit schema:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(msg).unwrap()
    );
    let chars = |v: &Value| v.as_str().unwrap().chars().count();
    let text = &msg["text"];
    assert!((1..=40_000).contains(&chars(text)), "fallback text");
    let blocks = msg["blocks"].as_array().unwrap();
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{} blocks",
        blocks.len()
    );
    for b in blocks {
        match b["type"].as_str().unwrap() {
            "header" => {
                assert_eq!(b["text"]["type"], "plain_text");
                assert!((1..=150).contains(&chars(&b["text"]["text"])), "{b}");
            }
            "section" => {
                if let Some(t) = b.get("text") {
                    assert!((1..=3000).contains(&chars(&t["text"])), "{b}");
                }
                if let Some(f) = b.get("fields") {
                    let f = f.as_array().unwrap();
                    assert!(!f.is_empty() && f.len() <= 10, "{b}");
                    for x in f {
                        assert!((1..=2000).contains(&chars(&x["text"])), "{b}");
                    }
                }
                assert!(b.get("text").is_some() || b.get("fields").is_some(), "{b}");
            }
            "context" => {
                let e = b["elements"].as_array().unwrap();
                assert!(!e.is_empty() && e.len() <= 10, "{b}");
                for x in e {
                    assert!((1..=3000).contains(&chars(&x["text"])), "{b}");
                }
            }
            "divider" => {}
            "actions" => {
                // Slack: at most 25 elements; a button's text 75 characters,
                // its value 2,000 and its action_id 255, action_ids unique
                // within the block.
                let e = b["elements"].as_array().unwrap();
                assert!(!e.is_empty() && e.len() <= 25, "{b}");
                let mut ids = std::collections::HashSet::new();
                for x in e {
                    assert_eq!(x["type"], "button", "{b}");
                    assert_eq!(x["text"]["type"], "plain_text", "{b}");
                    assert!((1..=75).contains(&chars(&x["text"]["text"])), "{b}");
                    assert!((1..=2000).contains(&chars(&x["value"])), "{b}");
                    assert!((1..=255).contains(&chars(&x["action_id"])), "{b}");
                    assert!(
                        ids.insert(x["action_id"].as_str().unwrap()),
                        "duplicate action_id: {b}"
                    );
                }
            }
            other => panic!("unexpected block type {other}"),
        }
    }
    // Untrusted text is escaped: the only `<` are our own links.
    let all = msg.to_string();
    for (i, _) in all.match_indices('<') {
        let rest = &all[i..];
        assert!(
            rest.starts_with("<http://") || rest.starts_with("<https://"),
            "a `<` that is not one of our links: {}",
            &rest[..rest.len().min(60)]
        );
    }
}

pub fn judge() -> Judge {
    Judge::new(JudgeConfig::default(), LogConfig::default())
}

pub fn public_scenario(name: &str) -> Evidence {
    rollwise::evidence::load_file(
        &repo_path(&format!("evals/scenarios/tune/public/{name}")),
        rollwise::evidence::DEFAULT_MAX_BYTES,
    )
    .unwrap()
}

/// A record as the service builds it: assess, decide, keep the diff.
pub fn record(id: &str, ev: &Evidence) -> AnalysisRecord {
    let j = judge();
    let a = j.assess(ev);
    let diff = a.logs.diff.clone();
    let verdict = j.decide(ev, a, None);
    // A fixed time, so snapshots do not move.
    AnalysisRecord::new(
        id.into(),
        Origin::Cli,
        1_793_000_000_000,
        verdict,
        ev,
        Some(diff),
    )
}

/// Every public scenario file name, sorted.
pub fn public_scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_path("evals/scenarios/tune/public"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}
