//! Gathering from Kubernetes through a faked API server that asserts every
//! request: the Rollout, pods by hash, ReplicaSets, events by involvedObject,
//! bounded logs (previous instance after a restart), and every failure mode
//! turned into a gap or an error, never into a promote.

use std::sync::Arc;
use std::time::Duration;

use rollwise::evidence::{Decision, Evidence};
use rollwise::gather::kube::{KubeGatherConfig, KubeGatherer};
use rollwise::gather::{CallMetrics, ClusterSource, GatherRequest, PodSelector};
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::logs::LogConfig;
use rollwise_tools::call::CallPolicy;
use rollwise_tools::kube::ClusterReader;
use serde_json::{Value, json};

use super::kube_fake::*;

const WINDOW: u64 = 300;

fn policy() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ..CallPolicy::default()
    }
}

fn source(client: kube::Client, metrics: &CallMetrics) -> ClusterSource {
    source_with(client, metrics, KubeGatherConfig::default())
}

fn source_with(
    client: kube::Client,
    metrics: &CallMetrics,
    cfg: KubeGatherConfig,
) -> ClusterSource {
    let reader = ClusterReader::new(client, policy(), Arc::new(metrics.clone()));
    ClusterSource::new(
        KubeGatherer::new(reader, cfg),
        None,
        Duration::from_secs(10),
    )
}

fn request() -> GatherRequest {
    GatherRequest {
        namespace: NS.into(),
        rollout: ROLLOUT.into(),
        read_rollout: true,
        canary: PodSelector::FromRollout,
        stable: PodSelector::FromRollout,
        window: Duration::from_secs(WINDOW),
        end: end(),
        queries: Default::default(),
    }
}

/// The window's end: fixed, so the log reads' `sinceTime` is exact.
fn end() -> jiff::Timestamp {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

/// The window's start, where log reads begin.
fn start() -> jiff::Timestamp {
    end() - jiff::SignedDuration::from_secs(WINDOW as i64)
}

/// Gathers `req` from a fake API server expecting `ex`, and checks that every
/// expected call was made.
async fn gather_on(ex: Vec<Expect>, req: &GatherRequest) -> rollwise::Result<Evidence> {
    let (client, api) = fake(ex);
    let src = source(client, &CallMetrics::default());
    let out = src.gather_evidence(req).await;
    drop(src);
    api.verify().await;
    out
}

fn judge(ev: &Evidence) -> rollwise::verdict::Verdict {
    Judge::new(JudgeConfig::default(), LogConfig::default()).judge(ev)
}

/// The objects of Argo Rollouts' `testdata/canary` (a real cluster's dump),
/// with the canary pod as each scenario needs it.
struct World {
    rollout: Value,
    canary_pod: Value,
    stable_pod: Value,
    canary_rs: Value,
    stable_rs: Value,
}

fn world() -> World {
    let mut rollout = fixture("canary-rollout-canary-demo.json");
    rollout["metadata"]["annotations"]["rollwise.io/repo"] =
        "https://github.com/argoproj/rollouts-demo".into();
    let mut canary_pod = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
    canary_pod["metadata"]["annotations"] = json!({"rollwise.io/revision": "3f2a9c1"});
    // Running and ready (the fixture's pod is stuck pulling its image).
    canary_pod["status"]["phase"] = "Running".into();
    canary_pod["status"]["conditions"][1] =
        json!({"type": "Ready", "status": "True", "lastTransitionTime": "2019-10-28T04:52:40Z"});
    canary_pod["status"]["containerStatuses"][0]["ready"] = true.into();
    canary_pod["status"]["containerStatuses"][0]["state"] =
        json!({"running": {"startedAt": "2019-10-28T04:52:39Z"}});
    World {
        rollout,
        canary_pod,
        stable_pod: fixture("canary-pod-canary-demo-877894d5b-6jfpt.json"),
        canary_rs: fixture("canary-replicaset-canary-demo-65fb5ffc84.json"),
        stable_rs: fixture("canary-replicaset-canary-demo-877894d5b.json"),
    }
}

fn crashlooping(w: &mut World) {
    let cs = &mut w.canary_pod["status"]["containerStatuses"][0];
    cs["ready"] = false.into();
    cs["restartCount"] = 4.into();
    cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
        "message": "back-off 1m20s restarting failed container=canary-demo pod=canary-demo-65fb5ffc84-9wf5r"}});
    cs["lastState"] = json!({"terminated": {"exitCode": 2, "reason": "Error",
        "startedAt": "2019-10-28T04:54:01Z", "finishedAt": "2019-10-28T04:54:03Z"}});
    w.canary_pod["status"]["conditions"][1] = json!({"type": "Ready", "status": "False",
        "reason": "ContainersNotReady", "lastTransitionTime": "2019-10-28T04:54:03Z"});
}

