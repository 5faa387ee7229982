//! How every external call is made: one [`CallPolicy`] for Kubernetes,
//! Prometheus, GitHub, the model endpoint and Slack. A timeout per attempt,
//! bounded retries of transient failures with exponential backoff and full
//! jitter, a server's `Retry-After` honoured up to a cap, and one observation
//! per attempt for the caller's metrics.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

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

/// What a failed call tells the retry loop. Each client classifies its own
/// errors; the policy only asks these two questions.
pub trait Retryable {
    /// Worth another attempt of the same call: the failure is the other
    /// side's or the network's (5xx, 429, a timeout, a refused connection),
    /// not our request's.
    fn is_transient(&self) -> bool;

    /// The wait the server asked for (`Retry-After` on a 429 or 503).
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl Retryable for Error {
    fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Api { code, .. } => *code == 429 || *code >= 500,
            _ => false,
        }
    }
}

/// Where the fraction of the backoff ceiling that is actually waited comes from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// Uniform in `[0, 1)` ("full jitter"): clients that failed together
    /// spread their retries over the whole interval instead of arriving
    /// together again.
    #[default]
    Full,
    /// Always this fraction (clamped to `[0, 1]`): deterministic waits.
    Fixed(f64),
}

impl Jitter {
    fn sample(self) -> f64 {
        match self {
            Jitter::Full => fastrand::f64(),
            Jitter::Fixed(f) if f.is_nan() => 0.0,
            Jitter::Fixed(f) => f.clamp(0.0, 1.0),
        }
    }
}

/// Timeout and retries of one external call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// Per attempt, including reading the whole response (applied by
    /// [`CallPolicy::run`]; callers of [`CallPolicy::retry`] set it on their
    /// HTTP client).
    pub timeout: Duration,
    /// Attempts in total, including the first; only transient failures
    /// ([`Retryable::is_transient`]) are retried.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure; it doubles per attempt.
    pub base_backoff: Duration,
    /// The longest single wait: the ceiling's cap, and the longest
    /// `Retry-After` waited for. A server asking for more gives up at once
    /// (an answer without this call is better than one that comes too late).
    pub max_backoff: Duration,
    pub jitter: Jitter,
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
            jitter: Jitter::Full,
        }
    }
}

impl CallPolicy {
    /// The wait after failed attempt `attempt` (0-based), or `None` to give up.
    /// `fraction` (in `[0, 1]`) of the ceiling `min(max_backoff, base_backoff ×
    /// 2^attempt)` is waited, and never less than a `Retry-After` within the cap.
    pub fn delay(&self, attempt: u32, err: &impl Retryable, fraction: f64) -> Option<Duration> {
        if !err.is_transient() || attempt.saturating_add(1) >= self.max_attempts {
            return None;
        }
        let ceiling = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_backoff);
        let wait = ceiling.mul_f64(fraction.clamp(0.0, 1.0));
        match err.retry_after() {
            Some(after) if after > self.max_backoff => None,
            Some(after) => Some(after.max(wait)),
            None => Some(wait),
        }
    }

    /// Run `call` (given the 0-based attempt number) until it succeeds, fails
    /// permanently or runs out of attempts, sleeping [`CallPolicy::delay`]
    /// between attempts. The caller's `call` applies its own timeout. `what`
    /// names the call in the log.
    pub async fn retry<T, E, F, Fut>(&self, what: &str, mut call: F) -> Result<T, E>
    where
        E: Retryable + fmt::Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            match call(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.delay(attempt, &e, self.jitter.sample()) {
                    Some(wait) => {
                        tracing::debug!(error = %e, ?wait, attempt, what, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return Err(e),
                },
            }
        }
    }

    /// [`CallPolicy::retry`] with [`CallPolicy::timeout`] on every attempt and
    /// every attempt's outcome reported to `observer`. `what` names the object
    /// for error messages ("pod shop/checkout-abc").
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
        let timeout = self.timeout;
        self.retry(what, |_| {
            let attempt = call();
            async move {
                let started = Instant::now();
                let res = match tokio::time::timeout(timeout, attempt).await {
                    Ok(r) => r,
                    Err(_) => Err(Error::Timeout {
                        what: what.to_owned(),
                        after: timeout,
                    }),
                };
                let outcome = match &res {
                    Ok(_) => "ok",
                    Err(e) => e.outcome(),
                };
                observer.observe(dependency, op, outcome, started.elapsed());
                res
            }
        })
        .await
    }
}

