//! Kubernetes → evidence: the Rollout, the canary and stable pods, their
//! status, the events of those pods and their ReplicaSets, and bounded
//! container logs (previous instances too after a restart).
//!
//! Two phases, so Prometheus can run beside the slow part: [`KubeGatherer::resolve`]
//! reads the Rollout and lists the pods (both are needed to know what the
//! PromQL matches), then [`KubeGatherer::details`] reads events and logs.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use rollwise_tools::call::CallPolicy;
use rollwise_tools::crd::{POD_TEMPLATE_HASH_LABEL, Rollout};
use rollwise_tools::kube::{ClusterReader, LogRequest, validate};
use serde::{Deserialize, Serialize};

use super::{GatherRequest, PodSelector};
use crate::error::{Error, Result};
use crate::evidence::{KubeEvent, LogSource, PodLogs, PodStatus, RolloutRef, Sides, Strategy};

/// Annotations on the Rollout (or its pod template) naming the source of the
/// revision, for the remediation agent.
pub const REPO_ANNOTATION: &str = "rollwise.io/repo";
pub const REVISION_ANNOTATION: &str = "rollwise.io/revision";
/// The OCI image-spec's pre-defined keys for the commit an image was built
/// from and the repository it came from. They are image config labels, and
/// Kubernetes copies no image label into a pod or its status (the status
/// carries only `image` and `imageID`), so they are read where deploy tooling
/// copies them: the pod's annotations, or its labels for the revision (a
/// commit id fits a label value; a URL does not).
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
pub const OCI_SOURCE: &str = "org.opencontainers.image.source";

/// The `[gather.kube]` table of `rollwise.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct KubeGatherConfig {
    /// Per API call, including reading the response.
    pub timeout_secs: f64,
    /// Attempts per call including the first (5xx, 429, timeouts, transport).
    pub max_attempts: u32,
    /// Per container and instance: the lines kept, read from the window's
    /// start on. Reaching it is a gap naming the pod and the window's start.
    pub max_log_lines: u32,
    /// Per container and instance.
    pub max_log_bytes: u64,
    /// Pods per side whose events and logs are read (all are listed).
    pub max_pods_per_side: usize,
    /// Read the previous instance's log of a restarted container: that is
    /// where a crash's stack trace is.
    pub previous_logs: bool,
}

impl Default for KubeGatherConfig {
    fn default() -> Self {
        KubeGatherConfig {
            timeout_secs: 10.0,
            max_attempts: 3,
            // 5,000 lines of a 5-minute window is ~17 lines/s per container,
            // more than the template diff needs to see a new error shape.
            max_log_lines: 5_000,
            max_log_bytes: 2 * 1024 * 1024,
            max_pods_per_side: 10,
            previous_logs: true,
        }
    }
}

impl KubeGatherConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(Error::Config("gather.kube.timeout-secs must be > 0".into()));
        }
        if self.max_attempts == 0 || self.max_log_lines == 0 || self.max_log_bytes == 0 {
            return Err(Error::Config(
                "gather.kube: max-attempts, max-log-lines and max-log-bytes must be > 0".into(),
            ));
        }
        Ok(())
    }

    pub fn policy(&self) -> CallPolicy {
        CallPolicy {
            timeout: Duration::from_secs_f64(self.timeout_secs),
            max_attempts: self.max_attempts,
            ..CallPolicy::default()
        }
    }
}

/// How PromQL selects one side's series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesMatch {
    /// `rollouts_pod_template_hash="<hash>"`.
    Hash(String),
    /// The side's pods have no common hash (a label-selected side): by pod name.
    Pods(Vec<String>),
    /// No hash and no pods: nothing to query.
    Nothing,
}

/// One side after phase one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSide {
    pub hash: Option<String>,
    pub pods: Vec<Pod>,
    pub replica_sets: Vec<ReplicaSet>,
    pub series: SeriesMatch,
}

