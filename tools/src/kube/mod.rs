//! Reading a cluster, read-only by construction: [`ClusterReader`] holds the
//! `kube::Client` privately and exposes GETs and LISTs only. The gatherer
//! (agent crate) and the remediation agent's kube tools are built on it.

pub mod reader;
pub mod tools;
pub mod validate;

pub use reader::{ClusterReader, LIST_LIMIT, LogRequest, LogText, since_seconds};

#[cfg(test)]
mod tests;
