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

/// Go's `json.Marshal` of a decoded document, which Argo stores as the
/// measurement value: object keys sorted, `<`, `>` and `&` escaped.
fn go_marshal(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    // serde_json keeps insertion order here (preserve_order is on in the
    // workspace), so the keys are inserted sorted.
    serde_json::to_string(&sorted(v))
        .unwrap()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The measurement's phase and, when it has one, its stored value.
async fn measure(m: &WebMetric) -> Phase {
    measure_value(m).await.0
}

async fn measure_value(m: &WebMetric) -> (Phase, Option<String>) {
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
        Err(e) => return (Phase::Error(e.to_string()), None),
    };
    if !resp.status().is_success() {
        let e = format!("received non 2xx response code: {}", resp.status().as_u16());
        return (Phase::Error(e), None);
    }
    let doc: Value = match resp.json().await {
        Ok(d) => d,
        Err(e) => return (Phase::Error(e.to_string()), None),
    };
    match json_path(m.json_path, &doc) {
        Some(v) => (evaluate(m, &v), Some(go_marshal(&v))),
        None => (Phase::Error("Could not find JSONPath in body".into()), None),
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
        json_path: "{$.measurement}",
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
    for (name, want) in &names {
        let m = metric(&base, &scenario(name));
        assert_eq!(&measure(&m).await, want, "{name}");
    }
    // The template's older jsonPath selects the whole reply: the same phases.
    for (name, want) in &names {
        let mut m = metric(&base, &scenario(name));
        m.json_path = "{$}";
        assert_eq!(&measure(&m).await, want, "{name} with {{$}}");
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

/// What `kubectl get analysisrun -o yaml` and the dashboard show: the value
/// Argo stored is the verdict and one line of why, not the whole reply.
#[tokio::test]
async fn the_measurement_value_is_the_verdict_and_one_line_of_why() {
    let names = [
        ("p01-rollouts-demo-bad-red.json", "abort"),
        ("p12-rollouts-demo-blue-to-yellow.json", "promote"),
        ("p21-ratings-no-traffic.json", "inconclusive"),
    ];
    let files: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    let base = serve(FakeSource::with(&files), |_| {}).await;
    for (name, verdict) in names {
        let m = metric(&base, &scenario(name));
        let (_, value) = measure_value(&m).await;
        let value = value.unwrap();
        let prefix = format!(r#"{{"verdict":"{verdict}","why":""#);
        assert!(value.starts_with(&prefix), "{name}: {value}");
        let doc: Value = serde_json::from_str(&value).unwrap();
        let why = doc["why"].as_str().unwrap();
        assert!(!why.is_empty() && !why.contains('\n'), "{name}: {why}");
        assert!(
            why.chars().count() <= rollwise::server::api::WHY_CHARS,
            "{name}: {why}"
        );
        assert_eq!(doc.as_object().unwrap().len(), 2, "{name}: {value}");
    }
    // The failing canary's why names what failed, not Argo's counter.
    let (_, v) = measure_value(&metric(&base, &scenario(names[0].0))).await;
    let v = v.unwrap();
    assert!(!v.contains("failureLimit"), "{v}");
}
