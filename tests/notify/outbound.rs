//! No secret, and no 10-character fragment of one, leaves through any outbound
//! text: the verdict, the model's digest and prompts, the Slack message, the
//! verdict page and the stored record. Secrets of every format are planted in
//! event messages (at offsets around every clip length) and log lines.

use rollwise::evidence::{Evidence, KubeEvent};
use rollwise::llm::OutputFormat;
use rollwise::llm::prompt::{PromptContext, Prompts, TEMPLATES};
use rollwise::logs::digest::TokenCounter;
use rollwise::page::html::Page;
use rollwise::redact::Redactor;
use rollwise::store::Store;

use super::{judge, public_scenario, record};

/// One text per format, and the secret in it.
const SECRETS: &[(&str, &str)] = &[
    ("AKIA2SMEKG2N6EQS6FEL", "AKIA2SMEKG2N6EQS6FEL"),
    (
        "ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM",
        "ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM",
    ),
    ("glpat-Xk3s9vQ2mN8pL5rT7wYz", "glpat-Xk3s9vQ2mN8pL5rT7wYz"),
    (
        "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
    ),
    (
        "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",
        "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",
    ),
    (
        "auth=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    (
        r#""private_key_id": "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c","#,
        "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c",
    ),
    ("--password Tr0ub4dor&3xyz", "Tr0ub4dor&3xyz"),
    (r#"{"pass":"hunter2hunter2"}"#, "hunter2hunter2"),
    ("app:Sup3rS3cretPw@db.internal:5432", "Sup3rS3cretPw"),
    ("passphrase=correct-horse-battery", "correct-horse-battery"),
    (
        "sig=J3hsd8%2FkD9s0Lw%2BqZx7YvB1nM4tR6uE%3D",
        "J3hsd8%2FkD9s0Lw%2BqZx7YvB1nM4tR6uE%3D",
    ),
    ("Cookie: session=9c8b7a6f5e4d3c2b1a", "9c8b7a6f5e4d3c2b1a"),
    (
        "postgres://orders:pa55w0rdpa55@db:5432/orders",
        "pa55w0rdpa55",
    ),
    (
        "Authorization: Bearer s3cr3tTokenValue12345",
        "s3cr3tTokenValue12345",
    ),
];

/// p12 (a clean canary) with every secret in a canary Warning event of its
/// own reason, `pad` words in front, and in a canary log line.
fn planted(pad: usize) -> Evidence {
    plant(
        public_scenario("p12-rollouts-demo-blue-to-yellow.json"),
        pad,
    )
}

/// `ev` with every secret planted as [`planted`] says.
fn plant(mut ev: Evidence, pad: usize) -> Evidence {
    let pod = ev.pods.canary[0].name.clone();
    let words = "word ".repeat(pad);
    for (i, (text, _)) in SECRETS.iter().enumerate() {
        ev.events.push(KubeEvent {
            object: format!("Pod/{pod}"),
            kind: "Warning".into(),
            reason: format!("Failed{i}"),
            message: format!("{words}{text} then more words after it"),
            count: 2,
        });
        if let Some(logs) = ev.logs.canary.first_mut() {
            logs.lines
                .push(format!("ERROR request {i} failed: {words}{text} retrying"));
        }
    }
    ev.description = Some(
        SECRETS
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(" "),
    );
    ev
}

fn leaks(surface: &str, out: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (_, secret) in SECRETS {
        let b = secret.as_bytes();
        for i in 0..=b.len().saturating_sub(10) {
            let w = &secret[i..i + 10];
            if out.contains(w) {
                found.push(format!("{surface}: {w:?} of {secret}"));
                break;
            }
        }
    }
    found
}

#[tokio::test]
async fn no_fragment_of_a_secret_leaves_through_any_outbound_text() {
    let j = judge();
    let counter = TokenCounter::new().unwrap();
    let prompts = Prompts::load(None).unwrap();
    let schema = rollwise::llm::reply::reply_schema();
    let redactor = Redactor::new();
    let mut found = Vec::new();
    // Pads that put the secrets across the 160/240/300-character clips.
    for pad in [0, 20, 27, 30, 33, 45, 48, 57, 60] {
        let ev = planted(pad);
        let a = j.assess(&ev);
        let digest = rollwise::llm::hybrid::log_digest(&j, &counter, &ev, &a, 4000);
        found.extend(leaks("digest", &digest.text));
        let ctx = PromptContext::new(
            &ev,
            &a,
            &digest.text,
            digest.truncated,
            OutputFormat::FencedJson,
            "canary_verdict",
            &schema,
            &redactor,
        );
        for (name, _) in TEMPLATES {
            let text = prompts.render(name, &ctx).unwrap();
            // The judge redacts the rendered prompt as a whole before sending.
            found.extend(leaks(name, &redactor.redact_lines(&text)));
        }
        let rec = record("planted", &ev);
        found.extend(leaks(
            "verdict",
            &serde_json::to_string(&rec.verdict).unwrap(),
        ));
        let blocks = rollwise::notify::blocks::render_blocks(&rec, Some("https://rw.example"));
        found.extend(leaks("slack", &blocks.to_string()));
        let page = Page {
            redactor: &redactor,
            base: String::new(),
        };
        found.extend(leaks("page", &page.detail(&rec)));
        let store = Store::memory(4);
        store.insert(std::sync::Arc::new(rec), None).await.unwrap();
        let kept = store.get("planted").await.unwrap().unwrap();
        found.extend(leaks("store", &serde_json::to_string(&*kept).unwrap()));
        // The page as served reads the stored record.
        found.extend(leaks("served page", &page.detail(&kept)));
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "{} leaks: {found:#?}", found.len());
}

/// The running service with the planted bundle: the reply, the page as
/// served (HTML and JSON), `/metrics`, and everything the process logged at
/// `debug` (what the dev overlay runs with) while it judged and served.
#[tokio::test]
async fn no_fragment_leaves_through_the_service_metrics_or_the_process_log() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let cap = crate::gather::logs::Captured::default();
    let _guard = tracing::subscriber::set_default(cap.subscriber("debug", false));
    let st = crate::server::state_with(None, |_| {});
    let bearer = format!("Bearer {}", crate::server::TOKEN);
    let send = |req: Request<Body>| {
        let app = rollwise::server::app(std::sync::Arc::clone(&st)).unwrap();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let mut found = Vec::new();
    for pad in [0, 27, 48] {
        let ev = planted(pad);
        let (status, reply) = send(
            Request::post("/v1/verdicts")
                .header("authorization", &bearer)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&ev).unwrap()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        found.extend(leaks("reply", &reply));
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        let id = v["analysisId"].as_str().unwrap().to_owned();
        for uri in [
            format!("/analyses/{id}"),
            format!("/analyses/{id}?format=json"),
            "/analyses".to_owned(),
        ] {
            let (status, body) = send(
                Request::get(&uri)
                    .header("authorization", &bearer)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "{uri}");
            found.extend(leaks(&uri, &body));
        }
    }
    let (status, metrics) = send(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("rollwise_"), "{metrics}");
    found.extend(leaks("/metrics", &metrics));
    let log = cap.text();
    assert!(
        log.contains("analysis finished"),
        "the log was captured: {log}"
    );
    found.extend(leaks("process log", &log));
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "{} leaks: {found:#?}", found.len());
}

