//! Feedback on verdicts: `POST /v1/analyses/{id}/feedback` (the API token)
//! and `POST /v1/slack/interactions` (Slack's feedback buttons, signed with
//! the app's signing secret). Feedback labels an analysis in the history; it
//! never promotes, aborts or otherwise touches a rollout.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::api::ApiError;
use crate::evidence::Decision;
use crate::notify::blocks::FEEDBACK_ACTION_PREFIX;
use crate::store::{Feedback, FeedbackVia};

/// How old a signed Slack request may be (Slack's documented five minutes).
const SLACK_MAX_AGE_SECS: i64 = 300;
/// Slack's interaction payloads are small; bigger bodies are refused unread.
const SLACK_MAX_BODY: usize = 64 * 1024;

/// What a person says of a verdict: right, or what it should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Judgement {
    Right,
    Promote,
    Abort,
    Inconclusive,
}

impl Judgement {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "right" => Some(Judgement::Right),
            "promote" => Some(Judgement::Promote),
            "abort" => Some(Judgement::Abort),
            "inconclusive" => Some(Judgement::Inconclusive),
            _ => None,
        }
    }

    /// The feedback this judgement is of a verdict `given`.
    pub fn feedback(
        self,
        given: Decision,
        reason: String,
        who: String,
        via: FeedbackVia,
    ) -> Feedback {
        let expected = match self {
            Judgement::Right => given,
            Judgement::Promote => Decision::Promote,
            Judgement::Abort => Decision::Abort,
            Judgement::Inconclusive => Decision::Inconclusive,
        };
        Feedback {
            expected,
            right: expected == given,
            reason,
            who,
            via,
            created_ms: crate::store::now_ms(),
        }
    }
}

/// The body of `POST /v1/analyses/{id}/feedback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FeedbackRequest {
    /// `right`, or the verdict it should have been.
    pub verdict: Judgement,
    #[serde(default)]
    pub reason: String,
    /// Who is saying it (a pipeline's or person's name; default "api").
    #[serde(default)]
    pub who: Option<String>,
}

/// The answer: the analysis's feedback so far, the latest last.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackReply {
    pub analysis_id: String,
    pub verdict: Decision,
    pub feedback: Vec<Feedback>,
    /// Said in every answer: feedback changes no rollout.
    pub note: &'static str,
}

const NOTE: &str =
    "feedback labels this analysis for evaluation; it does not promote or abort the rollout";

/// `POST /v1/analyses/{id}/feedback`.
pub async fn api(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FeedbackReply>, ApiError> {
    let req: FeedbackRequest = super::routes::parse_json(body)?;
    let who = req
        .who
        .filter(|w| !w.trim().is_empty())
        .unwrap_or_else(|| "api".into());
    record(&st, &id, req.verdict, req.reason, who, FeedbackVia::Api).await
}

/// Store one judgement of analysis `id` and answer its feedback so far.
async fn record(
    st: &AppState,
    id: &str,
    j: Judgement,
    reason: String,
    who: String,
    via: FeedbackVia,
) -> Result<Json<FeedbackReply>, ApiError> {
    let store = &st.history.store;
    let unavailable = |e: crate::store::StoreError| {
        st.metrics.store_error("feedback", &e);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the history store could not be read or written; retry shortly",
        )
    };
    let Some(rec) = store.get(id).await.map_err(unavailable)? else {
        return Err(not_found(id));
    };
    let f = j.feedback(rec.verdict.verdict, reason, who, via);
    if !store.add_feedback(id, &f).await.map_err(unavailable)? {
        return Err(not_found(id));
    }
    st.metrics.feedback(via.as_str(), f.right);
    let rec = store
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| not_found(id))?;
    tracing::info!(
        analysis = id,
        via = via.as_str(),
        right = f.right,
        "feedback recorded"
    );
    Ok(Json(FeedbackReply {
        analysis_id: rec.id.clone(),
        verdict: rec.verdict.verdict,
        feedback: rec.feedback.clone(),
        note: NOTE,
    }))
}

fn not_found(id: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no analysis {id} in the history (it may have passed the retention)"),
    );
    e.error.analysis_id = Some(id.to_owned());
    e
}

