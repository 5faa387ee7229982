//! The remediation agent's read-only Kubernetes tools, on [`ClusterReader`].
//!
//! Every tool is bound to ONE namespace and ONE Rollout (the one being
//! remediated) when built: no argument names a namespace, and a pod argument
//! must belong to that Rollout's canary or stable revision. Outputs are JSON
//! text for the model; log lines go through an injected [`LogDigester`] (the
//! agent's template miner and redactor) and never reach the model raw.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::reader::{ClusterReader, LogRequest};
use super::validate;
use crate::crd::{POD_TEMPLATE_HASH_LABEL, Rollout, revision_hashes};
use crate::error::{Error, Result};
use crate::tool::{BoxFuture, DynTool, Tool};

/// Turns raw log lines into what the model may read (templates with counts,
/// redacted exemplars). Implemented by the agent crate.
pub trait LogDigester: Send + Sync + std::fmt::Debug {
    fn digest(&self, lines: &[String]) -> String;
}

/// Bounds of one `pod_logs` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    pub max_lines: u32,
    pub max_bytes: u32,
    /// Only lines newer than this (seconds).
    pub since_seconds: Option<i64>,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_lines: 2_000,
            max_bytes: 1024 * 1024,
            since_seconds: Some(3_600),
        }
    }
}

/// What the tools share: the reader, the one Rollout they may look at, and
/// the log digester.
#[derive(Debug)]
pub struct KubeToolbox {
    reader: ClusterReader,
    namespace: String,
    rollout: String,
    digester: Arc<dyn LogDigester>,
    limits: LogLimits,
}

/// Which revision of the Rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The new revision (`status.currentPodHash`).
    Canary,
    /// The revision serving before the rollout (`status.stableRS`).
    Stable,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Canary => "canary",
            Side::Stable => "stable",
        }
    }
}

impl KubeToolbox {
    /// Tools for the Rollout `namespace/rollout` only.
    pub fn new(
        reader: ClusterReader,
        namespace: &str,
        rollout: &str,
        digester: Arc<dyn LogDigester>,
        limits: LogLimits,
    ) -> Result<Arc<Self>> {
        validate::namespace(namespace)?;
        validate::object_name(rollout)?;
        Ok(Arc::new(KubeToolbox {
            reader,
            namespace: namespace.to_owned(),
            rollout: rollout.to_owned(),
            digester,
            limits,
        }))
    }

    /// All seven tools, as the agent loop holds them.
    pub fn tools(self: &Arc<Self>) -> Vec<Box<dyn DynTool>> {
        vec![
            Box::new(GetRollout(self.clone())),
            Box::new(GetAnalysisRuns(self.clone())),
            Box::new(ListPods(self.clone())),
            Box::new(DescribePod(self.clone())),
            Box::new(PodLogs(self.clone())),
            Box::new(Events(self.clone())),
            Box::new(PodSpecDiff(self.clone())),
        ]
    }

    async fn rollout(&self) -> Result<Rollout> {
        self.reader.rollout(&self.namespace, &self.rollout).await
    }

    /// (canary, stable) hashes of the Rollout.
    async fn hashes(&self) -> Result<(Rollout, Option<String>, Option<String>)> {
        let r = self.rollout().await?;
        let (c, s) = revision_hashes(&r);
        let (c, s) = (c.map(str::to_owned), s.map(str::to_owned));
        Ok((r, c, s))
    }

    async fn side_hash(&self, side: Side) -> Result<String> {
        let (_, c, s) = self.hashes().await?;
        let h = match side {
            Side::Canary => c,
            Side::Stable => s,
        };
        h.ok_or_else(|| Error::NotFound {
            what: format!("a {} revision in the Rollout's status", side.as_str()),
        })
    }

