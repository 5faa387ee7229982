//! Replay mode: evidence from a directory of bundles instead of a cluster.
//!
//! `rollwise serve --evidence-dir DIR` answers `/v1/analyze` for any bundle in
//! DIR whose namespace, rollout and canary hash match the request (and whose
//! stable hash matches, when the bundle names one). For demos, load tests and
//! replaying a past incident; no cluster or credentials are involved.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{EvidenceSource, GatherRequest, PodSelector};
use crate::error::{Error, Result};
use crate::evidence::{self, Evidence};
use crate::llm::BoxFuture;

#[derive(Debug)]
pub struct DirectorySource {
    /// (namespace, rollout, canary hash) → bundle.
    bundles: HashMap<(String, String, String), Arc<Evidence>>,
}

impl DirectorySource {
    /// Read every `*.json` bundle under `dir` (recursively). A bundle without a
    /// canary hash cannot be asked for and is skipped; an unreadable one is an error.
    pub fn load(dir: &Path, max_bytes: u64) -> Result<Self> {
        let files = evidence::json_files(dir, "evidence directory")?;
        let mut bundles = HashMap::new();
        for f in files {
            let ev = evidence::load_file(&f, max_bytes)?;
            let Some(hash) = ev.rollout.canary_hash.clone() else {
                continue;
            };
            let key = (ev.rollout.namespace.clone(), ev.rollout.name.clone(), hash);
            bundles.insert(key, Arc::new(without_labels(ev)));
        }
        if bundles.is_empty() {
            return Err(Error::Config(format!(
                "{}: no evidence bundles with a canary hash",
                dir.display()
            )));
        }
        Ok(DirectorySource { bundles })
    }

    pub fn len(&self) -> usize {
        self.bundles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty()
    }
}

/// Labels are for scoring, never for judging: drop them.
fn without_labels(mut ev: Evidence) -> Evidence {
    ev.expected = None;
    ev
}

impl EvidenceSource for DirectorySource {
    fn gather<'a>(&'a self, req: &'a GatherRequest) -> BoxFuture<'a, Result<Evidence>> {
        Box::pin(async move {
            let PodSelector::Hash(canary) = &req.canary else {
                return Err(Error::Gather {
                    dependency: "evidence-dir",
                    message: "replay mode finds bundles by canary hash only".into(),
                });
            };
            let key = (req.namespace.clone(), req.rollout.clone(), canary.clone());
            let ev = self.bundles.get(&key).ok_or_else(|| Error::Gather {
                dependency: "evidence-dir",
                message: format!(
                    "no bundle for {}/{} with canary hash {canary}",
                    req.namespace, req.rollout
                ),
            })?;
            if let (PodSelector::Hash(want) | PodSelector::Baseline(want), Some(have)) =
                (&req.stable, &ev.rollout.stable_hash)
                && want != have
            {
                return Err(Error::Gather {
                    dependency: "evidence-dir",
                    message: format!(
                        "the bundle for canary {canary} has stable hash {have}, not {want}"
                    ),
                });
            }
            Ok(Evidence::clone(ev))
        })
    }

    fn check_ready(&self) -> BoxFuture<'_, Vec<(String, std::result::Result<String, String>)>> {
        let n = self.bundles.len();
        Box::pin(async move { vec![("evidence-dir".into(), Ok(format!("{n} bundles")))] })
    }
}
