//! The in-memory backend: the demo, tests, and `--store memory`. Bounded: the
//! newest `capacity` analyses are kept. Nothing is shared with other
//! processes, so its claims only order the work of this one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::{
    AnalysisRecord, Claim, Feedback, Filter, NotificationOutcome, PrLink, RevisionRef, Swept,
};

#[derive(Debug)]
struct Kept {
    rec: Arc<AnalysisRecord>,
    key: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    records: VecDeque<Kept>,
    prs: HashMap<RevisionRef, PrLink>,
    /// name → (holder, expires_ms)
    claims: HashMap<String, (String, i64)>,
}

#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change one record in place (copy on write: readers keep their Arc).
    fn change(&self, id: &str, f: impl FnOnce(&mut AnalysisRecord)) -> bool {
        let mut g = self.lock();
        match g.records.iter_mut().find(|k| k.rec.id == id) {
            Some(k) => {
                f(Arc::make_mut(&mut k.rec));
                true
            }
            None => false,
        }
    }

    pub fn insert(&self, rec: Arc<AnalysisRecord>, key: Option<&str>) {
        let mut g = self.lock();
        g.records.retain(|k| k.rec.id != rec.id);
        while g.records.len() >= self.capacity {
            g.records.pop_front();
        }
        g.records.push_back(Kept {
            rec,
            key: key.map(str::to_owned),
        });
    }

    pub fn get(&self, id: &str) -> Option<Arc<AnalysisRecord>> {
        let g = self.lock();
        g.records
            .iter()
            .rev()
            .find(|k| k.rec.id == id)
            .map(|k| Arc::clone(&k.rec))
    }

    pub fn list(&self, f: &Filter) -> Vec<Arc<AnalysisRecord>> {
        let g = self.lock();
        let mut out: Vec<_> = g
            .records
            .iter()
            .filter(|k| f.matches(&k.rec))
            .map(|k| Arc::clone(&k.rec))
            .collect();
        out.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
        out.truncate(f.limit.unwrap_or(usize::MAX));
        out
    }

    pub fn latest_for_key(&self, key: &str, since_ms: i64) -> Option<Arc<AnalysisRecord>> {
        let g = self.lock();
        g.records
            .iter()
            .filter(|k| k.key.as_deref() == Some(key) && k.rec.created_ms >= since_ms)
            .max_by_key(|k| k.rec.created_ms)
            .map(|k| Arc::clone(&k.rec))
    }

    pub fn set_pr(&self, id: &str, rev: &RevisionRef, pr: &PrLink, _now_ms: i64) -> bool {
        self.lock().prs.insert(rev.clone(), pr.clone());
        let pr = pr.clone();
        self.change(id, move |r| r.pr = Some(pr))
    }

    pub fn pr_for(&self, rev: &RevisionRef) -> Option<PrLink> {
        self.lock().prs.get(rev).cloned()
    }

    pub fn set_transcript(&self, id: &str, t: &serde_json::Value) -> bool {
        let t = t.clone();
        self.change(id, move |r| r.transcript = Some(t))
    }

    pub fn add_notification(&self, id: &str, o: &NotificationOutcome, _now_ms: i64) -> bool {
        let o = o.clone();
        self.change(id, move |r| r.notifications.push(o))
    }

    pub fn add_feedback(&self, id: &str, f: &Feedback) -> bool {
        let f = f.clone();
        self.change(id, move |r| r.feedback.push(f))
    }

    pub fn claim(&self, name: &str, holder: &str, expires_ms: i64, now_ms: i64) -> Claim {
        let mut g = self.lock();
        match g.claims.get(name) {
            Some((h, exp)) if h != holder && *exp >= now_ms => Claim::HeldBy {
                holder: h.clone(),
                expires_ms: *exp,
            },
            _ => {
                g.claims
                    .insert(name.to_owned(), (holder.to_owned(), expires_ms));
                Claim::Won
            }
        }
    }

    pub fn release(&self, name: &str, holder: &str) {
        let mut g = self.lock();
        if g.claims.get(name).is_some_and(|(h, _)| h == holder) {
            g.claims.remove(name);
        }
    }

    pub fn sweep(&self, cutoff_ms: i64, cap: u64, now_ms: i64) -> Swept {
        let mut g = self.lock();
        let before = g.records.len();
        g.records.retain(|k| k.rec.created_ms >= cutoff_ms);
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        if g.records.len() > cap {
            g.records
                .make_contiguous()
                .sort_by(|a, b| (a.rec.created_ms, &a.rec.id).cmp(&(b.rec.created_ms, &b.rec.id)));
            let extra = g.records.len() - cap;
            g.records.drain(..extra);
        }
        let analyses = (before - g.records.len()) as u64;
        let claims_before = g.claims.len();
        g.claims
            .retain(|_, (_, exp)| *exp >= now_ms.saturating_sub(super::sweep::CLAIM_GRACE_MS));
        Swept {
            analyses,
            claims: (claims_before - g.claims.len()) as u64,
        }
    }

    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::test_support::evidence;
    use crate::judge::{Judge, JudgeConfig};
    use crate::logs::LogConfig;
    use crate::store::Origin;

    fn record(id: &str, created_ms: i64) -> Arc<AnalysisRecord> {
        let mut ev = evidence();
        ev.logs.canary.push(crate::evidence::PodLogs {
            pod: "p".into(),
            lines: vec!["secret line".into()],
            sources: Vec::new(),
        });
        let v = Judge::new(JudgeConfig::default(), LogConfig::default()).judge(&ev);
        Arc::new(AnalysisRecord::new(
            id.into(),
            Origin::Cli,
            created_ms,
            v,
            &ev,
            None,
        ))
    }

    #[test]
    fn keeps_the_newest_at_capacity_without_log_lines() {
        let s = MemoryStore::new(2);
        s.insert(record("a", 1), None);
        s.insert(record("b", 2), None);
        s.insert(record("c", 3), None);
        assert!(s.get("a").is_none(), "oldest dropped at capacity");
        assert_eq!(s.len(), 2);
        let ids: Vec<_> = s
            .list(&Filter::default())
            .iter()
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(ids, ["c", "b"]);
        let c = s.get("c").unwrap();
        assert_eq!(c.evidence.logs.canary[0].pod, "p");
        assert!(c.evidence.logs.canary[0].lines.is_empty());
    }

    #[test]
    fn readers_keep_their_copy_when_a_record_changes() {
        let s = MemoryStore::new(4);
        s.insert(record("a", 1), None);
        let before = s.get("a").unwrap();
        assert!(s.set_transcript("a", &serde_json::json!([1])));
        assert!(before.transcript.is_none());
        assert!(s.get("a").unwrap().transcript.is_some());
    }
}
