//! Who may read the verdict pages.
//!
//! The pages show what the analyses saw (reasons, log exemplars, events), so
//! they are no more public than the analyze routes: with an API token
//! configured, a page is served to a request that
//!
//! * carries the token (`Authorization: Bearer <token>`: scripts, curl), or
//! * carries the session cookie the login form sets (`POST /login` with the
//!   token: a person following a Slack link), or
//! * carries the configured auth-proxy user header (`[server]
//!   page-user-header`, e.g. `X-Auth-Request-User` from oauth2-proxy). That
//!   header is trusted only when configured, and only for the pages (which
//!   are read-only), never for the analyze routes.
//!
//! Anything else: a browser is sent to the login form (which sends it back
//! to the page it asked for), a JSON client gets 401. Without a token
//! (`allow-unauthenticated`, a local trial) the pages are open.

use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::PageState;
use super::html::esc;
use crate::error::{Error, Result};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rollwise_session";

/// How long a login lasts (seconds).
const SESSION_MAX_AGE: u64 = 12 * 3600;

/// Who may read the pages; see the module documentation.
#[derive(Clone, Default)]
pub enum PageAccess {
    /// Anyone who reaches the server (no API token is configured).
    #[default]
    Open,
    /// The API token, its session cookie, or the configured proxy header.
    Token(TokenAccess),
}

/// The token check's state.
#[derive(Clone)]
pub struct TokenAccess {
    token: String,
    /// The cookie value: an HMAC of a fixed label keyed by the token, so the
    /// cookie never holds the token itself and a new token ends every session.
    session: String,
    user_header: Option<HeaderName>,
}

impl std::fmt::Debug for PageAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageAccess::Open => f.write_str("Open"),
            PageAccess::Token(t) => f
                .debug_struct("Token")
                .field("token", &"<redacted>")
                .field("user_header", &t.user_header)
                .finish(),
        }
    }
}

impl std::fmt::Debug for TokenAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAccess")
            .field("user_header", &self.user_header)
            .finish_non_exhaustive()
    }
}

impl PageAccess {
    /// `token`: the API token (`None` or blank: open pages). `user_header`:
    /// the auth proxy's user header, trusted when present and not empty.
    pub fn new(token: Option<&str>, user_header: Option<&str>) -> Result<Self> {
        let user_header = match user_header.map(str::trim).filter(|h| !h.is_empty()) {
            None => None,
            Some(h) => Some(HeaderName::try_from(h).map_err(|_| {
                Error::Config(format!(
                    "[server] page-user-header: {h:?} is not an HTTP header name"
                ))
            })?),
        };
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(PageAccess::Open);
        };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.as_bytes());
        let tag = ring::hmac::sign(&key, b"rollwise verdict-page session v1");
        let session = crate::text::hex(tag.as_ref());
        Ok(PageAccess::Token(TokenAccess {
            token: token.to_owned(),
            session,
            user_header,
        }))
    }

    /// Whether the request may read the pages.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let PageAccess::Token(t) = self else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .is_some_and(|g| constant_time_eq(g.as_bytes(), t.token.as_bytes()));
        let cookie = cookie(headers, SESSION_COOKIE)
            .is_some_and(|c| constant_time_eq(c.as_bytes(), t.session.as_bytes()));
        let proxied = t.user_header.as_ref().is_some_and(|h| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|u| !u.trim().is_empty())
        });
        bearer || cookie || proxied
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The pages' guard: see the module documentation.
pub(super) async fn guard(State(s): State<PageState>, req: Request, next: Next) -> Response {
    if s.access.allows(req.headers()) {
        return next.run(req).await;
    }
    let json = super::wants_json(
        req.uri().query().and_then(format_param).as_deref(),
        req.headers(),
    );
    if json {
        let mut resp = s.json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({
                "error": "Unauthorized",
                "detail": "send Authorization: Bearer <the API token>, or sign in at /login",
            }),
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"rollwise\""),
        );
        return resp;
    }
    let wanted = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/analyses".into());
    let to = format!("{}/login?next={}", s.base, percent_encode(&wanted));
    redirect(&s, &to)
}

fn format_param(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "format")
        .map(|(_, v)| v.to_owned())
}

fn redirect(s: &PageState, to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    s.headers(&mut resp);
    resp
}

/// Everything but unreserved characters and `/`, percent-encoded.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a login may send the browser back to: a page of ours, never
/// another site (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/analyses")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/analyses",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`: the token form.
pub(super) async fn form(
    State(s): State<PageState>,
    q: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = q.ok().and_then(|Query(q)| q.next);
    s.html(
        StatusCode::OK,
        login_page(&s, safe_next(next.as_deref()), None),
    )
}

/// `POST /login`: the right token sets the session cookie and goes back to
/// the page asked for; a wrong one is 401 with the form again.
pub(super) async fn login(State(s): State<PageState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref()).to_owned();
    let PageAccess::Token(t) = &s.access else {
        return redirect(&s, &format!("{}{next}", s.base));
    };
    if !constant_time_eq(f.token.trim().as_bytes(), t.token.as_bytes()) {
        return s.html(
            StatusCode::UNAUTHORIZED,
            login_page(&s, &next, Some("That is not the API token.")),
        );
    }
    let secure = if s.base.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_MAX_AGE}{secure}",
        t.session
    );
    let mut resp = redirect(&s, &format!("{}{next}", s.base));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn login_page(s: &PageState, next: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| format!("<p class=\"bad\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>{err}<p>The verdict pages need rollwise's API token \
         (the <code>api-token</code> of the <code>rollwise</code> Secret).</p>\
         <form class=\"filter\" method=\"post\" action=\"{}/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>API token<input type=\"password\" name=\"token\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Sign in</button></form>",
        esc(&s.base),
        esc(next)
    );
    s.page().document("rollwise · sign in", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_pages() {
        assert_eq!(
            safe_next(Some("/analyses/abc?format=json")),
            "/analyses/abc?format=json"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/analyses");
        assert_eq!(safe_next(Some("/analyses//evil.example")), "/analyses");
        assert_eq!(safe_next(Some("/analyses\\@evil")), "/analyses");
        assert_eq!(safe_next(None), "/analyses");
    }

    #[test]
    fn cookie_holds_no_token_and_is_found_among_others() {
        let PageAccess::Token(t) = PageAccess::new(Some("s3cret-token"), None).unwrap() else {
            panic!("a token gives token access");
        };
        assert!(!t.session.contains("s3cret"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={}; c=d", t.session)).unwrap(),
        );
        assert!(PageAccess::Token(t).allows(&h));
    }

    #[test]
    fn a_bad_header_name_is_refused() {
        let e = PageAccess::new(Some("t"), Some("X Bad")).unwrap_err();
        assert!(e.to_string().contains("page-user-header"), "{e}");
    }
}
