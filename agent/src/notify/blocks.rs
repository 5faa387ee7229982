//! One verdict as a Slack Block Kit message: the tera templates in
//! `prompts/slack/` lay it out; this module prepares what they may use
//! (escaped, redacted) and then holds the rendered JSON to Slack's limits.
//!
//! Untrusted text (log templates, exemplars, event messages, anything quoted in
//! a reason) is escaped for Slack's mrkdwn before a template sees it, so a log
//! line cannot mention `<!channel>` or turn into a link; every `mrkdwn` object
//! is also sent with `verbatim: true`, so bare URLs and `#channel` names in it
//! stay plain text. After rendering, every string of the message is redacted
//! again (defence in depth) and clipped to Slack's limits by characters.

use crate::text::error_chain;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::evidence::Decision;
use crate::judge::signal::Severity;
use crate::logs::diff::{TemplateChange, exemplar_lines};
use crate::page::fmt;
use crate::redact::Redactor;
use crate::store::AnalysisRecord;

/// The message templates, by file name, embedded at build time. A file of
/// the same name in `<prompts dir>/slack/` replaces one.
pub const TEMPLATES: [(&str, &str); 2] = [
    (
        "message.tera",
        include_str!("../../../prompts/slack/message.tera"),
    ),
    (
        "follow_up.tera",
        include_str!("../../../prompts/slack/follow_up.tera"),
    ),
];

/// Slack's limits (Block Kit reference), in characters.
pub mod limits {
    /// Blocks per message.
    pub const MAX_BLOCKS: usize = 50;
    /// `header` block text.
    pub const HEADER_CHARS: usize = 150;
    /// `section` block text.
    pub const SECTION_CHARS: usize = 3000;
    /// Each of a section's `fields`.
    pub const FIELD_CHARS: usize = 2000;
    pub const MAX_FIELDS: usize = 10;
    /// Each text element of a `context` block.
    pub const CONTEXT_CHARS: usize = 3000;
    pub const MAX_CONTEXT_ELEMENTS: usize = 10;
    /// The top-level `text` (the notification fallback). Slack truncates at
    /// 40,000; a notification preview shows far less, so we keep it short.
    pub const FALLBACK_CHARS: usize = 3000;
}

/// How many of each list a message shows; the page has the rest.
const MAX_REASONS: usize = 5;
const MAX_METRICS: usize = 8;
const MAX_TEMPLATES: usize = 3;
const REASON_CHARS: usize = 400;
const TEMPLATE_CHARS: usize = 200;
const EXEMPLAR_CHARS: usize = 300;

/// Compiled message templates and the redactor applied to what they render.
#[derive(Debug)]
pub struct SlackTemplates {
    tera: tera::Tera,
    redactor: Redactor,
}

impl SlackTemplates {
    /// The embedded templates, each replaced by `dir/slack/NAME` when that
    /// file exists (`dir` is the prompts directory of the LLM's templates).
    pub fn load(dir: Option<&Path>) -> Result<Self> {
        let mut tera = tera::Tera::default();
        // The templates write JSON; strings go in through `json_encode`.
        tera.autoescape_on(vec![]);
        for (name, embedded) in TEMPLATES {
            let source = match dir.map(|d| d.join("slack").join(name)) {
                Some(path) if path.is_file() => {
                    std::fs::read_to_string(&path).map_err(|e| Error::Io {
                        what: format!("cannot read Slack template {}", path.display()),
                        source: e,
                    })?
                }
                _ => embedded.to_owned(),
            };
            tera.add_raw_template(name, &source).map_err(|e| {
                Error::Config(format!("Slack template {name}: {}", error_chain(&e)))
            })?;
        }
        Ok(SlackTemplates {
            tera,
            redactor: Redactor::new(),
        })
    }

    /// The message of one verdict: `{"text": …, "blocks": […]}`, within
    /// Slack's limits. `page_base` is the verdict page's base URL. A template
    /// that fails to render or renders invalid JSON gives a plain message
    /// built here instead (and the error), so a verdict is never unannounced.
    pub fn message(&self, rec: &AnalysisRecord, page_base: Option<&str>) -> (Value, Option<Error>) {
        let ctx = MessageContext::new(rec, page_base, &self.redactor);
        self.render("message.tera", &ctx, || fallback_message(&ctx))
    }