fn resolve_expects(w: &World) -> Vec<Expect> {
    let pods = |h: &str, p: &Value| {
        Expect::get(
            PODS_PATH,
            &[("labelSelector", &by_hash(h)), ("limit", "500")],
            Reply::Json(200, list("Pod", "v1", vec![p.clone()])),
        )
    };
    let rs = |h: &str, r: &Value| {
        Expect::get(
            RS_PATH,
            &[("labelSelector", &by_hash(h)), ("limit", "500")],
            Reply::Json(200, list("ReplicaSet", "apps/v1", vec![r.clone()])),
        )
    };
    vec![
        Expect::get(ROLLOUT_PATH, &[], Reply::Json(200, w.rollout.clone())),
        pods(CANARY_HASH, &w.canary_pod),
        pods(STABLE_HASH, &w.stable_pod),
        rs(CANARY_HASH, &w.canary_rs),
        rs(STABLE_HASH, &w.stable_rs),
    ]
}

fn events_expects(w: &World, canary_pod_events: Vec<Value>) -> Vec<Expect> {
    let ev = |kind: &str, obj: &Value, items: Vec<Value>| {
        let name = obj["metadata"]["name"].as_str().unwrap();
        expect_owned(
            EVENTS_PATH,
            events_query(kind, name, &uid(obj)),
            Reply::Json(200, list("Event", "v1", items)),
        )
    };
    let scaled = event(
        "ReplicaSet",
        "canary-demo-65fb5ffc84",
        &uid(&w.canary_rs),
        "Normal",
        "SuccessfulCreate",
        "Created pod: canary-demo-65fb5ffc84-9wf5r",
        1,
    );
    vec![
        ev("ReplicaSet", &w.canary_rs, vec![scaled]),
        ev("ReplicaSet", &w.stable_rs, vec![]),
        ev("Pod", &w.canary_pod, canary_pod_events),
        ev("Pod", &w.stable_pod, vec![]),
    ]
}

/// A whole healthy gathering (Rollout, pods, ReplicaSets, events, logs) of
/// the given objects, for tests that pair it with a real Prometheus.
pub fn resolve_and_details(
    rollout: &Value,
    canary_pod: &Value,
    stable_pod: &Value,
    start: jiff::Timestamp,
) -> Vec<Expect> {
    let w = World {
        rollout: rollout.clone(),
        canary_pod: canary_pod.clone(),
        stable_pod: stable_pod.clone(),
        canary_rs: fixture("canary-replicaset-canary-demo-65fb5ffc84.json"),
        stable_rs: fixture("canary-replicaset-canary-demo-877894d5b.json"),
    };
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    for (pod, color) in [(CANARY_POD, "yellow"), (STABLE_POD, "green")] {
        ex.push(log_expect(
            pod,
            "canary-demo",
            false,
            start,
            &served(40, color),
        ));
    }
    ex
}

fn served(n: usize, color: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "2019-10-28T04:53:{:02}Z INFO served GET /color -> {color} in {}ms\n",
                i % 60,
                3 + i % 5
            )
        })
        .collect()
}