    /// A pod of this Rollout (canary or stable revision), or `NotAllowed`.
    async fn own_pod(&self, name: &str) -> Result<(Pod, Side)> {
        validate::object_name(name).map_err(|e| Error::InvalidArgs {
            tool: "pod".into(),
            message: e.to_string(),
        })?;
        let (_, c, s) = self.hashes().await?;
        let pod = self.reader.pod(&self.namespace, name).await?;
        let hash = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
            .cloned();
        let side = match hash {
            Some(h) if Some(&h) == c.as_ref() => Side::Canary,
            Some(h) if Some(&h) == s.as_ref() => Side::Stable,
            _ => {
                return Err(Error::NotAllowed(format!(
                    "pod {name} is not a canary or stable pod of Rollout {}/{}",
                    self.namespace, self.rollout
                )));
            }
        };
        Ok((pod, side))
    }
}

fn text(v: Value) -> Result<String> {
    serde_json::to_string_pretty(&v).map_err(|e| Error::Decode {
        service: "tools",
        message: e.to_string(),
    })
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SideArgs {
    /// `canary` (the new revision) or `stable`.
    pub side: Side,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodArgs {
    /// A pod name from `list_pods`.
    pub pod: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodLogsArgs {
    /// A pod name from `list_pods`.
    pub pod: String,
    /// The container; the pod's first container when omitted.
    #[serde(default)]
    pub container: Option<String>,
    /// The previous (crashed) instance of the container.
    #[serde(default)]
    pub previous: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsArgs {
    /// Only this revision's pods and ReplicaSet; both when omitted.
    #[serde(default)]
    pub side: Option<Side>,
}

#[derive(Debug)]
pub struct GetRollout(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct GetAnalysisRuns(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct ListPods(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct DescribePod(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct PodLogs(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct Events(Arc<KubeToolbox>);
#[derive(Debug)]
pub struct PodSpecDiff(Arc<KubeToolbox>);

impl Tool for GetRollout {
    type Args = NoArgs;
    fn name(&self) -> &'static str {
        "get_rollout"
    }
    fn description(&self) -> &'static str {
        "The Rollout being remediated: phase, message, current step and its canary weight, the canary and stable pod-template hashes, its canary steps and conditions."
    }
    fn call(&self, _: NoArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let r = self.0.rollout().await?;
            let st = r.status.clone().unwrap_or_default();
            let (canary, stable) = revision_hashes(&r);
            let steps = r
                .spec
                .strategy
                .as_ref()
                .and_then(|s| s.canary.as_ref())
                .and_then(|c| c.steps.as_ref())
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null));
            let conditions: Vec<Value> = st
                .conditions
                .iter()
                .flatten()
                .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message}))
                .collect();
            text(json!({
                "namespace": self.0.namespace,
                "name": self.0.rollout,
                "phase": st.phase,
                "message": st.message,
                "aborted": st.abort.unwrap_or(false),
                "currentStepIndex": st.current_step_index,
                "canaryWeight": weight(&r),
                "canaryHash": canary,
                "stableHash": stable,
                "replicas": r.spec.replicas,
                "readyReplicas": st.ready_replicas,
                "updatedReplicas": st.updated_replicas,
                "steps": steps,
                "conditions": conditions,
            }))
        })
    }
}

/// Argo's current canary weight (the last setWeight at or before the step).
fn weight(r: &Rollout) -> Option<i32> {
    let st = r.status.as_ref()?;
    if let Some(w) = st.canary.as_ref().and_then(|c| c.weights.as_ref()) {
        return Some(w.canary.weight);
    }
    if st.abort == Some(true) {
        return Some(0);
    }
    let steps = r.spec.strategy.as_ref()?.canary.as_ref()?.steps.as_ref()?;
    let i = usize::try_from(st.current_step_index?).ok()?;
    if i >= steps.len() {
        return Some(100);
    }
    Some(
        steps[..=i]
            .iter()
            .rev()
            .find_map(|s| s.set_weight)
            .unwrap_or(0),
    )
}

