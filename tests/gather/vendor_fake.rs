//! A wire-level HTTP/1.1 fake (axum on 127.0.0.1:0) for the vendor sources:
//! it records every request whole (method, path, query, headers, body) for
//! the test to assert, and answers what the test's responder says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;

pub use super::kube_fake::parse_query;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The body as `application/x-www-form-urlencoded` pairs.
    pub fn form(&self) -> BTreeMap<String, String> {
        parse_query(Some(std::str::from_utf8(&self.body).unwrap()))
    }
}

#[derive(Debug, Clone)]
pub enum Answer {
    /// Status, extra headers, content type, body.
    Body(u16, Vec<(&'static str, String)>, &'static str, String),
    /// Never answer: the client's timeout must fire.
    Hang,
}

impl Answer {
    pub fn json(code: u16, v: &serde_json::Value) -> Answer {
        Answer::Body(code, Vec::new(), "application/json", v.to_string())
    }

    pub fn xml(code: u16, text: &str) -> Answer {
        Answer::Body(code, Vec::new(), "text/xml", text.to_owned())
    }
}

/// Called with each request and its 1-based number.
pub type Responder = Arc<dyn Fn(&Seen, usize) -> Answer + Send + Sync>;

pub struct Fake {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub async fn start(respond: Responder) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen2 = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let seen = seen2.clone();
            let respond = respond.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                let s = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    query: parse_query(parts.uri.query()),
                    headers: parts.headers,
                    body,
                };
                let n = {
                    let mut all = seen.lock().unwrap();
                    all.push(s.clone());
                    all.len()
                };
                match respond(&s, n) {
                    Answer::Hang => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Response::new(Body::empty())
                    }
                    Answer::Body(code, headers, ctype, body) => {
                        let mut r = Response::builder()
                            .status(code)
                            .header("content-type", ctype);
                        for (k, v) in headers {
                            r = r.header(k, v);
                        }
                        r.body(Body::from(body)).unwrap()
                    }
                }
            }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A port nothing listens on (bound, then closed).
pub async fn dead_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

/// A file of `tests/data/`.
pub fn data(path: &str) -> String {
    let p = format!("{}/../tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Everything the code under test logs, at every level, while `f` runs on
/// this thread (the tests' current-thread runtime).
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Start capturing; logs go to the capture until the guard drops.
pub fn capture_logs() -> (LogCapture, tracing::subscriber::DefaultGuard) {
    let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
    let w = Writer(buf.clone());
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    (LogCapture(buf), tracing::subscriber::set_default(sub))
}

/// A passing bundle from the public scenarios with its metrics and gaps
/// replaced by what a source gathered: what the judge says of it.
pub fn judge_with(part: rollwise::gather::prometheus::MetricsPart) -> rollwise::evidence::Decision {
    let path = format!(
        "{}/../evals/scenarios/tune/public/p12-rollouts-demo-blue-to-yellow.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut ev = rollwise::evidence::load_file(std::path::Path::new(&path), 1 << 26).unwrap();
    let judge = rollwise::judge::Judge::new(
        rollwise::judge::JudgeConfig::default(),
        rollwise::logs::LogConfig::default(),
    );
    assert_eq!(
        judge.judge(&ev).verdict,
        rollwise::evidence::Decision::Promote,
        "the base bundle must promote for this check to mean anything"
    );
    ev.metrics = part.metrics;
    ev.gaps = part.gaps;
    if part.traffic.is_some() {
        ev.traffic = part.traffic;
    }
    judge.judge(&ev).verdict
}
