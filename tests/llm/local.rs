//! One real run: the bundled SmolLM2-135M served by llama.cpp from the
//! project's venv (scripts/setup.sh), on a free loopback port, must return a
//! schema-valid verdict. A missing venv fails the test (never a skip).

// The test reports what it measured (or, when a component is missing, which install step to run).
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::Instant;

use rollwise::judge::{Advice, Judge};
use rollwise::llm::local::{LOCAL_MODEL_NAME, LocalServer};
use rollwise::llm::openai::OpenAiChat;
use rollwise::llm::{LlmConfig, LlmJudge, StructuredOutput};

use super::scenario;

#[test]
fn local_smollm2_returns_a_schema_valid_verdict() {
    let Some(venv) = crate::llm::local_venv() else {
        return;
    };
    let server = LocalServer::start(&venv, 1).unwrap();
    let cfg = LlmConfig {
        // Only json_schema: the point is that the endpoint enforces the schema.
        structured_output: StructuredOutput::JsonSchema,
        timeout_secs: 120.0,
        max_tokens: rollwise::llm::hybrid::LOCAL_MAX_TOKENS,
        digest_tokens: rollwise::llm::hybrid::LOCAL_DIGEST_TOKENS,
        prompt_style: rollwise::llm::PromptStyle::Compact,
        ..LlmConfig::default()
    };
    let chat = OpenAiChat::new(server.base_url(), LOCAL_MODEL_NAME, None, cfg.timeout()).unwrap();
    let llm = LlmJudge::new(Arc::new(chat), cfg).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for name in [
        "p01-rollouts-demo-bad-red.json",
        "p12-rollouts-demo-blue-to-yellow.json",
    ] {
        let ev = scenario(name);
        let a = Judge::default().assess(&ev);
        let digest = super::digest_for(&ev, llm.config().digest_tokens);
        let started = Instant::now();
        let advice = rt.block_on(llm.advise(&ev, &a, &digest));
        let Advice::Opinion {
            opinion,
            usage,
            model,
        } = advice
        else {
            panic!("{name}: the local model gave no schema-valid verdict: {advice:?}");
        };
        assert_eq!(model, LOCAL_MODEL_NAME);
        assert!(opinion.confidence <= 100);
        assert!(!opinion.rationale.is_empty());
        assert!(usage.prompt_tokens > 200, "{usage:?}");
        assert!(usage.completion_tokens > 5, "{usage:?}");
        eprintln!(
            "{name}: local model said {} ({}%) in {:?}, {}+{} tokens",
            opinion.verdict,
            opinion.confidence,
            started.elapsed(),
            usage.prompt_tokens,
            usage.completion_tokens
        );
    }
    drop(server);
}
