//! Dependency failures in the process's log: one warning each time a
//! dependency (Kubernetes, Prometheus) goes from answering to failing, or
//! from one kind of failure to another, and one when it answers again,
//! naming the dependency and its URL. A dependency that keeps failing the
//! same way logs nothing more (its calls are counted in `/metrics`), so the
//! log says what changed without repeating it per call.
//!
//! URLs are logged without user information or query string: either may
//! hold a credential.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollwise_tools::call::CallObserver;

/// Wraps the observer every external call reports to (the metrics).
#[derive(Debug)]
pub struct DependencyLog {
    inner: Arc<dyn CallObserver>,
    /// Dependency name → (its URL for the log, its last state).
    deps: BTreeMap<String, (String, Mutex<State>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No call yet.
    Unknown,
    Up,
    Down(&'static str),
}

impl DependencyLog {
    /// `deps`: each dependency's name as its calls report it, and its URL.
    pub fn new<'a>(
        inner: Arc<dyn CallObserver>,
        deps: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        DependencyLog {
            inner,
            deps: deps
                .into_iter()
                .map(|(n, u)| (n.to_owned(), (loggable_url(u), Mutex::new(State::Unknown))))
                .collect(),
        }
    }
}

/// What a failed call's outcome says about the dependency, or `None` when
/// the dependency answered (a 404 or a refused argument is an answer).
fn failure(outcome: &str) -> Option<&'static str> {
    Some(match outcome {
        "ok" | "not_found" | "invalid" | "not_allowed" | "decode" => return None,
        "forbidden" => {
            "refuses our credentials (401/403): check the ServiceAccount's RBAC or the token"
        }
        "timeout" => "does not answer in time",
        "transport" => "is unreachable (connection failed)",
        "api_error" => "answers with errors (5xx or 429)",
        "config" => "is misconfigured",
        _ => "fails",
    })
}

impl CallObserver for DependencyLog {
    fn observe(&self, dependency: &str, op: &str, outcome: &str, took: Duration) {
        self.inner.observe(dependency, op, outcome, took);
        let Some((url, state)) = self.deps.get(dependency) else {
            return;
        };
        let now = match failure(outcome) {
            None => State::Up,
            Some(why) => State::Down(why),
        };
        let before = {
            let Ok(mut s) = state.lock() else {
                return;
            };
            std::mem::replace(&mut *s, now)
        };
        match (before, now) {
            (b, n) if b == n => {}
            (_, State::Down(why)) => {
                tracing::warn!(dependency, url = %url, op, outcome, "{dependency} at {url} {why}");
            }
            (State::Down(_), State::Up) => {
                tracing::warn!(dependency, url = %url, "{dependency} at {url} answers again");
            }
            _ => {}
        }
    }
}

/// `url` without user information, query or fragment (which may carry
/// credentials); the text up to the first `?` when it does not parse.
pub fn loggable_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => {
            let head = url.split(['?', '#']).next().unwrap_or_default();
            match head.rsplit_once('@') {
                Some((_, rest)) => rest.to_owned(),
                None => head.to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            loggable_url("https://user:hunter2@prom.example:9090/api?token=abc#x"),
            "https://prom.example:9090/api"
        );
        assert_eq!(loggable_url("not a url?token=abc"), "not a url");
    }

    #[test]
    fn answers_are_not_failures() {
        assert_eq!(failure("ok"), None);
        assert_eq!(failure("not_found"), None);
        assert!(failure("forbidden").unwrap().contains("401/403"));
        assert!(failure("transport").unwrap().contains("unreachable"));
    }
}
