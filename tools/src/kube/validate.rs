//! Strict syntax checks for anything that ends up in a URL path, a label or
//! field selector, or a PromQL label matcher. A value that passes cannot carry
//! a quote, a comma, a brace or a slash into any of them, so a request cannot
//! widen a selector or inject PromQL.
//!
//! The rules are Kubernetes' own (apimachinery `validation.IsDNS1123Label`,
//! `IsDNS1123Subdomain`, `IsQualifiedName`, `IsValidLabelValue`).

use crate::error::{Error, Result};

fn invalid(what: &str, value: &str, why: &str) -> Error {
    // The value is echoed only when short: it may come from an untrusted request.
    let shown: String = value.chars().take(64).collect();
    Error::Invalid {
        what: what.to_owned(),
        message: format!("{shown:?} {why}"),
    }
}

fn alnum_ends(s: &str) -> bool {
    let ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    ok(s.chars().next()) && ok(s.chars().last())
}

/// A namespace (DNS-1123 label): 1-63 of `[a-z0-9-]`, alphanumeric at both ends.
pub fn namespace(s: &str) -> Result<&str> {
    dns_label(s).map_err(|why| invalid("namespace", s, why))?;
    Ok(s)
}

fn dns_label(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may contain only lowercase letters, digits and '-'");
    }
    if !alnum_ends(s) {
        return Err("must start and end with a letter or digit");
    }
    Ok(())
}

/// An object name (DNS-1123 subdomain): 1-253 of `[a-z0-9.-]`, each dot-separated
/// part a DNS label. Pods, ReplicaSets, Rollouts and AnalysisRuns are named so.
pub fn object_name(s: &str) -> Result<&str> {
    if s.is_empty() || s.len() > 253 {
        return Err(invalid("name", s, "must be 1 to 253 characters"));
    }
    for part in s.split('.') {
        dns_label(part).map_err(|why| invalid("name", s, why))?;
    }
    Ok(s)
}

/// A label value that must be present (a pod-template hash, a container name):
/// 1-63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn label_value(s: &str) -> Result<&str> {
    label_value_inner(s).map_err(|why| invalid("label value", s, why))?;
    Ok(s)
}

fn label_value_inner(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may contain only letters, digits, '-', '_' and '.'");
    }
    if !alnum_ends(s) {
        return Err("must start and end with a letter or digit");
    }
    Ok(())
}

/// A label key: an optional DNS-subdomain prefix and '/', then a name as
/// [`label_value`] allows.
fn label_key(s: &str) -> std::result::Result<(), &'static str> {
    let name = match s.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return Err("has a key prefix that is not 1 to 253 characters");
            }
            for part in prefix.split('.') {
                dns_label(part).map_err(|_| "has a key prefix that is not a DNS subdomain")?;
            }
            name
        }
        None => s,
    };
    label_value_inner(name)
}

/// An equality-based label selector (`app=x,role!=canary,tier,!legacy`), the
/// form Flagger and the metric-ai plugin use. Set-based terms (`in`, `notin`)
/// are refused: no caller needs them, and every accepted character is one the
/// checks above allow.
pub fn label_selector(s: &str) -> Result<&str> {
    if s.is_empty() || s.len() > 1024 {
        return Err(invalid("label selector", s, "must be 1 to 1024 characters"));
    }
    for term in s.split(',') {
        let check = |key: &str, value: Option<&str>| -> std::result::Result<(), &'static str> {
            label_key(key)?;
            match value {
                // An empty value is legal in a selector (`tier=`).
                Some(v) if !v.is_empty() => label_value_inner(v),
                _ => Ok(()),
            }
        };
        let res = if let Some((k, v)) = term.split_once("!=") {
            check(k, Some(v))
        } else if let Some((k, v)) = term.split_once("==") {
            check(k, Some(v))
        } else if let Some((k, v)) = term.split_once('=') {
            check(k, Some(v))
        } else if let Some(k) = term.strip_prefix('!') {
            check(k, None)
        } else {
            check(term, None)
        };
        res.map_err(|why| invalid("label selector", s, why))?;
    }
    Ok(s)
}

/// Labels a selector requires to equal a value (`k=v` and `k==v` terms).
pub fn selector_equalities(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter(|t| !t.contains("!="))
        .filter_map(|t| t.split_once("==").or_else(|| t.split_once('=')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kubernetes_rules() {
        assert!(namespace("shop").is_ok());
        assert!(namespace("a-1").is_ok());
        for bad in ["", "Shop", "-a", "a-", "a.b", "a\"b", &"a".repeat(64)] {
            assert!(namespace(bad).is_err(), "{bad}");
        }
        assert!(object_name("canary-demo-65fb5ffc84-9wf5r").is_ok());
        assert!(object_name("a.b-c").is_ok());
        for bad in ["", "a..b", "a/b", "A", "a b", "a\nb", ".a"] {
            assert!(object_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_values_cannot_carry_promql_or_selector_syntax() {
        assert!(label_value("65fb5ffc84").is_ok());
        assert!(label_value("v1.2_3-x").is_ok());
        for bad in [
            "",
            "abc\"}",
            "a,b",
            "a=b",
            "a|b",
            "a b",
            "-a",
            "a\\",
            &"a".repeat(64),
        ] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn selectors_are_equality_based_only() {
        for ok in [
            "app=x",
            "app==x,role!=canary",
            "app.kubernetes.io/name=checkout,tier",
            "!legacy",
            "tier=",
        ] {
            assert!(label_selector(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "app in (a,b)",
            "app=x,",
            "app=\"x\"",
            "app=x}",
            "a/b/c=x",
            "=x",
            "app=x y",
        ] {
            assert!(label_selector(bad).is_err(), "{bad}");
        }
        let e = label_selector("app=x}").unwrap_err();
        assert!(e.to_string().contains("label selector"), "{e}");
        assert_eq!(
            selector_equalities("app=x,role!=c,t==y,z"),
            vec![("app", "x"), ("t", "y")]
        );
    }
}
