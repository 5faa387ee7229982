use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// The story must fit in a minute on a laptop (and on 2 shared cores).
const BUDGET: Duration = Duration::from_secs(60);

/// `rollwise demo ARGS` without the local model (for speed), from `dir`.
fn demo_in(dir: &std::path::Path, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .arg("demo")
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("ROLLWISE_VENV", "/nonexistent")
        .output()
        .expect("run rollwise demo");
    (out, started.elapsed())
}

fn demo_json(args: &[&str]) -> (serde_json::Value, Duration) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (out, took) = demo_in(&repo_path(""), &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = serde_json::from_str(&stdout(&out)).expect("stdout is one JSON document");
    (doc, took)
}

/// A plain HTTP/1.1 GET: (status, body).
fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut s = std::net::TcpStream::connect(host).expect("connect to the page");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (status, resp)
}

#[test]
fn demo_shows_an_abort_and_a_promote_without_cluster_or_key() {
    let out = rollwise(&["demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ABORT") && text.contains("PROMOTE") && text.contains("INCONCLUSIVE"),
        "{text}"
    );
}

#[test]
fn demo_json_is_one_document_with_every_section() {
    let (doc, took) = demo_json(&[]);
    assert!(took < BUDGET, "the demo took {took:?}");
    assert_eq!(doc["ok"], true, "{doc:#}");

    let verdicts = doc["verdicts"].as_array().expect("verdicts");
    assert!(verdicts.len() >= 3);
    assert!(verdicts.iter().all(|v| v["verdict"]["verdict"].is_string()));
    let decisions: Vec<&str> = verdicts
        .iter()
        .map(|v| v["verdict"]["verdict"].as_str().unwrap())
        .collect();
    assert!(decisions.contains(&"abort") && decisions.contains(&"promote"));
    assert!(
        doc["model"].is_null(),
        "no model was asked for: {}",
        doc["judge"]
    );

    // The failing canary is the one whose verdict went to Slack and the page.
    let failing = doc["failing"].as_str().unwrap();
    let bad = verdicts
        .iter()
        .find(|v| v["scenario"] == failing)
        .expect("the failing scenario is among the verdicts");
    assert_eq!(bad["verdict"]["verdict"], "abort");
    let rollout = format!(
        "{}/{}",
        bad["verdict"]["rollout"]["namespace"].as_str().unwrap(),
        bad["verdict"]["rollout"]["name"].as_str().unwrap()
    );

    // 3: exactly one Block Kit message captured by the local listener.
    let slack = &doc["slack"];
    assert_eq!(slack["requests"], 1, "{slack:#}");
    assert_eq!(slack["outcome"]["ok"], true, "{slack:#}");
    assert!(
        slack["webhook_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let payload = &slack["payload"];
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty());
    assert!(blocks.iter().all(|b| b["type"].is_string()));
    let header = blocks
        .iter()
        .find(|b| b["type"] == "header")
        .expect("a header block");
    let header_text = header["text"]["text"].as_str().unwrap();
    assert!(
        header_text.contains(&rollout) && header_text.contains("ABORT"),
        "{header_text}"
    );
    assert!(payload["text"].as_str().unwrap().contains(&rollout));

    // 4: the page answered 200 with the charts, and Slack links to it.
    let page = &doc["page"];
    assert_eq!(page["status"], 200, "{page:#}");
    assert!(page["charts"].as_u64().unwrap() >= 1, "{page:#}");
    assert_eq!(page["names_rollout"], true);
    assert_eq!(page["serving"], false);
    let url = page["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/analyses/"),
        "{url}"
    );
    assert!(
        payload.to_string().contains(url),
        "the message links the page"
    );

    // 5: the scripted remediation proposes the discount fix.
    let r = &doc["remediation"];
    assert_eq!(r["stop"], "finished", "{r:#}");
    assert!(r["agent"].as_str().unwrap().contains("scripted replay"));
    assert_eq!(
        r["files_changed"],
        serde_json::json!(["internal/pricing/discount.go"])
    );
    let diff = r["diff"].as_str().unwrap();
    assert!(
        diff.contains("+++ b/internal/pricing/discount.go"),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && !l.starts_with("+++"))
    );
    assert!(!r["pr_title"].as_str().unwrap().is_empty());
}

#[test]
fn demo_human_view_tells_the_whole_story_offline() {
    let (out, took) = demo_in(&repo_path(""), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(took < BUDGET, "the demo took {took:?}");
    let text = stdout(&out);
    // 1-2, without a model, saying so.
    assert!(text.contains("ALONE: no model is used"), "{text}");
    assert!(text.contains("ABORT") && text.contains("PROMOTE"), "{text}");
    // 3
    let slack = text
        .split("3. The Slack message")
        .nth(1)
        .expect("a Slack section");
    assert!(slack.contains("nothing left this machine"), "{slack}");
    assert!(slack.contains("received 1 request(s)"), "{slack}");
    assert!(
        slack
            .lines()
            .any(|l| l.contains("[header]") && l.contains("ABORT: rollouts-demo/rollouts-demo")),
        "{slack}"
    );
    assert!(slack.contains("*Why*"), "{slack}");
    // 4
    let page = text
        .split("4. The verdict page")
        .nth(1)
        .expect("a page section");
    assert!(page.contains("http://127.0.0.1:"), "{page}");
    assert!(page.contains("HTTP 200"), "{page}");
    // 5
    let fix = text
        .split("5. Remediation (dry run)")
        .nth(1)
        .expect("a remediation section");
    assert!(fix.contains("scripted replay"), "{fix}");
    assert!(fix.contains("+++ b/internal/pricing/discount.go"), "{fix}");
    assert!(fix.contains("draft pull request"), "{fix}");
    // Not a terminal: no progress drawn on stderr.
    assert!(!stderr(&out).contains("[1/"), "{}", stderr(&out));
}

#[test]
fn demo_skips_remediation_with_a_note_when_the_fixture_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = demo_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let fix = text
        .split("5. Remediation (dry run)")
        .nth(1)
        .expect("a remediation section");
    assert!(
        fix.contains("SKIPPED") && fix.contains("evals/fixtures/cart-go was not found"),
        "{fix}"
    );
    assert!(!fix.contains("+++ b/"), "{fix}");
    // The rest of the story still ran.
    assert!(text.contains("HTTP 200"), "{text}");

    let (out, _) = demo_in(dir.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(doc["remediation"]["skipped"].is_string(), "{doc:#}");
    assert_eq!(doc["remediation"]["diff"], "");
}

#[test]
fn demo_serves_the_page_on_the_given_port_until_interrupted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .args(["demo", "--json", "--serve", "--port", &port.to_string()])
        .current_dir(repo_path(""))
        .env_remove("RUST_LOG")
        .env("ROLLWISE_VENV", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The document is printed before the demo waits for Ctrl-C.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "stdout ended: {text}"
        );
        text.push_str(&line);
        if line == "}\n" {
            break;
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let url = doc["page"]["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{port}/analyses/")),
        "{url}"
    );
    assert_eq!(doc["page"]["serving"], true);

    // Still up after the demo's own check: fetch it again, and the list.
    let (status, body) = http_get(&url);
    assert_eq!(status, 200);
    assert!(body.contains("<svg class=\"chart\""));
    let (status, body) = http_get(&format!("http://127.0.0.1:{port}/analyses"));
    assert_eq!(status, 200);
    assert!(body.contains("rollouts-demo"));
    assert!(child.try_wait().unwrap().is_none(), "the demo kept running");

    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
