//! [`ClusterSource`]: the [`EvidenceSource`] of the service. Kubernetes first
//! (the Rollout and pods say what Prometheus must match), then events and logs
//! beside the Prometheus queries, all under one deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise_tools::call::CallObserver;
use rollwise_tools::kube::ClusterReader;
use serde::{Deserialize, Serialize};

use super::kube::{Details, KubeGatherConfig, KubeGatherer, Resolved};
use super::prometheus::{
    MetricsPart, MetricsRequest, PrometheusClient, PrometheusConfig, PrometheusGatherer, SideQuery,
    effective_metrics, validate_request_queries,
};
use super::{EvidenceSource, GatherRequest};
use crate::error::{Error, Result};
use crate::evidence::{Evidence, SUPPORTED_VERSION, Sides, Window};
use crate::llm::BoxFuture;

/// The `[gather]` table of `rollwise.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct GatherConfig {
    /// Everything for one analysis, retries included. Argo's web metric
    /// provider waits `timeoutSeconds` (default 10 s... configurable); keep
    /// this below what the caller waits.
    pub deadline_secs: f64,
    pub kube: KubeGatherConfig,
    pub prometheus: PrometheusConfig,
}

impl Default for GatherConfig {
    fn default() -> Self {
        GatherConfig {
            deadline_secs: 60.0,
            kube: KubeGatherConfig::default(),
            prometheus: PrometheusConfig::default(),
        }
    }
}

impl GatherConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.deadline_secs.is_finite() && self.deadline_secs > 0.0) {
            return Err(Error::Config("gather.deadline-secs must be > 0".into()));
        }
        self.kube.validate()?;
        self.prometheus.validate()
    }
}

#[derive(Debug, Clone)]
pub struct ClusterSource {
    kube: KubeGatherer,
    prometheus: Option<PrometheusGatherer>,
    deadline: Duration,
}

impl ClusterSource {
    pub fn new(
        kube: KubeGatherer,
        prometheus: Option<PrometheusGatherer>,
        deadline: Duration,
    ) -> Self {
        ClusterSource {
            kube,
            prometheus,
            deadline,
        }
    }

    /// Build from configuration: `client` is the cluster (in-cluster config
    /// or kubeconfig, built by the caller), `observer` receives every call.
    pub fn from_config(
        client: ::kube::Client,
        cfg: &GatherConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self> {
        cfg.validate()?;
        let reader = ClusterReader::new(client, cfg.kube.policy(), observer.clone());
        let prometheus = match &cfg.prometheus.url {
            Some(url) => {
                let policy = rollwise_tools::call::CallPolicy {
                    timeout: Duration::from_secs_f64(cfg.prometheus.timeout_secs),
                    max_attempts: cfg.prometheus.max_attempts,
                    ..Default::default()
                };
                let client = PrometheusClient::new(url, policy, observer)?;
                Some(PrometheusGatherer::new(client, cfg.prometheus.clone()))
            }
            None => {
                tracing::warn!(
                    "no metric source: [gather.prometheus] url is not set, so analyses gathered from the cluster have no metrics and are inconclusive; see docs/queries.md"
                );
                None
            }
        };
        Ok(ClusterSource::new(
            KubeGatherer::new(reader, cfg.kube.clone()),
            prometheus,
            Duration::from_secs_f64(cfg.deadline_secs),
        ))
    }

    pub async fn gather_evidence(&self, req: &GatherRequest) -> Result<Evidence> {
        let started = Instant::now();
        super::kube::validate_request(req)?;
        validate_request_queries(&req.queries)?;
        let window = jiff::SignedDuration::try_from(req.window)
            .ok()
            .and_then(|w| req.end.checked_sub(w).ok())
            .ok_or_else(|| Error::Usage(format!("a window of {:?} is out of range", req.window)))?;
        let (start, end) = (window, req.end);

        let resolved: Resolved = tokio::time::timeout(self.deadline, self.kube.resolve(req))
            .await
            .map_err(|_| Error::Gather {
                dependency: "kubernetes",
                message: format!(
                    "the Rollout and its pods were not read within the {:?} deadline",
                    self.deadline
                ),
            })??;
        let remaining = self.deadline.saturating_sub(started.elapsed());

        let mut gaps = resolved.gaps.clone();
        let metrics_fut = async {
            let Some(p) = &self.prometheus else {
                return MetricsPart {
                    gaps: vec!["no Prometheus is configured: no metrics were gathered".into()],
                    ..Default::default()
                };
            };
            let (metrics, traffic_query) =
                match effective_metrics(p.config(), &resolved.annotations, &req.queries) {
                    Ok(m) => m,
                    Err(e) => {
                        return MetricsPart {
                            gaps: vec![format!(
                                "the Rollout's metric annotations are unusable: {e}"
                            )],
                            ..Default::default()
                        };
                    }
                };
            let side = |s: &super::kube::ResolvedSide| SideQuery {
                series: s.series.clone(),
                pods: s
                    .pods
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect(),
                hash: s.hash.clone(),
            };
            let mreq = MetricsRequest {
                namespace: &req.namespace,
                rollout: &req.rollout,
                sides: Sides {
                    canary: side(&resolved.canary),
                    stable: side(&resolved.stable),
                },
                start,
                end,
                metrics,
                traffic_query,
            };
            p.gather(&mreq).await
        };
        let (details, metrics) = tokio::join!(
            tokio::time::timeout(remaining, self.kube.details(&resolved, start)),
            tokio::time::timeout(remaining, metrics_fut),
        );
        let details = details.unwrap_or_else(|_| Details {
            gaps: vec![format!(
                "events and logs were not read within the {:?} deadline",
                self.deadline
            )],
            ..Default::default()
        });
        let metrics = metrics.unwrap_or_else(|_| MetricsPart {
            gaps: vec![format!(
                "metrics were not read within the {:?} deadline",
                self.deadline
            )],
            ..Default::default()
        });
        gaps.extend(metrics.gaps);
        gaps.extend(details.gaps);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            gaps = gaps.len(),
            "evidence gathered"
        );
        Ok(Evidence {
            version: SUPPORTED_VERSION,
            name: format!("{}/{}", req.namespace, req.rollout),
            description: None,
            pods: resolved.pod_statuses(),
            rollout: resolved.rollout,
            window: Some(Window {
                start: start.to_string(),
                end: end.to_string(),
            }),
            traffic: metrics.traffic,
            metrics: metrics.metrics,
            events: details.events,
            logs: details.logs,
            gaps,
            expected: None,
            planted_secrets: Vec::new(),
        })
    }
}

