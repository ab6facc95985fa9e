//! What a started operation hands to the background runner: the work, each
//! kind with only what it needs, and the job around it.

use super::OpKind;
use crate::secrets::ScrubList;
use junction_core::{DynOutput, DynPlatform, Event, FaultInjection, OpContext, OpError};
use serde_json::{Value, json};
use std::sync::Arc;

/// The work of an operation. Configurations are full (secrets in clear) and
/// never leave the job but through the platform and the secrets' owner.
#[derive(Clone)]
pub enum Work {
    /// Set up a new integration.
    Create { config: Value, attempt: Attempt },
    /// Move an integration from `old` to `new`; `account_key` is `new`'s.
    Edit {
        old: Value,
        new: Value,
        account_key: String,
    },
    /// Take the integration down, with privileged credentials when given.
    Delete {
        config: Value,
        privileged: Option<Value>,
    },
    /// Bring the integration's set-up to the newest version.
    Migrate { config: Value },
}

/// Which attempt a create is.
#[derive(Clone)]
pub enum Attempt {
    /// From POST: the row was stored with this configuration and account.
    First,
    /// From PUT on an integration in `createError`: the attempt is stored
    /// even when it fails (so the next retry starts from it), and its
    /// account when it succeeds.
    Retry { account_key: String },
}

impl Work {
    pub fn kind(&self) -> OpKind {
        match self {
            Work::Create { .. } => OpKind::Create,
            Work::Edit { .. } => OpKind::Edit,
            Work::Delete { .. } => OpKind::Delete,
            Work::Migrate { .. } => OpKind::Migrate,
        }
    }

    /// The event that starts the work on a stored integration (a retried
    /// create is asked for with PUT, as an edit).
    pub fn start_event(&self) -> Event {
        match self {
            Work::Create { .. } | Work::Edit { .. } => Event::StartEdit,
            Work::Delete { .. } => Event::StartDelete,
            Work::Migrate { .. } => Event::StartMigrate,
        }
    }

    /// The configuration validated before the work runs (create and edit).
    pub fn to_validate(&self) -> Option<&Value> {
        match self {
            Work::Create { config, .. } => Some(config),
            Work::Edit { new, .. } => Some(new),
            Work::Delete { .. } | Work::Migrate { .. } => None,
        }
    }

    /// The platform account the integration moves to when the work succeeds.
    pub fn new_account_key(&self) -> Option<&str> {
        match self {
            Work::Create {
                attempt: Attempt::Retry { account_key },
                ..
            }
            | Work::Edit { account_key, .. } => Some(account_key),
            _ => None,
        }
    }

    /// The configuration stored when the work fails (a retried create).
    pub fn attempt_kept_on_failure(&self) -> Option<&Value> {
        match self {
            Work::Create {
                config,
                attempt: Attempt::Retry { .. },
            } => Some(config),
            _ => None,
        }
    }

    /// Whether the work sets the integration's set-up mode (create and edit).
    pub fn sets_mode(&self) -> bool {
        matches!(self, Work::Create { .. } | Work::Edit { .. })
    }

    /// Runs the work on the platform: the output to store (`None` for a delete).
    pub async fn run(
        &self,
        platform: &dyn DynPlatform,
        op: &OpContext,
    ) -> Result<Option<DynOutput>, OpError> {
        match self {
            Work::Create { config, .. } => platform.create(op, config).await.map(Some),
            Work::Edit { old, new, .. } => platform.edit(op, old, new).await.map(Some),
            Work::Delete { config, privileged } => platform
                .delete(op, config, privileged.as_ref())
                .await
                .map(|()| None),
            Work::Migrate { config } => platform.migrate(op, config).await.map(Some),
        }
    }

    /// The work as kept for a replay, or `None` when it holds privileged
    /// credentials (an automatic create or delete), which are never stored.
    pub fn to_input(&self, auto_bootstrap: bool) -> Option<Value> {
        match self {
            Work::Create { .. } if auto_bootstrap => None,
            Work::Create { config, attempt } => Some(json!({
                "kind": "create",
                "config": config,
                "retryAccountKey": match attempt {
                    Attempt::First => None,
                    Attempt::Retry { account_key } => Some(account_key),
                },
            })),
            Work::Edit {
                old,
                new,
                account_key,
            } => Some(json!({"kind": "edit", "old": old, "new": new, "accountKey": account_key})),
            Work::Delete {
                privileged: Some(_),
                ..
            } => None,
            Work::Delete { config, .. } => Some(json!({"kind": "delete", "config": config})),
            Work::Migrate { config } => Some(json!({"kind": "migrate", "config": config})),
        }
    }

    /// The work back from [`Work::to_input`].
    pub fn from_input(v: &Value) -> Option<Work> {
        let get = |k: &str| v.get(k).cloned();
        Some(match v.get("kind")?.as_str()? {
            "create" => Work::Create {
                config: get("config")?,
                attempt: match v.get("retryAccountKey").and_then(Value::as_str) {
                    Some(k) => Attempt::Retry {
                        account_key: k.to_owned(),
                    },
                    None => Attempt::First,
                },
            },
            "edit" => Work::Edit {
                old: get("old")?,
                new: get("new")?,
                account_key: v.get("accountKey")?.as_str()?.to_owned(),
            },
            "delete" => Work::Delete {
                config: get("config")?,
                privileged: None,
            },
            "migrate" => Work::Migrate {
                config: get("config")?,
            },
            _ => return None,
        })
    }
}

/// A started operation, run in the background.
pub struct Job {
    pub id: i64,
    pub op_id: String,
    /// The operation's first id (its journal's key).
    pub origin: String,
    pub platform: Arc<dyn DynPlatform>,
    /// The platform's secret paths.
    pub paths: Vec<String>,
    pub auto_bootstrap: bool,
    pub bootstrap_version: u32,
    /// The caller's key, recorded with the validation in the history.
    pub key_id: Option<String>,
    /// Tests only: where the operation is made to fail.
    pub fault: Option<FaultInjection>,
    pub scrub: ScrubList,
    pub work: Work,
}
