//! `rollwise demo`: judge bundled example scenarios with no cluster and no API key.

use std::io::Write;
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::evidence::{EvidenceSource, parse_bytes};
use crate::llm::HybridJudge;

use super::render_verdict;

/// Public scenarios embedded at build time: a bad canary, a good one, one with
/// too little evidence to decide.
const EXAMPLES: &[(&str, &[u8])] = &[
    (
        "p01-rollouts-demo-bad-red.json",
        include_bytes!("../../../evals/scenarios/public/p01-rollouts-demo-bad-red.json"),
    ),
    (
        "p07-payment-service-npe-refunds.json",
        include_bytes!("../../../evals/scenarios/public/p07-payment-service-npe-refunds.json"),
    ),
    (
        "p12-rollouts-demo-blue-to-yellow.json",
        include_bytes!("../../../evals/scenarios/public/p12-rollouts-demo-blue-to-yellow.json"),
    ),
    (
        "p21-ratings-no-traffic.json",
        include_bytes!("../../../evals/scenarios/public/p21-ratings-no-traffic.json"),
    ),
];

pub fn run(judge: &HybridJudge, json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::Io {
        what: "cannot write to stdout".into(),
        source: e,
    };
    if !json {
        let how = match judge.model_name() {
            Some(model) => format!(
                "on statistics, pods, events and logs, with {model} as adviser\n\
                 (the model reads a redacted log digest and can only add caution, never promote on its own)"
            ),
            None => format!(
                "on statistics, pods, events and logs ALONE: no model is used\n\
                 ({}; rollwise never needs a model to decide)",
                judge.describe()
            ),
        };
        writeln!(
            out,
            "rollwise demo: judging {} bundled canary scenarios {how}.\n",
            EXAMPLES.len()
        )
        .map_err(w)?;
    }
    for (name, bytes) in EXAMPLES {
        let ev = parse_bytes(bytes, &EvidenceSource::Named(format!("embedded {name}")))?;
        let verdict = judge.analyze(&ev);
        if json {
            serde_json::to_writer(&mut out, &verdict)?;
            writeln!(out).map_err(w)?;
        } else {
            writeln!(out, "──── {name} ────").map_err(w)?;
            if let Some(desc) = &ev.description {
                writeln!(out, "scenario: {desc}").map_err(w)?;
            }
            if let Some(exp) = &ev.expected {
                writeln!(out, "an SRE's label: {}\n", exp.verdict).map_err(w)?;
            }
            write!(out, "{}", render_verdict(&verdict)).map_err(w)?;
            writeln!(out).map_err(w)?;
        }
    }
    if !json {
        writeln!(
            out,
            "Try it on your own bundle: rollwise analyze --evidence FILE [--json]\n\
             Score a labelled set:      rollwise eval --scenarios evals/scenarios"
        )
        .map_err(w)?;
    }
    Ok(ExitCode::SUCCESS)
}
