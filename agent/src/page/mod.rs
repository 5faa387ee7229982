//! The verdict pages rollwise serves: `GET /analyses` (recent analyses,
//! filtered by namespace, rollout and verdict) and `GET /analyses/{id}` (one
//! analysis with its reasons, a chart per metric, the log template diff, pods,
//! events, the judge's accounting and the PR). HTML by default; JSON with
//! `?format=json` or `Accept: application/json`.
//!
//! Records hold untrusted text (log exemplars, event messages): every string
//! is redacted and HTML-escaped ([`html::Page::text`]), the JSON variants are
//! redacted string by string, and the Content-Security-Policy allows no
//! script at all and exactly one inline style sheet, by hash.

pub mod auth;
pub mod fmt;
pub mod html;
pub mod svg;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::evidence::Decision;
use crate::redact::Redactor;
use crate::store::{Filter, Store, StoreError};

/// How the pages are served.
#[derive(Debug, Clone, Default)]
pub struct PageConfig {
    /// Base URL for absolute links (`https://rollwise.example.com`); relative
    /// links when absent.
    pub public_url: Option<String>,
    /// Who may read them ([`auth`]); open by default.
    pub access: auth::PageAccess,
}

/// Most records a list shows.
const LIST_LIMIT: usize = 200;

#[derive(Debug, Clone)]
struct PageState {
    store: Store,
    base: String,
    redactor: Arc<Redactor>,
    csp: HeaderValue,
    access: auth::PageAccess,
}

/// The pages' routes with their state applied: `app.merge(page::router(..))`.
pub fn router(store: Store, cfg: PageConfig) -> Router {
    let base = cfg
        .public_url
        .as_deref()
        .and_then(fmt::safe_url)
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let state = PageState {
        store,
        base,
        redactor: Arc::new(Redactor::new()),
        csp: HeaderValue::from_str(&content_security_policy())
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        access: cfg.access,
    };
    let pages = Router::new()
        .route("/analyses", get(list))
        .route("/analyses/{id}", get(show))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ));
    Router::new()
        .merge(pages)
        .route("/login", get(auth::form).post(auth::login))
        .with_state(state)
}

/// No script, no fetch, no frame, no form target but ourselves; the one
/// inline style sheet by its SHA-256.
pub fn content_security_policy() -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, html::CSS.as_bytes());
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        base64(digest.as_ref())
    )
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    namespace: Option<String>,
    rollout: Option<String>,
    verdict: Option<String>,
    limit: Option<usize>,
    format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    format: Option<String>,
}

/// One row of the JSON list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListItem {
    id: String,
    created_ms: i64,
    namespace: String,
    rollout: String,
    verdict: Decision,
    confidence: u8,
    summary: String,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pr: Option<String>,
}

fn wants_json(format: Option<&str>, headers: &HeaderMap) -> bool {
    if let Some(f) = format {
        return f.eq_ignore_ascii_case("json");
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            a.contains("application/json") && !a.contains("text/html")
        })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|x| x.trim().to_owned()).filter(|x| !x.is_empty())
}

async fn list(
    State(s): State<PageState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let json = wants_json(
        query.as_ref().ok().and_then(|q| q.format.as_deref()),
        &headers,
    );
    let Ok(Query(q)) = query else {
        return s.error(
            json,
            StatusCode::BAD_REQUEST,
            "Bad request",
            "the query string could not be read",
        );
    };
    let verdict = match non_empty(q.verdict) {
        None => None,
        Some(v) => match Decision::ALL.into_iter().find(|d| d.as_str() == v) {
            Some(d) => Some(d),
            None => {
                return s.error(
                    json,
                    StatusCode::BAD_REQUEST,
                    "Unknown verdict",
                    &format!("verdict must be promote, abort or inconclusive, not {v:?}"),
                );
            }
        },
    };
    let filter = Filter {
        namespace: non_empty(q.namespace),
        rollout: non_empty(q.rollout),
        verdict,
        limit: Some(q.limit.unwrap_or(LIST_LIMIT).min(LIST_LIMIT)),
    };
    let records = match s.store.list(&filter).await {
        Ok(r) => r,
        Err(e) => return s.unavailable(json, &e),
    };
    if json {
        let page = s.page();
        let items: Vec<ListItem> = records
            .iter()
            .map(|r| ListItem {
                id: r.id.clone(),
                created_ms: r.created_ms,
                namespace: r.evidence.rollout.namespace.clone(),
                rollout: r.evidence.rollout.name.clone(),
                verdict: r.verdict.verdict,
                confidence: r.verdict.confidence,
                summary: r.verdict.summary.clone(),
                url: page.analysis_href(&r.id),
                pr: r.pr.as_ref().map(|p| p.url.clone()),
            })
            .collect();
        return s.json(StatusCode::OK, &items);
    }
    let shown = html::ListFilter {
        namespace: filter.namespace.clone().unwrap_or_default(),
        rollout: filter.rollout.clone().unwrap_or_default(),
        verdict,
    };
    s.html(StatusCode::OK, s.page().list(&records, &shown))
}

async fn show(
    State(s): State<PageState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> Response {
    let json = wants_json(
        query.as_ref().ok().and_then(|q| q.format.as_deref()),
        &headers,
    );
    match s.store.get(&id).await {
        Err(e) => s.unavailable(json, &e),
        Ok(None) => s.error(
            json,
            StatusCode::NOT_FOUND,
            "Analysis not found",
            &format!(
                "No analysis with id {id:?} is kept (analyses are deleted after the store's retention, [store] retention and max-analyses)."
            ),
        ),
        Ok(Some(r)) if json => s.json(StatusCode::OK, r.as_ref()),
        Ok(Some(r)) => s.html(StatusCode::OK, s.page().detail(&r)),
    }
}

impl PageState {
    fn page(&self) -> html::Page<'_> {
        html::Page {
            redactor: &self.redactor,
            base: self.base.clone(),
        }
    }

    fn headers(&self, resp: &mut Response) {
        let h = resp.headers_mut();
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    fn html(&self, status: StatusCode, body: String) -> Response {
        let mut resp = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response();
        self.headers(&mut resp);
        resp
    }

    /// `value` as JSON with every string redacted.
    fn json<T: Serialize>(&self, status: StatusCode, value: &T) -> Response {
        let body = match serde_json::to_value(value) {
            Ok(v) => redact_json(v, &self.redactor),
            Err(e) => serde_json::json!({"error": format!("cannot encode: {e}")}),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        self.headers(&mut resp);
        resp
    }

    /// 503 when the history cannot be read (logged; the detail stays in the log).
    fn unavailable(&self, json: bool, e: &StoreError) -> Response {
        tracing::warn!(error = %e, "verdict page: the history store failed");
        self.error(
            json,
            StatusCode::SERVICE_UNAVAILABLE,
            "History unavailable",
            "the analysis history cannot be read right now; try again shortly",
        )
    }

    fn error(&self, json: bool, status: StatusCode, title: &str, detail: &str) -> Response {
        if json {
            self.json(
                status,
                &serde_json::json!({"error": title, "detail": detail}),
            )
        } else {
            self.html(status, self.page().message(title, detail))
        }
    }
}

fn redact_json(v: serde_json::Value, r: &Redactor) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(r.redact_lines(&s).into_owned()),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| redact_json(x, r)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, x)| (k, redact_json(x, r))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn csp_forbids_scripts_and_names_the_style_hash() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"));
        assert!(!csp.contains("unsafe"));
        assert!(!csp.contains("script-src"));
        assert!(csp.contains("style-src 'sha256-"));
    }
}
