//! Pod and event signals: crashes, OOM kills, readiness, and Warning events that
//! the canary has and the stable version does not.

use std::collections::BTreeMap;

use crate::evidence::{Evidence, KubeEvent, PodStatus, Side};
use crate::judge::config::JudgeConfig;
use crate::judge::signal::{Severity, Signal, SignalSource};
use crate::logs::analyze::{logged_startup_secs, status_startup_secs};
use crate::redact::Redactor;

/// Termination reasons that mean the container failed (not a clean exit or an
/// eviction by the node).
const FAILURE_REASONS: &[&str] = &[
    "Error",
    "CrashLoopBackOff",
    "ContainerCannotRun",
    "StartError",
    "DeadlineExceeded",
    "RunContainerError",
    "CreateContainerError",
    "CreateContainerConfigError",
];

/// Warning event reasons that mean the canary's containers cannot start or keep
/// running; any of these on a canary object, absent on stable, aborts.
const CRASH_EVENT_REASONS: &[&str] = &["BackOff", "CrashLoopBackOff"];

/// Image problems: the canary can never run this revision as it stands.
const IMAGE_EVENT_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InspectFailed",
    "ErrImageNeverPull",
];

pub fn pod_signals(ev: &Evidence, cfg: &JudgeConfig, redactor: &Redactor) -> Vec<Signal> {
    let mut out = Vec::new();
    let canary = &ev.pods.canary;
    let stable = &ev.pods.stable;

    // Invariant (no promote without canary pod status): whether the canary's
    // pods run and are ready is the first fact of a release; logs or metrics do
    // not stand in for it, so without it the verdict is at best inconclusive.
    if canary.is_empty() {
        out.push(Signal::new(
            SignalSource::Evidence,
            Severity::Concern,
            "no canary pod status was gathered, so nothing shows the canary's pods running and ready (no data)",
            "pods.canary",
            80,
        ));
    }

    let stable_failing = |reason: &str| {
        stable
            .iter()
            .any(|p| p.restarts > 0 && p.last_termination_reason.as_deref() == Some(reason))
    };

    // Restart signals grouped by what happened, so "2 of 2 canary pods are
    // crash-looping" reads as one fact with every pod named.
    let mut groups: BTreeMap<RestartClass, Vec<(usize, &PodStatus)>> = BTreeMap::new();
    for (i, pod) in canary.iter().enumerate() {
        if let Some((severity, what)) = restart_class(pod, cfg, &stable_failing) {
            let reason = pod
                .last_termination_reason
                .clone()
                .unwrap_or_else(|| "unknown".into());
            groups
                .entry((severity, what, reason))
                .or_default()
                .push((i, pod));
        }
        if pod.last_termination_reason.as_deref() == Some("Evicted") {
            out.push(Signal::new(
                SignalSource::Pod,
                Severity::Concern,
                format!("canary pod {} was evicted by its node", pod.name),
                format!("pods.canary[{i}] {}", pod.name),
                70,
            ));
        }
    }
    for ((severity, what, reason), pods) in groups {
        let names: Vec<String> = pods
            .iter()
            .map(|(_, p)| format!("{} ({} restarts)", p.name, p.restarts))
            .collect();
        let background = stable_failing(&reason);
        let detail = format!(
            "{} of {} canary pods {what}, last termination reason {reason}{}; {}",
            pods.len(),
            canary.len(),
            if background {
                " (stable pods fail the same way, so it may not be this release)"
            } else {
                ""
            },
            names.join(", ")
        );
        let at = match pods.as_slice() {
            [(i, p)] => format!("pods.canary[{i}] {}", p.name),
            _ => "pods.canary".to_owned(),
        };
        let strength = if severity == Severity::Critical {
            95
        } else {
            70
        };
        out.push(Signal::new(
            SignalSource::Pod,
            severity,
            detail,
            at,
            strength,
        ));
    }

    // A pod whose readiness was not reported reads as not ready (the loader
    // defaults `ready` to false): unknown is never healthy.
    let not_ready: Vec<&PodStatus> = canary.iter().filter(|p| !p.ready).collect();
    if !not_ready.is_empty() {
        let names: Vec<&str> = not_ready.iter().map(|p| p.name.as_str()).collect();
        out.push(Signal::new(
            SignalSource::Pod,
            Severity::Concern,
            format!(
                "{} of {} canary pods not ready (or readiness not reported) at the end of the window: {}",
                not_ready.len(),
                canary.len(),
                names.join(", ")
            ),
            "pods.canary",
            80,
        ));
    }

    if !canary.is_empty() && out.iter().all(|s| s.severity > Severity::Concern) {
        let restarts: u32 = canary.iter().map(|p| p.restarts).sum();
        out.push(Signal::new(
            SignalSource::Pod,
            Severity::Pass,
            format!(
                "all {} canary pods ready, {restarts} restarts",
                canary.len()
            ),
            "pods.canary",
            80,
        ));
    }

    out.extend(event_signals(ev, redactor));
    out
}

