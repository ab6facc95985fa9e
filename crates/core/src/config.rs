//! Configuration errors with JSON paths, and the JSON surgery around secrets:
//! finding secret fields in a schema, removing them for responses, splitting
//! them out for encryption, and keeping stored ones on a partial update.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldError {
    /// Dotted JSON path from the request body's root: `config.impersonation.role`.
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every bad field found; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, thiserror::Error)]
pub struct ConfigErrors(pub Vec<FieldError>);

impl ConfigErrors {
    pub fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigErrors(vec![FieldError::new(path, message)])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    /// `Ok(())` when no error was pushed.
    pub fn into_result(self) -> Result<(), ConfigErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

/// Joins a prefix and a path segment: `join("config", "port") == "config.port"`.
pub fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (_, true) => prefix.to_owned(),
        _ if rest.starts_with('[') => format!("{prefix}{rest}"),
        _ => format!("{prefix}.{rest}"),
    }
}

/// Deserialises `value` into `T`, turning the first error into a [`FieldError`]
/// whose path starts with `prefix` and names the bad field. serde's messages
/// never quote the input's values for the types we use, so no secret leaks here.
pub fn from_json_at<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
) -> Result<T, ConfigErrors> {
    let de = value.clone();
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        let message = e.inner().to_string();
        // A missing field is reported at its parent: name the field itself.
        let field = quoted_field(&message, "unknown field `")
            .or_else(|| quoted_field(&message, "missing field `"));
        if let Some(field) = field {
            // serde_path_to_error already names an unknown field; a missing one it does not.
            if path.rsplit('.').next() != Some(field) {
                path = join_path(&path, field);
            }
        }
        ConfigErrors::one(join_path(prefix, &path), tidy_serde_message(&message))
    })
}

fn quoted_field<'a>(message: &'a str, lead: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(lead)?;
    rest.split('`').next()
}

/// serde's messages, minus the line/column of a value that was not text.
fn tidy_serde_message(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// JSON pointers (relative to the config) of every field the schema marks
/// `writeOnly`: the secrets. Follows local `$ref`s and `anyOf`/`oneOf`/`allOf`.
pub fn secret_paths(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, schema, String::new(), &mut out, 0);
    out.sort();
    out.dedup();
    out
}

fn walk(root: &Value, node: &Value, at: String, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Some(obj) = node.as_object() else { return };
    if obj.get("writeOnly").and_then(Value::as_bool) == Some(true) && !at.is_empty() {
        out.push(at.clone());
        return;
    }
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        if let Some(pointer) = target.strip_prefix('#') {
            if let Some(resolved) = root.pointer(pointer) {
                walk(root, resolved, at.clone(), out, depth + 1);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            for sub in list {
                walk(root, sub, at.clone(), out, depth + 1);
            }
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            walk(
                root,
                sub,
                format!("{at}/{}", escape_pointer(name)),
                out,
                depth + 1,
            );
        }
    }
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The parent object of a pointer's target, and the last segment.
fn parent_mut<'a>(
    value: &'a mut Value,
    pointer: &str,
) -> Option<(&'a mut Map<String, Value>, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let last = last.replace("~1", "/").replace("~0", "~");
    let parent = if parent.is_empty() {
        value
    } else {
        value.pointer_mut(parent)?
    };
    Some((parent.as_object_mut()?, last))
}

/// `value` without the fields at `paths`: what a response or a log may show.
pub fn without_secrets(value: &Value, paths: &[String]) -> Value {
    let mut value = value.clone();
    for p in paths {
        if let Some((parent, key)) = parent_mut(&mut value, p) {
            parent.remove(&key);
        }
    }
    value
}

/// Splits `value` into its public part and its secrets, keyed by pointer.
pub fn split_secrets(value: &Value, paths: &[String]) -> (Value, Map<String, Value>) {
    let mut public = value.clone();
    let mut secrets = Map::new();
    for p in paths {
        if let Some((parent, key)) = parent_mut(&mut public, p) {
            if let Some(v) = parent.remove(&key) {
                if !v.is_null() {
                    secrets.insert(p.clone(), v);
                }
            }
        }
    }
    (public, secrets)
}

/// Puts secrets split out by [`split_secrets`] back.
pub fn join_secrets(public: &Value, secrets: &Map<String, Value>) -> Value {
    let mut value = public.clone();
    for (p, v) in secrets {
        if let Some((parent, key)) = parent_mut(&mut value, p) {
            parent.insert(key, v.clone());
        }
    }
    value
}

/// For a partial update: each secret that `new` leaves out, while keeping the
/// object that holds it, is taken from `old`. Returns the pointers filled.
pub fn keep_omitted_secrets(new: &mut Value, old: &Value, paths: &[String]) -> Vec<String> {
    let mut filled = Vec::new();
    for p in paths {
        let Some(old_value) = old.pointer(p) else {
            continue;
        };
        if let Some((parent, key)) = parent_mut(new, p) {
            if !parent.contains_key(&key) {
                parent.insert(key, old_value.clone());
                filled.push(p.clone());
            }
        }
    }
    filled
}
