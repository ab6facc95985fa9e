//! The OpenAPI 3.1 document of the API, with the installed platforms' config schemas.

use crate::host::Host;
use serde_json::{Value, json};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn payload_body() -> Value {
    json!({"required": true, "content": {
        "application/json": {"schema": r("Payload")},
        "application/yaml": {"schema": r("Payload")}
    }})
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}])
}

fn op(summary: &str, admin: bool, mut responses: serde_json::Map<String, Value>) -> Value {
    responses.insert("401".into(), err("No or unknown API key."));
    if admin {
        responses.insert("403".into(), err("The key has the read role."));
    }
    json!({"summary": summary, "responses": responses})
}

fn resp(pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub fn document(host: &Host) -> Value {
    let platforms = host.descriptors();
    let configs: Vec<Value> = platforms
        .iter()
        .map(|d| json!({"title": d.type_name, "properties": {"type": {"const": d.type_name}, "config": d.config_schema}}))
        .collect();
    let types: Vec<&str> = platforms.iter().map(|d| d.type_name.as_str()).collect();
    let integration = r("Integration");
    let with_payload = |mut o: Value| {
        o["requestBody"] = payload_body();
        o
    };
    let create = with_payload(op(
        "Create an integration; tests and set-up continue in the background.",
        true,
        resp(&[
            (
                "202",
                ok("Accepted: status `creating`.", integration.clone()),
            ),
            ("400", err("Bad input; `details` names each bad field.")),
            (
                "409",
                err("An integration for the same platform account exists."),
            ),
            ("413", err("The body is too large.")),
        ]),
    ));
    let mut create = create;
    create["parameters"] = json!([{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255}}]);
    let edit = {
        let mut o = with_payload(op(
            "Edit an integration (or retry a failed create). Secrets left out are kept.",
            true,
            resp(&[
                (
                    "202",
                    ok(
                        "Accepted: status `editing` (or `creating`).",
                        integration.clone(),
                    ),
                ),
                ("400", err("Bad input.")),
                ("404", err("No Integration found with ID n.")),
                (
                    "409",
                    err("An operation is running, or the integration is deleted."),
                ),
            ]),
        ));
        o["parameters"] = id_param();
        o
    };
    let script = |summary: &str, with_id: bool, with_body: bool| {
        let mut o = op(
            summary,
            true,
            resp(&[
                (
                    "200",
                    ok("The script; secrets appear as [redacted].", r("Script")),
                ),
                ("400", err("Bad input.")),
                ("404", err("No Integration found with ID n.")),
                ("422", err("The platform has no such script.")),
            ]),
        );
        if with_id {
            o["parameters"] = id_param();
        }
        if with_body {
            o["requestBody"] = payload_body();
        }
        o
    };
    let with_id = |mut o: Value| {
        o["parameters"] = id_param();
        o
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Junction Integrations API", "version": env!("CARGO_PKG_VERSION")},
        "security": [{"apiKey": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness; needs no key.", "security": [], "responses": {"200": {"description": "ok"}}}},
            "/ui": {"get": {"summary": "The status page (HTML; its script and style at /ui/app.js and /ui/app.css). Needs no key: it holds no data, asks for a key and sends it to the API as a bearer header.", "security": [], "responses": {"200": {"description": "The page.", "content": {"text/html": {}}}}}},
            "/integrations": {
                "get": with_list_params(op("Integrations by id, a bare array: a keyset page (`limit`, `after`; a `Link: <…>; rel=\"next\"` header while a page is full), or without `limit` the whole list, streamed.", false, resp(&[("200", ok("Integrations.", json!({"type": "array", "items": integration}))), ("400", err("A bad query parameter, named in details."))]))),
                "post": create
            },
            "/integrations/validate": {"post": with_payload(op("Dry run: the tests create would run; nothing stored.", true, resp(&[("200", ok("Results.", r("ValidationAnswer"))), ("400", err("Bad input."))])))},
            "/integrations/scripts/create": {"post": script("Manual set-up script.", false, true)},
            "/integrations/scripts/initial-create": {"post": script("First-stage manual script (Redshift, Synapse).", false, true)},
            "/integrations/scripts/cleanup": {"post": script("Removes what a failed create left.", false, true)},
            "/integrations/scripts/post-cleanup": {"post": script("Second cleanup stage, after scripts/cleanup (Synapse: the logins in master).", false, true)},
            "/integrations/{id}": {
                "get": with_id(op("One integration.", false, resp(&[("200", ok("The integration.", integration.clone())), ("404", err("No Integration found with ID n."))]))),
                "put": edit,
                "delete": with_id({
                    let mut o = op("Delete (disable). Automatically set-up integrations need privileged credentials in the body, used once and never stored.", true, resp(&[
                        ("202", ok("Accepted: status `deleting`.", integration.clone())),
                        ("400", err("Credentials missing, not expected, or invalid.")),
                        ("404", err("No Integration found with ID n.")), ("409", err("An operation is running, or it is deleted.")),
                    ]));
                    o["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object", "description": "The platform's privileged credentials (see GET /platforms, deleteCredentialsSchema)."}}}});
                    o
                })
            },
            "/integrations/{id}/status": {"get": with_id(op("The status only.", false, resp(&[("200", ok("Status.", json!({"type": "object", "properties": {"id": {"type": "integer"}, "status": r("Status")}}))), ("404", err("No Integration found with ID n."))])))},
            "/integrations/{id}/history": {"get": with_id(op("Every status change and validation run.", false, resp(&[("200", ok("History.", json!({"type": "array", "items": r("HistoryEntry")}))), ("404", err("No Integration found with ID n."))])))},
            "/integrations/{id}/migrate": {"post": with_id(op("Bring the platform's set-up to the newest version.", true, resp(&[("202", ok("Accepted: status `migrating`.", integration.clone())), ("404", err("No Integration found with ID n.")), ("409", err("Already at the newest version, or an operation is running."))])))},
            "/integrations/{id}/scripts/edit": {"post": script("Script from the stored configuration to a new one.", true, true)},
            "/integrations/{id}/scripts/delete": {"post": script("Script that removes the set-up.", true, false)},
            "/platforms": {"get": op("Installed platforms: tests, prerequisites, config JSON Schema.", false, resp(&[("200", ok("Platforms.", json!({"type": "array"})))]))},
            "/plugins": {"get": op("Shared-library plugins of --plugin-dir: loaded, or refused with the reason.", false, resp(&[("200", ok("Libraries.", json!({"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "type": {"type": "string"}, "refused": {"type": "string"}}}})))]))},
            "/metrics": {"get": op("Prometheus text.", false, resp(&[("200", json!({"description": "metrics", "content": {"text/plain": {}}}))]))},
            "/openapi.json": {"get": op("This document.", false, resp(&[("200", json!({"description": "OpenAPI 3.1"}))]))}
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key; the bare key in Authorization is accepted too."}},
            "schemas": {
                "Status": {"type": "string", "enum": junction_core::Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
                "TestStatus": {"type": "string", "enum": ["passed", "failed", "warning", "skipped"]},
                "ValidationResults": {"type": "object", "required": ["status", "validationTests"], "properties": {
                    "status": r("TestStatus"),
                    "validationTests": {"type": "array", "items": {"type": "object", "required": ["name", "status"], "properties": {
                        "name": {"type": "string"}, "status": r("TestStatus"), "message": {"type": "string"}}}}}},
                "Remedy": {"type": "object", "required": ["test", "missing", "language", "statements"], "description": "What a failed or warning test found missing, and the statements that add exactly that; secrets appear as placeholders.", "properties": {
                    "test": {"type": "string"}, "missing": {"type": "string"}, "language": {"type": "string", "examples": ["sql", "shell"]},
                    "statements": {"type": "array", "items": {"type": "string"}}}},
                "ValidationAnswer": {"type": "object", "required": ["status", "validationTests", "remedies"], "properties": {
                    "status": r("TestStatus"), "validationTests": {"$ref": "#/components/schemas/ValidationResults/properties/validationTests"},
                    "remedies": {"type": "array", "items": r("Remedy")}}},
                "Integration": {"type": "object", "required": ["id", "status", "validationResults", "type", "autoBootstrap", "config"], "properties": {
                    "id": {"type": "integer"}, "status": r("Status"), "validationResults": r("ValidationResults"),
                    "remedies": {"type": "array", "items": r("Remedy"), "description": "Beside validationResults, never inside it; present only when a failed or warning test left one."},
                    "type": {"type": "string", "enum": types}, "autoBootstrap": {"type": "boolean"},
                    "config": {"type": "object", "description": "The configuration with every secret left out."},
                    "leftoverObjects": {"type": "array", "description": "Present only after a recovery that could not undo everything: each object an interrupted operation left on the platform; scripts/delete removes exactly them.", "items": {"type": "object", "properties": {
                        "step": {"type": "string"}, "state": {"type": "string", "enum": ["applied", "in doubt"]},
                        "statement": {"type": "string"}, "undo": {"type": ["string", "null"]}}}}}},
                "Payload": {"type": "object", "required": ["type", "config"], "additionalProperties": false, "properties": {
                    "type": {"type": "string", "enum": types}, "autoBootstrap": {"type": "boolean", "default": false},
                    "config": {"type": "object"}}, "oneOf": configs},
                "Script": {"type": "object", "properties": {"language": {"type": "string"}, "statements": {"type": "array", "items": {"type": "string"}}, "script": {"type": "string"}}},
                "HistoryEntry": {"type": "object", "properties": {"seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                    "event": {"type": "string", "enum": ["create", "edit", "delete", "migrate", "validation", "outcome", "recovered"]},
                    "from": r("Status"), "to": r("Status"), "validationResults": r("ValidationResults"), "remedies": {"type": "array", "items": r("Remedy")}, "keyId": {"type": "string"}, "message": {"type": "string"}}},
                "Error": {"type": "object", "required": ["statusCode", "error", "message"], "properties": {
                    "statusCode": {"type": "integer"}, "error": {"type": "string"}, "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object", "required": ["path", "message"], "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}}}
            }
        }
    })
}

/// The list's query parameters on `GET /integrations`.
fn with_list_params(mut o: Value) -> Value {
    o["parameters"] = json!([
        {"name": "limit", "in": "query", "required": false, "description": "A page of at most this many, by id. Without it, the whole list, streamed.", "schema": {"type": "integer", "minimum": 1, "maximum": crate::list::MAX_LIMIT}},
        {"name": "after", "in": "query", "required": false, "description": "Only integrations with a greater id (keyset).", "schema": {"type": "integer", "minimum": 0}},
        {"name": "type", "in": "query", "required": false, "schema": {"type": "string"}},
        {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Status"}}
    ]);
    o
}
