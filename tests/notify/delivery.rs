//! Delivery: webhook and bot-token modes, threading, retries and giving up,
//! against the capturing fake.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::evidence::Decision;
use rollwise::notify::{Notifier, SlackConfig};
use rollwise::store::Store;

use super::{Canned, FakeSlack, assert_valid_message, public_scenario, public_scenarios, record};

fn fast(cfg: SlackConfig) -> SlackConfig {
    SlackConfig {
        backoff_secs: 0.05,
        max_backoff_secs: 2.0,
        timeout_secs: 2.0,
        ..cfg
    }
}

fn assert_json_post(r: &super::Captured) {
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.headers["content-type"], "application/json; charset=utf-8",
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn webhook_message_for_every_public_scenario_is_valid_block_kit() {
    let fake = FakeSlack::start(Vec::new(), Canned::ok_webhook()).await;
    let n = Notifier::new(fast(SlackConfig {
        page_url: Some("https://rollwise.example.com".into()),
        ..SlackConfig::webhook(fake.url("/services/T0/B0/secret"))
    }))
    .unwrap();
    let names = public_scenarios();
    assert!(names.len() >= 20, "{names:?}");
    let mut planted = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let ev = public_scenario(name);
        planted.extend(ev.planted_secrets.clone());
        let rec = record(&format!("a{i}"), &ev);
        let o = n.notify(&rec).await.expect("every verdict is announced");
        assert!(o.ok, "{name}: {o:?}");
        assert_eq!(o.channel, "webhook");
        assert_eq!(o.thread_ts, None, "webhooks return no ts");
    }
    let reqs = fake.requests();
    assert_eq!(reqs.len(), names.len());
    assert!(!planted.is_empty(), "some scenario plants secrets");
    for (r, name) in reqs.iter().zip(&names) {
        assert_json_post(r);
        assert_eq!(r.path, "/services/T0/B0/secret");
        assert!(r.headers.get("authorization").is_none());
        assert!(
            r.body.get("channel").is_none(),
            "a webhook's channel is fixed"
        );
        assert_valid_message(&r.body);
        let text = r.body.to_string();
        for s in &planted {
            assert!(
                !text.contains(s.as_str()),
                "{name}: planted secret {s} sent to Slack"
            );
        }
        assert!(
            text.contains("https://rollwise.example.com/analyses/a"),
            "{name}: link to the verdict page"
        );
    }
    assert_eq!(n.counts().delivered, names.len() as u64);
    assert_eq!(n.counts().failed, 0);
}

