//! The evidence bundle (format v1, `../shared/data/scenarios/FORMAT.md`): everything
//! gathered about one canary step. It is the seam between gathering and judging, so
//! every stage can run from a file.
//!
//! Reading is lenient where the format is (every part but `version`, `name`,
//! `rollout.namespace` and `rollout.name` may be absent or null; unknown fields are
//! ignored) and strict where a wrong value would mislead the judge (negative counts,
//! non-finite samples, an unknown `better`).

mod load;

pub use load::{BundleSource, DEFAULT_MAX_BYTES, json_files, load_file, parse_bytes, validate};

use serde::{Deserialize, Serialize};

/// The only bundle version this build understands.
pub const SUPPORTED_VERSION: u32 = 1;
/// The newest bundle version read: 2 adds optional per-pod `startedAt`/`readyAt`.
pub const MAX_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    #[serde(deserialize_with = "supported_version")]
    pub version: u32,
    pub name: String,
    /// Free text for humans; never shown to the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub rollout: RolloutRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    #[serde(default, deserialize_with = "unique_metric_names")]
    pub metrics: Vec<MetricSeries>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pods: Sides<Vec<PodStatus>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<KubeEvent>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub logs: Sides<Vec<PodLogs>>,
    /// What the gatherer could not collect (a Prometheus query that failed, a pod
    /// whose logs could not be read...), one sentence each. Any gap keeps the
    /// verdict from promote: missing data is never read as healthy data.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gaps: Vec<String>,
    /// Present only in labelled scenarios; used only for scoring, never by the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// Labelled scenarios only: secrets planted in logs/events that must never leave.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub planted_secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRef {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_image: Option<String>,
    /// Traffic percentage at this step; 0 is legal (`setCanaryScale` without traffic).
    #[serde(
        default,
        deserialize_with = "percentage",
        skip_serializing_if = "Option::is_none"
    )]
    pub canary_weight: Option<u8>,
    /// 0-based index of the canary step being analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The stable pods' source revision, when their metadata names it (the
    /// canary's is `revision`). Absent: the stable image's tag stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// The stable side is an Argo Experiment's baseline ReplicaSet (fresh pods
    /// of the stable version, `baselineHash`), not the long-running stable
    /// pods. Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
    /// Which release strategy and phase the step belongs to. Absent: a
    /// canary step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

/// The release strategy of the analysed step, and for blue-green which
/// analysis: what the "canary" and "stable" sides are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Strategy {
    /// Canary vs stable, both serving user traffic (the default).
    Canary,
    /// Blue-green before promotion: canary = the preview ReplicaSet, which
    /// serves no user traffic (only what tests drive through the preview
    /// Service); stable = the active one.
    BlueGreenPrePromotion,
    /// Blue-green after promotion: canary = the new active ReplicaSet, stable
    /// = the previous active one (Argo keeps it until the analysis ends).
    BlueGreenPostPromotion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_requests: Option<u64>,
}

/// Which direction of change is good for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    #[default]
    Lower,
    Higher,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeries {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Required: a guessed direction can read a falling success ratio as an
    /// improvement, so a series without `better` is refused (`metrics[i].better`).
    pub better: Better,
    #[serde(default)]
    pub critical: bool,
    #[serde(default, deserialize_with = "finite_samples")]
    pub canary: Vec<f64>,
    #[serde(default, deserialize_with = "finite_samples")]
    pub stable: Vec<f64>,
}

/// A pair of values, one for the canary and one for the stable version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(bound(deserialize = "T: Deserialize<'de> + Default"))]
pub struct Sides<T> {
    #[serde(default, deserialize_with = "null_as_default")]
    pub canary: T,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stable: T,
}

/// A pod snapshot at the end of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub name: String,
    /// Absent means readiness is unknown, which counts as not ready: a pod is
    /// never assumed healthy for want of a field.
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restarts: u32,
    /// `OOMKilled`, `Error`, `Completed`, ... or a pod-level reason such as `Evicted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_termination_reason: Option<String>,
    /// Version 2: when the pod's containers started and when it became Ready
    /// (RFC 3339). Used only to place log lines relative to readiness.
    #[serde(rename = "startedAt", default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(rename = "readyAt", default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeEvent {
    /// `Kind/name`, e.g. `Pod/checkout-7c9d5f6b8-abcde`.
    pub object: String,
    #[serde(rename = "type", default = "default_event_type")]
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    /// Untrusted text, like logs.
    #[serde(default)]
    pub message: String,
    #[serde(default = "default_count")]
    pub count: u32,
}

/// Raw container log lines of one pod, one element per physical line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodLogs {
    pub pod: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub lines: Vec<String>,
    /// Where `lines` came from, in order (gathered bundles only): which
    /// container, whether the previous instance after a restart, how many
    /// lines, and whether a bound cut the read. Lines stay raw: a marker line
    /// would look like a new log template to the diff.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<LogSource>,
}

