//! Verdicts to Slack: one Block Kit message per verdict ([`blocks`]), sent to
//! an incoming webhook or with a bot token (`chat.postMessage`, which also
//! threads follow-ups under the verdict's message).
//!
//! A notification is a side effect of a verdict, never part of it: nothing
//! here returns an error to the caller or panics. Failures become a
//! [`NotificationOutcome`] with `ok: false` and the reason, and callers run
//! [`Notifier::spawn_notify`] so that the reply to Argo never waits on Slack.
//! Every call has a timeout and bounded retries with jittered backoff (the
//! crate-wide `CallPolicy`); a 429's `Retry-After` is honoured when it fits
//! in `max_backoff_secs`.

pub mod blocks;
mod slack;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rollwise_tools::call::{CallPolicy, Jitter};
use serde::{Deserialize, Serialize};

pub use blocks::{SlackTemplates, render_blocks};
pub use slack::SendError;

use crate::error::{Error, Result};
use crate::evidence::Decision;
use crate::store::{AnalysisRecord, NotificationOutcome, Store};

/// The `[slack]` table of the configuration file. Exactly one of
/// `webhook_url` and `bot_token` is set.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Incoming-webhook mode: the webhook's URL (a secret: it is never logged).
    pub webhook_url: Option<String>,
    /// Webhook mode: a webhook per namespace, for namespaces whose team has
    /// its own channel; others use `webhook_url`.
    pub webhooks: BTreeMap<String, String>,
    /// Bot-token mode (`xoxb-…`, scope `chat:write`); messages go through
    /// `chat.postMessage` and follow-ups are threaded.
    pub bot_token: Option<String>,
    /// Bot mode: the channel (name or id) for namespaces not in `channels`.
    pub default_channel: Option<String>,
    /// Bot mode: namespace → channel.
    pub channels: BTreeMap<String, String>,
    /// Which verdicts are announced.
    pub notify_on: Vec<Decision>,
    /// Per HTTP request, connection included.
    pub timeout_secs: f64,
    /// Attempts per message including the first (transient failures only).
    pub max_attempts: u32,
    /// First backoff; doubled per attempt.
    pub backoff_secs: f64,
    /// Longest single wait. A `Retry-After` longer than this gives up.
    pub max_backoff_secs: f64,
    /// Base URL of the verdict page (`https://rollwise.example.com`); the
    /// message links `/analyses/{id}` under it.
    pub page_url: Option<String>,
    /// Slack's Web API base (tests point it at a local listener).
    pub api_url: String,
    /// Templates in `<prompts_dir>/slack/` replace the embedded ones.
    pub prompts_dir: Option<PathBuf>,
    /// Bot mode: feedback buttons under each verdict ("verdict right",
    /// "should have been …"). Needs the Slack app's interactivity pointed at
    /// `POST /v1/slack/interactions` and `ROLLWISE_SLACK_SIGNING_SECRET`.
    pub feedback_buttons: bool,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            webhook_url: None,
            webhooks: BTreeMap::new(),
            bot_token: None,
            default_channel: None,
            channels: BTreeMap::new(),
            // A promote is the expected outcome; announcing each one teaches
            // people to mute the channel.
            notify_on: vec![Decision::Abort, Decision::Inconclusive],
            timeout_secs: 5.0,
            max_attempts: 4,
            backoff_secs: 0.5,
            // Slack's rate limits ask for waits of seconds to tens of seconds;
            // notifications run in the background, so waiting is affordable.
            max_backoff_secs: 30.0,
            page_url: None,
            api_url: "https://slack.com/api".into(),
            prompts_dir: None,
            feedback_buttons: false,
        }
    }
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| o.as_ref().map(|_| "<set>");
        f.debug_struct("SlackConfig")
            .field("webhook_url", &set(&self.webhook_url))
            .field("webhooks", &self.webhooks.keys().collect::<Vec<_>>())
            .field("bot_token", &set(&self.bot_token))
            .field("default_channel", &self.default_channel)
            .field("channels", &self.channels)
            .field("notify_on", &self.notify_on)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_secs", &self.backoff_secs)
            .field("max_backoff_secs", &self.max_backoff_secs)
            .field("page_url", &self.page_url)
            .field("api_url", &self.api_url)
            .field("prompts_dir", &self.prompts_dir)
            .finish()
    }
}

