//! The OpenAPI 3.1 document, built from the same route table as the router.
//!
//! `api::routes()` lists every endpoint once, as a [`Route`]: its handler
//! and what the document says of it (summary, parameters, body, every status
//! code with its schema). [`routers`] builds axum's routers from that list
//! and [`document`] builds the document from it, so an endpoint cannot be
//! served without being documented (a test also refuses a `.route(` anywhere
//! else in the crate's sources, since axum cannot list its routes).
//!
//! Why schemars and a table of our own, not utoipa or aide: the types were
//! already schemars (v1) types, and so is every platform's config schema.
//! aide 0.15 is built on schemars 0.9, a second major beside our v1 (two
//! derives per type); utoipa has its own `ToSchema` derive and a large
//! proc-macro crate (utoipa-gen) and would still take the platforms' schemas
//! as raw JSON. Either adds 17 to 25 crates to the host's tree (`cargo tree`
//! on a probe crate of axum 0.8 and schemars 1); this adds none. The price is
//! this module: the table, and putting the platforms' `$defs` where OpenAPI
//! resolves them.
//!
//! Bounds and strictness follow what the server does: `{id}` is an int64 from
//! 1 (a malformed one is a documented 400), a payload refuses unknown members
//! (`additionalProperties: false`, as `Payload` denies them), and each
//! platform's config keeps its own schema's strictness.

mod platforms;
mod table;
pub mod types;

pub use table::{Access, Answer, Body, Content, In, Param, Route, SchemaFn, schema};

use crate::api::App;
use crate::error::ApiError;
use axum::Router;
use junction_core::PlatformDescriptor;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// The routers of a route table: the public routes, and those behind the key
/// check (the caller adds it as a route layer).
pub struct Routers {
    pub public: Router<App>,
    pub protected: Router<App>,
}

/// Builds the routers from the table.
pub fn routers(routes: Vec<Route>) -> Routers {
    let mut public = Router::new();
    let mut protected = Router::new();
    for r in routes {
        // axum merges the methods of one path given in several calls.
        if r.access == Access::Public {
            public = public.route(r.path, r.handler);
        } else {
            protected = protected.route(r.path, r.handler);
        }
    }
    Routers { public, protected }
}

/// The generator whose `$ref`s point into `components/schemas`.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

const ERROR_REF: &str = "#/components/schemas/Error";

/// The OpenAPI 3.1 document of `routes`, with the installed platforms' schemas.
pub fn document(routes: &[Route], platforms: &[&PlatformDescriptor]) -> Value {
    let mut generator = generator();
    let error = generator.subschema_for::<ApiError>();
    debug_assert_eq!(error.get("$ref").and_then(Value::as_str), Some(ERROR_REF));
    let mut components = Map::new();
    platforms::add(&mut components, platforms);

    let mut paths = Map::new();
    for r in routes {
        let op = operation(r, &mut generator, routes);
        let item = paths
            .entry(r.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            item.insert(r.method.as_str().to_ascii_lowercase(), op);
        }
    }
    for (name, schema) in generator.take_definitions(true) {
        // A type's name taken by a platform's component would be answered
        // with the wrong schema: a test's failure, never a silent overwrite.
        debug_assert!(
            !components.contains_key(&name),
            "the component {name} is both a type's and a platform's"
        );
        components.entry(name).or_insert(schema);
    }
    for schema in components.values_mut() {
        bound_integers(schema);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Junction Integrations API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Integrations between a data-governance service and data platforms."
        },
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key; the bare key in Authorization is accepted too."
            }},
            "schemas": components
        }
    })
}

