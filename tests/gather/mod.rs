//! Gathering evidence from a cluster: Kubernetes through a request-asserting
//! fake API server, Prometheus for real (promtool-built blocks) and through a
//! wire-level fake for its failure modes.

mod docs;
mod kube;
mod kube_fake;
pub mod logs;
mod prometheus_fake;
mod prometheus_real;
