//! `rollwise eval`: judge labelled scenarios and score the verdicts (the scores
//! listed in FORMAT.md). Wrong verdicts are results, not errors.

mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evidence::{self, Decision, Evidence};
use crate::llm::{BaselineResult, HybridJudge};
use crate::verdict::{JudgeMode, Verdict};

pub use report::render_markdown;

/// One judged scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    pub file: String,
    /// The top-level folder under the scenario directory (`tune`, `holdout`, ...);
    /// absent for a file directly in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    pub name: String,
    pub category: Option<String>,
    pub expected: Decision,
    pub verdict: Decision,
    pub confidence: u8,
    pub correct: bool,
    /// For expected aborts judged abort: did the summary or reasons name a root-cause word?
    pub root_cause_hit: Option<bool>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Wall time of judging, excluding reading the file.
    pub latency_ms: f64,
    pub summary: String,
    /// Planted secrets found in the verdict (must be empty).
    pub leaked_secrets: usize,
    /// How this verdict was reached (hybrid, or statistics and logs).
    pub mode: JudgeMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The seed plugin's approach on the same scenario, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineResult>,
    /// The loader refused the bundle (the error); it was scored as inconclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Counts by (expected, got), in the order promote, abort, inconclusive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub rows: [[u32; 3]; 3],
}

impl ConfusionMatrix {
    fn index(d: Decision) -> usize {
        match d {
            Decision::Promote => 0,
            Decision::Abort => 1,
            Decision::Inconclusive => 2,
        }
    }

    pub fn add(&mut self, expected: Decision, got: Decision) {
        self.rows[Self::index(expected)][Self::index(got)] += 1;
    }

    pub fn get(&self, expected: Decision, got: Decision) -> u32 {
        self.rows[Self::index(expected)][Self::index(got)]
    }

    pub fn expected_total(&self, expected: Decision) -> u32 {
        self.rows[Self::index(expected)].iter().sum()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scores {
    pub scenarios: u32,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
    /// Expected abort, judged promote, over expected aborts.
    pub false_promote_rate: f64,
    pub false_promotes: u32,
    /// Expected promote, judged abort, over expected promotes.
    pub false_abort_rate: f64,
    pub false_aborts: u32,
    /// Over expected aborts judged abort.
    pub root_cause_hit_rate: f64,
    pub prompt_tokens_total: u64,
    pub completion_tokens_total: u64,
    pub latency_ms_median: f64,
    pub latency_ms_max: f64,
    pub leaked_secrets: usize,
    /// Mean prompt + completion tokens per analysis.
    pub tokens_per_analysis: f64,
    /// Median prompt + completion tokens per analysis (one huge log skews the mean).
    pub tokens_per_analysis_median: f64,
    /// Analyses where a model was asked but gave no usable answer.
    pub model_unavailable: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineScores>,
}

/// The seed-plugin baseline scored on the same scenarios (its verdict is the
/// model's, taken as is; an unavailable model counts as inconclusive).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineScores {
    pub accuracy: f64,
    pub false_promotes: u32,
    pub false_promote_rate: f64,
    pub false_aborts: u32,
    pub prompt_tokens_total: u64,
    pub completion_tokens_total: u64,
    pub tokens_per_analysis: f64,
    pub tokens_per_analysis_median: f64,
    pub latency_ms_median: f64,
    pub unavailable: u32,
}

fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    crate::judge::stats::median(&v).unwrap_or(0.0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    pub scenarios_dir: String,
    pub mode: String,
    pub scores: Scores,
    /// The same scores per top-level folder (e.g. `tune` and `holdout`), sorted
    /// by name; empty when every scenario sits directly in the directory.
    #[serde(default)]
    pub splits: Vec<SplitScores>,
    pub results: Vec<ScenarioResult>,
}

/// The scores of the scenarios under one top-level folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitScores {
    pub split: String,
    pub scores: Scores,
}

