//! Integration statuses and the one function that moves between them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The status of an integration, serialised exactly as in the response contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Creating,
    CreateError,
    Enabled,
    Editing,
    EditError,
    Deleting,
    DeleteError,
    Deleted,
    Migrating,
    MigrateError,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Creating,
        Status::CreateError,
        Status::Enabled,
        Status::Editing,
        Status::EditError,
        Status::Deleting,
        Status::DeleteError,
        Status::Deleted,
        Status::Migrating,
        Status::MigrateError,
    ];

    /// The contract's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::CreateError => "createError",
            Status::Enabled => "enabled",
            Status::Editing => "editing",
            Status::EditError => "editError",
            Status::Deleting => "deleting",
            Status::DeleteError => "deleteError",
            Status::Deleted => "deleted",
            Status::Migrating => "migrating",
            Status::MigrateError => "migrateError",
        }
    }

    /// Parses the contract's spelling.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The contract's "State" column: every status is in use except `deleted`.
    pub const fn in_use(self) -> bool {
        !matches!(self, Status::Deleted)
    }

    /// An operation is running in the background while the integration has this status.
    pub const fn in_progress(self) -> bool {
        matches!(
            self,
            Status::Creating | Status::Editing | Status::Deleting | Status::Migrating
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can happen to an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    StartCreate,
    StartEdit,
    StartDelete,
    StartMigrate,
    Succeeded,
    Failed,
}

impl Event {
    pub const ALL: [Event; 6] = [
        Event::StartCreate,
        Event::StartEdit,
        Event::StartDelete,
        Event::StartMigrate,
        Event::Succeeded,
        Event::Failed,
    ];

    /// The operation an event starts, in words for messages.
    pub const fn verb(self) -> &'static str {
        match self {
            Event::StartCreate => "create",
            Event::StartEdit => "edit",
            Event::StartDelete => "delete",
            Event::StartMigrate => "migrate",
            Event::Succeeded => "complete",
            Event::Failed => "fail",
        }
    }
}

/// Why an event is not allowed. The API turns every variant into 409, except
/// [`TransitionError::NotFound`], which is 404.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the integration does not exist")]
    NotFound,
    #[error("the integration already exists")]
    AlreadyExists,
    #[error("the integration is {0}: wait for the running operation to finish")]
    InProgress(Status),
    #[error("the integration is deleted: nothing can be started on it")]
    Deleted,
    #[error("cannot {} an integration whose status is {from}", event.verb())]
    NotAllowed { from: Status, event: Event },
    #[error("no operation is running on the integration (status {0})")]
    NoOperation(Status),
}

/// The lifecycle, as one pure and total function. `from` is `None` for an
/// integration that does not exist yet. The table in DESIGN.md is its specification.
pub fn transition(from: Option<Status>, event: Event) -> Result<Status, TransitionError> {
    use Event as E;
    use Status as S;
    let Some(from) = from else {
        return match event {
            E::StartCreate => Ok(S::Creating),
            _ => Err(TransitionError::NotFound),
        };
    };
    match (from, event) {
        (S::Deleted, _) => Err(TransitionError::Deleted),
        // An operation is running: only its outcome may arrive.
        (S::Creating | S::Editing | S::Migrating, E::Succeeded) => Ok(S::Enabled),
        (S::Deleting, E::Succeeded) => Ok(S::Deleted),
        (S::Creating, E::Failed) => Ok(S::CreateError),
        (S::Editing, E::Failed) => Ok(S::EditError),
        (S::Deleting, E::Failed) => Ok(S::DeleteError),
        (S::Migrating, E::Failed) => Ok(S::MigrateError),
        (S::Creating | S::Editing | S::Deleting | S::Migrating, _) => {
            Err(TransitionError::InProgress(from))
        }
        // Settled statuses.
        (_, E::StartCreate) => Err(TransitionError::AlreadyExists),
        (_, E::Succeeded | E::Failed) => Err(TransitionError::NoOperation(from)),
        // A failed create is retried through edit, with the new configuration.
        (S::CreateError, E::StartEdit) => Ok(S::Creating),
        (S::CreateError, E::StartDelete) => Ok(S::Deleting),
        (S::CreateError, E::StartMigrate) => Err(TransitionError::NotAllowed { from, event }),
        (S::Enabled | S::EditError | S::DeleteError | S::MigrateError, E::StartEdit) => {
            Ok(S::Editing)
        }
        (S::Enabled | S::EditError | S::DeleteError | S::MigrateError, E::StartDelete) => {
            Ok(S::Deleting)
        }
        (S::Enabled | S::EditError | S::DeleteError | S::MigrateError, E::StartMigrate) => {
            Ok(S::Migrating)
        }
    }
}
