//! The wire types of the HTTP API: what callers send and what they get back.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::evidence::Decision;
use crate::store::AnalysisRecord;

/// `POST /v1/analyze`, as Argo's web provider sends it (the AnalysisTemplate in
/// `plugin/` fills the hashes from `podTemplateHashValue: Latest|Stable`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyzeRequest {
    pub namespace: String,
    pub rollout: String,
    /// Absent: taken from the Rollout's status (`currentPodHash`).
    #[serde(default)]
    pub canary_hash: Option<String>,
    /// Absent: taken from the Rollout's status (`stableRS`).
    #[serde(default)]
    pub stable_hash: Option<String>,
    /// In place of `stableHash`: the hash of an Argo Experiment's baseline
    /// ReplicaSet (`{{templates.baseline.podTemplateHash}}`), fresh pods of
    /// the stable version to compare the canary with.
    #[serde(default)]
    pub baseline_hash: Option<String>,
    /// How far back to look: `"10m"`, `"600s"`, `"1h"` or seconds as a number.
    #[serde(default)]
    pub window: Option<WindowSpec>,
    /// Extra context for the model (never instructions that change the rule).
    #[serde(default)]
    pub extra_prompt: Option<String>,
    /// PromQL overrides by metric name.
    #[serde(default)]
    pub queries: BTreeMap<String, String>,
}

/// A window given as seconds or as a duration string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WindowSpec {
    Seconds(u64),
    Text(String),
}

impl WindowSpec {
    /// Parse `"90s"`, `"10m"`, `"1h"`, `"1h30m"` or a plain number of seconds.
    pub fn duration(&self) -> Result<Duration, String> {
        match self {
            WindowSpec::Seconds(s) => Ok(Duration::from_secs(*s)),
            WindowSpec::Text(t) => crate::duration::parse_duration(t),
        }
    }
}

/// The reply of every analyze endpoint: small, so that Argo's
/// `jsonPath: "{$}"` with `result.verdict == "promote"` works, and
/// `jsonPath: "{$.measurement}"` (the templates in `plugin/`) with the same
/// conditions makes the AnalysisRun's measurement value a one-line why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeReply {
    pub verdict: Decision,
    pub confidence: u8,
    pub summary: String,
    /// The strongest reasons, most decisive first, one sentence each.
    pub reasons: Vec<String>,
    pub analysis_id: String,
    /// The verdict page.
    pub url: String,
    /// What Argo keeps as the measurement's value when the template selects it.
    pub measurement: Measurement,
}

/// The part of the reply an AnalysisTemplate selects with
/// `jsonPath: "{$.measurement}"`. Argo's web provider stores the JSON of
/// whatever the path selects as the measurement value (Go's encoder, keys
/// sorted: `{"verdict":"abort","why":"..."}`), which the AnalysisRun's status
/// and the dashboard show; the whole reply there would be a screenful.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub verdict: Decision,
    /// The most decisive reason, on one line, at most [`WHY_CHARS`]
    /// characters. Reason details are redacted when the judge builds them.
    pub why: String,
}

/// How many reasons the small reply carries (the page has all of them).
pub const REPLY_REASONS: usize = 5;

/// The longest measurement `why`: one line of a wide terminal, so that
/// `kubectl get analysisrun -o yaml` and the dashboard's value column show
/// it whole, and an AnalysisRun keeping 10 measurements stays small.
pub const WHY_CHARS: usize = 200;

impl Measurement {
    /// The verdict and its most decisive reason: for abort and inconclusive
    /// the first critical or regression reason, else the first concern (the
    /// reason that kept the verdict from promote); for promote the first
    /// reason. The summary stands in when there are no reasons.
    pub fn of(v: &crate::verdict::Verdict) -> Self {
        use crate::judge::signal::Severity;
        let decisive = match v.verdict {
            Decision::Promote => v.reasons.first(),
            _ => v
                .reasons
                .iter()
                .find(|r| matches!(r.severity, Severity::Critical | Severity::Regression))
                .or_else(|| v.reasons.iter().find(|r| r.severity == Severity::Concern))
                .or_else(|| v.reasons.first()),
        };
        let text = decisive.map_or(v.summary.as_str(), |r| r.detail.as_str());
        Measurement {
            verdict: v.verdict,
            why: crate::text::clip(text, WHY_CHARS),
        }
    }
}

impl AnalyzeReply {
    pub fn from_record(rec: &AnalysisRecord, public_url: &str) -> Self {
        let v = &rec.verdict;
        AnalyzeReply {
            verdict: v.verdict,
            confidence: v.confidence,
            summary: v.summary.clone(),
            reasons: v
                .reasons
                .iter()
                .take(REPLY_REASONS)
                .map(|r| r.detail.clone())
                .collect(),
            analysis_id: rec.id.clone(),
            url: analysis_url(public_url, &rec.id),
            measurement: Measurement::of(v),
        }
    }
}

pub fn analysis_url(public_url: &str, id: &str) -> String {
    format!("{}/analyses/{id}", public_url.trim_end_matches('/'))
}

/// `POST /a2a/analyze`: rollouts-plugin-metric-ai's agent contract.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct A2aRequest {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub memory_id: Option<String>,
    /// The plugin's free-text prompt. Not used to decide anything: the
    /// structured `context` says what to analyse.
    #[serde(default)]
    pub prompt: Option<String>,
    pub context: A2aContext,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct A2aContext {
    pub namespace: String,
    pub rollout_name: String,
    #[serde(default)]
    pub stable_selector: Option<String>,
    #[serde(default)]
    pub canary_selector: Option<String>,
    #[serde(default)]
    pub extra_prompt: Option<String>,
    /// Newer plugin versions: the repository its agent may propose fixes in
    /// (`githubUrl` in the plugin's config). Accepted; rollwise's remediation
    /// takes repositories from its own allowlist and the Rollout's annotations.
    #[serde(default)]
    pub repo_url: Option<String>,
    /// Newer plugin versions: the branch fixes are proposed against. Accepted
    /// like `repoUrl`.
    #[serde(default)]
    pub base_branch: Option<String>,
}

