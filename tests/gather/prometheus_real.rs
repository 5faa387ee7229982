//! The PromQL path against a real Prometheus (Debian's `prometheus`, from
//! scripts/setup.sh): canary and stable series are written as OpenMetrics,
//! turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics`,
//! and served by `prometheus` on a free loopback port. A missing Prometheus
//! fails the tests (never a skip).

// The tests report what they measured (or, when a component is missing, which install step to run).
#![allow(clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::evidence::Sides;
use rollwise::evidence::{Better, Decision};
use rollwise::gather::kube::SeriesMatch;
use rollwise::gather::kube::{KubeGatherConfig, KubeGatherer};
use rollwise::gather::prometheus::{
    MetricsRequest, PrometheusClient, PrometheusConfig, PrometheusGatherer, SideQuery,
    default_metrics,
};
use rollwise::gather::{CallMetrics, ClusterSource, GatherRequest, PodSelector};
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::logs::LogConfig;
use rollwise_tools::call::CallPolicy;
use rollwise_tools::kube::ClusterReader;

use super::kube_fake::{self, CANARY_HASH, NS, STABLE_HASH};

/// Samples every 15 s (a common scrape interval) over 10 minutes.
const SCRAPE: i64 = 15;
const SPAN: i64 = 600;

/// A running Prometheus over promtool-built blocks; killed on drop.
pub struct PromServer {
    child: Child,
    pub url: String,
    /// The last sample's time: queries must end here.
    pub data_end: jiff::Timestamp,
    _dir: tempfile::TempDir,
}

impl Drop for PromServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The series of one side: `ok` and `err` requests and a latency histogram
/// (cumulative bucket increments per scrape) for each 15 s step.
struct SideSeries {
    hash: &'static str,
    ok: u64,
    err: u64,
    /// Cumulative counts per `le` (0.05, 0.1, 0.25, 0.5, 1, +Inf) per scrape.
    buckets: [u64; 6],
}

const LE: [&str; 6] = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];

fn openmetrics(sides: &[SideSeries], start: i64) -> String {
    let steps = SPAN / SCRAPE;
    let mut out = String::new();
    out.push_str("# HELP http_requests Requests served.\n# TYPE http_requests counter\n");
    for s in sides {
        for (code, per) in [("200", s.ok), ("500", s.err)] {
            for i in 0..=steps {
                let t = start + i * SCRAPE;
                let v = per * i as u64;
                writeln!(
                    out,
                    "http_requests_total{{namespace=\"{NS}\",rollouts_pod_template_hash=\"{}\",code=\"{code}\"}} {v} {t}",
                    s.hash
                )
                .unwrap();
            }
        }
    }
    out.push_str("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n");
    for s in sides {
        for i in 0..=steps {
            let t = start + i * SCRAPE;
            let n = i as u64;
            let labels = format!(
                "namespace=\"{NS}\",rollouts_pod_template_hash=\"{}\"",
                s.hash
            );
            for (le, b) in LE.iter().zip(s.buckets) {
                writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {} {t}",
                    b * n
                )
                .unwrap();
            }
            writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {} {t}",
                s.buckets[5] * n
            )
            .unwrap();
            writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {} {t}",
                s.buckets[5] * n / 10
            )
            .unwrap();
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Start Prometheus over the canary-90%-success / stable-99.9% data set, or
/// fail naming the install step when it is not installed.
pub fn start() -> Option<PromServer> {
    if !(have("promtool") && have("prometheus")) {
        crate::cli::missing("promtool/prometheus (Debian package prometheus)");
    }
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes of data ending five minutes ago, on a 15 s grid.
    let now = jiff::Timestamp::now().as_second();
    let end = (now - 300) / SCRAPE * SCRAPE;
    let start = end - SPAN;
    let sides = [
        // Canary: 10% of requests fail, and it is slower.
        SideSeries {
            hash: CANARY_HASH,
            ok: 90,
            err: 10,
            buckets: [10, 40, 80, 95, 100, 100],
        },
        // Stable: 0.1% fail.
        SideSeries {
            hash: STABLE_HASH,
            ok: 999,
            err: 1,
            buckets: [600, 900, 990, 1000, 1000, 1000],
        },
    ];
    let om = dir.path().join("series.om");
    std::fs::write(&om, openmetrics(&sides, start)).unwrap();
    let data = dir.path().join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = PromServer {
        child,
        url: format!("http://127.0.0.1:{port}"),
        data_end: jiff::Timestamp::from_second(end).unwrap(),
        _dir: dir,
    };
    wait_ready(port, Path::new(""));
    Some(server)
}

