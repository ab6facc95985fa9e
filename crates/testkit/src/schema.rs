//! A JSON Schema (2020-12) validator for the subset of keywords that schemars
//! emits for Junction's configs. A keyword outside the subset is reported as
//! an error rather than ignored, so a schema can never pass unchecked.

use serde_json::Value;

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "writeOnly",
    "readOnly",
    "deprecated",
    "format",
    "$comment",
];

/// Every way `value` breaks `schema`, each with its path (`config.port`).
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "config", &mut errors, 0);
    errors
}

fn check(
    root: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if depth > 64 {
        errors.push(format!("{path}: schema nests too deep"));
        return;
    }
    let obj = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{path}: no value is allowed here"));
            return;
        }
        Value::Object(o) => o,
        _ => {
            errors.push(format!(
                "{path}: the schema is neither an object nor a boolean"
            ));
            return;
        }
    };
    for (key, kw) in obj {
        match key.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => match kw
                .as_str()
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|p| root.pointer(p))
            {
                Some(target) => check(root, target, value, path, errors, depth + 1),
                None => errors.push(format!("{path}: unresolvable $ref {kw}")),
            },
            "type" => {
                let allowed: Vec<&str> = match kw {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !allowed.iter().any(|t| is_type(value, t)) {
                    errors.push(format!(
                        "{path}: expected {}, found {}",
                        allowed.join(" or "),
                        type_of(value)
                    ));
                }
            }
            "enum" => {
                if !kw.as_array().is_some_and(|a| a.contains(value)) {
                    errors.push(format!("{path}: {value} is not one of {kw}"));
                }
            }
            "const" => {
                if kw != value {
                    errors.push(format!("{path}: expected {kw}"));
                }
            }
            "properties" => {
                if let (Some(props), Some(v)) = (kw.as_object(), value.as_object()) {
                    for (name, sub) in props {
                        if let Some(field) = v.get(name) {
                            check(
                                root,
                                sub,
                                field,
                                &format!("{path}.{name}"),
                                errors,
                                depth + 1,
                            );
                        }
                    }
                }
            }
            "required" => {
                if let (Some(req), Some(v)) = (kw.as_array(), value.as_object()) {
                    for name in req.iter().filter_map(Value::as_str) {
                        if !v.contains_key(name) {
                            errors.push(format!("{path}.{name}: required"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(v) = value.as_object() {
                    let known = obj.get("properties").and_then(Value::as_object);
                    for (name, field) in v {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        check(
                            root,
                            kw,
                            field,
                            &format!("{path}.{name}"),
                            errors,
                            depth + 1,
                        );
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        check(root, kw, item, &format!("{path}[{i}]"), errors, depth + 1);
                    }
                }
            }
            "minimum" | "maximum" => {
                if let (Some(limit), Some(n)) = (kw.as_f64(), value.as_f64()) {
                    let ok = if key == "minimum" {
                        n >= limit
                    } else {
                        n <= limit
                    };
                    if !ok {
                        errors.push(format!("{path}: {n} breaks {key} {limit}"));
                    }
                }
            }
            "minLength" | "maxLength" => {
                if let (Some(limit), Some(s)) = (kw.as_u64(), value.as_str()) {
                    let len = s.chars().count() as u64;
                    let ok = if key == "minLength" {
                        len >= limit
                    } else {
                        len <= limit
                    };
                    if !ok {
                        errors.push(format!("{path}: length {len} breaks {key} {limit}"));
                    }
                }
            }
            "pattern" => {
                // ECMA-262 in the standard; the `regex` crate's syntax agrees
                // on the classes and anchors schemars' patterns use.
                if let (Some(p), Some(s)) = (kw.as_str(), value.as_str()) {
                    match regex::Regex::new(p) {
                        Ok(re) if re.is_match(s) => {}
                        Ok(_) => errors.push(format!("{path}: does not match the pattern {p:?}")),
                        Err(e) => {
                            errors.push(format!("{path}: the pattern {p:?} is not valid: {e}"))
                        }
                    }
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(limit), Some(a)) = (kw.as_u64(), value.as_array()) {
                    let len = a.len() as u64;
                    let ok = if key == "minItems" {
                        len >= limit
                    } else {
                        len <= limit
                    };
                    if !ok {
                        errors.push(format!("{path}: {len} items break {key} {limit}"));
                    }
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                let subs = kw.as_array().cloned().unwrap_or_default();
                let passing = subs
                    .iter()
                    .filter(|s| {
                        let mut e = Vec::new();
                        check(root, s, value, path, &mut e, depth + 1);
                        e.is_empty()
                    })
                    .count();
                let ok = match key.as_str() {
                    "allOf" => passing == subs.len(),
                    "anyOf" => passing >= 1,
                    _ => passing == 1,
                };
                if !ok {
                    errors.push(format!(
                        "{path}: {passing} of {} alternatives match ({key})",
                        subs.len()
                    ));
                }
            }
            other => errors.push(format!(
                "{path}: keyword \"{other}\" is outside the supported subset"
            )),
        }
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
