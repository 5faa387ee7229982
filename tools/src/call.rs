//! How every external call is made: a timeout per attempt, bounded retries of
//! transient failures with exponential backoff, and one observation per
//! attempt for the caller's metrics.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Receives one observation per attempt of an external call. The agent
/// records them in its Prometheus registry; this crate only reports.
pub trait CallObserver: Send + Sync + fmt::Debug {
    /// `dependency`: `kubernetes`, `prometheus`...; `op`: `get_rollout`,
    /// `pod_logs`, `query_range`...; `outcome`: `ok` or [`Error::outcome`].
    fn observe(&self, dependency: &str, op: &str, outcome: &str, duration: Duration);
}

/// An observer that drops every observation (tools and tests without metrics).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl CallObserver for NoObserver {
    fn observe(&self, _: &str, _: &str, _: &str, _: Duration) {}
}

/// Timeout and retries of one external call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// Per attempt, including reading the whole response.
    pub timeout: Duration,
    /// Attempts in total, including the first; only transient failures
    /// ([`Error::is_transient`]: 5xx, 429, timeout, transport) are retried.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            // The API server answers a GET in milliseconds; 10 s is an overloaded
            // control plane, and a canary step should not wait longer per call.
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl CallPolicy {
    /// The wait after failed attempt `attempt` (0-based), or `None` to give up.
    pub fn backoff(&self, attempt: u32, err: &Error) -> Option<Duration> {
        if !err.is_transient() || attempt + 1 >= self.max_attempts {
            return None;
        }
        Some(
            self.base_backoff
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(self.max_backoff),
        )
    }

    /// Run `call` under this policy. `what` names the object for error messages
    /// ("pod shop/checkout-abc").
    pub async fn run<T, F, Fut>(
        &self,
        observer: &dyn CallObserver,
        dependency: &'static str,
        op: &'static str,
        what: &str,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let res = match tokio::time::timeout(self.timeout, call()).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    what: what.to_owned(),
                    after: self.timeout,
                }),
            };
            let outcome = match &res {
                Ok(_) => "ok",
                Err(e) => e.outcome(),
            };
            observer.observe(dependency, op, outcome, started.elapsed());
            match res {
                Ok(v) => return Ok(v),
                Err(e) => match self.backoff(attempt, &e) {
                    Some(wait) => {
                        tracing::debug!(error = %e, ?wait, attempt, dependency, op, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return Err(e),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Seen(Mutex<Vec<String>>);
    impl CallObserver for Seen {
        fn observe(&self, d: &str, op: &str, outcome: &str, _: Duration) {
            self.0.lock().unwrap().push(format!("{d}/{op}/{outcome}"));
        }
    }

    fn policy() -> CallPolicy {
        CallPolicy {
            timeout: Duration::from_millis(50),
            max_attempts: 3,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_observed() {
        let seen = Seen::default();
        let mut n = 0;
        let r: Result<u32> = policy()
            .run(&seen, "kubernetes", "get", "x", || {
                n += 1;
                let k = n;
                async move {
                    match k {
                        1 => Err(Error::Api {
                            service: "kubernetes",
                            code: 503,
                            message: "busy".into(),
                        }),
                        2 => {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            Ok(0)
                        }
                        _ => Ok(k),
                    }
                }
            })
            .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "kubernetes/get/api_error",
                "kubernetes/get/timeout",
                "kubernetes/get/ok"
            ]
        );
    }

    #[tokio::test]
    async fn permanent_failures_and_exhausted_attempts_stop() {
        let seen = Seen::default();
        let r: Result<()> = policy()
            .run(&seen, "k", "get", "pod a", || async {
                Err(Error::Forbidden("no".into()))
            })
            .await;
        assert!(matches!(r, Err(Error::Forbidden(_))));
        assert_eq!(seen.0.lock().unwrap().len(), 1);
        let seen = Seen::default();
        let r: Result<()> = policy()
            .run(&seen, "k", "get", "pod a", || async {
                Err(Error::Transport {
                    service: "k",
                    message: "refused".into(),
                })
            })
            .await;
        assert!(matches!(r, Err(Error::Transport { .. })));
        assert_eq!(seen.0.lock().unwrap().len(), 3);
    }
}
