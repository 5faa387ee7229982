//! What the process logs about its dependencies, captured from the
//! subscriber `rollwise` installs (`cli::log_subscriber`) at the default
//! level: one warning per state change, naming the dependency and its URL,
//! never a credential, no colour codes when stderr is not a terminal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollwise::gather::health::DependencyLog;
use rollwise::gather::prometheus::{PrometheusClient, PrometheusConfig};
use rollwise::gather::{CallMetrics, ClusterSource, GatherConfig};
use rollwise_tools::call::{CallObserver, CallPolicy};
use rollwise_tools::kube::ClusterReader;

use super::kube_fake::*;

/// Log lines written by the subscriber, kept for the test to read.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The process's own subscriber at `level`, writing here.
    pub fn subscriber(&self, level: &str, ansi: bool) -> impl tracing::Subscriber + Send + Sync {
        let filter = tracing_subscriber::EnvFilter::new(level);
        rollwise::cli::log_subscriber(filter, self.clone(), ansi)
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The level `rollwise` logs at unless told otherwise (`--log-level`).
const DEFAULT_LEVEL: &str = "warn";

fn fast() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 1,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..Default::default()
    }
}

#[test]
fn each_state_change_is_one_line_with_name_and_url_and_no_secret() {
    let cap = Captured::default();
    let log = DependencyLog::new(
        Arc::new(CallMetrics::default()),
        [(
            "prometheus",
            "https://rollwise:hunter2-secret@prom.example:9090/?token=abc123secret",
        )],
    );
    tracing::subscriber::with_default(cap.subscriber(DEFAULT_LEVEL, false), || {
        for outcome in [
            "ok",
            "transport",
            "transport",
            "transport",
            "forbidden",
            "forbidden",
            "ok",
            "ok",
            "not_found",
        ] {
            log.observe("prometheus", "query_range", outcome, Duration::ZERO);
        }
        log.observe("github", "get", "transport", Duration::ZERO);
    });
    let text = cap.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("prometheus at https://prom.example:9090/ is unreachable"),
        "{text}"
    );
    assert!(
        lines[1].contains("refuses our credentials (401/403)"),
        "{text}"
    );
    assert!(lines[2].contains("answers again"), "{text}");
    for l in &lines {
        assert!(l.contains("WARN"), "{l}");
    }
    assert!(
        !text.contains("hunter2") && !text.contains("abc123secret"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no ANSI escapes: {text:?}");

    // On a terminal the same subscriber colours its output.
    let tty = Captured::default();
    tracing::subscriber::with_default(tty.subscriber(DEFAULT_LEVEL, true), || {
        log.observe("prometheus", "query_range", "timeout", Duration::ZERO);
    });
    assert!(tty.text().contains('\u{1b}'), "{:?}", tty.text());
}

#[tokio::test]
async fn an_unreachable_prometheus_is_logged_once_with_its_url() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let metrics = CallMetrics::default();
    let log: Arc<dyn CallObserver> = Arc::new(DependencyLog::new(
        Arc::new(metrics.clone()),
        [("prometheus", url.as_str())],
    ));
    let client = PrometheusClient::new(&url, fast(), log).unwrap();
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(cap.subscriber(DEFAULT_LEVEL, false));
    for _ in 0..3 {
        assert!(
            client
                .query("vector(1)", jiff::Timestamp::now())
                .await
                .is_err()
        );
    }
    let text = cap.text();
    let hits = text
        .matches(&format!("prometheus at {url}/ is unreachable"))
        .count();
    assert_eq!(hits, 1, "{text}");
}

#[tokio::test]
async fn a_kube_401_is_logged_at_the_default_level() {
    let (client, fake) = fake(vec![Expect::get(
        &format!("/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/{ROLLOUT}"),
        &[],
        status(401, "Unauthorized", "Unauthorized"),
    )]);
    let log: Arc<dyn CallObserver> = Arc::new(DependencyLog::new(
        Arc::new(CallMetrics::default()),
        [("kubernetes", "https://10.0.0.1:443")],
    ));
    let reader = ClusterReader::new(client, fast(), log);
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(cap.subscriber(DEFAULT_LEVEL, false));
    assert!(reader.rollout(NS, ROLLOUT).await.is_err());
    let text = cap.text();
    assert!(
        text.contains("kubernetes at https://10.0.0.1/ refuses our credentials (401/403)"),
        "{text}"
    );
    drop(fake);
}

#[tokio::test]
async fn no_metric_source_is_a_warning_at_start() {
    let (client, _fake) = fake(vec![]);
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(cap.subscriber(DEFAULT_LEVEL, false));
    let cfg = GatherConfig::default();
    ClusterSource::from_config(client.clone(), &cfg, Arc::new(CallMetrics::default())).unwrap();
    assert!(
        cap.text()
            .contains("no metric source: [gather.prometheus] url is not set"),
        "{}",
        cap.text()
    );
    let quiet = Captured::default();
    let _guard = tracing::subscriber::set_default(quiet.subscriber(DEFAULT_LEVEL, false));
    let cfg = GatherConfig {
        prometheus: PrometheusConfig {
            url: Some("http://prometheus.monitoring:9090".into()),
            ..PrometheusConfig::default()
        },
        ..GatherConfig::default()
    };
    ClusterSource::from_config(client, &cfg, Arc::new(CallMetrics::default())).unwrap();
    assert_eq!(quiet.text(), "");
}
