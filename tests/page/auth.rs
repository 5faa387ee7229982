//! Who may read the verdict pages, on the app `rollwise serve` runs
//! (`server::app`: the API and the pages over one history): the token as a
//! bearer header, the login form's cookie, or a configured auth-proxy header.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use rollwise::server::{self, AppState, ServerConfig};
use tower::ServiceExt;

use crate::server::{TOKEN, scenario, state_with};

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

async fn send(st: &Arc<AppState>, req: Request<Body>) -> Got {
    let resp = server::app(Arc::clone(st))
        .unwrap()
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Got {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(st: &Arc<AppState>, uri: &str, headers: &[(&str, &str)]) -> Got {
    let mut b = Request::get(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(st, b.body(Body::empty()).unwrap()).await
}

/// Judges a bundle through the API and returns the reply's page URL (the
/// link Slack messages carry) as a path.
async fn one_analysis(st: &Arc<AppState>) -> String {
    let ev = scenario("p03-inventory-go-panic.json");
    let req = Request::post("/v1/verdicts")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&ev).unwrap()))
        .unwrap();
    let got = send(st, req).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let v: serde_json::Value = serde_json::from_str(&got.text).unwrap();
    let url = v["url"].as_str().unwrap();
    url.strip_prefix("https://rollwise.example")
        .unwrap_or_else(|| panic!("{url} is on the public URL"))
        .to_owned()
}

fn location(g: &Got) -> &str {
    g.headers[header::LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn pages_need_the_token_and_a_browser_signs_in_and_comes_back() {
    let st = state_with(None, |_| {});
    let page = one_analysis(&st).await;

    // No credentials: a browser is sent to the login form, naming the page.
    for uri in [page.as_str(), "/analyses", "/analyses?verdict=abort"] {
        let g = get(&st, uri, &[("accept", "text/html")]).await;
        assert_eq!(g.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(
            location(&g).starts_with("https://rollwise.example/login?next=/analyses"),
            "{uri}: {}",
            location(&g)
        );
        assert!(!g.text.contains("inventory"), "{uri} shows nothing");
    }
    // A JSON client gets 401; a wrong token or a forged cookie too.
    for h in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("cookie", "rollwise_session=00ff")],
    ] {
        let g = get(&st, &format!("{page}?format=json"), &h).await;
        assert_eq!(g.status, StatusCode::UNAUTHORIZED, "{h:?}");
        assert!(!g.text.contains("inventory"));
    }

    // The bearer token reads it.
    let bearer = format!("Bearer {TOKEN}");
    let g = get(&st, &page, &[("authorization", &bearer)]).await;
    assert_eq!(g.status, StatusCode::OK);
    assert!(g.text.contains("inventory"));

    // The login form: a wrong token is 401 and sets nothing.
    let login = |token: &str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "token={token}&next={}",
                page.replace('/', "%2F")
            )))
            .unwrap()
    };
    let g = send(&st, login("nope")).await;
    assert_eq!(g.status, StatusCode::UNAUTHORIZED);
    assert!(!g.headers.contains_key(header::SET_COOKIE));
    let form = get(&st, &format!("/login?next={page}"), &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("method=\"post\"") && form.text.contains(&page));

    // The right one sets an HttpOnly cookie without the token in it and
    // sends the browser back to the page the link named.
    let g = send(&st, login(TOKEN)).await;
    assert_eq!(g.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&g), format!("https://rollwise.example{page}"));
    let set = g.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"),
        "{set}"
    );
    assert!(!set.contains(TOKEN), "{set}");
    let cookie = set.split(';').next().unwrap();
    let g = get(&st, &page, &[("cookie", cookie)]).await;
    assert_eq!(g.status, StatusCode::OK);
    assert!(g.text.contains("inventory"));

    // The cookie opens the pages, not the analyze routes.
    let req = Request::post("/v1/verdicts")
        .header("cookie", cookie)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&st, req).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_login_never_redirects_off_the_pages() {
    let st = state_with(None, |_| {});
    let req = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "token={TOKEN}&next=https%3A%2F%2Fevil.example%2F"
        )))
        .unwrap();
    let g = send(&st, req).await;
    assert_eq!(g.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&g), "https://rollwise.example/analyses");
}

#[tokio::test]
async fn an_auth_proxy_header_is_trusted_only_when_configured() {
    let proxy = ("x-auth-request-user", "alice@example.com");
    // Not configured: the header is just a header.
    let st = state_with(None, |_| {});
    let page = one_analysis(&st).await;
    let g = get(&st, &page, &[proxy]).await;
    assert_eq!(g.status, StatusCode::SEE_OTHER);

    // Configured: the proxy's user reads the page a Slack link names, with
    // no token of its own; an empty value is no user.
    let st = state_with(None, |c: &mut ServerConfig| {
        c.page_user_header = Some("X-Auth-Request-User".into());
    });
    let page = one_analysis(&st).await;
    let g = get(&st, &page, &[proxy]).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    assert!(g.text.contains("inventory"));
    let g = get(&st, &page, &[("x-auth-request-user", " ")]).await;
    assert_eq!(g.status, StatusCode::SEE_OTHER);
    // ...and never the analyze routes.
    let req = Request::post("/v1/verdicts")
        .header(proxy.0, proxy.1)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&st, req).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_token_the_pages_are_open() {
    let st = AppState::new(server::StateParts {
        cfg: ServerConfig {
            allow_unauthenticated: true,
            ..ServerConfig::default()
        },
        analyzer: server::Analyzer::new(rollwise::judge::Judge::new(
            Default::default(),
            Default::default(),
        )),
        source: None,
        token: None,
        hooks: vec![],
        metrics: Arc::new(server::Metrics::new()),
        store: None,
        holder: None,
    })
    .unwrap();
    let g = get(&st, "/analyses", &[]).await;
    assert_eq!(g.status, StatusCode::OK);
}