/// The remediation agent on a failing canary with every secret planted in
/// its evidence, driven by a model that copies every secret into its commit
/// message, the file it commits and its PR text: nothing of any reaches
/// GitHub (the fake records every request), neither the PR's title and body
/// nor the commit.
#[test]
fn no_fragment_reaches_the_remediation_pr_title_body_or_commit() {
    use crate::remediate::{acme, fake, run_with, runtime, scenario, script};
    let all: String = SECRETS.iter().map(|(t, _)| format!(" {t}")).collect();
    let rt = runtime();
    let mut found = Vec::new();
    for pad in [0, 33] {
        let gh = fake(&rt);
        let ev = plant(scenario(), pad);
        let mut turns = script();
        let set = |turn: &mut rollwise::llm::ToolTurn, f: &dyn Fn(&mut serde_json::Value)| {
            let args = &mut turn.tool_calls[0].arguments;
            let mut v: serde_json::Value = serde_json::from_str(args).unwrap();
            f(&mut v);
            *args = v.to_string();
        };
        set(&mut turns[2], &|v| {
            v["message"] = format!("fix: bound the index;{all}").into();
            let c = v["files"][0]["content"].as_str().unwrap().to_owned();
            v["files"][0]["content"] = format!("// seen:{all}\n{c}").into();
        });
        set(&mut turns[3], &|v| {
            for k in ["title", "root_cause", "change", "verification"] {
                let t = v[k].as_str().unwrap_or_default().to_owned();
                v[k] = format!("{t}{all}").into();
            }
        });
        let o = run_with(&rt, &gh, &ev, turns, acme());
        assert_eq!(o.stop, rollwise::remediate::StopReason::Finished, "{o:#?}");
        let prs = gh.prs();
        assert_eq!(prs.len(), 1);
        found.extend(leaks("PR title", &prs[0].title));
        found.extend(leaks("PR body", &prs[0].body));
        let msg = gh.commit_message(&o.branch).unwrap();
        assert!(msg.contains("bound the index"), "{msg}");
        found.extend(leaks("commit message", &msg));
        for r in gh.requests() {
            found.extend(leaks(
                &format!("{} {}", r.method, r.path),
                &format!("{} {:?}", r.query, r.body),
            ));
        }
        found.extend(leaks("transcript", &o.transcript_json().to_string()));
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "{} leaks: {found:#?}", found.len());
}