impl Tool for GetAnalysisRuns {
    type Args = NoArgs;
    fn name(&self) -> &'static str {
        "get_analysis_runs"
    }
    fn description(&self) -> &'static str {
        "The Rollout's AnalysisRuns: phase, message, and each metric's phase, counts and latest measurements."
    }
    fn call(&self, _: NoArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let runs = self
                .0
                .reader
                .analysis_runs(&self.0.namespace, &self.0.rollout)
                .await?;
            let out: Vec<Value> = runs
                .iter()
                .map(|r| {
                    let st = r.status.as_ref();
                    let metrics: Vec<Value> = st
                        .and_then(|s| s.metric_results.as_ref())
                        .into_iter()
                        .flatten()
                        .map(|m| {
                            let last: Vec<Value> = m
                                .measurements
                                .iter()
                                .flatten()
                                .rev()
                                .take(3)
                                .map(|x| json!({"phase": x.phase, "value": x.value, "message": x.message}))
                                .collect();
                            json!({"name": m.name, "phase": m.phase, "message": m.message,
                                   "successful": m.successful, "failed": m.failed,
                                   "inconclusive": m.inconclusive, "error": m.error,
                                   "latestMeasurements": last})
                        })
                        .collect();
                    json!({
                        "name": r.metadata.name,
                        "hash": r.metadata.labels.as_ref().and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL)),
                        "phase": st.map(|s| s.phase.clone()),
                        "message": st.and_then(|s| s.message.clone()),
                        "metrics": metrics,
                    })
                })
                .collect();
            text(json!({ "analysisRuns": out }))
        })
    }
}

fn pod_summary(p: &Pod) -> Value {
    let st = p.status.as_ref();
    let ready = st
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let containers: Vec<Value> = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| {
            let waiting = c
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone());
            let last = c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| json!({"reason": t.reason, "exitCode": t.exit_code, "finishedAt": t.finished_at}));
            json!({"name": c.name, "ready": c.ready, "restarts": c.restart_count,
                   "waiting": waiting, "lastTermination": last})
        })
        .collect();
    json!({
        "name": p.metadata.name,
        "phase": st.and_then(|s| s.phase.clone()),
        "reason": st.and_then(|s| s.reason.clone()),
        "ready": ready,
        "node": p.spec.as_ref().and_then(|s| s.node_name.clone()),
        "containers": containers,
    })
}

impl Tool for ListPods {
    type Args = SideArgs;
    fn name(&self) -> &'static str {
        "list_pods"
    }
    fn description(&self) -> &'static str {
        "The canary or stable pods of the Rollout: name, phase, readiness, restarts and termination reasons per container."
    }
    fn call(&self, a: SideArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let hash = self.0.side_hash(a.side).await?;
            let pods = self.0.reader.pods_by_hash(&self.0.namespace, &hash).await?;
            let list: Vec<Value> = pods.iter().map(pod_summary).collect();
            text(json!({"side": a.side.as_str(), "hash": hash, "pods": list}))
        })
    }
}

fn event_summary(e: &k8s_openapi::api::core::v1::Event) -> Value {
    json!({
        "object": format!("{}/{}", e.involved_object.kind.as_deref().unwrap_or(""), e.involved_object.name.as_deref().unwrap_or("")),
        "type": e.type_, "reason": e.reason, "message": e.message,
        "count": e.count.or_else(|| e.series.as_ref().and_then(|s| s.count)).unwrap_or(1),
        "last": e.last_timestamp.as_ref().map(|t| t.0.to_string()),
    })
}

