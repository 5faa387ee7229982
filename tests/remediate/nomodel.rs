//! Remediation with no model, over the fixture repositories: the suspect
//! commit is found (top-1 >= 80%, top-3 = 100%), the revert PR opens through
//! the guarded writer and the fixture's tests pass after it; each fixture's
//! tests pass at its stable tag and fail at its canary tag; and the scores
//! drop when the canary's traces are taken away.

use std::path::PathBuf;
use std::sync::Arc;

use rollwise::evidence::Evidence;
use rollwise::remediate::eval::run_no_model;
use rollwise::remediate::fixture::BuiltFixture;
use rollwise::remediate::prompt::{PrBody, RedactorAdapter, TaskContext};
use rollwise::remediate::{localize, policy_for, revert};
use rollwise_tools::github::dry_run::DryRunWrite;
use rollwise_tools::github::{DryRunWriter, FixSession, LocalRepo, RepoReader};

use crate::cli::repo_path;

const DIR: &str = "evals/scenarios/tune/remediation";

fn scenarios() -> Vec<(PathBuf, Evidence)> {
    rollwise::eval::scenario_files(&repo_path(DIR))
        .unwrap()
        .into_iter()
        .map(|f| {
            let ev = rollwise::evidence::load_file(&f, 10 << 20).unwrap();
            (f, ev)
        })
        .collect()
}

fn fixture_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_path("evals/fixtures"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("fixture.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn with_no_model_the_suspect_is_found_and_every_revert_passes_the_tests() {
    let r = run_no_model(&scenarios(), &repo_path("evals/fixtures")).unwrap();
    assert!(r.results.len() >= 10, "{} scored", r.results.len());
    let languages: std::collections::BTreeSet<&str> =
        r.results.iter().map(|x| x.language.as_str()).collect();
    assert!(languages.len() >= 4, "{languages:?}");
    for x in &r.results {
        assert_eq!(x.error, None, "{}", x.scenario);
        assert!(
            x.canary_tests_fail,
            "{}: the bug is not in the canary",
            x.scenario
        );
        assert!(x.pr_opened, "{}: {:?}", x.scenario, x.not_opened);
        assert!(
            x.tests_pass_after,
            "{}: tests fail after the revert:\n{}",
            x.scenario, x.test_tail
        );
        assert!(
            x.pr_labels.iter().any(|l| l == revert::REVERT_LABEL),
            "{}: {:?}",
            x.scenario,
            x.pr_labels
        );
        assert_eq!(x.tokens, 0);
    }
    assert!(r.top1_rate >= 0.8, "suspect top-1 {:.2}", r.top1_rate);
    assert!(r.top3_rate >= 1.0, "suspect top-3 {:.2}", r.top3_rate);
    assert_eq!(r.tests_pass_after, r.results.len());
    // The one fixture without a history is listed, not dropped.
    assert_eq!(
        r.excluded
            .iter()
            .map(|e| e.fixture.as_str())
            .collect::<Vec<_>>(),
        ["cart-go"]
    );
}

#[test]
fn without_the_canary_traces_the_suspects_are_not_found() {
    // The canary logs what the stable pods log: nothing points at a commit.
    let blind: Vec<(PathBuf, Evidence)> = scenarios()
        .into_iter()
        .filter(|(_, ev)| {
            ["r04-", "r07-", "r10-"]
                .iter()
                .any(|p| ev.name.starts_with(p))
        })
        .map(|(p, mut ev)| {
            for (c, s) in ev.logs.canary.iter_mut().zip(ev.logs.stable.iter()) {
                c.lines = s.lines.clone();
            }
            (p, ev)
        })
        .collect();
    assert_eq!(blind.len(), 3);
    let r = run_no_model(&blind, &repo_path("evals/fixtures")).unwrap();
    assert!(
        r.top1_rate < 0.8,
        "top-1 {:.2} with no evidence: the ranking is not reading the logs",
        r.top1_rate
    );
}

#[test]
fn every_fixture_passes_at_stable_and_fails_at_canary() {
    let names = fixture_names();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let f = BuiltFixture::build(&repo_path("evals/fixtures"), &name).unwrap();
        assert!(f.commits.len() >= 5, "{name}: {} commits", f.commits.len());
        let bug = f
            .bug_sha()
            .unwrap_or_else(|| panic!("{name}: no bug commit"));
        let release = rollwise::remediate::release::ReleaseDiff::local(
            &f.repo,
            &f.spec.stable,
            &f.spec.canary,
        )
        .unwrap();
        assert!(
            release.commits.iter().any(|c| c.sha == bug),
            "{name}: the bug commit is not in {}..{}",
            f.spec.stable,
            f.spec.canary
        );
        assert!(
            release.commits.len() >= 3,
            "{name}: a release of one commit"
        );
        let stable = f.checkout(&f.spec.stable).unwrap();
        let run = f.run_tests(&stable).unwrap();
        assert!(
            run.passed,
            "{name} fails at {}:\n{}",
            f.spec.stable, run.tail
        );
        let canary = f.checkout(&f.spec.canary).unwrap();
        let run = f.run_tests(&canary).unwrap();
        assert!(!run.passed, "{name} passes at {}", f.spec.canary);
    }
}

