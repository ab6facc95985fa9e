//! A refusal (status `STATUS_ERROR`): `{"error": "<kind>", …}`.

use junction_core::{ConfigErrors, FieldError, OpError};
use serde::{Deserialize, Serialize};

/// Why a call was refused, as the plugin reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "camelCase")]
pub enum WireError {
    /// Bad configuration, with JSON paths (parse, parseDeleteCredentials, validate).
    Config { errors: WireFieldErrors },
    /// `OpError::Invalid`.
    Invalid { errors: WireFieldErrors },
    /// `OpError::Unsupported`.
    Unsupported { message: String },
    /// `OpError::Failed`.
    Failed { message: String },
    /// The host asked for something the plugin cannot read (unknown method, bad JSON).
    BadRequest { message: String },
}

impl WireError {
    /// A configuration the platform refused.
    pub fn config(errors: ConfigErrors) -> Self {
        WireError::Config {
            errors: errors.into(),
        }
    }
}

impl From<OpError> for WireError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Invalid(errors) => WireError::Invalid {
                errors: errors.into(),
            },
            OpError::Unsupported(message) => WireError::Unsupported { message },
            OpError::Failed(message) => WireError::Failed { message },
        }
    }
}

/// One bad field: `{"path": "config.port", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFieldError {
    pub path: String,
    pub message: String,
}

/// Every bad field: a JSON array of [`WireFieldError`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WireFieldErrors(pub Vec<WireFieldError>);

impl From<ConfigErrors> for WireFieldErrors {
    fn from(errors: ConfigErrors) -> Self {
        let ConfigErrors(errors) = errors;
        WireFieldErrors(
            errors
                .into_iter()
                .map(|FieldError { path, message }| WireFieldError { path, message })
                .collect(),
        )
    }
}

impl From<WireFieldErrors> for ConfigErrors {
    fn from(errors: WireFieldErrors) -> Self {
        let WireFieldErrors(errors) = errors;
        ConfigErrors(
            errors
                .into_iter()
                .map(|WireFieldError { path, message }| FieldError { path, message })
                .collect(),
        )
    }
}