impl Tool for DescribePod {
    type Args = PodArgs;
    fn name(&self) -> &'static str {
        "describe_pod"
    }
    fn description(&self) -> &'static str {
        "One canary or stable pod of the Rollout: status, container statuses, conditions and its events."
    }
    fn call(&self, a: PodArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let (pod, side) = self.0.own_pod(&a.pod).await?;
            let conditions: Vec<Value> = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message}))
                .collect();
            let events = self
                .0
                .reader
                .events(
                    &self.0.namespace,
                    "Pod",
                    &a.pod,
                    pod.metadata.uid.as_deref(),
                )
                .await?;
            let mut out = pod_summary(&pod);
            if let Some(o) = out.as_object_mut() {
                o.insert("side".into(), side.as_str().into());
                o.insert("conditions".into(), conditions.into());
                o.insert(
                    "events".into(),
                    events.iter().map(event_summary).collect::<Vec<_>>().into(),
                );
            }
            text(out)
        })
    }
}

impl Tool for PodLogs {
    type Args = PodLogsArgs;
    fn name(&self) -> &'static str {
        "pod_logs"
    }
    fn description(&self) -> &'static str {
        "A digest of one canary or stable pod's container log (recent, bounded): log templates with counts and redacted examples. previous=true reads the instance that crashed before the last restart."
    }
    fn call(&self, a: PodLogsArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            if let Some(c) = &a.container {
                validate::label_value(c).map_err(|e| Error::InvalidArgs {
                    tool: "pod_logs".into(),
                    message: e.to_string(),
                })?;
            }
            let (pod, side) = self.0.own_pod(&a.pod).await?;
            let containers: Vec<String> = pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let container = match a.container {
                Some(c) if containers.contains(&c) => c,
                Some(c) => {
                    return Err(Error::InvalidArgs {
                        tool: "pod_logs".into(),
                        message: format!(
                            "pod {} has no container {c:?} (it has {containers:?})",
                            a.pod
                        ),
                    });
                }
                None => containers.first().cloned().ok_or_else(|| Error::NotFound {
                    what: format!("a container in pod {}", a.pod),
                })?,
            };
            let l = self.0.limits;
            let req = LogRequest {
                container: container.clone(),
                previous: a.previous,
                since_seconds: l.since_seconds,
                since_time: None,
                tail_lines: Some(i64::from(l.max_lines)),
                limit_bytes: i64::from(l.max_bytes),
            };
            let log = self.0.reader.logs(&self.0.namespace, &a.pod, &req).await?;
            let digest = self.0.digester.digest(&log.lines);
            text(json!({
                "pod": a.pod, "side": side.as_str(), "container": container,
                "previous": a.previous, "lines": log.lines.len(), "truncated": log.truncated,
                "digest": digest,
            }))
        })
    }
}

impl Tool for Events {
    type Args = EventsArgs;
    fn name(&self) -> &'static str {
        "events"
    }
    fn description(&self) -> &'static str {
        "Kubernetes events of the Rollout's canary and/or stable pods and ReplicaSets (type, reason, message, count)."
    }
    fn call(&self, a: EventsArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let (_, c, s) = self.0.hashes().await?;
            let ns = self.0.namespace.as_str();
            let mut out = Vec::new();
            let sides = [(Side::Canary, c), (Side::Stable, s)];
            for (side, hash) in sides {
                if a.side.is_some_and(|want| want != side) {
                    continue;
                }
                let Some(hash) = hash else { continue };
                let mut items = Vec::new();
                for rs in self.0.reader.replica_sets_by_hash(ns, &hash).await? {
                    if let Some(name) = rs.metadata.name.as_deref() {
                        let evs = self
                            .0
                            .reader
                            .events(ns, "ReplicaSet", name, rs.metadata.uid.as_deref())
                            .await?;
                        items.extend(evs.iter().map(event_summary));
                    }
                }
                for pod in self.0.reader.pods_by_hash(ns, &hash).await? {
                    if let Some(name) = pod.metadata.name.as_deref() {
                        let evs = self
                            .0
                            .reader
                            .events(ns, "Pod", name, pod.metadata.uid.as_deref())
                            .await?;
                        items.extend(evs.iter().map(event_summary));
                    }
                }
                out.push(json!({"side": side.as_str(), "hash": hash, "events": items}));
            }
            text(json!({ "sides": out }))
        })
    }
}