/// The metric-ai plugin's reply: `promote` decides its measurement. The first
/// five fields are every plugin version's; the optional ones are the newer
/// reference agent's (its Go client decodes them when present, and an older
/// client ignores fields it does not know), so either version reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct A2aReply {
    pub analysis: String,
    pub root_cause: String,
    pub remediation: String,
    pub promote: bool,
    pub confidence: u8,
    /// The draft pull request the remediation agent opened, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_link: Option<String>,
    /// One entry per judge that took part. rollwise decides by one rule, so
    /// this is one entry: the rule's verdict, naming the model when one was
    /// consulted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_results: Vec<A2aModelResult>,
    /// How the entries were combined into `promote`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voting_rationale: Option<String>,
}

/// One judge's result in [`A2aReply::model_results`], in the newer agent's
/// shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct A2aModelResult {
    pub model_name: String,
    pub analysis: String,
    pub root_cause: String,
    pub remediation: String,
    pub promote: bool,
    pub confidence: u8,
    pub execution_time_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Flagger's rollout webhook payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlaggerRequest {
    pub name: String,
    pub namespace: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// An error reply: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "analysisId")]
    pub analysis_id: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            retry_after: None,
            error: ErrorBody {
                code,
                message: message.into(),
                field: None,
                analysis_id: None,
            },
        }
    }

    /// 422: the body parsed but a field is wrong.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message);
        e.error.field = Some(field.to_owned());
        e
    }

    /// 400: the body is not the JSON the endpoint takes.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token: send `Authorization: Bearer <ROLLWISE_API_TOKEN>`",
        )
    }

    /// 503 with Retry-After: the analysis runs on; the next call answers from cache.
    pub fn still_running(id: &str, retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "analysis_running",
            format!(
                "analysis {id} is still running; call again in {}s for its verdict (it is cached)",
                retry_after.as_secs().max(1)
            ),
        );
        e.retry_after = Some(retry_after);
        e.error.analysis_id = Some(id.to_owned());
        e
    }

    /// 503: every analysis slot stayed taken until the deadline.
    pub fn overloaded(retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many analyses running; none finished before the deadline, retry shortly",
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 503 with Retry-After: as many analyses wait for a slot as the server queues.
    pub fn queue_full(retry_after: Duration) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!(
                "too many analyses are running or waiting (max-concurrent-analyses plus max-queued-analyses); retry in {}s",
                retry_after.as_secs().max(1)
            ),
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 408: the body did not arrive in time.
    pub fn body_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time ([server] body-timeout-secs, or the deadline)",
        )
    }

    /// 413: the body is over `setting` (the route's bound).
    pub fn body_too_large(setting: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is over {setting}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry = self.retry_after;
        let mut resp = (status, Json(self)).into_response();
        if let Some(d) = retry
            && let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::signal::{Severity, SignalSource};

    fn verdict(decision: Decision, reasons: &[(Severity, &str)]) -> crate::verdict::Verdict {
        let rollout = crate::verdict::RolloutSummary {
            scenario: "s".into(),
            namespace: "shop".into(),
            name: "checkout".into(),
            canary_hash: None,
            stable_hash: None,
            canary_image: None,
        };
        let mut v = crate::verdict::Verdict::could_not_judge(rollout, "x");
        v.verdict = decision;
        v.summary = "shop/checkout: the summary".into();
        v.reasons = reasons
            .iter()
            .map(|(sev, d)| crate::verdict::Reason {
                signal: SignalSource::Metric,
                severity: *sev,
                detail: (*d).to_owned(),
                evidence: "metrics".into(),
            })
            .collect();
        v
    }

    #[test]
    fn the_measurement_why_is_the_decisive_reason_on_one_clipped_line() {
        let v = verdict(
            Decision::Abort,
            &[
                (Severity::Pass, "latency within tolerance"),
                (Severity::Concern, "low traffic"),
                (Severity::Critical, "error_rate regressed:\n4.1% vs 0.2%"),
            ],
        );
        let m = Measurement::of(&v);
        assert_eq!(m.verdict, Decision::Abort);
        assert_eq!(m.why, "error_rate regressed: 4.1% vs 0.2%");
        let v = verdict(
            Decision::Inconclusive,
            &[
                (Severity::Pass, "pods healthy"),
                (Severity::Concern, "low traffic"),
            ],
        );
        assert_eq!(Measurement::of(&v).why, "low traffic");
        let v = verdict(
            Decision::Promote,
            &[(Severity::Pass, "error_rate within tolerance")],
        );
        assert_eq!(Measurement::of(&v).why, "error_rate within tolerance");
        assert_eq!(
            Measurement::of(&verdict(Decision::Promote, &[])).why,
            "shop/checkout: the summary"
        );
        let long = "x ".repeat(400);
        let m = Measurement::of(&verdict(Decision::Abort, &[(Severity::Regression, &long)]));
        assert_eq!(m.why.chars().count(), WHY_CHARS);
        assert!(m.why.ends_with('…'));
        // Go's encoder sorts keys: the stored value reads verdict first.
        let json = serde_json::to_value(&m).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["verdict", "why"]);
    }
}
