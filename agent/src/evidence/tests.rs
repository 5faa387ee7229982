//! Tests of the bundle loader (load.rs) and the bundle types' deserialization.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::error::Error;
use crate::evidence::{Better, Decision, Evidence};

const SOURCE: &str = "bundle-under-test.json";

fn source() -> BundleSource {
    BundleSource::Named(SOURCE.to_owned())
}

fn parse_value(v: &Value) -> crate::error::Result<Evidence> {
    parse_bytes(v.to_string().as_bytes(), &source())
}

fn minimal() -> Value {
    json!({"version": 1, "name": "m", "rollout": {"namespace": "shop", "name": "checkout"}})
}

/// A bundle with every part of FORMAT.md present.
fn full() -> Value {
    json!({
        "version": 1,
        "name": "full",
        "description": "for humans",
        "rollout": {
            "namespace": "shop", "name": "checkout",
            "canaryHash": "7c9d5f6b8", "stableHash": "5f4b7c9d1",
            "canaryImage": "ghcr.io/acme/checkout:1.8.0",
            "stableImage": "ghcr.io/acme/checkout:1.7.3",
            "canaryWeight": 20, "step": 2,
            "repo": "https://github.com/acme/checkout", "revision": "3f2a9c1"
        },
        "window": {"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T10:05:00Z"},
        "traffic": {"canaryRequests": 1200, "stableRequests": 4800},
        "metrics": [
            {"name": "error_rate", "unit": "ratio", "better": "lower", "critical": true,
             "canary": [0.14, 0.16], "stable": [0.001, 0.0]},
            {"name": "latency_p99_ms", "unit": "ms", "better": "lower", "canary": [180], "stable": [170, 185]}
        ],
        "pods": {
            "canary": [{"name": "checkout-7c9d5f6b8-abcde", "ready": true, "restarts": 0,
                        "lastTerminationReason": null}],
            "stable": [{"name": "checkout-5f4b7c9d1-xyz12", "ready": true, "restarts": 2,
                        "lastTerminationReason": "OOMKilled"}]
        },
        "events": [{"object": "Pod/checkout-7c9d5f6b8-abcde", "type": "Warning",
                    "reason": "BackOff", "message": "Back-off", "count": 4}],
        "logs": {
            "canary": [{"pod": "checkout-7c9d5f6b8-abcde", "lines": ["a", "b"]}],
            "stable": [{"pod": "checkout-5f4b7c9d1-xyz12", "lines": ["c"]}]
        },
        "expected": {"verdict": "abort", "category": "error-rate", "rootCause": ["NPE"]},
        "plantedSecrets": ["hunter2"]
    })
}

/// Sets `pointer` (JSON pointer, parent must exist) in a copy of `base`.
fn with(base: Value, pointer: &str, value: Value) -> Value {
    let mut v = base;
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => panic!("cannot set {pointer} under {other}"),
    }
    v
}

struct Invalid {
    line: usize,
    column: usize,
    field: String,
    message: String,
    display: String,
}

fn invalid(result: crate::error::Result<Evidence>) -> Invalid {
    let err = result.expect_err("bundle should be rejected");
    let display = err.to_string();
    match err {
        Error::InvalidEvidence {
            source_name,
            line,
            column,
            field,
            message,
        } => {
            assert_eq!(source_name, SOURCE);
            assert!(display.contains(SOURCE), "{display}");
            Invalid {
                line,
                column,
                field,
                message,
                display,
            }
        }
        other => panic!("expected InvalidEvidence, got {other:?}"),
    }
}

/// Errors with a position must report the position and the field in Display.
fn assert_located(e: &Invalid, field: &str, message_part: &str) {
    assert_eq!(e.field, field, "{}", e.display);
    assert!(e.message.contains(message_part), "{}", e.display);
    assert!(e.line > 0 && e.column > 0, "no position: {}", e.display);
    assert!(
        e.display
            .contains(&format!("at line {}, column {}", e.line, e.column)),
        "{}",
        e.display
    );
    if !field.is_empty() {
        assert!(
            e.display.contains(&format!("field `{field}`")),
            "{}",
            e.display
        );
    }
    // serde_json's own " at line L column C" suffix is stripped, not repeated.
    assert_eq!(e.display.matches(" at line ").count(), 1, "{}", e.display);
}

