//! Gathering evidence from a cluster: the Rollout, its canary and stable pods,
//! their events and logs (Kubernetes, or Loki), and metrics (Prometheus,
//! Datadog, CloudWatch: [`sources`]), turned into the
//! same [`Evidence`] bundle `rollwise analyze` reads from a file.
//!
//! What cannot be gathered becomes a sentence in `Evidence::gaps` (the judge
//! then cannot promote); only a failure that leaves nothing to judge (the
//! Rollout does not exist, the API server is unreachable) is an `Err`.

pub mod cloudwatch;
pub mod cluster;
pub mod datadog;
pub mod files;
pub mod health;
pub mod kube;
pub mod loki;
pub mod metrics;
pub mod prometheus;
pub mod sources;

pub use cluster::{ClusterSource, GatherConfig};
pub use metrics::CallMetrics;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::evidence::Evidence;
use crate::llm::BoxFuture;

/// Which pods make up one side (canary or stable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodSelector {
    /// Pods labelled `rollouts-pod-template-hash=<hash>` (Argo's
    /// `podTemplateHashValue: Latest|Stable`). PromQL matches the same label.
    Hash(String),
    /// A Kubernetes label selector (`role=canary,app=x`), as the metric-ai plugin
    /// and Flagger name pods. PromQL then needs the pods' hash label (read from
    /// the pods) or matches pod names.
    Labels(String),
    /// Whatever the Rollout's status says: canary = `status.currentPodHash`,
    /// stable = `status.stableRS` (blue-green: the preview and active
    /// selectors, see [`kube::bluegreen_sides`]).
    FromRollout,
    /// The pods of an Argo Experiment's baseline ReplicaSet (`baselineHash`):
    /// fresh pods of the stable version, started with the canary, so the
    /// comparison carries no "warm stable vs cold canary" bias. An
    /// Experiment's ReplicaSet copies the stable pod template, hash label
    /// included, so the label selects the stable pods too: only pods owned by
    /// a ReplicaSet that an Experiment owns are this side, and PromQL matches
    /// them by pod name.
    Baseline(String),
}

/// What to gather: one canary step of one Rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherRequest {
    pub namespace: String,
    /// The Argo Rollout's name (or, for Flagger, the canary's name).
    pub rollout: String,
    /// Whether `rollout` names an Argo Rollout to read. False for Flagger
    /// canaries, which have none: both selectors are then `Labels`.
    pub read_rollout: bool,
    pub canary: PodSelector,
    pub stable: PodSelector,
    /// How far back from `end` metrics and logs are read.
    pub window: Duration,
    /// The end of the window (normally now).
    pub end: jiff::Timestamp,
    /// PromQL overrides by metric name, from the request (highest precedence,
    /// above the Rollout's annotations and the configured defaults).
    pub queries: BTreeMap<String, String>,
}

/// Something that turns a [`GatherRequest`] into evidence.
pub trait EvidenceSource: Send + Sync + std::fmt::Debug {
    fn gather<'a>(&'a self, req: &'a GatherRequest) -> BoxFuture<'a, crate::Result<Evidence>>;

    /// For `/readyz`: each dependency by name, `Ok(detail)` when it answers.
    fn check_ready(&self) -> BoxFuture<'_, Vec<(String, Result<String, String>)>> {
        Box::pin(async { Vec::new() })
    }
}

/// The evidence source for `rollwise serve` in a cluster: in-cluster (or
/// kubeconfig) credentials, Prometheus and limits from `[gather]`. Every call
/// is reported to `observer` (the service's metrics). Also returns a reader on the same
/// client, for the remediation agent's read-only kube tools.
pub async fn from_environment(
    cfg: &GatherConfig,
    observer: std::sync::Arc<dyn rollwise_tools::call::CallObserver>,
) -> crate::Result<(
    std::sync::Arc<dyn EvidenceSource>,
    rollwise_tools::kube::ClusterReader,
)> {
    crate::tls::install_crypto_provider();
    let no_cluster = |e: &dyn std::fmt::Display| crate::Error::Gather {
        dependency: "kubernetes",
        message: format!(
            "no cluster credentials ({e}); run in a pod with the rollwise ServiceAccount, set KUBECONFIG, or use --evidence-dir / --no-cluster"
        ),
    };
    let config = ::kube::Config::infer().await.map_err(|e| no_cluster(&e))?;
    let kube_url = config.cluster_url.to_string();
    let client = ::kube::Client::try_from(config).map_err(|e| no_cluster(&e))?;
    tracing::info!(url = %health::loggable_url(&kube_url), "kubernetes API server");
    let mut deps = vec![("kubernetes", kube_url.as_str())];
    if let Some(u) = &cfg.prometheus.url {
        deps.push(("prometheus", u.as_str()));
    }
    let observer: std::sync::Arc<dyn rollwise_tools::call::CallObserver> =
        std::sync::Arc::new(health::DependencyLog::new(observer, deps));
    let reader = rollwise_tools::kube::ClusterReader::new(
        client.clone(),
        cfg.kube.policy(),
        observer.clone(),
    );
    let source = ClusterSource::from_config(client, cfg, observer)?;
    Ok((std::sync::Arc::new(source), reader))
}
