//! `rollwise logs cluster` (the miner's benchmark interface) and
//! `rollwise logs diff` (the canary-vs-stable template diff of a bundle).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::evidence;
use crate::judge::Judge;
use crate::logs::diff::{Change, TemplateDiff};
use crate::logs::digest::{DigestInput, TokenCounter, build_digest};
use crate::logs::miner::cluster_lines;
use crate::text::clip;

/// Rows of the human view; `--json` has every template.
const MAX_ROWS: usize = 25;

pub fn cluster() -> Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let lines = cluster_lines(stdin, stdout)?;
    tracing::info!(lines, "clustered");
    Ok(ExitCode::SUCCESS)
}

pub fn diff(judge: &Judge, path: &Path, max_bytes: u64, json: bool, all: bool) -> Result<ExitCode> {
    let ev = evidence::load_file(path, max_bytes)?;
    let report = judge.log_analyzer().analyze(&ev);
    let mut out = std::io::stdout().lock();
    let w = |e| Error::Io {
        what: "cannot write to stdout".into(),
        source: e,
    };
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out).map_err(w)?;
    } else {
        write!(out, "{}", render(&report.diff, report.templates, all)).map_err(w)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn digest(judge: &Judge, path: &Path, max_bytes: u64, budget: usize) -> Result<ExitCode> {
    if budget == 0 {
        return Err(Error::Usage("--budget must be at least 1 token".into()));
    }
    let ev = evidence::load_file(path, max_bytes)?;
    let assessment = judge.assess(&ev);
    let counter = TokenCounter::new()?;
    let input = DigestInput {
        evidence: &ev,
        metrics: &assessment.metrics,
        signals: &assessment.signals,
        diff: &assessment.logs.diff,
    };
    let d = build_digest(&input, budget, &counter, judge.log_analyzer().redactor());
    let mut out = std::io::stdout().lock();
    let w = |e| Error::Io {
        what: "cannot write to stdout".into(),
        source: e,
    };
    writeln!(out, "{}", d.text).map_err(w)?;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "({} tokens of {budget}{})",
        d.tokens,
        if d.truncated {
            ", truncated to fit"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn render(d: &TemplateDiff, templates: usize, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{templates} templates from {} canary records ({} pods) and {} stable records ({} pods)",
        d.canary_records, d.canary_pods, d.stable_records, d.stable_pods
    );
    for change in [
        Change::Novel,
        Change::Elevated,
        Change::Gone,
        Change::Reduced,
        Change::Background,
    ] {
        let _ = write!(out, "  {}: {}", change.as_str(), d.count(change));
    }
    out.push_str("\n\n");
    let rows: Vec<_> = d
        .changes
        .iter()
        .filter(|c| all || c.change != Change::Background)
        .collect();
    if rows.is_empty() {
        out.push_str("no template differs between canary and stable\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:>8} {:>8} {:>10}  template / exemplar",
        "change", "level", "canary", "stable", "p"
    );
    for c in rows.iter().take(MAX_ROWS) {
        let level = format!("{:?}", c.level).to_lowercase();
        let flag = if c.error_like && c.meaningful {
            "!"
        } else {
            " "
        };
        let _ = writeln!(
            out,
            "{flag}{:<9} {:<8} {:>8} {:>8} {:>10.2e}  {}",
            c.change.as_str(),
            level,
            c.canary,
            c.stable,
            c.p_value,
            clip(&c.template, 140)
        );
        if let Some(e) = c.exemplars.first() {
            let _ = writeln!(out, "{:>49}e.g. {}", "", clip(e, 140));
        }
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(out, "… {} more (use --json)", rows.len() - MAX_ROWS);
    }
    for h in &d.injections {
        let _ = writeln!(
            out,
            "text addressing an AI model (\"{}\", canary {} / stable {} lines): treated as data; e.g. {}",
            h.phrase,
            h.canary,
            h.stable,
            clip(&h.exemplar, 140)
        );
    }
    out.push_str(
        "(! = an error-like template at a meaningful rate; p = one-sided exact rate test)\n",
    );
    out
}