impl SlackConfig {
    /// Webhook mode for `url`, announcing every verdict (the CLI's `--slack-webhook`).
    pub fn webhook(url: impl Into<String>) -> Self {
        SlackConfig {
            webhook_url: Some(url.into()),
            notify_on: Decision::ALL.to_vec(),
            ..SlackConfig::default()
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("[slack] {m}")));
        let webhook_mode = self.webhook_url.is_some() || !self.webhooks.is_empty();
        match (webhook_mode, &self.bot_token) {
            (false, None) => return bad("set webhook_url or bot_token".into()),
            (true, Some(_)) => {
                return bad("set webhook_url/webhooks or bot_token, not both".into());
            }
            (false, Some(t)) if t.trim().is_empty() => return bad("bot_token is empty".into()),
            (false, Some(_)) if self.default_channel.is_none() && self.channels.is_empty() => {
                return bad("bot_token needs default_channel or channels".into());
            }
            _ => {}
        }
        if self.feedback_buttons && self.bot_token.is_none() {
            return bad(
                "feedback_buttons needs bot_token (Slack sends button clicks to apps)".into(),
            );
        }
        for url in self.webhook_url.iter().chain(self.webhooks.values()) {
            if !is_http_url(url) {
                return bad("webhook URLs must be http(s) URLs".into());
            }
        }
        if !is_http_url(&self.api_url) {
            return bad(format!("api_url {:?} is not an http(s) URL", self.api_url));
        }
        if let Some(p) = &self.page_url
            && crate::page::fmt::safe_url(p).is_none()
        {
            return bad(format!("page_url {p:?} is not an http(s) URL"));
        }
        if !(self.timeout_secs > 0.0 && self.timeout_secs <= 60.0) {
            return bad(format!(
                "timeout_secs must be in (0, 60], got {}",
                self.timeout_secs
            ));
        }
        if !(1..=10).contains(&self.max_attempts) {
            return bad(format!(
                "max_attempts must be 1..=10, got {}",
                self.max_attempts
            ));
        }
        for (k, v) in [
            ("backoff_secs", self.backoff_secs),
            ("max_backoff_secs", self.max_backoff_secs),
        ] {
            if !(0.0..=300.0).contains(&v) {
                return bad(format!("{k} must be in [0, 300], got {v}"));
            }
        }
        Ok(())
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs)
    }

    /// Retries of one message (the timeout is the HTTP client's). Call after
    /// [`SlackConfig::validate`], which bounds the numbers.
    fn policy(&self) -> CallPolicy {
        CallPolicy {
            timeout: self.timeout(),
            max_attempts: self.max_attempts,
            base_backoff: Duration::from_secs_f64(self.backoff_secs),
            max_backoff: Duration::from_secs_f64(self.max_backoff_secs),
            jitter: Jitter::Full,
        }
    }
}

fn is_http_url(s: &str) -> bool {
    let l = s.trim().to_ascii_lowercase();
    l.starts_with("https://") || l.starts_with("http://")
}

/// Counters of what the notifier did, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyCounts {
    /// Messages delivered (first attempt or after retries).
    pub delivered: u64,
    /// Messages given up on.
    pub failed: u64,
    /// Verdicts not announced because `notify_on` excludes them.
    pub skipped: u64,
    /// HTTP requests sent, first attempts and retries.
    pub requests: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    requests: AtomicU64,
    rate_limited: AtomicU64,
}

/// Sends verdicts to Slack. Cheap to share (`Arc<Notifier>`).
#[derive(Debug)]
pub struct Notifier {
    cfg: SlackConfig,
    templates: SlackTemplates,
    client: slack::Client,
    counters: Counters,
}

impl Notifier {
    /// Checks the configuration, compiles the templates, builds the client.
    pub fn new(cfg: SlackConfig) -> Result<Notifier> {
        cfg.validate()?;
        let templates = SlackTemplates::load(cfg.prompts_dir.as_deref())?;
        let client = slack::Client::new(cfg.timeout())?;
        Ok(Notifier {
            cfg,
            templates,
            client,
            counters: Counters::default(),
        })
    }

    pub fn config(&self) -> &SlackConfig {
        &self.cfg
    }

    /// Whether `rec`'s verdict is one to announce.
    pub fn wants(&self, rec: &AnalysisRecord) -> bool {
        self.cfg.notify_on.contains(&rec.verdict.verdict)
    }

