//! The HTTP API.

use crate::body::{self, Format, MAX_BODY, Payload};
use crate::error::{ApiError, BODY, json, json_bytes};
use crate::host::{Caller, EnableOutcome, Host, ScriptFor};
use crate::openapi::Route;
use crate::store::IntegrationRow;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use junction_core::ScriptKind;
use std::fmt::Write as _;
use std::sync::Arc;

mod routes;
pub use routes::routes;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct App {
    pub host: Arc<Host>,
    /// Rendered `GET /integrations/{id}` answers (`views.rs`).
    views: Arc<crate::views::Views>,
}

/// The router with every endpoint: those of [`routes`], the public ones
/// beside the key check and the rest behind it.
pub fn router(host: Arc<Host>) -> Router {
    let app = App {
        host,
        views: Arc::default(),
    };
    let routers = crate::openapi::routers(routes());
    let protected = routers
        .protected
        .route_layer(crate::edge::KeyCheckLayer(app.clone()));
    Router::new()
        .merge(routers.public)
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "No such endpoint; see /openapi.json.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This endpoint does not take that method; see /openapi.json.",
    )
}

async fn healthz() -> Response {
    json_bytes(StatusCode::OK, &b"{\"status\":\"ok\"}"[..])
}

fn caller(req_ext: Option<axum::Extension<Caller>>) -> Result<Caller, ApiError> {
    req_ext
        .map(|axum::Extension(c)| c)
        .ok_or_else(|| ApiError::unauthorized("An API key is required."))
}

fn parse_id(
    raw: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    let Ok(Path(raw)) = raw else {
        return Err(ApiError::field("id", "must be a positive integer"));
    };
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::field("id", "must be a positive integer")),
    }
}

fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body::too_large()
        } else {
            ApiError::field(BODY, "the body could not be read")
        }
    })
}

fn read_value(
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Option<serde_json::Value>, ApiError> {
    let raw = bytes(raw)?;
    let format = if raw.iter().all(u8::is_ascii_whitespace) {
        Format::Json
    } else {
        body::format_of(headers)?
    };
    body::parse_value(&raw, format)
}

fn read_payload(
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Payload, ApiError> {
    body::payload(read_value(headers, raw)?)
}

/// An integration as the contract shows it, from stored JSON text.
pub fn render(row: &IntegrationRow, out: &mut String) {
    let type_json = serde_json::to_string(&row.type_name).unwrap_or_else(|_| "\"\"".into());
    let (results, remedies) = crate::remedies::split(&row.validation_results);
    let _ = write!(
        out,
        "{{\"id\":{},\"status\":\"{}\",\"validationResults\":{},\"type\":{},\"autoBootstrap\":{},\"config\":{}}}",
        row.id,
        row.status.as_str(),
        results,
        type_json,
        row.auto_bootstrap,
        row.config
    );
    // Beside the results, never inside them; only when a test left one.
    if let Some(remedies) = remedies {
        out.pop();
        let _ = write!(out, ",\"remedies\":{remedies}}}");
    }
    // Only after a recovery that could not undo everything: what is left.
    if let Some(left) = &row.leftovers {
        out.pop();
        let _ = write!(out, ",\"leftoverObjects\":{left}}}");
    }
    // Only when it has its own interval (else the server's default applies).
    if let Some(every) = row.revalidate.to_display() {
        out.pop();
        let _ = write!(out, ",\"revalidateEvery\":\"{every}\"}}");
    }
}

/// The integration's JSON answer.
fn rendered(row: &IntegrationRow) -> Bytes {
    let mut s = String::with_capacity(256 + row.config.len() + row.validation_results.len());
    render(row, &mut s);
    Bytes::from(s)
}

fn integration_response(status: StatusCode, row: &IntegrationRow) -> Response {
    json_bytes(status, rendered(row))
}

async fn get_one(
    State(app): State<App>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    let generation = app.host.store().read_generation();
    if let Some(body) = generation.and_then(|g| app.views.get(id, g)) {
        return Ok(json_bytes(StatusCode::OK, body));
    }
    let body = rendered(&app.host.integration(id).await?);
    if let Some(g) = generation {
        app.views.insert(id, g, body.clone());
    }
    Ok(json_bytes(StatusCode::OK, body))
}

async fn status(
    State(app): State<App>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let row = app.host.integration(parse_id(id)?).await?;
    Ok(json(
        StatusCode::OK,
        &crate::openapi::types::StatusAnswer {
            id: row.id,
            status: row.status,
        },
    ))
}

async fn history(
    State(app): State<App>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let h = app.host.history(parse_id(id)?).await?;
    Ok(json(StatusCode::OK, &crate::remedies::history(&h)))
}

async fn create(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let raw = bytes(raw)?;
    let idempotency = match headers.get("idempotency-key") {
        Some(v) => {
            let key = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::field(
                        "Idempotency-Key",
                        "must be 1 to 255 visible ASCII characters",
                    )
                })?;
            Some((
                key.to_owned(),
                crate::auth::hash_key(&String::from_utf8_lossy(&raw)),
            ))
        }
        None => None,
    };
    let payload = read_payload(&headers, Ok(raw))?;
    let row = app.host.create(payload, &caller, idempotency).await?;
    Ok(integration_response(StatusCode::ACCEPTED, &row))
}

