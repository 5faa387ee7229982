//! The `[remediate]` table of the configuration file: when the agent runs on
//! its own (after an abort), where it may write, and its bounds.
//!
//! ```toml
//! [remediate]
//! after_abort = true          # run automatically after an abort verdict
//! min_confidence = 80         # ... of at least this confidence
//! allowed_repos = ["acme/cart"]
//! max_steps = 12
//! max_tokens = 120000
//! wall_time_secs = 300
//! [remediate.repos]           # when neither the Rollout's annotation nor its
//! "shop/cart" = "acme/cart"   # image names the repository
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use rollwise_tools::github::RepoRef;
use serde::Deserialize;

use super::Bounds;
use crate::error::{Error, Result};
use crate::evidence::Decision;
use crate::verdict::Verdict;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemediationConfig {
    /// Run the agent automatically after an abort verdict (off by default:
    /// opening pull requests is something a team opts into).
    pub after_abort: bool,
    pub min_confidence: u8,
    /// `owner/name` of every repository the agent may write to.
    pub allowed_repos: Vec<String>,
    pub max_steps: u32,
    pub max_tokens: u64,
    pub wall_time_secs: u64,
    /// `namespace/rollout` → `owner/name`: the repository of a Rollout whose
    /// evidence does not name one.
    pub repos: BTreeMap<String, String>,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        let b = Bounds::default();
        RemediationConfig {
            after_abort: false,
            min_confidence: 80,
            allowed_repos: Vec::new(),
            max_steps: b.max_steps,
            max_tokens: b.max_tokens,
            wall_time_secs: b.wall_time.as_secs(),
            repos: BTreeMap::new(),
        }
    }
}

impl RemediationConfig {
    pub fn validate(&self) -> Result<()> {
        if self.min_confidence > 100 {
            return Err(Error::Config(
                "remediate.min_confidence is a percentage".into(),
            ));
        }
        if self.max_steps == 0 || self.max_tokens == 0 || self.wall_time_secs == 0 {
            return Err(Error::Config(
                "remediate.max_steps, max_tokens and wall_time_secs must be positive".into(),
            ));
        }
        for (k, v) in &self.repos {
            RepoRef::parse(v)
                .map_err(|e| Error::Config(format!("remediate.repos.\"{k}\": {e}")))?;
        }
        self.allowlist().map(|_| ())
    }

    /// The repository of `ev`'s Rollout: its annotation or image (see
    /// [`super::repo_for`]), else this table.
    pub fn repo_for(&self, ev: &crate::evidence::Evidence) -> Option<RepoRef> {
        super::repo_for(ev).or_else(|| {
            let key = format!("{}/{}", ev.rollout.namespace, ev.rollout.name);
            self.repos.get(&key).and_then(|r| RepoRef::parse(r).ok())
        })
    }

    pub fn allowlist(&self) -> Result<Vec<RepoRef>> {
        self.allowed_repos
            .iter()
            .map(|r| {
                RepoRef::parse(r)
                    .map_err(|e| Error::Config(format!("remediate.allowed_repos: {e}")))
            })
            .collect()
    }

    /// Whether an automatic run follows `verdict`.
    pub fn should_run(&self, verdict: &Verdict) -> bool {
        self.after_abort
            && verdict.verdict == Decision::Abort
            && verdict.confidence >= self.min_confidence
    }

    pub fn bounds(&self) -> Bounds {
        Bounds {
            max_steps: self.max_steps,
            max_tokens: self.max_tokens,
            wall_time: Duration::from_secs(self.wall_time_secs),
            ..Bounds::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        remediate: RemediationConfig,
    }

    #[test]
    fn reads_validates_and_triggers_only_on_confident_aborts() {
        let f: File = toml::from_str(
            "[remediate]\nafter_abort = true\nallowed_repos = [\"acme/cart\"]\nmax_steps = 5\n[remediate.repos]\n\"n/r\" = \"acme/r\"\n",
        )
        .unwrap();
        let c = f.remediate;
        c.validate().unwrap();
        assert_eq!(c.bounds().max_steps, 5);
        assert_eq!(
            c.allowlist().unwrap(),
            [RepoRef::new("acme", "cart").unwrap()]
        );
        let ev: crate::evidence::Evidence = serde_json::from_value(serde_json::json!({
            "version": 1, "name": "t", "rollout": {"namespace": "n", "name": "r"}
        }))
        .unwrap();
        assert_eq!(c.repo_for(&ev), Some(RepoRef::new("acme", "r").unwrap()));
        let mut v = crate::judge::Judge::default().judge(&ev);
        v.verdict = Decision::Abort;
        v.confidence = 90;
        assert!(c.should_run(&v));
        v.confidence = 50;
        assert!(!c.should_run(&v));
        v.confidence = 90;
        v.verdict = Decision::Inconclusive;
        assert!(!c.should_run(&v));
        assert!(
            !RemediationConfig::default().should_run(&v),
            "off by default"
        );
        let bad = RemediationConfig {
            allowed_repos: vec!["not a repo".into()],
            ..RemediationConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(toml::from_str::<File>("[remediate]\nafter_abrt = true\n").is_err());
    }
}
