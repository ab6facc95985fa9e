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
    /// A recurring re-validation of an enabled integration failed; still in
    /// use, and a later pass returns it to `enabled`.
    RecurringValidationError,
    /// Switched off without touching the platform: not in use, never
    /// re-validated; `enable` re-validates it first.
    Disabled,
}

impl Status {
    pub const ALL: [Status; 12] = [
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
        Status::RecurringValidationError,
        Status::Disabled,
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
            Status::RecurringValidationError => "recurringValidationError",
            Status::Disabled => "disabled",
        }
    }

    /// Parses the contract's spelling.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The contract's "State" column: every status is in use except
    /// `deleted` and (as newer versions of the reference product say) `disabled`.
    pub const fn in_use(self) -> bool {
        !matches!(self, Status::Deleted | Status::Disabled)
    }

    /// Whether the integration still holds its platform account and the
    /// objects set up there: every status but `deleted`. This, not
    /// [`Status::in_use`], is what the account's uniqueness and the peers a
    /// platform's checks see go by: a disabled integration kept its objects
    /// (disable never touches the platform) and `enable` brings it back on
    /// the same account, so a second integration there would collide with it.
    pub const fn holds_account(self) -> bool {
        !matches!(self, Status::Deleted)
    }

    /// Whether the integration is re-validated on an interval: `enabled`, and
    /// `recurringValidationError` (so that a later pass returns it to `enabled`).
    pub const fn revalidated(self) -> bool {
        matches!(self, Status::Enabled | Status::RecurringValidationError)
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
    /// The operator switches the integration off (no platform call).
    Disable,
    /// An `enable`'s validation passed (also asked before it starts).
    Enable,
    /// An `enable`'s validation failed: the integration stays disabled.
    EnableFailed,
    /// A recurring re-validation passed.
    RevalidationPassed,
    /// A recurring re-validation failed.
    RevalidationFailed,
}

impl Event {
    pub const ALL: [Event; 11] = [
        Event::StartCreate,
        Event::StartEdit,
        Event::StartDelete,
        Event::StartMigrate,
        Event::Succeeded,
        Event::Failed,
        Event::Disable,
        Event::Enable,
        Event::EnableFailed,
        Event::RevalidationPassed,
        Event::RevalidationFailed,
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
            Event::Disable => "disable",
            Event::Enable | Event::EnableFailed => "enable",
            Event::RevalidationPassed | Event::RevalidationFailed => "re-validate",
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
/// integration that does not exist yet. The table in DESIGN.md is its
/// specification; the two newer statuses follow these rules:
///
/// - `recurringValidationError` allows what `enabled` allows (edit, delete,
///   migrate, disable); a recurring pass returns it to `enabled`, a failure
///   from either keeps or puts it there.
/// - `disabled` allows only `enable` and delete; a delete runs as from
///   `enabled` (a failed one ends in `deleteError`, in use again, like any
///   failed delete). `enable` re-validates: a pass is `enabled`, a failure
///   stays `disabled`. Nothing re-validates a disabled integration.
/// - Disable is allowed wherever the integration is set up and settled:
///   `enabled`, `recurringValidationError` and the rolled-back `editError`,
///   `deleteError`, `migrateError` (all still usable with their previous
///   configuration); not from `createError`, where nothing usable was set up.
/// - While an operation runs (`creating`, `editing`, `deleting`,
///   `migrating`), disable, enable and re-validation outcomes are refused
///   as `InProgress`, like every start.
pub fn transition(from: Option<Status>, event: Event) -> Result<Status, TransitionError> {
    use Event as E;
    use Status as S;
    let Some(from) = from else {
        return match event {
            E::StartCreate => Ok(S::Creating),
            _ => Err(TransitionError::NotFound),
        };
    };
    let not_allowed = Err(TransitionError::NotAllowed { from, event });
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
        (
            S::CreateError,
            E::StartMigrate
            | E::Disable
            | E::Enable
            | E::EnableFailed
            | E::RevalidationPassed
            | E::RevalidationFailed,
        ) => not_allowed,
        // Set up and usable.
        (
            S::Enabled
            | S::RecurringValidationError
            | S::EditError
            | S::DeleteError
            | S::MigrateError,
            E::StartEdit,
        ) => Ok(S::Editing),
        (
            S::Enabled
            | S::RecurringValidationError
            | S::EditError
            | S::DeleteError
            | S::MigrateError
            | S::Disabled,
            E::StartDelete,
        ) => Ok(S::Deleting),
        (
            S::Enabled
            | S::RecurringValidationError
            | S::EditError
            | S::DeleteError
            | S::MigrateError,
            E::StartMigrate,
        ) => Ok(S::Migrating),
        (
            S::Enabled
            | S::RecurringValidationError
            | S::EditError
            | S::DeleteError
            | S::MigrateError,
            E::Disable,
        ) => Ok(S::Disabled),
        // Only enabled integrations are re-validated on an interval.
        (S::Enabled | S::RecurringValidationError, E::RevalidationPassed) => Ok(S::Enabled),
        (S::Enabled | S::RecurringValidationError, E::RevalidationFailed) => {
            Ok(S::RecurringValidationError)
        }
        (
            S::Enabled
            | S::RecurringValidationError
            | S::EditError
            | S::DeleteError
            | S::MigrateError,
            E::Enable | E::EnableFailed,
        ) => not_allowed,
        (
            S::EditError | S::DeleteError | S::MigrateError,
            E::RevalidationPassed | E::RevalidationFailed,
        ) => not_allowed,
        // Switched off: only enable (which re-validated first) and delete.
        (S::Disabled, E::Enable) => Ok(S::Enabled),
        (S::Disabled, E::EnableFailed) => Ok(S::Disabled),
        (
            S::Disabled,
            E::StartEdit
            | E::StartMigrate
            | E::Disable
            | E::RevalidationPassed
            | E::RevalidationFailed,
        ) => not_allowed,
    }
}
