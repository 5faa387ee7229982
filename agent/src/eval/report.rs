//! The eval report as Markdown, for people and for committing under evals/results/.

use std::fmt::Write;

use super::{ConfusionMatrix, EvalReport, SplitScores};
use crate::evidence::Decision;

pub fn render_markdown(r: &EvalReport) -> String {
    let s = &r.scores;
    let mut out = String::new();
    let _ = writeln!(out, "# rollwise eval: {}\n", r.scenarios_dir);
    let _ = writeln!(out, "Mode: {}.\n", r.mode);
    let _ = writeln!(out, "| score | value |\n| --- | --- |");
    let _ = writeln!(out, "| scenarios | {} |", s.scenarios);
    let _ = writeln!(out, "| accuracy | {:.3} |", s.accuracy);
    let _ = writeln!(
        out,
        "| false-promote rate | {:.3} ({} of {} expected aborts) |",
        s.false_promote_rate,
        s.false_promotes,
        s.confusion.expected_total(Decision::Abort)
    );
    let _ = writeln!(
        out,
        "| false-abort rate | {:.3} ({} of {} expected promotes) |",
        s.false_abort_rate,
        s.false_aborts,
        s.confusion.expected_total(Decision::Promote)
    );
    let _ = writeln!(
        out,
        "| root-cause hit rate (aborts judged abort) | {:.3} |",
        s.root_cause_hit_rate
    );
    let _ = writeln!(
        out,
        "| tokens (prompt + completion, total) | {} + {} |",
        s.prompt_tokens_total, s.completion_tokens_total
    );
    let _ = writeln!(
        out,
        "| judge latency median / max | {:.1} ms / {:.1} ms |",
        s.latency_ms_median, s.latency_ms_max
    );
    let _ = writeln!(
        out,
        "| tokens per analysis (prompt + completion), median / mean | {:.0} / {:.0} |",
        s.tokens_per_analysis_median, s.tokens_per_analysis
    );
    let _ = writeln!(
        out,
        "| model unavailable (fell back to statistics and logs) | {} |",
        s.model_unavailable
    );
    let _ = writeln!(out, "| planted secrets leaked | {} |", s.leaked_secrets);

    if let Some(b) = &s.baseline {
        let _ = writeln!(
            out,
            "\n## rollwise vs the seed plugin's approach (same model, same scenarios)\n"
        );
        let _ = writeln!(
            out,
            "The seed plugin put the whole log of the first canary pod in the prompt and took the model's verdict as is; rollwise sends its statistics and a token-budgeted log digest, and the model can only add caution.\n"
        );
        let _ = writeln!(
            out,
            "| score | rollwise (hybrid) | seed-plugin baseline |\n| --- | --- | --- |"
        );
        let _ = writeln!(out, "| accuracy | {:.3} | {:.3} |", s.accuracy, b.accuracy);
        let _ = writeln!(
            out,
            "| false promotes | {} ({:.3}) | {} ({:.3}) |",
            s.false_promotes, s.false_promote_rate, b.false_promotes, b.false_promote_rate
        );
        let _ = writeln!(
            out,
            "| false aborts | {} | {} |",
            s.false_aborts, b.false_aborts
        );
        let _ = writeln!(
            out,
            "| tokens per analysis, median | {:.0} | {:.0} |",
            s.tokens_per_analysis_median, b.tokens_per_analysis_median
        );
        let _ = writeln!(
            out,
            "| tokens per analysis, mean | {:.0} | {:.0} |",
            s.tokens_per_analysis, b.tokens_per_analysis
        );
        let _ = writeln!(
            out,
            "| prompt + completion tokens, total | {} + {} | {} + {} |",
            s.prompt_tokens_total,
            s.completion_tokens_total,
            b.prompt_tokens_total,
            b.completion_tokens_total
        );
        let _ = writeln!(
            out,
            "| latency median | {:.1} ms | {:.1} ms |",
            s.latency_ms_median, b.latency_ms_median
        );
        let _ = writeln!(
            out,
            "| model unavailable | {} | {} |",
            s.model_unavailable, b.unavailable
        );
    }

    let _ = writeln!(
        out,
        "\n## Confusion matrix (rows: expected, columns: verdict)\n"
    );
    confusion_table(&mut out, &s.confusion);
    splits_section(&mut out, &r.splits);

    let _ = writeln!(out, "\n## Scenarios\n");
    let _ = writeln!(
        out,
        "| scenario | category | expected | verdict | confidence | root cause named | mode | tokens (p+c) | latency ms | baseline verdict | baseline tokens (p+c) | |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for x in &r.results {
        let mark = if x.correct {
            "✔"
        } else if x.expected == Decision::Abort && x.verdict == Decision::Promote {
            "✘ FALSE PROMOTE"
        } else {
            "✘"
        };
        let hit = match x.root_cause_hit {
            Some(true) => "yes",
            Some(false) => "no",
            None => "—",
        };
        let mode = match (x.mode, &x.model) {
            _ if x.refused.is_some() => "REFUSED by the loader (scored inconclusive)",
            (crate::verdict::JudgeMode::Hybrid, _) => "hybrid",
            (_, Some(_)) => "stats+logs (model unavailable)",
            (_, None) => "stats+logs",
        };
        let (bv, bt) = match &x.baseline {
            Some(b) => (
                b.verdict
                    .map_or_else(|| "unavailable".to_owned(), |d| d.to_string()),
                format!("{}+{}", b.prompt_tokens, b.completion_tokens),
            ),
            None => ("—".to_owned(), "—".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {hit} | {mode} | {}+{} | {:.1} | {bv} | {bt} | {mark} |",
            x.file,
            x.category.as_deref().unwrap_or(""),
            x.expected,
            x.verdict,
            x.confidence,
            x.prompt_tokens,
            x.completion_tokens,
            x.latency_ms
        );
    }
    let refused: Vec<&super::ScenarioResult> =
        r.results.iter().filter(|x| x.refused.is_some()).collect();
    if !refused.is_empty() {
        let _ = writeln!(
            out,
            "\nRefused bundles (scored inconclusive, fail closed):\n"
        );
        for x in refused {
            let _ = writeln!(out, "- {}: {}", x.file, x.refused.as_deref().unwrap_or(""));
        }
    }
    out
}

fn confusion_table(out: &mut String, c: &ConfusionMatrix) {
    let _ = writeln!(
        out,
        "| expected \\ verdict | promote | abort | inconclusive |\n| --- | --- | --- | --- |"
    );
    for e in Decision::ALL {
        let _ = writeln!(
            out,
            "| {e} | {} | {} | {} |",
            c.get(e, Decision::Promote),
            c.get(e, Decision::Abort),
            c.get(e, Decision::Inconclusive)
        );
    }
}

/// Scores per top-level folder: `tune` (the scenarios rules were written with in
/// view) apart from `holdout` (the ones no rule has seen).
fn splits_section(out: &mut String, splits: &[SplitScores]) {
    if splits.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## By split\n");
    let _ = writeln!(
        out,
        "| split | scenarios | accuracy | false-promote rate | false-abort rate | root-cause hit rate |\n| --- | --- | --- | --- | --- | --- |"
    );
    for sp in splits {
        let s = &sp.scores;
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {:.3} ({} of {}) | {:.3} ({} of {}) | {:.3} |",
            sp.split,
            s.scenarios,
            s.accuracy,
            s.false_promote_rate,
            s.false_promotes,
            s.confusion.expected_total(Decision::Abort),
            s.false_abort_rate,
            s.false_aborts,
            s.confusion.expected_total(Decision::Promote),
            s.root_cause_hit_rate
        );
    }
    for sp in splits {
        let _ = writeln!(
            out,
            "\n### Confusion matrix, split {} (rows: expected, columns: verdict)\n",
            sp.split
        );
        confusion_table(out, &sp.scores.confusion);
    }
}
