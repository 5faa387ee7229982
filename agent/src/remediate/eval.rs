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

/// One scenario scored with no model: localization, then the revert of the
/// top suspect as the fix.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoModelScore {
    pub scenario: String,
    pub fixture: String,
    pub language: String,
    /// The commit that introduced the bug (short sha and subject).
    pub bug: String,
    /// The top three suspects (short sha, subject, score).
    pub suspects: Vec<(String, String, f64)>,
    pub why_top: Vec<String>,
    pub top1: bool,
    pub top3: bool,
    /// Baseline without localization: the newest release commit is the bug.
    pub newest_is_bug: bool,
    /// The top suspect's file the evidence points at.
    pub top_file: Option<String>,
    pub file_top1: bool,
    pub pr_opened: bool,
    pub pr_title: Option<String>,
    pub pr_labels: Vec<String>,
    /// Why no pull request was opened.
    pub not_opened: Option<String>,
    /// The fixture's tests fail at the canary revision (the bug is there).
    pub canary_tests_fail: bool,
    /// The proposed change applies on the canary revision and the tests pass.
    pub tests_pass_after: bool,
    pub test_tail: String,
    pub steps: u32,
    pub tokens: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// A scenario whose fixture cannot be scored here, and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Excluded {
    pub scenario: String,
    pub fixture: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoModelReport {
    pub results: Vec<NoModelScore>,
    pub excluded: Vec<Excluded>,
    pub top1_rate: f64,
    pub top3_rate: f64,
    /// Top-1 of the baseline that blames the newest release commit.
    pub newest_baseline_rate: f64,
    pub file_top1_rate: f64,
    pub prs_opened: usize,
    pub tests_pass_after: usize,
    pub median_duration_ms: f64,
}

fn short(sha: &str) -> String {
    sha.get(..8).unwrap_or(sha).to_owned()
}