#[tokio::test]
async fn healthy_canary_is_gathered_with_exact_requests() {
    let w = world();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(40, "yellow"),
    ));
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(40, "green"),
    ));
    let (client, api) = fake(ex);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    let requests = api.verify().await;
    assert_eq!(requests.len(), 11);

    let r = &ev.rollout;
    assert_eq!((r.namespace.as_str(), r.name.as_str()), (NS, ROLLOUT));
    assert_eq!(r.canary_hash.as_deref(), Some(CANARY_HASH));
    assert_eq!(r.stable_hash.as_deref(), Some(STABLE_HASH));
    assert_eq!(
        r.canary_image.as_deref(),
        Some("argoproj/rollouts-demo:does-not-exist")
    );
    assert_eq!(
        r.stable_image.as_deref(),
        Some("argoproj/rollouts-demo:green")
    );
    // currentStepIndex 0 is `setWeight: 20`.
    assert_eq!((r.canary_weight, r.step), (Some(20), Some(0)));
    assert_eq!(
        r.repo.as_deref(),
        Some("https://github.com/argoproj/rollouts-demo")
    );
    assert_eq!(r.revision.as_deref(), Some("3f2a9c1"));
    let w = ev.window.as_ref().unwrap();
    let (s, e): (jiff::Timestamp, jiff::Timestamp) =
        (w.start.parse().unwrap(), w.end.parse().unwrap());
    assert_eq!(e.duration_since(s).as_secs(), WINDOW as i64);

    assert_eq!(ev.pods.canary.len(), 1);
    assert!(ev.pods.canary[0].ready);
    assert_eq!(ev.pods.canary[0].restarts, 0);
    assert_eq!(ev.pods.stable[0].name, STABLE_POD);
    assert_eq!(ev.events.len(), 1);
    assert_eq!(ev.events[0].object, "ReplicaSet/canary-demo-65fb5ffc84");
    assert_eq!(ev.logs.canary[0].pod, CANARY_POD);
    assert_eq!(ev.logs.canary[0].lines.len(), 40);
    assert!(ev.logs.canary[0].lines[0].ends_with("-> yellow in 3ms"));
    assert_eq!(ev.logs.stable[0].sources[0].lines, 40);
    assert!(!ev.logs.stable[0].sources[0].truncated);
    // No Prometheus in this test: that is said, and the judge will not promote.
    assert_eq!(
        ev.gaps,
        [
            "no metric source is configured ([gather.prometheus] url or [[gather.sources]]): no metrics were gathered"
        ]
    );
    assert_eq!(judge(&ev).verdict, Decision::Inconclusive);
    assert_eq!(metrics.count("kubernetes", "get_rollout", "ok"), 1);
    assert_eq!(metrics.count("kubernetes", "pod_logs", "ok"), 2);
    assert_eq!(metrics.count("kubernetes", "list_events", "ok"), 4);
}

/// Pods as deploy tooling labels them from the image's OCI config (Helm
/// charts and kustomize copy `org.opencontainers.image.*` into the pod
/// template): each side's revision comes from its own pods, the source URL
/// names the repository when no rollwise annotation does.
#[tokio::test]
async fn oci_image_keys_on_the_pods_name_both_revisions_and_the_repo() {
    let mut w = world();
    w.rollout["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("rollwise.io/repo");
    w.canary_pod["metadata"]["annotations"] = json!({
        "org.opencontainers.image.source": "https://github.com/argoproj/rollouts-demo",
        "org.opencontainers.image.revision": "9c1e5b0d4f7a2e3b6c8d9e0f1a2b3c4d5e6f7a8b"
    });
    // A commit id fits a label value, and some charts put it there.
    w.stable_pod["metadata"]["labels"]["org.opencontainers.image.revision"] =
        "2b7f0e4c1a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f".into();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    for (pod, color) in [(CANARY_POD, "yellow"), (STABLE_POD, "green")] {
        ex.push(log_expect(
            pod,
            "canary-demo",
            false,
            start(),
            &served(40, color),
        ));
    }
    let ev = gather_on(ex, &request()).await.unwrap();
    let r = &ev.rollout;
    assert_eq!(
        r.repo.as_deref(),
        Some("https://github.com/argoproj/rollouts-demo")
    );
    assert_eq!(
        r.revision.as_deref(),
        Some("9c1e5b0d4f7a2e3b6c8d9e0f1a2b3c4d5e6f7a8b")
    );
    assert_eq!(
        r.stable_revision.as_deref(),
        Some("2b7f0e4c1a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f")
    );
    // The remediation policy compares those two, not the image tags.
    let repo = rollwise::remediate::repo_for(&ev).unwrap();
    let p = rollwise::remediate::policy_for(&ev, repo, [], "main");
    assert_eq!(p.repo.to_string(), "argoproj/rollouts-demo");
    assert_eq!(
        (p.stable_revision.as_deref(), p.canary_revision.as_deref()),
        (
            Some("2b7f0e4c1a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"),
            Some("9c1e5b0d4f7a2e3b6c8d9e0f1a2b3c4d5e6f7a8b")
        )
    );
}

/// With only the rollwise annotation on the canary and nothing on the stable
/// pods, the stable revision is unknown to the gatherer (the policy falls back
/// to the stable image's tag), and the canary's annotation wins over an OCI
/// key.
#[tokio::test]
async fn the_rollwise_annotation_wins_and_a_bare_stable_side_has_no_revision() {
    let mut w = world();
    w.canary_pod["metadata"]["annotations"]["org.opencontainers.image.revision"] =
        "ffffffffffffffffffffffffffffffffffffffff".into();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    for (pod, color) in [(CANARY_POD, "yellow"), (STABLE_POD, "green")] {
        ex.push(log_expect(
            pod,
            "canary-demo",
            false,
            start(),
            &served(40, color),
        ));
    }
    let ev = gather_on(ex, &request()).await.unwrap();
    assert_eq!(ev.rollout.revision.as_deref(), Some("3f2a9c1"));
    assert_eq!(ev.rollout.stable_revision, None);
    let repo = rollwise::remediate::repo_for(&ev).unwrap();
    let p = rollwise::remediate::policy_for(&ev, repo, [], "main");
    assert_eq!(p.stable_revision.as_deref(), Some("green"));
}

#[tokio::test]
async fn crashlooping_canary_reads_the_previous_instance_and_aborts() {
    let mut w = world();
    crashlooping(&mut w);
    let backoff = event(
        "Pod",
        CANARY_POD,
        &uid(&w.canary_pod),
        "Warning",
        "BackOff",
        "Back-off restarting failed container canary-demo in pod canary-demo-65fb5ffc84-9wf5r",
        12,
    );
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![backoff]));
    let crash = "2019-10-28T04:54:02Z INFO starting rollouts-demo\n\
                 panic: runtime error: invalid memory address or nil pointer dereference\n\
                 [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6c4a2b]\n\
                 goroutine 1 [running]:\n\
                 main.(*colorHandler).ServeHTTP(0x0, 0xc0000a2000)\n";
    ex.push(log_expect(CANARY_POD, "canary-demo", true, start(), crash));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        "2019-10-28T04:55:30Z INFO starting rollouts-demo\n",
    ));
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(30, "green"),
    ));
    let (client, api) = fake(ex);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    api.verify().await;

    let p = &ev.pods.canary[0];
    assert!(!p.ready);
    assert_eq!(p.restarts, 4);
    assert_eq!(p.last_termination_reason.as_deref(), Some("Error"));
    let logs = &ev.logs.canary[0];
    // Previous instance first (older), then the current one; sources say which.
    assert!(logs.lines[1].starts_with("panic: runtime error"));
    assert_eq!(logs.lines.len(), 6);
    assert_eq!(logs.sources.len(), 2);
    assert!(logs.sources[0].previous && !logs.sources[1].previous);
    assert_eq!((logs.sources[0].lines, logs.sources[1].lines), (5, 1));
    let backoff = ev.events.iter().find(|e| e.reason == "BackOff").unwrap();
    assert_eq!(
        (
            backoff.object.as_str(),
            backoff.kind.as_str(),
            backoff.count
        ),
        ("Pod/canary-demo-65fb5ffc84-9wf5r", "Warning", 12)
    );
    assert_eq!(metrics.count("kubernetes", "pod_logs_previous", "ok"), 1);
    let v = judge(&ev);
    assert_eq!(v.verdict, Decision::Abort, "{v:#?}");
}

