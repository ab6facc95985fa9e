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

    let link_targets: Vec<&Route> = routes
        .iter()
        .filter(|r| r.path.starts_with("/integrations/{id}"))
        .collect();
    let mut paths = Map::new();
    for r in routes {
        let op = operation(r, &mut generator, &link_targets);
        let item = paths
            .entry(r.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            item.insert(r.method.as_str().to_ascii_lowercase(), op);
        }
    }
    for (name, schema) in generator.take_definitions(true) {
        components.entry(name).or_insert(schema);
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

/// The `{id}` path parameter, as `api::parse_id` takes it.
fn id_param() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "The integration's id.",
        "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}
    })
}

fn operation(r: &Route, generator: &mut SchemaGenerator, link_targets: &[&Route]) -> Value {
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
        }
        if r.links_to_id && (200..300).contains(&a.status) {
            v["links"] = links(link_targets);
        }
        responses.insert(a.status.to_string(), v);
    }
    op.insert("responses".into(), responses.into());
    Value::Object(op)
}

/// From an answer with the integration's `id` to every operation that takes it.
fn links(targets: &[&Route]) -> Value {
    let mut links = Map::new();
    for t in targets {
        let id = t.operation_id();
        links.insert(
            id.clone(),
            json!({"operationId": id, "parameters": {"id": "$response.body#/id"}}),
        );
    }
    Value::Object(links)
}

fn request_body(body: Body, generator: &mut SchemaGenerator) -> Option<Value> {
    let payload = json!({"$ref": format!("#/components/schemas/{}", platforms::PAYLOAD)});
    match body {
        Body::None => None,
        Body::Payload => Some(json!({"required": true, "content": {
            "application/json": {"schema": payload},
            "application/yaml": {"schema": payload}
        }})),
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