fn score_no_model(
    rt: &tokio::runtime::Runtime,
    judge: &Judge,
    ev: &Evidence,
    fixtures: &Path,
    exp: &crate::evidence::ExpectedRemediation,
    score: &mut NoModelScore,
) -> Result<()> {
    use super::fixture::BuiltFixture;
    use super::prompt::{PrBody, RedactorAdapter, TaskContext};
    use rollwise_tools::github::FixSession;

    let built = BuiltFixture::build(fixtures, &exp.repo)?;
    score.language = built.spec.language.clone();
    let bug = built
        .bug_sha()
        .ok_or_else(|| Error::Config(format!("{}: bugCommit is not a commit", exp.repo)))?
        .to_owned();
    score.bug = built
        .commits
        .iter()
        .find(|c| c.sha == bug)
        .map(|c| format!("{} {}", short(&c.sha), c.subject))
        .unwrap_or_default();
    let local = LocalRepo::open(&built.repo).map_err(|e| Error::Config(e.to_string()))?;
    let policy = policy_for(ev, local.repo().clone(), [local.repo().clone()], "main");
    let (Some(stable), Some(canary)) = (
        policy.stable_revision.clone(),
        policy.canary_revision.clone(),
    ) else {
        return Err(Error::Config(
            "the scenario names no stable and canary revision (image tags or rollwise.io/revision)"
                .into(),
        ));
    };
    let assessment = judge.assess(ev);
    let loc = super::localize::localize(ev, &assessment.logs, &built.repo, &stable, &canary)?;
    let verdict = judge.decide(ev, assessment, None);
    score.suspects = loc
        .suspects
        .iter()
        .take(3)
        .map(|s| (short(&s.sha), s.subject.clone(), s.score))
        .collect();
    score.top1 = loc.suspects.first().is_some_and(|s| s.sha == bug);
    score.top3 = loc.suspects.iter().take(3).any(|s| s.sha == bug);
    score.newest_is_bug = loc.release.commits.last().is_some_and(|c| c.sha == bug);
    let Some(top) = loc.top().cloned() else {
        return Err(Error::Config(format!(
            "the release {stable}..{canary} has no commits"
        )));
    };
    score.why_top = top.why.clone();
    score.top_file = top.file.clone();
    score.file_top1 = top.file.as_ref().is_some_and(|f| exp.files.contains(f));

    let scratch = built.repo.parent().unwrap_or(&built.repo).to_path_buf();
    let plan = super::revert::plan(&loc.release, &top.sha, &scratch)?;
    let repo_name = local.repo().to_string();
    let ctx = TaskContext::new(ev, &verdict, "", &repo_name, "main", 0);
    let session = FixSession::new(
        policy,
        Arc::new(local),
        Arc::new(DryRunWriter::new()),
        Arc::new(RedactorAdapter(crate::redact::Redactor::new())),
        Arc::new(PrBody::new(ctx)?),
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let outcome = rt
        .block_on(super::revert::open_pr(
            &session,
            &plan,
            &loc.release,
            &loc.suspects,
        ))
        .map_err(|e| Error::Config(e.to_string()))?;
    let state = rt.block_on(session.state());
    score.pr_opened = outcome.pr.is_some();
    score.pr_title = state.pr_title.clone();
    score.pr_labels = state.labels.clone();
    score.not_opened = outcome.not_opened.clone();
    score.steps = outcome.steps;

    let at_canary = built.checkout(&canary)?;
    score.canary_tests_fail = !built.run_tests(&at_canary)?.passed;
    if score.pr_opened {
        let fixed = built.checkout(&canary)?;
        for (path, (_, new)) in &state.files {
            std::fs::write(fixed.join(path), new).map_err(|e| Error::Io {
                what: format!("cannot write {path} of the proposed change"),
                source: e,
            })?;
        }
        let run = built.run_tests(&fixed)?;
        score.tests_pass_after = run.passed;
        score.test_tail = run.tail;
    }
    Ok(())
}

/// Scores every scenario of `scenarios` that expects a remediation of a
/// fixture with a history recipe, with no model: is the bug's commit the top
/// (or a top-3) suspect, is the top suspect's file the expected one, and does
/// the revert PR open and make the fixture's tests pass. Fixtures without a
/// recipe are listed in `excluded`, with the reason.
pub fn run_no_model(scenarios: &[(PathBuf, Evidence)], fixtures: &Path) -> Result<NoModelReport> {
    let rt = crate::runtime::current_thread()?;
    let judge = Judge::default();
    let mut results = Vec::new();
    let mut excluded = Vec::new();
    for (_, ev) in scenarios {
        let Some(exp) = ev.expected.as_ref().and_then(|e| e.remediation.as_ref()) else {
            continue;
        };
        if !super::fixture::has_recipe(fixtures, &exp.repo) {
            excluded.push(Excluded {
                scenario: ev.name.clone(),
                fixture: exp.repo.clone(),
                why: "no history recipe (fixture.json): a working tree without commits, so there is no release diff to localize in".into(),
            });
            continue;
        }
        let start = std::time::Instant::now();
        let mut score = NoModelScore {
            scenario: ev.name.clone(),
            fixture: exp.repo.clone(),
            language: String::new(),
            bug: String::new(),
            suspects: Vec::new(),
            why_top: Vec::new(),
            top1: false,
            top3: false,
            newest_is_bug: false,
            top_file: None,
            file_top1: false,
            pr_opened: false,
            pr_title: None,
            pr_labels: Vec::new(),
            not_opened: None,
            canary_tests_fail: false,
            tests_pass_after: false,
            test_tail: String::new(),
            steps: 0,
            tokens: 0,
            duration_ms: 0,
            error: None,
        };
        if let Err(e) = score_no_model(&rt, &judge, ev, fixtures, exp, &mut score) {
            score.error = Some(e.to_string());
        }
        score.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        results.push(score);
    }
    let n = results.len().max(1) as f64;
    let rate =
        |f: &dyn Fn(&NoModelScore) -> bool| results.iter().filter(|r| f(r)).count() as f64 / n;
    Ok(NoModelReport {
        top1_rate: rate(&|r| r.top1),
        top3_rate: rate(&|r| r.top3),
        newest_baseline_rate: rate(&|r| r.newest_is_bug),
        file_top1_rate: rate(&|r| r.file_top1),
        prs_opened: results.iter().filter(|r| r.pr_opened).count(),
        tests_pass_after: results.iter().filter(|r| r.tests_pass_after).count(),
        median_duration_ms: median(results.iter().map(|r| r.duration_ms as f64).collect()),
        results,
        excluded,
    })
}

pub fn render_no_model_markdown(r: &NoModelReport, command: &str) -> String {
    let n = r.results.len();
    let mut s = format!(
        "# Remediation eval, no model\n\n`{command}`\n\n\
         Localization (release diff, canary-only traces mapped to the repository, ranked \
         commits) and a revert of the top suspect as the fix, in dry-run mode against each \
         fixture's history built from its recipe; the fixture's own tests run on the canary \
         revision with the proposed change applied. No model, so 0 tokens.\n\n\
         Suspect top-1: {:.0}% · top-3: {:.0}% · file top-1: {:.0}% · PR opened: {}/{n} · \
         tests pass after the change: {}/{n} · median wall time {:.0} ms\n\n\
         Baseline without localization (blame the newest release commit): top-1 {:.0}%.\n\n\
         | scenario | language | bug commit | top 3 suspects | top-1 | top-3 | top file | file | PR | canary fails | tests pass after | steps | tokens | ms |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---:|---:|---:|\n",
        r.top1_rate * 100.0,
        r.top3_rate * 100.0,
        r.file_top1_rate * 100.0,
        r.prs_opened,
        r.tests_pass_after,
        r.median_duration_ms,
        r.newest_baseline_rate * 100.0
    );
    let yn = |b: bool| if b { "yes" } else { "no" };
    for x in &r.results {
        let sus: Vec<String> = x
            .suspects
            .iter()
            .map(|(sha, _, sc)| format!("{sha} ({sc:.1})"))
            .collect();
        let pr = match (&x.error, &x.not_opened) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(w)) => format!("no: {w}"),
            (None, None) => yn(x.pr_opened).to_owned(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.scenario,
            x.language,
            x.bug,
            sus.join(", "),
            yn(x.top1),
            yn(x.top3),
            x.top_file.as_deref().unwrap_or("—"),
            yn(x.file_top1),
            pr.replace('|', "\\|"),
            yn(x.canary_tests_fail),
            yn(x.tests_pass_after),
            x.steps,
            x.tokens,
            x.duration_ms
        ));
    }
    if !r.excluded.is_empty() {
        s.push_str("\nNot scored here:\n\n");
        for e in &r.excluded {
            s.push_str(&format!("- {} ({}): {}\n", e.scenario, e.fixture, e.why));
        }
    }
    s.push_str("\nWhy each top suspect:\n\n");
    for x in &r.results {
        s.push_str(&format!("- {}: {}\n", x.scenario, x.why_top.join("; ")));
    }
    s
}