#[tokio::test]
async fn forbidden_logs_become_a_gap_and_are_not_retried() {
    let w = world();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    let mut denied = log_expect(CANARY_POD, "canary-demo", false, start(), "");
    denied.reply = status(
        403,
        "Forbidden",
        "pods \"canary-demo-65fb5ffc84-9wf5r\" is forbidden: User \"system:serviceaccount:rollwise:rollwise\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"jesse-test\"",
    );
    ex.push(denied);
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(30, "green"),
    ));
    let (client, api) = fake(ex);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    // Exactly one log request for the canary: a 403 is not retried.
    api.verify().await;
    let gap = ev
        .gaps
        .iter()
        .find(|g| g.starts_with("logs of canary pod canary-demo-65fb5ffc84-9wf5r container canary-demo could not be read: forbidden"))
        .unwrap_or_else(|| panic!("{:#?}", ev.gaps));
    assert!(
        gap.contains("cannot get resource \\\"pods/log\\\"") || gap.contains("pods/log"),
        "{gap}"
    );
    assert!(ev.logs.canary[0].lines.is_empty());
    assert_eq!(metrics.count("kubernetes", "pod_logs", "forbidden"), 1);
    assert_ne!(judge(&ev).verdict, Decision::Promote);
}

#[tokio::test]
async fn missing_rollout_is_an_error() {
    let (client, api) = fake(vec![Expect::get(
        ROLLOUT_PATH,
        &[],
        status(
            404,
            "NotFound",
            "rollouts.argoproj.io \"canary-demo\" not found",
        ),
    )]);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let err = src.gather_evidence(&request()).await.unwrap_err();
    drop(src);
    api.verify().await;
    assert!(
        matches!(
            err,
            rollwise::Error::Gather {
                dependency: "kubernetes",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("Rollout jesse-test/canary-demo not found"),
        "{err}"
    );
    assert_eq!(metrics.count("kubernetes", "get_rollout", "not_found"), 1);
}

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let w = world();
    let mut ex = vec![Expect::get(
        ROLLOUT_PATH,
        &[],
        status(500, "InternalError", "etcdserver: request timed out"),
    )];
    ex.extend(resolve_expects(&w));
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "yellow"),
    ));
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "green"),
    ));
    let (client, api) = fake(ex);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    let requests = api.verify().await;
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with(ROLLOUT_PATH))
            .count(),
        2
    );
    assert_eq!(metrics.count("kubernetes", "get_rollout", "api_error"), 1);
    assert_eq!(metrics.count("kubernetes", "get_rollout", "ok"), 1);
    assert_eq!(ev.rollout.canary_hash.as_deref(), Some(CANARY_HASH));
}

