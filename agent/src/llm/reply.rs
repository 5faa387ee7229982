//! The model's reply: one Rust type, from which the JSON schema sent to the
//! endpoint is derived and against which every reply is validated.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LlmError;
use crate::evidence::Decision;

/// Longest summary accepted: one sentence a person reads in a Slack message.
pub const MAX_SUMMARY_CHARS: usize = 300;
/// More reasons than this is padding, not judgement.
pub const MAX_REASONS: usize = 3;
const MAX_REASON_CHARS: usize = 120;

/// What the model may answer. Every field is required and nothing else is
/// allowed, which is what OpenAI's strict structured outputs demand. Field
/// order matters: models write fields in schema order (schemars keeps it with
/// `preserve_order`), so the verdict comes before the free text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "CanaryVerdict")]
pub struct LlmReply {
    /// promote: the canary is at least as good as stable; abort: it is worse;
    /// inconclusive: the evidence cannot tell.
    pub verdict: ReplyVerdict,
    /// How sure, 0 (guess) to 100 (certain).
    #[schemars(range(min = 0, max = 100))]
    pub confidence: u32,
    /// One sentence for the release owner.
    #[schemars(length(max = 300))]
    pub summary: String,
    /// The most likely cause of a regression (an exception, a dependency, a
    /// config key), or an empty string when there is none.
    #[schemars(length(max = 120))]
    pub suspected_root_cause: String,
    /// The facts behind the verdict, most important first, each citing the evidence.
    #[schemars(length(max = 3), inner(length(max = 120)))]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplyVerdict {
    Promote,
    Abort,
    Inconclusive,
}

impl From<ReplyVerdict> for Decision {
    fn from(v: ReplyVerdict) -> Decision {
        match v {
            ReplyVerdict::Promote => Decision::Promote,
            ReplyVerdict::Abort => Decision::Abort,
            ReplyVerdict::Inconclusive => Decision::Inconclusive,
        }
    }
}

/// The schema sent to the endpoint, derived from [`LlmReply`]. `$schema` and
/// integer `format`s are dropped: strict endpoints reject keywords they do not
/// know, and the bounds are stated with minimum/maximum anyway.
pub fn reply_schema() -> serde_json::Value {
    let mut v = schemars::schema_for!(LlmReply).to_value();
    strip_keywords(&mut v);
    v
}

/// The schema for small local models (the compact prompt style): the same type
/// with tighter bounds. A CPU model's latency is its generated tokens (about
/// 30 ms each for SmolLM2-135M on this project's 2-core machine, grammar or
/// not), and a 135M model fills every string towards its bound, so the bounds
/// are the latency: a one-sentence summary, the root cause as a short name, and
/// no reasons (the verdict's reasons come from rollwise's own checks; the tiny
/// model's only repeated its summary). Measured on 24 replayed prompts: 130
/// generated tokens with the previous bounds (140/80/2 reasons of 80), 92 with
/// these. Every reply it allows is also a valid [`LlmReply`], so validation is
/// unchanged.
pub fn compact_reply_schema() -> serde_json::Value {
    let mut v = reply_schema();
    if let Some(props) = v.get_mut("properties").and_then(|p| p.as_object_mut()) {
        if let Some(summary) = props.get_mut("summary") {
            summary["maxLength"] = COMPACT_SUMMARY_CHARS.into();
        }
        if let Some(cause) = props.get_mut("suspected_root_cause") {
            cause["maxLength"] = COMPACT_CAUSE_CHARS.into();
        }
        if let Some(reasons) = props.get_mut("reasons") {
            reasons["maxItems"] = COMPACT_REASONS.into();
            if let Some(items) = reasons.get_mut("items") {
                items["maxLength"] = COMPACT_CAUSE_CHARS.into();
            }
        }
    }
    v
}

const COMPACT_SUMMARY_CHARS: usize = 100;
const COMPACT_CAUSE_CHARS: usize = 40;
const COMPACT_REASONS: usize = 0;

fn strip_keywords(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove("$schema");
            if map.get("format").is_some_and(|f| f.is_string())
                && map.get("type").is_some_and(|t| t == "integer")
            {
                map.remove("format");
            }
            map.values_mut().for_each(strip_keywords);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_keywords),
        _ => {}
    }
}

/// Parse and validate a reply. Accepts bare JSON, a fenced ```json block, or JSON
/// surrounded by prose (endpoints without structured output do all three).
pub fn parse_reply(text: &str) -> Result<LlmReply, LlmError> {
    let json = extract_json(text)
        .ok_or_else(|| LlmError::Malformed(format!("no JSON object in {}", preview(text))))?;
    let reply: LlmReply = serde_json::from_str(json)
        .map_err(|e| LlmError::Malformed(format!("{e} in {}", preview(json))))?;
    reply.validate()?;
    Ok(reply)
}