fn public_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../evals/scenarios/tune/public")
}

#[test]
fn every_public_scenario_parses() {
    let mut count = 0;
    for entry in std::fs::read_dir(public_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let ev = load_file(&path, DEFAULT_MAX_BYTES)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(ev.version, 1);
            assert!(
                ev.expected.is_some(),
                "{}: public scenarios are labelled",
                path.display()
            );
            count += 1;
        }
    }
    // FORMAT.md's public set has 24 scenarios; an empty glob must not pass.
    assert!(count >= 24, "only {count} scenarios found");
}

#[test]
fn minimal_bundle_parses_with_defaults() {
    let ev = parse_value(&minimal()).unwrap();
    assert_eq!(ev.name, "m");
    assert_eq!(ev.rollout.namespace, "shop");
    assert_eq!(ev.rollout.name, "checkout");
    assert_eq!(ev.rollout.canary_weight, None);
    assert!(ev.metrics.is_empty() && ev.events.is_empty());
    assert!(ev.pods.canary.is_empty() && ev.pods.stable.is_empty());
    assert!(ev.logs.canary.is_empty() && ev.logs.stable.is_empty());
    assert_eq!((ev.window, ev.traffic, ev.expected), (None, None, None));
}

#[test]
fn full_bundle_parses_every_field() {
    let ev = parse_value(&full()).unwrap();
    assert_eq!(ev.rollout.canary_weight, Some(20));
    assert_eq!(ev.rollout.step, Some(2));
    assert_eq!(ev.traffic.and_then(|t| t.stable_requests), Some(4800));
    assert_eq!(ev.metrics[1].better, Better::Lower,);
    assert!(ev.metrics[0].critical && !ev.metrics[1].critical);
    assert_eq!(ev.pods.stable[0].restarts, 2);
    assert_eq!(ev.events[0].count, 4);
    assert_eq!(ev.logs.canary[0].lines, ["a", "b"]);
    assert_eq!(
        ev.expected.as_ref().map(|e| e.verdict),
        Some(Decision::Abort)
    );
    assert_eq!(ev.planted_secrets, ["hunter2"]);
    // Serializing and reading back loses nothing.
    let again = parse_bytes(&serde_json::to_vec(&ev).unwrap(), &source()).unwrap();
    assert_eq!(again, ev);
}

