//! `rollwise analyze --slack-webhook URL`: the verdict as the Slack message
//! the service would send, so it can be tried without a cluster.

use std::io::Write;

use crate::error::Result;
use crate::evidence::Evidence;
use crate::logs::diff::TemplateDiff;
use crate::notify::{SlackConfig, post_blocking};
use crate::store::{AnalysisRecord, Origin};
use crate::verdict::Verdict;

/// Posts `verdict` and says on stderr whether it was delivered. A failed post
/// is reported, not returned: the verdict and the exit code stand.
pub(super) fn post(ev: &Evidence, verdict: Verdict, diff: TemplateDiff, url: &str) -> Result<()> {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    // The message lists the top log templates: the diff behind the verdict.
    let rec = AnalysisRecord::new(
        format!("cli-{now_ms}"),
        Origin::Cli,
        now_ms,
        verdict,
        ev,
        Some(diff),
    );
    let outcome = post_blocking(SlackConfig::webhook(url), &rec)?;
    let mut err = std::io::stderr().lock();
    let _ = if outcome.ok {
        writeln!(err, "rollwise: Slack: {}", outcome.detail)
    } else {
        writeln!(err, "rollwise: Slack: NOT delivered: {}", outcome.detail)
    };
    Ok(())
}
