//! A Kubernetes API server at the HTTP seam (`tower_test::mock::pair`, the
//! kube-rs controller-rs pattern): a scenario lists the exact requests it
//! expects (method GET, path, every query parameter) with a real-shaped reply
//! each. Requests may arrive in any order (canary and stable are read
//! concurrently); an unexpected request, or an expected one never made, fails
//! the test.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

pub const NS: &str = "jesse-test";
pub const ROLLOUT: &str = "canary-demo";
pub const CANARY_HASH: &str = "65fb5ffc84";
pub const STABLE_HASH: &str = "877894d5b";
pub const CANARY_POD: &str = "canary-demo-65fb5ffc84-9wf5r";
pub const STABLE_POD: &str = "canary-demo-877894d5b-6jfpt";

#[derive(Debug, Clone)]
pub enum Reply {
    Json(u16, Value),
    Text(u16, String),
    /// Never answer (the client's timeout must fire).
    Hang,
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub reply: Reply,
    /// Not requesting it is fine (one of two acceptable variants).
    pub optional: bool,
}

impl Expect {
    pub fn get(path: &str, query: &[(&str, &str)], reply: Reply) -> Expect {
        Expect {
            path: path.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            reply,
            optional: false,
        }
    }
}

/// What the fake saw: every request as `path?sorted query`, and failures.
#[derive(Debug, Default)]
pub struct Seen {
    pub requests: Vec<String>,
    pub failures: Vec<String>,
}

pub struct Fake {
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<Vec<Expect>>,
}

impl Fake {
    /// Wait until the client is gone (drop everything holding it first) and
    /// assert every expectation was met and nothing else was asked.
    pub async fn verify(self) -> Vec<String> {
        let unused = tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the client was not dropped")
            .unwrap();
        let seen = self.seen.lock().unwrap();
        let mut failures = seen.failures.clone();
        for u in unused.into_iter().filter(|u| !u.optional) {
            failures.push(format!(
                "expected but not requested: {} {:?}",
                u.path, u.query
            ));
        }
        assert!(
            failures.is_empty(),
            "{failures:#?}\nrequests: {:#?}",
            seen.requests
        );
        seen.requests.clone()
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(h, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

pub fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A kube client answered by `expects`.
pub fn fake(expects: Vec<Expect>) -> (kube::Client, Fake) {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen2 = seen.clone();
    let task = tokio::spawn(async move {
        let mut pending = expects;
        let mut hanging = Vec::new();
        while let Some((req, send)) = handle.next_request().await {
            let path = req.uri().path().to_owned();
            let query = parse_query(req.uri().query());
            let line = format!("{path}?{query:?}");
            let mut seen = seen2.lock().unwrap();
            seen.requests.push(line.clone());
            if req.method() != http::Method::GET {
                seen.failures
                    .push(format!("a {} request: {line}", req.method()));
            }
            let Some(i) = pending
                .iter()
                .position(|e| e.path == path && e.query == query)
            else {
                seen.failures.push(format!("unexpected request: {line}"));
                send.send_response(Response::builder().status(418).body(Body::empty()).unwrap());
                continue;
            };
            let e = pending.remove(i);
            match e.reply {
                Reply::Json(code, v) => send.send_response(
                    Response::builder()
                        .status(code)
                        .header("content-type", "application/json")
                        .body(Body::from(serde_json::to_vec(&v).unwrap()))
                        .unwrap(),
                ),
                Reply::Text(code, t) => send.send_response(
                    Response::builder()
                        .status(code)
                        .body(Body::from(t.into_bytes()))
                        .unwrap(),
                ),
                Reply::Hang => hanging.push(send),
            }
        }
        pending
    });
    (kube::Client::new(svc, NS), Fake { seen, task })
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../tools/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": api_version, "kind": format!("{kind}List"), "metadata": {"resourceVersion": "1"}, "items": items})
}

/// A Kubernetes `Status` error body, as the API server sends one.
pub fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::Json(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// A core/v1 Event about `kind/name`, shaped as kubelet and the ReplicaSet
/// controller write them.
pub fn event(
    kind: &str,
    name: &str,
    uid: &str,
    type_: &str,
    reason: &str,
    message: &str,
    count: i32,
) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.17a2b3c4d5e6f789"), "namespace": NS},
        "involvedObject": {"apiVersion": if kind == "Pod" {"v1"} else {"apps/v1"}, "kind": kind,
                           "name": name, "namespace": NS, "uid": uid},
        "type": type_, "reason": reason, "message": message, "count": count,
        "firstTimestamp": "2019-10-28T04:52:26Z", "lastTimestamp": "2019-10-28T04:55:26Z",
        "source": {"component": "kubelet", "host": "gke-node-1"}
    })
}

pub const ROLLOUT_PATH: &str =
    "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts/canary-demo";
pub const PODS_PATH: &str = "/api/v1/namespaces/jesse-test/pods";
pub const RS_PATH: &str = "/apis/apps/v1/namespaces/jesse-test/replicasets";
pub const EVENTS_PATH: &str = "/api/v1/namespaces/jesse-test/events";

pub fn by_hash(h: &str) -> String {
    format!("rollouts-pod-template-hash={h}")
}

pub fn uid(v: &Value) -> String {
    v["metadata"]["uid"].as_str().unwrap().to_owned()
}

pub fn events_query(kind: &str, name: &str, uid: &str) -> Vec<(String, String)> {
    vec![
        (
            "fieldSelector".into(),
            format!(
                "involvedObject.kind={kind},involvedObject.name={name},involvedObject.uid={uid}"
            ),
        ),
        ("limit".into(), "500".into()),
    ]
}

pub fn expect_owned(path: &str, query: Vec<(String, String)>, reply: Reply) -> Expect {
    Expect {
        path: path.to_owned(),
        query: query.into_iter().collect(),
        reply,
        optional: false,
    }
}

/// The log read of one container: from the window's `start` on
/// (`sinceTime`, whole seconds), within the gatherer's default byte bound
/// (2 MiB); the line bound is applied after reading, not as `tailLines`.
pub fn log_expect(
    pod: &str,
    container: &str,
    previous: bool,
    start: jiff::Timestamp,
    body: &str,
) -> Expect {
    let since = start.round(jiff::Unit::Second).unwrap();
    let mut q = vec![
        ("container".to_owned(), container.to_owned()),
        ("sinceTime".to_owned(), since.to_string()),
        ("limitBytes".to_owned(), "2097152".to_owned()),
    ];
    if previous {
        q.push(("previous".to_owned(), "true".to_owned()));
    }
    expect_owned(
        &format!("{PODS_PATH}/{pod}/log"),
        q,
        Reply::Text(200, body.to_owned()),
    )
}