#[tokio::test]
async fn a_hanging_api_server_times_out() {
    // The Rollout read hangs on both attempts: nothing to judge, an error.
    let (client, api) = fake(vec![
        Expect::get(ROLLOUT_PATH, &[], Reply::Hang),
        Expect::get(ROLLOUT_PATH, &[], Reply::Hang),
    ]);
    let metrics = CallMetrics::default();
    let src = source(client, &metrics);
    let started = std::time::Instant::now();
    let err = src.gather_evidence(&request()).await.unwrap_err();
    let took = started.elapsed();
    drop(src);
    api.verify().await;
    assert!(err.to_string().contains("timed out after 300ms"), "{err}");
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(metrics.count("kubernetes", "get_rollout", "timeout"), 2);

    // A log read hangs: the rest is gathered, the log is a gap.
    let w = world();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "yellow"),
    ));
    for _ in 0..2 {
        let mut hang = log_expect(STABLE_POD, "canary-demo", false, start(), "");
        hang.reply = Reply::Hang;
        ex.push(hang);
    }
    let (client, api) = fake(ex);
    let src = source(client, &metrics);
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    api.verify().await;
    assert!(
        ev.gaps.iter().any(|g| g.starts_with("logs of stable pod canary-demo-877894d5b-6jfpt container canary-demo could not be read: logs of pod jesse-test/canary-demo-877894d5b-6jfpt container canary-demo timed out")),
        "{:#?}",
        ev.gaps
    );
    assert_eq!(ev.logs.canary[0].lines.len(), 5);
    assert_ne!(judge(&ev).verdict, Decision::Promote);
}

#[tokio::test]
async fn no_canary_revision_is_an_error() {
    let mut w = world();
    w.rollout["status"]["currentPodHash"] = STABLE_HASH.into();
    let err = gather_on(
        vec![Expect::get(
            ROLLOUT_PATH,
            &[],
            Reply::Json(200, w.rollout.clone()),
        )],
        &request(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no canary to judge"), "{err}");
}

#[tokio::test]
async fn label_selected_sides_without_a_rollout() {
    // Flagger: no Rollout object, pods chosen by labels; the hash is read
    // from the pods so PromQL can match it.
    let w = world();
    let canary_sel = "app=canary-demo,role=canary";
    let stable_sel = "app=canary-demo,role=primary";
    let mut ex = vec![
        Expect::get(
            PODS_PATH,
            &[("labelSelector", canary_sel), ("limit", "500")],
            Reply::Json(200, list("Pod", "v1", vec![w.canary_pod.clone()])),
        ),
        Expect::get(
            PODS_PATH,
            &[("labelSelector", stable_sel), ("limit", "500")],
            Reply::Json(200, list("Pod", "v1", vec![w.stable_pod.clone()])),
        ),
    ];
    ex.extend(resolve_expects(&w).into_iter().skip(3)); // the ReplicaSets
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "yellow"),
    ));
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "green"),
    ));
    let mut req = request();
    req.read_rollout = false;
    req.canary = PodSelector::Labels(canary_sel.into());
    req.stable = PodSelector::Labels(stable_sel.into());
    let ev = gather_on(ex, &req).await.unwrap();
    assert_eq!(ev.rollout.canary_hash.as_deref(), Some(CANARY_HASH));
    assert_eq!(ev.rollout.stable_hash.as_deref(), Some(STABLE_HASH));
    assert_eq!(ev.rollout.canary_weight, None);
}

