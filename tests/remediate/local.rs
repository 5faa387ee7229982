//! Plumbing with a real model: the bundled SmolLM2-135M on llama.cpp gets the
//! agent's tool specs and must make at least one tool call that the loop
//! parses and runs, within the bounds. The fix it proposes (if any) is not
//! judged: a 135M model is not expected to fix Go code. A missing venv fails
//! the test (never a skip).

#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::Duration;

use rollwise::llm::local::{LOCAL_MODEL_NAME, LocalServer};
use rollwise::llm::openai::{OpenAiChat, ToolMode};
use rollwise::remediate::{Bounds, Remediator, RepoTarget, StopReason, policy_for};
use rollwise_tools::github::{DryRunWriter, LocalRepo, RepoReader};

use crate::cli::repo_path;

#[test]
fn local_smollm2_calls_a_tool_through_llama_cpp() {
    let Some(venv) = crate::llm::local_venv() else {
        return;
    };
    let server = LocalServer::start(&venv, 1).unwrap();
    let chat = OpenAiChat::new(
        server.base_url(),
        LOCAL_MODEL_NAME,
        None,
        Duration::from_secs(180),
    )
    .unwrap()
    .with_tool_mode(ToolMode::JsonSchema);
    let ev = super::scenario();
    let verdict = rollwise::judge::Judge::default().judge(&ev);
    let repo = LocalRepo::open(&repo_path("evals/fixtures/cart-go")).unwrap();
    let policy = policy_for(&ev, repo.repo().clone(), [repo.repo().clone()], "main");
    let writer = Arc::new(DryRunWriter::new());
    let bounds = Bounds {
        max_steps: 2,
        max_turn_tokens: 256,
        wall_time: Duration::from_secs(300),
        tool_output_chars: 1500,
        ..Bounds::default()
    };
    let r = Remediator::new(Arc::new(chat), bounds).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let digest = "panic: runtime error: index out of range [3] with length 3 in pricing.DiscountFor (internal/pricing/discount.go:10)";
    let started = std::time::Instant::now();
    let o = rt
        .block_on(r.run(
            &ev,
            &verdict,
            digest,
            RepoTarget {
                policy,
                reader: Arc::new(repo),
                writer,
            },
            Vec::new(),
        ))
        .unwrap();
    eprintln!(
        "local agent: {} in {:?}, {} steps, {}+{} tokens, tools {:?}",
        o.stop.as_str(),
        started.elapsed(),
        o.steps,
        o.prompt_tokens,
        o.completion_tokens,
        o.transcript
            .tool_runs
            .iter()
            .map(|t| (&t.tool, t.outcome))
            .collect::<Vec<_>>()
    );
    assert!(o.steps >= 1 && o.steps <= 2, "bounded: {o:?}");
    assert!(o.prompt_tokens > 300, "the tool specs were sent: {o:?}");
    assert!(
        !o.transcript.tool_runs.is_empty(),
        "the model made no tool call the loop could parse: {:?}",
        o.stop
    );
    assert!(
        matches!(
            o.stop,
            StopReason::Finished | StopReason::MaxSteps { .. } | StopReason::FatalTool { .. }
        ),
        "{:?}",
        o.stop
    );
    drop(server);
}
