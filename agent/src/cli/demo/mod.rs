//! `rollwise demo`: the whole story offline, with no cluster and no API key.
//! Bundled canaries are judged (statistics, logs, and the local model when
//! installed); the failing one's verdict is posted with the real Slack
//! notifier to a capturing listener on 127.0.0.1, its verdict page is served
//! on 127.0.0.1 and fetched once, and the remediation agent replays a
//! recorded script against a fixture repository in dry-run mode.

mod page;
mod remediation;
mod slack;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::evidence::{BundleSource, Decision, Evidence, parse_bytes};
use crate::llm::HybridJudge;
use crate::logs::diff::TemplateDiff;
use crate::store::{AnalysisRecord, Origin, Store};
use crate::verdict::Verdict;

use super::{render_verdict, stdout_error};

/// Public scenarios embedded at build time: a bad canary, a good one, one with
/// too little evidence to decide.
const EXAMPLES: &[(&str, &[u8])] = &[
    (
        "p01-rollouts-demo-bad-red.json",
        include_bytes!("../../../../evals/scenarios/tune/public/p01-rollouts-demo-bad-red.json"),
    ),
    (
        "p07-payment-service-npe-refunds.json",
        include_bytes!(
            "../../../../evals/scenarios/tune/public/p07-payment-service-npe-refunds.json"
        ),
    ),
    (
        "p12-rollouts-demo-blue-to-yellow.json",
        include_bytes!(
            "../../../../evals/scenarios/tune/public/p12-rollouts-demo-blue-to-yellow.json"
        ),
    ),
    (
        "p21-ratings-no-traffic.json",
        include_bytes!("../../../../evals/scenarios/tune/public/p21-ratings-no-traffic.json"),
    ),
];

/// `rollwise demo`'s flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// One JSON document on stdout instead of the human view.
    pub json: bool,
    /// Keep the verdict page up until Ctrl-C.
    pub serve: bool,
    /// The page's port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

/// One judged example.
#[derive(Debug, Serialize)]
struct Judged {
    scenario: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Decision>,
    verdict: Verdict,
}

/// `--json`: everything the demo did, as one document.
#[derive(Debug, Serialize)]
struct Report<'a> {
    judge: String,
    model: Option<&'a str>,
    verdicts: Vec<&'a Judged>,
    failing: &'a str,
    slack: &'a slack::SlackCapture,
    page: &'a page::PageCheck,
    remediation: &'a remediation::RemediationDemo,
    wall_ms: u128,
    ok: bool,
}

