//! The rendered message: snapshots of two public scenarios, hostile text made
//! inert, and Slack's limits under a record far larger than they allow.

use rollwise::evidence::KubeEvent;
use rollwise::judge::signal::{Severity, SignalSource};
use rollwise::notify::render_blocks;
use rollwise::store::PrLink;
use rollwise::verdict::Reason;

use super::{assert_valid_message, public_scenario, record};
use crate::cli::repo_path;

fn check_snapshot(name: &str, actual: &serde_json::Value) {
    let actual = serde_json::to_string_pretty(actual).unwrap() + "\n";
    let path = repo_path(&format!("tests/notify/snapshots/{name}"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from its snapshot; if intended, regenerate with UPDATE_SNAPSHOTS=1.\n--- actual ---\n{actual}"
    );
}

#[test]
fn blocks_of_public_scenarios_match_their_snapshots() {
    for (file, snap) in [
        ("p05-reports-flask-oomkilled.json", "p05.abort.json"),
        (
            "p09-checkout-node-injection-plain-line.json",
            "p09.injection.json",
        ),
        ("p21-ratings-no-traffic.json", "p21.inconclusive.json"),
    ] {
        let mut rec = record("0193a1b2-c3d4", &public_scenario(file));
        if snap.starts_with("p05") {
            rec.pr = Some(PrLink {
                url: "https://github.com/acme/reports/pull/17".into(),
                number: 17,
                repo: "acme/reports".into(),
            });
        }
        let msg = render_blocks(&rec, Some("https://rollwise.example.com"));
        assert_valid_message(&msg);
        check_snapshot(snap, &msg);
    }
}

#[test]
fn the_message_carries_header_summary_reasons_table_templates_and_links() {
    let mut rec = record("x1", &public_scenario("p05-reports-flask-oomkilled.json"));
    rec.pr = Some(PrLink {
        url: "https://github.com/acme/reports/pull/17".into(),
        number: 17,
        repo: "acme/reports".into(),
    });
    let msg = render_blocks(&rec, Some("https://rollwise.example.com/"));
    let blocks = msg["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with(":rotating_light: ABORT: "), "{header}");
    assert!(header.contains("% confidence"), "{header}");
    let text = msg.to_string();
    assert!(text.contains("*Why*"));
    assert!(text.contains("*Canary vs stable*") && text.contains("```"));
    assert!(text.contains("memory_working_set_mib"), "metric table");
    assert!(text.contains("*New on the canary's logs*"));
    assert!(
        text.contains("when: ") && text.contains("after pod start; per third"),
        "each template's timeline"
    );
    assert!(text.contains("<https://rollwise.example.com/analyses/x1|Open the verdict page>"));
    assert!(text.contains("<https://github.com/acme/reports/pull/17|Draft PR #17>"));
    assert!(
        msg["text"].as_str().unwrap().contains("abort"),
        "fallback text"
    );
    // No page URL configured: no link, still valid.
    let msg = render_blocks(&rec, None);
    assert_valid_message(&msg);
    assert!(!msg.to_string().contains("/analyses/"));
}

#[test]
fn hostile_text_is_escaped_redacted_and_clipped_within_limits() {
    let mut ev = public_scenario("p07-payment-service-npe-refunds.json");
    ev.events.push(KubeEvent {
        object: "Pod/x".into(),
        kind: "Warning".into(),
        reason: "BackOff".into(),
        message: "<!channel> <script>alert(1)</script> token=AKIAIOSFODNN7EXAMPLE".into(),
        count: 3,
    });
    let mut rec = record("hostile", &ev);
    // A record with far more than Slack takes: many long reasons, an
    // exemplar with markup and a secret, a long multi-byte summary.
    rec.verdict.summary = "é".repeat(5000);
    for i in 0..200 {
        rec.verdict.reasons.push(Reason {
            signal: SignalSource::Log,
            severity: Severity::Critical,
            detail: format!(
                "reason {i}: <@U123> <https://evil.example|click> `code` AKIAIOSFODNN7EXAMPLE {}",
                "ü".repeat(3000)
            ),
            evidence: "logs".into(),
        });
    }
    if let Some(d) = rec.templates.as_mut() {
        for c in d.changes.iter_mut() {
            c.exemplars = vec!["<!here> password=hunter2hunter2 <script>x</script>".into()];
            c.cause = None;
        }
    }
    rec.evidence.rollout.name = format!("{}-{}", rec.evidence.rollout.name, "n".repeat(300));
    let msg = render_blocks(&rec, Some("https://rollwise.example.com"));
    assert_valid_message(&msg);
    let text = msg.to_string();
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "secret redacted");
    assert!(!text.contains("hunter2hunter2"), "secret redacted");
    assert!(!text.contains("<!here>") && !text.contains("<!channel>") && !text.contains("<@U123>"));
    assert!(text.contains("&lt;!here&gt;"), "escaped, still readable");
    assert!(
        !text.contains("<https://evil.example"),
        "no link from untrusted text"
    );
    assert!(text.contains("…and "), "says more reasons are on the page");
}
