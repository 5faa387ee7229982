//! Rewrites of an evidence bundle, each with what it promises about the verdict.
//!
//! Rewrites work on the bundle's JSON, as a producer would write it, and the
//! rewritten bundle goes through the real loader and the real judge (statistics,
//! pods, events and logs; no model): exactly what `rollwise analyze --llm off`
//! does with the file written for a violation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use rollwise::evidence::{BundleSource, Decision, parse_bytes};
use rollwise::judge::config::MetricKind;
use rollwise::judge::{Judge, JudgeConfig};
use rollwise::logs::LogConfig;
use rollwise::logs::record::records;
use rollwise::logs::timeline::parse_timestamp;
use serde_json::{Value, json};

/// The judge every relation is checked against: the one `rollwise analyze
/// --llm off` and `rollwise eval` use.
pub fn judge() -> Judge {
    Judge::new(JudgeConfig::default(), LogConfig::default())
}

/// What became of a bundle.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Judged {
        verdict: Decision,
        confidence: u8,
    },
    /// The loader refused it (CLI exit 2, HTTP 422): not promotable.
    Refused(String),
}

impl Outcome {
    /// How promotable: promote > inconclusive > abort; a refused bundle stops
    /// the rollout like an abort.
    pub fn rank(&self) -> u8 {
        match self {
            Outcome::Judged {
                verdict: Decision::Promote,
                ..
            } => 2,
            Outcome::Judged {
                verdict: Decision::Inconclusive,
                ..
            } => 1,
            Outcome::Judged {
                verdict: Decision::Abort,
                ..
            }
            | Outcome::Refused(_) => 0,
        }
    }

    pub fn is_promote(&self) -> bool {
        matches!(
            self,
            Outcome::Judged {
                verdict: Decision::Promote,
                ..
            }
        )
    }

    /// The same verdict (confidence aside), or refused both times.
    pub fn same_as(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Judged { verdict: a, .. }, Outcome::Judged { verdict: b, .. }) => a == b,
            (Outcome::Refused(_), Outcome::Refused(_)) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Judged {
                verdict,
                confidence,
            } => write!(f, "{verdict} ({confidence})"),
            Outcome::Refused(why) => write!(f, "refused ({why})"),
        }
    }
}

