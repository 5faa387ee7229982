use super::*;

#[test]
fn demo_shows_an_abort_and_a_promote_without_cluster_or_key() {
    let out = rollwise(&["demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ABORT") && text.contains("PROMOTE") && text.contains("INCONCLUSIVE"),
        "{text}"
    );
}

#[test]
fn demo_json_is_one_verdict_per_line() {
    let out = rollwise(&["demo", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a verdict"))
        .collect();
    assert!(lines.len() >= 3);
    assert!(lines.iter().all(|v| v["verdict"].is_string()));
}