/// How restarts weigh, what to call them, and the termination reason.
type RestartClass = (Severity, &'static str, String);

/// How a canary pod's restarts weigh, and what to call them.
fn restart_class(
    pod: &PodStatus,
    cfg: &JudgeConfig,
    stable_failing: &dyn Fn(&str) -> bool,
) -> Option<(Severity, &'static str)> {
    if pod.restarts == 0 {
        return None;
    }
    let reason = pod.last_termination_reason.as_deref().unwrap_or("unknown");
    let (severity, what) = if reason == "OOMKilled" {
        if pod.restarts >= cfg.oom_restarts_abort {
            (Severity::Critical, "were OOMKilled (out of memory)")
        } else {
            (Severity::Concern, "were OOMKilled (out of memory)")
        }
    } else if FAILURE_REASONS.contains(&reason) {
        if pod.restarts >= cfg.crash_restarts_abort {
            (Severity::Critical, "are crash-looping (CrashLoopBackOff)")
        } else {
            (Severity::Concern, "crashed once")
        }
    } else {
        // Completed, unknown, or a reason we do not classify: a restart the
        // stable version does not have is worth a pause, not an abort.
        (Severity::Concern, "restarted")
    };
    // When stable fails the same way, the canary is not shown to be worse; the
    // rollout still must not proceed on a broken system.
    if stable_failing(reason) && severity == Severity::Critical {
        return Some((Severity::Concern, what));
    }
    Some((severity, what))
}

/// Warning events on canary objects whose reason no stable object shows.
fn event_signals(ev: &Evidence, redactor: &Redactor) -> Vec<Signal> {
    let mut stable_reasons: Vec<&str> = Vec::new();
    let mut canary: BTreeMap<&str, CanaryWarnings> = BTreeMap::new();
    for (i, e) in ev.events.iter().enumerate() {
        if !e.kind.eq_ignore_ascii_case("warning") {
            continue;
        }
        match object_side(ev, e) {
            Some(Side::Stable) => stable_reasons.push(e.reason.as_str()),
            Some(Side::Canary) => {
                let entry = canary
                    .entry(e.reason.as_str())
                    .or_insert_with(|| CanaryWarnings {
                        objects: Vec::new(),
                        count: 0,
                        first: i,
                        example: e,
                        image: false,
                        startup: Some(""),
                    });
                entry.startup = entry.startup.and(passed_startup_step(ev, e));
                entry.objects.push(e.object.as_str());
                entry.count += u64::from(e.count.max(1));
                // kubelet reports pull failures as several `Failed` events; the
                // image reason may be in any of them.
                entry.image |= IMAGE_EVENT_REASONS.iter().any(|r| e.message.contains(r))
                    || e.message.contains("Failed to pull image");
                if entry.image
                    && !IMAGE_EVENT_REASONS
                        .iter()
                        .any(|r| entry.example.message.contains(r))
                {
                    entry.example = e;
                }
            }
            None => {}
        }
    }
    let mut out = Vec::new();
    for (reason, w) in canary {
        let CanaryWarnings {
            objects,
            count,
            first,
            example,
            image,
            startup,
        } = w;
        let background = stable_reasons.contains(&reason);
        let image = image || IMAGE_EVENT_REASONS.contains(&reason);
        let crash = CRASH_EVENT_REASONS.contains(&reason);
        let startup = startup.filter(|_| !image && !crash);
        let severity = if background || startup.is_some() {
            Severity::Info
        } else if image || (crash && count >= 2) {
            Severity::Critical
        } else {
            Severity::Concern
        };
        let mut objs: Vec<&str> = objects.clone();
        objs.dedup();
        let message = redactor.clip(&example.message, 160);
        let detail = format!(
            "Warning {reason} ×{count} on {} canary object(s) ({}){}: \"{message}\"",
            objs.len(),
            objs.iter().take(3).copied().collect::<Vec<_>>().join(", "),
            if background {
                "; stable objects show it too".to_owned()
            } else if let Some(why) = startup {
                format!("; start-up, since passed: {why}, and the pod is ready with no restarts")
            } else {
                String::new()
            },
        );
        let strength = if image || crash { 90 } else { 70 };
        out.push(Signal::new(
            SignalSource::Event,
            severity,
            detail,
            format!("events[{first}]"),
            strength,
        ));
    }
    out
}

/// Warning events of one reason on canary objects.
struct CanaryWarnings<'a> {
    objects: Vec<&'a str>,
    count: u64,
    first: usize,
    example: &'a KubeEvent,
    /// Any of them says the image cannot be pulled.
    image: bool,
    /// Every one is a start-up step the pod has since passed
    /// ([`passed_startup_step`]): what the last one was.
    startup: Option<&'static str>,
}