/// Load a bundle from its JSON and judge it.
pub fn outcome(judge: &Judge, name: &str, bundle: &Value) -> Outcome {
    let bytes = serde_json::to_vec(bundle).expect("a JSON value serializes");
    match parse_bytes(&bytes, &BundleSource::Named(name.to_owned())) {
        Ok(ev) => {
            let v = judge.judge(&ev);
            Outcome::Judged {
                verdict: v.verdict,
                confidence: v.confidence,
            }
        }
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

/// What a rewrite promises about the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// The same facts, written another way: the same verdict.
    Same,
    /// A worse canary: never more promotable than before, and never promote at
    /// all when a promise is named.
    NoMorePromotable(Option<&'static str>),
    /// Less evidence: never promote, by the named promise. An abort whose
    /// evidence was removed may become inconclusive (the judge cannot abort on
    /// what it was not shown, and missing data is inconclusive by design); that
    /// is reported as a note, not a violation.
    LessEvidence(&'static str),
    /// The loader must refuse the bundle, naming `better`.
    Refused,
}

/// One rewritten bundle.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The relation's name, and what it was applied to when it has variants:
    /// `drop-critical-series[error_rate]`.
    pub label: String,
    pub bundle: Value,
    pub promise: Promise,
}

/// A family of rewrites. `apply` returns no variant when it does not apply to
/// a bundle (no ratio metric to rewrite, a single pod to reorder...); `seed`
/// picks among equivalent choices (which runtime's crash to add).
pub struct Relation {
    pub name: &'static str,
    pub apply: fn(&Value, usize) -> Vec<Variant>,
}

/// Rewrites of the same facts.
pub const SAME_FACTS: &[Relation] = &[
    Relation {
        name: "error-as-success",
        apply: error_as_success,
    },
    Relation {
        name: "time-unit",
        apply: time_unit,
    },
    Relation {
        name: "ratio-as-percent",
        apply: ratio_as_percent,
    },
    Relation {
        name: "metric-order",
        apply: metric_order,
    },
    Relation {
        name: "pod-order",
        apply: pod_order,
    },
    Relation {
        name: "pod-names",
        apply: pod_names,
    },
    Relation {
        name: "log-record-order",
        apply: log_record_order,
    },
];

/// Rewrites that remove evidence or make the canary worse.
pub const LESS_OR_WORSE: &[Relation] = &[
    Relation {
        name: "drop-canary-pods",
        apply: drop_canary_pods,
    },
    Relation {
        name: "drop-critical-series",
        apply: drop_critical_series,
    },
    Relation {
        name: "worsen-critical",
        apply: worsen_critical,
    },
    Relation {
        name: "canary-crash",
        apply: canary_crash,
    },
    Relation {
        name: "remove-better",
        apply: remove_better,
    },
];

pub fn all() -> impl Iterator<Item = &'static Relation> {
    SAME_FACTS.iter().chain(LESS_OR_WORSE)
}

/// The violation, in words, when `got` breaks the promise made about `base`.
pub fn broken(base: &Outcome, got: &Outcome, promise: Promise) -> Option<String> {
    match promise {
        Promise::Same if !got.same_as(base) => Some(format!(
            "the same facts re-expressed changed the verdict: {base} -> {got}"
        )),
        Promise::Same => None,
        Promise::Refused => match got {
            Outcome::Refused(why) if why.contains("better") => None,
            Outcome::Refused(why) => {
                Some(format!("refused, but not for the missing `better`: {why}"))
            }
            Outcome::Judged { .. } => Some(format!(
                "the loader accepted a metric without `better`: {base} -> {got}"
            )),
        },
        Promise::LessEvidence(why) | Promise::NoMorePromotable(Some(why)) if got.is_promote() => {
            Some(format!("promoted, against \"{why}\": {base} -> {got}"))
        }
        Promise::NoMorePromotable(_) if got.rank() > base.rank() => Some(format!(
            "a worse canary became more promotable: {base} -> {got}"
        )),
        Promise::NoMorePromotable(_) | Promise::LessEvidence(_) => None,
    }
}

/// Not a violation, but worth saying: less evidence turned an abort into
/// inconclusive (the removed evidence was what the abort rested on).
pub fn softened(base: &Outcome, got: &Outcome, promise: Promise) -> Option<String> {
    (matches!(promise, Promise::LessEvidence(_)) && got.rank() > base.rank() && !got.is_promote())
        .then(|| format!("{base} -> {got}"))
}

/// `target/metamorphic/`, next to the `rollwise` binary the replay command runs.
pub fn case_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_rollwise"));
    let target = bin
        .parent()
        .and_then(Path::parent)
        .expect("the rollwise binary lives in target/<profile>/");
    target.join("metamorphic")
}

/// Write a bundle for replay, named `<stem>.json` (stem sanitized for a file name).
pub fn write_case(stem: &str, bundle: &Value) -> PathBuf {
    let dir = case_dir();
    std::fs::create_dir_all(&dir).expect("create target/metamorphic");
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{safe}.json"));
    let text = serde_json::to_string_pretty(bundle).expect("a JSON value serializes");
    std::fs::write(&path, text + "\n").expect("write a metamorphic case");
    path
}

/// The command that judges a written bundle as the suite did.
pub fn replay(path: &Path) -> String {
    format!(
        "{} analyze --evidence {} --llm off",
        env!("CARGO_BIN_EXE_rollwise"),
        path.display()
    )
}

// ---- helpers over the bundle's JSON ----

fn metrics_mut(b: &mut Value) -> Option<&mut Vec<Value>> {
    b.get_mut("metrics")?.as_array_mut()
}