#[tokio::test]
async fn invalid_names_are_refused_before_any_request() {
    let (client, api) = fake(vec![]);
    let src = source(client, &CallMetrics::default());
    for (canary, stable) in [
        (
            PodSelector::Hash("abc\"} or vector(1)".into()),
            PodSelector::Hash("def".into()),
        ),
        (
            PodSelector::Labels("app in (a,b)".into()),
            PodSelector::Hash("def".into()),
        ),
        (
            PodSelector::Hash("abc".into()),
            PodSelector::Hash("abc".into()),
        ),
    ] {
        let mut req = request();
        req.canary = canary;
        req.stable = stable;
        let err = src.gather_evidence(&req).await.unwrap_err();
        assert!(matches!(err, rollwise::Error::Usage(_)), "{err:?}");
    }
    let mut req = request();
    req.namespace = "Jesse_Test".into();
    assert!(matches!(
        src.gather_evidence(&req).await,
        Err(rollwise::Error::Usage(_))
    ));
    let mut req = request();
    req.queries
        .insert("success_rate".into(), "up{x=\"{{nope}}\"}".into());
    assert!(matches!(
        src.gather_evidence(&req).await,
        Err(rollwise::Error::Usage(_))
    ));
    drop(src);
    assert!(api.verify().await.is_empty());
}

#[tokio::test]
async fn the_overall_deadline_turns_slow_details_into_a_gap() {
    // Calls may each take 5 s, but the whole analysis has 1 s: the Rollout
    // and pods arrive, a log read hangs, and the bundle says so.
    let w = world();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(5, "yellow"),
    ));
    let mut hang = log_expect(STABLE_POD, "canary-demo", false, start(), "");
    hang.reply = Reply::Hang;
    ex.push(hang);
    let (client, api) = fake(ex);
    let slow = CallPolicy {
        timeout: Duration::from_secs(5),
        ..policy()
    };
    let reader = ClusterReader::new(client, slow, Arc::new(CallMetrics::default()));
    let src = ClusterSource::new(
        KubeGatherer::new(reader, KubeGatherConfig::default()),
        None,
        Duration::from_secs(1),
    );
    let started = std::time::Instant::now();
    let ev = src.gather_evidence(&request()).await.unwrap();
    let took = started.elapsed();
    drop(src);
    api.verify().await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        ev.gaps
            .iter()
            .any(|g| g == "events and logs were not read within the 1s deadline"),
        "{:#?}",
        ev.gaps
    );
    // What phase one read is kept; the judge cannot promote.
    assert_eq!(ev.pods.canary.len(), 1);
    assert_ne!(judge(&ev).verdict, Decision::Promote);
}

/// An Experiment's baseline ReplicaSet copies the stable pod template, hash
/// label included (argo-rollouts' testdata/experiment-analysis: the
/// `...-baseline-7d768b8b5f` ReplicaSet and the stable one both carry
/// `rollouts-pod-template-hash: f6db98dff`). The stable pods of the same hash
/// must not be read as the baseline.
fn experiment_baseline(w: &World) -> (Value, Value) {
    let exp = "canary-demo-65fb5ffc84-1-exp";
    let rs_name = format!("{exp}-baseline-7d768b8b5f");
    let mut rs = w.stable_rs.clone();
    rs["metadata"]["name"] = rs_name.clone().into();
    rs["metadata"]["uid"] = "e6dbd25a-fae6-11e9-a15b-42010aa80033".into();
    rs["metadata"]["labels"]["experiment.argoproj.io/template-name"] = "baseline".into();
    rs["metadata"]["ownerReferences"] = json!([{"apiVersion": "argoproj.io/v1alpha1",
        "blockOwnerDeletion": true, "controller": true, "kind": "Experiment",
        "name": exp, "uid": "e6d6a74d-fae6-11e9-a15b-42010aa80033"}]);
    let mut pod = w.stable_pod.clone();
    pod["metadata"]["name"] = format!("{rs_name}-x2k9q").into();
    pod["metadata"]["uid"] = "0b7c1f2e-fae7-11e9-a15b-42010aa80033".into();
    pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
        "blockOwnerDeletion": true, "controller": true, "kind": "ReplicaSet",
        "name": rs_name, "uid": uid(&rs)}]);
    (rs, pod)
}

