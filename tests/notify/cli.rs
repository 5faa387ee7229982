//! `rollwise analyze --slack-webhook URL`: the message is posted, delivery is
//! said on stderr, and a failed post changes neither the verdict nor the exit code.

use std::process::Command;

use super::{Canned, FakeSlack, assert_valid_message};
use crate::cli::{public, stderr, stdout};

fn analyze(args: Vec<String>, env: Vec<(&'static str, String)>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rollwise"));
    c.args(&args)
        .env_remove("RUST_LOG")
        .env_remove("ROLLWISE_LLM")
        .env_remove("ROLLWISE_LLM_URL")
        .env_remove("ROLLWISE_SLACK_WEBHOOK")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_posts_the_verdict_to_a_webhook() {
    let fake = FakeSlack::start(Vec::new(), Canned::ok_webhook()).await;
    let url = fake.url("/services/T/B/x");
    let p = public("p05-reports-flask-oomkilled.json");
    let o = tokio::task::spawn_blocking(move || {
        analyze(
            vec![
                "analyze".into(),
                "--evidence".into(),
                p,
                "--json".into(),
                "--slack-webhook".into(),
                url,
            ],
            vec![],
        )
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is only the verdict");
    assert_eq!(v["verdict"], "abort");
    assert!(
        stderr(&o).contains("Slack: delivered after 1 attempt"),
        "{}",
        stderr(&o)
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/services/T/B/x");
    assert_valid_message(&reqs[0].body);
    assert!(
        reqs[0].body["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("ABORT")
    );

    // The same through the environment variable.
    let url = fake.url("/env");
    let p = public("p12-rollouts-demo-blue-to-yellow.json");
    let o = tokio::task::spawn_blocking(move || {
        analyze(
            vec!["analyze".into(), "--evidence".into(), p],
            vec![("ROLLWISE_SLACK_WEBHOOK", url)],
        )
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Slack: delivered"), "{}", stderr(&o));
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.requests()[1].path, "/env");
}

#[test]
fn a_failed_post_is_reported_and_the_exit_code_stands() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = public("p01-rollouts-demo-bad-red.json");
    let o = analyze(
        vec![
            "analyze".into(),
            "--evidence".into(),
            p.clone(),
            "--slack-webhook".into(),
            format!("http://127.0.0.1:{port}/secret-hook"),
        ],
        vec![],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ABORT"), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("Slack: NOT delivered"), "{err}");
    assert!(
        !err.contains("secret-hook"),
        "the webhook URL is not printed: {err}"
    );

    let o = analyze(
        vec![
            "analyze".into(),
            "--evidence".into(),
            p,
            "--slack-webhook".into(),
            "not-a-url".into(),
        ],
        vec![],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