/// An integer's range from its `format` (`uint64`, `int32`, … as schemars
/// writes a Rust integer's): JSON Schema knows no such format, and a value
/// out of the type's range is refused by the server.
fn bound_integers(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let range: Option<(Value, Value)> = match o.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((0.into(), u8::MAX.into())),
                Some("uint16") => Some((0.into(), u16::MAX.into())),
                Some("uint32" | "uint") => Some((0.into(), u32::MAX.into())),
                Some("uint64") => Some((0.into(), u64::MAX.into())),
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("int32" | "int") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
                _ => None,
            };
            if let Some((min, max)) = range {
                o.entry("minimum").or_insert(min);
                o.entry("maximum").or_insert(max);
            }
            o.values_mut().for_each(bound_integers);
        }
        Value::Array(a) => a.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// The `{id}` path parameter, as `api::parse_id` takes it.
fn id_param() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "The integration's id.",
        "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}
    })
}

fn operation(r: &Route, generator: &mut SchemaGenerator, routes: &[Route]) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), r.operation_id().into());
    op.insert("summary".into(), r.summary.into());
    if r.access == Access::Public {
        op.insert("security".into(), json!([]));
    }
    let mut params = Vec::new();
    if r.placeholders().any(|p| p == "id") {
        params.push(id_param());
    }
    for p in &r.params {
        let location = match p.location {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
        };
        let mut v =
            json!({"name": p.name, "in": location, "required": p.required, "schema": p.schema});
        if !p.description.is_empty() {
            v["description"] = p.description.into();
        }
        params.push(v);
    }
    if !params.is_empty() {
        op.insert("parameters".into(), params.into());
    }
    if let Some(body) = request_body(r.body, generator) {
        op.insert("requestBody".into(), body);
    }
    let mut responses = Map::new();
    for a in r.all_answers() {
        let mut v = json!({"description": a.description});
        match a.content {
            Content::None => {}
            Content::Error => {
                v["content"] = json!({"application/json": {"schema": {"$ref": ERROR_REF}}})
            }
            Content::Json(f) => {
                v["content"] = json!({"application/json": {"schema": f(generator)}})
            }
            Content::Text(media) => v["content"] = json!({media: {"schema": {"type": "string"}}}),
            // Before OpenAPI 3.2 (`itemSchema`), a stream's `schema` describes each event.
            Content::EventStream(f) => {
                v["content"] = json!({"text/event-stream": {"schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "id": {"type": "string"},
                        "event": {"type": "string"},
                        "retry": {"type": "integer"},
                        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": f(generator)}
                    }
                }}})
            }
        }
        if r.links_to_id && (200..300).contains(&a.status) {
            v["links"] = links(r, routes);
        }
        responses.insert(a.status.to_string(), v);
    }
    op.insert("responses".into(), responses.into());
    Value::Object(op)
}

/// From an answer with an `id` (`POST /integrations`, `POST /webhooks`) to
/// every operation under the same path that takes it (`/integrations/{id}…`,
/// `/webhooks/{webhookId}…`).
fn links(from: &Route, routes: &[Route]) -> Value {
    let mut links = Map::new();
    let under = format!("{}/{{", from.path);
    for t in routes.iter().filter(|t| t.path.starts_with(&under)) {
        let Some(param) = t.placeholders().next() else {
            continue;
        };
        let id = t.operation_id();
        links.insert(
            id.clone(),
            json!({"operationId": id, "parameters": {param: "$response.body#/id"}}),
        );
    }
    Value::Object(links)
}

fn request_body(body: Body, generator: &mut SchemaGenerator) -> Option<Value> {
    let payload = |name: &str| {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        Some(json!({"required": true, "content": {
            "application/json": {"schema": schema},
            "application/yaml": {"schema": schema}
        }}))
    };
    match body {
        Body::None => None,
        Body::Payload => payload(platforms::PAYLOAD),
        Body::EditPayload => payload(platforms::EDIT_PAYLOAD),
        Body::DeleteCredentials => Some(json!({
            "required": false,
            "description": "Automatically set-up integrations only: the platform's privileged credentials (GET /platforms, deleteCredentialsSchema), used once and never stored.",
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", platforms::DELETE_CREDENTIALS)}}}
        })),
        Body::Json { schema, required } => Some(json!({
            "required": required,
            "content": {"application/json": {"schema": schema(generator)}}
        })),
    }
}

#[cfg(test)]
mod tests;