#[tokio::test]
async fn a_baseline_side_is_the_experiments_replica_set_not_the_stable_pods() {
    let w = world();
    let (base_rs, base_pod) = experiment_baseline(&w);
    let base_name = base_pod["metadata"]["name"].as_str().unwrap().to_owned();
    let mut ex = resolve_expects(&w);
    // The hash selects both the stable and the baseline objects.
    ex[2] = Expect::get(
        PODS_PATH,
        &[("labelSelector", &by_hash(STABLE_HASH)), ("limit", "500")],
        Reply::Json(
            200,
            list("Pod", "v1", vec![w.stable_pod.clone(), base_pod.clone()]),
        ),
    );
    ex[4] = Expect::get(
        RS_PATH,
        &[("labelSelector", &by_hash(STABLE_HASH)), ("limit", "500")],
        Reply::Json(
            200,
            list(
                "ReplicaSet",
                "apps/v1",
                vec![w.stable_rs.clone(), base_rs.clone()],
            ),
        ),
    );
    let mut events = events_expects(&w, vec![]);
    // Events and logs of the baseline, and none of the stable's.
    events[1] = expect_owned(
        EVENTS_PATH,
        events_query(
            "ReplicaSet",
            base_rs["metadata"]["name"].as_str().unwrap(),
            &uid(&base_rs),
        ),
        Reply::Json(200, list("Event", "v1", vec![])),
    );
    events[3] = expect_owned(
        EVENTS_PATH,
        events_query("Pod", &base_name, &uid(&base_pod)),
        Reply::Json(200, list("Event", "v1", vec![])),
    );
    ex.extend(events);
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(40, "yellow"),
    ));
    ex.push(log_expect(
        &base_name,
        "canary-demo",
        false,
        start(),
        &served(40, "green"),
    ));
    let mut req = request();
    req.canary = PodSelector::Hash(CANARY_HASH.into());
    req.stable = PodSelector::Baseline(STABLE_HASH.into());
    let ev = gather_on(ex, &req).await.unwrap();
    assert!(ev.rollout.baseline);
    assert_eq!(ev.rollout.stable_hash.as_deref(), Some(STABLE_HASH));
    let stable: Vec<&str> = ev.pods.stable.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(stable, [base_name.as_str()]);
    assert_eq!(ev.logs.stable[0].pod, base_name);
    // The bundle says what it compared, and reads back the same.
    let text = serde_json::to_string(&ev).unwrap();
    assert!(text.contains(r#""baseline":true"#));
    let back: Evidence = serde_json::from_str(&text).unwrap();
    assert!(back.rollout.baseline);
    let v = judge(&ev);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.detail.contains("Experiment's baseline")),
        "{:?}",
        v.reasons
    );
}

#[tokio::test]
async fn a_baseline_hash_without_an_experiment_is_a_gap_not_the_stable_pods() {
    let w = world();
    let mut ex = resolve_expects(&w);
    // Only the stable ReplicaSet has the hash: no baseline is running.
    ex.extend(
        events_expects(&w, vec![])
            .into_iter()
            .filter(|e| !e.query.values().any(|v| v.contains("877894d5b"))),
    );
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(40, "yellow"),
    ));
    let mut req = request();
    req.canary = PodSelector::Hash(CANARY_HASH.into());
    req.stable = PodSelector::Baseline(STABLE_HASH.into());
    let ev = gather_on(ex, &req).await.unwrap();
    assert!(ev.pods.stable.is_empty());
    assert!(
        ev.gaps.iter().any(|g| g.contains("owned by an Experiment")),
        "{:?}",
        ev.gaps
    );
    assert_ne!(judge(&ev).verdict, Decision::Promote);
}

/// argo-rollouts' testdata/blue-green Rollout (paused before promotion:
/// preview 74b948fccb, active and stable 6cbccd9f99), renamed to the fake's
/// Rollout; and the same Rollout after promotion, while the post-promotion
/// analysis runs (active = preview = the new hash, stableRS still the old).
fn bluegreen(promoted: bool) -> Value {
    let mut r = fixture("blue-green-rollout-bluegreen-demo.json");
    r["metadata"]["name"] = ROLLOUT.into();
    if promoted {
        r["status"]["blueGreen"]["activeSelector"] = "74b948fccb".into();
        r["status"]["selector"] = "app=bluegreen-demo,rollouts-pod-template-hash=74b948fccb".into();
    }
    r
}

fn empty_sides(rollout: &Value, canary: &str, stable: &str) -> Vec<Expect> {
    let none = |path: &str, kind: &str, api: &str, h: &str| {
        Expect::get(
            path,
            &[("labelSelector", &by_hash(h)), ("limit", "500")],
            Reply::Json(200, list(kind, api, vec![])),
        )
    };
    vec![
        Expect::get(ROLLOUT_PATH, &[], Reply::Json(200, rollout.clone())),
        none(PODS_PATH, "Pod", "v1", canary),
        none(PODS_PATH, "Pod", "v1", stable),
        none(RS_PATH, "ReplicaSet", "apps/v1", canary),
        none(RS_PATH, "ReplicaSet", "apps/v1", stable),
    ]
}

