//! End to end over loopback, as Argo Rollouts' web metric provider calls it
//! (metricproviders/webmetric/webmetric.go at argo-rollouts master): POST with
//! the template's `jsonBody` and headers, a client timeout of `timeoutSeconds`,
//! non-2xx → measurement Error, else `jsonPath` applied and the conditions
//! evaluated as utils/evaluate/evaluate.go does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{FakeSource, TOKEN, scenario, state_with};

/// The metric of plugin/analysis-template.yaml, as Argo reads it.
struct WebMetric {
    url: String,
    headers: Vec<(String, String)>,
    json_body: Value,
    timeout: Duration,
    json_path: &'static str,
    success: &'static str,
    failure: &'static str,
}

#[derive(Debug, PartialEq)]
enum Phase {
    Successful,
    Failed,
    Inconclusive,
    Error(String),
}

/// `{$}` selects the whole document; `{$.a.b}` a field.
fn json_path(path: &str, doc: &Value) -> Option<Value> {
    let inner = path.strip_prefix('{')?.strip_suffix('}')?;
    let mut cur = doc;
    for part in inner
        .strip_prefix('$')?
        .split('.')
        .filter(|p| !p.is_empty())
    {
        cur = cur.get(part)?;
    }
    Some(cur.clone())
}

/// The conditions our template uses: `result.<field> == "<text>"`.
fn condition(cond: &str, result: &Value) -> Result<bool, String> {
    let (lhs, rhs) = cond.split_once("==").ok_or("unsupported condition")?;
    let field = lhs
        .trim()
        .strip_prefix("result.")
        .ok_or("unsupported lhs")?;
    let want = rhs.trim().trim_matches('"');
    Ok(result.get(field).and_then(Value::as_str) == Some(want))
}

fn evaluate(m: &WebMetric, result: &Value) -> Phase {
    let (s, f) = match (condition(m.success, result), condition(m.failure, result)) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(e), _) | (_, Err(e)) => return Phase::Error(e),
    };
    if f {
        Phase::Failed
    } else if !s {
        Phase::Inconclusive
    } else {
        Phase::Successful
    }
}

async fn measure(m: &WebMetric) -> Phase {
    rollwise::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(m.timeout)
        .build()
        .unwrap();
    let mut req = client
        .post(&m.url)
        .header("Content-Type", "application/json")
        .body(m.json_body.to_string());
    for (k, v) in &m.headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Phase::Error(e.to_string()),
    };
    if !resp.status().is_success() {
        return Phase::Error(format!(
            "received non 2xx response code: {}",
            resp.status().as_u16()
        ));
    }
    let doc: Value = match resp.json().await {
        Ok(d) => d,
        Err(e) => return Phase::Error(e.to_string()),
    };
    match json_path(m.json_path, &doc) {
        Some(v) => evaluate(m, &v),
        None => Phase::Error("Could not find JSONPath in body".into()),
    }
}

fn metric(base: &str, ev: &rollwise::evidence::Evidence) -> WebMetric {
    WebMetric {
        url: format!("{base}/v1/analyze"),
        headers: vec![("Authorization".into(), format!("Bearer {TOKEN}"))],
        json_body: json!({
            "namespace": ev.rollout.namespace,
            "rollout": ev.rollout.name,
            "canaryHash": ev.rollout.canary_hash,
            "stableHash": ev.rollout.stable_hash,
        }),
        timeout: Duration::from_secs(10),
        json_path: "{$}",
        success: r#"result.verdict == "promote""#,
        failure: r#"result.verdict == "abort""#,
    }
}

async fn serve(src: FakeSource, tweak: impl FnOnce(&mut rollwise::server::ServerConfig)) -> String {
    let st = state_with(Some(Arc::new(src)), tweak);
    let app = rollwise::server::router(Arc::clone(&st));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rollwise::server::serve(
        listener,
        app,
        st,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

#[tokio::test]
async fn argo_web_provider_gets_successful_failed_and_inconclusive() {
    let names = [
        ("p12-rollouts-demo-blue-to-yellow.json", Phase::Successful),
        ("p01-rollouts-demo-bad-red.json", Phase::Failed),
        ("p21-ratings-no-traffic.json", Phase::Inconclusive),
    ];
    let files: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    let base = serve(FakeSource::with(&files), |_| {}).await;
    for (name, want) in names {
        let m = metric(&base, &scenario(name));
        assert_eq!(measure(&m).await, want, "{name}");
    }
    // Without the header from the Secret: an Error measurement, never Successful.
    let mut m = metric(&base, &scenario(files[0]));
    m.headers.clear();
    assert_eq!(
        measure(&m).await,
        Phase::Error("received non 2xx response code: 401".into())
    );
}

#[tokio::test]
async fn a_slow_analysis_is_an_error_measurement_then_the_retry_gets_the_verdict() {
    let name = "p01-rollouts-demo-bad-red.json";
    let mut fake = FakeSource::with(&[name]);
    fake.delay = Duration::from_millis(1500);
    let base = serve(fake, |c| c.deadline_secs = 0.5).await;
    let m = metric(&base, &scenario(name));
    // Argo counts this toward consecutiveErrorLimit and measures again after
    // its error retry interval; the analysis went on meanwhile.
    assert_eq!(
        measure(&m).await,
        Phase::Error("received non 2xx response code: 503".into())
    );
    let t = std::time::Instant::now();
    let phase = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p = measure(&m).await;
        if !matches!(p, Phase::Error(_)) || t.elapsed() > Duration::from_secs(30) {
            break p;
        }
    };
    assert_eq!(phase, Phase::Failed);
}
