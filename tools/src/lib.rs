//! The tools rollwise uses to read a cluster and a repository.
//!
//! * [`kube`]: [`kube::ClusterReader`], read-only access to a cluster, and
//!   strict validation of names, hashes and selectors.
//! * [`call`]: timeout, bounded retries and a metric hook for every external call.
//! * [`crd`]: Argo Rollouts' Rollout and AnalysisRun, generated with kopium from
//!   the CRDs (`tools/crd/`); regenerate with `tools/crd/generate.sh`.
//! * [`tool`]: the typed `Tool` trait the remediation agent's loop calls.
//! * [`github`]: the repository tools (GitHub API or a local tree) and the
//!   policy that decides where a fix may be written.
//! * [`error`]: the crate's one error type.

pub mod call;
pub mod crd;
pub mod error;
pub mod github;
pub mod kube;
pub mod tool;

pub use error::{Error, Result};