#[tokio::test]
async fn blue_green_sides_come_from_the_rollouts_blue_green_status() {
    use rollwise::evidence::Strategy;
    for (promoted, canary, stable, strategy, says) in [
        (
            false,
            "74b948fccb",
            "6cbccd9f99",
            Strategy::BlueGreenPrePromotion,
            "preview",
        ),
        (
            true,
            "74b948fccb",
            "6cbccd9f99",
            Strategy::BlueGreenPostPromotion,
            "previous active",
        ),
    ] {
        let r = bluegreen(promoted);
        let ev = gather_on(empty_sides(&r, canary, stable), &request())
            .await
            .unwrap();
        let got = &ev.rollout;
        assert_eq!(got.canary_hash.as_deref(), Some(canary), "{strategy:?}");
        assert_eq!(got.stable_hash.as_deref(), Some(stable), "{strategy:?}");
        assert_eq!(got.strategy, Some(strategy));
        assert_eq!(got.canary_weight, None, "blue-green has no weights");
        assert_eq!(got.canary_image.as_deref(), None, "no pods were listed");
        // No pods, no metrics: gaps, and never a promote.
        let v = judge(&ev);
        assert_ne!(v.verdict, Decision::Promote);
        assert!(
            v.reasons.iter().any(|x| x.detail.contains(says)),
            "{strategy:?}: {:?}",
            v.reasons
        );
    }
    // Once the post-promotion analysis has passed, stableRS is the new
    // version too: nothing is left to compare.
    let mut done = bluegreen(true);
    done["status"]["stableRS"] = "74b948fccb".into();
    let err = gather_on(
        vec![Expect::get(ROLLOUT_PATH, &[], Reply::Json(200, done))],
        &request(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("same revision"), "{err}");
}

/// A log over `max-log-lines` is read from the window's start and clipped
/// there: a gap naming the pod, the container and the window's start, in the
/// verdict's reasons (never a promote on it) and on the verdict page.
#[tokio::test]
async fn clipped_logs_are_a_gap_in_the_reasons_and_on_the_page() {
    let w = world();
    let mut ex = resolve_expects(&w);
    ex.extend(events_expects(&w, vec![]));
    ex.push(log_expect(
        CANARY_POD,
        "canary-demo",
        false,
        start(),
        &served(40, "yellow"),
    ));
    ex.push(log_expect(
        STABLE_POD,
        "canary-demo",
        false,
        start(),
        &served(8, "green"),
    ));
    let (client, api) = fake(ex);
    let src = source_with(
        client,
        &CallMetrics::default(),
        KubeGatherConfig {
            max_log_lines: 10,
            ..KubeGatherConfig::default()
        },
    );
    let ev = src.gather_evidence(&request()).await.unwrap();
    drop(src);
    api.verify().await;
    // The first ten lines of the window, not the last ten.
    let canary = &ev.logs.canary[0];
    assert_eq!(canary.lines.len(), 10);
    assert!(
        canary.lines[0].starts_with("2019-10-28T04:53:00Z"),
        "{:?}",
        canary.lines[0]
    );
    assert!(canary.sources[0].truncated);
    assert!(!ev.logs.stable[0].sources[0].truncated);
    let clipped: Vec<&String> = ev.gaps.iter().filter(|g| g.contains("clipped")).collect();
    assert_eq!(clipped.len(), 1, "{:#?}", ev.gaps);
    let gap = clipped[0];
    for part in [
        "canary pod canary-demo-65fb5ffc84-9wf5r",
        "container canary-demo",
        "10 lines ([gather.kube] max-log-lines)",
        "2026-03-02T09:55:00Z",
    ] {
        assert!(gap.contains(part), "{part} in {gap}");
    }
    let v = judge(&ev);
    assert_ne!(v.verdict, Decision::Promote);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.detail.contains("canary-demo-65fb5ffc84-9wf5r")
                && r.detail.contains("clipped")),
        "{:#?}",
        v.reasons
    );
    let rec = rollwise::store::AnalysisRecord::new(
        "clip".into(),
        rollwise::store::Origin::Analyze,
        0,
        v,
        &ev,
        None,
    );
    let store = rollwise::store::Store::memory_with(10, [rec]);
    let app = rollwise::page::router(store, rollwise::page::PageConfig::default());
    let resp = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/analyses/clip")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let html = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains("canary pod canary-demo-65fb5ffc84-9wf5r container canary-demo were clipped"),
        "the page names the clipped pod"
    );
}
