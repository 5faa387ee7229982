//! External-call metrics: one counter and one latency histogram per
//! (dependency, operation, outcome), fed by [`CallObserver`] and registered
//! in the service's Prometheus registry (no global registry).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rollwise_tools::call::CallObserver;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub dependency: String,
    pub op: String,
    pub outcome: String,
}

fn latency_histogram() -> Histogram {
    // 5 ms to ~10 s: a cached GET to a Prometheus range query on a busy server.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// Clones share the same series (prometheus-client metrics are `Arc`s).
#[derive(Debug, Clone)]
pub struct CallMetrics {
    calls: Family<CallLabels, Counter>,
    duration: Family<CallLabels, Histogram, fn() -> Histogram>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        CallMetrics {
            calls: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl CallMetrics {
    /// `external_calls_total` and `external_call_duration_seconds`, under
    /// the registry's prefix (`rollwise_` in the service).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "external_calls",
            "Attempts of calls to Kubernetes, Prometheus and other dependencies, by outcome",
            self.calls.clone(),
        );
        registry.register(
            "external_call_duration_seconds",
            "Duration of each attempt of an external call",
            self.duration.clone(),
        );
    }

    /// Attempts so far with these labels (for tests and the status page).
    pub fn count(&self, dependency: &str, op: &str, outcome: &str) -> u64 {
        self.calls
            .get_or_create(&labels(dependency, op, outcome))
            .get()
    }
}

fn labels(dependency: &str, op: &str, outcome: &str) -> CallLabels {
    CallLabels {
        dependency: dependency.to_owned(),
        op: op.to_owned(),
        outcome: outcome.to_owned(),
    }
}

impl CallObserver for CallMetrics {
    fn observe(&self, dependency: &str, op: &str, outcome: &str, duration: Duration) {
        let l = labels(dependency, op, outcome);
        self.calls.get_or_create(&l).inc();
        self.duration
            .get_or_create(&l)
            .observe(duration.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_are_exported() {
        let m = CallMetrics::default();
        let mut reg = Registry::with_prefix("rollwise");
        m.register(&mut reg);
        m.observe("kubernetes", "get_rollout", "ok", Duration::from_millis(12));
        m.observe("kubernetes", "get_rollout", "ok", Duration::from_millis(8));
        m.observe(
            "prometheus",
            "query_range",
            "timeout",
            Duration::from_secs(1),
        );
        assert_eq!(m.count("kubernetes", "get_rollout", "ok"), 2);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(
            text.contains(r#"rollwise_external_calls_total{dependency="kubernetes",op="get_rollout",outcome="ok"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"rollwise_external_call_duration_seconds_count{dependency="prometheus",op="query_range",outcome="timeout"} 1"#), "{text}");
    }
}