/// Scores per split, sorted by split name; scenarios without a split count only
/// in the whole-set scores.
pub fn split_scores(results: &[ScenarioResult]) -> Vec<SplitScores> {
    let mut names: Vec<&str> = results.iter().filter_map(|r| r.split.as_deref()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let subset: Vec<ScenarioResult> = results
                .iter()
                .filter(|r| r.split.as_deref() == Some(name))
                .cloned()
                .collect();
            SplitScores {
                split: name.to_owned(),
                scores: scores(&subset),
            }
        })
        .collect()
}

/// The split of a scenario file: the first folder of its path relative to the
/// scenario directory, if it is in one.
fn split_of(rel: &Path) -> Option<String> {
    let mut parts = rel.components();
    let first = parts.next()?;
    parts.next()?;
    Some(first.as_os_str().to_string_lossy().into_owned())
}

/// Thresholds that turn `eval` into a gate.
#[derive(Debug, Clone, Default)]
pub struct EvalGates {
    pub max_false_promote: Option<f64>,
    pub max_false_abort: Option<f64>,
    pub min_accuracy: Option<f64>,
}

impl EvalGates {
    /// What failed over the whole set and, for `max_false_promote`, in each
    /// split (a false promote hidden by a large easy split must still fail).
    pub fn check_report(&self, r: &EvalReport) -> Vec<String> {
        let mut out = self.check(&r.scores);
        if let Some(max) = self.max_false_promote {
            for sp in &r.splits {
                if sp.scores.false_promote_rate > max {
                    out.push(format!(
                        "false-promote rate {:.3} ({} scenarios) in split {} is above {max}",
                        sp.scores.false_promote_rate, sp.scores.false_promotes, sp.split
                    ));
                }
            }
        }
        out
    }

    /// What failed, in words; empty when every gate passed.
    pub fn check(&self, s: &Scores) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(max) = self.max_false_promote
            && s.false_promote_rate > max
        {
            out.push(format!(
                "false-promote rate {:.3} ({} scenarios) is above {max}",
                s.false_promote_rate, s.false_promotes
            ));
        }
        if let Some(max) = self.max_false_abort
            && s.false_abort_rate > max
        {
            out.push(format!(
                "false-abort rate {:.3} ({} scenarios) is above {max}",
                s.false_abort_rate, s.false_aborts
            ));
        }
        if let Some(min) = self.min_accuracy
            && s.accuracy < min
        {
            out.push(format!("accuracy {:.3} is below {min}", s.accuracy));
        }
        if s.leaked_secrets > 0 {
            out.push(format!(
                "{} planted secret(s) appear in verdicts",
                s.leaked_secrets
            ));
        }
        out
    }
}

/// Every `*.json` below `dir`, sorted, skipping hidden directories.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::Io {
        what: format!("cannot read scenario directory {}", dir.display()),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(Error::Usage(format!(
            "--scenarios {} is not a directory",
            dir.display()
        )));
    }
    let out = crate::evidence::json_files(dir, "scenario directory")?;
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "no *.json scenarios found under {}",
            dir.display()
        )));
    }
    Ok(out)
}

