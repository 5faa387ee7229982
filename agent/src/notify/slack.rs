//! One HTTP request to Slack and what its answer means. Retries are the
//! caller's ([`super::Notifier`], under the config's `CallPolicy`); this
//! module only classifies.

use std::time::{Duration, SystemTime};

use rollwise_tools::call::{Retryable, parse_retry_after};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Where a message goes.
#[derive(Clone)]
pub(super) enum Target {
    /// An incoming webhook: the URL is the credential.
    Webhook { url: String, label: String },
    /// `chat.postMessage` with a bot token.
    Bot {
        url: String,
        token: String,
        channel: String,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Target {
    /// How outcomes and logs name the target (never the webhook URL).
    pub(super) fn label(&self) -> String {
        match self {
            Target::Webhook { label, .. } => label.clone(),
            Target::Bot { channel, .. } => channel.clone(),
        }
    }
}

/// A message Slack accepted.
#[derive(Debug, Clone, Default)]
pub(super) struct Delivery {
    /// Bot mode: the channel id Slack answered with.
    pub channel: Option<String>,
    /// Bot mode: the message's timestamp, its id for threading.
    pub ts: Option<String>,
}

/// Why a request failed, in the classes the retry loop acts on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    #[error("rate limited (429){}", .retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("timed out")]
    Timeout,
    #[error("Slack unreachable: {0}")]
    Transport(String),
    #[error("Slack server error {status}: {body}")]
    Server { status: u16, body: String },
    /// A 4xx other than 429, or `ok: false` with a permanent error
    /// (`invalid_blocks`, `channel_not_found`, `invalid_auth`...).
    #[error("Slack rejected the message ({status}): {body}")]
    Rejected { status: u16, body: String },
}

impl Retryable for SendError {
    fn is_transient(&self) -> bool {
        !matches!(self, SendError::Rejected { .. })
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// `chat.postMessage` errors that are Slack's trouble, not ours: retried.
const TRANSIENT_API_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

#[derive(Debug, Deserialize)]
struct ApiReply {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Debug)]
pub(super) struct Client {
    http: reqwest::Client,
}

impl Client {
    pub(super) fn new(timeout: Duration) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("rollwise/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the bot token or the message elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the Slack HTTP client: {e}")))?;
        Ok(Client { http })
    }

    pub(super) async fn send(
        &self,
        target: &Target,
        body: &serde_json::Value,
    ) -> Result<Delivery, SendError> {
        let req = match target {
            Target::Webhook { url, .. } => self.http.post(url),
            Target::Bot { url, token, .. } => self.http.post(url).bearer_auth(token),
        };
        // Slack asks for the charset on JSON bodies of the Web API.
        let bytes = serde_json::to_vec(body).map_err(|e| SendError::Rejected {
            status: 0,
            body: format!("cannot encode the message: {e}"),
        })?;
        let resp = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(bytes)
            .send()
            .await
            .map_err(classify_transport)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let text = resp.text().await.map_err(classify_transport)?;
        let body: String = text.chars().take(200).collect();
        match status {
            429 => return Err(SendError::RateLimited { retry_after }),
            s if s >= 500 => return Err(SendError::Server { status: s, body }),
            408 => return Err(SendError::Timeout),
            s if !(200..300).contains(&s) => return Err(SendError::Rejected { status: s, body }),
            _ => {}
        }
        match target {
            // A webhook answers 200 "ok"; its errors come as 4xx with a word.
            Target::Webhook { .. } => Ok(Delivery::default()),
            Target::Bot { .. } => {
                let reply: ApiReply =
                    serde_json::from_str(&text).map_err(|e| SendError::Server {
                        status,
                        body: format!("unreadable reply ({e}): {body}"),
                    })?;
                if reply.ok {
                    return Ok(Delivery {
                        channel: reply.channel,
                        ts: reply.ts,
                    });
                }
                let error = reply.error.unwrap_or_else(|| "unknown_error".into());
                if error == "ratelimited" {
                    Err(SendError::RateLimited { retry_after })
                } else if TRANSIENT_API_ERRORS.contains(&error.as_str()) {
                    Err(SendError::Server {
                        status,
                        body: error,
                    })
                } else {
                    Err(SendError::Rejected {
                        status,
                        body: error,
                    })
                }
            }
        }
    }
}

/// The error without its URL: a webhook URL is a credential.
fn classify_transport(e: reqwest::Error) -> SendError {
    if e.is_timeout() {
        return SendError::Timeout;
    }
    SendError::Transport(crate::text::error_chain(&e.without_url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transience_and_retry_after() {
        assert!(SendError::Timeout.is_transient());
        let limited = SendError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(limited.is_transient());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(
            !SendError::Rejected {
                status: 404,
                body: "no_service".into()
            }
            .is_transient()
        );
    }
}
