//! The service edge over real loopback connections: callers that send
//! nothing, too much or too slowly, many callers at once, and readiness
//! against dependencies that are up or down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rollwise::server::{self, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{FakeSource, TOKEN, call, state_with};

const ABORT: &str = "p03-inventory-go-panic.json";

/// A running server on loopback; dropping it stops the server.
struct Running {
    addr: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(st: Arc<AppState>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = server::router(Arc::clone(&st));
    tokio::spawn(async move {
        let _ = server::serve(listener, app, st, async {
            let _ = rx.await;
        })
        .await;
    });
    Running { addr, _stop: tx }
}

/// One request over a fresh connection; the status code and the body.
async fn raw(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    // Every request here says `Connection: close` (or is answered before its
    // body, which closes too): read to the end, within a bound.
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(until, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

/// Before: axum::serve had no header timeout, so connections that send half
/// a request head stayed open forever (500 of them exhausted a 256-descriptor
/// process and `/healthz` stopped answering); nothing bounded how many were
/// served at once.
#[tokio::test]
async fn slow_header_connections_are_closed_and_healthz_keeps_answering() {
    let st = state_with(None, |c| {
        c.header_timeout_secs = 0.3;
        c.max_connections = 16;
    });
    let srv = start(st).await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // 40 slow connections against 16 slots: the first 16 are closed after
    // the header timeout, then the next, so a probe waits at most a few
    // timeouts.
    let t = Instant::now();
    let (code, text) = raw(
        srv.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(code, 200, "{text}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // Every slow connection is closed by the server (EOF or reset), none
    // left hanging.
    for (i, s) in slow.iter_mut().enumerate() {
        let mut buf = [0u8; 1024];
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                // hyper may answer 408 before closing; read on to the EOF.
                Ok(Ok(_)) => continue,
                Err(_) => break false,
            }
        };
        assert!(closed, "slow connection {i} is still open");
    }
}

/// Before: `/v1/flagger` read and parsed the whole body (up to 64 MiB) before
/// it looked at the token. Now a caller without the header whose body is
/// over the few KB a webhook needs gets 401 before a byte of it is sent.
#[tokio::test]
async fn an_unauthenticated_large_flagger_body_is_refused_unread() {
    let st = state_with(Some(Arc::new(FakeSource::with(&[ABORT]))), |_| {});
    let srv = start(st).await;
    for path in ["/v1/flagger", "/v1/analyze", "/v1/verdicts", "/a2a/analyze"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n"
        );
        // Only the head is sent: an answer means the body was not waited for.
        let (code, text) = raw(srv.addr, &head).await;
        assert_eq!(code, 401, "{path}: {text}");
        assert!(text.contains("unauthorized"), "{path}: {text}");
    }
}

/// Before: a body that trickled in held its connection and buffer for as
/// long as the client liked.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let st = state_with(Some(Arc::new(FakeSource::with(&[ABORT]))), |c| {
        c.body_timeout_secs = 0.3;
    });
    let srv = start(st).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /v1/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"namespace\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(12).any(|w| w == b"body_timeout") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// Before: past `max-concurrent-analyses`, `/v1/verdicts` answered 503 at
/// once (25 of 400 at 200 concurrent). Now it queues for a slot up to the
/// deadline: many callers on two slots all get their verdict.
#[tokio::test]
async fn many_concurrent_bundles_on_few_slots_all_get_a_verdict() {
    let st = state_with(None, |c| {
        c.max_concurrent_analyses = 2;
        c.deadline_secs = 30.0;
    });
    let path = crate::cli::repo_path(&format!("evals/scenarios/tune/public/{ABORT}"));
    let bundle = std::fs::read_to_string(path).unwrap();
    let auth = format!("Bearer {TOKEN}");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let st = Arc::clone(&st);
        let bundle = bundle.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &st,
                "POST",
                "/v1/verdicts",
                Some(bundle),
                &[("authorization", auth.as_str())],
            )
            .await
        }));
    }
    let mut non_200 = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status != StatusCode::OK {
            non_200.push(format!("{}: {}", r.status, r.text));
        }
    }
    assert!(
        non_200.is_empty(),
        "{} non-200: {:?}",
        non_200.len(),
        non_200.first()
    );
}

/// A stand-in for the Kubernetes API server and Prometheus on loopback.
async fn dependencies_up() -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/version",
            get(|| async {
                axum::Json(serde_json::json!({
                    "major": "1", "minor": "33", "gitVersion": "v1.33.1",
                    "gitCommit": "abc", "gitTreeState": "clean", "buildDate": "2025-05-15T08:27:33Z",
                    "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"
                }))
            }),
        )
        .route(
            "/api/v1/query",
            get(|| async {
                axum::Json(serde_json::json!({
                    "status": "success",
                    "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]}
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

/// A loopback URL where nothing listens.
async fn dependency_down() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

async fn cluster_source(url: &str) -> Arc<dyn rollwise::gather::EvidenceSource> {
    rollwise::tls::install_crypto_provider();
    let mut cfg = rollwise::gather::GatherConfig::default();
    cfg.kube.timeout_secs = 1.0;
    cfg.kube.max_attempts = 1;
    cfg.prometheus.url = Some(url.to_owned());
    cfg.prometheus.timeout_secs = 1.0;
    cfg.prometheus.max_attempts = 1;
    let kube_cfg = kube::Config::new(url.parse().unwrap());
    let client = kube::Client::try_from(kube_cfg).unwrap();
    Arc::new(
        rollwise::gather::ClusterSource::from_config(
            client,
            &cfg,
            Arc::new(rollwise_tools::call::NoObserver),
        )
        .unwrap(),
    )
}

/// Before: the cluster source had no readiness check (the trait's default
/// says ready), so `/readyz` answered 200 with Kubernetes and Prometheus
/// down.
#[tokio::test]
async fn readyz_is_not_ready_while_kubernetes_and_prometheus_are_down() {
    for (up, want) in [
        (false, StatusCode::SERVICE_UNAVAILABLE),
        (true, StatusCode::OK),
    ] {
        let (url, fake) = if up {
            let (u, t) = dependencies_up().await;
            (u, Some(t))
        } else {
            (dependency_down().await, None)
        };
        let src = cluster_source(&url).await;
        let st = super::state_with_source(Some(src), |_| {});
        let r = call(&st, "GET", "/readyz", None, &[]).await;
        assert_eq!(r.status, want, "up={up}: {}", r.text);
        for dep in ["kubernetes", "prometheus"] {
            assert_eq!(r.body["checks"][dep]["ok"], up, "{dep} up={up}: {}", r.text);
        }
        if let Some(t) = fake {
            t.abort();
        }
    }
}