fn metrics(b: &Value) -> &[Value] {
    b.get("metrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn kind(m: &Value) -> MetricKind {
    MetricKind::of(str_at(m, "name").unwrap_or(""), str_at(m, "unit"))
}

fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn map_series(m: &mut Value, side: &str, f: impl Fn(f64) -> f64) {
    if let Some(xs) = m.get_mut(side).and_then(Value::as_array_mut) {
        for x in xs {
            if let Some(v) = x.as_f64() {
                *x = num(f(v));
            }
        }
    }
}

fn samples(m: &Value, side: &str) -> Vec<f64> {
    m.get(side)
        .and_then(Value::as_array)
        .map(|xs| xs.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(xs[n / 2]),
        _ => Some((xs[n / 2 - 1] + xs[n / 2]) / 2.0),
    }
}

fn names(b: &Value) -> BTreeSet<String> {
    metrics(b)
        .iter()
        .filter_map(|m| str_at(m, "name"))
        .map(str::to_owned)
        .collect()
}

/// The scale of a ratio unit: 1 for `ratio`, 100 for percentages.
fn ratio_scale(unit: Option<&str>) -> Option<f64> {
    match unit.map(str::to_ascii_lowercase).as_deref() {
        Some("ratio" | "fraction") => Some(1.0),
        Some("percent" | "%") => Some(100.0),
        _ => None,
    }
}

fn one(label: &str, bundle: Value, promise: Promise) -> Vec<Variant> {
    vec![Variant {
        label: label.to_owned(),
        bundle,
        promise,
    }]
}

// ---- the same facts ----

/// A name for the complementary ratio: `error_rate` <-> `success_rate`.
fn flip_name(name: &str, to_success: bool) -> String {
    let pairs: &[(&str, &str)] = if to_success {
        &[
            ("errors", "successes"),
            ("error", "success"),
            ("failures", "successes"),
            ("failure", "success"),
            ("failed", "succeeded"),
            ("fail", "success"),
        ]
    } else {
        &[
            ("successes", "errors"),
            ("success", "error"),
            ("availability", "unavailability"),
        ]
    };
    for (from, to) in pairs {
        if name.contains(from) {
            return name.replacen(from, to, 1);
        }
    }
    if to_success {
        format!("success_ratio_{name}")
    } else {
        format!("error_ratio_{name}")
    }
}

/// Every error ratio written as its success ratio (`1 - x`, `better` flipped,
/// the name saying so), and every success ratio as its error ratio.
fn error_as_success(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    let taken = names(b);
    let mut changed = false;
    for m in metrics_mut(&mut out).into_iter().flatten() {
        let Some(scale) = ratio_scale(str_at(m, "unit")) else {
            continue;
        };
        if kind(m) != MetricKind::ErrorRatio {
            continue;
        }
        let (to_success, better) = match str_at(m, "better") {
            Some("lower") => (true, "higher"),
            Some("higher") => (false, "lower"),
            _ => continue,
        };
        let name = flip_name(str_at(m, "name").unwrap_or(""), to_success);
        if taken.contains(&name) {
            continue;
        }
        assert_eq!(
            MetricKind::of(&name, str_at(m, "unit")),
            MetricKind::ErrorRatio,
            "the flipped name {name} must still read as a request ratio"
        );
        m["name"] = json!(name);
        m["better"] = json!(better);
        map_series(m, "canary", |x| scale - x);
        map_series(m, "stable", |x| scale - x);
        changed = true;
    }
    if changed {
        one("error-as-success", out, Promise::Same)
    } else {
        Vec::new()
    }
}

/// Durations in milliseconds written in seconds and the other way round
/// (values, unit and a unit suffix of the name).
fn time_unit(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    let taken = names(b);
    let mut changed = false;
    for m in metrics_mut(&mut out).into_iter().flatten() {
        let unit = str_at(m, "unit").map(str::to_ascii_lowercase);
        let (factor, new_unit) = match unit.as_deref() {
            Some("ms" | "milliseconds") => (0.001, "s"),
            Some("s" | "second" | "seconds") => (1000.0, "ms"),
            _ => continue,
        };
        let name = str_at(m, "name").unwrap_or("").to_owned();
        let renamed = if let Some(stem) = name.strip_suffix("_ms") {
            format!("{stem}_seconds")
        } else if let Some(stem) = name
            .strip_suffix("_seconds")
            .or_else(|| name.strip_suffix("_s"))
        {
            format!("{stem}_ms")
        } else {
            name.clone()
        };
        if renamed != name && !taken.contains(&renamed) {
            m["name"] = json!(renamed);
        }
        m["unit"] = json!(new_unit);
        if factor < 1.0 {
            map_series(m, "canary", |x| x / 1000.0);
            map_series(m, "stable", |x| x / 1000.0);
        } else {
            map_series(m, "canary", |x| x * factor);
            map_series(m, "stable", |x| x * factor);
        }
        changed = true;
    }
    if changed {
        one("time-unit", out, Promise::Same)
    } else {
        Vec::new()
    }
}

/// Every `ratio` metric written in `percent` (0..100), as FORMAT.md allows.
fn ratio_as_percent(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    let mut changed = false;
    for m in metrics_mut(&mut out).into_iter().flatten() {
        if ratio_scale(str_at(m, "unit")) != Some(1.0) {
            continue;
        }
        m["unit"] = json!("percent");
        map_series(m, "canary", |x| x * 100.0);
        map_series(m, "stable", |x| x * 100.0);
        changed = true;
    }
    if changed {
        one("ratio-as-percent", out, Promise::Same)
    } else {
        Vec::new()
    }
}

fn metric_order(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    match metrics_mut(&mut out) {
        Some(ms) if ms.len() >= 2 => ms.reverse(),
        _ => return Vec::new(),
    }
    one("metric-order", out, Promise::Same)
}

/// Pods listed in reverse order, on both sides, in `pods` and in `logs` (a pod's
/// own log entries, e.g. a previous container instance, keep their order).
fn pod_order(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    for side in ["canary", "stable"] {
        if let Some(pods) = out
            .get_mut("pods")
            .and_then(|p| p.get_mut(side))
            .and_then(Value::as_array_mut)
        {
            pods.reverse();
        }
        if let Some(logs) = out
            .get_mut("logs")
            .and_then(|l| l.get_mut(side))
            .and_then(Value::as_array_mut)
        {
            let mut pods: Vec<String> = Vec::new();
            for entry in logs.iter() {
                let pod = str_at(entry, "pod").unwrap_or("").to_owned();
                if !pods.contains(&pod) {
                    pods.push(pod);
                }
            }
            let mut regrouped = Vec::with_capacity(logs.len());
            for pod in pods.iter().rev() {
                regrouped.extend(
                    logs.iter()
                        .filter(|e| str_at(e, "pod").unwrap_or("") == pod)
                        .cloned(),
                );
            }
            *logs = regrouped;
        }
    }
    one("pod-order", out, Promise::Same)
}

/// Rotates letters and digits: a bijection that keeps a name's shape.
fn rotate(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 7) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 7) % 26),
            '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 3) % 10),
            other => other,
        })
        .collect()
}

