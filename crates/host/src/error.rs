//! The API's error shape: `{statusCode, error, message}` plus
//! `details: [{path, message}]` for bad input.

use crate::host::{HostError, INTERNAL_MESSAGE};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use junction_core::{ConfigErrors, FieldError};
use serde::Serialize;

pub use crate::payload::BODY;

/// The one error shape of every answer that is not a success.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Error")]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// The HTTP status code again.
    pub status_code: u16,
    /// The status code's reason phrase.
    pub error: String,
    pub message: String,
    /// Each bad field with its JSON path (bad input only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            status_code: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// 400 with one bad field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(path, message);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid request: {}: {}", e.path, e.message),
        )
        .with_details(vec![e])
    }

    /// 400 with every bad field. An error about the whole value (an empty
    /// path: a DELETE body that is no object, a field named "") names the body.
    pub fn invalid(errors: ConfigErrors) -> Self {
        let errors = ConfigErrors(
            errors
                .0
                .into_iter()
                .map(|mut e| {
                    if e.path.is_empty() {
                        e.path = BODY.to_owned();
                    }
                    e
                })
                .collect(),
        );
        let message = format!("Invalid request: {errors}");
        ApiError::new(StatusCode::BAD_REQUEST, message).with_details(errors.0)
    }

    pub fn not_found_integration(id: i64) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("No Integration found with ID {id}."),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// A failure of the host itself. The message is generic; the cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
    }
}

/// The host's errors as the API answers them (the host scrubbed their secrets).
impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::Invalid(errors) => ApiError::invalid(errors),
            HostError::UnknownType { type_name, known } => ApiError::field(
                "type",
                format!(
                    "unknown integration type \"{type_name}\"; this host supports: {}",
                    HostError::known_list(&known)
                ),
            ),
            HostError::NotFound(id) => ApiError::not_found_integration(id),
            HostError::Conflict(m) => ApiError::conflict(m),
            HostError::Refused { message, details } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_details(details)
            }
            // Logged where it happened.
            HostError::Internal => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status_code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| {
            br#"{"statusCode":500,"error":"Internal Server Error","message":"error"}"#.to_vec()
        });
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// A JSON response from bytes already serialised.
pub fn json_bytes(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON response from a value.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(b) => json_bytes(status, b),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