/// Judge every labelled scenario under `dir`.
pub fn run_dir(
    judge: &HybridJudge,
    dir: &Path,
    max_bytes: u64,
    with_baseline: bool,
) -> Result<EvalReport> {
    let files = scenario_files(dir)?;
    let bar = progress_bar(files.len() as u64);
    let mut results = Vec::with_capacity(files.len());
    for path in &files {
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let ev = match evidence::load_file(path, max_bytes) {
            Ok(ev) => ev,
            Err(err @ Error::InvalidEvidence { .. }) => {
                // Fail closed: a bundle the loader refuses is judged inconclusive
                // with the refusal as its reason, and scored like any verdict.
                results.push(refused_result(path, rel, &err)?);
                bar.inc(1);
                continue;
            }
            Err(err) => return Err(err),
        };
        let Some(expected) = ev.expected.as_ref().map(|e| e.verdict) else {
            return Err(Error::Usage(format!(
                "{} has no `expected` label; eval needs labelled scenarios (use `rollwise analyze` for unlabelled bundles)",
                path.display()
            )));
        };
        let started = Instant::now();
        let verdict = judge.analyze(&ev);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut result = score_one(&ev, &verdict, expected, rel, latency_ms);
        if with_baseline {
            result.baseline = judge.seed_baseline(&ev);
        }
        results.push(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let scores = scores(&results);
    Ok(EvalReport {
        scenarios_dir: dir.display().to_string(),
        mode: judge.describe(),
        scores,
        splits: split_scores(&results),
        results,
    })
}

/// The result for a scenario the loader refused: its label is read from the raw
/// JSON (a scenario without one is a usage error, as for any scenario).
fn refused_result(path: &Path, rel: &Path, err: &Error) -> Result<ScenarioResult> {
    let raw: serde_json::Value = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let expected = raw
        .pointer("/expected/verdict")
        .cloned()
        .and_then(|v| serde_json::from_value::<Decision>(v).ok())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} was refused ({err}) and has no readable `expected` label",
                path.display()
            ))
        })?;
    let text = |ptr: &str| raw.pointer(ptr).and_then(|v| v.as_str()).map(str::to_owned);
    let verdict = Decision::Inconclusive;
    Ok(ScenarioResult {
        file: rel.display().to_string(),
        name: text("/name").unwrap_or_default(),
        category: text("/expected/category"),
        expected,
        verdict,
        confidence: 99,
        correct: expected == verdict,
        root_cause_hit: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        latency_ms: 0.0,
        summary: format!("inconclusive: the bundle was refused: {err}"),
        leaked_secrets: 0,
        mode: JudgeMode::StatisticsAndLogs,
        model: None,
        baseline: None,
        refused: Some(err.to_string()),
        split: split_of(rel),
    })
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} judging {pos}/{len} scenarios {wide_msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn score_one(
    ev: &Evidence,
    v: &Verdict,
    expected: Decision,
    rel: &Path,
    latency_ms: f64,
) -> ScenarioResult {
    let text = verdict_text(v).to_lowercase();
    let root_cause_hit = (expected == Decision::Abort && v.verdict == Decision::Abort).then(|| {
        ev.expected.as_ref().is_some_and(|e| {
            e.root_cause
                .iter()
                .any(|w| !w.is_empty() && text.contains(&w.to_lowercase()))
        })
    });
    let full_json = serde_json::to_string(v).unwrap_or_default();
    let leaked_secrets = ev
        .planted_secrets
        .iter()
        .filter(|s| !s.is_empty() && full_json.contains(s.as_str()))
        .count();
    ScenarioResult {
        file: rel.display().to_string(),
        split: split_of(rel),
        name: ev.name.clone(),
        category: ev.expected.as_ref().and_then(|e| e.category.clone()),
        expected,
        verdict: v.verdict,
        confidence: v.confidence,
        correct: expected == v.verdict,
        root_cause_hit,
        prompt_tokens: v.usage.prompt_tokens,
        completion_tokens: v.usage.completion_tokens,
        latency_ms,
        summary: v.summary.clone(),
        leaked_secrets,
        mode: v.mode,
        model: v.model.clone(),
        baseline: None,
        refused: None,
    }
}

/// The explanation a person reads: the summary and every reason.
fn verdict_text(v: &Verdict) -> String {
    let mut t = v.summary.clone();
    for r in &v.reasons {
        t.push('\n');
        t.push_str(&r.detail);
    }
    t
}

pub fn scores(results: &[ScenarioResult]) -> Scores {
    let mut s = Scores {
        scenarios: results.len() as u32,
        ..Scores::default()
    };
    for r in results {
        s.confusion.add(r.expected, r.verdict);
        s.prompt_tokens_total += r.prompt_tokens;
        s.completion_tokens_total += r.completion_tokens;
        s.leaked_secrets += r.leaked_secrets;
    }
    let rate = |num: u32, den: u32| {
        if den == 0 {
            0.0
        } else {
            f64::from(num) / f64::from(den)
        }
    };
    let correct = results.iter().filter(|r| r.correct).count() as u32;
    s.accuracy = rate(correct, s.scenarios);
    s.false_promotes = s.confusion.get(Decision::Abort, Decision::Promote);
    s.false_promote_rate = rate(
        s.false_promotes,
        s.confusion.expected_total(Decision::Abort),
    );
    s.false_aborts = s.confusion.get(Decision::Promote, Decision::Abort);
    s.false_abort_rate = rate(
        s.false_aborts,
        s.confusion.expected_total(Decision::Promote),
    );
    let hits: Vec<bool> = results.iter().filter_map(|r| r.root_cause_hit).collect();
    s.root_cause_hit_rate = rate(
        hits.iter().filter(|h| **h).count() as u32,
        hits.len() as u32,
    );
    let mut lat: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    s.latency_ms_median = crate::judge::stats::median(&lat).unwrap_or(0.0);
    s.latency_ms_max = lat.last().copied().unwrap_or(0.0);
    s.tokens_per_analysis = if results.is_empty() {
        0.0
    } else {
        (s.prompt_tokens_total + s.completion_tokens_total) as f64 / results.len() as f64
    };
    s.tokens_per_analysis_median = median_of(
        results
            .iter()
            .map(|r| (r.prompt_tokens + r.completion_tokens) as f64)
            .collect(),
    );
    s.model_unavailable = results
        .iter()
        .filter(|r| r.mode == JudgeMode::StatisticsAndLogs && r.model.is_some())
        .count() as u32;
    s.baseline = baseline_scores(results);
    s
}

fn baseline_scores(results: &[ScenarioResult]) -> Option<BaselineScores> {
    let runs: Vec<(&ScenarioResult, &BaselineResult)> = results
        .iter()
        .filter_map(|r| r.baseline.as_ref().map(|b| (r, b)))
        .collect();
    if runs.is_empty() {
        return None;
    }
    let n = runs.len() as f64;
    let got = |b: &BaselineResult| b.verdict.unwrap_or(Decision::Inconclusive);
    let count = |f: &dyn Fn(&ScenarioResult, &BaselineResult) -> bool| {
        runs.iter().filter(|(r, b)| f(r, b)).count() as u32
    };
    let correct = count(&|r, b| got(b) == r.expected);
    let false_promotes =
        count(&|r, b| r.expected == Decision::Abort && got(b) == Decision::Promote);
    let expected_aborts = count(&|r, _| r.expected == Decision::Abort);
    let mut lat: Vec<f64> = runs.iter().map(|(_, b)| b.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    let prompt: u64 = runs.iter().map(|(_, b)| b.prompt_tokens).sum();
    let completion: u64 = runs.iter().map(|(_, b)| b.completion_tokens).sum();
    Some(BaselineScores {
        accuracy: f64::from(correct) / n,
        false_promotes,
        false_promote_rate: if expected_aborts == 0 {
            0.0
        } else {
            f64::from(false_promotes) / f64::from(expected_aborts)
        },
        false_aborts: count(&|r, b| r.expected == Decision::Promote && got(b) == Decision::Abort),
        prompt_tokens_total: prompt,
        completion_tokens_total: completion,
        tokens_per_analysis: (prompt + completion) as f64 / n,
        tokens_per_analysis_median: median_of(
            runs.iter()
                .map(|(_, b)| (b.prompt_tokens + b.completion_tokens) as f64)
                .collect(),
        ),
        latency_ms_median: crate::judge::stats::median(&lat).unwrap_or(0.0),
        unavailable: count(&|_, b| b.verdict.is_none()),
    })
}