    /// A threaded follow-up to a verdict (a PR opened, a remediation that
    /// failed). `text` is escaped and redacted like evidence.
    pub fn follow_up(
        &self,
        rec: &AnalysisRecord,
        text: &str,
        page_base: Option<&str>,
    ) -> (Value, Option<Error>) {
        let mut ctx = MessageContext::new(rec, page_base, &self.redactor);
        ctx.follow_up = untrusted(text, &self.redactor);
        self.render("follow_up.tera", &ctx, || {
            json!({
                "text": format!("{}: {}", ctx.rollout.path, ctx.follow_up),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ctx.follow_up}}],
            })
        })
    }

    fn render(
        &self,
        name: &str,
        ctx: &MessageContext,
        fallback: impl FnOnce() -> Value,
    ) -> (Value, Option<Error>) {
        let rendered = tera::Context::from_serialize(ctx)
            .and_then(|c| self.tera.render(name, &c))
            .map_err(|e| {
                Error::Config(format!(
                    "rendering Slack template {name}: {}",
                    error_chain(&e)
                ))
            })
            .and_then(|s| {
                serde_json::from_str::<Value>(&s).map_err(|e| {
                    Error::Config(format!("Slack template {name} did not render JSON: {e}"))
                })
            });
        match rendered {
            Ok(v) if v.is_object() => (enforce_limits(v, &self.redactor), None),
            Ok(_) => (
                enforce_limits(fallback(), &self.redactor),
                Some(Error::Config(format!(
                    "Slack template {name} did not render a JSON object"
                ))),
            ),
            Err(e) => (enforce_limits(fallback(), &self.redactor), Some(e)),
        }
    }
}

/// The `action_id` prefix of the feedback buttons; the block is
/// [`FEEDBACK_BLOCK_ID`]. Each button's value is `<judgement>:<analysis id>`,
/// the judgement `right` or the verdict it should have been.
pub const FEEDBACK_ACTION_PREFIX: &str = "rollwise_feedback_";
pub const FEEDBACK_BLOCK_ID: &str = "rollwise_feedback";

/// Append the feedback buttons to a verdict message: "verdict right" and one
/// "should be …" per other verdict, within Slack's block limit (the last
/// blocks are replaced when the message is near [`limits::MAX_BLOCKS`]).
pub fn add_feedback_buttons(msg: &mut Value, rec: &AnalysisRecord) {
    let given = rec.verdict.verdict;
    let button = |judgement: &str, text: String, style: Option<&str>| {
        let mut b = json!({
            "type": "button",
            "action_id": format!("{FEEDBACK_ACTION_PREFIX}{judgement}"),
            "text": {"type": "plain_text", "text": text},
            "value": format!("{judgement}:{}", rec.id),
        });
        if let Some(s) = style {
            b["style"] = json!(s);
        }
        b
    };
    let mut elements = vec![button("right", "Verdict right".into(), Some("primary"))];
    for d in Decision::ALL {
        if d != given {
            elements.push(button(d.as_str(), format!("Should be {d}"), None));
        }
    }
    let actions = json!({"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": elements});
    let context = json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": "Feedback labels this analysis for evaluation; it does not change the rollout."}]});
    if let Some(blocks) = msg.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.truncate(limits::MAX_BLOCKS.saturating_sub(2));
        blocks.push(actions);
        blocks.push(context);
    }
}

/// The message of one verdict with the embedded templates: a pure function of
/// the record, for snapshots and previews. `page_base` is the verdict page's
/// base URL (`https://rollwise.example.com`), linked as `/analyses/{id}`.
pub fn render_blocks(rec: &AnalysisRecord, page_base: Option<&str>) -> Value {
    match SlackTemplates::load(None) {
        Ok(t) => t.message(rec, page_base).0,
        // The embedded templates compile (a unit test says so); should they
        // not, the plain message still carries the verdict.
        Err(_) => {
            let r = Redactor::new();
            enforce_limits(
                fallback_message(&MessageContext::new(rec, page_base, &r)),
                &r,
            )
        }
    }
}

