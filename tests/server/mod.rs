//! `rollwise serve`'s HTTP API: every route and error through axum's oneshot,
//! and an end-to-end run over loopback exactly as Argo's web provider calls it.

mod argo;
mod cancel;
mod edge;
mod feedback;
mod hooks;
mod queue;
mod routes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rollwise::evidence::Evidence;
use rollwise::gather::{EvidenceSource, GatherRequest, PodSelector};
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::llm::BoxFuture;
use rollwise::logs::LogConfig;
use rollwise::server::{self, Analyzer, AppState, Metrics, ServerConfig, StateParts};
use tower::ServiceExt;

pub const TOKEN: &str = "s3cr3t-t0ken";

pub fn scenario(name: &str) -> Evidence {
    let path = crate::cli::repo_path(&format!("evals/scenarios/tune/public/{name}"));
    rollwise::evidence::load_file(&path, 1 << 28).unwrap()
}

/// A wire-level stand-in for the cluster: answers each canary hash (or label
/// selector) with a real scenario bundle, after an optional delay, and records
/// every request so tests can assert what the server asked for.
#[derive(Debug, Default)]
pub struct FakeSource {
    pub by_canary: HashMap<String, Evidence>,
    pub delay: Duration,
    pub fail: Option<String>,
    pub calls: Mutex<Vec<GatherRequest>>,
}

impl FakeSource {
    pub fn with(scenarios: &[&str]) -> Self {
        let mut by_canary = HashMap::new();
        for s in scenarios {
            let ev = scenario(s);
            by_canary.insert(ev.rollout.canary_hash.clone().unwrap(), ev);
        }
        FakeSource {
            by_canary,
            ..FakeSource::default()
        }
    }

    pub fn calls(&self) -> Vec<GatherRequest> {
        self.calls.lock().unwrap().clone()
    }
}

impl EvidenceSource for FakeSource {
    fn gather<'a>(&'a self, req: &'a GatherRequest) -> BoxFuture<'a, rollwise::Result<Evidence>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(req.clone());
            tokio::time::sleep(self.delay).await;
            if let Some(why) = &self.fail {
                return Err(rollwise::Error::Gather {
                    dependency: "kubernetes",
                    message: why.clone(),
                });
            }
            let key = match &req.canary {
                PodSelector::Hash(h) | PodSelector::Baseline(h) => h.clone(),
                PodSelector::Labels(l) => l.clone(),
                PodSelector::FromRollout => "from-rollout".into(),
            };
            self.by_canary
                .get(&key)
                .cloned()
                .ok_or_else(|| rollwise::Error::Gather {
                    dependency: "kubernetes",
                    message: format!("no pods with {key}"),
                })
        })
    }

    fn check_ready(&self) -> BoxFuture<'_, Vec<(String, Result<String, String>)>> {
        let fail = self.fail.clone();
        Box::pin(async move {
            vec![(
                "kubernetes".into(),
                match fail {
                    Some(f) => Err(f),
                    None => Ok("v1.33".into()),
                },
            )]
        })
    }
}

/// A replica's state on `store`, named `holder` in claims.
pub fn state_on(
    source: Option<Arc<FakeSource>>,
    store: rollwise::store::Store,
    holder: &str,
) -> Arc<AppState> {
    AppState::new(StateParts {
        cfg: ServerConfig {
            listen: "127.0.0.1:0".into(),
            public_url: Some("https://rollwise.example".into()),
            ..ServerConfig::default()
        },
        analyzer: Analyzer::new(Judge::new(JudgeConfig::default(), LogConfig::default())),
        source: source.map(|s| s as Arc<dyn EvidenceSource>),
        token: Some(TOKEN.into()),
        hooks: Vec::new(),
        metrics: Arc::new(Metrics::new()),
        store: Some(store),
        holder: Some(holder.into()),
    })
    .unwrap()
}

pub fn state_with(
    source: Option<Arc<FakeSource>>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Arc<AppState> {
    state_with_source(source.map(|s| s as Arc<dyn EvidenceSource>), tweak)
}

pub fn state_with_source(
    source: Option<Arc<dyn EvidenceSource>>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Arc<AppState> {
    let mut cfg = ServerConfig {
        listen: "127.0.0.1:0".into(),
        public_url: Some("https://rollwise.example".into()),
        ..ServerConfig::default()
    };
    tweak(&mut cfg);
    AppState::new(StateParts {
        cfg,
        analyzer: Analyzer::new(Judge::new(JudgeConfig::default(), LogConfig::default())),
        source,
        token: Some(TOKEN.into()),
        hooks: Vec::new(),
        metrics: Arc::new(Metrics::new()),
        store: None,
        holder: None,
    })
    .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: serde_json::Value,
    pub text: String,
}

pub async fn call(
    st: &Arc<AppState>,
    method: &str,
    uri: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Body::from(body.unwrap_or_default())).unwrap();
    let resp = server::router(Arc::clone(st)).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}

pub async fn post(st: &Arc<AppState>, uri: &str, body: serde_json::Value) -> Reply {
    call(
        st,
        "POST",
        uri,
        Some(body.to_string()),
        &[("authorization", &format!("Bearer {TOKEN}"))],
    )
    .await
}

/// The body Argo's web provider sends for `ev` (hashes from podTemplateHashValue).
pub fn analyze_body(ev: &Evidence) -> serde_json::Value {
    serde_json::json!({
        "namespace": ev.rollout.namespace,
        "rollout": ev.rollout.name,
        "canaryHash": ev.rollout.canary_hash,
        "stableHash": ev.rollout.stable_hash,
        "window": "10m",
    })
}