/// What phase one found: enough to query Prometheus.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub rollout: RolloutRef,
    /// The Rollout's annotations (PromQL overrides live there).
    pub annotations: BTreeMap<String, String>,
    pub canary: ResolvedSide,
    pub stable: ResolvedSide,
    pub gaps: Vec<String>,
}

impl Resolved {
    pub fn pod_statuses(&self) -> Sides<Vec<PodStatus>> {
        Sides {
            canary: self.canary.pods.iter().map(pod_status).collect(),
            stable: self.stable.pods.iter().map(pod_status).collect(),
        }
    }
}

/// Events and logs (phase two).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Details {
    pub events: Vec<KubeEvent>,
    pub logs: Sides<Vec<PodLogs>>,
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KubeGatherer {
    reader: ClusterReader,
    cfg: KubeGatherConfig,
    /// False when logs come from elsewhere (`[gather.logs] source = "loki"`).
    read_logs: bool,
}

fn gather_err(message: String) -> Error {
    Error::Gather {
        dependency: "kubernetes",
        message,
    }
}

/// A request's names and selectors, checked before anything is sent.
pub fn validate_request(req: &GatherRequest) -> Result<()> {
    let usage = |e: rollwise_tools::Error| Error::Usage(e.to_string());
    validate::namespace(&req.namespace).map_err(usage)?;
    validate::object_name(&req.rollout).map_err(usage)?;
    for (side, sel) in [("canary", &req.canary), ("stable", &req.stable)] {
        match sel {
            PodSelector::Hash(h) | PodSelector::Baseline(h) => {
                validate::label_value(h).map_err(usage)?;
            }
            PodSelector::Labels(s) => {
                validate::label_selector(s).map_err(usage)?;
            }
            PodSelector::FromRollout if !req.read_rollout => {
                return Err(Error::Usage(format!(
                    "the {side} side is taken from the Rollout, but no Rollout is read"
                )));
            }
            PodSelector::FromRollout => {}
        }
    }
    if req.canary == req.stable && req.canary != PodSelector::FromRollout {
        return Err(Error::Usage(
            "canary and stable select the same pods: nothing to compare".into(),
        ));
    }
    if req.window.is_zero() {
        return Err(Error::Usage("the window must be longer than zero".into()));
    }
    Ok(())
}

impl KubeGatherer {
    pub fn new(reader: ClusterReader, cfg: KubeGatherConfig) -> Self {
        KubeGatherer {
            reader,
            cfg,
            read_logs: true,
        }
    }

    /// Events only: pod logs are read from another source.
    pub fn without_logs(mut self) -> Self {
        self.read_logs = false;
        self
    }

    pub fn config(&self) -> &KubeGatherConfig {
        &self.cfg
    }

    /// For readiness: the API server's version, or why it did not answer.
    pub async fn ping(&self) -> std::result::Result<String, String> {
        self.reader
            .server_version()
            .await
            .map(|v| format!("API server {v}"))
            .map_err(|e| e.to_string())
    }

