use super::*;

#[test]
fn eval_reports_scores_and_writes_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let out = rollwise(&[
        "eval",
        "--scenarios",
        repo_path("evals/scenarios/tune/public")
            .to_str()
            .expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    for needle in [
        "accuracy",
        "false-promote rate",
        "false-abort rate",
        "root-cause hit rate",
        "Confusion matrix",
    ] {
        assert!(md.contains(needle), "missing {needle}: {md}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid json");
    assert_eq!(report["scores"]["scenarios"], 24);
    assert_eq!(report["results"].as_array().map(Vec::len), Some(24));
    for r in report["results"].as_array().expect("results") {
        for field in [
            "verdict",
            "confidence",
            "promptTokens",
            "completionTokens",
            "latencyMs",
        ] {
            assert!(!r[field].is_null(), "{field} missing in {r}");
        }
    }
}

#[test]
fn a_false_promote_fails_the_gate_but_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Labelled abort, but the evidence is clean: the judge promotes, which the
    // gate must count as a false promote.
    std::fs::write(
        dir.path().join("s.json"),
        bundle(
            &[0.0, 0.001, 0.0, 0.0, 0.002],
            &[0.0, 0.001, 0.0, 0.002, 0.0],
            "abort",
        ),
    )
    .expect("write");
    let d = dir.path().to_str().expect("utf8");
    let plain = rollwise(&["eval", "--scenarios", d]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stdout(&plain).contains("FALSE PROMOTE"));
    let gated = rollwise(&["eval", "--scenarios", d, "--max-false-promote", "0"]);
    assert_eq!(gated.status.code(), Some(1));
    assert!(
        stderr(&gated).contains("false-promote rate"),
        "{}",
        stderr(&gated)
    );
}

#[test]
fn unlabelled_scenarios_are_an_input_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = bundle(&[0.0; 5], &[0.0; 5], "promote");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v.as_object_mut().expect("object").remove("expected");
    std::fs::write(dir.path().join("s.json"), v.to_string()).expect("write");
    let out = rollwise(&["eval", "--scenarios", dir.path().to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected"), "{}", stderr(&out));
}

#[test]
fn bad_gate_value_is_a_usage_error() {
    let out = rollwise(&["eval", "--scenarios", ".", "--max-false-promote", "7"]);
    assert_eq!(out.status.code(), Some(2));
}

const CLEAN: [f64; 5] = [0.0, 0.001, 0.0, 0.0, 0.002];
const BAD: [f64; 5] = [0.2, 0.25, 0.22, 0.21, 0.24];

/// tune/: a bad release labelled abort and a clean one labelled promote (both
/// judged right); holdout/: a clean release labelled abort (a false promote)
/// and a clean one labelled promote; one clean promote directly in the root.
fn split_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, canary, expected) in [
        ("tune/bad.json", &BAD, "abort"),
        ("tune/clean.json", &CLEAN, "promote"),
        ("holdout/missed.json", &CLEAN, "abort"),
        ("holdout/clean.json", &CLEAN, "promote"),
        ("root.json", &CLEAN, "promote"),
    ] {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bundle(canary, &CLEAN, expected)).expect("write");
    }
    dir
}

#[test]
fn eval_scores_each_top_level_split_apart() {
    let dir = split_dir();
    let json = dir.path().join("out").join("report.json");
    std::fs::create_dir_all(json.parent().expect("parent")).expect("mkdir");
    let out = rollwise(&[
        "eval",
        "--scenarios",
        dir.path().to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid json");
    assert_eq!(r["scores"]["scenarios"], 5);
    assert_eq!(r["scores"]["falsePromotes"], 1);
    assert_eq!(r["scores"]["falsePromoteRate"], 0.5);
    let splits = r["splits"].as_array().expect("splits");
    let names: Vec<&str> = splits.iter().filter_map(|s| s["split"].as_str()).collect();
    assert_eq!(names, ["holdout", "tune"], "root-level files form no split");
    let (holdout, tune) = (&splits[0]["scores"], &splits[1]["scores"]);
    assert_eq!(tune["scenarios"], 2);
    assert_eq!(tune["accuracy"], 1.0);
    assert_eq!(tune["falsePromoteRate"], 0.0);
    assert_eq!(
        tune["confusion"]["rows"][1][1], 1,
        "tune: abort judged abort"
    );
    assert_eq!(holdout["scenarios"], 2);
    assert_eq!(holdout["accuracy"], 0.5);
    assert_eq!(holdout["falsePromoteRate"], 1.0);
    assert_eq!(
        holdout["confusion"]["rows"][1][0], 1,
        "holdout: abort promoted"
    );
    for res in r["results"].as_array().expect("results") {
        let file = res["file"].as_str().expect("file");
        let want = file.split_once('/').map(|(first, _)| first);
        assert_eq!(res["split"].as_str(), want, "{file}");
    }
    let md = stdout(&out);
    assert!(md.contains("## By split"), "{md}");
    assert!(
        md.contains("| holdout | 2 | 0.500 | 1.000 (1 of 1) | 0.000 (0 of 1) |"),
        "{md}"
    );
    assert!(
        md.contains("| tune | 2 | 1.000 | 0.000 (0 of 1) | 0.000 (0 of 1) |"),
        "{md}"
    );
    assert!(md.contains("### Confusion matrix, split holdout"), "{md}");
}

#[test]
fn max_false_promote_applies_to_each_split() {
    let dir = split_dir();
    let d = dir.path().to_str().expect("utf8");
    // Whole set: 1 of 2 expected aborts promoted (0.5) passes 0.6; the holdout
    // split alone (1 of 1) does not.
    let gated = rollwise(&["eval", "--scenarios", d, "--max-false-promote", "0.6"]);
    assert_eq!(gated.status.code(), Some(1), "{}", stderr(&gated));
    let err = stderr(&gated);
    assert!(err.contains("in split holdout"), "{err}");
    assert!(!err.contains("in split tune"), "{err}");
    let tune = dir.path().join("tune");
    let ok = rollwise(&[
        "eval",
        "--scenarios",
        tune.to_str().expect("utf8"),
        "--max-false-promote",
        "0",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        !stdout(&ok).contains("## By split"),
        "no folders, no split section"
    );
}
