//! Retention: a background task that sweeps the store at start and then
//! every few minutes. Failures are logged and counted; the next sweep tries
//! again.

use std::time::Duration;

use super::{Retention, Store, Swept, now_ms};

/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(300);
/// Claims expired longer than this are deleted (a live one is never touched;
/// the grace keeps `HeldBy` answers meaningful for a while).
pub const CLAIM_GRACE_MS: i64 = 3_600_000;

/// Sweep once now, then every `every`, until the task is dropped or aborted.
/// `on_error` sees each failure (the service counts it in `/metrics`).
pub fn spawn(
    store: Store,
    retention: Retention,
    every: Duration,
    on_error: impl Fn(&super::StoreError) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.sweep(&retention, now_ms()).await {
                Ok(Swept { analyses, claims }) if analyses + claims > 0 => {
                    tracing::info!(analyses, claims, "history swept");
                }
                Ok(_) => {}
                Err(e) => on_error(&e),
            }
        }
    })
}
