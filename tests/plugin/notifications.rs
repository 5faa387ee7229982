//! plugin/notifications/: Argo Rollouts notification templates that link to
//! rollwise. Checked against the shape of the controller's own notification
//! ConfigMap (`fixtures/notifications-install.yaml`, copied from
//! argo-rollouts' manifests/notifications-install.yaml) and rendered against
//! a real Rollout object as the notifications engine renders them.

use std::collections::BTreeSet;

use serde_json::Value;

const OURS: &str = "plugin/notifications/argo-rollouts-notification-configmap.yaml";

fn configmap(rel: &str) -> Value {
    let text = std::fs::read_to_string(crate::cli::repo_path(rel)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn data(cm: &Value) -> Vec<(String, Value)> {
    cm["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().unwrap_or_else(|| panic!("{k}: not a string"));
            let parsed: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{k}: {e}"));
            (k.clone(), parsed)
        })
        .collect()
}

/// Every key path of a template (`message`, `slack.attachments`, ...).
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(p.clone());
            paths(x, &p, out);
        }
    }
}

/// The controller's event reason for an AnalysisRun ending in `phase`
/// (`"AnalysisRun" + phase`), as the notifications engine names the
/// trigger it fires: `on-` and the reason in kebab case.
fn trigger_for(phase: &str) -> String {
    let reason = format!("AnalysisRun{phase}");
    let mut out = String::from("on");
    for c in reason.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The notifications engine's Go templates, for the actions these use:
/// `{{.a.b}}` looked up in `vars`. Anything else fails the test.
fn render(text: &str, vars: &Value) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed action in {text}"));
        let action = after[..j].trim();
        let path = action
            .strip_prefix('.')
            .unwrap_or_else(|| panic!("unsupported action {{{{{action}}}}}"));
        let mut cur = vars;
        for part in path.split('.') {
            cur = cur
                .get(part)
                .unwrap_or_else(|| panic!("{{{{{action}}}}}: no `{part}`"));
        }
        out.push_str(cur.as_str().unwrap_or_else(|| panic!("{action}: not text")));
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_notification_templates_have_the_controllers_shape() {
    let install = data(&configmap(
        "tests/plugin/fixtures/notifications-install.yaml",
    ));
    let ours = configmap(OURS);
    assert_eq!(
        ours["metadata"]["name"], "argo-rollouts-notification-configmap",
        "a patch of the controller's ConfigMap"
    );
    let ours = data(&ours);
    let mut allowed = BTreeSet::new();
    for (k, v) in &install {
        if k.starts_with("template.") {
            paths(v, "", &mut allowed);
        }
    }
    let installed: BTreeSet<&str> = install.iter().map(|(k, _)| k.as_str()).collect();
    let templates: BTreeSet<String> = ours
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("template.").map(str::to_owned))
        .collect();
    let mut triggers = BTreeSet::new();
    for (k, v) in &ours {
        if let Some(name) = k.strip_prefix("template.") {
            let mut p = BTreeSet::new();
            paths(v, "", &mut p);
            let unknown: Vec<&String> = p.difference(&allowed).collect();
            assert!(unknown.is_empty(), "{name}: fields {unknown:?}");
            assert!(p.contains("message") && p.contains("slack.attachments"));
        } else if let Some(name) = k.strip_prefix("trigger.") {
            // The install's triggers are lists of `{send: [template, ...]}`.
            for cond in v.as_array().unwrap_or_else(|| panic!("{k}: not a list")) {
                let keys: Vec<&String> = cond.as_object().unwrap().keys().collect();
                assert_eq!(keys, ["send"], "{k}");
                for t in cond["send"].as_array().unwrap() {
                    assert!(
                        templates.contains(t.as_str().unwrap()),
                        "{k} sends the missing template {t}"
                    );
                }
            }
            triggers.insert(name.to_owned());
        } else {
            // The engine's `context` map: values for `{{.context.<key>}}`.
            assert_eq!(k, "context", "unknown key {k}");
            assert!(v["rollwiseUrl"].as_str().unwrap().starts_with("http"));
        }
    }
    let want: BTreeSet<String> = ["Failed", "Error", "Inconclusive"]
        .iter()
        .map(|p| trigger_for(p))
        .collect();
    assert_eq!(triggers, want);
    // The naming rule is the controller's: it names its own the same way.
    for p in ["Failed", "Error", "Running"] {
        assert!(
            installed.contains(format!("trigger.{}", trigger_for(p)).as_str()),
            "{p}"
        );
    }
}

#[test]
fn the_notifications_render_with_a_real_rollout_and_link_to_its_analyses() {
    let rollout: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::cli::repo_path(
            "tools/fixtures/rollout-aborted-rollout-rollout-background-analysis.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let ours = data(&configmap(OURS));
    let context = ours.iter().find(|(k, _)| k == "context").unwrap().1.clone();
    let vars = serde_json::json!({"rollout": rollout, "context": context});
    let ns = rollout["metadata"]["namespace"].as_str().unwrap();
    let name = rollout["metadata"]["name"].as_str().unwrap();
    let link = format!(
        "{}/analyses?namespace={ns}&rollout={name}",
        context["rollwiseUrl"].as_str().unwrap()
    );
    let mut n = 0;
    for (k, t) in &ours {
        if !k.starts_with("template.") {
            continue;
        }
        n += 1;
        let message = render(t["message"].as_str().unwrap(), &vars);
        assert!(message.contains(&link), "{k}: {message}");
        assert!(message.contains(&format!("{ns}/{name}")), "{k}");
        let subject = render(t["email"]["subject"].as_str().unwrap(), &vars);
        assert!(subject.contains(name), "{k}");
        let attachments = render(t["slack"]["attachments"].as_str().unwrap(), &vars);
        let a: Value = serde_json::from_str(&attachments)
            .unwrap_or_else(|e| panic!("{k}: {e}: {attachments}"));
        assert_eq!(a[0]["title_link"], link.as_str(), "{k}");
        assert!(a[0]["text"].as_str().is_some_and(|s| !s.is_empty()), "{k}");
    }
    assert_eq!(n, 3);
}