/// Everything a Slack template may use. Strings meant for mrkdwn are already
/// escaped and redacted; `header` is plain text.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    pub id: String,
    pub verdict: &'static str,
    pub verdict_title: &'static str,
    pub emoji: &'static str,
    pub confidence: u8,
    /// Plain text: emoji, verdict, rollout, confidence.
    pub header: String,
    /// The notification preview (escaped: Slack parses it like mrkdwn).
    pub fallback: String,
    pub summary: String,
    pub rollout: RolloutFacts,
    pub reasons: Vec<ReasonFact>,
    pub more_reasons: usize,
    /// Monospace canary-vs-stable table (for a ``` block); empty without metrics.
    pub metric_table: String,
    pub metrics: Vec<MetricFact>,
    pub templates: Vec<TemplateFact>,
    pub gaps: Vec<String>,
    pub page_url: Option<String>,
    pub pr: Option<PrFact>,
    pub mode: &'static str,
    pub model: Option<String>,
    pub created: String,
    /// Follow-up messages only: the follow-up's text.
    pub follow_up: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RolloutFacts {
    pub namespace: String,
    pub name: String,
    /// `namespace/name`.
    pub path: String,
    pub canary_image: Option<String>,
    pub step: Option<u32>,
    pub canary_weight: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonFact {
    pub severity: &'static str,
    pub signal: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricFact {
    pub name: String,
    pub critical: bool,
    pub outcome: &'static str,
    pub canary: String,
    pub stable: String,
    pub p_value: String,
    pub tolerance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateFact {
    pub change: &'static str,
    pub level: String,
    pub canary: u64,
    pub stable: u64,
    pub template: String,
    pub exemplar: Option<String>,
    /// When in the canary pods' lives it appears: sparkline of the thirds of
    /// the window and a summary (start-up only, growing, steady...).
    pub timeline: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrFact {
    pub url: String,
    pub number: u64,
    pub repo: String,
}

impl MessageContext {
    pub fn new(rec: &AnalysisRecord, page_base: Option<&str>, r: &Redactor) -> Self {
        let v = &rec.verdict;
        let ro = &rec.evidence.rollout;
        let (verdict_title, emoji) = match v.verdict {
            Decision::Promote => ("PROMOTE", ":white_check_mark:"),
            Decision::Abort => ("ABORT", ":rotating_light:"),
            Decision::Inconclusive => ("INCONCLUSIVE", ":warning:"),
        };
        let path = format!("{}/{}", ro.namespace, ro.name);
        let plain_path = r.redact(&path).into_owned();
        let header = format!(
            "{emoji} {verdict_title}: {plain_path} ({}% confidence)",
            v.confidence
        );
        // The top-level text is parsed like mrkdwn (mentions included).
        // The summary starts with namespace/name and the verdict already.
        let fallback = format!(
            "{emoji} {} ({}% confidence)",
            untrusted(&v.summary, r),
            v.confidence
        );

        // Strongest first; passes and context only when nothing weighs.
        let mut reasons: Vec<_> = v.reasons.iter().collect();
        reasons.sort_by_key(|x| x.severity);
        let weighty = reasons
            .iter()
            .filter(|x| x.severity < Severity::Pass)
            .count();
        let shown = if weighty > 0 { weighty } else { reasons.len() };
        let reasons_facts: Vec<ReasonFact> = reasons
            .iter()
            .take(shown.min(MAX_REASONS))
            .map(|x| ReasonFact {
                severity: x.severity.as_str(),
                signal: x.signal.as_str(),
                detail: untrusted(&r.clip(&x.detail, REASON_CHARS), r),
            })
            .collect();
        let more_reasons = v.reasons.len() - reasons_facts.len();

        let metrics: Vec<MetricFact> = v
            .metrics
            .iter()
            .map(|m| MetricFact {
                name: untrusted(&m.name, r),
                critical: m.critical,
                outcome: m.outcome.as_str(),
                canary: fmt::opt_number(m.canary_median),
                stable: fmt::opt_number(m.stable_median),
                p_value: fmt::p_value(m.p_value),
                tolerance: untrusted(&m.tolerance, r),
            })
            .collect();

        let templates = rec
            .templates
            .as_ref()
            .map(|d| top_templates(&d.changes, r))
            .unwrap_or_default();

        MessageContext {
            id: untrusted(&rec.id, r),
            verdict: v.verdict.as_str(),
            verdict_title,
            emoji,
            confidence: v.confidence,
            header,
            fallback,
            summary: untrusted(&v.summary, r),
            rollout: RolloutFacts {
                namespace: untrusted(&ro.namespace, r),
                name: untrusted(&ro.name, r),
                path: untrusted(&path, r),
                canary_image: ro.canary_image.as_deref().map(|s| untrusted(s, r)),
                step: ro.step,
                canary_weight: ro.canary_weight,
            },
            reasons: reasons_facts,
            more_reasons,
            metric_table: metric_table(&metrics),
            metrics,
            templates,
            gaps: rec
                .evidence
                .gaps
                .iter()
                .take(MAX_REASONS)
                .map(|g| untrusted(&r.clip(g, REASON_CHARS), r))
                .collect(),
            page_url: page_base
                .and_then(fmt::safe_url)
                .map(|b| fmt::analysis_url(&b, &rec.id)),
            pr: rec.pr.as_ref().and_then(|p| {
                fmt::safe_url(&p.url).map(|url| PrFact {
                    url,
                    number: p.number,
                    repo: untrusted(&p.repo, r),
                })
            }),
            mode: match v.mode {
                crate::verdict::JudgeMode::StatisticsAndLogs => "statistics and logs",
                crate::verdict::JudgeMode::Hybrid => "statistics, logs and LLM",
            },
            model: v.model.as_deref().map(|m| untrusted(m, r)),
            created: fmt::time(rec.created_ms),
            follow_up: String::new(),
        }
    }
}

/// Increases that look like failures first, then other increases.
fn top_templates(changes: &[TemplateChange], r: &Redactor) -> Vec<TemplateFact> {
    let increases = changes.iter().filter(|c| c.change.is_increase());
    let mut picked: Vec<&TemplateChange> = increases
        .clone()
        .filter(|c| c.error_like || c.meaningful)
        .take(MAX_TEMPLATES)
        .collect();
    if picked.is_empty() {
        picked = increases.take(MAX_TEMPLATES).collect();
    }
    picked
        .into_iter()
        .map(|c| TemplateFact {
            change: c.change.as_str(),
            level: format!("{:?}", c.level).to_lowercase(),
            canary: c.canary,
            stable: c.stable,
            template: untrusted(&r.clip(&c.template, TEMPLATE_CHARS), r),
            exemplar: c
                .cause
                .as_deref()
                .or_else(|| c.exemplars.first().and_then(|e| exemplar_lines(e).next()))
                .map(|e| untrusted(&r.clip(e, EXEMPLAR_CHARS), r)),
            timeline: c.timeline.display(),
        })
        .collect()
}

/// A fixed-width table: metric, canary and stable medians, p-value, outcome.
fn metric_table(metrics: &[MetricFact]) -> String {
    if metrics.is_empty() {
        return String::new();
    }
    let name = |m: &MetricFact| {
        let n = clip_plain(&m.name, 24);
        if m.critical { format!("{n}*") } else { n }
    };
    let width = metrics
        .iter()
        .take(MAX_METRICS)
        .map(|m| name(m).chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "{:<width$}  {:>10}  {:>10}  {:>7}  outcome\n",
        "metric", "canary", "stable", "p"
    );
    for m in metrics.iter().take(MAX_METRICS) {
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:>10}  {:>7}  {}\n",
            name(m),
            m.canary,
            m.stable,
            m.p_value,
            m.outcome
        ));
    }
    if metrics.len() > MAX_METRICS {
        out.push_str(&format!("({} more)\n", metrics.len() - MAX_METRICS));
    }
    out.push_str("* critical; medians over the window");
    out
}

/// The message built without templates: header, summary, link.
fn fallback_message(ctx: &MessageContext) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "emoji": true, "text": ctx.header}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": ctx.summary}}),
    ];
    if let Some(url) = &ctx.page_url {
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("<{url}|Open the verdict page>")}
        ]}));
    }
    json!({"text": ctx.fallback, "blocks": blocks})
}

