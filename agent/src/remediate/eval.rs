//! Scoring remediation (`rollwise eval --remediate`): for every scenario whose
//! `expected.remediation` names a fixture repository, run the agent against
//! that fixture's working tree in dry-run mode (nothing is written anywhere)
//! and score: was a pull request opened, were exactly the expected files
//! touched, how many steps and tokens it took.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollwise_tools::github::{DryRunWriter, LocalRepo, RepoReader};
use serde::Serialize;

use super::{Bounds, Remediator, RepoTarget, policy_for};
use crate::error::{Error, Result};
use crate::evidence::Evidence;
use crate::judge::Judge;
use crate::llm::ChatModel;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationScore {
    pub scenario: String,
    pub repo: String,
    pub pr_opened: bool,
    /// Every expected file changed, and nothing else.
    pub right_files: bool,
    pub files_changed: Vec<String>,
    pub expected_files: Vec<String>,
    pub steps: u32,
    pub tokens: u64,
    pub stop: String,
    pub duration_ms: u64,
    /// Why the run could not happen at all (missing fixture, no model).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemediationReport {
    pub model: String,
    pub results: Vec<RemediationScore>,
    pub prs_opened: usize,
    pub right_files: usize,
    pub median_steps: f64,
    pub median_tokens: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs every scenario in `scenarios` that expects a remediation. `model_for`
/// gives the model for one scenario (a replay script, or the same endpoint).
pub fn run(
    scenarios: &[(PathBuf, Evidence)],
    fixtures: &Path,
    model_name: &str,
    model_for: &dyn Fn(&Evidence) -> Result<Arc<dyn ChatModel>>,
    bounds: Bounds,
) -> Result<RemediationReport> {
    let rt = crate::runtime::current_thread()?;
    let judge = Judge::default();
    let counter = crate::logs::digest::TokenCounter::new()?;
    let mut results = Vec::new();
    for (_, ev) in scenarios {
        let Some(exp) = ev.expected.as_ref().and_then(|e| e.remediation.as_ref()) else {
            continue;
        };
        let mut score = RemediationScore {
            scenario: ev.name.clone(),
            repo: exp.repo.clone(),
            pr_opened: false,
            right_files: false,
            files_changed: Vec::new(),
            expected_files: exp.files.clone(),
            steps: 0,
            tokens: 0,
            stop: "not-run".into(),
            duration_ms: 0,
            error: None,
        };
        let attempt = (|| -> Result<()> {
            // A fixture name, not a path: nothing outside `fixtures` is read.
            if exp.repo.contains(['/', '\\']) || exp.repo.starts_with('.') {
                return Err(Error::Config(format!("fixture name {:?}", exp.repo)));
            }
            let repo = LocalRepo::open(&fixtures.join(&exp.repo))
                .map_err(|e| Error::Config(e.to_string()))?;
            let assessment = judge.assess(ev);
            let digest = crate::llm::hybrid::log_digest(&judge, &counter, ev, &assessment, 1500);
            let verdict = judge.decide(ev, assessment, None);
            let policy = policy_for(ev, repo.repo().clone(), [repo.repo().clone()], "main");
            let model = model_for(ev)?;
            let r = Remediator::new(model, bounds)?;
            let o = rt.block_on(r.run(
                ev,
                &verdict,
                &digest.text,
                RepoTarget {
                    policy,
                    reader: Arc::new(repo),
                    writer: Arc::new(DryRunWriter::new()),
                },
                Vec::new(),
            ))?;
            score.pr_opened = o.pr.is_some();
            let mut want = exp.files.clone();
            want.sort();
            score.right_files = !want.is_empty() && o.files_changed == want;
            score.files_changed = o.files_changed;
            score.steps = o.steps;
            score.tokens = o.prompt_tokens + o.completion_tokens;
            score.stop = o.stop.as_str().into();
            score.duration_ms = o.duration_ms;
            Ok(())
        })();
        if let Err(e) = attempt {
            score.error = Some(e.to_string());
        }
        results.push(score);
    }
    Ok(RemediationReport {
        model: model_name.to_owned(),
        prs_opened: results.iter().filter(|r| r.pr_opened).count(),
        right_files: results.iter().filter(|r| r.right_files).count(),
        median_steps: median(results.iter().map(|r| f64::from(r.steps)).collect()),
        median_tokens: median(results.iter().map(|r| r.tokens as f64).collect()),
        results,
    })
}

pub fn render_markdown(r: &RemediationReport) -> String {
    let mut s = format!(
        "# Remediation eval\n\nModel: {}. Dry runs against fixture working trees (nothing written).\n\n\
         PR opened: {}/{} · right files: {}/{} · median steps {:.1} · median tokens {:.0}\n\n\
         | scenario | fixture | PR | right files | files changed | steps | tokens | stop |\n\
         |---|---|---|---|---|---:|---:|---|\n",
        r.model,
        r.prs_opened,
        r.results.len(),
        r.right_files,
        r.results.len(),
        r.median_steps,
        r.median_tokens
    );
    for x in &r.results {
        let stop = match &x.error {
            Some(e) => format!("error: {e}"),
            None => x.stop.clone(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.scenario,
            x.repo,
            if x.pr_opened { "yes" } else { "no" },
            if x.right_files { "yes" } else { "no" },
            x.files_changed.join(", "),
            x.steps,
            x.tokens,
            stop.replace('|', "\\|")
        ));
    }
    s
}