#[test]
fn null_and_empty_optional_parts_parse() {
    let nulls = [
        "/description",
        "/window",
        "/traffic",
        "/metrics",
        "/pods",
        "/events",
        "/logs",
        "/expected",
        "/plantedSecrets",
        "/rollout/canaryHash",
        "/rollout/stableHash",
        "/rollout/canaryImage",
        "/rollout/stableImage",
        "/rollout/canaryWeight",
        "/rollout/step",
        "/rollout/repo",
        "/rollout/revision",
        "/traffic/canaryRequests",
        "/traffic/stableRequests",
        "/metrics/0/unit",
        "/metrics/0/canary",
        "/metrics/0/stable",
        "/pods/canary",
        "/pods/stable",
        "/logs/canary",
        "/logs/stable",
        "/logs/canary/0/lines",
        "/expected/category",
        "/expected/rootCause",
        "/pods/stable/0/lastTerminationReason",
    ];
    for pointer in nulls {
        let ev = parse_value(&with(full(), pointer, Value::Null));
        assert!(ev.is_ok(), "{pointer}: null rejected: {}", ev.unwrap_err());
    }
    let ev = parse_value(&with(full(), "/metrics/0/canary", Value::Null)).unwrap();
    assert!(ev.metrics[0].canary.is_empty());
    let ev = parse_value(&with(full(), "/pods", Value::Null)).unwrap();
    assert!(ev.pods.canary.is_empty() && ev.pods.stable.is_empty());

    let empties = [
        ("/metrics", json!([])),
        ("/events", json!([])),
        ("/pods", json!({})),
        ("/logs", json!({})),
        ("/traffic", json!({})),
        ("/pods/canary", json!([])),
        ("/metrics/0/canary", json!([])),
        ("/logs/canary/0/lines", json!([])),
        ("/plantedSecrets", json!([])),
        ("/expected/rootCause", json!([])),
    ];
    for (pointer, empty) in empties {
        let ev = parse_value(&with(full(), pointer, empty));
        assert!(ev.is_ok(), "{pointer}: empty rejected: {}", ev.unwrap_err());
    }
    // 0 is a legal weight (setCanaryScale without traffic) and 100 the top.
    for w in [0, 100] {
        let ev = parse_value(&with(full(), "/rollout/canaryWeight", json!(w))).unwrap();
        assert_eq!(ev.rollout.canary_weight, Some(w));
    }
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let objects = [
        "",
        "/rollout",
        "/window",
        "/traffic",
        "/metrics/0",
        "/pods",
        "/pods/canary/0",
        "/events/0",
        "/logs",
        "/logs/stable/0",
        "/expected",
    ];
    let mut all = full();
    for pointer in objects {
        let key = format!("{pointer}/x-rollwise-future");
        let one = with(full(), &key, json!({"nested": [1, "two", null]}));
        assert_eq!(
            parse_value(&one).unwrap(),
            parse_value(&full()).unwrap(),
            "{pointer}"
        );
        all = with(all, &key, json!(42));
    }
    assert_eq!(parse_value(&all).unwrap(), parse_value(&full()).unwrap());
}

#[test]
fn wrong_type_names_field_and_position() {
    let bad = with(full(), "/pods/canary/0/restarts", json!("three"));
    let e = invalid(parse_value(&bad));
    assert_located(
        &e,
        "pods.canary[0].restarts",
        "invalid type: string \"three\"",
    );
}

#[test]
fn negative_counts_are_rejected() {
    let e = invalid(parse_value(&with(
        full(),
        "/traffic/canaryRequests",
        json!(-5),
    )));
    assert_located(&e, "traffic.canaryRequests", "-5");
    let e = invalid(parse_value(&with(
        full(),
        "/pods/stable/0/restarts",
        json!(-1),
    )));
    assert_located(&e, "pods.stable[0].restarts", "-1");
    let e = invalid(parse_value(&with(full(), "/events/0/count", json!(-2))));
    assert_located(&e, "events[0].count", "-2");
}

#[test]
fn non_finite_samples_are_rejected() {
    // 1e999 overflows f64: serde_json refuses it before our finiteness check.
    let text = full().to_string().replace("[0.14,0.16]", "[0.14,1e999]");
    assert!(text.contains("1e999"));
    let e = invalid(parse_bytes(text.as_bytes(), &source()));
    assert_located(&e, "metrics[0].canary[1]", "number out of range");
    // NaN is not JSON at all.
    let text = full().to_string().replace("[0.001,0.0]", "[0.001,NaN]");
    assert!(text.contains("NaN"));
    let e = invalid(parse_bytes(text.as_bytes(), &source()));
    assert_located(&e, "metrics[0].stable[1]", "expected value");
    // null is not a sample either (missing intervals are dropped, not null).
    let e = invalid(parse_value(&with(
        full(),
        "/metrics/1/canary/0",
        Value::Null,
    )));
    assert_located(&e, "metrics[1].canary[0]", "invalid type: null");
}

