//! `rollwise serve` settings: the `[server]` table of the configuration file,
//! then environment overrides, then flags.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Address to listen on (`ROLLWISE_LISTEN`, `--listen`).
    pub listen: String,
    /// Base of the links in replies and messages (`ROLLWISE_PUBLIC_URL`), e.g.
    /// `https://rollwise.example.com`. Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// How long one call waits for its analysis before answering 503 with
    /// Retry-After (the analysis goes on; the retry is answered from cache).
    /// Keep it below the caller's timeout: Argo's `timeoutSeconds` is 10 by
    /// default. A caller may ask for less with `X-Rollwise-Deadline: <seconds>`.
    pub deadline_secs: f64,
    /// An analysis still running after this is stopped: inconclusive.
    pub analysis_timeout_secs: f64,
    /// How long a finished analysis answers repeats of the same request.
    pub cache_ttl_secs: f64,
    /// Analyses running at once; more wait for a slot (see
    /// `max-queued-analyses`) within the analysis timeout, which counts from
    /// when they queued: one that gets no slot is answered inconclusive.
    pub max_concurrent_analyses: usize,
    /// Analyses waiting for a slot, at most; past that a new analysis is
    /// refused with 503 (`queue_full`) and Retry-After (0: no queue).
    pub max_queued_analyses: usize,
    /// Largest request body (`/v1/verdicts` takes whole bundles).
    pub max_body_bytes: usize,
    /// Window when the request names none.
    pub default_window: String,
    /// Longest window a request may ask for.
    pub max_window: String,
    /// Serve the analyze endpoints without a bearer token. Off by default:
    /// without `ROLLWISE_API_TOKEN` the server refuses to start unless this is set.
    pub allow_unauthenticated: bool,
    /// Analyses kept by the memory store (`[store] url = "memory"`); the
    /// SQL stores follow `[store] retention` and `max-analyses`.
    pub store_capacity: usize,
    /// Retry-After sent with "still running" and "overloaded".
    pub retry_after_secs: u64,
    /// A connection that has not sent a whole request head (or, idle between
    /// requests, the next one) within this is closed.
    pub header_timeout_secs: f64,
    /// A request body not fully received within this is refused (408).
    pub body_timeout_secs: f64,
    /// Connections served at once; more wait in the listen backlog. Keep it
    /// well below the process's open-file limit so accepting never fails.
    pub max_connections: usize,
    /// The header an authenticating proxy in front of the verdict pages sets
    /// to the signed-in user (`X-Auth-Request-User`, `X-Forwarded-User`).
    /// Unset: the pages need the API token (bearer or the login cookie).
    /// Set: a request carrying it may read the pages, so set it only when
    /// every request from outside the cluster comes through that proxy.
    pub page_user_header: Option<String>,
    /// Slack's signing secret for `POST /v1/slack/interactions` (the
    /// feedback buttons), from `ROLLWISE_SLACK_SIGNING_SECRET`; never read
    /// from the config file. Unset: the route answers 404.
    #[serde(skip)]
    pub slack_signing_secret: Option<SigningSecret>,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(pub String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "0.0.0.0:8080".into(),
            public_url: None,
            deadline_secs: 8.0,
            analysis_timeout_secs: 120.0,
            cache_ttl_secs: 60.0,
            max_concurrent_analyses: 8,
            max_queued_analyses: 32,
            max_body_bytes: 64 * 1024 * 1024,
            default_window: "10m".into(),
            max_window: "6h".into(),
            allow_unauthenticated: false,
            store_capacity: crate::store::DEFAULT_CAPACITY,
            retry_after_secs: 10,
            header_timeout_secs: 10.0,
            body_timeout_secs: 30.0,
            max_connections: 512,
            page_user_header: None,
            slack_signing_secret: None,
        }
    }
}

fn secs(what: &str, v: f64) -> Result<Duration> {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(Error::Config(format!(
            "[server] {what} must be between 0 and 86400 seconds, got {v}"
        )))
    }
}