    /// Phase one: the Rollout, the hashes, the pods and ReplicaSets of each
    /// side. An unreadable Rollout, or a Rollout with nothing to compare, is
    /// an error: there is nothing to judge.
    pub async fn resolve(&self, req: &GatherRequest) -> Result<Resolved> {
        validate_request(req)?;
        let ns = req.namespace.as_str();
        let rollout = if req.read_rollout {
            let r = self
                .reader
                .rollout(ns, &req.rollout)
                .await
                .map_err(|e| gather_err(format!("cannot read the Rollout: {e}")))?;
            Some(r)
        } else {
            None
        };
        let bluegreen = rollout.as_ref().and_then(bluegreen_sides);
        let (status_canary, status_stable) = match &bluegreen {
            Some(b) => (b.canary.as_deref(), b.stable.as_deref()),
            None => rollout
                .as_ref()
                .map(rollwise_tools::crd::revision_hashes)
                .unwrap_or((None, None)),
        };
        let status_field = |side: &str| match (&bluegreen, side) {
            (None, "canary") => "status.currentPodHash",
            (None, _) => "status.stableRS",
            (Some(_), "canary") => {
                "status.blueGreen.previewSelector, or activeSelector after promotion"
            }
            (Some(_), _) => "status.blueGreen.activeSelector, or stableRS after promotion",
        };
        let hash_of =
            |sel: &PodSelector, from_status: Option<&str>, side: &str| -> Result<Option<String>> {
                match sel {
                    PodSelector::Hash(h) | PodSelector::Baseline(h) => Ok(Some(h.clone())),
                    PodSelector::Labels(_) => Ok(None),
                    PodSelector::FromRollout => {
                        let h = from_status.ok_or_else(|| {
                            gather_err(format!(
                                "the Rollout's status names no {side} revision ({})",
                                status_field(side)
                            ))
                        })?;
                        validate::label_value(h)
                            .map_err(|e| gather_err(format!("the Rollout's {side} hash: {e}")))?;
                        Ok(Some(h.to_owned()))
                    }
                }
            };
        let canary_hash = hash_of(&req.canary, status_canary, "canary")?;
        let stable_hash = hash_of(&req.stable, status_stable, "stable")?;
        if canary_hash.is_some() && canary_hash == stable_hash {
            return Err(gather_err(format!(
                "canary and stable are the same revision ({}): the Rollout has no canary to judge",
                canary_hash.as_deref().unwrap_or_default()
            )));
        }

        let mut gaps = Vec::new();
        let (canary, stable) = tokio::join!(
            self.side("canary", ns, &req.canary, canary_hash),
            self.side("stable", ns, &req.stable, stable_hash),
        );
        let (canary, stable) = (canary?, stable?);
        for (name, side) in [("canary", &canary), ("stable", &stable)] {
            if side.0.pods.is_empty() {
                gaps.push(format!("no {name} pods were found ({})", describe(&side.0)));
            }
            gaps.extend(side.1.iter().cloned());
        }
        let (canary, stable) = (canary.0, stable.0);

        let mut rollout_ref = RolloutRef {
            namespace: req.namespace.clone(),
            name: req.rollout.clone(),
            canary_hash: canary.hash.clone(),
            stable_hash: stable.hash.clone(),
            canary_image: image_of(&canary),
            stable_image: image_of(&stable),
            canary_weight: None,
            step: None,
            repo: None,
            revision: None,
            stable_revision: None,
            baseline: matches!(req.stable, PodSelector::Baseline(_)),
            strategy: bluegreen.as_ref().map(|b| b.strategy),
        };
        let mut annotations = BTreeMap::new();
        if let Some(r) = &rollout {
            annotations = r.metadata.annotations.clone().unwrap_or_default();
            rollout_ref.canary_weight = canary_weight(r);
            rollout_ref.step = r
                .status
                .as_ref()
                .and_then(|s| s.current_step_index)
                .and_then(|i| u32::try_from(i).ok());
        }
        // The revision's source: the Rollout's annotations, else the canary
        // pods' (set in the pod template, they travel with the revision),
        // else the OCI keys on the pods. Each side's revision comes from its
        // own pods; the Rollout's annotation describes only the new one.
        rollout_ref.repo = annotations
            .get(REPO_ANNOTATION)
            .cloned()
            .or_else(|| pod_meta(&canary.pods, REPO_ANNOTATION, false))
            .or_else(|| pod_meta(&canary.pods, OCI_SOURCE, false));
        rollout_ref.revision = pod_meta(&canary.pods, REVISION_ANNOTATION, false)
            .or_else(|| pod_meta(&canary.pods, OCI_REVISION, true))
            .or_else(|| annotations.get(REVISION_ANNOTATION).cloned());
        rollout_ref.stable_revision = pod_meta(&stable.pods, REVISION_ANNOTATION, false)
            .or_else(|| pod_meta(&stable.pods, OCI_REVISION, true));

        Ok(Resolved {
            rollout: rollout_ref,
            annotations,
            canary,
            stable,
            gaps,
        })
    }