/// `POST /v1/slack/interactions`: a click on a verdict message's feedback
/// buttons. The request must carry Slack's v0 signature over its timestamp
/// and body, made with the signing secret, and be at most five minutes old
/// (Slack's "Verifying requests" guide); anything else is a 401, counted.
pub async fn slack(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &st.cfg.slack_signing_secret else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_configured",
            "Slack interactivity is off: set ROLLWISE_SLACK_SIGNING_SECRET",
        )
        .into_response();
    };
    if body.len() > SLACK_MAX_BODY {
        st.metrics.slack_interaction("too_large");
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "interaction payload too large",
        )
        .into_response();
    }
    if let Err(why) = verify_slack(&secret.0, &headers, &body, crate::store::now_ms() / 1000) {
        st.metrics.slack_interaction(why);
        tracing::warn!(why, "refused a Slack interaction");
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the Slack request signature did not verify",
        )
        .into_response();
    }
    let click = match parse_click(&body) {
        Ok(c) => c,
        Err(msg) => {
            st.metrics.slack_interaction("bad_payload");
            return ApiError::bad_request(msg).into_response();
        }
    };
    st.metrics.slack_interaction("ok");
    match record(
        &st,
        &click.analysis_id,
        click.judgement,
        String::new(),
        click.user,
        FeedbackVia::Slack,
    )
    .await
    {
        // Slack wants a 200 within 3 s; the thread shows the feedback through
        // the message's next update, and the page at once.
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Check Slack's v0 signature: `X-Slack-Signature` is `v0=` and the hex
/// HMAC-SHA256, keyed by the signing secret, of `v0:{timestamp}:{body}`;
/// `X-Slack-Request-Timestamp` within five minutes of `now`. The error is
/// the metric label of why it failed.
pub fn verify_slack(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let ts = header("x-slack-request-timestamp").ok_or("no_timestamp")?;
    let sig = header("x-slack-signature").ok_or("no_signature")?;
    let at: i64 = ts.trim().parse().map_err(|_| "no_timestamp")?;
    if (now - at).abs() > SLACK_MAX_AGE_SECS {
        return Err("stale");
    }
    let hex = sig.strip_prefix("v0=").ok_or("bad_signature")?;
    let tag = decode_hex(hex).ok_or("bad_signature")?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = Vec::with_capacity(body.len() + ts.len() + 4);
    msg.extend_from_slice(b"v0:");
    msg.extend_from_slice(ts.as_bytes());
    msg.push(b':');
    msg.extend_from_slice(body);
    ring::hmac::verify(&key, &msg, &tag).map_err(|_| "bad_signature")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One feedback button click.
#[derive(Debug, PartialEq)]
pub struct Click {
    pub analysis_id: String,
    pub judgement: Judgement,
    /// The Slack user id of who clicked.
    pub user: String,
}

/// The click in a `block_actions` payload (form field `payload`, JSON): the
/// button's value is `<judgement>:<analysis id>`, as
/// [`crate::notify::blocks::add_feedback_buttons`] writes it.
pub fn parse_click(body: &[u8]) -> Result<Click, String> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or("no `payload` form field: not a Slack interaction")?;
    let p: serde_json::Value = serde_json::from_str(&payload)
        .map_err(|e| format!("the interaction payload is not JSON: {e}"))?;
    if p["type"] != "block_actions" {
        return Err(format!(
            "interaction type {} is not block_actions",
            p["type"]
        ));
    }
    let user = p["user"]["id"]
        .as_str()
        .ok_or("the payload has no user.id")?;
    let action = p["actions"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|a| {
                a["action_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(FEEDBACK_ACTION_PREFIX))
            })
        })
        .ok_or("no rollwise feedback action in the payload")?;
    let value = action["value"].as_str().ok_or("the action has no value")?;
    let (j, id) = value
        .split_once(':')
        .ok_or("the action value is not judgement:id")?;
    let judgement = Judgement::parse(j).ok_or_else(|| format!("unknown judgement {j:?}"))?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("the action value's analysis id is not an id".into());
    }
    Ok(Click {
        analysis_id: id.to_owned(),
        judgement,
        user: user.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, ts: &str, body: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let mut msg = format!("v0:{ts}:").into_bytes();
        msg.extend_from_slice(body);
        let tag = ring::hmac::sign(&key, &msg);
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("v0={hex}")
    }

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.parse().unwrap());
        h.insert("x-slack-signature", sig.parse().unwrap());
        h
    }

    /// Slack's own worked example ("Verifying requests from Slack"): this
    /// secret, timestamp and body give this signature.
    #[test]
    fn slacks_documented_example_verifies() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let ts = "1531420618";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, ts, body), sig);
        assert_eq!(
            verify_slack(secret, &headers(ts, sig), body, 1_531_420_618),
            Ok(())
        );
        // Five minutes and a second later it is refused as stale.
        assert_eq!(
            verify_slack(secret, &headers(ts, sig), body, 1_531_420_919),
            Err("stale")
        );
        // Any byte changed, or another secret: refused.
        let mut other = body.to_vec();
        other[0] = b'T';
        assert_eq!(
            verify_slack(secret, &headers(ts, sig), &other, 1_531_420_618),
            Err("bad_signature")
        );
        assert_eq!(
            verify_slack("another", &headers(ts, sig), body, 1_531_420_618),
            Err("bad_signature")
        );
        assert_eq!(
            verify_slack(secret, &HeaderMap::new(), body, 1_531_420_618),
            Err("no_timestamp")
        );
    }

    /// The buttons the verdict message carries are the clicks this route
    /// reads: every button of a message round-trips to its judgement.
    #[test]
    fn a_click_is_read_from_the_block_actions_payload() {
        let ev = crate::judge::test_support::evidence();
        let v = crate::judge::Judge::new(Default::default(), Default::default()).judge(&ev);
        let rec = crate::store::AnalysisRecord::new(
            "1a2b3c".into(),
            crate::store::Origin::Analyze,
            0,
            v,
            &ev,
            None,
        );
        let mut msg = serde_json::json!({"text": "t", "blocks": []});
        crate::notify::blocks::add_feedback_buttons(&mut msg, &rec);
        let buttons = msg["blocks"][0]["elements"].as_array().unwrap().clone();
        assert_eq!(buttons.len(), 3);
        let mut seen = Vec::new();
        for b in &buttons {
            let payload = serde_json::json!({
                "type": "block_actions",
                "user": {"id": "U024BE7LH", "username": "oncall", "team_id": "T024BE7LD"},
                "actions": [{"action_id": b["action_id"], "block_id": "rollwise_feedback", "type": "button",
                             "value": b["value"], "action_ts": "1548426417.840180"}],
            });
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &payload.to_string())
                .finish();
            let c = parse_click(body.as_bytes()).unwrap();
            assert_eq!(
                (c.analysis_id.as_str(), c.user.as_str()),
                ("1a2b3c", "U024BE7LH")
            );
            seen.push(c.judgement);
        }
        assert!(seen.contains(&Judgement::Right), "{seen:?}");
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U024BE7LH", "username": "oncall", "team_id": "T024BE7LD"},
            "actions": [{"action_id": "rollwise_feedback_abort", "block_id": "rollwise_feedback", "type": "button",
                         "value": "abort:1a2b3c", "action_ts": "1548426417.840180"}],
        });
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let c = parse_click(body.as_bytes()).unwrap();
        assert_eq!(
            c,
            Click {
                analysis_id: "1a2b3c".into(),
                judgement: Judgement::Abort,
                user: "U024BE7LH".into()
            }
        );
        assert!(parse_click(b"payload=%7B%22type%22%3A%22view_submission%22%7D").is_err());
        assert!(parse_click(b"text=hi").is_err());
    }

    #[test]
    fn right_means_the_verdict_given_and_a_correction_is_not_right() {
        let f =
            Judgement::Right.feedback(Decision::Abort, String::new(), "u".into(), FeedbackVia::Api);
        assert_eq!((f.expected, f.right), (Decision::Abort, true));
        let f = Judgement::Promote.feedback(
            Decision::Abort,
            String::new(),
            "u".into(),
            FeedbackVia::Api,
        );
        assert_eq!((f.expected, f.right), (Decision::Promote, false));
        let f =
            Judgement::Abort.feedback(Decision::Abort, String::new(), "u".into(), FeedbackVia::Api);
        assert!(f.right);
    }
}