/// A new name for a pod: the part after the pod-template hash (the random
/// suffix Kubernetes gives) is replaced, the rollout name and hash kept.
fn renamed_pod(name: &str, hashes: &[&str]) -> String {
    let parts: Vec<&str> = name.split('-').collect();
    let keep = match parts.iter().rposition(|p| hashes.contains(p)) {
        Some(i) if i + 1 < parts.len() => i + 1,
        Some(_) => return format!("{name}-{}", rotate("x0")),
        None => parts.len() - 1,
    };
    let suffix = rotate(&parts[keep..].join("-"));
    let head = parts[..keep].join("-");
    if head.is_empty() {
        suffix
    } else {
        format!("{head}-{suffix}")
    }
}

/// Every pod renamed, consistently: `pods`, `logs[*].pod`, event objects, and
/// wherever a pod's name appears in log lines, event messages and gaps.
fn pod_names(b: &Value, _: usize) -> Vec<Variant> {
    let rollout = b.get("rollout");
    let hashes: Vec<&str> = ["canaryHash", "stableHash"]
        .iter()
        .filter_map(|k| rollout.and_then(|r| str_at(r, k)))
        .filter(|h| !h.is_empty())
        .collect();
    let mut found: BTreeSet<String> = BTreeSet::new();
    for side in ["canary", "stable"] {
        for p in b
            .get("pods")
            .and_then(|p| p.get(side))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.extend(str_at(p, "name").map(str::to_owned));
        }
        for l in b
            .get("logs")
            .and_then(|p| p.get(side))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.extend(str_at(l, "pod").map(str::to_owned));
        }
    }
    for e in b
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(pod) = str_at(e, "object").and_then(|o| o.strip_prefix("Pod/")) {
            found.insert(pod.to_owned());
        }
    }
    found.retain(|n| !n.is_empty());
    if found.is_empty() {
        return Vec::new();
    }
    let map: BTreeMap<String, String> = found
        .iter()
        .map(|n| (n.clone(), renamed_pod(n, &hashes)))
        .collect();
    let mut alternatives: Vec<&String> = map.keys().collect();
    alternatives.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let pattern = alternatives
        .iter()
        .map(|n| regex::escape(n))
        .collect::<Vec<_>>()
        .join("|");
    let re = Regex::new(&format!(r"\b(?:{pattern})\b")).expect("pod name pattern");
    let rename = |s: &mut Value| {
        if let Some(text) = s.as_str()
            && let std::borrow::Cow::Owned(new) =
                re.replace_all(text, |c: &regex::Captures<'_>| map[&c[0]].clone())
        {
            *s = Value::String(new);
        }
    };
    let mut out = b.clone();
    for side in ["canary", "stable"] {
        for p in out
            .get_mut("pods")
            .and_then(|p| p.get_mut(side))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(n) = p.get_mut("name") {
                rename(n);
            }
        }
        for l in out
            .get_mut("logs")
            .and_then(|p| p.get_mut(side))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(n) = l.get_mut("pod") {
                rename(n);
            }
            for line in l
                .get_mut("lines")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                rename(line);
            }
        }
    }
    for e in out
        .get_mut("events")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        for key in ["object", "message"] {
            if let Some(v) = e.get_mut(key) {
                rename(v);
            }
        }
    }
    for g in out
        .get_mut("gaps")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        rename(g);
    }
    one("pod-names", out, Promise::Same)
}

