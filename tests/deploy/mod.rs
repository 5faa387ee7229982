//! deploy/: what the manifests promise about safety, read from the files.

use serde_json::Value;

fn docs(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(crate::cli::repo_path(rel)).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn the_cluster_role_only_reads_and_never_secrets() {
    for overlay in ["dev", "prod"] {
        let d = docs(&format!("deploy/rendered/{overlay}.yaml"));
        let roles = by_kind(&d, "ClusterRole");
        assert_eq!(roles.len(), 1);
        assert!(by_kind(&d, "Role").is_empty());
        for rule in roles[0]["rules"].as_array().unwrap() {
            for verb in rule["verbs"].as_array().unwrap() {
                assert!(
                    ["get", "list", "watch"].contains(&verb.as_str().unwrap()),
                    "{overlay}: write verb {verb}"
                );
            }
            for res in rule["resources"].as_array().unwrap() {
                assert_ne!(res, "secrets", "{overlay}: rollwise must not read Secrets");
                assert_ne!(res.as_str().unwrap(), "*");
            }
        }
    }
}

#[test]
fn the_pod_is_non_root_read_only_and_takes_secrets_by_reference() {
    for (overlay, replicas) in [("dev", 1), ("prod", 2)] {
        let d = docs(&format!("deploy/rendered/{overlay}.yaml"));
        let dep = by_kind(&d, "Deployment")[0];
        assert_eq!(dep["spec"]["replicas"], replicas, "{overlay}");
        let pod = &dep["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
        for env in c["env"].as_array().unwrap() {
            let name = env["name"].as_str().unwrap();
            if name.contains("TOKEN") || name.contains("KEY") || name.contains("WEBHOOK") {
                assert!(
                    env.get("value").is_none(),
                    "{overlay}: {name} must come from a Secret"
                );
                assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "rollwise");
            }
        }
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert!(c["resources"]["limits"]["memory"].is_string());
        assert_eq!(by_kind(&d, "PodDisruptionBudget").len(), 1);
        // The SQLite history needs a writable volume where [store] url points.
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == "/var/lib/rollwise")
            .unwrap_or_else(|| panic!("{overlay}: no volume at /var/lib/rollwise"));
        assert_ne!(mount["readOnly"], true);
        let store_url = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "ROLLWISE_STORE_URL");
        if replicas > 1 {
            // Several replicas share one Postgres, whose URL holds a password.
            let e = store_url.unwrap_or_else(|| panic!("{overlay}: no shared store"));
            assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], "rollwise");
            assert!(e.get("value").is_none());
        } else {
            assert!(store_url.is_none(), "{overlay}: SQLite from the ConfigMap");
        }
    }
}

#[test]
fn the_deployed_template_is_the_one_in_plugin() {
    let a = std::fs::read_to_string(crate::cli::repo_path(
        "plugin/cluster-analysis-template.yaml",
    ))
    .unwrap();
    let b = std::fs::read_to_string(crate::cli::repo_path(
        "deploy/base/cluster-analysis-template.yaml",
    ))
    .unwrap();
    assert_eq!(
        a, b,
        "deploy/base/cluster-analysis-template.yaml must be a copy of plugin/'s"
    );
}

#[test]
fn the_config_map_is_a_valid_server_configuration() {
    let d = docs("deploy/base/configmap.yaml");
    let toml_text = d[0]["data"]["rollwise.toml"].as_str().unwrap();
    // As `rollwise serve` reads it: only known tables, every table typed.
    rollwise::server::config::check_tables(toml_text, "configmap.yaml").unwrap();
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        server: rollwise::server::ServerConfig,
        llm: rollwise::llm::LlmConfig,
        store: rollwise::store::StoreConfig,
        gather: rollwise::gather::GatherConfig,
    }
    let f: File = toml::from_str(toml_text).unwrap();
    f.gather.validate().unwrap();
    assert!(
        f.gather.prometheus.url.is_some(),
        "without [gather.prometheus] url every verdict is inconclusive"
    );
    // The edge settings are spelled out, so an operator sees them.
    for key in [
        "header-timeout-secs",
        "body-timeout-secs",
        "max-connections",
        "retry-after-secs",
        "page-user-header",
    ] {
        assert!(toml_text.contains(key), "the ConfigMap shows {key}");
    }
    f.store.validate().unwrap();
    assert_eq!(
        f.store.parsed_url().unwrap(),
        rollwise::store::StoreUrl::Sqlite("/var/lib/rollwise/history.db".into())
    );
    f.server.validate().unwrap();
    f.llm.validate().unwrap();
    assert!(
        f.server.deadline_secs < 10.0,
        "below Argo's default timeoutSeconds"
    );
}