impl LlmReply {
    /// The bounds the schema states, checked again: not every endpoint enforces
    /// them, and a scripted or hostile one need not.
    pub fn validate(&self) -> Result<(), LlmError> {
        let bad = |m: String| Err(LlmError::Malformed(m));
        if self.confidence > 100 {
            return bad(format!("confidence {} is above 100", self.confidence));
        }
        let n = self.summary.chars().count();
        if n > MAX_SUMMARY_CHARS {
            return bad(format!(
                "summary has {n} characters, at most {MAX_SUMMARY_CHARS}"
            ));
        }
        if self.summary.trim().is_empty() {
            return bad("summary is empty".into());
        }
        if self.reasons.len() > MAX_REASONS {
            return bad(format!(
                "{} reasons, at most {MAX_REASONS}",
                self.reasons.len()
            ));
        }
        if let Some(r) = self
            .reasons
            .iter()
            .chain(std::iter::once(&self.suspected_root_cause))
            .find(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            return bad(format!(
                "a reason is longer than {MAX_REASON_CHARS} characters: {}",
                preview(r)
            ));
        }
        Ok(())
    }
}

fn extract_json(text: &str) -> Option<&str> {
    let t = text.trim();
    if let Some(start) = t.find("```") {
        let after = &t[start + 3..];
        let body_start = after.find('\n').map_or(0, |i| i + 1);
        let body = &after[body_start..];
        if let Some(end) = body.find("```") {
            return Some(body[..end].trim());
        }
    }
    let open = t.find('{')?;
    let close = t.rfind('}')?;
    (close > open).then(|| &t[open..=close])
}

fn preview(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    format!("`{out}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"verdict":"abort","confidence":80,"summary":"errors up","reasons":["error_rate 15% vs 0.1%"],"suspected_root_cause":"NullPointerException"}"#;

    #[test]
    fn schema_is_derived_strict_and_bounded() {
        let s = reply_schema();
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for f in [
            "verdict",
            "confidence",
            "summary",
            "reasons",
            "suspected_root_cause",
        ] {
            assert!(required.contains(&f), "{f} not required in {s}");
        }
        assert_eq!(s["properties"]["confidence"]["minimum"], 0);
        assert_eq!(s["properties"]["confidence"]["maximum"], 100);
        assert_eq!(s["properties"]["summary"]["maxLength"], 300);
        let c = compact_reply_schema();
        assert_eq!(c["properties"]["summary"]["maxLength"], 100);
        assert_eq!(c["properties"]["suspected_root_cause"]["maxLength"], 40);
        assert_eq!(c["properties"]["reasons"]["maxItems"], 0);
        // Tighter, never looser: everything else is the derived schema.
        assert_eq!(c["required"], s["required"]);
        assert_eq!(c["properties"]["verdict"], s["properties"]["verdict"]);
        assert!(s.get("$schema").is_none());
        assert!(s.to_string().contains("inconclusive"));
    }

    #[test]
    fn parses_bare_fenced_and_wrapped_json() {
        assert_eq!(parse_reply(GOOD).unwrap().verdict, ReplyVerdict::Abort);
        let fenced = format!("Here you go:\n```json\n{GOOD}\n```\nthanks");
        assert_eq!(parse_reply(&fenced).unwrap().confidence, 80);
        let wrapped = format!("Sure! {GOOD} Hope that helps.");
        assert!(parse_reply(&wrapped).is_ok());
    }

    #[test]
    fn rejects_what_the_type_forbids() {
        for bad in [
            "I think you should promote.",
            r#"{"verdict":"ship it","confidence":80,"summary":"x","reasons":[],"suspected_root_cause":""}"#,
            r#"{"verdict":"promote","confidence":101,"summary":"x","reasons":[],"suspected_root_cause":""}"#,
            r#"{"verdict":"promote","confidence":-1,"summary":"x","reasons":[],"suspected_root_cause":""}"#,
            r#"{"verdict":"promote","confidence":50,"summary":"x","reasons":[]}"#,
            r#"{"verdict":"promote","confidence":50,"summary":"x","reasons":[],"suspected_root_cause":"","extra":1}"#,
            r#"{"verdict":"promote","confidence":50,"summary":"","reasons":[],"suspected_root_cause":""}"#,
        ] {
            assert!(
                matches!(parse_reply(bad), Err(LlmError::Malformed(_))),
                "accepted {bad}"
            );
        }
        let long = format!(
            r#"{{"verdict":"promote","confidence":50,"summary":"{}","reasons":[],"suspected_root_cause":""}}"#,
            "x".repeat(301)
        );
        assert!(parse_reply(&long).is_err());
    }
}
