//! The `[store]` table: where the history lives and how long it is kept.
//!
//! ```toml
//! [store]
//! url = "sqlite:///var/lib/rollwise/history.db"   # default sqlite://rollwise-history.db; or "memory", "postgres://..."
//! retention = "30d"
//! max-analyses = 10000
//! ```
//!
//! `ROLLWISE_STORE_URL` and `rollwise serve --store` override `url`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// Where `rollwise serve` keeps its history unless told otherwise: a file in
/// the working directory (a local trial just works). The deploy/ ConfigMap
/// sets `sqlite:///var/lib/rollwise/history.db`, the volume it mounts.
pub const DEFAULT_URL: &str = "sqlite://rollwise-history.db";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoreConfig {
    /// `memory`, `sqlite://<path>` (`sqlite:///abs/path`, `sqlite://rel/path`)
    /// or `postgres://user:password@host:port/db`.
    pub url: String,
    /// Analyses older than this are deleted (`30d`, `12h`, `90m`).
    pub retention: String,
    /// At most this many analyses are kept; the oldest go first.
    pub max_analyses: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: DEFAULT_URL.into(),
            retention: "30d".into(),
            max_analyses: 10_000,
        }
    }
}

/// How long analyses are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_analyses: usize,
}

impl StoreConfig {
    /// Apply `ROLLWISE_STORE_URL` from `env`.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(v) = env("ROLLWISE_STORE_URL").filter(|v| !v.trim().is_empty()) {
            self.url = v;
        }
        self
    }

    pub fn parsed_url(&self) -> Result<StoreUrl> {
        StoreUrl::parse(&self.url).map_err(|e| StoreError::Config(format!("url: {e}")))
    }

    pub fn retention(&self) -> Result<Retention> {
        let max_age = parse_age(&self.retention)
            .map_err(|e| StoreError::Config(format!("retention: {e}")))?;
        if max_age < Duration::from_secs(3600) {
            return Err(StoreError::Config(format!(
                "retention must be at least 1h, got {}",
                self.retention
            )));
        }
        if self.max_analyses == 0 {
            return Err(StoreError::Config("max-analyses must be at least 1".into()));
        }
        Ok(Retention {
            max_age,
            max_analyses: self.max_analyses,
        })
    }

    pub fn validate(&self) -> Result<()> {
        self.parsed_url()?;
        self.retention()?;
        Ok(())
    }
}

/// `30d`, or anything `[server]` durations accept (`12h`, `90m`, `3600`).
fn parse_age(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if let Some(days) = t.strip_suffix('d') {
        let n: u64 = days
            .parse()
            .map_err(|_| format!("`{text}`: expected a whole number of days like 30d"))?;
        return Ok(Duration::from_secs(n.saturating_mul(86_400)));
    }
    crate::duration::parse_duration(t)
}

/// A parsed store URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    Sqlite(PathBuf),
    /// The whole `postgres://` URL (it may hold a password: print
    /// [`StoreUrl::redacted`], never this).
    Postgres(String),
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl StoreUrl {
    pub fn parse(url: &str) -> std::result::Result<Self, StoreError> {
        let u = url.trim();
        let bad = |message: &str| StoreError::Url {
            url: redact_url(u),
            message: message.into(),
        };
        if u == "memory" || u == "memory://" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(path) = u.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(bad(
                    "names no file: use sqlite:///abs/path.db or sqlite://rel/path.db",
                ));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if u.starts_with("postgres://") || u.starts_with("postgresql://") {
            return match u.parse::<tokio_postgres::Config>() {
                Ok(_) => Ok(StoreUrl::Postgres(u.to_owned())),
                Err(e) => Err(bad(&e.to_string())),
            };
        }
        Err(bad("use memory, sqlite://<path> or postgres://..."))
    }

    /// For logs and errors: the URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Memory => "memory".into(),
            StoreUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            StoreUrl::Postgres(u) => redact_url(u),
        }
    }
}

/// `scheme://user:secret@host/...` → `scheme://user:***@host/...`; also a
/// `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = match rest.find(['/', '?']) {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => format!("{userinfo}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{tail}")
        }
        None => url.to_owned(),
    };
    if let Some(i) = out.find("password=") {
        let start = i + "password=".len();
        let end = out[start..].find('&').map_or(out.len(), |j| start + j);
        out.replace_range(start..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_passwords_never_show() {
        assert_eq!(StoreUrl::parse("memory").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/x.db").unwrap(),
            StoreUrl::Sqlite("/var/lib/x.db".into())
        );
        let pg = StoreUrl::parse("postgres://rw:s3cret@db:5432/rollwise?sslmode=disable").unwrap();
        assert_eq!(
            pg.redacted(),
            "postgres://rw:***@db:5432/rollwise?sslmode=disable"
        );
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert_eq!(
            redact_url("postgres://db/x?user=a&password=hunter2&x=1"),
            "postgres://db/x?user=a&password=***&x=1"
        );
        let e = StoreUrl::parse("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("***") && !e.contains("pw@"), "{e}");
        assert!(StoreUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn retention_reads_days_and_env_overrides_the_url() {
        let c = StoreConfig::default()
            .with_env(|k| (k == "ROLLWISE_STORE_URL").then(|| "memory".to_owned()));
        assert_eq!(c.parsed_url().unwrap(), StoreUrl::Memory);
        assert_eq!(
            c.retention().unwrap().max_age,
            Duration::from_secs(30 * 86_400)
        );
        let c = StoreConfig {
            retention: "10m".into(),
            ..StoreConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("at least 1h")
        );
        let c = StoreConfig {
            retention: "3w".into(),
            ..StoreConfig::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("retention"));
    }
}
