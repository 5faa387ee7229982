//! Single-flight analyses with a short-lived cache of their results.
//!
//! Argo's web provider gives each call `timeoutSeconds` (10 s by default) and
//! retries a failed measurement after 10 s. The first call for a key starts the
//! analysis in a task of its own; calls for the same key while it runs join it
//! instead of starting another; calls after it finished get its record until
//! the entry expires. A task that dies without finishing clears its slot, so
//! the next call starts afresh instead of waiting forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::store::AnalysisRecord;

/// Places for analyses, running or waiting for a slot: a bounded queue. A
/// place is taken before an analysis is started (or, for a bundle, before
/// its body is read) and held until it ends, so a burst beyond the places is
/// refused at once instead of queueing without bound.
#[derive(Debug)]
pub struct AnalysisQueue {
    places: Arc<Semaphore>,
}

impl AnalysisQueue {
    /// Room for `running` analyses and `waiting` more.
    pub fn new(running: usize, waiting: usize) -> Self {
        AnalysisQueue {
            places: Arc::new(Semaphore::new(running.saturating_add(waiting))),
        }
    }

    /// A place, or `None` when every one is taken.
    pub fn enter(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.places).try_acquire_owned().ok()
    }
}

/// What identifies one analysis: the same canary step asked again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnalysisKey {
    pub endpoint: &'static str,
    pub namespace: String,
    pub rollout: String,
    pub canary: String,
    pub stable: String,
    pub window_secs: u64,
    /// Anything else that changes the result (query overrides, extra prompt).
    pub extra: String,
}

impl AnalysisKey {
    /// What the history store keeps of the key (and the claim's name is
    /// made of): SHA-256 over every field, so replicas agree on it and
    /// override queries or prompts are not stored in the clear.
    pub fn digest(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let window = self.window_secs.to_string();
        for part in [
            self.endpoint,
            &self.namespace,
            &self.rollout,
            &self.canary,
            &self.stable,
            &window,
            &self.extra,
        ] {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        ctx.finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

pub type Outcome = Option<Arc<AnalysisRecord>>;

enum Slot {
    Running {
        id: String,
        rx: watch::Receiver<Outcome>,
    },
    Done {
        rec: Arc<AnalysisRecord>,
        at: Instant,
    },
}

/// The answer of [`AnalysisCache::lookup`].
#[derive(Debug)]
pub enum Lookup {
    /// A finished analysis, still fresh.
    Done(Arc<AnalysisRecord>),
    /// One is running: wait on the receiver.
    Running {
        id: String,
        rx: watch::Receiver<Outcome>,
    },
    /// Nobody is on it: the caller must run it and finish through the ticket.
    Start(Ticket),
}

/// The right (and duty) to run one analysis. Dropping it unfinished clears
/// the slot so that joiners see the failure and the next call starts again.
#[derive(Debug)]
pub struct Ticket {
    cache: Arc<AnalysisCache>,
    key: AnalysisKey,
    pub id: String,
    tx: Option<watch::Sender<Outcome>>,
    rx: watch::Receiver<Outcome>,
}

impl Ticket {
    pub fn key(&self) -> &AnalysisKey {
        &self.key
    }

    /// A receiver for the caller that started it.
    pub fn subscribe(&self) -> watch::Receiver<Outcome> {
        self.rx.clone()
    }

    /// Publish the result to every waiter and keep it for the TTL.
    pub fn finish(mut self, rec: Arc<AnalysisRecord>) {
        self.cache.store_done(&self.key, Arc::clone(&rec));
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Some(rec));
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.cache.clear_running(&self.key, &self.id);
        }
    }
}

pub struct AnalysisCache {
    ttl: Duration,
    max_entries: usize,
    slots: Mutex<HashMap<AnalysisKey, Slot>>,
}

impl std::fmt::Debug for AnalysisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisCache")
            .field("ttl", &self.ttl)
            .field("entries", &self.len())
            .finish()
    }
}

