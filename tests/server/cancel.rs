//! Cancellable judging: an analysis past its deadline, or whose caller gave
//! up, stops its blocking work promptly, and its analysis slot is freed only
//! once that work has ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollwise::evidence::{Decision, Evidence};
use rollwise::judge::Judge;
use rollwise::server::Analyzer;
use tokio::sync::Semaphore;

/// A bundle whose canary logs `lines` lines of random words in eight pods:
/// each line its own template shape, the miner's worst case.
fn distinct_lines(lines: usize) -> Evidence {
    let mut ev = super::scenario("p03-inventory-go-panic.json");
    let base = ev.logs.canary[0].clone();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut word = move || -> String {
        (0..7)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    };
    for p in 0..8 {
        let mut pod = base.clone();
        pod.pod = format!("{}-x{p}", base.pod);
        pod.lines = (0..lines / 8)
            .map(|_| {
                format!(
                    "ERROR {} {} {} {} {}",
                    word(),
                    word(),
                    word(),
                    word(),
                    word()
                )
            })
            .collect();
        ev.logs.canary.push(pod);
    }
    ev
}

const LINES: usize = 80_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_analysis_frees_its_slot_only_after_its_work_ends() {
    let ev = Arc::new(distinct_lines(LINES));
    let judge = Judge::default();
    let t = Instant::now();
    let _ = judge.assess(&ev);
    let whole = t.elapsed();
    assert!(
        whole > Duration::from_millis(400),
        "the work takes only {whole:?}: too little to stop"
    );
    let analyzer = Analyzer::new(judge);
    let slots = Arc::new(Semaphore::new(1));
    let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
    let far = Instant::now() + Duration::from_secs(3600);
    let caller = tokio::time::timeout(
        Duration::from_millis(50),
        analyzer.analyze(Arc::clone(&ev), None, far, Some(permit)),
    )
    .await;
    assert!(caller.is_err(), "the analysis finished within 50 ms");
    let gave_up = Instant::now();
    while slots.available_permits() == 0 {
        assert!(
            gave_up.elapsed() < whole,
            "the slot is still taken after {whole:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let stopped_after = gave_up.elapsed();
    // The blocking work holds the evidence until it ends: free slot, work over.
    assert_eq!(
        Arc::strong_count(&ev),
        1,
        "the slot was freed while the work runs on"
    );
    assert!(
        stopped_after < whole / 4 && stopped_after < Duration::from_secs(1),
        "the work ended {stopped_after:?} after its caller gave up (whole run {whole:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_deadline_stops_the_work_and_answers_inconclusive() {
    let ev = Arc::new(distinct_lines(LINES));
    let judge = Judge::default();
    let t = Instant::now();
    let _ = judge.assess(&ev);
    let whole = t.elapsed();
    assert!(
        whole > Duration::from_millis(400),
        "the work takes only {whole:?}: too little to stop"
    );
    let analyzer = Analyzer::new(judge);
    let slots = Arc::new(Semaphore::new(1));
    let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
    let t = Instant::now();
    let judged = analyzer
        .analyze(
            Arc::clone(&ev),
            None,
            t + Duration::from_millis(50),
            Some(permit),
        )
        .await;
    let took = t.elapsed();
    assert!(
        took < whole / 4,
        "answered after {took:?} (whole run {whole:?})"
    );
    assert_eq!(judged.verdict.verdict, Decision::Inconclusive);
    assert!(
        judged.verdict.summary.contains("ran out of time")
            || judged
                .verdict
                .reasons
                .iter()
                .any(|r| r.detail.contains("ran out of time")),
        "{:?}",
        judged.verdict
    );
    assert_eq!(slots.available_permits(), 1);
}