#[test]
fn missing_required_fields_are_named() {
    for (pointer, missing) in [
        ("", "version"),
        ("", "name"),
        ("", "rollout"),
        ("/rollout", "namespace"),
        ("/rollout", "name"),
        ("/metrics/0", "name"),
        ("/metrics/1", "better"),
        ("/pods/canary/0", "name"),
        ("/events/0", "object"),
        ("/logs/canary/0", "pod"),
        ("/expected", "verdict"),
    ] {
        let mut v = full();
        let target = if pointer.is_empty() {
            &mut v
        } else {
            v.pointer_mut(pointer).unwrap()
        };
        target.as_object_mut().unwrap().remove(missing);
        let e = invalid(parse_value(&v));
        let field = pointer.trim_start_matches('/').replace('/', ".");
        let field = field.replace(".0", "[0]").replace(".1", "[1]");
        // The field to add is named itself, under its parent.
        let field = if field.is_empty() {
            missing.to_owned()
        } else {
            format!("{field}.{missing}")
        };
        assert_located(&e, &field, &format!("missing field `{missing}`"));
    }
}

#[test]
fn unsupported_version_is_located() {
    let e = invalid(parse_value(&with(full(), "/version", json!(3))));
    assert_located(&e, "version", "unsupported bundle version 3");
    // Checked as soon as it is read: a v3 bundle with another shape still says why.
    let v3 = r#"{"version": 3, "name": "n", "rollout": "shop/checkout"}"#;
    let e = invalid(parse_bytes(v3.as_bytes(), &source()));
    assert_located(&e, "version", "unsupported bundle version 3");
}

#[test]
fn version_2_reads_pod_start_and_readiness() {
    let mut v = with(full(), "/version", json!(2));
    let pod = &mut v["pods"]["canary"][0];
    pod["startedAt"] = json!("2026-11-22T10:00:00Z");
    pod["readyAt"] = json!("2026-11-22T10:00:31Z");
    let ev = parse_value(&v).unwrap();
    assert_eq!(ev.version, 2);
    let p = &ev.pods.canary[0];
    assert_eq!(p.started_at.as_deref(), Some("2026-11-22T10:00:00Z"));
    assert_eq!(p.ready_at.as_deref(), Some("2026-11-22T10:00:31Z"));
    // And version 1 still reads, without them.
    let ev1 = parse_value(&full()).unwrap();
    assert!(ev1.pods.canary.iter().all(|p| p.started_at.is_none()));
}

#[test]
fn canary_weight_must_be_a_percentage() {
    for w in [101, 150, 255, 256, 100_000] {
        let e = invalid(parse_value(&with(
            full(),
            "/rollout/canaryWeight",
            json!(w),
        )));
        assert_located(
            &e,
            "rollout.canaryWeight",
            &format!("{w} is not a percentage"),
        );
    }
    let e = invalid(parse_value(&with(
        full(),
        "/rollout/canaryWeight",
        json!(-1),
    )));
    assert_located(&e, "rollout.canaryWeight", "-1");
}

#[test]
fn duplicate_metric_names_are_rejected() {
    let v = with(full(), "/metrics/1/name", json!("error_rate"));
    let e = invalid(parse_value(&v));
    assert_located(
        &e,
        "metrics",
        "metrics[1].name: metric \"error_rate\" appears more than once",
    );
    // The position points at the duplicate: past its name, before the pods.
    let pretty = serde_json::to_string_pretty(&v).unwrap();
    let e = invalid(parse_bytes(pretty.as_bytes(), &source()));
    let line_of = |needle: &str, nth: usize| {
        pretty
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .nth(nth)
            .unwrap()
            .0
            + 1
    };
    let second_name = line_of("\"error_rate\"", 1);
    let pods = line_of("\"pods\"", 0);
    assert!(
        e.line > second_name && e.line < pods,
        "line {}: {}",
        e.line,
        e.display
    );
}

#[test]
fn empty_required_strings_are_rejected() {
    for (pointer, field) in [
        ("/name", "name"),
        ("/rollout/namespace", "rollout.namespace"),
        ("/rollout/name", "rollout.name"),
        ("/metrics/1/name", "metrics[1].name"),
    ] {
        let e = invalid(parse_value(&with(full(), pointer, json!("  "))));
        assert_eq!(e.field, field, "{}", e.display);
        assert!(
            e.display.contains(&format!("field `{field}`")),
            "{}",
            e.display
        );
    }
}