/// What of a container may be compared: never env values (secrets live
/// there), never probe header values.
fn container_view(c: &Container) -> BTreeMap<&'static str, Value> {
    let mut env: Vec<String> = c.env.iter().flatten().map(|e| e.name.clone()).collect();
    env.sort();
    let env_from: Vec<String> = c
        .env_from
        .iter()
        .flatten()
        .map(|e| {
            if let Some(r) = &e.config_map_ref {
                format!("configMap/{}", r.name)
            } else if let Some(r) = &e.secret_ref {
                format!("secret/{}", r.name)
            } else {
                "unknown".to_owned()
            }
        })
        .collect();
    let probe = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
        if let Some(h) = v
            .pointer_mut("/httpGet/httpHeaders")
            .and_then(Value::as_array_mut)
        {
            for x in h {
                if let Some(o) = x.as_object_mut() {
                    o.remove("value");
                }
            }
        }
        v
    };
    let mut m = BTreeMap::new();
    m.insert("image", json!(c.image));
    m.insert("command", json!(c.command));
    m.insert("args", json!(c.args));
    m.insert("envNames", json!(env));
    m.insert("envFrom", json!(env_from));
    m.insert(
        "resources",
        serde_json::to_value(&c.resources).unwrap_or(Value::Null),
    );
    m.insert("livenessProbe", probe(&c.liveness_probe));
    m.insert("readinessProbe", probe(&c.readiness_probe));
    m.insert("startupProbe", probe(&c.startup_probe));
    m
}

/// Differences between two pod specs, container by container.
pub fn spec_diff(canary: &PodSpec, stable: &PodSpec) -> Vec<Value> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&str> = canary
        .containers
        .iter()
        .chain(&stable.containers)
        .map(|c| c.name.as_str())
        .collect();
    for name in names {
        let find = |s: &'_ PodSpec| {
            s.containers
                .iter()
                .find(|c| c.name == name)
                .map(container_view)
        };
        match (find(canary), find(stable)) {
            (Some(c), Some(s)) => {
                for (field, cv) in &c {
                    let sv = s.get(field).unwrap_or(&Value::Null);
                    if cv != sv {
                        out.push(
                            json!({"container": name, "field": field, "canary": cv, "stable": sv}),
                        );
                    }
                }
            }
            (Some(_), None) => out.push(json!({"container": name, "change": "only in canary"})),
            (None, Some(_)) => out.push(json!({"container": name, "change": "only in stable"})),
            (None, None) => {}
        }
    }
    out
}

impl Tool for PodSpecDiff {
    type Args = NoArgs;
    fn name(&self) -> &'static str {
        "pod_spec_diff"
    }
    fn description(&self) -> &'static str {
        "What changed from the stable to the canary pod template, per container: image, command, args, environment variable NAMES (never values), envFrom sources, resources and probes."
    }
    fn call(&self, _: NoArgs) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let (_, c, s) = self.0.hashes().await?;
            let ns = self.0.namespace.as_str();
            let mut specs = Vec::new();
            for (side, h) in [("canary", c), ("stable", s)] {
                let h = h.ok_or_else(|| Error::NotFound {
                    what: format!("a {side} revision in the Rollout's status"),
                })?;
                let spec = self
                    .0
                    .reader
                    .replica_sets_by_hash(ns, &h)
                    .await?
                    .into_iter()
                    .find_map(|r| r.spec.and_then(|s| s.template).and_then(|t| t.spec))
                    .ok_or_else(|| Error::NotFound {
                        what: format!("the {side} ReplicaSet ({POD_TEMPLATE_HASH_LABEL}={h})"),
                    })?;
                specs.push(spec);
            }
            let diff = spec_diff(&specs[0], &specs[1]);
            text(json!({"differences": diff}))
        })
    }
}
