//! Localization without a model: the release diff, the canary-only traces
//! mapped to the repository, and the ranked suspect commits.

use std::path::Path;

use serde::Serialize;

use super::frames::{self, FrameParser, MappedFrame, Trace};
use super::release::ReleaseDiff;
use super::suspect::{self, FailureWords, Suspect};
use crate::error::Result;
use crate::evidence::Evidence;
use crate::logs::LogReport;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Localization {
    pub release: ReleaseDiff,
    pub traces: Vec<Trace>,
    pub frames: Vec<MappedFrame>,
    /// Every release commit, best suspect first.
    pub suspects: Vec<Suspect>,
}

impl Localization {
    pub fn top(&self) -> Option<&Suspect> {
        self.suspects.first()
    }

    /// Markdown for a page, a message or a PR body: the release diff and the
    /// top three suspects with their evidence.
    pub fn markdown(&self) -> String {
        format!(
            "{}\nSuspect commits:\n\n{}",
            self.release.markdown(),
            suspect::markdown(&self.suspects, 3)
        )
    }
}

/// Localizes `ev`'s failure in the git repository at `repo`, between the
/// `stable` and `canary` revisions. `logs` is the judge's log report of `ev`
/// (its canary-only error templates name the failure).
pub fn localize(
    ev: &Evidence,
    logs: &LogReport,
    repo: &Path,
    stable: &str,
    canary: &str,
) -> Result<Localization> {
    let release = ReleaseDiff::local(repo, stable, canary)?;
    let parser = FrameParser::new()?;
    let traces = frames::canary_traces(&parser, &ev.logs.canary, &ev.logs.stable);
    let mapped = frames::map_traces(&traces, &release.canary_files);
    let mut messages: Vec<String> = logs
        .diff
        .changes
        .iter()
        .filter(|c| c.change.is_increase() && c.error_like)
        .flat_map(|c| std::iter::once(c.template.clone()).chain(c.exemplars.iter().cloned()))
        .collect();
    messages.extend(traces.iter().map(|t| t.head.clone()));
    let stable: Vec<&str> = ev
        .logs
        .stable
        .iter()
        .flat_map(|p| p.lines.iter().map(String::as_str))
        .collect();
    let failure = FailureWords::new(&release, &mapped, &messages, &stable);
    let suspects = suspect::rank(&release, &mapped, &failure);
    Ok(Localization {
        release,
        traces,
        frames: mapped,
        suspects,
    })
}