/// Untrusted text made inert in mrkdwn: redacted, `&<>` escaped (no mention,
/// no link, no channel), backticks replaced so it cannot close a code span.
pub fn untrusted(s: &str, r: &Redactor) -> String {
    let redacted = r.redact_lines(s);
    let mut out = String::with_capacity(redacted.len());
    for c in redacted.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\u{2018}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters on one line, `…` where cut.
fn clip_plain(s: &str, max: usize) -> String {
    crate::text::clip(s, max)
}

/// `s` cut to at most `max` characters (not bytes) without breaking what
/// Slack parses: no half `&amp;` entity, no half `<url|label>` link, and a
/// code block cut open is closed again. Newlines are kept.
pub fn clip_mrkdwn(s: &str, max: usize) -> String {
    let s = s.trim_end();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    const FENCE: &str = "```";
    let cut = |n: usize| {
        let mut keep: String = s.chars().take(n).collect();
        if let Some(amp) = keep.rfind('&')
            && !keep[amp..].contains(';')
            && keep.len() - amp <= 6
        {
            keep.truncate(amp);
        }
        if let Some(lt) = keep.rfind('<')
            && !keep[lt..].contains('>')
        {
            keep.truncate(lt);
        }
        keep
    };
    let open = |k: &str| k.matches(FENCE).count() % 2 == 1;
    let mut keep = cut(max.saturating_sub(1));
    if open(&keep) {
        // Room for "…\n```" to close the code block.
        keep = cut(max.saturating_sub(5));
    }
    let close = open(&keep);
    keep.push('…');
    if close {
        keep.push('\n');
        keep.push_str(FENCE);
    }
    keep
}

/// Redacts every string of `msg` and holds it to Slack's limits: texts
/// clipped, empty texts and blocks dropped, at most 50 blocks (the last says
/// how many were left out), `verbatim` on every mrkdwn text.
pub fn enforce_limits(msg: Value, r: &Redactor) -> Value {
    use limits::*;
    let mut msg = redact_all(msg, r);
    let Some(obj) = msg.as_object_mut() else {
        return json!({"text": "rollwise verdict", "blocks": []});
    };
    let text = obj
        .get("text")
        .and_then(Value::as_str)
        .map(|t| clip_mrkdwn(t, FALLBACK_CHARS))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "rollwise verdict".into());
    obj.insert("text".into(), Value::String(text));

    let blocks = match obj.remove("blocks") {
        Some(Value::Array(b)) => b,
        _ => Vec::new(),
    };
    let mut out: Vec<Value> = blocks.into_iter().filter_map(fit_block).collect();
    if out.len() > MAX_BLOCKS {
        let dropped = out.len() - (MAX_BLOCKS - 1);
        out.truncate(MAX_BLOCKS - 1);
        out.push(json!({"type": "context", "elements": [{
            "type": "mrkdwn", "verbatim": true,
            "text": format!("({dropped} more blocks not shown: Slack allows {MAX_BLOCKS})"),
        }]}));
    }
    obj.insert("blocks".into(), Value::Array(out));
    msg
}