/// One container log read that contributed to [`PodLogs::lines`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSource {
    pub container: String,
    /// The previous (crashed) instance of the container.
    #[serde(default)]
    pub previous: bool,
    pub lines: usize,
    /// A line or byte bound was reached.
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Promote,
    Abort,
    Inconclusive,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Promote, Decision::Abort, Decision::Inconclusive];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Promote => "promote",
            Decision::Abort => "abort",
            Decision::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub verdict: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub root_cause: Vec<String>,
    /// What a remediation run should do (`rollwise eval --remediate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<ExpectedRemediation>,
}

/// A fixture repository (a directory under `evals/fixtures/`) and the files a
/// fix of this scenario's failure should touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedRemediation {
    pub repo: String,
    #[serde(default)]
    pub files: Vec<String>,
}

impl Evidence {
    /// Which side a pod name belongs to, judged by the rollout's pod-template hashes.
    pub fn side_of_pod(&self, pod: &str) -> Option<Side> {
        let has = |hash: &Option<String>| {
            hash.as_deref()
                .is_some_and(|h| !h.is_empty() && pod.split('-').any(|part| part == h))
        };
        if has(&self.rollout.canary_hash) {
            Some(Side::Canary)
        } else if has(&self.rollout.stable_hash) {
            Some(Side::Stable)
        } else if self.pods.canary.iter().any(|p| p.name == pod)
            || self.logs.canary.iter().any(|l| l.pod == pod)
        {
            Some(Side::Canary)
        } else if self.pods.stable.iter().any(|p| p.name == pod)
            || self.logs.stable.iter().any(|l| l.pod == pod)
        {
            Some(Side::Stable)
        } else {
            None
        }
    }

    pub fn log_line_count(&self, side: Side) -> usize {
        self.logs.get(side).iter().map(|p| p.lines.len()).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Canary,
    Stable,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Canary => "canary",
            Side::Stable => "stable",
        }
    }
}

impl<T> Sides<T> {
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Canary => &self.canary,
            Side::Stable => &self.stable,
        }
    }
}

fn default_count() -> u32 {
    1
}

fn default_event_type() -> String {
    "Normal".to_owned()
}

/// `null` reads as the type's default, so `"pods": null` means "no pods gathered".
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Samples must be finite numbers. JSON has no NaN, but a producer may write
/// `null` for a missing interval or a huge exponent that overflows to infinity;
/// both are errors rather than silently skewing a rank test.
fn finite_samples<'de, D>(d: D) -> Result<Vec<f64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw = Option::<Vec<f64>>::deserialize(d)?.unwrap_or_default();
    if let Some((i, v)) = raw.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(serde::de::Error::custom(format!(
            "sample {i} is {v}, but samples must be finite numbers"
        )));
    }
    Ok(raw)
}

// The checks below run during deserialization rather than after it so that their
// errors carry serde_json's line and column, like every other bundle error.

/// Checked first thing: a bundle of another version may have another shape, and
/// "unsupported version" explains that better than whatever field fails next.
fn supported_version<'de, D>(d: D) -> Result<u32, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let v = u32::deserialize(d)?;
    if !(SUPPORTED_VERSION..=MAX_VERSION).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "unsupported bundle version {v} (this build reads versions {SUPPORTED_VERSION} to {MAX_VERSION})"
        )));
    }
    Ok(v)
}

fn percentage<'de, D>(d: D) -> Result<Option<u8>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Option::<u64>::deserialize(d)? {
        None => Ok(None),
        Some(w) => u8::try_from(w)
            .ok()
            .filter(|w| *w <= 100)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{w} is not a percentage (0..=100)"))),
    }
}

/// Metric names identify a series; a duplicate would make "the" error_rate
/// ambiguous. Rejected as soon as the duplicate element has been read, so the
/// position points at it.
fn unique_metric_names<'de, D>(d: D) -> Result<Vec<MetricSeries>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct UniqueNames(Vec<MetricSeries>);

    impl<'de> Deserialize<'de> for UniqueNames {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(UniqueNamesVisitor)
        }
    }

    struct UniqueNamesVisitor;

    impl<'de> serde::de::Visitor<'de> for UniqueNamesVisitor {
        type Value = UniqueNames;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of metric series")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<UniqueNames, A::Error> {
            let mut out: Vec<MetricSeries> = Vec::new();
            while let Some(m) = seq.next_element::<MetricSeries>()? {
                if let Some(first) = out.iter().position(|o| o.name == m.name) {
                    return Err(serde::de::Error::custom(format!(
                        "metrics[{}].name: metric {:?} appears more than once (first at metrics[{first}])",
                        out.len(),
                        m.name
                    )));
                }
                out.push(m);
            }
            Ok(UniqueNames(out))
        }
    }

    Ok(Option::<UniqueNames>::deserialize(d)?
        .map(|u| u.0)
        .unwrap_or_default())
}
