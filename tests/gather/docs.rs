//! The query documentation the plugin and README link: it exists, names every
//! placeholder and default query, and its configuration example is accepted.

use rollwise::gather::prometheus::{PLACEHOLDERS, PrometheusConfig, default_metrics};

fn read(rel: &str) -> String {
    std::fs::read_to_string(crate::cli::repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn queries_doc_names_every_placeholder_and_default_query() {
    let doc = read("docs/queries.md");
    for p in PLACEHOLDERS {
        assert!(
            doc.contains(&format!("| `{{{{{p}}}}}` |")),
            "docs/queries.md has no row for {{{{{p}}}}}"
        );
    }
    let defaults = PrometheusConfig::default();
    for m in default_metrics() {
        assert!(doc.contains(&format!("`{}`", m.name)), "{}", m.name);
    }
    // The success-rate and traffic queries verbatim; the latency ones by shape.
    assert!(doc.contains(&default_metrics()[0].query));
    assert!(doc.contains(defaults.traffic_query.as_deref().unwrap()));
    assert!(doc.contains(&default_metrics()[1].query));
    for label in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        &defaults.hash_label,
        &defaults.pod_label,
    ] {
        assert!(doc.contains(&format!("`{label}")), "{label}");
    }
    // The example configuration is one the server accepts.
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    #[derive(serde::Deserialize)]
    struct File {
        gather: Gather,
    }
    #[derive(serde::Deserialize)]
    struct Gather {
        prometheus: PrometheusConfig,
    }
    let f: File = toml::from_str(&doc[start..end]).unwrap();
    f.gather.prometheus.validate().unwrap();
    assert_eq!(f.gather.prometheus.metrics.len(), 1);
}

#[test]
fn every_relative_link_in_the_plugin_readme_exists() {
    let text = read("plugin/README.md");
    let mut n = 0;
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let path = target.split('#').next().unwrap();
        let full = crate::cli::repo_path("plugin").join(path);
        assert!(full.exists(), "plugin/README.md links {target}: missing");
        n += 1;
    }
    assert!(n >= 1, "the plugin README links the query documentation");
    assert!(!text.contains("deadline_secs"), "the key is deadline-secs");
}