impl ServerConfig {
    /// Apply `ROLLWISE_LISTEN` and `ROLLWISE_PUBLIC_URL` from `env`.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(v) = env("ROLLWISE_LISTEN").filter(|v| !v.is_empty()) {
            self.listen = v;
        }
        if let Some(v) = env("ROLLWISE_PUBLIC_URL").filter(|v| !v.is_empty()) {
            self.public_url = Some(v);
        }
        self
    }

    pub fn validate(&self) -> Result<()> {
        self.deadline()?;
        self.analysis_timeout()?;
        self.cache_ttl()?;
        self.window_bounds()?;
        if self.max_concurrent_analyses == 0 {
            return Err(Error::Config(
                "[server] max-concurrent-analyses must be at least 1".into(),
            ));
        }
        self.header_timeout()?;
        self.body_timeout()?;
        if self.max_connections == 0 {
            return Err(Error::Config(
                "[server] max-connections must be at least 1".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(Error::Config(
                "[server] max-body-bytes must be at least 1024".into(),
            ));
        }
        Ok(())
    }

    pub fn deadline(&self) -> Result<Duration> {
        secs("deadline-secs", self.deadline_secs)
    }

    pub fn analysis_timeout(&self) -> Result<Duration> {
        secs("analysis-timeout-secs", self.analysis_timeout_secs)
    }

    pub fn header_timeout(&self) -> Result<Duration> {
        secs("header-timeout-secs", self.header_timeout_secs)
    }

    pub fn body_timeout(&self) -> Result<Duration> {
        secs("body-timeout-secs", self.body_timeout_secs)
    }

    pub fn cache_ttl(&self) -> Result<Duration> {
        secs("cache-ttl-secs", self.cache_ttl_secs)
    }

    /// (default, max) window.
    pub fn window_bounds(&self) -> Result<(Duration, Duration)> {
        let parse = |what: &str, t: &str| {
            crate::duration::parse_duration(t)
                .map_err(|e| Error::Config(format!("[server] {what}: {e}")))
        };
        let d = parse("default-window", &self.default_window)?;
        let m = parse("max-window", &self.max_window)?;
        if d.is_zero() || d > m {
            return Err(Error::Config(format!(
                "[server] default-window ({}) must be positive and at most max-window ({})",
                self.default_window, self.max_window
            )));
        }
        Ok((d, m))
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen.replace("0.0.0.0", "localhost")),
        }
    }
}

/// The top-level tables of rollwise's one configuration file. Every command
/// reads its own tables from it and leaves the others, so a name outside
/// this list is a mistake (`[prometheus]` for `[gather.prometheus]`) that
/// would otherwise be silently ignored.
pub const CONFIG_TABLES: [&str; 6] = ["server", "store", "gather", "llm", "slack", "remediate"];

/// Refuse a configuration whose top level has anything but [`CONFIG_TABLES`],
/// naming `file` and the key. Keys inside a table are checked by its own
/// type (`deny_unknown_fields`).
pub fn check_tables(text: &str, file: &str) -> Result<()> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| Error::Config(format!("{file}: {e}")))?;
    for (key, value) in &table {
        if !CONFIG_TABLES.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "prometheus" | "kube" => format!(" (did you mean [gather.{key}]?)"),
                _ => String::new(),
            };
            return Err(Error::Config(format!(
                "{file}: unknown {} `{key}`{hint}; the tables are {}",
                if value.is_table() { "table" } else { "key" },
                CONFIG_TABLES
                    .iter()
                    .map(|t| format!("[{t}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !value.is_table() {
            return Err(Error::Config(format!(
                "{file}: `{key}` must be a table ([{key}]), not a value"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_top_level_tables_and_keys_are_refused_by_name() {
        check_tables(
            "[server]\nlisten = \"x\"\n[gather.prometheus]\nurl = \"http://p\"\n",
            "f.toml",
        )
        .unwrap();
        let e = check_tables("[prometheus]\nurl = \"http://p\"\n", "/etc/rollwise.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/etc/rollwise.toml")
                && e.contains("`prometheus`")
                && e.contains("[gather.prometheus]"),
            "{e}"
        );
        let e = check_tables("listen = \"0.0.0.0:1\"\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `listen`"), "{e}");
        let e = check_tables("server = 1\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be a table"), "{e}");
    }

    #[test]
    fn defaults_validate_and_env_overrides() {
        let c = ServerConfig::default().with_env(|k| match k {
            "ROLLWISE_LISTEN" => Some("127.0.0.1:9999".into()),
            _ => None,
        });
        c.validate().unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.public_url(), "http://127.0.0.1:9999");
        assert_eq!(c.window_bounds().unwrap().0, Duration::from_secs(600));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let c = ServerConfig {
            deadline_secs: -1.0,
            ..ServerConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("deadline-secs")
        );
        let c = ServerConfig {
            default_window: "7h".into(),
            ..ServerConfig::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("max-window"));
    }
}
