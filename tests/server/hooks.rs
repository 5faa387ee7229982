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
const SCENARIO: &str = "evals/scenarios/remediation/r01-cart-go-index-out-of-range.json";
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
    let rec = loop {
        let rec = st.store.get(&id).unwrap();
        if rec.pr.is_some() && rec.notifications.len() >= 2 || t.elapsed() > Duration::from_secs(60)
        {
            break rec;
        }
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