    /// One side's pods and ReplicaSets. A failed listing is an error when the
    /// side is label-selected (without pods there is nothing to match in
    /// PromQL either), a gap when a hash still lets metrics be read.
    async fn side(
        &self,
        name: &str,
        ns: &str,
        sel: &PodSelector,
        hash: Option<String>,
    ) -> Result<(ResolvedSide, Vec<String>)> {
        let mut gaps = Vec::new();
        let listed = match (&hash, sel) {
            (Some(h), _) => self.reader.pods_by_hash(ns, h).await,
            (None, PodSelector::Labels(s)) => self.reader.pods(ns, s).await,
            (None, _) => Ok(Vec::new()),
        };
        let mut pods = match listed {
            Ok(p) => p,
            Err(e) if hash.is_some() => {
                gaps.push(format!("{name} pods could not be listed: {e}"));
                Vec::new()
            }
            Err(e) => return Err(gather_err(format!("cannot list the {name} pods: {e}"))),
        };
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        // A label-selected side has a hash when all its pods share one.
        let hash = hash.or_else(|| common_hash(&pods));
        let mut replica_sets = match &hash {
            Some(h) => match self.reader.replica_sets_by_hash(ns, h).await {
                Ok(rs) => rs,
                Err(e) => {
                    gaps.push(format!("{name} ReplicaSets could not be listed: {e}"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        if matches!(sel, PodSelector::Baseline(_)) {
            replica_sets.retain(|r| owned_by(&r.metadata, "Experiment").is_some());
            let names: Vec<&str> = replica_sets
                .iter()
                .filter_map(|r| r.metadata.name.as_deref())
                .collect();
            pods.retain(|p| {
                owned_by(&p.metadata, "ReplicaSet").is_some_and(|o| names.contains(&o))
            });
            if names.is_empty() {
                gaps.push(format!(
                    "no ReplicaSet owned by an Experiment has {POD_TEMPLATE_HASH_LABEL}={}: the baseline is not running (has the Experiment started?)",
                    hash.as_deref().unwrap_or_default()
                ));
            }
            let series = if pods.is_empty() {
                SeriesMatch::Nothing
            } else {
                SeriesMatch::Pods(
                    pods.iter()
                        .filter_map(|p| p.metadata.name.clone())
                        .collect(),
                )
            };
            return Ok((
                ResolvedSide {
                    hash,
                    pods,
                    replica_sets,
                    series,
                },
                gaps,
            ));
        }
        let series = match &hash {
            Some(h) => SeriesMatch::Hash(h.clone()),
            None if !pods.is_empty() => SeriesMatch::Pods(
                pods.iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect(),
            ),
            None => SeriesMatch::Nothing,
        };
        Ok((
            ResolvedSide {
                hash,
                pods,
                replica_sets,
                series,
            },
            gaps,
        ))
    }

    /// Phase two: events of each side's pods and ReplicaSets, and their logs
    /// from the window's `start` on (`sinceTime`: the log API reads forward
    /// from there; it has no "until"). Every failure is a gap, and so is a
    /// log clipped at `max-log-lines` or `max-log-bytes`.
    pub async fn details(&self, resolved: &Resolved, start: jiff::Timestamp) -> Details {
        let window = start;
        let ns = resolved.rollout.namespace.as_str();
        let (c, s) = tokio::join!(
            self.side_details(ns, "canary", &resolved.canary, window),
            self.side_details(ns, "stable", &resolved.stable, window),
        );
        let mut out = Details::default();
        for (side, (events, logs, gaps)) in [(true, c), (false, s)] {
            out.events.extend(events);
            out.gaps.extend(gaps);
            if side {
                out.logs.canary = logs;
            } else {
                out.logs.stable = logs;
            }
        }
        out
    }

    async fn side_details(
        &self,
        ns: &str,
        side: &str,
        rs: &ResolvedSide,
        window: jiff::Timestamp,
    ) -> (Vec<KubeEvent>, Vec<PodLogs>, Vec<String>) {
        let mut events = Vec::new();
        let mut logs = Vec::new();
        let mut gaps = Vec::new();
        for r in &rs.replica_sets {
            let Some(name) = r.metadata.name.as_deref() else {
                continue;
            };
            match self
                .reader
                .events(ns, "ReplicaSet", name, r.metadata.uid.as_deref())
                .await
            {
                Ok(evs) => events.extend(evs.iter().map(kube_event)),
                Err(e) => gaps.push(format!(
                    "events of {side} ReplicaSet {name} could not be read: {e}"
                )),
            }
        }
        for pod in rs.pods.iter().take(self.cfg.max_pods_per_side) {
            let Some(name) = pod.metadata.name.as_deref() else {
                continue;
            };
            match self
                .reader
                .events(ns, "Pod", name, pod.metadata.uid.as_deref())
                .await
            {
                Ok(evs) => events.extend(evs.iter().map(kube_event)),
                Err(e) => gaps.push(format!(
                    "events of {side} pod {name} could not be read: {e}"
                )),
            }
            if self.read_logs {
                let (pl, g) = self.pod_logs(ns, side, name, pod, window).await;
                logs.push(pl);
                gaps.extend(g);
            }
        }
        (events, logs, gaps)
    }

    /// All containers' logs of one pod, previous instances first (they are
    /// older), each read bounded.
    async fn pod_logs(
        &self,
        ns: &str,
        side: &str,
        name: &str,
        pod: &Pod,
        start: jiff::Timestamp,
    ) -> (PodLogs, Vec<String>) {
        let mut out = PodLogs {
            pod: name.to_owned(),
            lines: Vec::new(),
            sources: Vec::new(),
        };
        let mut gaps = Vec::new();
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .unwrap_or_default();
        let containers = pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for container in containers {
            let status = statuses.iter().find(|s| s.name == container);
            let restarted = status.is_some_and(|s| s.restart_count > 0);
            let reads = [
                (true, restarted && self.cfg.previous_logs),
                (false, status.is_some_and(has_run)),
            ];
            for (previous, wanted) in reads {
                if !wanted {
                    continue;
                }
                // From the window's start forward, bounded in bytes by the
                // API server; the line bound is applied here, so what is
                // judged is the window's beginning, never only its end.
                let req = LogRequest {
                    container: container.clone(),
                    previous,
                    since_seconds: None,
                    since_time: Some(start),
                    tail_lines: None,
                    limit_bytes: i64::try_from(self.cfg.max_log_bytes).unwrap_or(i64::MAX),
                };
                match self.reader.logs(ns, name, &req).await {
                    Ok(mut t) => {
                        let max = usize::try_from(self.cfg.max_log_lines).unwrap_or(usize::MAX);
                        let over_lines = t.lines.len() > max;
                        t.lines.truncate(max);
                        let truncated = t.truncated || over_lines;
                        if truncated {
                            gaps.push(format!(
                                "{}logs of {side} pod {name} container {container} were clipped at {}: \
                                 judged from the window's start ({}) to line {}; later lines were not read",
                                if previous { "previous " } else { "" },
                                if over_lines {
                                    format!("{max} lines ([gather.kube] max-log-lines)")
                                } else {
                                    format!(
                                        "{} bytes ([gather.kube] max-log-bytes)",
                                        self.cfg.max_log_bytes
                                    )
                                },
                                start.round(jiff::Unit::Second).unwrap_or(start),
                                t.lines.len()
                            ));
                        }
                        out.sources.push(LogSource {
                            container: container.clone(),
                            previous,
                            lines: t.lines.len(),
                            truncated,
                        });
                        out.lines.extend(t.lines);
                    }
                    Err(e) => gaps.push(format!(
                        "{}logs of {side} pod {name} container {container} could not be read: {e}",
                        if previous { "previous " } else { "" }
                    )),
                }
            }
        }
        (out, gaps)
    }
}

/// The two sides of a blue-green Rollout, read from its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlueGreenSides {
    pub strategy: Strategy,
    pub canary: Option<String>,
    pub stable: Option<String>,
}

/// A blue-green Rollout's new and old version, from `status.blueGreen`.
///
/// Before promotion the preview Service selects the new ReplicaSet
/// (`previewSelector`) while the active one (`activeSelector`) serves the
/// users. Promotion points the active Service at the new ReplicaSet; Argo
/// moves `status.stableRS` to it only after the post-promotion analysis
/// succeeds, so until then `stableRS` is the previous version. `None` for a
/// Rollout without a `blueGreen` strategy.
pub fn bluegreen_sides(r: &Rollout) -> Option<BlueGreenSides> {
    r.spec.strategy.as_ref()?.blue_green.as_ref()?;
    let st = r.status.as_ref();
    let bg = st.and_then(|s| s.blue_green.as_ref());
    let preview = bg.and_then(|b| b.preview_selector.clone());
    let active = bg.and_then(|b| b.active_selector.clone());
    let stable = st.and_then(|s| s.stable_rs.clone());
    match (preview, active) {
        (Some(p), a) if Some(&p) != a.as_ref() => Some(BlueGreenSides {
            strategy: Strategy::BlueGreenPrePromotion,
            canary: Some(p),
            stable: a.or(stable),
        }),
        (_, a) => Some(BlueGreenSides {
            strategy: Strategy::BlueGreenPostPromotion,
            canary: a.or_else(|| st.and_then(|s| s.current_pod_hash.clone())),
            stable,
        }),
    }
}

/// The name of the controlling owner of `kind`, if the object has one.
fn owned_by<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
) -> Option<&'a str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.kind == kind && o.controller != Some(false))
        .map(|o| o.name.as_str())
}

fn describe(side: &ResolvedSide) -> String {
    match &side.hash {
        Some(h) => format!("{POD_TEMPLATE_HASH_LABEL}={h}"),
        None => "label selector".to_owned(),
    }
}

/// A container that ran at some point: it has a log (a waiting container that
/// never started, e.g. ImagePullBackOff, has none, and asking is a 400).
fn has_run(s: &ContainerStatus) -> bool {
    let st = |x: &Option<k8s_openapi::api::core::v1::ContainerState>| {
        x.as_ref()
            .is_some_and(|x| x.running.is_some() || x.terminated.is_some())
    };
    st(&s.state) || st(&s.last_state) || s.restart_count > 0
}

fn common_hash(pods: &[Pod]) -> Option<String> {
    let mut hashes = pods.iter().map(|p| {
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
    });
    let first = hashes.next()??;
    if hashes.all(|h| h == Some(first)) && validate::label_value(first).is_ok() {
        Some(first.clone())
    } else {
        None
    }
}

/// The first non-empty value of `key` in the pods' annotations (and, with
/// `labels`, their labels).
fn pod_meta(pods: &[Pod], key: &str, labels: bool) -> Option<String> {
    let get = |m: Option<&BTreeMap<String, String>>| {
        m.and_then(|m| m.get(key))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    pods.iter().find_map(|p| {
        get(p.metadata.annotations.as_ref())
            .or_else(|| labels.then(|| get(p.metadata.labels.as_ref())).flatten())
    })
}

fn image_of(side: &ResolvedSide) -> Option<String> {
    let from_pod = side.pods.iter().find_map(|p| {
        p.spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
    });
    from_pod.or_else(|| {
        side.replica_sets.iter().find_map(|r| {
            r.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
        })
    })
}

/// The canary's traffic weight: what the traffic router reports, else Argo's
/// `GetCurrentSetWeight` (the last `setWeight` at or before the current step;
/// 100 past the last step; 0 when aborted).
pub fn canary_weight(r: &Rollout) -> Option<u8> {
    let st = r.status.as_ref()?;
    let to_pct = |w: i32| u8::try_from(w.clamp(0, 100)).ok();
    if let Some(w) = st
        .canary
        .as_ref()
        .and_then(|c| c.weights.as_ref())
        .map(|w| w.canary.weight)
    {
        return to_pct(w);
    }
    if st.abort == Some(true) {
        return Some(0);
    }
    let steps = r.spec.strategy.as_ref()?.canary.as_ref()?.steps.as_ref()?;
    let idx = usize::try_from(st.current_step_index?).ok()?;
    if idx >= steps.len() {
        return Some(100);
    }
    let w = steps[..=idx]
        .iter()
        .rev()
        .find_map(|s| s.set_weight)
        .unwrap_or(0);
    to_pct(w)
}

/// A pod's status at the end of the window.
pub fn pod_status(p: &Pod) -> PodStatus {
    let name = p.metadata.name.clone().unwrap_or_default();
    let st = p.status.as_ref();
    let ready = st
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let containers = st
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let restarts = containers
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .sum();
    // The most telling reason: the pod's own (Evicted), then how a container
    // last died (OOMKilled says more than the CrashLoopBackOff it causes),
    // then why one waits, then how one ended.
    let pod_reason = st.and_then(|s| s.reason.clone());
    let last_terminated = containers.iter().find_map(|c| {
        c.last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.clone())
    });
    let waiting = containers.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
            .filter(|r| r != "ContainerCreating" && r != "PodInitializing")
    });
    let terminated = containers.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.clone())
    });
    PodStatus {
        name,
        ready,
        restarts,
        last_termination_reason: pod_reason.or(last_terminated).or(waiting).or(terminated),
        started_at: None,
        ready_at: None,
    }
}

