//! [`ClusterSource`]: the [`EvidenceSource`] of the service. Kubernetes first
//! (the Rollout and pods say what the metric queries must match), then events
//! and logs (kube or Loki) beside the metric sources, all under one deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise_tools::call::CallObserver;
use rollwise_tools::kube::ClusterReader;
use serde::{Deserialize, Serialize};

use super::kube::{Details, KubeGatherConfig, KubeGatherer, Resolved};
use super::loki::{LogSourceKind, LogsConfig, LokiReader};
use super::prometheus::{
    MetricsPart, PrometheusConfig, PrometheusGatherer, SideQuery, validate_request_queries,
};
use super::sources::{EnvLookup, Source, SourceConfig, SourcesRequest};
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
    /// The first metric source when it has a `url` (named `prometheus`).
    pub prometheus: PrometheusConfig,
    /// `[[gather.sources]]`: more metric sources, after `prometheus`.
    pub sources: Vec<SourceConfig>,
    /// `[gather.logs]`: where pod logs come from.
    pub logs: LogsConfig,
}

impl Default for GatherConfig {
    fn default() -> Self {
        GatherConfig {
            deadline_secs: 60.0,
            kube: KubeGatherConfig::default(),
            prometheus: PrometheusConfig::default(),
            sources: Vec::new(),
            logs: LogsConfig::default(),
        }
    }
}

impl GatherConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.deadline_secs.is_finite() && self.deadline_secs > 0.0) {
            return Err(Error::Config("gather.deadline-secs must be > 0".into()));
        }
        self.kube.validate()?;
        self.prometheus.validate()?;
        self.logs.validate()?;
        super::sources::effective_sources(&self.prometheus, &self.sources).map(|_| ())
    }
}