    pub fn counts(&self) -> NotifyCounts {
        let c = &self.counters;
        NotifyCounts {
            delivered: c.delivered.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Announces one verdict. `None` when `notify_on` excludes it; otherwise
    /// what happened, `ok: false` with the reason on failure. In bot mode the
    /// outcome carries the channel id and the message's `ts` for threading.
    pub async fn notify(&self, rec: &AnalysisRecord) -> Option<NotificationOutcome> {
        if !self.wants(rec) {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let (mut msg, template_error) = self.templates.message(rec, self.cfg.page_url.as_deref());
        if self.cfg.feedback_buttons {
            blocks::add_feedback_buttons(&mut msg, rec);
        }
        if let Some(e) = &template_error {
            tracing::warn!(analysis = %rec.id, "Slack message template failed, sending the plain message: {e}");
        }
        let namespace = &rec.evidence.rollout.namespace;
        let mut outcome = self.send(namespace, msg, None).await;
        if let Some(e) = template_error {
            outcome.detail.push_str(&format!(" (template error: {e})"));
        }
        Some(outcome)
    }

    /// A follow-up to a verdict already announced (a draft PR opened, a
    /// remediation that failed). Bot mode replies in the verdict message's
    /// thread when `rec.notifications` holds its `ts`; webhook mode (no `ts`
    /// comes back from a webhook) posts a new message.
    pub async fn follow_up(&self, rec: &AnalysisRecord, text: &str) -> NotificationOutcome {
        let (msg, template_error) =
            self.templates
                .follow_up(rec, text, self.cfg.page_url.as_deref());
        if let Some(e) = &template_error {
            tracing::warn!(analysis = %rec.id, "Slack follow-up template failed: {e}");
        }
        let thread = rec
            .notifications
            .iter()
            .rev()
            .find(|n| n.ok && n.thread_ts.is_some())
            .and_then(|n| Some((n.channel.clone(), n.thread_ts.clone()?)));
        self.send(&rec.evidence.rollout.namespace, msg, thread)
            .await
    }

    /// Announces `rec` in the background and records the outcome in `store`
    /// (a store failure is logged: the message went out regardless).
    /// The caller (the HTTP handler answering Argo) does not wait for it.
    pub fn spawn_notify(
        self: &Arc<Self>,
        store: Store,
        rec: Arc<AnalysisRecord>,
    ) -> tokio::task::JoinHandle<Option<NotificationOutcome>> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = me.notify(&rec).await;
            if let Some(o) = &outcome
                && let Err(e) = store
                    .add_notification(&rec.id, o, crate::store::now_ms())
                    .await
            {
                tracing::warn!(analysis = %rec.id, error = %e, "notification outcome not recorded");
            }
            outcome
        })
    }

    /// Sends one message with retries. `thread`: (channel, ts) to reply under.
    async fn send(
        &self,
        namespace: &str,
        mut msg: serde_json::Value,
        thread: Option<(String, String)>,
    ) -> NotificationOutcome {
        let target = match self.target(namespace, thread.as_ref().map(|t| t.0.as_str())) {
            Ok(t) => t,
            Err(detail) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                return NotificationOutcome {
                    channel: String::new(),
                    ok: false,
                    detail,
                    thread_ts: None,
                };
            }
        };
        if let (slack::Target::Bot { channel, .. }, Some(obj)) = (&target, msg.as_object_mut()) {
            obj.insert("channel".into(), channel.clone().into());
            if let Some((_, ts)) = &thread {
                obj.insert("thread_ts".into(), ts.clone().into());
            }
            // Our own links only; a preview of a PR page adds nothing.
            obj.insert("unfurl_links".into(), false.into());
        }
        let label = target.label();
        let mut attempts: u32 = 0;
        let sent = self
            .cfg
            .policy()
            .retry(&label, |n| {
                attempts = n + 1;
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
                let reply = self.client.send(&target, &msg);
                async {
                    let r = reply.await;
                    if let Err(SendError::RateLimited { .. }) = r {
                        self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    }
                    r
                }
            })
            .await;
        let s = if attempts == 1 { "" } else { "s" };
        match sent {
            Ok(delivery) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::info!(channel = %label, attempts, "Slack message delivered");
                NotificationOutcome {
                    channel: delivery.channel.unwrap_or(label),
                    ok: true,
                    detail: format!(
                        "delivered{} after {attempts} attempt{s}",
                        if thread.is_some() { " in thread" } else { "" },
                    ),
                    thread_ts: delivery.ts,
                }
            }
            Err(e) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = %label, attempts, "Slack message not delivered: {e}");
                NotificationOutcome {
                    channel: label,
                    ok: false,
                    detail: format!("not delivered after {attempts} attempt{s}: {e}"),
                    thread_ts: None,
                }
            }
        }
    }

    /// Where a message about `namespace` goes. `thread_channel`: the channel
    /// of the message being replied to (bot mode).
    fn target(
        &self,
        namespace: &str,
        thread_channel: Option<&str>,
    ) -> Result<slack::Target, String> {
        if let Some(token) = &self.cfg.bot_token {
            let channel = thread_channel
                .map(str::to_owned)
                .or_else(|| self.cfg.channels.get(namespace).cloned())
                .or_else(|| self.cfg.default_channel.clone())
                .ok_or_else(|| format!("no Slack channel for namespace {namespace}"))?;
            return Ok(slack::Target::Bot {
                url: format!(
                    "{}/chat.postMessage",
                    self.cfg.api_url.trim_end_matches('/')
                ),
                token: token.clone(),
                channel,
            });
        }
        let (url, label) = match self.cfg.webhooks.get(namespace) {
            Some(u) => (u.clone(), format!("webhook:{namespace}")),
            None => (
                self.cfg
                    .webhook_url
                    .clone()
                    .ok_or_else(|| format!("no Slack webhook for namespace {namespace}"))?,
                "webhook".to_owned(),
            ),
        };
        Ok(slack::Target::Webhook { url, label })
    }
}

