//! Every prompt template rendered for a public scenario and compared with the
//! committed snapshot (`tests/llm/snapshots/`). Regenerate after an intended
//! change with `UPDATE_SNAPSHOTS=1 cargo nextest run llm::snapshots`.

use std::sync::Arc;

use rollwise::evidence::Decision;
use rollwise::judge::Judge;
use rollwise::llm::prompt::{PromptContext, Prompts, TEMPLATES};
use rollwise::llm::reply::reply_schema;
use rollwise::llm::scripted::ScriptedModel;
use rollwise::llm::{LlmConfig, LlmJudge, OutputFormat};

use super::scenario;
use crate::cli::repo_path;

fn check(name: &str, actual: &str) {
    let path = repo_path(&format!("tests/llm/snapshots/{name}"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
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
fn every_prompt_renders_for_a_public_scenario() {
    // The injection scenario for the judge's prompts; the seed baseline holds a
    // whole pod log, so it is snapshotted on the scenario with the smallest one.
    let prompts = Prompts::load(None).unwrap();
    let schema = reply_schema();
    let mut rendered = 0;
    for (template, _) in TEMPLATES {
        let (tag, ev) = if template == "seed_baseline.tera" {
            ("p24", scenario("p24-wishlist-low-traffic.json"))
        } else {
            (
                "p09",
                scenario("p09-checkout-node-injection-plain-line.json"),
            )
        };
        let a = Judge::default().assess(&ev);
        let digest = super::digest_for(&ev, LlmConfig::default().digest_tokens);
        for (format, ftag) in [
            (OutputFormat::JsonSchema, "json_schema"),
            (OutputFormat::ToolCall, "tool"),
            (OutputFormat::FencedJson, "fenced"),
        ] {
            let ctx = PromptContext::new(
                &ev,
                &a,
                &digest.text,
                digest.truncated,
                format,
                "canary_verdict",
                &schema,
                &rollwise::redact::Redactor::new(),
            )
            .with_seed_baseline_log(&ev);
            let text = prompts.render(template, &ctx).unwrap();
            assert!(!text.trim().is_empty());
            check(
                &format!("{tag}.{}.{ftag}.txt", template.trim_end_matches(".tera")),
                &text,
            );
            rendered += 1;
        }
    }
    assert_eq!(rendered, 3 * TEMPLATES.len());
}

/// What is sent is what the templates render, redacted.
#[test]
fn sent_prompts_are_redacted_renderings() {
    let ev = scenario("p20-accounts-nest-secrets-in-logs.json");
    let a = Judge::default().assess(&ev);
    let model = Arc::new(ScriptedModel::always(Decision::Abort).unwrap());
    let j = LlmJudge::new(model, LlmConfig::default()).unwrap();
    // The baseline prompt holds the raw canary log: the strongest test of redaction.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let b = rt.block_on(j.seed_baseline(&ev, &a));
    assert_eq!(b.verdict, Some(Decision::Abort));
    let (system, user) = j
        .render(
            &ev,
            &a,
            &super::digest_for(&ev, 1200),
            OutputFormat::JsonSchema,
        )
        .unwrap();
    for secret in &ev.planted_secrets {
        assert!(!system.contains(secret.as_str()) && !user.contains(secret.as_str()));
    }
}
