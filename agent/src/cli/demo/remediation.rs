//! The demo's remediation dry run: the agent replays a recorded script (no
//! model) against the fixture repository's working tree; writes go to an
//! in-memory recorder, so the outcome is a proposed diff and PR text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollwise_tools::github::{DryRunWriter, LocalRepo, RepoReader};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::evidence::{BundleSource, Evidence, parse_bytes};
use crate::judge::Judge;
use crate::llm::ToolTurn;
use crate::llm::scripted::ScriptedModel;
use crate::remediate::{Bounds, RemediationOutcome, Remediator, RepoTarget, policy_for};

pub const SCENARIO_NAME: &str = "r01-cart-go-index-out-of-range.json";
const SCENARIO: &[u8] = include_bytes!(
    "../../../../evals/scenarios/tune/remediation/r01-cart-go-index-out-of-range.json"
);
/// The recorded agent turns for [`SCENARIO`] (what `rollwise remediate --script` replays).
const SCRIPT: &[u8] =
    include_bytes!("../../../../evals/remediation-scripts/r01-cart-go-index-out-of-range.json");

/// What the section did.
#[derive(Debug, Clone, Serialize)]
pub struct RemediationDemo {
    pub scenario: String,
    /// How the agent's turns were produced.
    pub agent: String,
    /// The fixture working tree read, when found.
    pub fixture: Option<String>,
    /// Why the section did not run, when it did not.
    pub skipped: Option<String>,
    pub stop: Option<String>,
    pub files_changed: Vec<String>,
    pub diff: String,
    pub branch: Option<String>,
    pub pr_title: Option<String>,
    pub pr_body: Option<String>,
    pub steps: u32,
    pub duration_ms: u64,
    /// Why the run failed, when it did.
    pub error: Option<String>,
}

impl RemediationDemo {
    /// Skipped (no fixture), or ran to the end and proposed a change.
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && (self.skipped.is_some()
                || (self.stop.as_deref() == Some("finished") && !self.diff.is_empty()))
    }
}

pub fn scenario() -> Result<Evidence> {
    parse_bytes(
        SCENARIO,
        &BundleSource::Named(format!("embedded {SCENARIO_NAME}")),
    )
}

/// `evals/fixtures/<name>` in the working directory or one of its parents
/// (the binary runs from the repository root or a crate inside it).
pub fn find_fixture(start: &Path, name: &str) -> Option<PathBuf> {
    // A fixture name, not a path: nothing outside evals/fixtures is read.
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    start
        .ancestors()
        .map(|d| d.join("evals").join("fixtures").join(name))
        .find(|p| p.is_dir())
}

/// Runs the scripted agent against the fixture (dry run). `cwd`: where to
/// look for the fixture.
pub async fn run(ev: &Evidence, cwd: &Path) -> RemediationDemo {
    let mut demo = RemediationDemo {
        scenario: ev.name.clone(),
        agent: "scripted replay of evals/remediation-scripts/r01-cart-go-index-out-of-range.json (deterministic, no model)".into(),
        fixture: None,
        skipped: None,
        stop: None,
        files_changed: Vec::new(),
        diff: String::new(),
        branch: None,
        pr_title: None,
        pr_body: None,
        steps: 0,
        duration_ms: 0,
        error: None,
    };
    if let Err(e) = run_into(ev, cwd, &mut demo).await {
        demo.error = Some(e.to_string());
    }
    demo
}

async fn run_into(ev: &Evidence, cwd: &Path, demo: &mut RemediationDemo) -> Result<()> {
    let name = ev
        .expected
        .as_ref()
        .and_then(|e| e.remediation.as_ref())
        .map(|r| r.repo.clone())
        .unwrap_or_default();
    let Some(dir) = find_fixture(cwd, &name) else {
        demo.skipped = Some(format!(
            "the fixture repository evals/fixtures/{name} was not found from {} \
             (run rollwise demo from the repository root to see this section)",
            cwd.display()
        ));
        return Ok(());
    };
    demo.fixture = Some(dir.display().to_string());
    let repo = LocalRepo::open(&dir).map_err(|e| Error::Config(e.to_string()))?;
    let judge = Judge::default();
    let assessment = judge.assess(ev);
    let counter = crate::logs::digest::TokenCounter::new()?;
    let digest = crate::llm::hybrid::log_digest(&judge, &counter, ev, &assessment, 1500);
    let verdict = judge.decide(ev, assessment, None);
    let turns: Vec<ToolTurn> = serde_json::from_slice(SCRIPT)
        .map_err(|e| Error::Config(format!("embedded agent script: {e}")))?;
    let model = Arc::new(ScriptedModel::tool_turns(
        turns.into_iter().map(Ok).collect(),
    )?);
    let base = repo
        .default_branch()
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    let policy = policy_for(ev, repo.repo().clone(), [repo.repo().clone()], &base);
    let outcome: RemediationOutcome = Remediator::new(model, Bounds::default())?
        .run(
            ev,
            &verdict,
            &digest.text,
            RepoTarget {
                policy,
                reader: Arc::new(repo),
                writer: Arc::new(DryRunWriter::new()),
            },
            Vec::new(),
        )
        .await?;
    demo.stop = Some(outcome.stop.as_str().to_owned());
    demo.files_changed = outcome.files_changed;
    demo.diff = outcome.diff;
    demo.branch = Some(outcome.branch);
    demo.pr_title = outcome.pr_title;
    demo.pr_body = outcome.pr_body;
    demo.steps = outcome.steps;
    demo.duration_ms = outcome.duration_ms;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_found_from_a_subdirectory_and_names_are_not_paths() {
        let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = find_fixture(&repo_root.join("agent").join("src"), "cart-go");
        assert!(found.is_some_and(|p| p.ends_with("evals/fixtures/cart-go")));
        assert!(find_fixture(&repo_root, "../evals").is_none());
        assert!(find_fixture(&repo_root, "no-such-fixture").is_none());
        assert!(find_fixture(Path::new("/"), "cart-go").is_none());
    }

    #[test]
    fn the_embedded_scenario_names_its_fixture() {
        let ev = scenario().unwrap();
        let r = ev.expected.unwrap().remediation.unwrap();
        assert_eq!(r.repo, "cart-go");
    }
}
