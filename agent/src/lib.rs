//! rollwise judges Argo Rollouts canary steps.
//!
//! Data flows one way: gather → [`evidence::Evidence`] → [`judge`] (statistics,
//! pods and events, logs) → [`verdict::Verdict`] → output. Every stage runs from a
//! file, which is how `analyze`, `eval` and `demo` work.

pub mod cli;
pub mod duration;
pub mod error;
pub mod eval;
pub mod evidence;
pub mod fence;
pub mod gather;
pub mod judge;
pub mod llm;
pub mod logs;
pub mod notify;
pub mod page;
pub mod redact;
pub mod remediate;
pub mod runtime;
pub mod server;
pub mod store;
pub mod text;
pub mod tls;
pub mod verdict;

pub use error::{Error, Result};
