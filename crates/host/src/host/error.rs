//! The host's errors, in its own terms. They know nothing of HTTP: the API
//! edge turns them into responses (`ApiError`), the CLI into lines.

use crate::secrets::ScrubList;
use crate::store::StoreError;
use junction_core::{ConfigErrors, FieldError, TransitionError};

/// What a caller sees of a failure of the host itself; the cause goes to the log.
pub const INTERNAL_MESSAGE: &str = "The host failed to complete the request; see its log.";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Bad input: every bad field with its path.
    #[error("Invalid request: {0}")]
    Invalid(ConfigErrors),
    /// No platform of this type is installed; `known` are the installed ones, sorted.
    #[error("unknown integration type \"{type_name}\"")]
    UnknownType {
        type_name: String,
        known: Vec<String>,
    },
    /// No integration has this id.
    #[error("No Integration found with ID {0}.")]
    NotFound(i64),
    /// The request conflicts with the integration's state or with another integration.
    #[error("{0}")]
    Conflict(String),
    /// Understood, but it cannot be done (a reused idempotency key, a script
    /// the platform does not write).
    #[error("{message}")]
    Refused {
        message: String,
        details: Vec<FieldError>,
    },
    /// The host itself failed; the cause was logged where it was known.
    #[error("{INTERNAL_MESSAGE}")]
    Internal,
}

impl HostError {
    /// One bad field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        HostError::Invalid(ConfigErrors::one(path, message))
    }

    /// A failure of the host itself: the cause is logged now, in the current span.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        HostError::Internal
    }

    /// The installed types as a sentence's tail: `A, B`, or `none`.
    pub fn known_list(known: &[String]) -> String {
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    }

    /// The same error with every secret string replaced.
    pub fn scrubbed(self, secrets: &ScrubList) -> Self {
        match self {
            HostError::Invalid(e) => HostError::Invalid(secrets.errors(e)),
            HostError::Conflict(m) => HostError::Conflict(secrets.text(&m)),
            HostError::Refused { message, details } => HostError::Refused {
                message: secrets.text(&message),
                details: secrets.errors(ConfigErrors(details)).0,
            },
            other => other,
        }
    }

    /// A store failure while `verb`-ing integration `id`.
    pub fn from_store(id: i64, verb: &str, e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => HostError::NotFound(id),
            StoreError::Transition(TransitionError::NotFound) => HostError::NotFound(id),
            StoreError::Transition(t) => {
                HostError::Conflict(format!("Cannot {verb} integration {id}: {t}."))
            }
            StoreError::VersionConflict { .. } => HostError::Conflict(format!(
                "Cannot {verb} integration {id}: it was changed by another request at the same time; read it again and retry."
            )),
            StoreError::LeaseHeld { kind } => HostError::Conflict(format!(
                "Cannot {verb} integration {id}: a {kind} is running on it; retry when it has finished."
            )),
            StoreError::AccountTaken { id: other } => HostError::Conflict(format!(
                "Integration {other} already uses this platform account."
            )),
            other => HostError::internal(other),
        }
    }

    /// Another in-use integration holds the platform account.
    pub fn account_taken(type_name: &str, account_key: &str, holder: i64) -> Self {
        HostError::Conflict(format!(
            "{type_name} integration already exists on {account_key} (id = {holder})."
        ))
    }
}
