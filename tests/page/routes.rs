//! Routes through `tower::ServiceExt::oneshot`: no socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::{SCRIPT_EVENT, SCRIPT_EXEMPLAR, app, store};

async fn get(uri: &str, accept: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(uri);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = app(store())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn assert_secure_headers(h: &axum::http::HeaderMap) {
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
}

#[tokio::test]
async fn list_is_newest_first_and_filters() {
    let (s, h, body) = get("/analyses", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_secure_headers(&h);
    let pos = |id: &str| {
        body.find(&format!("/analyses/{id}\""))
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    assert!(
        pos("hostile") < pos("p21-quiet")
            && pos("p21-quiet") < pos("p12-ok")
            && pos("p12-ok") < pos("p05-oom")
    );
    assert!(body.contains("href=\"https://github.com/acme/reports/pull/17\""));

    let (_, _, body) = get("/analyses?verdict=abort&namespace=&rollout=", None).await;
    assert!(body.contains("/analyses/p05-oom\"") && !body.contains("/analyses/p12-ok\""));
    assert!(
        body.contains("<option value=\"abort\" selected>"),
        "the form shows the filter"
    );

    let (_, _, body) = get("/analyses?namespace=analytics", None).await;
    assert!(body.contains("/analyses/p05-oom\"") && !body.contains("/analyses/hostile\""));

    let (s, _, body) = get("/analyses?verdict=maybe", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("promote, abort or inconclusive"));
}

#[tokio::test]
async fn json_variants_by_query_and_accept() {
    let (s, h, body) = get("/analyses?format=json&verdict=promote", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "p12-ok");
    assert_eq!(items[0]["verdict"], "promote");
    assert_eq!(items[0]["url"], "/analyses/p12-ok");

    let (s, _, body) = get("/analyses/p05-oom", Some("application/json")).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["id"], "p05-oom");
    assert_eq!(v["verdict"]["verdict"], "abort");
    assert_eq!(v["pr"]["number"], 17);
    assert!(
        v["templates"]["changes"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );

    let (s, _, body) = get("/analyses/hostile?format=json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !body.contains("AKIAIOSFODNN7EXAMPLE"),
        "JSON is redacted too"
    );
}

#[tokio::test]
async fn unknown_ids_are_404_pages() {
    let (s, h, body) = get("/analyses/nope%3Cb%3E", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_secure_headers(&h);
    assert!(body.contains("Analysis not found"));
    assert!(
        body.contains("nope&lt;b&gt;") && !body.contains("nope<b>"),
        "the id is escaped"
    );
    let (s, _, body) = get("/analyses/nope?format=json", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "Analysis not found");
}

#[tokio::test]
async fn detail_has_verdict_reasons_charts_templates_pods_events_and_pr() {
    let (s, h, body) = get("/analyses/p05-oom", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_secure_headers(&h);
    assert!(body.contains("<span class=\"badge abort\">ABORT</span>"));
    for section in ["reasons", "metrics", "templates", "pods", "events", "judge"] {
        assert!(
            body.contains(&format!("<section id=\"{section}\">")),
            "{section}"
        );
    }
    assert_eq!(
        body.matches("<svg class=\"chart\"").count(),
        3,
        "one chart per metric"
    );
    assert_eq!(body.matches("class=\"series series-canary\"").count(), 3);
    assert_eq!(body.matches("class=\"series series-stable\"").count(), 3);
    assert!(body.contains("memory_working_set_mib"));
    assert!(body.contains("OOMKilled"), "pods' last termination");
    assert!(
        body.contains("<th>when (thirds of the window)</th>")
            && body.contains("after pod start; per third"),
        "each template's timeline"
    );
    assert!(body.contains("draft PR #17"));
    assert!(body.contains("prompt + "), "token accounting");
    assert!(!body.contains("<script"), "no script on the page");
    assert!(
        !body.contains(" src=") && !body.contains("<link") && !body.contains("url("),
        "no external resource"
    );
}

#[tokio::test]
async fn hostile_text_is_escaped_and_redacted() {
    let (s, _, body) = get("/analyses/hostile", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !body.contains(SCRIPT_EXEMPLAR),
        "exemplar markup must not reach the page raw"
    );
    assert!(
        !body.contains(SCRIPT_EVENT),
        "event markup must not reach the page raw"
    );
    assert!(
        !body.to_lowercase().contains("<script"),
        "no script element at all"
    );
    assert!(!body.contains("<img"), "no image element from an event");
    assert!(
        body.contains("&lt;script&gt;document.title="),
        "shown, escaped"
    );
    assert!(body.contains("&lt;img src=x onerror="), "shown, escaped");
    assert!(!body.contains("AKIAIOSFODNN7EXAMPLE"), "redacted");
}
