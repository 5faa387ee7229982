//! The whole service path after an abort: the verdict goes back to Argo, Slack
//! gets the message, the remediation agent (scripted model, fake GitHub checked
//! against GitHub's OpenAPI description) opens one draft PR, the record links
//! it, and Slack gets a follow-up with its URL. None of it delays the reply.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::llm::ToolTurn;
use rollwise::llm::scripted::ScriptedModel;
use rollwise::notify::{Notifier, SlackConfig};
use rollwise::remediate::RemediationConfig;
use rollwise::server::hooks::{RemediationHook, SlackHook};
use rollwise::server::{Analyzer, AppState, Metrics, ServerConfig, StateParts, VerdictHook};
use rollwise_tools::github::{GithubAuth, GithubConfig};

use super::{FakeSource, analyze_body, post};
use crate::cli::repo_path;
use crate::notify::{Canned, FakeSlack, assert_valid_message};
use crate::remediate::fake_github::FakeGithub;

const GH_TOKEN: &str = "test-token-not-a-secret-7f3a";
const SCENARIO: &str = "evals/scenarios/tune/remediation/r01-cart-go-index-out-of-range.json";
const SCRIPT: &str = "evals/remediation-scripts/r01-cart-go-index-out-of-range.json";

#[test]
fn an_abort_is_announced_and_gets_one_draft_pr_linked_from_the_record() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rollwise::tls::install_crypto_provider();
    let github = FakeGithub::start(
        &rt,
        "acme",
        "cart",
        &repo_path("evals/fixtures/cart-go"),
        GH_TOKEN,
    );
    let slack = rt.block_on(FakeSlack::start(vec![], Canned::ok_webhook()));
    let ev = rollwise::evidence::load_file(&repo_path(SCENARIO), 1 << 24).unwrap();
    let mut source = FakeSource::default();
    source
        .by_canary
        .insert(ev.rollout.canary_hash.clone().unwrap(), ev.clone());
    let turns: Vec<ToolTurn> =
        serde_json::from_str(&std::fs::read_to_string(repo_path(SCRIPT)).unwrap()).unwrap();
    let model = Arc::new(ScriptedModel::tool_turns(turns.into_iter().map(Ok).collect()).unwrap());
    let metrics = Arc::new(Metrics::new());
    let _entered = rt.enter();
    let notifier = Arc::new(Notifier::new(SlackConfig::webhook(slack.url("/hook"))).unwrap());
    let remediation = RemediationHook::new(
        RemediationConfig {
            after_abort: true,
            allowed_repos: vec!["acme/cart".into()],
            ..RemediationConfig::default()
        },
        model,
        GithubConfig {
            api_url: github.base_url.clone(),
            auth: GithubAuth::Token(GH_TOKEN.into()),
            ..GithubConfig::default()
        },
        None,
        Arc::clone(&metrics),
        Some(Arc::clone(&notifier)),
    );
    let hooks: Vec<Arc<dyn VerdictHook>> =
        vec![Arc::new(SlackHook::new(notifier)), Arc::new(remediation)];
    let st = AppState::new(StateParts {
        cfg: ServerConfig::default(),
        analyzer: Analyzer::new(rollwise::judge::Judge::default()),
        source: Some(Arc::new(source)),
        token: Some(super::TOKEN.into()),
        hooks,
        metrics: Arc::clone(&metrics),
        store: None,
        holder: None,
    })
    .unwrap();

    let reply = rt.block_on(post(&st, "/v1/analyze", analyze_body(&ev)));
    assert_eq!(reply.body["verdict"], "abort", "{}", reply.text);
    assert!(
        github.prs().is_empty(),
        "the reply did not wait for the agent"
    );
    let id = reply.body["analysisId"].as_str().unwrap().to_owned();

    let t = Instant::now();
    // The record is written just after the reply, then updated by the hooks.
    let rec = loop {
        let rec = rt.block_on(st.history.store.get(&id)).unwrap();
        if let Some(rec) = rec
            && (rec.pr.is_some() && rec.notifications.len() >= 2
                || t.elapsed() > Duration::from_secs(60))
        {
            break rec;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the record never arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let pr = rec.pr.clone().expect("the record links the PR");
    assert_eq!(pr.repo, "acme/cart");
    let prs = github.prs();
    assert_eq!(prs.len(), 1, "one PR");
    assert!(
        rec.transcript.is_some(),
        "the transcript is kept for the page"
    );

    let sent = slack.requests();
    assert_eq!(sent.len(), 2, "the verdict, then the follow-up");
    for m in &sent {
        assert_valid_message(&m.body);
    }
    assert!(sent[0].body.to_string().contains(&ev.rollout.name));
    assert!(
        sent[1].body.to_string().contains(&pr.url),
        "{}",
        sent[1].body
    );
    assert!(
        rec.notifications.iter().all(|n| n.ok),
        "{:?}",
        rec.notifications
    );

    let m = metrics.encode();
    assert!(
        m.contains(r#"dependency="github""#),
        "GitHub calls are in /metrics"
    );
}

/// A kube API fake for the agent's tools: answers GETs by path from real-shaped
/// fixtures (tools/fixtures), records every request, refuses anything else.
fn kube_fake(rt: &tokio::runtime::Runtime) -> (kube::Client, Arc<std::sync::Mutex<Vec<String>>>) {
    use http::{Request, Response};
    use kube::client::Body;
    let fixture = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(repo_path(&format!("tools/fixtures/{name}"))).unwrap(),
        )
        .unwrap()
    };
    let rollout = fixture("canary-rollout-canary-demo.json");
    let pod = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let log = Arc::clone(&seen);
    rt.spawn(async move {
        while let Some((req, send)) = handle.next_request().await {
            let line = format!("{} {}", req.method(), req.uri());
            log.lock().unwrap().push(line);
            let path = req.uri().path().to_owned();
            let (code, body) = if req.method() != http::Method::GET {
                (405, serde_json::json!({"kind": "Status", "code": 405}))
            } else if path == "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts/canary-demo" {
                (200, rollout.clone())
            } else if path == "/api/v1/namespaces/jesse-test/pods" {
                (200, serde_json::json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod.clone()]}))
            } else {
                (404, serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}))
            };
            send.send_response(
                Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            );
        }
    });
    (kube::Client::new(svc, "default"), seen)
}