/// A pod's log records with the same timestamp, in reverse order: the log
/// still agrees with its timestamps, and each record keeps its lines. `None`
/// when nothing moved or the records would no longer split the same way.
pub fn reorder_ties(lines: &[String]) -> Option<Vec<String>> {
    let recs = records(lines);
    if recs.len() < 2 {
        return None;
    }
    let starts: Vec<usize> = recs.iter().map(|r| r.line).collect();
    let times: Vec<Option<f64>> = starts.iter().map(|&i| parse_timestamp(&lines[i])).collect();
    let mut order: Vec<usize> = (0..starts.len()).collect();
    let mut changed = false;
    let mut i = 0;
    while i < order.len() {
        let Some(t) = times[i] else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < times.len() && times[j] == Some(t) {
            j += 1;
        }
        if j - i >= 2 {
            order[i..j].reverse();
            changed = true;
        }
        i = j;
    }
    if !changed {
        return None;
    }
    let chunk = |k: usize| starts[k]..starts.get(k + 1).copied().unwrap_or(lines.len());
    let mut out: Vec<String> = lines[..starts[0]].to_vec();
    for &k in &order {
        out.extend_from_slice(&lines[chunk(k)]);
    }
    let shape = |ls: &[String]| {
        let mut v: Vec<(String, usize)> = records(ls)
            .iter()
            .map(|r| (r.message.to_string(), r.span))
            .collect();
        v.sort();
        v
    };
    (out != lines && shape(&out) == shape(lines)).then_some(out)
}

fn log_record_order(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    let mut changed = false;
    for side in ["canary", "stable"] {
        for l in out
            .get_mut("logs")
            .and_then(|p| p.get_mut(side))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(lines) = l.get("lines").and_then(Value::as_array) else {
                continue;
            };
            let lines: Vec<String> = lines
                .iter()
                .map(|x| x.as_str().unwrap_or("").to_owned())
                .collect();
            if let Some(new) = reorder_ties(&lines) {
                l["lines"] = json!(new);
                changed = true;
            }
        }
    }
    if changed {
        one("log-record-order", out, Promise::Same)
    } else {
        Vec::new()
    }
}

// ---- less evidence, a worse canary ----

fn drop_canary_pods(b: &Value, _: usize) -> Vec<Variant> {
    let mut out = b.clone();
    match out
        .get_mut("pods")
        .and_then(|p| p.get_mut("canary"))
        .and_then(Value::as_array_mut)
    {
        Some(pods) if !pods.is_empty() => pods.clear(),
        _ => return Vec::new(),
    }
    one(
        "drop-canary-pods",
        out,
        Promise::LessEvidence("no promote without canary pod status"),
    )
}