/// Posts one verdict from a synchronous caller (the CLI): builds a small
/// runtime, sends, and returns what happened. Never an error for a failed
/// post; an error only for a configuration that cannot work.
pub fn post_blocking(cfg: SlackConfig, rec: &AnalysisRecord) -> Result<NotificationOutcome> {
    let notifier = Notifier::new(cfg)?;
    let rt = crate::runtime::current_thread()?;
    Ok(rt.block_on(async {
        match notifier.notify(rec).await {
            Some(o) => o,
            None => NotificationOutcome {
                channel: String::new(),
                ok: true,
                detail: format!("not sent: notify_on excludes {}", rec.verdict.verdict),
                thread_ts: None,
            },
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated_and_secrets_stay_out_of_debug() {
        let toml_text = r##"
            bot_token = "xoxb-1-2-secret"
            default_channel = "#deploys"
            channels = { payments = "#payments-oncall" }
            notify_on = ["abort"]
        "##;
        let cfg: SlackConfig = toml::from_str(toml_text).unwrap();
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.notify_on, vec![Decision::Abort]);
        assert!(!format!("{cfg:?}").contains("secret"));
        let both = SlackConfig {
            webhook_url: Some("https://hooks.example/x".into()),
            ..cfg.clone()
        };
        assert!(both.validate().is_err());
        assert!(SlackConfig::default().validate().is_err());
        let no_channel = SlackConfig {
            default_channel: None,
            channels: BTreeMap::new(),
            ..cfg.clone()
        };
        assert!(no_channel.validate().is_err());
        assert!(
            SlackConfig {
                max_attempts: 0,
                ..SlackConfig::webhook("https://h.example/x")
            }
            .validate()
            .is_err()
        );
        assert!(
            SlackConfig::webhook("ftp://h.example/x")
                .validate()
                .is_err()
        );
        assert!(toml::from_str::<SlackConfig>("unknown = 1").is_err());
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after_within_bounds() {
        let p = SlackConfig {
            backoff_secs: 0.5,
            max_backoff_secs: 3.0,
            max_attempts: 5,
            ..SlackConfig::webhook("https://h.example/x")
        }
        .policy();
        let server = SendError::Server {
            status: 500,
            body: String::new(),
        };
        // At the top of the jitter: the ceiling.
        let top = |attempt, e: &SendError| p.delay(attempt, e, 1.0);
        assert_eq!(top(0, &server), Some(Duration::from_millis(500)));
        assert_eq!(top(2, &server), Some(Duration::from_secs(2)));
        assert_eq!(top(3, &server), Some(Duration::from_secs(3)));
        assert_eq!(top(4, &server), None, "attempts exhausted");
        let limited = |s| SendError::RateLimited {
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(top(0, &limited(2)), Some(Duration::from_secs(2)));
        assert_eq!(
            p.delay(0, &limited(2), 0.0),
            Some(Duration::from_secs(2)),
            "never sooner than asked"
        );
        assert_eq!(top(0, &limited(60)), None, "too long to wait");
        let rejected = SendError::Rejected {
            status: 400,
            body: "invalid_blocks".into(),
        };
        assert_eq!(top(0, &rejected), None);
    }
}
