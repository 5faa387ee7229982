//! Strict checks on the names callers send, before any of them reaches a label
//! selector, a PromQL query or a cache key.

use rollwise_tools::kube::validate as kube_validate;

use super::api::ApiError;

/// Kubernetes' own syntax rules (`rollwise_tools::kube::validate`, the ones the
/// gatherer applies again before any request), as a 422 naming `field`.
fn kube_rule(
    field: &str,
    v: &str,
    rule: fn(&str) -> rollwise_tools::Result<&str>,
) -> Result<(), ApiError> {
    rule(v).map(|_| ()).map_err(|e| {
        let why = match e {
            rollwise_tools::Error::Invalid { what, message } => {
                format!("not a valid {what}: {message}")
            }
            other => other.to_string(),
        };
        ApiError::invalid_field(field, why)
    })
}

/// A namespace: a DNS-1123 label.
pub fn namespace(field: &str, v: &str) -> Result<(), ApiError> {
    kube_rule(field, v, kube_validate::namespace)
}

/// A Rollout (object) name: a DNS-1123 subdomain.
pub fn object_name(field: &str, v: &str) -> Result<(), ApiError> {
    kube_rule(field, v, kube_validate::object_name)
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

/// An equality-based label selector: `k=v,k2==v2,k3!=v3`. Every term must
/// compare a value: an existence term (`tier`, `!legacy`) would select pods by
/// a key alone, which no caller means.
pub fn selector(field: &str, v: &str) -> Result<(), ApiError> {
    kube_rule(field, v, kube_validate::label_selector)?;
    if v.split(',').any(|t| !t.contains('=')) {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not a label selector (a term has no '='); use key=value pairs separated by commas",
                shown(v)
            ),
        ));
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