fn critical_indexes(b: &Value) -> Vec<usize> {
    metrics(b)
        .iter()
        .enumerate()
        .filter(|(_, m)| m.get("critical").and_then(Value::as_bool) == Some(true))
        .filter(|(_, m)| !samples(m, "canary").is_empty())
        .map(|(i, _)| i)
        .collect()
}

/// For each critical metric, its canary series emptied.
fn drop_critical_series(b: &Value, _: usize) -> Vec<Variant> {
    critical_indexes(b)
        .into_iter()
        .map(|i| {
            let mut out = b.clone();
            let m = &mut out["metrics"][i];
            let name = str_at(m, "name").unwrap_or("").to_owned();
            m["canary"] = json!([]);
            Variant {
                label: format!("drop-critical-series[{name}]"),
                bundle: out,
                promise: Promise::LessEvidence("no promote without data on a critical metric"),
            }
        })
        .collect()
}

/// For each critical metric, every canary sample made worse: a request ratio's
/// badness doubled plus 5 points (so above the 5% ceiling), anything else
/// doubled plus the stable median when lower is better, halved when higher is.
fn worsen_critical(b: &Value, _: usize) -> Vec<Variant> {
    let mut variants = Vec::new();
    for i in critical_indexes(b) {
        let mut out = b.clone();
        let m = &mut out["metrics"][i];
        let name = str_at(m, "name").unwrap_or("").to_owned();
        let lower = match str_at(m, "better") {
            Some("lower") => true,
            Some("higher") => false,
            _ => continue,
        };
        let scale = ratio_scale(str_at(m, "unit"));
        let promise = match (kind(m), scale) {
            (MetricKind::ErrorRatio, Some(s)) => {
                map_series(m, "canary", |x| {
                    let bad = if lower { x } else { s - x };
                    let worse = (2.0 * bad + 0.05 * s).min(s);
                    if lower { worse } else { s - worse }
                });
                Promise::NoMorePromotable(Some(
                    "a request ratio failing above the 5% ceiling is never promoted",
                ))
            }
            _ => {
                let base = median(samples(m, "stable").iter().map(|x| x.abs()).collect())
                    .filter(|x| *x > 0.0)
                    .unwrap_or(1.0);
                map_series(m, "canary", |x| {
                    let worse = if lower { 2.0 * x + base } else { x / 2.0 };
                    match scale {
                        Some(s) => worse.min(s),
                        None => worse,
                    }
                });
                Promise::NoMorePromotable(None)
            }
        };
        variants.push(Variant {
            label: format!("worsen-critical[{name}]"),
            bundle: out,
            promise,
        });
    }
    variants
}

/// Crash reports of several runtimes, as their runtimes print them.
pub const CRASHES: &[(&str, &[&str])] = &[
    (
        "java",
        &[
            "Exception in thread \"worker-3\" java.lang.IllegalStateException: ledger invariant broken for account 4411",
            "\tat com.example.ledger.Ledger.apply(Ledger.java:88)",
            "\tat com.example.ledger.Worker.run(Worker.java:41)",
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
        ],
    ),
    (
        "go",
        &[
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b2f1a]",
            "",
            "goroutine 42 [running]:",
            "main.(*Handler).serve(0x0, 0xc000123450)",
            "\t/app/handler.go:57 +0x3a",
            "created by main.main in goroutine 1",
            "\t/app/main.go:22 +0x1c5",
        ],
    ),
    (
        "python",
        &[
            "Traceback (most recent call last):",
            "  File \"/app/service/handlers.py\", line 88, in handle",
            "    total = order.lines[0].amount",
            "IndexError: list index out of range",
        ],
    ),
    (
        "node",
        &[
            "/app/dist/server.js:214",
            "    const total = cart.items.reduce((a, i) => a + i.price, 0);",
            "                             ^",
            "",
            "TypeError: Cannot read properties of undefined (reading 'reduce')",
            "    at computeTotal (/app/dist/server.js:214:30)",
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
        ],
    ),
    (
        "rust",
        &[
            "thread 'tokio-runtime-worker' panicked at src/ledger.rs:88:14:",
            "called `Option::unwrap()` on a `None` value",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        ],
    ),
    (
        "dotnet",
        &[
            "Unhandled exception. System.NullReferenceException: Object reference not set to an instance of an object.",
            "   at Ledger.Api.Handlers.PostingHandler.Handle(PostingRequest request) in /src/Ledger.Api/Handlers/PostingHandler.cs:line 88",
            "   at Ledger.Api.Program.<Main>$(String[] args) in /src/Ledger.Api/Program.cs:line 41",
        ],
    ),
    (
        "ruby",
        &[
            "F, [2026-12-01T09:05:00.123456 #1] FATAL -- : [a1b2c3] NoMethodError (undefined method `amount' for nil):",
            "app/services/ledger_poster.rb:88:in `post'",
            "app/controllers/postings_controller.rb:12:in `create'",
        ],
    ),
    (
        "php",
        &[
            "PHP Fatal error:  Uncaught TypeError: Ledger::apply(): Argument #1 ($entry) must be of type Entry, null given in /var/www/src/Ledger.php:88",
            "Stack trace:",
            "#0 /var/www/src/Worker.php(41): Ledger->apply(NULL)",
        ],
    ),
    (
        "elixir",
        &[
            "10:05:00.123 [error] GenServer Ledger.Poster terminating",
            "** (ArithmeticError) bad argument in arithmetic expression",
            "    (ledger 1.4.0) lib/ledger/poster.ex:88: Ledger.Poster.handle_call/3",
        ],
    ),
    (
        "native",
        &[
            "terminate called after throwing an instance of 'std::out_of_range'",
            "  what():  vector::_M_range_check: __n (which is 3) >= this->size() (which is 3)",
        ],
    ),
];