/// A Warning about a step of starting a pod that the pod has since passed:
/// it is ready at the end of the window with no restarts, and it could not be
/// unless the step had succeeded. Those steps are: a readiness or startup probe
/// whose TCP connection was refused (the container was not listening yet, which
/// is what such a probe waits for); scheduling (a pod that runs has a node);
/// volume attach and mount (containers start only once their volumes are
/// mounted); and the sandbox. Each is about the cluster or the start-up, not the
/// version. A probe answered with an error status, a timeout or a body is a
/// server that is up and says it is not ready, and is not this; nor is a
/// liveness failure, nor anything on a pod that restarted or is not ready.
/// A readiness or startup probe that failed otherwise (503, a timeout) is a
/// server up and not yet ready: a start-up step too when the pod's status
/// dates its start and readiness and all the failures fit between them at the
/// default probe period; failures that do not fit may be a pod dropping out of
/// rotation later (flapping). A shorter configured period gives more failures
/// per start-up, which then do not fit: the rule errs towards caution.
/// Returns what the step was, for the reason's text.
fn passed_startup_step(ev: &Evidence, e: &KubeEvent) -> Option<&'static str> {
    let name = e
        .object
        .split_once('/')
        .map_or(e.object.as_str(), |(_, n)| n);
    let pod = ev
        .pods
        .canary
        .iter()
        .find(|p| p.name == name)
        .filter(|p| p.ready && p.restarts == 0)?;
    let gating_probe = e.message.starts_with("Readiness probe failed")
        || e.message.starts_with("Startup probe failed");
    // Seconds from start to Ready: from the pod status when it has both
    // (bundle v2), else as the pod's own timestamped log shows it. Read only
    // for a probe failure that was not a refusal: it parses the pod's log.
    let fits_startup = || {
        status_startup_secs(pod)
            .or_else(|| {
                ev.logs
                    .canary
                    .iter()
                    .find(|l| l.pod == pod.name)
                    .and_then(logged_startup_secs)
            })
            .is_some_and(|secs| {
                secs >= f64::from(e.count.max(1).saturating_sub(1)) * DEFAULT_PROBE_PERIOD_SECS
            })
    };
    match e.reason.as_str() {
        "Unhealthy" if gating_probe && e.message.contains("connection refused") => {
            Some("the probe's connection was refused before the server listened")
        }
        "Unhealthy" if gating_probe && fits_startup() => Some(
            "the probe's failures fit in the pod's measured start-up (startedAt to readyAt, at Kubernetes' default 10 s probe period), before it first became ready",
        ),
        "FailedScheduling" => Some("the pod waited for a node, and has one"),
        "FailedMount" | "FailedAttachVolume" => Some(
            "a volume failed to attach or mount before it did (containers start only once their volumes are mounted)",
        ),
        "FailedCreatePodSandBox" => Some("the pod's sandbox failed before it was created"),
        _ => None,
    }
}

