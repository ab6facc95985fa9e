//! The API's error shape: `{statusCode, error, message}` plus
//! `details: [{path, message}]` for bad input.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use junction_core::{ConfigErrors, FieldError};
use serde::Serialize;

/// The path that names the request body as a whole (malformed, too large, not an object).
pub const BODY: &str = "body";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub status_code: u16,
    pub error: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
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

    /// 400 with every bad field.
    pub fn invalid(errors: ConfigErrors) -> Self {
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
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The host failed to complete the request; see its log.",
        )
    }

    /// The same error with every secret string replaced.
    pub fn scrubbed(mut self, secrets: &[String]) -> Self {
        if secrets.is_empty() {
            return self;
        }
        self.message = crate::util::scrub(&self.message, secrets);
        for d in &mut self.details {
            d.message = crate::util::scrub(&d.message, secrets);
            d.path = crate::util::scrub(&d.path, secrets);
        }
        self
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
