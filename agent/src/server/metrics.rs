//! `GET /metrics`: what the service did, in the Prometheus text format.
//!
//! One registry per server (no globals). Families:
//! `rollwise_analyses_total{endpoint,verdict}`,
//! `rollwise_analysis_duration_seconds{endpoint}`,
//! `rollwise_llm_tokens_total{kind}`,
//! `rollwise_external_calls_total{dependency,op,outcome}` (every attempt of a
//! call to Kubernetes, Prometheus, the LLM, Slack or GitHub),
//! `rollwise_external_call_duration_seconds{dependency,op,outcome}`,
//! `rollwise_dependency_errors_total{dependency}`,
//! `rollwise_http_requests_total{route,status}`,
//! `rollwise_cache_lookups_total{result}`, `rollwise_analyses_in_flight`,
//! `rollwise_store_errors_total{op,kind}` (history store failures; never a
//! verdict's), `rollwise_remediations_skipped_total{reason}`,
//! `rollwise_feedback_total{via,agreement}`, `rollwise_slack_interactions_total{result}`.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use rollwise_tools::call::CallObserver;

use crate::evidence::Decision;
use crate::gather::CallMetrics;
use crate::verdict::Usage;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    endpoint: String,
    verdict: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabels {
    dependency: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    op: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 5 ms .. ~80 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    analyses: Family<VerdictLabels, Counter>,
    analysis_seconds: HistogramFamily<EndpointLabels>,
    tokens: Family<KindLabels, Counter>,
    calls: CallMetrics,
    errors: Family<DependencyLabels, Counter>,
    http: Family<HttpLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
    in_flight: Gauge,
    store_errors: Family<StoreLabels, Counter>,
    remediations_skipped: Family<ReasonLabels, Counter>,
    feedback: Family<FeedbackLabels, Counter>,
    slack_interactions: Family<CacheLabels, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedbackLabels {
    via: String,
    agreement: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("rollwise");
        let analyses = Family::<VerdictLabels, Counter>::default();
        r.register(
            "analyses",
            "Analyses finished, by endpoint and verdict",
            analyses.clone(),
        );
        let analysis_seconds: HistogramFamily<EndpointLabels> =
            Family::new_with_constructor(seconds_histogram);
        r.register(
            "analysis_duration_seconds",
            "Time from the start of an analysis to its verdict",
            analysis_seconds.clone(),
        );
        let tokens = Family::<KindLabels, Counter>::default();
        r.register(
            "llm_tokens",
            "LLM tokens spent, prompt and completion",
            tokens.clone(),
        );
        let calls = CallMetrics::default();
        calls.register(&mut r);
        let errors = Family::<DependencyLabels, Counter>::default();
        r.register(
            "dependency_errors",
            "Failed calls by dependency",
            errors.clone(),
        );
        let http = Family::<HttpLabels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests served, by route and status",
            http.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        r.register(
            "cache_lookups",
            "Analyze calls by how they were answered: started, joined a running analysis, from cache, or from another replica's stored record (replica)",
            cache.clone(),
        );
        let in_flight = Gauge::default();
        r.register(
            "analyses_in_flight",
            "Analyses running now",
            in_flight.clone(),
        );
        let store_errors = Family::<StoreLabels, Counter>::default();
        r.register(
            "store_errors",
            "History store operations that failed, by operation and kind (verdicts are answered regardless)",
            store_errors.clone(),
        );
        let remediations_skipped = Family::<ReasonLabels, Counter>::default();
        r.register(
            "remediations_skipped",
            "Confident aborts not remediated, by reason (a PR exists for the revision, another replica holds it)",
            remediations_skipped.clone(),
        );
        let feedback = Family::<FeedbackLabels, Counter>::default();
        r.register(
            "feedback",
            "Feedback on verdicts, by where it came from and whether it agreed with the verdict (right) or corrected it (wrong)",
            feedback.clone(),
        );
        let slack_interactions = Family::<CacheLabels, Counter>::default();
        r.register(
            "slack_interactions",
            "Requests to the Slack interactivity route, by outcome (ok, or why refused: bad_signature, stale, no_signature, no_timestamp, bad_payload, too_large)",
            slack_interactions.clone(),
        );
        Metrics {
            registry: Mutex::new(r),
            store_errors,
            remediations_skipped,
            feedback,
            slack_interactions,
            analyses,
            analysis_seconds,
            tokens,
            calls,
            errors,
            http,
            cache,
            in_flight,
        }
    }

    pub fn analysis_finished(
        &self,
        endpoint: &str,
        verdict: Decision,
        took: Duration,
        usage: &Usage,
    ) {
        self.analyses
            .get_or_create(&VerdictLabels {
                endpoint: endpoint.into(),
                verdict: verdict.as_str().into(),
            })
            .inc();
        self.analysis_seconds
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.into(),
            })
            .observe(took.as_secs_f64());
        for (kind, n) in [
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
        ] {
            if n > 0 {
                self.tokens
                    .get_or_create(&KindLabels { kind: kind.into() })
                    .inc_by(n);
            }
        }
    }

    /// One attempt of a call to a dependency (`kubernetes`, `prometheus`,
    /// `llm`, `slack`, `github`). `outcome` is `ok` or an error class.
    pub fn dependency_call(&self, dependency: &str, op: &str, outcome: &str, took: Duration) {
        self.observe(dependency, op, outcome, took);
    }

    /// Attempts so far with these labels.
    pub fn call_count(&self, dependency: &str, op: &str, outcome: &str) -> u64 {
        self.calls.count(dependency, op, outcome)
    }

    pub fn http_request(&self, route: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                route: route.into(),
                status,
            })
            .inc();
    }

    /// One person's feedback: whether it agreed with the verdict.
    pub fn feedback(&self, via: &str, right: bool) {
        self.feedback
            .get_or_create(&FeedbackLabels {
                via: via.into(),
                agreement: if right { "right" } else { "wrong" }.into(),
            })
            .inc();
    }

    /// One request on the Slack interactivity route, by outcome (ok, or why
    /// it was refused: bad_signature, stale, no_signature, ...).
    pub fn slack_interaction(&self, result: &str) {
        self.slack_interactions
            .get_or_create(&CacheLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn cache_lookup(&self, result: &str) {
        self.cache
            .get_or_create(&CacheLabels {
                result: result.into(),
            })
            .inc();
    }

    /// A failed store operation: logged here, counted in `/metrics`.
    pub fn store_error(&self, op: &str, e: &crate::store::StoreError) {
        tracing::warn!(op, error = %e, "history store operation failed");
        self.store_errors
            .get_or_create(&StoreLabels {
                op: op.into(),
                kind: e.kind().into(),
            })
            .inc();
    }

    /// Failed store operations so far (all kinds) for `op`.
    pub fn store_error_count(&self, op: &str) -> u64 {
        ["backend", "timeout", "migration", "decode", "url"]
            .iter()
            .map(|k| {
                self.store_errors
                    .get_or_create(&StoreLabels {
                        op: op.into(),
                        kind: (*k).into(),
                    })
                    .get()
            })
            .sum()
    }

    pub fn remediation_skipped(&self, reason: &str) {
        self.remediations_skipped
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc();
    }

    pub fn remediation_skipped_count(&self, reason: &str) -> u64 {
        self.remediations_skipped
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .get()
    }

    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
            out.clear();
        }
        out
    }
}

impl CallObserver for Metrics {
    fn observe(&self, dependency: &str, op: &str, outcome: &str, took: Duration) {
        self.calls.observe(dependency, op, outcome, took);
        if outcome != "ok" {
            self.errors
                .get_or_create(&DependencyLabels {
                    dependency: dependency.into(),
                })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_appear_in_the_text_format() {
        let m = Metrics::new();
        m.analysis_finished(
            "analyze",
            Decision::Abort,
            Duration::from_millis(20),
            &Usage {
                prompt_tokens: 100,
                completion_tokens: 7,
                latency_ms: 5,
            },
        );
        m.dependency_call(
            "prometheus",
            "query_range",
            "timeout",
            Duration::from_secs(1),
        );
        m.http_request("/v1/analyze", 200);
        let text = m.encode();
        for line in [
            r#"rollwise_analyses_total{endpoint="analyze",verdict="abort"} 1"#,
            r#"rollwise_llm_tokens_total{kind="prompt"} 100"#,
            r#"rollwise_dependency_errors_total{dependency="prometheus"} 1"#,
            r#"rollwise_http_requests_total{route="/v1/analyze",status="200"} 1"#,
            "# TYPE rollwise_analysis_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