impl AnalysisCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Arc<Self> {
        Arc::new(AnalysisCache {
            ttl,
            max_entries: max_entries.max(1),
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// How long a finished analysis answers repeats.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AnalysisKey, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Join, reuse or start the analysis for `key`. `new_id` names a new one.
    pub fn lookup(self: &Arc<Self>, key: AnalysisKey, new_id: impl FnOnce() -> String) -> Lookup {
        let mut slots = self.lock();
        match slots.get(&key) {
            Some(Slot::Done { rec, at }) if at.elapsed() < self.ttl => {
                return Lookup::Done(Arc::clone(rec));
            }
            Some(Slot::Running { id, rx }) => {
                return Lookup::Running {
                    id: id.clone(),
                    rx: rx.clone(),
                };
            }
            _ => {}
        }
        if slots.len() >= self.max_entries {
            let ttl = self.ttl;
            slots.retain(|_, s| match s {
                Slot::Done { at, .. } => at.elapsed() < ttl,
                Slot::Running { .. } => true,
            });
        }
        let id = new_id();
        let (tx, rx) = watch::channel(None);
        slots.insert(
            key.clone(),
            Slot::Running {
                id: id.clone(),
                rx: rx.clone(),
            },
        );
        Lookup::Start(Ticket {
            cache: Arc::clone(self),
            key,
            id,
            tx: Some(tx),
            rx,
        })
    }

    fn store_done(&self, key: &AnalysisKey, rec: Arc<AnalysisRecord>) {
        self.lock().insert(
            key.clone(),
            Slot::Done {
                rec,
                at: Instant::now(),
            },
        );
    }

    fn clear_running(&self, key: &AnalysisKey, id: &str) {
        let mut slots = self.lock();
        if matches!(slots.get(key), Some(Slot::Running { id: r, .. }) if r == id) {
            slots.remove(key);
        }
    }
}

/// Wait for a running analysis until `deadline`. `Ok(None)`: still running;
/// `Err(())`: it died without a result.
pub async fn wait_for(
    mut rx: watch::Receiver<Outcome>,
    deadline: Duration,
) -> Result<Option<Arc<AnalysisRecord>>, ()> {
    let waited = tokio::time::timeout(deadline, rx.wait_for(|o| o.is_some())).await;
    match waited {
        Ok(Ok(v)) => Ok(v.clone()),
        Ok(Err(_closed)) => Err(()),
        Err(_elapsed) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::test_support::evidence;
    use crate::judge::{Judge, JudgeConfig};
    use crate::logs::LogConfig;
    use crate::store::Origin;

    fn key(c: &str) -> AnalysisKey {
        AnalysisKey {
            endpoint: "analyze",
            namespace: "ns".into(),
            rollout: "r".into(),
            canary: c.into(),
            stable: "s".into(),
            window_secs: 600,
            extra: String::new(),
        }
    }

    fn record(id: &str) -> Arc<AnalysisRecord> {
        let ev = evidence();
        let v = Judge::new(JudgeConfig::default(), LogConfig::default()).judge(&ev);
        Arc::new(AnalysisRecord::new(
            id.into(),
            Origin::Analyze,
            0,
            v,
            &ev,
            None,
        ))
    }

    #[test]
    fn digests_differ_by_every_field_and_are_stable() {
        let a = key("a");
        assert_eq!(a.digest(), key("a").digest());
        assert_eq!(a.digest().len(), 64);
        let mut b = key("a");
        b.window_secs = 60;
        assert_ne!(a.digest(), b.digest());
        let mut c = key("a");
        c.extra = "x".into();
        assert_ne!(a.digest(), c.digest());
        // Field boundaries count: ("ab","") is not ("a","b").
        let mut d = key("ab");
        d.stable = String::new();
        let mut e = key("a");
        e.stable = "b".into();
        assert_ne!(d.digest(), e.digest());
    }

    #[tokio::test]
    async fn joiners_share_one_run_and_repeats_hit_the_cache() {
        let c = AnalysisCache::new(Duration::from_secs(60), 100);
        let Lookup::Start(t) = c.lookup(key("a"), || "id1".into()) else {
            panic!("first call must start")
        };
        let Lookup::Running { id, rx } = c.lookup(key("a"), || "id2".into()) else {
            panic!("second call must join")
        };
        assert_eq!(id, "id1");
        assert!(matches!(
            c.lookup(key("b"), || "id3".into()),
            Lookup::Start(_)
        ));
        let waiter = tokio::spawn(wait_for(rx, Duration::from_secs(5)));
        t.finish(record("id1"));
        let got = waiter.await.unwrap().unwrap().unwrap();
        assert_eq!(got.id, "id1");
        assert!(matches!(c.lookup(key("a"), || "x".into()), Lookup::Done(r) if r.id == "id1"));
    }

    #[tokio::test]
    async fn a_dropped_ticket_fails_its_waiters_and_frees_the_key() {
        let c = AnalysisCache::new(Duration::from_secs(60), 100);
        let Lookup::Start(t) = c.lookup(key("a"), || "id1".into()) else {
            panic!()
        };
        let rx = t.subscribe();
        drop(t);
        assert_eq!(wait_for(rx, Duration::from_secs(1)).await, Err(()));
        assert!(matches!(c.lookup(key("a"), || "id2".into()), Lookup::Start(t) if t.id == "id2"));
    }

    #[tokio::test]
    async fn waiting_past_the_deadline_says_still_running_and_entries_expire() {
        let c = AnalysisCache::new(Duration::from_millis(30), 100);
        let Lookup::Start(t) = c.lookup(key("a"), || "id1".into()) else {
            panic!()
        };
        assert_eq!(
            wait_for(t.subscribe(), Duration::from_millis(20)).await,
            Ok(None)
        );
        t.finish(record("id1"));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(matches!(
            c.lookup(key("a"), || "id2".into()),
            Lookup::Start(_)
        ));
    }
}