async fn edit(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let id = parse_id(id)?;
    let payload = read_payload(&headers, raw)?;
    let row = app.host.edit(id, payload, &caller).await?;
    Ok(integration_response(StatusCode::ACCEPTED, &row))
}

async fn delete(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let id = parse_id(id)?;
    let value = read_value(&headers, raw)?;
    let row = app.host.delete(id, value, &caller).await?;
    Ok(integration_response(StatusCode::ACCEPTED, &row))
}

async fn migrate(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let id = parse_id(id)?;
    let row = app.host.migrate(id, &caller).await?;
    Ok(integration_response(StatusCode::ACCEPTED, &row))
}

async fn disable(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let id = parse_id(id)?;
    let row = app.host.disable(id, &caller).await?;
    Ok(integration_response(StatusCode::OK, &row))
}

/// 200 with the integration when enabled; 422 when its validation failed
/// (409 says it could not be tried at all): still disabled, each failed or
/// warning test in `details`.
async fn enable(
    State(app): State<App>,
    ext: Option<axum::Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let caller = caller(ext)?;
    let id = parse_id(id)?;
    match app.host.enable(id, &caller).await? {
        EnableOutcome::Enabled(row) => Ok(integration_response(StatusCode::OK, &row)),
        EnableOutcome::StillDisabled { row, message } => {
            let (results, _) = crate::remedies::split(&row.validation_results);
            let tests: Vec<junction_core::ValidationTest> =
                serde_json::from_str::<junction_core::ValidationResults>(&results)
                    .map(|r| r.validation_tests)
                    .unwrap_or_default();
            let details = tests
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    matches!(
                        t.status,
                        junction_core::TestStatus::Failed | junction_core::TestStatus::Warning
                    )
                })
                .map(|(i, t)| {
                    junction_core::FieldError::new(
                        format!("validationResults.validationTests[{i}]"),
                        format!(
                            "{} ({}): {}",
                            t.name,
                            t.status.as_str(),
                            t.message.as_deref().unwrap_or("")
                        ),
                    )
                })
                .collect();
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_details(details))
        }
    }
}

async fn validate(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let payload = read_payload(&headers, raw)?;
    let results = app.host.validate(payload).await?;
    Ok(json(
        StatusCode::OK,
        &crate::remedies::validate_answer(&results),
    ))
}

fn script_response(script: junction_core::Script) -> Response {
    let text = script.text();
    json(
        StatusCode::OK,
        &crate::openapi::types::ScriptAnswer {
            language: script.language,
            statements: script.statements,
            script: text,
        },
    )
}

async fn script_new(
    app: &App,
    kind: ScriptKind,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let payload = read_payload(headers, raw)?;
    Ok(script_response(
        app.host.script(kind, ScriptFor::New(payload)).await?,
    ))
}

async fn script_create(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    script_new(&app, ScriptKind::Create, &headers, raw).await
}

async fn script_initial(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    script_new(&app, ScriptKind::InitialCreate, &headers, raw).await
}

async fn script_cleanup(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    script_new(&app, ScriptKind::Cleanup, &headers, raw).await
}

/// The second cleanup stage, run after `scripts/cleanup` (Synapse: the logins
/// in `master`); platforms with one stage answer 422, as for any script
/// they do not have.
async fn script_post_cleanup(
    State(app): State<App>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    script_new(&app, ScriptKind::PostCleanup, &headers, raw).await
}

async fn script_edit(
    State(app): State<App>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    let payload = read_payload(&headers, raw)?;
    Ok(script_response(
        app.host
            .script(
                ScriptKind::Edit,
                ScriptFor::Stored {
                    id,
                    edit: Some(payload),
                },
            )
            .await?,
    ))
}

async fn script_delete(
    State(app): State<App>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    Ok(script_response(
        app.host
            .script(ScriptKind::Delete, ScriptFor::Stored { id, edit: None })
            .await?,
    ))
}

async fn platforms(State(app): State<App>) -> Response {
    json(StatusCode::OK, &app.host.descriptors())
}

/// The shared-library plugins of `--plugin-dir`: loaded and refused, with the reason.
async fn plugin_loads(State(app): State<App>) -> Response {
    json(StatusCode::OK, &app.host.plugin_loads())
}

/// The Prometheus text of `crate::metrics` (the series and their convention are there).
async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let mut resp = crate::metrics::scrape(&app.host).await?.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    Ok(resp)
}

async fn openapi(State(app): State<App>) -> Response {
    json(
        StatusCode::OK,
        &crate::openapi::document(&routes(), &app.host.descriptors()),
    )
}