/// Kubernetes' default `periodSeconds` for a probe.
const DEFAULT_PROBE_PERIOD_SECS: f64 = 10.0;

/// Which version an event's object belongs to: pods and ReplicaSets by the
/// rollout's pod-template hash or the pod lists; the Rollout itself and nodes
/// belong to neither (a node's OOM-killer event names a process, not a version).
fn object_side(ev: &Evidence, e: &KubeEvent) -> Option<Side> {
    let (kind, name) = e.object.split_once('/').unwrap_or(("", e.object.as_str()));
    match kind {
        "Pod" | "ReplicaSet" | "" => ev.side_of_pod(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::test_support::{evidence, pod, warning};

    /// The signals with a fresh redactor (shadows `super::pod_signals`).
    fn pod_signals(ev: &Evidence, cfg: &JudgeConfig) -> Vec<Signal> {
        super::pod_signals(ev, cfg, &Redactor::new())
    }

    /// The first event signal's severity and text.
    fn event_signal(ev: &Evidence) -> Option<(Severity, String)> {
        pod_signals(ev, &JudgeConfig::default())
            .into_iter()
            .find(|s| s.source == SignalSource::Event)
            .map(|s| (s.severity, s.detail))
    }

    fn severities(ev: &Evidence) -> Vec<(SignalSource, Severity)> {
        pod_signals(ev, &JudgeConfig::default())
            .into_iter()
            .map(|s| (s.source, s.severity))
            .collect()
    }

    #[test]
    fn healthy_canary_pods_pass() {
        let ev = evidence();
        assert_eq!(severities(&ev), vec![(SignalSource::Pod, Severity::Pass)]);
    }

    #[test]
    fn one_oom_kill_aborts_one_crash_only_pauses() {
        let mut ev = evidence();
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 1, Some("OOMKilled"))];
        assert!(severities(&ev).contains(&(SignalSource::Pod, Severity::Critical)));
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 1, Some("Error"))];
        assert_eq!(
            severities(&ev),
            vec![(SignalSource::Pod, Severity::Concern)]
        );
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 3, Some("Error"))];
        let signals = pod_signals(&ev, &JudgeConfig::default());
        assert_eq!(signals[0].severity, Severity::Critical);
        assert!(
            signals[0].detail.contains("CrashLoopBackOff"),
            "{}",
            signals[0].detail
        );
    }

    #[test]
    fn crash_groups_name_every_pod() {
        let mut ev = evidence();
        ev.pods.canary = vec![
            pod("checkout-c4n4ry-a", false, 5, Some("Error")),
            pod("checkout-c4n4ry-b", false, 4, Some("Error")),
        ];
        let signals = pod_signals(&ev, &JudgeConfig::default());
        let crash = signals
            .iter()
            .find(|s| s.severity == Severity::Critical)
            .expect("crash signal");
        assert!(
            crash
                .detail
                .starts_with("2 of 2 canary pods are crash-looping"),
            "{}",
            crash.detail
        );
        assert!(
            crash.detail.contains("checkout-c4n4ry-a")
                && crash.detail.contains("checkout-c4n4ry-b")
        );
        assert!(signals.iter().any(|s| s.detail.contains("not ready")));
    }

    #[test]
    fn stable_failing_the_same_way_is_not_the_releases_fault() {
        let mut ev = evidence();
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 3, Some("Error"))];
        ev.pods.stable = vec![pod("checkout-st4bl3-b", true, 4, Some("Error"))];
        assert_eq!(
            severities(&ev),
            vec![(SignalSource::Pod, Severity::Concern)]
        );
    }

    #[test]
    fn not_ready_without_crashes_is_a_concern() {
        let mut ev = evidence();
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", false, 0, None)];
        assert_eq!(
            severities(&ev),
            vec![(SignalSource::Pod, Severity::Concern)]
        );
    }

    #[test]
    fn readiness_503s_that_fit_the_measured_start_up_are_start_up() {
        let of = |ev: &Evidence| event_signal(ev).map(|(sev, _)| sev);
        let probe = |n| {
            warning(
                "Pod/checkout-c4n4ry-a",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                n,
            )
        };
        let mut p = pod("checkout-c4n4ry-a", true, 0, None);
        p.started_at = Some("2026-11-22T10:00:00Z".into());
        p.ready_at = Some("2026-11-22T10:00:31Z".into());
        let mut ev = evidence();
        ev.pods.canary = vec![p.clone()];
        // 31 s of start-up hold four failures at a 10 s period, not five.
        ev.events = vec![probe(4)];
        assert_eq!(of(&ev), Some(Severity::Info));
        ev.events = vec![probe(5)];
        assert_eq!(of(&ev), Some(Severity::Concern));
        // Without dates there is nothing to fit them in...
        let mut undated = p.clone();
        undated.started_at = None;
        ev.pods.canary = vec![undated];
        ev.events = vec![probe(2)];
        assert_eq!(of(&ev), Some(Severity::Concern));
        // ...unless the pod's own timed log shows its start-up.
        ev.logs.canary = vec![crate::evidence::PodLogs {
            pod: "checkout-c4n4ry-a".into(),
            lines: [
                "2026-11-22T10:00:00Z INFO starting checkout 2.4.0",
                "2026-11-22T10:00:02Z WARN db not reachable yet, retrying",
                "2026-11-22T10:00:24Z INFO server listening on :8080",
                "2026-11-22T10:00:25Z INFO GET /api/cart 200",
            ]
            .map(String::from)
            .to_vec(),
            sources: Vec::new(),
        }];
        assert_eq!(of(&ev), Some(Severity::Info));
        ev.events = vec![probe(4)];
        assert_eq!(of(&ev), Some(Severity::Concern));
        // A liveness failure never is.
        ev.pods.canary = vec![p];
        ev.events = vec![warning(
            "Pod/checkout-c4n4ry-a",
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 503",
            1,
        )];
        assert_eq!(of(&ev), Some(Severity::Concern));
    }

    #[test]
    fn scheduling_and_mount_failures_a_ready_pod_has_passed_are_start_up() {
        let of = event_signal;
        for (reason, msg) in [
            (
                "FailedScheduling",
                "0/6 nodes are available: 6 Insufficient cpu.",
            ),
            (
                "FailedMount",
                "MountVolume.SetUp failed for volume \"config\" : configmap \"checkout\" not found",
            ),
            (
                "FailedCreatePodSandBox",
                "Failed to create pod sandbox: rpc error",
            ),
        ] {
            let mut ev = evidence();
            ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 0, None)];
            ev.events = vec![warning("Pod/checkout-c4n4ry-a", reason, msg, 2)];
            let (sev, detail) = of(&ev).unwrap();
            assert_eq!(sev, Severity::Info, "{reason}");
            assert!(detail.contains("since passed"), "{detail}");
            // Not passed: the pod is not ready, or it restarted.
            ev.pods.canary = vec![pod("checkout-c4n4ry-a", false, 0, None)];
            assert_eq!(of(&ev).unwrap().0, Severity::Concern, "{reason}");
            ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 2, None)];
            assert_eq!(of(&ev).unwrap().0, Severity::Concern, "{reason}");
        }
        // Any other warning on a ready pod stays a concern.
        let mut ev = evidence();
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 0, None)];
        ev.events = vec![warning(
            "Pod/checkout-c4n4ry-a",
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            2,
        )];
        assert_eq!(of(&ev).unwrap().0, Severity::Concern);
    }

    #[test]
    fn refused_readiness_probes_of_a_pod_that_became_ready_are_start_up() {
        let probe = |msg: &str| {
            warning(
                "Pod/checkout-c4n4ry-a",
                "Unhealthy",
                &format!("Readiness probe failed: {msg}"),
                3,
            )
        };
        let refused = "Get \"http://10.0.0.7:8080/ready\": dial tcp 10.0.0.7:8080: connect: connection refused";
        let of = event_signal;
        let mut ev = evidence();
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 0, None)];
        ev.events = vec![probe(refused)];
        let (sev, detail) = of(&ev).unwrap();
        assert_eq!(sev, Severity::Info);
        assert!(detail.contains("start-up"), "{detail}");
        // A server that answers "not ready" is up and unhappy: not start-up.
        ev.events = vec![probe("HTTP probe failed with statuscode: 503")];
        assert_eq!(of(&ev).unwrap().0, Severity::Concern);
        // Refused, but the pod restarted or is not ready: not settled.
        ev.events = vec![probe(refused)];
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", true, 1, None)];
        assert_eq!(of(&ev).unwrap().0, Severity::Concern);
        ev.pods.canary = vec![pod("checkout-c4n4ry-a", false, 0, None)];
        assert_eq!(of(&ev).unwrap().0, Severity::Concern);
    }

    #[test]
    fn canary_only_warnings_weigh_stable_ones_do_not() {
        let mut ev = evidence();
        ev.events = vec![
            warning(
                "Pod/checkout-c4n4ry-a",
                "BackOff",
                "Back-off restarting failed container",
                4,
            ),
            warning(
                "Pod/checkout-c4n4ry-a",
                "Unhealthy",
                "Readiness probe failed",
                3,
            ),
            warning(
                "Pod/checkout-c4n4ry-a",
                "FailedMount",
                "secret not found",
                1,
            ),
            warning(
                "Pod/checkout-st4bl3-b",
                "FailedMount",
                "secret not found",
                1,
            ),
            // A node's OOM killer names a process, not a version: not attributed.
            warning(
                "Node/ip-10-0-1-1",
                "OOMKilling",
                "Killed process 42 (java)",
                1,
            ),
        ];
        let signals: Vec<Signal> = pod_signals(&ev, &JudgeConfig::default())
            .into_iter()
            .filter(|s| s.source == SignalSource::Event)
            .collect();
        let of = |reason: &str| {
            signals
                .iter()
                .find(|s| s.detail.contains(reason))
                .map(|s| s.severity)
        };
        assert_eq!(of("BackOff"), Some(Severity::Critical));
        assert_eq!(of("Unhealthy"), Some(Severity::Concern));
        assert_eq!(of("FailedMount"), Some(Severity::Info));
        assert_eq!(of("OOMKilling"), None);
    }

    #[test]
    fn image_pull_failures_abort() {
        let mut ev = evidence();
        // kubelet's shape: the reason is `Failed`, the image error in some message.
        ev.events = vec![
            warning(
                "Pod/checkout-c4n4ry-a",
                "Failed",
                "Error: context deadline exceeded",
                1,
            ),
            warning(
                "Pod/checkout-c4n4ry-a",
                "Failed",
                "Error: ImagePullBackOff",
                22,
            ),
        ];
        let signals = pod_signals(&ev, &JudgeConfig::default());
        let image = signals
            .iter()
            .find(|s| s.source == SignalSource::Event)
            .expect("event signal");
        assert_eq!(image.severity, Severity::Critical);
        assert!(
            image.detail.contains("ImagePullBackOff"),
            "{}",
            image.detail
        );
    }

    #[test]
    fn no_canary_pods_and_no_logs_is_a_concern() {
        let mut ev = evidence();
        ev.pods.canary.clear();
        assert_eq!(
            severities(&ev),
            vec![(SignalSource::Evidence, Severity::Concern)]
        );
    }
}
