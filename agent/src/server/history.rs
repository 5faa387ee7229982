//! The store as the service uses it: every failure is logged and counted in
//! `/metrics` and turned into "nothing recorded", so the history can never
//! change a verdict or fail an analysis.

use std::sync::Arc;
use std::time::Duration;

use super::Metrics;
use crate::store::{
    AnalysisRecord, Claim, NotificationOutcome, PrLink, RevisionRef, Store, StoreError, now_ms,
};

#[derive(Debug, Clone)]
pub struct History {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// This process's name in claims (pod name and a random suffix).
    pub holder: String,
}

impl History {
    fn ok<T>(&self, op: &str, r: Result<T, StoreError>) -> Option<T> {
        r.map_err(|e| self.metrics.store_error(op, &e)).ok()
    }

    pub async fn insert(&self, rec: Arc<AnalysisRecord>, key: Option<&str>) {
        let r = self.store.insert(rec, key).await;
        self.ok("insert", r);
    }

    /// The record as stored now (with the links added since), else `rec`.
    pub async fn current(&self, rec: Arc<AnalysisRecord>) -> Arc<AnalysisRecord> {
        let r = self.store.get(&rec.id).await;
        self.ok("get", r).flatten().unwrap_or(rec)
    }

    pub async fn latest_for_key(&self, key: &str, since_ms: i64) -> Option<Arc<AnalysisRecord>> {
        let r = self.store.latest_for_key(key, since_ms).await;
        self.ok("latest_for_key", r).flatten()
    }

    pub async fn add_notification(&self, id: &str, o: &NotificationOutcome) {
        let r = self.store.add_notification(id, o, now_ms()).await;
        self.ok("add_notification", r);
    }

    pub async fn set_pr(&self, id: &str, rev: &RevisionRef, pr: &PrLink) {
        let r = self.store.set_pr(id, rev, pr, now_ms()).await;
        self.ok("set_pr", r);
    }

    pub async fn set_transcript(&self, id: &str, t: &serde_json::Value) {
        let r = self.store.set_transcript(id, t).await;
        self.ok("set_transcript", r);
    }

    /// `Err(())` when the store could not tell (counted already).
    pub async fn pr_for(&self, rev: &RevisionRef) -> Result<Option<PrLink>, ()> {
        let r = self.store.pr_for(rev).await;
        self.ok("pr_for", r).ok_or(())
    }

    /// `Err(())` when the store could not tell (counted already).
    pub async fn claim(&self, name: &str, holder: &str, ttl: Duration) -> Result<Claim, ()> {
        let r = self.store.claim(name, holder, ttl, now_ms()).await;
        self.ok("claim", r).ok_or(())
    }

    pub async fn release(&self, name: &str, holder: &str) {
        let r = self.store.release(name, holder).await;
        self.ok("release", r);
    }
}