fn kube_event(e: &Event) -> KubeEvent {
    let o = &e.involved_object;
    KubeEvent {
        object: format!(
            "{}/{}",
            o.kind.as_deref().unwrap_or("Object"),
            o.name.as_deref().unwrap_or("")
        ),
        kind: e.type_.clone().unwrap_or_else(|| "Normal".to_owned()),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        count: e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1)
            .max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/../tools/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn weight_follows_argo_set_weight_rules() {
        let mut r: Rollout = fixture("canary-rollout-canary-demo.json");
        // Step 0 is setWeight 20.
        assert_eq!(canary_weight(&r), Some(20));
        r.status.as_mut().unwrap().current_step_index = Some(3);
        assert_eq!(canary_weight(&r), Some(40));
        r.status.as_mut().unwrap().current_step_index = Some(8);
        assert_eq!(canary_weight(&r), Some(100));
        r.status.as_mut().unwrap().abort = Some(true);
        assert_eq!(canary_weight(&r), Some(0));
    }

    #[test]
    fn pod_status_prefers_the_most_telling_reason() {
        let p: Pod = fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
        let s = pod_status(&p);
        assert_eq!(s.name, "canary-demo-65fb5ffc84-9wf5r");
        assert!(!s.ready);
        assert_eq!(
            s.last_termination_reason.as_deref(),
            Some("ImagePullBackOff")
        );
        let p: Pod = fixture("canary-pod-canary-demo-877894d5b-6jfpt.json");
        let s = pod_status(&p);
        assert!(s.ready);
        assert_eq!((s.restarts, s.last_termination_reason), (0, None));
        let mut v: serde_json::Value = fixture("canary-pod-canary-demo-877894d5b-6jfpt.json");
        v["status"]["containerStatuses"][0]["restartCount"] = 3.into();
        v["status"]["containerStatuses"][0]["lastState"] =
            serde_json::json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        v["status"]["containerStatuses"][0]["state"] =
            serde_json::json!({"waiting": {"reason": "CrashLoopBackOff"}});
        let s = pod_status(&serde_json::from_value(v).unwrap());
        assert_eq!(s.restarts, 3);
        assert_eq!(s.last_termination_reason.as_deref(), Some("OOMKilled"));
    }
}