#[tokio::test]
async fn bot_mode_posts_with_bearer_per_namespace_channel_and_threads_follow_ups() {
    let fake = FakeSlack::start(
        vec![Canned::ok_api("C0PAYMENTS", "1793000000.000100")],
        Canned::ok_api("C0PAYMENTS", "1793000000.000200"),
    )
    .await;
    let n = Arc::new(
        Notifier::new(fast(SlackConfig {
            bot_token: Some("xoxb-test-token".into()),
            default_channel: Some("#deploys".into()),
            channels: BTreeMap::from([("payments".into(), "#payments-oncall".into())]),
            api_url: fake.url("/api"),
            ..SlackConfig::default()
        }))
        .unwrap(),
    );
    let store = Store::memory(10);
    let ev = public_scenario("p07-payment-service-npe-refunds.json");
    let rec = record("p07", &ev);
    assert_eq!(rec.verdict.verdict, Decision::Abort);
    let rec = Arc::new(rec);
    store.insert(Arc::clone(&rec), None).await.unwrap();
    let outcome = n.spawn_notify(store.clone(), rec).await.unwrap().unwrap();
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.channel, "C0PAYMENTS", "the id Slack answered with");
    assert_eq!(outcome.thread_ts.as_deref(), Some("1793000000.000100"));
    let kept = store.get("p07").await.unwrap().unwrap();
    assert_eq!(
        kept.notifications,
        vec![outcome.clone()],
        "outcome recorded in the store"
    );

    let f = n
        .follow_up(
            &kept,
            "Draft PR opened: https://github.com/acme/payments/pull/42 <!channel>",
        )
        .await;
    assert!(f.ok, "{f:?}");
    assert!(f.detail.contains("in thread"), "{f:?}");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_json_post(r);
        assert_eq!(r.path, "/api/chat.postMessage");
        assert_eq!(r.headers["authorization"], "Bearer xoxb-test-token");
        assert_valid_message(&r.body);
    }
    assert_eq!(
        reqs[0].body["channel"], "#payments-oncall",
        "namespace's channel"
    );
    assert!(reqs[0].body.get("thread_ts").is_none());
    assert_eq!(
        reqs[1].body["channel"], "C0PAYMENTS",
        "same channel as the parent"
    );
    assert_eq!(reqs[1].body["thread_ts"], "1793000000.000100");
    let follow = reqs[1].body.to_string();
    assert!(follow.contains("Draft PR opened"), "{follow}");
    assert!(!follow.contains("<!channel>"), "mention escaped: {follow}");
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after() {
    let fake = FakeSlack::start(
        vec![Canned {
            status: 429,
            headers: vec![("retry-after", "1".into())],
            body: "rate_limited".into(),
        }],
        Canned::ok_webhook(),
    )
    .await;
    let n = Notifier::new(fast(SlackConfig::webhook(fake.url("/hook")))).unwrap();
    let rec = record("r", &public_scenario("p01-rollouts-demo-bad-red.json"));
    let o = n.notify(&rec).await.unwrap();
    assert!(o.ok, "{o:?}");
    assert!(o.detail.contains("2 attempts"), "{o:?}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, before Retry-After: 1"
    );
    assert!(gap < Duration::from_secs(3), "{gap:?}");
    assert_eq!(reqs[0].body, reqs[1].body, "the same message is retried");
    assert_eq!(n.counts().rate_limited, 1);
    assert_eq!(n.counts().requests, 2);
}