#[test]
fn the_agent_reads_the_cluster_through_read_only_tools_before_fixing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rollwise::tls::install_crypto_provider();
    let github = FakeGithub::start(
        &rt,
        "acme",
        "cart",
        &repo_path("evals/fixtures/cart-go"),
        GH_TOKEN,
    );
    // The r01 failure, on the Rollout the kube fixtures describe.
    let mut ev = rollwise::evidence::load_file(&repo_path(SCENARIO), 1 << 24).unwrap();
    ev.rollout.namespace = "jesse-test".into();
    ev.rollout.name = "canary-demo".into();
    let mut source = FakeSource::default();
    source
        .by_canary
        .insert(ev.rollout.canary_hash.clone().unwrap(), ev.clone());
    let call = |id: &str, name: &str, args: &str| -> ToolTurn {
        serde_json::from_value(
            serde_json::json!({"tool_calls": [{"id": id, "name": name, "arguments": args}]}),
        )
        .unwrap()
    };
    let mut turns = vec![
        call("k1", "get_rollout", "{}"),
        call("k2", "list_pods", r#"{"side": "canary"}"#),
    ];
    turns.extend(
        serde_json::from_str::<Vec<ToolTurn>>(&std::fs::read_to_string(repo_path(SCRIPT)).unwrap())
            .unwrap(),
    );
    let model = Arc::new(ScriptedModel::tool_turns(turns.into_iter().map(Ok).collect()).unwrap());
    let _entered = rt.enter();
    let (client, kube_seen) = kube_fake(&rt);
    let reader = rollwise_tools::kube::ClusterReader::new(
        client,
        rollwise_tools::call::CallPolicy::default(),
        Arc::new(rollwise_tools::call::NoObserver),
    );
    let metrics = Arc::new(Metrics::new());
    let hook = RemediationHook::new(
        RemediationConfig {
            after_abort: true,
            allowed_repos: vec!["acme/cart".into()],
            ..RemediationConfig::default()
        },
        model.clone(),
        GithubConfig {
            api_url: github.base_url.clone(),
            auth: GithubAuth::Token(GH_TOKEN.into()),
            ..GithubConfig::default()
        },
        Some(reader),
        Arc::clone(&metrics),
        None,
    );
    let st = AppState::new(StateParts {
        cfg: ServerConfig::default(),
        analyzer: Analyzer::new(rollwise::judge::Judge::default()),
        source: Some(Arc::new(source)),
        token: Some(super::TOKEN.into()),
        hooks: vec![Arc::new(hook)],
        metrics,
        store: None,
        holder: None,
    })
    .unwrap();
    let reply = rt.block_on(post(&st, "/v1/analyze", analyze_body(&ev)));
    assert_eq!(reply.body["verdict"], "abort", "{}", reply.text);
    let id = reply.body["analysisId"].as_str().unwrap().to_owned();
    let t = Instant::now();
    // The record is written just after the reply (None until then).
    while rt
        .block_on(st.history.store.get(&id))
        .unwrap()
        .is_none_or(|r| r.pr.is_none())
        && t.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        github.prs().len(),
        1,
        "the run went on to open the draft PR"
    );
    let seen = kube_seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|l| l.starts_with("GET ")),
        "only reads: {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("/rollouts/canary-demo")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("/pods?") && l.contains("rollouts-pod-template-hash%3D65fb5ffc84")),
        "{seen:?}"
    );
    // The tools' answers went back to the model, fenced as untrusted data.
    let reqs = model.tool_requests();
    let third = serde_json::to_string(&reqs[2].messages).unwrap();
    assert!(
        third.contains("65fb5ffc84"),
        "the model saw the pods: {third}"
    );
    assert!(third.contains("untrusted-data"), "{third}");
}
