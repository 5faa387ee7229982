//! The kube tools against a request-asserting fake API server
//! (`tower_test::mock`): each scenario states the exact GETs, in order, with
//! real-shaped replies from `tools/fixtures`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

use super::reader::ClusterReader;
use super::tools::{KubeToolbox, LogDigester, LogLimits};
use crate::call::{CallPolicy, NoObserver};
use crate::error::Error;
use crate::tool::DynTool;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": format!("{kind}List"), "metadata": {}, "items": items})
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `path?k=v&...` with the query sorted and decoded, for exact comparison.
fn canonical(uri: &http::Uri) -> String {
    let mut q: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(decode)
        .collect();
    q.sort();
    if q.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), q.join("&"))
    }
}

/// Expected requests in order: (canonical GET, status, reply body).
type Scenario = Vec<(String, u16, Value)>;

fn fake(scenario: Scenario) -> (kube::Client, tokio::task::JoinHandle<Vec<String>>) {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut failures = Vec::new();
        let mut expected = scenario.into_iter();
        while let Some((req, send)) = handle.next_request().await {
            let got = canonical(req.uri());
            if req.method() != http::Method::GET {
                failures.push(format!("{} {got}", req.method()));
            }
            match expected.next() {
                Some((want, code, body)) => {
                    if want != got {
                        failures.push(format!("expected {want}\n     got {got}"));
                    }
                    let bytes = match body {
                        Value::String(s) => s.into_bytes(),
                        v => serde_json::to_vec(&v).unwrap(),
                    };
                    send.send_response(
                        Response::builder()
                            .status(code)
                            .body(Body::from(bytes))
                            .unwrap(),
                    );
                }
                None => {
                    failures.push(format!("unexpected {got}"));
                    send.send_response(
                        Response::builder().status(418).body(Body::empty()).unwrap(),
                    );
                }
            }
        }
        failures.extend(expected.map(|(w, _, _)| format!("not requested: {w}")));
        failures
    });
    (kube::Client::new(svc, "default"), task)
}

#[derive(Debug, Default)]
struct CountingDigester(Mutex<Vec<usize>>);

impl LogDigester for CountingDigester {
    fn digest(&self, lines: &[String]) -> String {
        self.0.lock().unwrap().push(lines.len());
        format!(
            "{} lines, first template: {}",
            lines.len(),
            lines.first().map(String::as_str).unwrap_or("")
        )
    }
}

const NS: &str = "jesse-test";
const ROLLOUT_GET: &str = "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts/canary-demo";

fn rollout() -> (String, u16, Value) {
    (
        ROLLOUT_GET.into(),
        200,
        fixture("canary-rollout-canary-demo.json"),
    )
}

/// Run `calls` (tool name, JSON args) against `scenario`; returns the
/// results and asserts the fake saw exactly the scenario.
async fn run(
    scenario: Scenario,
    calls: &[(&str, &str)],
) -> (Vec<Result<String, Error>>, Arc<CountingDigester>) {
    let (client, task) = fake(scenario);
    let policy = CallPolicy {
        timeout: Duration::from_secs(2),
        max_attempts: 1,
        ..Default::default()
    };
    let reader = ClusterReader::new(client, policy, Arc::new(NoObserver));
    let digester = Arc::new(CountingDigester::default());
    let tb = KubeToolbox::new(
        reader,
        NS,
        "canary-demo",
        digester.clone(),
        LogLimits::default(),
    )
    .unwrap();
    let tools = tb.tools();
    let by_name: BTreeMap<String, &dyn DynTool> =
        tools.iter().map(|t| (t.spec().name, t.as_ref())).collect();
    let mut out = Vec::new();
    for (name, args) in calls {
        out.push(by_name[*name].call_json(args).await);
    }
    drop(by_name);
    drop(tools);
    drop(tb);
    let failures = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    (out, digester)
}

fn parse(r: &Result<String, Error>) -> Value {
    serde_json::from_str(r.as_ref().unwrap()).unwrap()
}

#[tokio::test]
async fn get_rollout_summarises_status() {
    let (out, _) = run(vec![rollout()], &[("get_rollout", "{}")]).await;
    let v = parse(&out[0]);
    assert_eq!(v["canaryHash"], "65fb5ffc84");
    assert_eq!(v["stableHash"], "877894d5b");
    assert_eq!(v["canaryWeight"], 20);
    assert_eq!(v["currentStepIndex"], 0);
    assert_eq!(v["conditions"][1]["reason"], "ProgressDeadlineExceeded");
}