#[test]
fn the_revert_pr_goes_through_the_guards() {
    let (_, ev) = scenarios()
        .into_iter()
        .find(|(_, ev)| ev.name.starts_with("r08-"))
        .unwrap();
    let f = BuiltFixture::build(&repo_path("evals/fixtures"), "py-notify").unwrap();
    let judge = rollwise::judge::Judge::default();
    let a = judge.assess(&ev);
    let loc = localize::localize(&ev, &a.logs, &f.repo, "v2.0.1", "v2.1.0").unwrap();
    let verdict = judge.decide(&ev, a, None);
    let top = loc.top().unwrap().clone();
    assert_eq!(Some(top.sha.as_str()), f.bug_sha());
    assert!(
        top.why.iter().any(|w| w.contains("retry_limit")),
        "{:?}",
        top.why
    );
    let plan = revert::plan(&loc.release, &top.sha, f.repo.parent().unwrap()).unwrap();
    assert_eq!(plan.cannot, None);
    assert_eq!(
        plan.files
            .iter()
            .map(|x| x.path.as_str())
            .collect::<Vec<_>>(),
        ["settings.json"]
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let session = |allow: bool, writer: Arc<DryRunWriter>| {
        let local = LocalRepo::open(&f.repo).unwrap();
        let me = local.repo().clone();
        let allowlist = if allow { vec![me.clone()] } else { vec![] };
        let ctx = TaskContext::new(&ev, &verdict, "", &me.to_string(), "main", 0);
        FixSession::new(
            policy_for(&ev, me, allowlist, "main"),
            Arc::new(local),
            writer,
            Arc::new(RedactorAdapter::default()),
            Arc::new(PrBody::new(ctx).unwrap()),
        )
        .unwrap()
    };
    // Not allowlisted: refused, nothing written.
    let w = Arc::new(DryRunWriter::new());
    let s = session(false, w.clone());
    let e = rt
        .block_on(revert::open_pr(&s, &plan, &loc.release, &loc.suspects))
        .unwrap_err();
    assert!(e.to_string().contains("allowlist"), "{e}");
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    // Allowlisted: one commit on the fix branch, a draft PR, the label.
    let w = Arc::new(DryRunWriter::new());
    let s = session(true, w.clone());
    let o = rt
        .block_on(revert::open_pr(&s, &plan, &loc.release, &loc.suspects))
        .unwrap();
    assert!(o.pr.as_ref().is_some_and(|p| p.draft));
    let branch = s.policy().branch.clone();
    assert!(branch.starts_with("rollwise/fix/"), "{branch}");
    for write in w.writes() {
        match write {
            DryRunWrite::CreateBranch { branch: b, .. } | DryRunWrite::Commit { branch: b, .. } => {
                assert_eq!(b, branch)
            }
            DryRunWrite::OpenPr { head, base, .. } => {
                assert_eq!((head.as_str(), base.as_str()), (branch.as_str(), "main"))
            }
            DryRunWrite::AddLabels { labels, .. } => {
                assert!(
                    labels.iter().any(|l| l == revert::REVERT_LABEL),
                    "{labels:?}"
                )
            }
            DryRunWrite::UpdatePr { .. } => panic!("no PR to update"),
        }
    }
    let st = rt.block_on(s.state());
    let body = st.pr_body.unwrap();
    for want in [
        "Suspects",
        "Release v2.0.1 → v2.1.0",
        "settings: use the platform key names",
        "revert proposal",
    ] {
        assert!(body.contains(want), "PR body lacks {want:?}:\n{body}");
    }
    assert!(st.pr_title.unwrap().contains("Revert"));
    let (old, new) = &st.files["settings.json"];
    assert!(old.contains("max_retries") && new.contains("retry_limit"));
}

#[test]
fn remediate_with_no_model_prints_the_release_the_suspects_and_the_revert() {
    let f = BuiltFixture::build(&repo_path("evals/fixtures"), "node-session").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .current_dir(repo_path(""))
        .args([
            "remediate",
            "--evidence",
            "evals/scenarios/tune/remediation/r06-node-session.json",
            "--dry-run",
            "--no-model",
            "--repo",
        ])
        .arg(&f.repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = crate::cli::stdout(&o);
    assert!(o.status.success(), "{}\n{out}", crate::cli::stderr(&o));
    for want in [
        "Release v1.8.0 → v1.9.0 (3 commits)",
        "1. `",
        "config: TTLs in human units",
        "sessionttlseconds",
        "-  \"sessionTtlSeconds\": \"30m\",",
        "+  \"sessionTtlSeconds\": 1800,",
        "(revert proposal)",
        "dry run: would open a draft pull request",
    ] {
        assert!(out.contains(want), "lacks {want:?}:\n{out}");
    }
    // A working tree without history has no release diff: said, not guessed.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rollwise"))
        .current_dir(repo_path(""))
        .args([
            "remediate",
            "--evidence",
            "evals/scenarios/tune/remediation/r01-cart-go-index-out-of-range.json",
            "--dry-run",
            "--no-model",
            "--repo",
            "evals/fixtures/cart-go",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", crate::cli::stderr(&o));
    assert!(
        crate::cli::stderr(&o).contains("local git clone"),
        "{}",
        crate::cli::stderr(&o)
    );
}
