//! A small JSON Schema validator for the keywords GitHub's OpenAPI description
//! uses in the operations rollwise calls (checked by
//! scripts/github-openapi-subset.sh's output: type, properties, required,
//! items, enum, additionalProperties, oneOf, anyOf, minLength, maxLength,
//! minItems; `nullable` is already rewritten to a "null" type). Written here
//! rather than pulling the `jsonschema` crate and its dependency tree into
//! every test build on a 2-core machine; any keyword it does not know makes
//! validation fail, so it cannot silently pass a schema it does not check.

use serde_json::Value;

const IGNORED: [&str; 5] = [
    "default",
    "x-github-breaking-changes",
    "changeset",
    "patch",
    "version",
];
const KNOWN: [&str; 11] = [
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "additionalProperties",
    "oneOf",
    "anyOf",
    "minLength",
    "maxLength",
    "minItems",
];

/// Errors found validating `v` against `schema`, with JSON paths.
pub fn validate(schema: &Value, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    check(schema, v, "$", &mut errs);
    errs
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => false,
    }
}

fn check(schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        if schema != &Value::Bool(true) {
            errs.push(format!("{path}: unsupported schema {schema}"));
        }
        return;
    };
    for k in s.keys() {
        if !KNOWN.contains(&k.as_str()) && !IGNORED.contains(&k.as_str()) {
            errs.push(format!(
                "{path}: schema keyword `{k}` is not supported by this validator"
            ));
        }
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)),
            _ => false,
        };
        if !ok {
            errs.push(format!("{path}: expected type {t}, got {}", short(v)));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!(
            "{path}: {} not in enum {}",
            short(v),
            Value::Array(e.clone())
        ));
    }
    if let Some(str_v) = v.as_str() {
        let n = str_v.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && n < min
        {
            errs.push(format!("{path}: shorter than {min}"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && n > max
        {
            errs.push(format!("{path}: longer than {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errs.push(format!("{path}: missing required `{r}`"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(ps, val, &format!("{path}.{k}"), errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errs.push(format!("{path}: unexpected property `{k}`"))
                    }
                    Some(ap @ Value::Object(_)) => check(ap, val, &format!("{path}.{k}"), errs),
                    _ => {}
                },
            }
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < min
        {
            errs.push(format!("{path}: fewer than {min} items"));
        }
        if let Some(items) = s.get("items") {
            for (i, x) in arr.iter().enumerate() {
                check(items, x, &format!("{path}[{i}]"), errs);
            }
        }
    }
    let matching = |list: &Vec<Value>| {
        list.iter()
            .filter(|sub| validate(sub, v).is_empty())
            .count()
    };
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && matching(any) == 0
    {
        errs.push(format!(
            "{path}: matches none of anyOf ({} branches)",
            any.len()
        ));
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        let n = matching(one);
        if n != 1 {
            errs.push(format!(
                "{path}: matches {n} of oneOf's {} branches, not exactly 1",
                one.len()
            ));
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}...", &s[..60])
    } else {
        s
    }
}

#[test]
fn the_validator_rejects_what_it_should() {
    let s = serde_json::json!({
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": ["string", "null"], "maxLength": 3}, "b": {"enum": [1, 2]}},
        "additionalProperties": false
    });
    assert!(validate(&s, &serde_json::json!({"a": "abc", "b": 2})).is_empty());
    assert!(validate(&s, &serde_json::json!({"a": null})).is_empty());
    assert_eq!(validate(&s, &serde_json::json!({"b": 3, "c": 1})).len(), 3);
    assert_eq!(validate(&s, &serde_json::json!({"a": "abcd"})).len(), 1);
    let one = serde_json::json!({"oneOf": [{"type": "string"}, {"type": ["string", "null"]}]});
    assert_eq!(
        validate(&one, &serde_json::json!("x")).len(),
        1,
        "two branches match"
    );
    let unknown = serde_json::json!({"type": "string", "pattern": "^x"});
    assert_eq!(
        validate(&unknown, &serde_json::json!("x")).len(),
        1,
        "unknown keyword fails"
    );
}