/// One crash report (the runtime chosen by `seed`) appended to a canary pod's
/// log: to the first canary log, else as the log of the first canary pod (or of
/// a pod of the canary's hash when none is listed).
fn canary_crash(b: &Value, seed: usize) -> Vec<Variant> {
    let (runtime, crash) = CRASHES[seed % CRASHES.len()];
    let crash: Vec<Value> = crash.iter().map(|l| json!(l)).collect();
    let mut out = b.clone();
    let first_pod = b
        .get("pods")
        .and_then(|p| p.get("canary"))
        .and_then(Value::as_array)
        .and_then(|ps| ps.first())
        .and_then(|p| str_at(p, "name"))
        .map(str::to_owned);
    let rollout = b.get("rollout");
    let pod = first_pod.unwrap_or_else(|| {
        format!(
            "{}-{}-crash1",
            rollout.and_then(|r| str_at(r, "name")).unwrap_or("app"),
            rollout
                .and_then(|r| str_at(r, "canaryHash"))
                .unwrap_or("canary")
        )
    });
    let Some(root) = out.as_object_mut() else {
        return Vec::new();
    };
    let logs = root.entry("logs").or_insert_with(|| json!({}));
    if !logs.is_object() {
        *logs = json!({});
    }
    let canary = logs
        .as_object_mut()
        .map(|l| l.entry("canary").or_insert_with(|| json!([])));
    let Some(canary) = canary else {
        return Vec::new();
    };
    if !canary.is_array() {
        *canary = json!([]);
    }
    let Some(entries) = canary.as_array_mut() else {
        return Vec::new();
    };
    if entries.is_empty() {
        entries.push(json!({"pod": pod, "lines": crash}));
    } else if let Some(lines) = entries[0].get_mut("lines").and_then(Value::as_array_mut) {
        lines.extend(crash);
    } else {
        entries[0]["lines"] = Value::Array(crash);
    }
    one(
        &format!("canary-crash[{runtime}]"),
        out,
        Promise::NoMorePromotable(Some(
            "a new crash on the canary is critical at any count and log level",
        )),
    )
}

/// For each metric, its `better` removed.
fn remove_better(b: &Value, _: usize) -> Vec<Variant> {
    metrics(b)
        .iter()
        .enumerate()
        .filter(|(_, m)| m.get("better").is_some())
        .map(|(i, m)| {
            let mut out = b.clone();
            if let Some(obj) = out["metrics"][i].as_object_mut() {
                obj.remove("better");
            }
            Variant {
                label: format!("remove-better[{}]", str_at(m, "name").unwrap_or("")),
                bundle: out,
                promise: Promise::Refused,
            }
        })
        .collect()
}