#[test]
fn trailing_garbage_is_rejected() {
    let text = format!("{}\n{{}}", minimal());
    let e = invalid(parse_bytes(text.as_bytes(), &source()));
    assert_located(&e, "", "trailing data");
    assert_eq!(e.line, 2, "{}", e.display);
    // Trailing whitespace is fine.
    assert!(parse_bytes(format!("{}\n\n  ", minimal()).as_bytes(), &source()).is_ok());
}

#[test]
fn syntax_errors_have_positions() {
    for text in ["", "{", "[1, 2]", "{\"version\": 1,}", "\u{feff}{}", "nul"] {
        let e = invalid(parse_bytes(text.as_bytes(), &source()));
        assert!(e.line > 0, "{text:?}: {}", e.display);
    }
}

#[test]
fn file_over_the_byte_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let text = full().to_string();
    std::fs::write(&path, &text).unwrap();
    let limit = text.len() as u64 - 1;
    let err = load_file(&path, limit).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("limit of {limit} bytes")), "{msg}");
    assert_eq!(err.exit_code(), 2);
    // Exactly at the limit is fine.
    assert!(load_file(&path, text.len() as u64).is_ok());
}

/// Devices and pipes report a length of 0, so only the read can enforce the limit.
#[cfg(unix)]
#[test]
fn byte_limit_holds_for_devices() {
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        let msg = load_file(zero, 4096).unwrap_err().to_string();
        assert!(msg.contains("more than 4096 bytes"), "{msg}");
    }
}

#[test]
fn missing_file_and_directory_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = load_file(&missing, DEFAULT_MAX_BYTES).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);

    let err = load_file(dir.path(), DEFAULT_MAX_BYTES).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("directory"), "{msg}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\"version\": \"one\"}").unwrap();
    let msg = load_file(&path, DEFAULT_MAX_BYTES).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("invalid evidence bundle {}", path.display())),
        "{msg}"
    );
    assert!(msg.contains("line 1, column 17"), "{msg}");
}

/// A small valid bundle with most kinds of value, for mutation.
fn seed_bytes() -> Vec<u8> {
    serde_json::to_vec_pretty(&full()).unwrap()
}

fn check_never_panics(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_bytes(bytes, &source()) {
        Ok(ev) => prop_assert_eq!(ev.version, 1),
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(shown.contains(SOURCE), "{}", shown);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_never_panics(&bytes)?;
    }

    #[test]
    fn mutated_bundle_never_panics(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = seed_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        check_never_panics(&bytes)?;
    }

    #[test]
    fn truncated_bundle_never_panics(pos in any::<prop::sample::Index>()) {
        let bytes = seed_bytes();
        let cut = pos.index(bytes.len());
        // Every proper prefix of the object is incomplete JSON.
        prop_assert!(parse_bytes(&bytes[..cut], &source()).is_err());
        check_never_panics(&bytes[..cut])?;
    }

    #[test]
    fn inserted_byte_never_panics(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = seed_bytes();
        let i = pos.index(bytes.len() + 1);
        bytes.insert(i, byte);
        check_never_panics(&bytes)?;
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // In an unknown field the value is skipped (iteratively), and parsing goes on.
    let text = format!("{{\"version\": 1, \"x\": {deep}}}");
    let e = invalid(parse_bytes(text.as_bytes(), &source()));
    assert!(e.message.contains("missing field `name`"), "{}", e.display);
    // Where a value is expected, the nesting is rejected at once.
    for field in ["metrics", "description", "pods"] {
        let text = format!("{{\"version\": 1, \"{field}\": {deep}}}");
        let e = invalid(parse_bytes(text.as_bytes(), &source()));
        assert!(e.field.starts_with(field), "{}", e.display);
    }
}