/// One block within its limits, or `None` when nothing of it is left.
fn fit_block(mut b: Value) -> Option<Value> {
    use limits::*;
    let kind = b
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let obj = b.as_object_mut()?;
    match kind.as_str() {
        "header" => {
            let t = obj
                .get_mut("text")
                .and_then(|t| fit_text(t, HEADER_CHARS))?;
            obj.insert("text".into(), t);
        }
        "section" => {
            let text = obj
                .remove("text")
                .and_then(|mut t| fit_text(&mut t, SECTION_CHARS));
            let fields: Vec<Value> = match obj.remove("fields") {
                Some(Value::Array(f)) => f
                    .into_iter()
                    .filter_map(|mut f| fit_text(&mut f, FIELD_CHARS))
                    .take(MAX_FIELDS)
                    .collect(),
                _ => Vec::new(),
            };
            if text.is_none() && fields.is_empty() {
                return None;
            }
            if let Some(t) = text {
                obj.insert("text".into(), t);
            }
            if !fields.is_empty() {
                obj.insert("fields".into(), Value::Array(fields));
            }
        }
        "context" => {
            let elements: Vec<Value> = match obj.remove("elements") {
                Some(Value::Array(e)) => e
                    .into_iter()
                    .filter_map(|mut e| match e.get("type").and_then(Value::as_str) {
                        Some("mrkdwn" | "plain_text") => fit_text(&mut e, CONTEXT_CHARS),
                        _ => Some(e),
                    })
                    .take(MAX_CONTEXT_ELEMENTS)
                    .collect(),
                _ => Vec::new(),
            };
            if elements.is_empty() {
                return None;
            }
            obj.insert("elements".into(), Value::Array(elements));
        }
        _ => {}
    }
    Some(b)
}

