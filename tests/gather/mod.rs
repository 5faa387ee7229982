//! Gathering evidence from a cluster: Kubernetes through a request-asserting
//! fake API server, Prometheus for real (promtool-built blocks) and through a
//! wire-level fake for its failure modes; Datadog, CloudWatch (and STS) and
//! Loki through wire-level fakes that assert each request.

mod cloudwatch;
mod datadog;
mod docs;
mod kube;
mod kube_fake;
pub mod logs;
mod loki;
mod prometheus_fake;
mod prometheus_real;
mod sources_cluster;
mod vendor_fake;
