//! The judge's thresholds. Every default says where it comes from, so a person
//! reading a verdict can tell a threshold from a guess.

use serde::{Deserialize, Serialize};

/// How a metric is compared, chosen from its name and unit (see [`MetricKind::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricKind {
    /// A ratio in 0..1 of failed requests (or, with `better: higher`, of good ones).
    ErrorRatio,
    /// A request latency or duration.
    Latency,
    /// Anything else: memory, CPU, open files, queue lag...
    Other,
}

/// Words that make a metric's name a count or ratio of failed work: errors,
/// but also work refused, rejected, dropped, timed out, denied or lost, which
/// a service reports under those names as often as under "error". Not
/// "throttled": a CPU-throttling ratio is a resource measure, not failed work.
const FAILURE_WORDS: [&str; 13] = [
    "error",
    "err_",
    "5xx",
    "non_2xx",
    "fail",
    "refus",
    "reject",
    "drop",
    "timeout",
    "timed_out",
    "denied",
    "loss",
    "abort",
];

impl MetricKind {
    pub fn of(name: &str, unit: Option<&str>) -> MetricKind {
        let name = name.to_ascii_lowercase();
        let unit = unit.unwrap_or("").to_ascii_lowercase();
        let ratio_unit = matches!(unit.as_str(), "ratio" | "fraction" | "percent" | "%");
        let errorish = FAILURE_WORDS
            .iter()
            .chain(["succe", "availability"].iter())
            .any(|k| name.contains(k));
        if ratio_unit && errorish {
            return MetricKind::ErrorRatio;
        }
        let time_unit = matches!(
            unit.as_str(),
            "ms" | "s" | "seconds" | "second" | "milliseconds" | "us" | "µs" | "ns"
        );
        let latencyish = [
            "latency",
            "duration",
            "response_time",
            "_p99",
            "_p95",
            "_p90",
            "_p50",
        ]
        .iter()
        .any(|k| name.contains(k));
        if latencyish || (time_unit && !name.contains("cpu")) {
            return MetricKind::Latency;
        }
        MetricKind::Other
    }

    /// A rate of work done (unit `…/s`, `rps`, or a name saying per second,
    /// throughput, processed or requests) that is not a rate of failures.
    pub fn is_throughput(name: &str, unit: Option<&str>) -> bool {
        let unit = unit.unwrap_or("").to_ascii_lowercase();
        let name = name.to_ascii_lowercase();
        let rate_unit = unit.ends_with("/s") || matches!(unit.as_str(), "rps" | "qps" | "ops");
        let rate_name = [
            "per_second",
            "per_s",
            "throughput",
            "processed",
            "requests",
            "rps",
            "qps",
        ]
        .iter()
        .any(|k| name.contains(k));
        let errorish = FAILURE_WORDS.iter().any(|k| name.contains(k));
        // `http_server_requests_seconds` (Micrometer) names requests but
        // measures how long they take, and a ratio of requests is no rate.
        let measures_else = MetricKind::of(&name, Some(&unit)) != MetricKind::Other
            || matches!(unit.as_str(), "ratio" | "fraction" | "percent" | "%");
        (rate_unit || rate_name) && !errorish && !measures_else
    }

    /// Whether a throughput metric is already per pod (or worker, replica,
    /// instance), so that canary and stable compare as they are; otherwise it is
    /// a version total, which follows each version's share of the traffic.
    pub fn is_per_instance(name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        [
            "per_pod",
            "per_worker",
            "per_replica",
            "per_instance",
            "per_container",
        ]
        .iter()
        .any(|k| name.contains(k))
    }

    /// Metrics computed from requests: meaningless when the canary served too few.
    pub fn needs_traffic(self) -> bool {
        matches!(self, MetricKind::ErrorRatio | MetricKind::Latency)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JudgeConfig {
    /// One-sided significance level of the Mann-Whitney test. 0.02 is Kayenta's
    /// default 98% confidence for its Mann-Whitney classifier.
    pub alpha: f64,
    /// Fewer samples than this on either side gives `NoData`. With 3 canary and 3+
    /// stable samples the exact test can still reach p < 0.02 (1/C(13,3) for 3 vs
    /// 10), so a clear failure in a short window is not lost.
    pub min_samples: usize,
    /// Canary requests below this make request-derived metrics `NoData` and the
    /// verdict inconclusive. At 50 requests a jump from 0% to 10% errors is ~5
    /// failed requests, about the least a proportion test separates from noise.
    pub min_canary_requests: u64,
    /// Absolute error-ratio increase tolerated: 0.01 (one percentage point) mirrors
    /// Flagger's default request-success-rate threshold of 99%.
    pub error_ratio_tolerance: f64,
    /// Relative latency increase tolerated (canary/stable Hodges-Lehmann ratio).
    /// 1.2 follows Kayenta's practice of an allowed effect size around 10-25% on
    /// latency; below it, p99 noise on small samples flags too many good canaries.
    pub latency_ratio_tolerance: f64,
    /// Absolute latency increase (ms) ignored whatever the ratio: a 2 ms → 3 ms p99
    /// is +50% but no user notices. 25 ms is 5% of Flagger's 500 ms p99 default.
    pub latency_floor_ms: f64,
    /// Relative tolerance for other metrics (memory, CPU, open files...): 1.25.
    pub other_ratio_tolerance: f64,
    /// A canary failing at least this share of requests is never promoted, even
    /// when stable fails as much: the baseline is broken, so "no worse than
    /// stable" proves nothing. Flagger halts at 1% absolute; we compare against
    /// stable instead so a service with a known background error rate (a few
    /// percent) can still ship, but 5× Flagger's line is an incident.
    pub unhealthy_error_ratio: f64,
    /// With fewer canary requests than `min_canary_requests`, an error ratio still
    /// regresses when at least this many canary requests failed and an exact
    /// test on the counts is significant: 9 of 38 failing is not "too little data".
    pub min_failures_thin_traffic: u64,
    /// A canary pod OOMKilled this many times aborts (the new version exceeds its
    /// memory limit under real traffic; one kill is already a failed request burst).
    pub oom_restarts_abort: u32,
    /// Restarts of a canary pod with a failure reason that abort: 2, the point at
    /// which the kubelet's back-off turns a crash into CrashLoopBackOff.
    pub crash_restarts_abort: u32,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        JudgeConfig {
            alpha: 0.02,
            min_samples: 3,
            min_canary_requests: 50,
            error_ratio_tolerance: 0.01,
            latency_ratio_tolerance: 1.2,
            latency_floor_ms: 25.0,
            other_ratio_tolerance: 1.25,
            unhealthy_error_ratio: 0.05,
            min_failures_thin_traffic: 5,
            oom_restarts_abort: 1,
            crash_restarts_abort: 2,
        }
    }
}