/// A text object clipped to `max`, or `None` when its text is empty.
fn fit_text(t: &mut Value, max: usize) -> Option<Value> {
    let o: &mut Map<String, Value> = t.as_object_mut()?;
    let text = o.get("text").and_then(Value::as_str)?;
    let clipped = clip_mrkdwn(text, max);
    if clipped.trim().is_empty() {
        return None;
    }
    o.insert("text".into(), Value::String(clipped));
    if o.get("type").and_then(Value::as_str) == Some("mrkdwn") {
        o.insert("verbatim".into(), Value::Bool(true));
    }
    Some(Value::Object(o.clone()))
}

fn redact_all(v: Value, r: &Redactor) -> Value {
    match v {
        Value::String(s) => Value::String(r.redact_lines(&s).into_owned()),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| redact_all(x, r)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, x)| (k, redact_all(x, r))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_by_characters_and_keeps_markup_whole() {
        let s = "é".repeat(200);
        let c = clip_mrkdwn(&s, 150);
        assert!(c.chars().count() <= 150, "{}", c.chars().count());
        assert!(c.ends_with('…'));
        let fenced = format!("```\n{}\n```", "x".repeat(100));
        let c = clip_mrkdwn(&fenced, 50);
        assert!(c.chars().count() <= 50);
        assert!(c.ends_with("…\n```"), "{c}");
        let c = clip_mrkdwn(&format!("{}&amp; tail", "a".repeat(42)), 45);
        assert!(!c.contains('&'), "{c}");
        let c = clip_mrkdwn(
            &format!("{}<https://x.example/long|link>", "a".repeat(40)),
            50,
        );
        assert!(!c.contains('<'), "{c}");
    }

    #[test]
    fn untrusted_text_cannot_mention_or_link() {
        let r = Redactor::new();
        let s = untrusted(
            "<!channel> see <https://evil.example|here> `x` & AKIAIOSFODNN7EXAMPLE",
            &r,
        );
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('`'),
            "{s}"
        );
        assert!(s.contains("&lt;!channel&gt;"), "{s}");
        assert!(!s.contains("AKIAIOSFODNN7EXAMPLE"), "{s}");
    }

    #[test]
    fn limits_drop_empty_blocks_and_cap_the_count() {
        let r = Redactor::new();
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": "h".repeat(400)}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": "  "}}),
        ];
        for i in 0..80 {
            blocks.push(
                json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("b{i}")}}),
            );
        }
        let v = enforce_limits(json!({"text": "", "blocks": blocks}), &r);
        let b = v["blocks"].as_array().unwrap();
        assert_eq!(b.len(), limits::MAX_BLOCKS);
        assert_eq!(
            b[0]["text"]["text"].as_str().unwrap().chars().count(),
            limits::HEADER_CHARS
        );
        assert_eq!(b[1]["text"]["text"], "b0", "empty section dropped");
        assert_eq!(b[1]["text"]["verbatim"], true);
        assert!(
            b[49]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("32 more")
        );
        assert_eq!(v["text"], "rollwise verdict");
    }

    #[test]
    fn embedded_templates_compile_and_overrides_replace_them() {
        assert!(SlackTemplates::load(None).is_ok());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("slack")).unwrap();
        std::fs::write(dir.path().join("slack/message.tera"), "{% if %}").unwrap();
        assert!(matches!(
            SlackTemplates::load(Some(dir.path())),
            Err(Error::Config(_))
        ));
        std::fs::write(
            dir.path().join("slack/message.tera"),
            "not json {{ verdict }}",
        )
        .unwrap();
        let t = SlackTemplates::load(Some(dir.path())).unwrap();
        let ev = crate::judge::test_support::evidence();
        let v = crate::judge::Judge::default().judge(&ev);
        let rec = AnalysisRecord::new("x".into(), crate::store::Origin::Cli, 0, v, &ev, None);
        let (msg, err) = t.message(&rec, None);
        assert!(matches!(err, Some(Error::Config(_))));
        assert_eq!(msg["blocks"][0]["type"], "header", "fallback message");
    }
}
