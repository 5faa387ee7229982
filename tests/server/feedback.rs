//! Feedback on verdicts through the service: the API route (token, 404,
//! 422 naming the field, redacted reason), Slack's interactivity route with
//! real signatures (forged, replayed and stale ones refused and counted),
//! both shown on the verdict page and counted in `/metrics`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rollwise::server::config::SigningSecret;
use rollwise::server::{self, AppState};
use serde_json::json;
use tower::ServiceExt;

use super::{TOKEN, call, post, scenario, state_with};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn judged(st: &Arc<AppState>) -> String {
    let body = serde_json::to_value(scenario("p03-inventory-go-panic.json")).unwrap();
    let r = post(st, "/v1/verdicts", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort", "{}", r.text);
    r.body["analysisId"].as_str().unwrap().to_owned()
}

async fn page(st: &Arc<AppState>, id: &str) -> String {
    let req = Request::builder()
        .uri(format!("/analyses/{id}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let resp = server::app(Arc::clone(st))
        .unwrap()
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn metric(text: &str, line_prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn api_feedback_labels_the_analysis_and_shows_on_the_page() {
    let st = state_with(None, |_| {});
    let id = judged(&st).await;
    let url = format!("/v1/analyses/{id}/feedback");
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];

    let none = call(
        &st,
        "POST",
        &url,
        Some(json!({"verdict": "right"}).to_string()),
        &[],
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{}", none.text);

    let bad = call(
        &st,
        "POST",
        &url,
        Some(json!({"verdict": "ship-it"}).to_string()),
        &auth,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["error"]["field"], "verdict", "{}", bad.text);

    let missing = call(
        &st,
        "POST",
        "/v1/analyses/nosuchanalysis/feedback",
        Some(json!({"verdict": "right"}).to_string()),
        &auth,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    let body = json!({"verdict": "promote", "reason": "known flaky panic; key AKIAIOSFODNN7EXAMPLE", "who": "ci-pipeline"});
    let r = call(&st, "POST", &url, Some(body.to_string()), &auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["verdict"], "abort");
    assert_eq!(r.body["feedback"][0]["expected"], "promote");
    assert_eq!(r.body["feedback"][0]["right"], false);
    assert_eq!(r.body["feedback"][0]["who"], "ci-pipeline");
    assert!(
        r.body["note"]
            .as_str()
            .unwrap()
            .contains("does not promote")
    );
    assert!(!r.text.contains("AKIAIOSFODNN7EXAMPLE"), "{}", r.text);
    assert!(!r.text.contains("AKIAIOSFODNN"), "{}", r.text);

    let html = page(&st, &id).await;
    assert!(html.contains("id=\"feedback\""), "no feedback section");
    assert!(html.contains("wrong: should be promote"));
    assert!(html.contains("ci-pipeline"));
    assert!(!html.contains("AKIAIOSFODNN"));

    let m = call(&st, "GET", "/metrics", None, &[]).await.text;
    assert_eq!(
        metric(
            &m,
            "rollwise_feedback_total{via=\"api\",agreement=\"wrong\"} "
        ),
        1,
        "{m}"
    );
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signed(secret: &str, ts: i64, body: &str) -> (String, String) {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("v0:{ts}:{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (ts.to_string(), format!("v0={hex}"))
}

/// A click as Slack sends it: form-encoded `payload` with the
/// `block_actions` JSON (Slack's interactivity reference).
fn click_body(id: &str, judgement: &str, user: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "team": {"id": "T9TK3CUKW", "domain": "example"},
        "user": {"id": user, "username": "oncall", "team_id": "T9TK3CUKW"},
        "api_app_id": "AABA1ABCD",
        "token": "9s8d9as89d8as9d8as989",
        "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": "CBR2V3XEX", "is_ephemeral": false},
        "trigger_id": "12466734323.1395872398.8a3d4f5ca0ffb3d6a2c1ba7e4f0a1cb7",
        "channel": {"id": "CBR2V3XEX", "name": "deploys"},
        "response_url": "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
        "actions": [{
            "action_id": format!("rollwise_feedback_{judgement}"),
            "block_id": "rollwise_feedback",
            "text": {"type": "plain_text", "text": "Verdict right", "emoji": true},
            "value": format!("{judgement}:{id}"),
            "type": "button",
            "action_ts": "1548426417.840180"
        }]
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

async fn slack(st: &Arc<AppState>, body: &str, ts: &str, sig: &str) -> super::Reply {
    call(
        st,
        "POST",
        "/v1/slack/interactions",
        Some(body.to_owned()),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-slack-request-timestamp", ts),
            ("x-slack-signature", sig),
        ],
    )
    .await
}

#[tokio::test]
async fn slack_clicks_are_verified_recorded_and_counted() {
    let st = state_with(None, |c| {
        c.slack_signing_secret = Some(SigningSecret(SECRET.into()));
    });
    let id = judged(&st).await;
    let body = click_body(&id, "right", "U024BE7LH");
    let (ts, sig) = signed(SECRET, now(), &body);
    let ok = slack(&st, &body, &ts, &sig).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    // Forged: signed with another secret; tampered: the body changed after
    // signing; stale: a replay of a request signed six minutes ago.
    let (fts, fsig) = signed("not-the-secret", now(), &body);
    let forged = slack(&st, &body, &fts, &fsig).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.text);
    let tampered = click_body(&id, "promote", "U024BE7LH");
    let t = slack(&st, &tampered, &ts, &sig).await;
    assert_eq!(t.status, StatusCode::UNAUTHORIZED, "{}", t.text);
    let (ots, osig) = signed(SECRET, now() - 360, &body);
    let stale = slack(&st, &body, &ots, &osig).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "{}", stale.text);
    let unsigned = call(
        &st,
        "POST",
        "/v1/slack/interactions",
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(
        unsigned.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        unsigned.text
    );

    // Only the verified click was stored: who is the Slack user id.
    let rec = st.history.store.get(&id).await.unwrap().unwrap();
    assert_eq!(rec.feedback.len(), 1, "{:?}", rec.feedback);
    assert_eq!(rec.feedback[0].who, "U024BE7LH");
    assert!(rec.feedback[0].right);
    let html = page(&st, &id).await;
    assert!(
        html.contains("U024BE7LH") && html.contains(">right<"),
        "page misses the click"
    );

    let m = call(&st, "GET", "/metrics", None, &[]).await.text;
    let count = |r: &str| {
        metric(
            &m,
            &format!("rollwise_slack_interactions_total{{result=\"{r}\"}} "),
        )
    };
    assert_eq!(count("ok"), 1, "{m}");
    assert_eq!(count("bad_signature"), 2, "{m}");
    assert_eq!(count("stale"), 1, "{m}");
    assert_eq!(count("no_timestamp"), 1, "{m}");
    assert_eq!(
        metric(
            &m,
            "rollwise_feedback_total{via=\"slack\",agreement=\"right\"} "
        ),
        1,
        "{m}"
    );
}

#[tokio::test]
async fn without_a_signing_secret_the_slack_route_is_off() {
    let st = state_with(None, |_| {});
    let body = click_body("x", "right", "U1");
    let (ts, sig) = signed(SECRET, now(), &body);
    let r = slack(&st, &body, &ts, &sig).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(
        r.text.contains("ROLLWISE_SLACK_SIGNING_SECRET"),
        "{}",
        r.text
    );
}
