//! Strict checks on the names callers send, before any of them reaches a label
//! selector, a PromQL query or a cache key.

use super::api::ApiError;

/// A namespace: a DNS-1123 label.
pub fn namespace(field: &str, v: &str) -> Result<(), ApiError> {
    if v.is_empty() || v.len() > 63 || !dns_label(v) {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not a namespace name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)",
                shown(v)
            ),
        ));
    }
    Ok(())
}

/// A Rollout (object) name: a DNS-1123 subdomain.
pub fn object_name(field: &str, v: &str) -> Result<(), ApiError> {
    if v.is_empty() || v.len() > 253 || !v.split('.').all(dns_label) {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not a Kubernetes object name (lowercase letters, digits, '-' and '.', at most 253)",
                shown(v)
            ),
        ));
    }
    Ok(())
}

/// A pod template hash: what `rollouts-pod-template-hash` holds.
pub fn hash(field: &str, v: &str) -> Result<(), ApiError> {
    if v.is_empty() || v.len() > 63 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not a pod template hash (letters and digits, at most 63); Argo fills it from podTemplateHashValue",
                shown(v)
            ),
        ));
    }
    Ok(())
}

/// An equality-based label selector: `k=v,k2==v2,k3!=v3`.
pub fn selector(field: &str, v: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not a label selector ({why}); use key=value pairs separated by commas",
                shown(v)
            ),
        ))
    };
    if v.is_empty() || v.len() > 1024 {
        return bad("empty or too long");
    }
    for term in v.split(',') {
        let (k, val) = match term
            .split_once("!=")
            .or_else(|| term.split_once("=="))
            .or_else(|| term.split_once('='))
        {
            Some(kv) => kv,
            None => return bad("a term has no '='"),
        };
        let key_ok = !k.is_empty()
            && k.len() <= 317
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._/".contains(&b));
        let val_ok = val.len() <= 63
            && val
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !key_ok || !val_ok {
            return bad("a key or value has characters labels cannot have");
        }
    }
    Ok(())
}

/// A PromQL override: bounded, printable, one line.
pub fn query(field: &str, v: &str) -> Result<(), ApiError> {
    if v.trim().is_empty() || v.len() > 4096 || v.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid_field(
            field,
            "a query must be one line of PromQL of at most 4096 characters",
        ));
    }
    Ok(())
}

fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Echo a bad value back bounded and printable.
fn shown(v: &str) -> String {
    let clean: String = v
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    crate::text::clip(&clean, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hashes_and_selectors() {
        assert!(namespace("namespace", "shop-prod").is_ok());
        assert!(namespace("namespace", "Shop").is_err());
        assert!(namespace("namespace", "-x").is_err());
        assert!(object_name("rollout", "checkout.v2").is_ok());
        assert!(object_name("rollout", "a/b").is_err());
        assert!(hash("canaryHash", "6f8b9c7d5").is_ok());
        let e = hash("canaryHash", "x\"}or vector(1)").unwrap_err();
        assert_eq!(e.error.field.as_deref(), Some("canaryHash"));
        assert!(selector("s", "role=canary,app=web").is_ok());
        assert!(selector("s", "app!=x,tier==be").is_ok());
        assert!(selector("s", "role").is_err());
        assert!(selector("s", "a=b\"c").is_err());
        assert!(query("q", "sum(rate(x[1m]))").is_ok());
        assert!(query("q", "x\ny").is_err());
    }
}
