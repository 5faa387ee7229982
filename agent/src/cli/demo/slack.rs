//! The demo's stand-in for a Slack incoming webhook: a listener on
//! 127.0.0.1 that keeps what the real [`Notifier`] posts to it, so the
//! message can be shown without anything leaving the machine.

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::notify::{Notifier, SlackConfig};
use crate::store::{AnalysisRecord, NotificationOutcome};

/// Where the listener answers; the Notifier only sees a webhook URL.
const HOOK_PATH: &str = "/services/rollwise-demo/webhook";

/// What the capture saw.
#[derive(Debug, Clone, Serialize)]
pub struct SlackCapture {
    /// The webhook URL the notifier was given (a local one).
    pub webhook_url: String,
    /// The notifier's own account of the delivery.
    pub outcome: Option<NotificationOutcome>,
    /// Requests the listener received.
    pub requests: usize,
    /// The Block Kit message of the first request, as posted.
    pub payload: Option<Value>,
}

impl SlackCapture {
    /// One message arrived and parses as Block Kit with blocks.
    pub fn ok(&self) -> bool {
        self.outcome.as_ref().is_some_and(|o| o.ok)
            && self
                .payload
                .as_ref()
                .and_then(|p| p["blocks"].as_array())
                .is_some_and(|b| !b.is_empty())
    }
}

/// Posts `rec` with the real notifier to a capturing listener on 127.0.0.1.
/// `page_url`: the local verdict page, linked from the message.
pub async fn post_and_capture(rec: &AnalysisRecord, page_url: &str) -> Result<SlackCapture> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| Error::Io {
            what: "cannot start the local Slack listener".into(),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| Error::Io {
        what: "local Slack listener address".into(),
        source: e,
    })?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new().route(
        HOOK_PATH,
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                // Slack answers a bad payload 400 "invalid_payload"; so does this.
                match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => {
                        let _ = tx.send(v);
                        (axum::http::StatusCode::OK, "ok")
                    }
                    Err(_) => (axum::http::StatusCode::BAD_REQUEST, "invalid_payload"),
                }
            }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let webhook_url = format!("http://{addr}{HOOK_PATH}");
    let cfg = SlackConfig {
        page_url: Some(page_url.to_owned()),
        timeout_secs: 5.0,
        max_attempts: 1,
        ..SlackConfig::webhook(webhook_url.clone())
    };
    let notifier = Notifier::new(cfg)?;
    let outcome = notifier.notify(rec).await;
    server.abort();
    let mut payloads = Vec::new();
    while let Ok(v) = rx.try_recv() {
        payloads.push(v);
    }
    Ok(SlackCapture {
        webhook_url,
        outcome,
        requests: payloads.len(),
        payload: payloads.into_iter().next(),
    })
}

/// A short human view of a Block Kit message: the fallback text, then each
/// block's text (header, sections, fields, context), clipped.
pub fn human_view(payload: &Value, max_lines: usize) -> String {
    let mut lines = Vec::new();
    if let Some(t) = payload["text"].as_str() {
        lines.push(format!("text (fallback): {}", clip(t, 110)));
    }
    for block in payload["blocks"].as_array().into_iter().flatten() {
        let kind = block["type"].as_str().unwrap_or("?");
        let mut texts: Vec<&str> = Vec::new();
        if let Some(t) = block["text"]["text"].as_str() {
            texts.push(t);
        }
        for key in ["fields", "elements"] {
            for f in block[key].as_array().into_iter().flatten() {
                if let Some(t) = f["text"].as_str().or_else(|| f["text"]["text"].as_str()) {
                    texts.push(t);
                }
            }
        }
        if kind == "divider" {
            lines.push("[divider]".into());
            continue;
        }
        for t in texts {
            let mut in_code = 0usize;
            let mut first = true;
            for l in t.lines().filter(|l| !l.trim().is_empty()) {
                // A code block (the metric table) is counted, not shown.
                if l.trim_start().starts_with("```") {
                    if in_code > 0 {
                        lines.push(format!("{:>10} (a table of {} line(s))", "", in_code - 1));
                        in_code = 0;
                    } else {
                        in_code = 1;
                    }
                    continue;
                }
                if in_code > 0 {
                    in_code += 1;
                    continue;
                }
                let tag = if first {
                    format!("[{kind}]")
                } else {
                    String::new()
                };
                first = false;
                lines.push(format!("{tag:>10} {}", clip(l, 100)));
            }
        }
    }
    let total = lines.len();
    let mut s = String::new();
    for l in lines.into_iter().take(max_lines) {
        s.push_str("  ");
        s.push_str(&l);
        s.push('\n');
    }
    if total > max_lines {
        s.push_str(&format!("  … {} more line(s)\n", total - max_lines));
    }
    s
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_view_shows_header_sections_and_clips() {
        let p = serde_json::json!({
            "text": "ABORT shop/cart",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Abort: shop/cart"}},
                {"type": "divider"},
                {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Verdict*\nabort"}]},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Table*\n```\na b\n1 2\n```"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "analysis x"}]}
            ]
        });
        let v = human_view(&p, 5);
        assert!(v.contains("text (fallback): ABORT shop/cart"), "{v}");
        assert!(v.contains("[header] Abort: shop/cart"), "{v}");
        assert!(v.contains("[section] *Verdict*"), "{v}");
        let v = human_view(&p, 20);
        assert!(v.contains("[section] *Table*"), "{v}");
        assert!(
            v.contains("(a table of 2 line(s))") && !v.contains("a b"),
            "{v}"
        );
        assert!(v.contains("[context] analysis x"), "{v}");
        let v = human_view(&p, 5);
        assert!(v.contains("… 3 more line(s)"), "{v}");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
