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
/// place is taken before an analysis is started (for a bundle, once its
/// body is read and not found in the cache) and held until it ends, so a burst beyond the places is
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
        crate::text::hex(ctx.finish().as_ref())
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
        /// The record's size as JSON, what the byte bound counts.
        bytes: usize,
    },
}

/// The entries and the bytes their finished records weigh.
#[derive(Default)]
struct Slots {
    map: HashMap<AnalysisKey, Slot>,
    bytes: usize,
}

impl Slots {
    /// Remove `key`, keeping the byte count.
    fn remove(&mut self, key: &AnalysisKey) {
        if let Some(Slot::Done { bytes, .. }) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(bytes);
        }
    }

    /// Drop expired records, then the oldest finished ones, until the
    /// entries and bytes are within bounds. Running entries stay: joiners
    /// wait on them.
    fn evict(&mut self, ttl: Duration, max_entries: usize, max_bytes: usize) {
        let over = |s: &Slots| s.map.len() > max_entries || s.bytes > max_bytes;
        if !over(self) {
            return;
        }
        let expired: Vec<AnalysisKey> = self
            .map
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Done { at, .. } if at.elapsed() >= ttl))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            self.remove(k);
        }
        if !over(self) {
            return;
        }
        let mut done: Vec<(Instant, AnalysisKey)> = self
            .map
            .iter()
            .filter_map(|(k, s)| match s {
                Slot::Done { at, .. } => Some((*at, k.clone())),
                Slot::Running { .. } => None,
            })
            .collect();
        done.sort_by_key(|(at, _)| *at);
        for (_, k) in done {
            if !over(self) {
                break;
            }
            self.remove(&k);
        }
    }
}

/// Bytes of `rec` as JSON, counted without building the text.
fn json_size(rec: &AnalysisRecord) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, rec) {
        Ok(()) => c.0,
        // Not serialisable: weigh it as too big to keep.
        Err(_) => usize::MAX,
    }
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
    max_bytes: usize,
    slots: Mutex<Slots>,
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
    /// At most `max_entries` entries and `max_bytes` of finished records
    /// (as JSON); past either the expired, then the oldest, are dropped, and a
    /// record bigger than `max_bytes` alone answers its waiters but is not
    /// kept.
    pub fn new(ttl: Duration, max_entries: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(AnalysisCache {
            ttl,
            max_entries: max_entries.max(1),
            max_bytes,
            slots: Mutex::new(Slots::default()),
        })
    }

    /// Bytes of the finished records kept (as JSON).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// How long a finished analysis answers repeats.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Join, reuse or start the analysis for `key`. `new_id` names a new one.
    pub fn lookup(self: &Arc<Self>, key: AnalysisKey, new_id: impl FnOnce() -> String) -> Lookup {
        let mut slots = self.lock();
        match slots.map.get(&key) {
            Some(Slot::Done { rec, at, .. }) if at.elapsed() < self.ttl => {
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
        slots.remove(&key);
        let id = new_id();
        let (tx, rx) = watch::channel(None);
        slots.map.insert(
            key.clone(),
            Slot::Running {
                id: id.clone(),
                rx: rx.clone(),
            },
        );
        slots.evict(self.ttl, self.max_entries, self.max_bytes);
        Lookup::Start(Ticket {
            cache: Arc::clone(self),
            key,
            id,
            tx: Some(tx),
            rx,
        })
    }

    fn store_done(&self, key: &AnalysisKey, rec: Arc<AnalysisRecord>) {
        let bytes = json_size(&rec);
        let mut slots = self.lock();
        slots.remove(key);
        if bytes > self.max_bytes {
            return;
        }
        slots.map.insert(
            key.clone(),
            Slot::Done {
                rec,
                at: Instant::now(),
                bytes,
            },
        );
        slots.bytes = slots.bytes.saturating_add(bytes);
        slots.evict(self.ttl, self.max_entries, self.max_bytes);
    }

    fn clear_running(&self, key: &AnalysisKey, id: &str) {
        let mut slots = self.lock();
        if matches!(slots.map.get(key), Some(Slot::Running { id: r, .. }) if r == id) {
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
        let c = AnalysisCache::new(Duration::from_secs(60), 100, 1 << 30);
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
        let c = AnalysisCache::new(Duration::from_secs(60), 100, 1 << 30);
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
        let c = AnalysisCache::new(Duration::from_millis(30), 100, 1 << 30);
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

    fn finish(c: &Arc<AnalysisCache>, k: &str, id: &str) {
        let Lookup::Start(t) = c.lookup(key(k), || id.into()) else {
            panic!("{k} must start")
        };
        t.finish(record(id));
    }

    /// The cache is bounded in bytes and entries even when nothing has
    /// expired: the oldest finished records go first, and a record bigger
    /// than the whole bound still answers its waiters but is not kept.
    #[tokio::test]
    async fn the_cache_keeps_its_byte_and_entry_bounds_dropping_the_oldest() {
        let one = json_size(&record("x"));
        let c = AnalysisCache::new(Duration::from_secs(60), 100, one * 2 + one / 2);
        finish(&c, "a", "id1");
        finish(&c, "b", "id2");
        assert_eq!(c.len(), 2);
        finish(&c, "c", "id3");
        assert_eq!(c.len(), 2);
        assert!(c.bytes() <= one * 2 + one / 2, "{} > bound", c.bytes());
        assert!(matches!(
            c.lookup(key("a"), || "new".into()),
            Lookup::Start(_)
        ));
        assert!(matches!(c.lookup(key("c"), || "x".into()), Lookup::Done(r) if r.id == "id3"));

        let c = AnalysisCache::new(Duration::from_secs(60), 2, 1 << 30);
        finish(&c, "a", "id1");
        finish(&c, "b", "id2");
        finish(&c, "c", "id3");
        assert_eq!(c.len(), 2);
        assert!(matches!(c.lookup(key("b"), || "x".into()), Lookup::Done(r) if r.id == "id2"));

        let c = AnalysisCache::new(Duration::from_secs(60), 100, one / 2);
        let Lookup::Start(t) = c.lookup(key("a"), || "big".into()) else {
            panic!("must start")
        };
        let Lookup::Running { rx, .. } = c.lookup(key("a"), || "x".into()) else {
            panic!("must join")
        };
        let waiter = tokio::spawn(wait_for(rx, Duration::from_secs(5)));
        t.finish(record("big"));
        assert_eq!(waiter.await.unwrap().unwrap().unwrap().id, "big");
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }
}
