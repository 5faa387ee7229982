//! Judging: statistics on metrics, pod and event signals, log signals, and the
//! `DecisionRule` that combines them into a `Verdict`.

pub mod signal;
pub mod stats;