#[derive(Debug, Clone)]
pub struct ClusterSource {
    kube: KubeGatherer,
    /// Metric sources in order (Prometheus first when configured).
    sources: Vec<Source>,
    /// Set: pod logs come from Loki, and `kube` reads events only.
    loki: Option<LokiReader>,
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
            sources: prometheus
                .into_iter()
                .map(|p| Source::Prometheus(Box::new(p)))
                .collect(),
            loki: None,
            deadline,
        }
    }

    /// Add metric sources after the ones already there.
    pub fn with_sources(mut self, sources: Vec<Source>) -> Self {
        self.sources.extend(sources);
        self
    }

    /// Read pod logs from Loki instead of the kube API.
    pub fn with_loki(mut self, loki: LokiReader) -> Self {
        self.kube = self.kube.without_logs();
        self.loki = Some(loki);
        self
    }

    /// Build from configuration: `client` is the cluster (in-cluster config
    /// or kubeconfig, built by the caller), `observer` receives every call.
    pub fn from_config(
        client: ::kube::Client,
        cfg: &GatherConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self> {
        Self::from_config_with_env(client, cfg, observer, &super::sources::process_env())
    }

    /// [`ClusterSource::from_config`] reading credentials through `env`.
    pub fn from_config_with_env(
        client: ::kube::Client,
        cfg: &GatherConfig,
        observer: Arc<dyn CallObserver>,
        env: &EnvLookup,
    ) -> Result<Self> {
        cfg.validate()?;
        let reader = ClusterReader::new(client, cfg.kube.policy(), observer.clone());
        let all = super::sources::effective_sources(&cfg.prometheus, &cfg.sources)?;
        if all.is_empty() {
            tracing::warn!(
                "no metric source: [gather.prometheus] url is not set and there is no [[gather.sources]], so analyses gathered from the cluster have no metrics and are inconclusive; see docs/queries.md"
            );
        }
        let sources = super::sources::build(&all, observer.clone(), env)?;
        let src = ClusterSource::new(
            KubeGatherer::new(reader, cfg.kube.clone()),
            None,
            Duration::from_secs_f64(cfg.deadline_secs),
        )
        .with_sources(sources);
        Ok(match cfg.logs.source {
            LogSourceKind::Kube => src,
            LogSourceKind::Loki => src.with_loki(LokiReader::new(&cfg.logs, &cfg.kube, observer)?),
        })
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
        let side = |s: &super::kube::ResolvedSide| SideQuery {
            series: s.series.clone(),
            pods: s
                .pods
                .iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect(),
            hash: s.hash.clone(),
        };
        let sreq = SourcesRequest {
            namespace: &req.namespace,
            rollout: &req.rollout,
            sides: Sides {
                canary: side(&resolved.canary),
                stable: side(&resolved.stable),
            },
            start,
            end,
            annotations: &resolved.annotations,
            queries: &req.queries,
        };
        let metrics_fut = super::sources::gather_all(&self.sources, &sreq);
        let details_fut = async {
            let mut d = self.kube.details(&resolved, start).await;
            if let Some(loki) = &self.loki {
                let ns = req.namespace.as_str();
                let (c, s) = tokio::join!(
                    loki.side_logs("canary", ns, &resolved.canary.series, start, end),
                    loki.side_logs("stable", ns, &resolved.stable.series, start, end),
                );
                d.logs.canary = c.pods;
                d.logs.stable = s.pods;
                d.gaps.extend(c.gaps);
                d.gaps.extend(s.gaps);
            }
            d
        };
        let (details, metrics) = tokio::join!(
            tokio::time::timeout(remaining, details_fut),
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

    /// Ready when the API server answers and every configured metric
    /// source answers (Prometheus a query; a vendor: credentials present):
    /// without them no analysis can succeed.
    fn check_ready(&self) -> BoxFuture<'_, Vec<(String, std::result::Result<String, String>)>> {
        Box::pin(async move {
            let kube = ready_within("kubernetes", self.kube.ping());
            let metric = async {
                let mut out = Vec::new();
                for s in &self.sources {
                    let name = s.name().to_owned();
                    let r = ready_within(&name, s.ready()).await;
                    out.push((name, r));
                }
                out
            };
            let (kube, metric) = tokio::join!(kube, metric);
            let mut checks = vec![("kubernetes".to_owned(), kube)];
            if metric.is_empty() {
                checks.push((
                    "prometheus".to_owned(),
                    Ok("not configured: verdicts have no metrics and are inconclusive".into()),
                ));
            }
            checks.extend(metric);
            checks
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Better;

    /// `[[gather.sources]]` and `[gather.logs]` as the README documents them.
    const SOURCES_EXAMPLE: &str = r#"
[prometheus]
url = "http://prometheus.monitoring:9090"

[logs]
source = "loki"
url = "http://loki-gateway.monitoring"
tenant = "team-shop"

[[sources]]
kind = "datadog"
name = "dd"
site = "datadoghq.eu"
api-key-file = "/var/run/secrets/rollwise/datadog-api-key"
traffic-query = "sum:trace.http.request.hits{kube_namespace:{{namespace}} AND {{selector}}}.as_count()"

[[sources.metrics]]
name = "dd_error_rate"
better = "lower"
critical = true
query = "sum:trace.http.request.errors{kube_namespace:{{namespace}} AND {{selector}}}.as_rate() / sum:trace.http.request.hits{kube_namespace:{{namespace}} AND {{selector}}}.as_rate()"

[[sources]]
kind = "cloudwatch"
name = "cw"
region = "eu-west-1"
step-secs = 60

[[sources.metrics]]
name = "alb_5xx"
better = "lower"
query = "SELECT SUM(HTTPCode_Target_5XX_Count) FROM SCHEMA(\"AWS/ApplicationELB\", LoadBalancer, TargetGroup) WHERE TargetGroup = '{{rollout}}-{{hash}}'"

[[sources]]
kind = "prometheus"
name = "thanos"
url = "http://thanos-query.monitoring:9090"
metrics = []
"#;

    #[tokio::test]
    async fn sources_and_loki_parse_validate_and_build() {
        let cfg: GatherConfig = toml::from_str(SOURCES_EXAMPLE).unwrap();
        cfg.validate().unwrap();
        let all = super::super::sources::effective_sources(&cfg.prometheus, &cfg.sources).unwrap();
        let names: Vec<&str> = all.iter().map(SourceConfig::name).collect();
        // [gather.prometheus] is the first source, named prometheus.
        assert_eq!(names, ["prometheus", "dd", "cw", "thanos"]);
        assert_eq!(cfg.logs.source, LogSourceKind::Loki);
        let (svc, _h) = tower_test::mock::pair::<
            http::Request<::kube::client::Body>,
            http::Response<::kube::client::Body>,
        >();
        let client = ::kube::Client::new(svc, "default");
        let env: EnvLookup = Arc::new(|_| None);
        let src = ClusterSource::from_config_with_env(
            client,
            &cfg,
            Arc::new(rollwise_tools::call::NoObserver),
            &env,
        )
        .unwrap();
        assert_eq!(src.sources.len(), 4);
        assert!(src.loki.is_some());
        // Without credentials the vendors are not ready, and say why.
        let ready = src.sources[1].ready().await.unwrap_err();
        assert!(ready.contains("datadog-api-key"), "{ready}");
        let ready = src.sources[2].ready().await.unwrap_err();
        assert!(ready.contains("no AWS credentials"), "{ready}");

        let bad = |extra: &str| {
            let t = format!("{SOURCES_EXAMPLE}\n{extra}");
            toml::from_str::<GatherConfig>(&t).map_or(true, |c| c.validate().is_err())
        };
        assert!(bad(
            "[[sources]]\nkind = \"splunk\"\nname = \"s\"\nmetrics = []"
        ));
        assert!(bad(
            "[[sources]]\nkind = \"datadog\"\nname = \"dd\"\n[[sources.metrics]]\nname = \"x\"\nquery = \"a\""
        ));
        // A metric is read from one source only.
        assert!(bad(
            "[[sources]]\nkind = \"datadog\"\nname = \"dd2\"\n[[sources.metrics]]\nname = \"alb_5xx\"\nquery = \"a\""
        ));
        assert!(bad(
            "[[sources]]\nkind = \"cloudwatch\"\nname = \"cw2\"\nstep-secs = 45\n[[sources.metrics]]\nname = \"y\"\nquery = \"a\""
        ));
        assert!(bad(
            "[[sources]]\nkind = \"datadog\"\nname = \"dd3\"\nbogus = 1\n[[sources.metrics]]\nname = \"z\"\nquery = \"a\""
        ));
        let no_url = toml::from_str::<GatherConfig>("[logs]\nsource = \"loki\"").unwrap();
        assert!(no_url.validate().is_err());
    }

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
        assert_eq!(src.sources.len(), 1);
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