fn wait_ready(port: u16, _: &Path) {
    use std::io::{Read, Write};
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("Prometheus did not become ready within 60 s");
}

fn gatherer(url: &str, metrics: &CallMetrics) -> PrometheusGatherer {
    let cfg = PrometheusConfig {
        url: Some(url.to_owned()),
        ..Default::default()
    };
    let policy = CallPolicy {
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let client = PrometheusClient::new(url, policy, Arc::new(metrics.clone())).unwrap();
    PrometheusGatherer::new(client, cfg)
}

fn approx(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_series_become_metric_series() {
    let Some(prom) = tokio::task::spawn_blocking(start).await.unwrap() else {
        return;
    };
    let metrics = CallMetrics::default();
    let g = gatherer(&prom.url, &metrics);
    let end = prom.data_end;
    let start = end
        .checked_sub(jiff::SignedDuration::from_secs(SPAN))
        .unwrap();
    let side = |h: &str| SideQuery {
        series: SeriesMatch::Hash(h.to_owned()),
        pods: Vec::new(),
        hash: Some(h.to_owned()),
    };
    let req = MetricsRequest {
        namespace: NS,
        rollout: "canary-demo",
        sides: Sides {
            canary: side(CANARY_HASH),
            stable: side(STABLE_HASH),
        },
        start,
        end,
        metrics: default_metrics(),
        traffic_query: PrometheusConfig::default().traffic_query,
    };
    let t = Instant::now();
    let part = g.gather(&req).await;
    let took = t.elapsed();
    eprintln!("gathered 3 metrics x 2 sides + traffic from a real Prometheus in {took:?}");
    assert!(part.gaps.is_empty(), "{:#?}", part.gaps);
    let sr = &part.metrics[0];
    eprintln!(
        "success_rate: {} canary samples (first {:?}), {} stable (first {:?}); traffic {:?}",
        sr.canary.len(),
        sr.canary.first(),
        sr.stable.len(),
        sr.stable.first(),
        part.traffic
    );
    assert_eq!(
        (sr.name.as_str(), sr.better, sr.critical),
        ("success_rate", Better::Higher, true)
    );
    // 10-minute window, 30 s step: 21 steps, less the first (rate needs two samples).
    assert!(
        sr.canary.len() >= 18 && sr.canary.len() <= 21,
        "{:?}",
        sr.canary
    );
    assert!(
        sr.canary.iter().all(|v| approx(*v, 0.90, 1e-9)),
        "{:?}",
        sr.canary
    );
    assert!(
        sr.stable.iter().all(|v| approx(*v, 0.999, 1e-9)),
        "{:?}",
        sr.stable
    );
    let p95 = &part.metrics[1];
    assert_eq!(
        (p95.name.as_str(), p95.unit.as_deref()),
        ("latency_p95", Some("s"))
    );
    // histogram_quantile interpolates inside the bucket: 0.5 s vs 0.1833 s.
    assert!(
        p95.canary.iter().all(|v| approx(*v, 0.5, 1e-9)),
        "{:?}",
        p95.canary
    );
    assert!(
        p95.stable
            .iter()
            .all(|v| approx(*v, 0.1 + 0.15 * 50.0 / 90.0, 1e-9)),
        "{:?}",
        p95.stable
    );
    let traffic = part.traffic.unwrap();
    // increase() over the window extrapolates: ~100 requests per 15 s.
    let c = traffic.canary_requests.unwrap();
    let s = traffic.stable_requests.unwrap();
    assert!((3800..=4200).contains(&c), "{c}");
    assert!((38_000..=42_000).contains(&s), "{s}");
    assert_eq!(metrics.count("prometheus", "query_range", "ok"), 6);
    assert_eq!(metrics.count("prometheus", "query", "ok"), 2);

    // A hash with no series is a gap, not a zero.
    let mut req = req;
    req.sides.canary = side("0000000000");
    let part = g.gather(&req).await;
    assert!(
        part.gaps
            .iter()
            .any(|g| g == "metric success_rate (canary): the query returned no data"),
        "{:#?}",
        part.gaps
    );
    assert!(part.metrics[0].canary.is_empty());
    // A query Prometheus rejects is a gap naming its error.
    req.metrics[0].query = "sum(rate(http_requests_total[{{interval}}])".into();
    let part = g.gather(&req).await;
    assert!(
        part.gaps.iter().any(
            |g| g.contains("metric success_rate (stable) could not be read")
                && g.contains("bad_data")
        ),
        "{:#?}",
        part.gaps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_and_real_prometheus_give_an_abort() {
    let Some(prom) = tokio::task::spawn_blocking(start).await.unwrap() else {
        return;
    };
    // Kubernetes: the healthy canary of the kube tests (pods ready, no
    // restarts, clean logs); only the metrics tell the canary is bad.
    let w = kube_fake::fixture("canary-rollout-canary-demo.json");
    let canary_pod = {
        let mut p = kube_fake::fixture("canary-pod-canary-demo-65fb5ffc84-9wf5r.json");
        p["status"]["conditions"][1] = serde_json::json!({"type": "Ready", "status": "True"});
        p["status"]["containerStatuses"][0]["ready"] = true.into();
        p["status"]["containerStatuses"][0]["state"] =
            serde_json::json!({"running": {"startedAt": "2019-10-28T04:52:39Z"}});
        p
    };
    let stable_pod = kube_fake::fixture("canary-pod-canary-demo-877894d5b-6jfpt.json");
    // Logs are read from the window's start on.
    let start = prom.data_end - jiff::SignedDuration::from_secs(SPAN);
    let ex = super::kube::resolve_and_details(&w, &canary_pod, &stable_pod, start);
    let (client, api) = kube_fake::fake(ex);
    let metrics = CallMetrics::default();
    let reader = ClusterReader::new(client, CallPolicy::default(), Arc::new(metrics.clone()));
    let src = ClusterSource::new(
        KubeGatherer::new(reader, KubeGatherConfig::default()),
        Some(gatherer(&prom.url, &metrics)),
        Duration::from_secs(30),
    );
    let req = GatherRequest {
        namespace: NS.into(),
        rollout: "canary-demo".into(),
        read_rollout: true,
        canary: PodSelector::FromRollout,
        stable: PodSelector::FromRollout,
        window: Duration::from_secs(SPAN as u64),
        end: prom.data_end,
        queries: Default::default(),
    };
    let t = Instant::now();
    let ev = src.gather_evidence(&req).await.unwrap();
    eprintln!(
        "gathered a whole bundle (fake kube, real Prometheus) in {:?}",
        t.elapsed()
    );
    drop(src);
    let requests = api.verify().await;
    assert_eq!(requests.iter().filter(|r| r.contains("/log?")).count(), 2);
    assert!(ev.gaps.is_empty(), "{:#?}", ev.gaps);
    assert_eq!(ev.logs.canary[0].lines.len(), 40);
    assert_eq!(ev.metrics.len(), 3);
    assert_eq!(ev.window.as_ref().unwrap().end, prom.data_end.to_string());
    let v = Judge::new(JudgeConfig::default(), LogConfig::default()).judge(&ev);
    assert_eq!(v.verdict, Decision::Abort, "{v:#?}");
    assert!(
        v.reasons.iter().any(|r| r.detail.contains("success_rate")),
        "{:#?}",
        v.reasons
    );
}