/// A `Retry-After` header's value (RFC 9110 §10.2.3): delta-seconds (a
/// fraction is accepted, as some rate limiters send one) or an HTTP-date,
/// which is read relative to `now` (a date in the past: retry at once).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).ok())
            .flatten();
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
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

    /// A failure as a client classifies it.
    #[derive(Debug, Clone, PartialEq)]
    enum Failure {
        Busy,
        Limited(Duration),
        Refused,
    }
    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{self:?}")
        }
    }
    impl Retryable for Failure {
        fn is_transient(&self) -> bool {
            !matches!(self, Failure::Refused)
        }
        fn retry_after(&self) -> Option<Duration> {
            match self {
                Failure::Limited(d) => Some(*d),
                _ => None,
            }
        }
    }

    fn policy() -> CallPolicy {
        CallPolicy {
            timeout: Duration::from_millis(50),
            max_attempts: 3,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            jitter: Jitter::Full,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn wide() -> CallPolicy {
        CallPolicy {
            max_attempts: 10,
            base_backoff: ms(100),
            max_backoff: ms(500),
            ..policy()
        }
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap_and_the_fraction_scales_it() {
        let p = wide();
        let top: Vec<_> = (0..5).map(|a| p.delay(a, &Failure::Busy, 1.0)).collect();
        assert_eq!(top, [ms(100), ms(200), ms(400), ms(500), ms(500)].map(Some));
        assert_eq!(p.delay(1, &Failure::Busy, 0.5), Some(ms(100)));
        assert_eq!(p.delay(3, &Failure::Busy, 0.0), Some(Duration::ZERO));
        // A fraction outside [0, 1] is clamped, never a longer wait.
        assert_eq!(p.delay(0, &Failure::Busy, 7.0), Some(ms(100)));
        assert_eq!(p.delay(0, &Failure::Busy, -1.0), Some(Duration::ZERO));
        // Past 2^31 the doubling saturates instead of overflowing.
        assert_eq!(p.delay(8, &Failure::Busy, 1.0), Some(ms(500)));
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling_and_spreads() {
        let p = wide();
        let waits: Vec<Duration> = (0..2000)
            .map(|_| p.delay(2, &Failure::Busy, Jitter::Full.sample()).unwrap())
            .collect();
        assert!(waits.iter().all(|w| *w <= ms(400)), "above the ceiling");
        // Spread over the interval: both quarters at the ends are reached
        // (each has probability 1 - 0.75^2000 of being hit).
        assert!(waits.iter().any(|w| *w < ms(100)));
        assert!(waits.iter().any(|w| *w > ms(300)));
        assert_eq!(Jitter::Fixed(0.25).sample(), 0.25);
        assert_eq!(Jitter::Fixed(3.0).sample(), 1.0);
        assert_eq!(Jitter::Fixed(f64::NAN).sample(), 0.0);
    }

    #[test]
    fn retry_after_is_a_floor_within_the_cap_and_gives_up_beyond_it() {
        let p = wide();
        let limited = |n| Failure::Limited(ms(n));
        assert_eq!(p.delay(0, &limited(300), 0.0), Some(ms(300)));
        // The jittered backoff wins when it is the longer wait.
        assert_eq!(p.delay(2, &limited(300), 1.0), Some(ms(400)));
        assert_eq!(p.delay(0, &limited(500), 1.0), Some(ms(500)), "at the cap");
        assert_eq!(p.delay(0, &limited(501), 1.0), None, "too long to wait");
    }

    #[test]
    fn permanent_failures_and_the_last_attempt_give_up() {
        let p = wide();
        assert_eq!(p.delay(0, &Failure::Refused, 1.0), None);
        assert!(p.delay(8, &Failure::Busy, 1.0).is_some());
        assert_eq!(p.delay(9, &Failure::Busy, 1.0), None, "10 attempts made");
        let once = CallPolicy {
            max_attempts: 1,
            ..p.clone()
        };
        assert_eq!(once.delay(0, &Failure::Busy, 1.0), None);
        let never = CallPolicy {
            max_attempts: 0,
            ..p
        };
        assert_eq!(never.delay(0, &Failure::Busy, 1.0), None);
        assert!(
            Error::Timeout {
                what: "x".into(),
                after: ms(1)
            }
            .is_transient()
        );
        assert!(!Error::NotFound { what: "x".into() }.is_transient());
    }

    #[tokio::test]
    async fn retry_numbers_the_attempts_and_stops_at_the_first_success_or_permanent_failure() {
        let mut seen = Vec::new();
        let r: Result<u32, Failure> = policy()
            .retry("t", |n| {
                seen.push(n);
                async move {
                    match n {
                        0 => Err(Failure::Busy),
                        1 => Err(Failure::Limited(ms(1))),
                        _ => Ok(n),
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(2));
        assert_eq!(seen, [0, 1, 2]);

        let mut calls = 0;
        let r: Result<(), Failure> = policy()
            .retry("t", |_| {
                calls += 1;
                async { Err(Failure::Refused) }
            })
            .await;
        assert_eq!((r, calls), (Err(Failure::Refused), 1));

        let mut calls = 0;
        let r: Result<(), Failure> = policy()
            .retry("t", |_| {
                calls += 1;
                async { Err(Failure::Busy) }
            })
            .await;
        assert_eq!((r, calls), (Err(Failure::Busy), 3), "max_attempts in all");

        let mut calls = 0;
        let r: Result<(), Failure> = policy()
            .retry("t", |_| {
                calls += 1;
                async { Err(Failure::Limited(Duration::from_secs(60))) }
            })
            .await;
        assert_eq!(calls, 1, "a Retry-After past the cap is not waited for");
        assert!(r.is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let p = |v| parse_retry_after(v, now);
        assert_eq!(p(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(p("0.5"), Some(ms(500)));
        assert_eq!(
            p("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        // RFC 850 and asctime, the obsolete forms a recipient must accept.
        assert_eq!(
            p("Wednesday, 21-Oct-15 07:29:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(p("Wed Oct 21 07:28:02 2015"), Some(Duration::from_secs(2)));
        assert_eq!(
            p("Tue, 20 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "past"
        );
        assert_eq!(p("soon"), None);
        assert_eq!(p("-3"), None);
        assert_eq!(p("1e300"), None, "beyond any Duration");
        assert_eq!(p("NaN"), None);
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
