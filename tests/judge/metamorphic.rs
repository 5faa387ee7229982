//! Every relation of `relations.rs` over every scenario under `evals/scenarios`
//! (tune and holdout): the verdict of each rewritten bundle against the verdict
//! of the scenario as written.
// The report table and the allowed notes go to stderr, where nextest shows them.
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::Value;

use super::relations::{
    self, Outcome, Promise, Variant, broken, outcome, replay, softened, write_case,
};

fn scenarios_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../evals/scenarios")
}

/// Every scenario file; fails when a split has none (a moved folder must not
/// turn the suite into a test of nothing).
fn scenario_files() -> Vec<PathBuf> {
    let root = scenarios_root();
    let files = rollwise::evidence::json_files(&root, "scenario directory")
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()));
    for split in ["tune", "holdout"] {
        let dir = root.join(split);
        assert!(
            files.iter().any(|f| f.starts_with(&dir)),
            "no scenario found under {}",
            dir.display()
        );
    }
    files
}

/// What one scenario gave: relation name -> variants judged, and the violations.
#[derive(Default)]
struct ScenarioRun {
    applied: BTreeMap<&'static str, usize>,
    /// Seconds spent judging variants, per relation (the base in "scenario").
    seconds: BTreeMap<&'static str, f64>,
    violations: Vec<String>,
    /// Less evidence that turned an abort into inconclusive (not violations).
    notes: Vec<String>,
}

fn run_scenario(
    judge: &rollwise::judge::Judge,
    root: &Path,
    path: &Path,
    seed: usize,
) -> ScenarioRun {
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    let raw: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"));
    let mut run = ScenarioRun::default();
    let started = Instant::now();
    let base = outcome(judge, &rel, &raw);
    run.seconds
        .insert("scenario", started.elapsed().as_secs_f64());
    let judge_variant = |run: &mut ScenarioRun, name: &'static str, v: &Variant| {
        let started = Instant::now();
        let got = outcome(judge, &format!("{rel} ({})", v.label), &v.bundle);
        *run.seconds.entry(name).or_default() += started.elapsed().as_secs_f64();
        if let Some(change) = softened(&base, &got, v.promise) {
            run.notes.push(format!("{rel} + {}: {change}", v.label));
        }
        let why = broken(&base, &got, v.promise)?;
        let case = write_case(&format!("{stem}-{}", v.label), &v.bundle);
        Some(format!(
            "{rel} + {}: {why}\n    replay: {}\n    original: {}",
            v.label,
            replay(&case),
            replay(path)
        ))
    };

    // The same-fact rewrites, composed into one bundle and judged once: each
    // keeps the facts, so their composition must keep the verdict too. Only
    // when it does not is each rewrite judged alone, to name the culprits (and
    // if none is one alone, the composition itself is the violation).
    let mut composite = raw.clone();
    let mut parts: Vec<&'static str> = Vec::new();
    for relation in relations::SAME_FACTS {
        if let Some(v) = (relation.apply)(&composite, seed).into_iter().next()
            && v.bundle != composite
        {
            composite = v.bundle;
            parts.push(relation.name);
        }
    }
    if !parts.is_empty() {
        for name in &parts {
            *run.applied.entry(name).or_default() += 1;
        }
        let together = Variant {
            label: parts.join("+"),
            bundle: composite,
            promise: Promise::Same,
        };
        if let Some(violation) = judge_variant(&mut run, "same-facts", &together) {
            let mut alone = Vec::new();
            for relation in relations::SAME_FACTS {
                for v in (relation.apply)(&raw, seed) {
                    if v.bundle != raw {
                        alone.extend(judge_variant(&mut run, relation.name, &v));
                    }
                }
            }
            if alone.is_empty() {
                alone.push(violation);
            }
            run.violations.extend(alone);
        }
    }
    for relation in relations::LESS_OR_WORSE {
        for v in (relation.apply)(&raw, seed) {
            if v.bundle == raw {
                continue;
            }
            *run.applied.entry(relation.name).or_default() += 1;
            let found = judge_variant(&mut run, relation.name, &v);
            run.violations.extend(found);
        }
    }
    if let Outcome::Refused(why) = &base {
        // Not a violation (a bundle may be invalid on purpose), but said, so a
        // scenario that stopped loading is visible in the output.
        eprintln!("note: {rel} is refused by the loader: {why}");
    }
    run
}

#[test]
fn every_relation_holds_over_every_scenario() {
    let root = scenarios_root();
    let mut files = scenario_files();
    // Largest first, so the big bundles do not finish last on one thread.
    files.sort_by_key(|f| std::cmp::Reverse(std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)));
    let judge = relations::judge();
    let next = AtomicUsize::new(0);
    let runs: Mutex<Vec<(PathBuf, ScenarioRun)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    // The seed (which crash runtime) follows the file name, not
                    // the schedule, so a run is reproducible.
                    let seed = path
                        .file_name()
                        .map(|n| n.to_string_lossy().bytes().map(usize::from).sum())
                        .unwrap_or(0);
                    let run = run_scenario(&judge, &root, path, seed);
                    runs.lock()
                        .expect("no worker panicked")
                        .push((path.clone(), run));
                }
            });
        }
    });
    let mut runs = runs.into_inner().expect("no worker panicked");
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(runs.len(), files.len(), "every scenario was judged");

    let mut applied: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut seconds: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    for (_, run) in &runs {
        for (name, n) in &run.applied {
            *applied.entry(name).or_default() += n;
        }
        for (name, t) in &run.seconds {
            *seconds.entry(name).or_default() += t;
        }
        violations.extend(run.violations.iter().cloned());
        notes.extend(run.notes.iter().cloned());
    }
    let mut table = String::new();
    for r in relations::all() {
        let bad = violations
            .iter()
            .filter(|v| {
                v.split_once(" + ")
                    .is_some_and(|(_, rest)| rest.starts_with(r.name))
            })
            .count();
        table.push_str(&format!(
            "  {:<22} applied {:>4} times, judged alone in {:>5.1} s, {bad} violations\n",
            r.name,
            applied.get(r.name).copied().unwrap_or(0),
            seconds.get(r.name).copied().unwrap_or(0.0)
        ));
    }
    table.push_str(&format!(
        "  (judging the scenarios as written: {:.1} s; the same-fact rewrites composed: {:.1} s, \
         alone only where the composition broke)\n",
        seconds.get("scenario").copied().unwrap_or(0.0),
        seconds.get("same-facts").copied().unwrap_or(0.0)
    ));
    eprintln!("{} scenarios\n{table}", runs.len());
    if !notes.is_empty() {
        eprintln!(
            "less evidence turned these aborts inconclusive (allowed: the removed evidence was what they rested on):\n  {}",
            notes.join("\n  ")
        );
    }
    let never_applied: Vec<&str> = relations::all()
        .map(|r| r.name)
        .filter(|n| !applied.contains_key(n))
        .collect();
    assert!(
        never_applied.is_empty(),
        "relations that applied to no scenario (they test nothing): {never_applied:?}"
    );
    assert!(
        violations.is_empty(),
        "{} metamorphic violations over {} scenarios:\n{table}\n{}",
        violations.len(),
        runs.len(),
        violations.join("\n")
    );
}
