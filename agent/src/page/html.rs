//! The verdict pages as HTML strings. Every piece of text from a record goes
//! through [`Page::text`] (redacted, then escaped); links only through
//! [`fmt::safe_url`] or [`fmt::path_segment`]. No script, no external
//! resource: one inline `<style>` whose hash the Content-Security-Policy names.

use std::fmt::Write;

use super::fmt;
use super::svg;
use crate::evidence::{Decision, Evidence};
use crate::judge::signal::SignalSource;
use crate::logs::diff::{Change, TemplateDiff, exemplar_lines};
use crate::redact::Redactor;
use crate::store::AnalysisRecord;

/// The page's only style sheet (its SHA-256 is in the CSP header).
pub const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff;line-height:1.4}\
header.top{background:#0f172a;color:#fff;padding:10px 24px}header.top a{color:#e2e8f0;text-decoration:none;font-weight:600}\
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}\
h1{font-size:24px;margin:12px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e5e5;padding-bottom:4px}\
.meta{color:#555;font-size:14px;margin:0 0 12px}.summary{font-size:16px;background:#f8fafc;border-left:4px solid #94a3b8;padding:8px 12px}\
.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-size:14px;font-weight:700;color:#fff;vertical-align:middle}\
.badge.abort{background:#b91c1c}.badge.promote{background:#15803d}.badge.inconclusive{background:#b45309}\
.sev{font-weight:600}.sev-critical{color:#b91c1c}.sev-regression{color:#c2410c}.sev-concern{color:#b45309}.sev-pass{color:#15803d}.sev-info{color:#555}\
table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}th{background:#f1f5f9}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
figure{margin:12px 0 20px}figcaption{font-size:13px;color:#444}svg.chart{max-width:100%;height:auto;border:1px solid #e5e5e5;background:#fff}\
pre{background:#f8fafc;border:1px solid #e2e8f0;padding:6px 8px;font-size:12px;white-space:pre-wrap;word-break:break-all;margin:4px 0}\
code{font-size:13px;background:#f1f5f9;padding:0 3px}\
form.filter{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin:8px 0 12px}form.filter label{font-size:13px;display:flex;flex-direction:column}\
.muted{color:#666}.bad{color:#b91c1c}.good{color:#15803d}";

/// HTML-escapes `s` for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders pages; holds the redactor and the base for absolute links.
#[derive(Debug)]
pub struct Page<'a> {
    pub redactor: &'a Redactor,
    /// `https://rollwise.example.com` or empty for relative links.
    pub base: String,
}

impl Page<'_> {
    /// Untrusted text for the page: redacted (line by line, so multi-line
    /// exemplars get the standalone-line rules), then escaped.
    pub fn text(&self, s: &str) -> String {
        esc(&self.redactor.redact_lines(s))
    }

    /// Untrusted text shortened for the page: redacted, clipped, escaped.
    fn clipped(&self, s: &str, max: usize) -> String {
        esc(&self.redactor.clip(s, max))
    }

    fn redacted(&self, s: &str) -> String {
        self.redactor.redact(s).into_owned()
    }

    pub fn list_href(&self) -> String {
        format!("{}/analyses", self.base)
    }

    pub fn analysis_href(&self, id: &str) -> String {
        format!("{}/analyses/{}", self.base, fmt::path_segment(id))
    }

    pub(super) fn document(&self, title: &str, body: &str) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta name=\"referrer\" content=\"no-referrer\">\
             <title>{}</title><style>{CSS}</style></head><body>\
             <header class=\"top\"><a href=\"{}\">rollwise · analyses</a></header><main>{body}</main></body></html>",
            self.text(title),
            esc(&self.list_href()),
        )
    }

    /// A page that says what is not there (404, bad filter).
    pub fn message(&self, title: &str, detail: &str) -> String {
        let body = format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"{}\">All analyses</a></p>",
            self.text(title),
            self.text(detail),
            esc(&self.list_href())
        );
        self.document(title, &body)
    }

    /// Recent analyses, newest first, with the filter form.
    pub fn list(&self, records: &[std::sync::Arc<AnalysisRecord>], f: &ListFilter) -> String {
        let mut b = String::new();
        b.push_str("<h1>Recent analyses</h1>");
        let _ = write!(
            b,
            "<form class=\"filter\" method=\"get\" action=\"{}\">\
             <label>namespace<input name=\"namespace\" value=\"{}\"></label>\
             <label>rollout<input name=\"rollout\" value=\"{}\"></label>\
             <label>verdict<select name=\"verdict\"><option value=\"\">any</option>",
            esc(&self.list_href()),
            esc(&f.namespace),
            esc(&f.rollout)
        );
        for d in Decision::ALL {
            let _ = write!(
                b,
                "<option value=\"{d}\"{}>{d}</option>",
                if f.verdict == Some(d) {
                    " selected"
                } else {
                    ""
                }
            );
        }
        b.push_str("</select></label><button type=\"submit\">Filter</button></form>");
        if records.is_empty() {
            b.push_str("<p class=\"muted\">No analyses match.</p>");
            return self.document("rollwise · analyses", &b);
        }
        let _ = write!(
            b,
            "<p class=\"meta\">{} shown, newest first</p><table><thead><tr><th>when</th><th>rollout</th>\
             <th>verdict</th><th class=\"num\">confidence</th><th>summary</th><th>PR</th></tr></thead><tbody>",
            records.len()
        );
        for r in records {
            let v = &r.verdict;
            let ro = &r.evidence.rollout;
            let _ = write!(
                b,
                "<tr><td class=\"num\"><a href=\"{}\">{}</a></td><td>{}/{}</td><td>{}</td>\
                 <td class=\"num\">{}%</td><td>{}</td><td>{}</td></tr>",
                esc(&self.analysis_href(&r.id)),
                esc(&fmt::time(r.created_ms)),
                self.text(&ro.namespace),
                self.text(&ro.name),
                badge(v.verdict),
                v.confidence,
                self.clipped(&v.summary, 180),
                r.pr.as_ref()
                    .and_then(|p| fmt::safe_url(&p.url).map(|u| (u, p.number)))
                    .map(|(u, n)| format!(
                        "<a href=\"{}\" rel=\"noopener noreferrer nofollow\">#{n}</a>",
                        esc(&u)
                    ))
                    .unwrap_or_default(),
            );
        }
        b.push_str("</tbody></table>");
        self.document("rollwise · analyses", &b)
    }

    /// One analysis: verdict and reasons, a chart per metric, the template
    /// diff with exemplars, pods and events, the judge's accounting, the PR.
    pub fn detail(&self, r: &AnalysisRecord) -> String {
        let v = &r.verdict;
        let ev = &r.evidence;
        let ro = &ev.rollout;
        let mut b = String::with_capacity(32 * 1024);
        let _ = write!(
            b,
            "<h1>{} {}/{}</h1><p class=\"meta\">{}% confidence · {} · judged by {} · id <code>{}</code>{}</p>",
            badge(v.verdict),
            self.text(&ro.namespace),
            self.text(&ro.name),
            v.confidence,
            esc(&fmt::time(r.created_ms)),
            match v.mode {
                crate::verdict::JudgeMode::StatisticsAndLogs => "statistics and logs",
                crate::verdict::JudgeMode::Hybrid => "statistics, logs and an LLM",
            },
            self.text(&r.id),
            self.rollout_facts(ev),
        );
        let _ = write!(b, "<p class=\"summary\">{}</p>", self.text(&v.summary));
        if let Some(pr) = &r.pr {
            let link = fmt::safe_url(&pr.url)
                .map(|u| {
                    format!(
                        "<a href=\"{}\" rel=\"noopener noreferrer nofollow\">draft PR #{} in {}</a>",
                        esc(&u),
                        pr.number,
                        self.text(&pr.repo)
                    )
                })
                .unwrap_or_else(|| format!("PR #{} in {}", pr.number, self.text(&pr.repo)));
            let _ = write!(b, "<p>Remediation: {link}</p>");
        }

        b.push_str("<section id=\"reasons\"><h2>Reasons</h2><table><thead><tr><th>severity</th><th>signal</th><th>detail</th><th>where to look</th></tr></thead><tbody>");
        for x in &v.reasons {
            let _ = write!(
                b,
                "<tr><td class=\"sev sev-{0}\">{0}</td><td>{1}</td><td>{2}</td><td><code>{3}</code></td></tr>",
                x.severity.as_str(),
                x.signal.as_str(),
                self.text(&x.detail),
                self.text(&x.evidence)
            );
        }
        b.push_str("</tbody></table></section>");

        self.metrics(&mut b, r);
        if let Some(d) = &r.templates {
            self.templates(&mut b, d);
        }
        self.pods_and_events(&mut b, ev);
        self.judge(&mut b, r);
        if !r.notifications.is_empty() {
            b.push_str("<section id=\"notifications\"><h2>Notifications</h2><table><thead><tr><th>channel</th><th>delivered</th><th>detail</th></tr></thead><tbody>");
            for n in &r.notifications {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                    self.text(&n.channel),
                    if n.ok { "good" } else { "bad" },
                    if n.ok { "yes" } else { "no" },
                    self.text(&n.detail)
                );
            }
            b.push_str("</tbody></table></section>");
        }
        if !r.feedback.is_empty() {
            b.push_str("<section id=\"feedback\"><h2>Feedback</h2><p>People's judgements of this verdict, the latest last; the latest labels the analysis. Feedback never changes the rollout.</p><table><thead><tr><th>when</th><th>who</th><th>via</th><th>verdict</th><th>reason</th></tr></thead><tbody>");
            for f in &r.feedback {
                let said = if f.right {
                    "right".to_owned()
                } else {
                    format!("wrong: should be {}", f.expected)
                };
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                    self.text(&fmt::time(f.created_ms)),
                    self.text(&f.who),
                    f.via.as_str(),
                    if f.right { "good" } else { "bad" },
                    self.text(&said),
                    self.text(&f.reason)
                );
            }
            b.push_str("</tbody></table></section>");
        }
        if let Some(t) = &r.transcript {
            let pretty = serde_json::to_string_pretty(t).unwrap_or_default();
            let _ = write!(
                b,
                "<section id=\"transcript\"><h2>Remediation transcript</h2><details><summary>show</summary><pre>{}</pre></details></section>",
                self.text(&pretty)
            );
        }
        let title = format!("{} {}/{}", v.verdict, ro.namespace, ro.name);
        self.document(&title, &b)
    }

    fn rollout_facts(&self, ev: &Evidence) -> String {
        let ro = &ev.rollout;
        let mut out = String::new();
        if let Some(i) = &ro.canary_image {
            let _ = write!(out, " · canary <code>{}</code>", self.text(i));
        }
        if let Some(s) = ro.step {
            let _ = write!(out, " · step {s}");
        }
        if let Some(w) = ro.canary_weight {
            let _ = write!(out, " · {w}% traffic");
        }
        if let Some(t) = &ev.traffic {
            let n = |x: Option<u64>| x.map_or_else(|| "?".into(), |v| v.to_string());
            let _ = write!(
                out,
                " · requests canary {} / stable {}",
                n(t.canary_requests),
                n(t.stable_requests)
            );
        }
        out
    }

    fn metrics(&self, b: &mut String, r: &AnalysisRecord) {
        let v = &r.verdict;
        b.push_str("<section id=\"metrics\"><h2>Metrics: canary vs stable</h2>");
        if v.metrics.is_empty() {
            b.push_str("<p class=\"muted\">No metrics were compared.</p></section>");
            return;
        }
        b.push_str("<table><thead><tr><th>metric</th><th>outcome</th><th class=\"num\">canary median</th><th class=\"num\">stable median</th><th class=\"num\">shift</th><th class=\"num\">ratio</th><th class=\"num\">p</th><th>tolerance</th></tr></thead><tbody>");
        for m in &v.metrics {
            let _ = write!(
                b,
                "<tr><td>{}{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                self.text(&m.name),
                if m.critical {
                    " <span class=\"muted\">(critical)</span>"
                } else {
                    ""
                },
                match m.outcome {
                    crate::verdict::MetricOutcome::Regression => "bad",
                    crate::verdict::MetricOutcome::Improvement
                    | crate::verdict::MetricOutcome::Pass => "good",
                    crate::verdict::MetricOutcome::NoData => "muted",
                },
                m.outcome.as_str(),
                fmt::opt_number(m.canary_median),
                fmt::opt_number(m.stable_median),
                fmt::opt_number(m.shift),
                m.ratio
                    .map_or_else(|| "n/a".into(), |x| format!("×{}", fmt::number(x))),
                fmt::p_value(m.p_value),
                self.text(&m.tolerance),
            );
        }
        b.push_str("</tbody></table>");
        let redact = |s: &str| self.redacted(s);
        for (i, m) in v.metrics.iter().enumerate() {
            let series = r.evidence.metrics.iter().find(|s| s.name == m.name);
            let _ = write!(
                b,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                svg::metric_chart(i, m, series, &redact),
                self.text(&m.note)
            );
        }
        b.push_str("</section>");
    }

    fn templates(&self, b: &mut String, d: &TemplateDiff) {
        let _ = write!(
            b,
            "<section id=\"templates\"><h2>Log templates: canary vs stable</h2><p class=\"meta\">{} canary records from {} pods, {} stable records from {} pods; {} novel, {} elevated, {} gone, {} reduced</p>",
            d.canary_records,
            d.canary_pods,
            d.stable_records,
            d.stable_pods,
            d.count(Change::Novel),
            d.count(Change::Elevated),
            d.count(Change::Gone),
            d.count(Change::Reduced),
        );
        let changed: Vec<_> = d
            .changes
            .iter()
            .filter(|c| c.change != Change::Background)
            .take(MAX_TEMPLATES)
            .collect();
        if changed.is_empty() {
            b.push_str("<p class=\"muted\">No template changed rate.</p>");
        } else {
            b.push_str("<table><thead><tr><th>change</th><th>level</th><th class=\"num\">canary</th><th class=\"num\">stable</th><th class=\"num\">p</th><th>when (thirds of the window)</th><th>template and exemplars</th></tr></thead><tbody>");
            for c in changed {
                let mut ex = String::new();
                for e in c.exemplars.iter().take(2) {
                    let lines: Vec<&str> = exemplar_lines(e).take(6).collect();
                    let _ = write!(ex, "<pre>{}</pre>", self.text(&lines.join("\n")));
                }
                let _ = write!(
                    b,
                    "<tr><td class=\"{}\">{}{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td><code>{}</code>{}{}</td></tr>",
                    if c.change.is_increase() && c.error_like {
                        "bad"
                    } else {
                        ""
                    },
                    c.change.as_str(),
                    if c.meaningful {
                        " <span class=\"muted\">(meaningful)</span>"
                    } else {
                        ""
                    },
                    esc(&format!("{:?}", c.level).to_lowercase()),
                    c.canary,
                    c.stable,
                    fmt::p_value(Some(c.p_value)),
                    c.timeline.display().map(|t| esc(&t)).unwrap_or_default(),
                    self.text(&c.template),
                    c.cause
                        .as_deref()
                        .map(|x| format!("<div>cause: <code>{}</code></div>", self.text(x)))
                        .unwrap_or_default(),
                    ex
                );
            }
            b.push_str("</tbody></table>");
        }
        if !d.injections.is_empty() {
            b.push_str("<h3>Text addressed to an AI model</h3><table><thead><tr><th>phrase</th><th class=\"num\">canary</th><th class=\"num\">stable</th><th>exemplar</th></tr></thead><tbody>");
            for h in &d.injections {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><pre>{}</pre></td></tr>",
                    esc(h.phrase),
                    h.canary,
                    h.stable,
                    self.text(&h.exemplar)
                );
            }
            b.push_str("</tbody></table>");
        }
        b.push_str("</section>");
    }

    fn pods_and_events(&self, b: &mut String, ev: &Evidence) {
        b.push_str("<section id=\"pods\"><h2>Pods</h2>");
        let pods: Vec<_> = ev
            .pods
            .canary
            .iter()
            .map(|p| ("canary", p))
            .chain(ev.pods.stable.iter().map(|p| ("stable", p)))
            .collect();
        if pods.is_empty() {
            b.push_str("<p class=\"muted\">No pods were reported.</p>");
        } else {
            b.push_str("<table><thead><tr><th>side</th><th>pod</th><th>ready</th><th class=\"num\">restarts</th><th>last termination</th></tr></thead><tbody>");
            for (side, p) in pods {
                let _ = write!(
                    b,
                    "<tr><td>{side}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    self.text(&p.name),
                    if p.ready { "good" } else { "bad" },
                    if p.ready { "yes" } else { "no" },
                    p.restarts,
                    p.last_termination_reason
                        .as_deref()
                        .map(|x| self.text(x))
                        .unwrap_or_default()
                );
            }
            b.push_str("</tbody></table>");
        }
        b.push_str("</section><section id=\"events\"><h2>Events</h2>");
        if ev.events.is_empty() {
            b.push_str("<p class=\"muted\">No events.</p>");
        } else {
            b.push_str("<table><thead><tr><th>type</th><th>object</th><th>reason</th><th class=\"num\">count</th><th>message</th></tr></thead><tbody>");
            for e in ev.events.iter().take(MAX_EVENTS) {
                let _ = write!(
                    b,
                    "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    if e.kind == "Warning" { "bad" } else { "" },
                    self.text(&e.kind),
                    self.text(&e.object),
                    self.text(&e.reason),
                    e.count,
                    self.text(&e.message)
                );
            }
            b.push_str("</tbody></table>");
            if ev.events.len() > MAX_EVENTS {
                let _ = write!(
                    b,
                    "<p class=\"muted\">{} more events not shown.</p>",
                    ev.events.len() - MAX_EVENTS
                );
            }
        }
        b.push_str("</section>");
        if !ev.gaps.is_empty() {
            b.push_str("<section id=\"gaps\"><h2>Not gathered</h2><ul>");
            for g in &ev.gaps {
                let _ = write!(b, "<li>{}</li>", self.text(g));
            }
            b.push_str("</ul></section>");
        }
    }

    fn judge(&self, b: &mut String, r: &AnalysisRecord) {
        let v = &r.verdict;
        let _ = write!(
            b,
            "<section id=\"judge\"><h2>Judge</h2><table><tbody>\
             <tr><th>mode</th><td>{}</td></tr><tr><th>model</th><td>{}</td></tr>\
             <tr><th>tokens</th><td>{} prompt + {} completion</td></tr>\
             <tr><th>latency</th><td>{} ms</td></tr><tr><th>origin</th><td>{}</td></tr></tbody></table>",
            match v.mode {
                crate::verdict::JudgeMode::StatisticsAndLogs =>
                    "statistics and logs (no model consulted)",
                crate::verdict::JudgeMode::Hybrid =>
                    "hybrid (statistics, logs and an LLM that can only add caution)",
            },
            v.model
                .as_deref()
                .map(|m| self.text(m))
                .unwrap_or_else(|| "none".into()),
            v.usage.prompt_tokens,
            v.usage.completion_tokens,
            v.usage.latency_ms,
            esc(&format!("{:?}", r.origin).to_lowercase()),
        );
        let llm: Vec<_> = v
            .reasons
            .iter()
            .filter(|x| x.signal == SignalSource::Llm)
            .collect();
        if !llm.is_empty() {
            b.push_str("<h3>The model's explanation</h3><ul>");
            for x in llm {
                let _ = write!(
                    b,
                    "<li><span class=\"sev sev-{0}\">{0}</span> {1}</li>",
                    x.severity.as_str(),
                    self.text(&x.detail)
                );
            }
            b.push_str("</ul>");
        }
        b.push_str("</section>");
    }
}

const MAX_TEMPLATES: usize = 25;
const MAX_EVENTS: usize = 50;

fn badge(d: Decision) -> String {
    format!(
        "<span class=\"badge {d}\">{}</span>",
        d.as_str().to_uppercase()
    )
}

/// The list page's filter as typed (empty = any).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub namespace: String,
    pub rollout: String,
    pub verdict: Option<Decision>,
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }
}
