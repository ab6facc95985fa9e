//! The installed platforms' schemas as components: per platform its config
//! (`<P>Config`), the definitions that config refers to (`<P>_<Name>`, moved
//! out of its `$defs` so OpenAPI tools resolve them), its payload
//! (`<P>Payload`) and its DELETE credentials (`<P>DeleteCredentials`); then
//! `Payload`, a `oneOf` of the payloads with a discriminator on `type`, and
//! `DeleteCredentialsBody`, any of the credentials.

use junction_core::{BootstrapModes, PlatformDescriptor};
use serde_json::{Map, Value, json};

/// The component every payload body refers to.
pub const PAYLOAD: &str = "Payload";
/// The component the bodies of an edit refer to: a payload whose secrets
/// may be left out (the stored ones are kept).
pub const EDIT_PAYLOAD: &str = "EditPayload";
/// The component the DELETE body refers to.
pub const DELETE_CREDENTIALS: &str = "DeleteCredentialsBody";

/// A type name as a component name: `Native S3` is `NativeS3`.
pub fn component_name(type_name: &str) -> String {
    type_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect()
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Moves `schema`'s `$defs` into `components` as `<prefix>_<Name>` and points
/// every `#/$defs/…` reference (in the schema and in the moved ones) there.
fn lift(components: &mut Map<String, Value>, prefix: &str, mut schema: Value) -> Value {
    let defs = schema
        .as_object_mut()
        .and_then(|o| {
            o.remove("$schema");
            o.remove("$defs")
        })
        .and_then(|d| match d {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    for (name, mut def) in defs {
        rewrite_refs(&mut def, prefix);
        components.insert(format!("{prefix}_{name}"), def);
    }
    rewrite_refs(&mut schema, prefix);
    schema
}

fn rewrite_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "$ref" {
                    if let Some(name) = child.as_str().and_then(|s| s.strip_prefix("#/$defs/")) {
                        *child = format!("#/components/schemas/{prefix}_{name}").into();
                    }
                } else {
                    rewrite_refs(child, prefix);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite_refs(c, prefix)),
        _ => {}
    }
}

/// What `autoBootstrap` may be, as `BootstrapModes::allows` decides it.
fn auto_bootstrap(modes: BootstrapModes) -> (Value, bool) {
    match modes {
        BootstrapModes::Both => (json!({"type": "boolean", "default": false}), false),
        BootstrapModes::ManualOnly => (
            json!({"type": "boolean", "const": false, "default": false}),
            false,
        ),
        BootstrapModes::AutomaticOnly => (json!({"type": "boolean", "const": true}), true),
    }
}

/// Adds the platforms' components, `Payload` and `DeleteCredentials`.
pub fn add(components: &mut Map<String, Value>, platforms: &[&PlatformDescriptor]) {
    let mut payloads = Vec::new();
    let mut mapping = Map::new();
    let mut edits = Vec::new();
    let mut edit_mapping = Map::new();
    let mut credentials = Vec::new();
    for d in platforms {
        let p = component_name(&d.type_name);
        let config = lift(components, &p, d.config_schema.clone());
        components.insert(format!("{p}Config"), config);
        let (auto, auto_required) = auto_bootstrap(d.bootstrap_modes);
        let mut required = vec!["type", "config"];
        if auto_required {
            required.push("autoBootstrap");
        }
        components.insert(
            format!("{p}Payload"),
            json!({
                "type": "object",
                "title": format!("{} payload", d.type_name),
                "description": d.description,
                "required": required,
                "additionalProperties": false,
                "properties": {
                    "type": {"type": "string", "const": d.type_name},
                    "autoBootstrap": auto,
                    "config": reference(&format!("{p}Config")),
                    "revalidateEvery": {
                        "type": ["string", "null"],
                        "pattern": "^(off|[0-9]{1,6}[smhd]?)$",
                        "description": "How often the integration is re-validated (create and update; ±10%): `6h`, `30m`, `90s` (at least 1s), or `off`. Absent or null: the server's `--revalidate-every`.",
                        "examples": ["6h", "off"]
                    }
                },
                "examples": [{"type": d.type_name, "autoBootstrap": auto_required, "config": d.example_config}]
            }),
        );
        // The same, for an edit: its own copy of the definitions, in which
        // no secret is required.
        let edit_config = lift(components, &format!("{p}Edit"), d.config_schema.clone());
        components.insert(format!("{p}EditConfig"), edit_config);
        for pointer in &d.secret_paths {
            relax(components, &format!("{p}EditConfig"), pointer);
        }
        let mut edit = components[&format!("{p}Payload")].clone();
        edit["title"] = format!("{} payload of an edit", d.type_name).into();
        edit["properties"]["config"] = reference(&format!("{p}EditConfig"));
        components.insert(format!("{p}EditPayload"), edit);
        edits.push(reference(&format!("{p}EditPayload")));
        edit_mapping.insert(
            d.type_name.clone(),
            format!("#/components/schemas/{p}EditPayload").into(),
        );
        let creds = lift(
            components,
            &format!("{p}DeleteCredentials"),
            d.delete_credentials_schema.clone(),
        );
        components.insert(format!("{p}DeleteCredentials"), creds);
        credentials.push(reference(&format!("{p}DeleteCredentials")));
        mapping.insert(
            d.type_name.clone(),
            format!("#/components/schemas/{p}Payload").into(),
        );
        payloads.push(reference(&format!("{p}Payload")));
    }
    let payload = if payloads.is_empty() {
        // No platform installed: no payload is valid.
        json!({"description": "No platform is installed.", "not": {}})
    } else {
        json!({
            "description": "{type, autoBootstrap, config}: `type` names an installed platform, whose schema `config` follows.",
            "oneOf": payloads,
            "discriminator": {"propertyName": "type", "mapping": mapping}
        })
    };
    components.insert(PAYLOAD.into(), payload);
    let edit = if edits.is_empty() {
        json!({"description": "No platform is installed.", "not": {}})
    } else {
        json!({
            "description": "A payload as for a create, each secret optional: one left out keeps the stored value.",
            "oneOf": edits,
            "discriminator": {"propertyName": "type", "mapping": edit_mapping}
        })
    };
    components.insert(EDIT_PAYLOAD.into(), edit);
    // `null` is read as no credentials, as an empty body is.
    credentials.push(json!({"type": "null"}));
    let creds = json!({"anyOf": credentials});
    components.insert(DELETE_CREDENTIALS.into(), creds);
}

/// Takes the member a JSON pointer (`/privateKey/content`) names out of the
/// `required` lists of the component `root`, following `$ref`s into the
/// components and into each branch of a `oneOf`, `anyOf` or `allOf`.
fn relax(components: &mut Map<String, Value>, root: &str, pointer: &str) {
    let segments: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    // (component, JSON pointer inside it) of each object schema reached so far.
    let mut at = vec![(root.to_owned(), String::new())];
    for seg in parents {
        let mut next = Vec::new();
        for (name, ptr) in branches(components, at) {
            let child = format!("{ptr}/properties/{seg}");
            let Some(schema) = components.get(&name).and_then(|c| c.pointer(&child)) else {
                continue;
            };
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    if let Some(target) = r.strip_prefix("#/components/schemas/") {
                        next.push((target.to_owned(), String::new()));
                    }
                }
                None => next.push((name, child)),
            }
        }
        at = next;
    }
    for (name, ptr) in branches(components, at) {
        let required = components
            .get_mut(&name)
            .and_then(|c| c.pointer_mut(&format!("{ptr}/required")))
            .and_then(Value::as_array_mut);
        if let Some(required) = required {
            required.retain(|r| r.as_str() != Some(*last));
        }
    }
}

/// The object schemas at `at`, with those of their `oneOf`, `anyOf` and
/// `allOf` branches (and the targets of their `$ref`s).
fn branches(components: &Map<String, Value>, at: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = at;
    while let Some((name, ptr)) = todo.pop() {
        let Some(schema) = components.get(&name).and_then(|c| c.pointer(&ptr)) else {
            continue;
        };
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            if out.len() < 64 {
                todo.push((target.to_owned(), String::new()));
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            let n = schema
                .get(key)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for i in 0..n {
                todo.push((name.clone(), format!("{ptr}/{key}/{i}")));
            }
        }
        out.push((name, ptr));
    }
    out
}
