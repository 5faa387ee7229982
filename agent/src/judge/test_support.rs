//! Builders for judge tests.

use crate::evidence::{
    Better, Evidence, KubeEvent, MetricSeries, PodStatus, RolloutRef, Sides, Traffic,
};

pub fn evidence() -> Evidence {
    Evidence {
        version: 1,
        name: "t".into(),
        description: None,
        rollout: RolloutRef {
            namespace: "shop".into(),
            name: "checkout".into(),
            canary_hash: Some("c4n4ry".into()),
            stable_hash: Some("st4bl3".into()),
            canary_image: None,
            stable_image: None,
            canary_weight: Some(20),
            step: Some(1),
            repo: None,
            revision: None,
            stable_revision: None,
            baseline: false,
            strategy: None,
        },
        window: None,
        traffic: Some(Traffic {
            canary_requests: Some(1000),
            stable_requests: Some(4000),
        }),
        metrics: vec![],
        pods: Sides {
            canary: vec![pod("checkout-c4n4ry-a", true, 0, None)],
            stable: vec![pod("checkout-st4bl3-b", true, 0, None)],
        },
        events: vec![],
        logs: Sides::default(),
        expected: None,
        gaps: vec![],
        planted_secrets: vec![],
    }
}

pub fn metric(
    name: &str,
    unit: &str,
    critical: bool,
    canary: &[f64],
    stable: &[f64],
) -> MetricSeries {
    MetricSeries {
        name: name.into(),
        unit: Some(unit.into()),
        better: Better::Lower,
        critical,
        canary: canary.to_vec(),
        stable: stable.to_vec(),
    }
}

pub fn pod(name: &str, ready: bool, restarts: u32, reason: Option<&str>) -> PodStatus {
    PodStatus {
        name: name.into(),
        ready,
        restarts,
        last_termination_reason: reason.map(str::to_owned),
        started_at: None,
        ready_at: None,
    }
}

pub fn warning(object: &str, reason: &str, message: &str, count: u32) -> KubeEvent {
    KubeEvent {
        object: object.into(),
        kind: "Warning".into(),
        reason: reason.into(),
        message: message.into(),
        count,
    }
}