#[tokio::test]
async fn list_and_describe_own_pods_only() {
    let canary_pod = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
    let mut foreign = fixture("canary-pod-canary-demo-877894d5b-6jfpt.json");
    foreign["metadata"]["labels"]["rollouts-pod-template-hash"] = "0123456789".into();
    let pod_get = "/api/v1/namespaces/jesse-test/pods/canary-demo-65fb5ffc84-9wf5r";
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "canary-demo-65fb5ffc84-9wf5r"},
        "type": "Warning", "reason": "Failed", "message": "Error: ImagePullBackOff", "count": 9});
    let scenario = vec![
        rollout(),
        (
            "/api/v1/namespaces/jesse-test/pods?labelSelector=rollouts-pod-template-hash=65fb5ffc84&limit=500".into(),
            200,
            list("Pod", vec![canary_pod.clone()]),
        ),
        rollout(),
        (pod_get.into(), 200, canary_pod.clone()),
        (
            "/api/v1/namespaces/jesse-test/events?fieldSelector=involvedObject.kind=Pod,involvedObject.name=canary-demo-65fb5ffc84-9wf5r,involvedObject.uid=bd2d668d-f93e-11e9-a15b-42010aa80033&limit=500".into(),
            200,
            list("Event", vec![event]),
        ),
        rollout(),
        ("/api/v1/namespaces/jesse-test/pods/canary-demo-877894d5b-6jfpt".into(), 200, foreign),
    ];
    let (out, _) = run(
        scenario,
        &[
            ("list_pods", r#"{"side":"canary"}"#),
            ("describe_pod", r#"{"pod":"canary-demo-65fb5ffc84-9wf5r"}"#),
            ("describe_pod", r#"{"pod":"canary-demo-877894d5b-6jfpt"}"#),
            // Refused before any request: a path in the name, another namespace.
            ("describe_pod", r#"{"pod":"../../kube-system/pods/x"}"#),
            ("describe_pod", r#"{"pod":"x","namespace":"kube-system"}"#),
        ],
    )
    .await;
    let v = parse(&out[0]);
    assert_eq!(v["pods"][0]["name"], "canary-demo-65fb5ffc84-9wf5r");
    assert_eq!(v["pods"][0]["containers"][0]["waiting"], "ImagePullBackOff");
    let v = parse(&out[1]);
    assert_eq!(v["side"], "canary");
    assert_eq!(v["events"][0]["reason"], "Failed");
    assert_eq!(v["events"][0]["count"], 9);
    assert!(matches!(out[2], Err(Error::NotAllowed(_))), "{:?}", out[2]);
    assert!(
        matches!(out[3], Err(Error::InvalidArgs { .. })),
        "{:?}",
        out[3]
    );
    assert!(
        matches!(out[4], Err(Error::InvalidArgs { .. })),
        "{:?}",
        out[4]
    );
}

#[tokio::test]
async fn pod_logs_are_bounded_and_digested() {
    let mut pod = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
    pod["status"]["containerStatuses"][0]["restartCount"] = 3.into();
    let scenario = vec![
        rollout(),
        ("/api/v1/namespaces/jesse-test/pods/canary-demo-65fb5ffc84-9wf5r".into(), 200, pod),
        (
            "/api/v1/namespaces/jesse-test/pods/canary-demo-65fb5ffc84-9wf5r/log?container=canary-demo&limitBytes=1048576&previous=true&sinceSeconds=3600&tailLines=2000".into(),
            200,
            Value::String("panic: nil map\ngoroutine 1 [running]:\n".into()),
        ),
    ];
    let (out, digester) = run(
        scenario,
        &[
            (
                "pod_logs",
                r#"{"pod":"canary-demo-65fb5ffc84-9wf5r","previous":true}"#,
            ),
            (
                "pod_logs",
                r#"{"pod":"canary-demo-65fb5ffc84-9wf5r","container":"x\"y"}"#,
            ),
        ],
    )
    .await;
    let v = parse(&out[0]);
    assert_eq!(v["lines"], 2);
    assert_eq!(v["previous"], true);
    assert_eq!(v["digest"], "2 lines, first template: panic: nil map");
    assert_eq!(*digester.0.lock().unwrap(), [2]);
    // A container name that is not a name is refused before any request.
    assert!(
        matches!(out[1], Err(Error::InvalidArgs { .. })),
        "{:?}",
        out[1]
    );
}

#[tokio::test]
async fn pod_spec_diff_shows_env_names_never_values() {
    let stable_rs = fixture("canary-replicaset-canary-demo-877894d5b.json");
    let mut canary_rs = fixture("canary-replicaset-canary-demo-65fb5ffc84.json");
    let c = &mut canary_rs["spec"]["template"]["spec"]["containers"][0];
    c["env"] = json!([{"name": "DB_PASSWORD", "value": "s3cr3t-hunter2"}, {"name": "COLOR", "value": "yellow"}]);
    c["resources"] = json!({"limits": {"memory": "64Mi"}});
    let rs = |h: &str| {
        format!(
            "/apis/apps/v1/namespaces/jesse-test/replicasets?labelSelector=rollouts-pod-template-hash={h}&limit=500"
        )
    };
    let scenario = vec![
        rollout(),
        (rs("65fb5ffc84"), 200, list("ReplicaSet", vec![canary_rs])),
        (rs("877894d5b"), 200, list("ReplicaSet", vec![stable_rs])),
    ];
    let (out, _) = run(scenario, &[("pod_spec_diff", "")]).await;
    let text = out[0].as_ref().unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!text.contains("yellow\""), "{text}");
    let v = parse(&out[0]);
    let fields: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["envNames", "image", "resources"]);
    assert_eq!(
        v["differences"][0]["canary"],
        json!(["COLOR", "DB_PASSWORD"])
    );
    assert_eq!(
        v["differences"][1]["canary"],
        "argoproj/rollouts-demo:does-not-exist"
    );
    assert_eq!(
        v["differences"][1]["stable"],
        "argoproj/rollouts-demo:green"
    );
}

#[tokio::test]
async fn analysis_runs_are_those_the_rollout_owns() {
    let mine = fixture("rollout-aborted-analysisrun-rollout-background-analysis-db976bc44-2.json");
    let mut other = mine.clone();
    other["metadata"]["ownerReferences"][0]["name"] = "another-rollout".into();
    other["metadata"]["name"] = "another-rollout-abc-1".into();
    let (client, task) = fake(vec![(
        "/apis/argoproj.io/v1alpha1/namespaces/default/analysisruns?limit=500".into(),
        200,
        list("AnalysisRun", vec![mine, other]),
    )]);
    let reader = ClusterReader::new(client, CallPolicy::default(), Arc::new(NoObserver));
    let tb = KubeToolbox::new(
        reader,
        "default",
        "rollout-background-analysis",
        Arc::new(CountingDigester::default()),
        LogLimits::default(),
    )
    .unwrap();
    let tools = tb.tools();
    let t = tools
        .iter()
        .find(|t| t.spec().name == "get_analysis_runs")
        .unwrap();
    let v: Value = serde_json::from_str(&t.call_json("{}").await.unwrap()).unwrap();
    drop(tools);
    drop(tb);
    assert!(task.await.unwrap().is_empty());
    let runs = v["analysisRuns"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["phase"], "Failed");
    assert_eq!(
        runs[0]["metrics"][0]["latestMeasurements"][0]["value"],
        "false"
    );
}

#[tokio::test]
async fn no_tool_names_a_namespace_and_none_writes() {
    let (svc, _handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, "default");
    let reader = ClusterReader::new(client, CallPolicy::default(), Arc::new(NoObserver));
    let tb = KubeToolbox::new(
        reader,
        NS,
        "canary-demo",
        Arc::new(CountingDigester::default()),
        LogLimits::default(),
    )
    .unwrap();
    let specs: Vec<_> = tb.tools().iter().map(|t| t.spec()).collect();
    assert_eq!(specs.len(), 7);
    for s in &specs {
        assert!(!s.writes, "{}", s.name);
        let props = s.parameters.get("properties").cloned().unwrap_or(json!({}));
        assert!(props.get("namespace").is_none(), "{}: {props}", s.name);
        assert_eq!(s.parameters["additionalProperties"], false, "{}", s.name);
    }
    assert!(
        KubeToolbox::new(
            ClusterReader::new(
                kube::Client::new(
                    tower_test::mock::pair::<Request<Body>, Response<Body>>().0,
                    "x"
                ),
                CallPolicy::default(),
                Arc::new(NoObserver)
            ),
            "Bad_NS",
            "r",
            Arc::new(CountingDigester::default()),
            LogLimits::default()
        )
        .is_err()
    );
}

/// The crate's Kubernetes code has no write verb: the client is private to
/// `ClusterReader`, and no source file under `src/kube` (or the call policy)
/// names a mutating kube-rs method or HTTP method.
#[test]
fn the_kube_module_has_no_write_verb() {
    let dir = format!("{}/src/kube", env!("CARGO_MANIFEST_DIR"));
    let forbidden = [
        ".create(",
        ".patch(",
        ".replace(",
        ".delete(",
        ".delete_collection(",
        ".evict(",
        ".patch_status(",
        ".replace_status(",
        ".create_subresource(",
        ".patch_subresource(",
        "Method::POST",
        "Method::PUT",
        "Method::PATCH",
        "Method::DELETE",
        "Request::post",
        "Request::put",
        "Request::patch",
        "Request::delete",
        "PatchParams",
        "PostParams",
        "DeleteParams",
    ];
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(format!("{}/src/call.rs", env!("CARGO_MANIFEST_DIR")).into());
    let mut checked = 0;
    for f in files {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(!src.contains(word), "{} contains {word}", f.display());
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked}");
}