/// The longest a readiness check waits for one dependency: a probe must
/// answer within the kubelet's timeout (1 s by default, often set higher).
const READY_TIMEOUT: Duration = Duration::from_secs(3);

async fn ready_within(
    what: &str,
    check: impl std::future::Future<Output = std::result::Result<String, String>>,
) -> std::result::Result<String, String> {
    tokio::time::timeout(READY_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("{what}: no answer within {READY_TIMEOUT:?}")))
}

impl EvidenceSource for ClusterSource {
    fn gather<'a>(&'a self, req: &'a GatherRequest) -> BoxFuture<'a, Result<Evidence>> {
        Box::pin(self.gather_evidence(req))
    }

    /// Ready when the API server answers and, if one is configured,
    /// Prometheus answers a query: without either no analysis can succeed.
    fn check_ready(&self) -> BoxFuture<'_, Vec<(String, std::result::Result<String, String>)>> {
        Box::pin(async move {
            let kube = ready_within("kubernetes", self.kube.ping());
            let prom = async {
                match &self.prometheus {
                    Some(p) => Some(ready_within("prometheus", p.ping()).await),
                    None => None,
                }
            };
            let (kube, prom) = tokio::join!(kube, prom);
            let mut checks = vec![("kubernetes".to_owned(), kube)];
            checks.push((
                "prometheus".to_owned(),
                prom.unwrap_or_else(|| {
                    Ok("not configured: verdicts have no metrics and are inconclusive".into())
                }),
            ));
            checks
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Better;

    /// The `[gather]` table as documented in the report and the module docs.
    const EXAMPLE: &str = r#"
deadline-secs = 30

[kube]
timeout-secs = 5
max-attempts = 3
max-log-lines = 2000
max-log-bytes = 1048576
max-pods-per-side = 5
previous-logs = true

[prometheus]
url = "http://prometheus.monitoring:9090"
timeout-secs = 8
step-secs = 15
rate-interval = "2m"
match-by = "pod"
traffic-query = 'sum(increase(requests_total{namespace="{{namespace}}",{{selector}}}[{{window}}]))'

[[prometheus.metrics]]
name = "error_rate"
unit = "ratio"
better = "lower"
critical = true
query = 'sum(rate(requests_total{namespace="{{namespace}}",{{selector}},code=~"5.."}[{{interval}}])) / sum(rate(requests_total{namespace="{{namespace}}",{{selector}}}[{{interval}}]))'
"#;

    #[tokio::test]
    async fn the_documented_toml_parses_validates_and_builds() {
        let cfg: GatherConfig = toml::from_str(EXAMPLE).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.kube.max_pods_per_side, 5);
        assert_eq!(
            cfg.prometheus.match_by,
            super::super::prometheus::MatchBy::Pod
        );
        assert_eq!(cfg.prometheus.metrics.len(), 1);
        assert_eq!(cfg.prometheus.metrics[0].better, Better::Lower);
        let (svc, _h) = tower_test::mock::pair::<
            http::Request<::kube::client::Body>,
            http::Response<::kube::client::Body>,
        >();
        let client = ::kube::Client::new(svc, "default");
        let src =
            ClusterSource::from_config(client, &cfg, Arc::new(rollwise_tools::call::NoObserver))
                .unwrap();
        assert_eq!(src.deadline, Duration::from_secs(30));
        assert!(src.prometheus.is_some());
        // Defaults: no Prometheus URL means no metrics (a gap), not an error.
        let d = GatherConfig::default();
        d.validate().unwrap();
        assert!(d.prometheus.url.is_none());
        for bad in [
            "deadline-secs = 0",
            "[kube]\nmax-log-lines = 0",
            "[prometheus]\nrate-interval = \"1 minute\"",
            "[prometheus]\nurl = \"not a url\"",
            "[[prometheus.metrics]]\nname = \"x\"\nquery = \"up{a=\\\"{{nsp}}\\\"}\"",
            "[prometheus]\nbogus = 1",
        ] {
            let parsed = toml::from_str::<GatherConfig>(bad);
            assert!(
                parsed.is_err() || parsed.unwrap().validate().is_err(),
                "{bad}"
            );
        }
    }
}