#[tokio::test]
async fn server_errors_give_up_within_bounds_and_never_err() {
    let fake = FakeSlack::start(Vec::new(), Canned::status(500, "internal")).await;
    let n = Notifier::new(fast(SlackConfig {
        max_attempts: 3,
        ..SlackConfig::webhook(fake.url("/hook"))
    }))
    .unwrap();
    let rec = record("s", &public_scenario("p01-rollouts-demo-bad-red.json"));
    let start = Instant::now();
    let o = n.notify(&rec).await.unwrap();
    let took = start.elapsed();
    assert!(!o.ok);
    assert!(
        o.detail.contains("3 attempts") && o.detail.contains("500"),
        "{o:?}"
    );
    assert!(
        !o.detail.contains("/hook"),
        "the webhook URL is a secret: {o:?}"
    );
    assert_eq!(fake.requests().len(), 3);
    // Backoff ceilings 50 ms then 100 ms, fully jittered (the waits
    // themselves are the policy's unit tests): bounded, not minutes.
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(n.counts().failed, 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_bound_gives_up_at_once() {
    let fake = FakeSlack::start(
        Vec::new(),
        Canned {
            status: 429,
            headers: vec![("retry-after", "120".into())],
            body: String::new(),
        },
    )
    .await;
    let n = Notifier::new(fast(SlackConfig::webhook(fake.url("/hook")))).unwrap();
    let rec = record("l", &public_scenario("p01-rollouts-demo-bad-red.json"));
    let start = Instant::now();
    let o = n.notify(&rec).await.unwrap();
    assert!(!o.ok && o.detail.contains("rate limited"), "{o:?}");
    assert_eq!(fake.requests().len(), 1);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn permanent_rejections_are_not_retried() {
    let fake = FakeSlack::start(Vec::new(), Canned::status(400, "invalid_blocks")).await;
    let n = Notifier::new(fast(SlackConfig::webhook(fake.url("/hook")))).unwrap();
    let rec = record("p", &public_scenario("p01-rollouts-demo-bad-red.json"));
    let o = n.notify(&rec).await.unwrap();
    assert!(!o.ok && o.detail.contains("invalid_blocks"), "{o:?}");
    assert_eq!(fake.requests().len(), 1);

    // The Web API says no with 200 and ok:false.
    let fake = FakeSlack::start(
        Vec::new(),
        Canned {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: r#"{"ok":false,"error":"channel_not_found"}"#.into(),
        },
    )
    .await;
    let n = Notifier::new(fast(SlackConfig {
        bot_token: Some("xoxb-t".into()),
        default_channel: Some("#nope".into()),
        api_url: fake.url("/api"),
        ..SlackConfig::default()
    }))
    .unwrap();
    let o = n.notify(&rec).await.unwrap();
    assert!(!o.ok && o.detail.contains("channel_not_found"), "{o:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn unreachable_slack_is_an_outcome_not_an_error() {
    // Bind, note the port, close: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let n = Notifier::new(fast(SlackConfig {
        max_attempts: 2,
        ..SlackConfig::webhook(format!("http://127.0.0.1:{port}/hook"))
    }))
    .unwrap();
    let rec = record("u", &public_scenario("p01-rollouts-demo-bad-red.json"));
    let o = n.notify(&rec).await.unwrap();
    assert!(!o.ok, "{o:?}");
    assert!(o.detail.contains("unreachable"), "{o:?}");
    assert!(
        !o.detail.contains(&port.to_string()),
        "no URL in the detail: {o:?}"
    );
}

#[tokio::test]
async fn notify_on_decides_which_verdicts_are_announced() {
    let fake = FakeSlack::start(Vec::new(), Canned::ok_webhook()).await;
    let n = Notifier::new(fast(SlackConfig {
        notify_on: vec![Decision::Abort],
        ..SlackConfig::webhook(fake.url("/hook"))
    }))
    .unwrap();
    let promote = record(
        "g",
        &public_scenario("p12-rollouts-demo-blue-to-yellow.json"),
    );
    assert_eq!(promote.verdict.verdict, Decision::Promote);
    assert!(n.notify(&promote).await.is_none());
    let abort = record("b", &public_scenario("p01-rollouts-demo-bad-red.json"));
    assert!(n.notify(&abort).await.unwrap().ok);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(n.counts().skipped, 1);
}

/// Bot mode with `feedback_buttons`: the verdict message ends with the
/// feedback buttons (valid Block Kit, one per judgement other than the
/// verdict given, each naming the analysis) and says feedback changes no
/// rollout; follow-ups carry none.
#[tokio::test]
async fn bot_mode_feedback_buttons_are_valid_block_kit_naming_the_analysis() {
    let fake = FakeSlack::start(vec![], Canned::ok_api("C0DEPLOYS", "1793000000.000300")).await;
    let n = Notifier::new(fast(SlackConfig {
        bot_token: Some("xoxb-test-token".into()),
        default_channel: Some("#deploys".into()),
        api_url: fake.url("/api"),
        feedback_buttons: true,
        ..SlackConfig::default()
    }))
    .unwrap();
    let ev = public_scenario("p07-payment-service-npe-refunds.json");
    let rec = record("p07", &ev);
    let outcome = n.notify(&rec).await.unwrap();
    assert!(outcome.ok, "{outcome:?}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let msg = &reqs[0].body;
    assert_valid_message(msg);
    let blocks = msg["blocks"].as_array().unwrap();
    let actions = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("an actions block");
    let values: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["right:p07", "promote:p07", "inconclusive:p07"]);
    assert!(msg.to_string().contains("does not change the rollout"));

    // Webhook mode cannot receive clicks: the setting is refused there.
    let e = SlackConfig {
        webhook_url: Some("https://hooks.slack.com/services/T/B/x".into()),
        feedback_buttons: true,
        ..SlackConfig::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("feedback_buttons needs bot_token"), "{e}");
}