/// Progress on stderr, only when stderr is a terminal (stdout stays clean).
fn progress(steps: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(steps);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Writes a section of the human view to stdout, out of the progress bar's way.
fn say(pb: &ProgressBar, json: bool, text: &str) -> Result<()> {
    if json {
        return Ok(());
    }
    pb.suspend(|| {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    })
    .map_err(stdout_error)
}

fn section(title: &str) -> String {
    format!(
        "════ {title} {}\n",
        "═".repeat(60usize.saturating_sub(title.len()))
    )
}

pub fn run(judge: &HybridJudge, opts: DemoOptions) -> Result<ExitCode> {
    let started = Instant::now();
    let json = opts.json;
    let pb = progress(EXAMPLES.len() as u64 + 3);
    let how = match judge.model_name() {
        Some(model) => format!(
            "on statistics, pods, events and logs, with {model} as adviser\n\
             (the model reads a redacted log digest and can only add caution, never promote on its own)"
        ),
        None => format!(
            "on statistics, pods, events and logs ALONE: no model is used\n\
             ({}; rollwise never needs a model to decide)",
            judge.describe()
        ),
    };
    say(
        &pb,
        json,
        &format!(
            "rollwise demo: judging {} bundled canary scenarios {how}.\n\
             Everything below runs on this machine: no cluster, no API key, nothing sent out.\n\n{}",
            EXAMPLES.len(),
            section("1-2. Canaries analysed, verdicts")
        ),
    )?;

    // 1-2: judge every example.
    let mut judged: Vec<(Evidence, Judged, TemplateDiff)> = Vec::new();
    for (name, bytes) in EXAMPLES {
        pb.set_message(format!("judging {name}"));
        let ev = parse_bytes(bytes, &BundleSource::Named(format!("embedded {name}")))?;
        let (verdict, diff) = judge.analyze_with_diff(&ev);
        let mut s = format!("──── {name} ────\n");
        if let Some(desc) = &ev.description {
            s.push_str(&format!("scenario: {desc}\n"));
        }
        if let Some(exp) = &ev.expected {
            s.push_str(&format!("an SRE's label: {}\n\n", exp.verdict));
        }
        s.push_str(&render_verdict(&verdict));
        s.push('\n');
        say(&pb, json, &s)?;
        pb.inc(1);
        let j = Judged {
            scenario: (*name).to_owned(),
            expected: ev.expected.as_ref().map(|e| e.verdict),
            verdict,
        };
        judged.push((ev, j, diff));
    }
    // Fail closed: the story needs an aborted canary; without one the demo
    // itself is broken, and says so.
    let Some((bad_ev, bad, bad_diff)) = judged
        .iter()
        .find(|(_, j, _)| j.verdict.verdict == Decision::Abort)
    else {
        return Err(Error::Config(
            "no bundled scenario was judged abort: the demo cannot go on".into(),
        ));
    };

    // The failing canary's record, as the service would store it.
    // The verdict shown above (the model's caution included) and its diff.
    let id = format!("demo-{}", bad_ev.name);
    let rec = AnalysisRecord::new(
        id.clone(),
        Origin::Cli,
        jiff::Timestamp::now().as_millisecond(),
        bad.verdict.clone(),
        bad_ev,
        Some(bad_diff.clone()),
    );
    let store = Store::memory(16);
    let rec = Arc::new(rec);
    let rollout = format!(
        "{}/{}",
        rec.verdict.rollout.namespace, rec.verdict.rollout.name
    );

    let rt = crate::runtime::current_thread()?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let remediation_ev = remediation::scenario()?;
    let ok = rt.block_on(async {
        store.insert(Arc::clone(&rec), None).await?;
        let server = page::serve(store.clone(), opts.port).await?;

        // 3: the Slack message, captured locally.
        pb.set_message("posting the verdict to a local Slack listener");
        let capture = slack::post_and_capture(&rec, &server.base).await?;
        if let Some(o) = &capture.outcome {
            store
                .add_notification(&id, o, jiff::Timestamp::now().as_millisecond())
                .await?;
        }
        pb.inc(1);
        say(&pb, json, &render_slack(&bad.scenario, &capture))?;

        // 4: the verdict page, fetched once.
        pb.set_message("serving the verdict page");
        let mut check = page::check(&server.base, &id, &rec.verdict.rollout.name).await;
        check.serving = opts.serve;
        pb.inc(1);
        say(&pb, json, &render_page(&check, &rollout))?;

        // 5: the remediation dry run.
        pb.set_message("remediation dry run (scripted replay)");
        let fix = remediation::run(&remediation_ev, &cwd).await;
        pb.inc(1);
        say(&pb, json, &render_remediation(&remediation_ev, &fix))?;
        pb.finish_and_clear();

        let ok = capture.ok() && check.ok() && fix.ok();
        let wall_ms = started.elapsed().as_millis();
        if json {
            let report = Report {
                judge: judge.describe(),
                model: judge.model_name(),
                verdicts: judged.iter().map(|(_, j, _)| j).collect(),
                failing: &bad.scenario,
                slack: &capture,
                page: &check,
                remediation: &fix,
                wall_ms,
                ok,
            };
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out).map_err(stdout_error)?;
        } else {
            let mut s = format!(
                "{}The demo took {:.1} s{}.\n\n\
                 Try it on your own bundle: rollwise analyze --evidence FILE [--json] [--slack-webhook URL]\n\
                 Score a labelled set:      rollwise eval --scenarios evals/scenarios\n",
                section("Done"),
                started.elapsed().as_secs_f64(),
                if ok { "" } else { "; a section above FAILED" }
            );
            if opts.serve {
                s.push_str(&format!(
                    "\nThe verdict page stays up at {} until Ctrl-C.\n",
                    check.url
                ));
            }
            say(&pb, json, &s)?;
        }
        if opts.serve {
            if json {
                let _ = writeln!(
                    std::io::stderr(),
                    "rollwise demo: serving {} until Ctrl-C",
                    check.url
                );
            }
            tokio::signal::ctrl_c().await.map_err(|e| Error::Io {
                what: "cannot wait for Ctrl-C".into(),
                source: e,
            })?;
        }
        drop(server);
        Ok::<_, Error>(ok)
    })?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn render_slack(scenario: &str, c: &slack::SlackCapture) -> String {
    let mut s = section("3. The Slack message (captured locally)");
    s.push_str(&format!(
        "rollwise's Slack notifier posted the {scenario} verdict to a stand-in incoming webhook\n\
         listening on {} (captured locally: nothing left this machine).\n",
        c.webhook_url
    ));
    match &c.outcome {
        Some(o) => s.push_str(&format!(
            "notifier: {} ({}); the listener received {} request(s)\n",
            if o.ok { "ok" } else { "FAILED" },
            o.detail,
            c.requests
        )),
        None => s.push_str("notifier: not sent (notify_on excludes this verdict)\n"),
    }
    match &c.payload {
        Some(p) => {
            let blocks = p["blocks"].as_array().map_or(0, Vec::len);
            s.push_str(&format!(
                "Block Kit message, {blocks} blocks (what Slack would show):\n"
            ));
            s.push_str(&slack::human_view(p, 24));
        }
        None => s.push_str("no message was captured\n"),
    }
    s.push('\n');
    s
}

fn render_page(c: &page::PageCheck, rollout: &str) -> String {
    let mut s = section("4. The verdict page (served on localhost)");
    s.push_str(&format!("verdict page of {rollout}: {}\n", c.url));
    match &c.error {
        Some(e) => s.push_str(&format!("fetch FAILED: {e}\n")),
        None => s.push_str(&format!(
            "fetched it once: HTTP {}, {} metric chart(s){}\n",
            c.status,
            c.charts,
            if c.names_rollout {
                ", names the rollout"
            } else {
                ""
            }
        )),
    }
    if !c.serving {
        s.push_str("(the demo exits at the end; pass --serve to keep the page up until Ctrl-C)\n");
    }
    s.push('\n');
    s
}

/// Lines of a PR body shown; the rest is counted.
const BODY_HEAD_LINES: usize = 12;

fn render_remediation(ev: &Evidence, r: &remediation::RemediationDemo) -> String {
    let mut s = section("5. Remediation (dry run)");
    s.push_str(&format!("scenario: {}\n", remediation::SCENARIO_NAME));
    if let Some(desc) = &ev.description {
        s.push_str(&format!("  {desc}\n"));
    }
    s.push_str(&format!("agent: {}\n", r.agent));
    if let Some(why) = &r.skipped {
        s.push_str(&format!("SKIPPED: {why}\n\n"));
        return s;
    }
    if let Some(f) = &r.fixture {
        s.push_str(&format!(
            "repository: {f} (read from disk; writes go to memory, nothing is pushed)\n"
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("FAILED: {e}\n\n"));
        return s;
    }
    s.push_str(&format!(
        "stopped: {} after {} step(s), {} ms; files changed: {}\n",
        r.stop.as_deref().unwrap_or("?"),
        r.steps,
        r.duration_ms,
        if r.files_changed.is_empty() {
            "none".to_owned()
        } else {
            r.files_changed.join(", ")
        }
    ));
    if !r.diff.is_empty() {
        s.push_str("\nproposed change:\n");
        s.push_str(&r.diff);
        if !r.diff.ends_with('\n') {
            s.push('\n');
        }
    }
    if let Some(title) = &r.pr_title {
        s.push_str(&format!(
            "\n--- the draft pull request it would open{} ---\n{title}\n\n",
            r.branch
                .as_deref()
                .map(|b| format!(" from {b}"))
                .unwrap_or_default()
        ));
        let body = r.pr_body.as_deref().unwrap_or("");
        let lines: Vec<&str> = body.lines().collect();
        for l in lines.iter().take(BODY_HEAD_LINES) {
            s.push_str(l);
            s.push('\n');
        }
        if lines.len() > BODY_HEAD_LINES {
            s.push_str(&format!(
                "… ({} more line(s))\n",
                lines.len() - BODY_HEAD_LINES
            ));
        }
    }
    s.push('\n');
    s
}
