//! Set-up as data: the one object Junction manages in AWS, the Access Grants
//! location of `awsLocationPath`, as steps of a [`Plan`] with their undo.
//!
//! One description serves everything: create runs [`create_plan`], edit
//! [`edit_plan`], delete [`delete_plan`]; when a step fails, the undos of the
//! steps before it run in reverse (`junction_core::plan::apply`); the manual
//! scripts are the same steps rendered as AWS CLI commands.
//!
//! Actions name a location by its scope, not its id: the id is only known
//! once the location exists, and undos are written before any step runs. The
//! executor looks the id up (a scope has at most one location: AWS refuses a
//! second with `AccessGrantsLocationAlreadyExistsError`).

use crate::client::{AwsError, Clients};
use crate::config::S3Config;
use junction_core::{Action, Plan};

/// The only set-up version: one location.
pub const CURRENT_VERSION: u32 = 1;

/// Step ids, stable: logs, fault injection and tests name steps by them.
pub mod step {
    pub const CREATE_LOCATION: &str = "create-location";
    pub const VERIFY_LOCATION: &str = "verify-location";
    pub const UPDATE_LOCATION_ROLE: &str = "update-location-role";
    pub const DELETE_OLD_LOCATION: &str = "delete-old-location";
    pub const DELETE_LOCATION: &str = "delete-location";
}

/// One call to S3 Control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationAction {
    Create {
        account: String,
        region: String,
        scope: String,
        role: String,
    },
    UpdateRole {
        account: String,
        region: String,
        scope: String,
        role: String,
    },
    /// Removes the location of the scope; absent already is fine (an undo or
    /// a retried delete must not fail on what is already done).
    Delete {
        account: String,
        region: String,
        scope: String,
    },
    /// Reads the location back: it exists with the expected role.
    Verify {
        account: String,
        region: String,
        scope: String,
        role: String,
    },
}

/// A value as one shell word: single-quoted unless plainly safe.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The shell expression that finds a scope's location id.
fn location_id_lookup(account: &str, region: &str, scope: &str) -> String {
    format!(
        "\"$(aws s3control list-access-grants-locations --account-id {} --region {} --location-scope {} --query 'AccessGrantsLocationsList[0].AccessGrantsLocationId' --output text)\"",
        shell_quote(account),
        shell_quote(region),
        shell_quote(scope)
    )
}

impl Action for LocationAction {
    fn render(&self) -> String {
        match self {
            LocationAction::Create {
                account,
                region,
                scope,
                role,
            } => format!(
                "aws s3control create-access-grants-location --account-id {} --region {} --location-scope {} --iam-role-arn {}",
                shell_quote(account),
                shell_quote(region),
                shell_quote(scope),
                shell_quote(role)
            ),
            LocationAction::UpdateRole {
                account,
                region,
                scope,
                role,
            } => format!(
                "aws s3control update-access-grants-location --account-id {} --region {} --access-grants-location-id {} --iam-role-arn {}",
                shell_quote(account),
                shell_quote(region),
                location_id_lookup(account, region, scope),
                shell_quote(role)
            ),
            LocationAction::Delete {
                account,
                region,
                scope,
            } => format!(
                "aws s3control delete-access-grants-location --account-id {} --region {} --access-grants-location-id {}",
                shell_quote(account),
                shell_quote(region),
                location_id_lookup(account, region, scope)
            ),
            LocationAction::Verify {
                account,
                region,
                scope,
                ..
            } => format!(
                "aws s3control list-access-grants-locations --account-id {} --region {} --location-scope {}",
                shell_quote(account),
                shell_quote(region),
                shell_quote(scope)
            ),
        }
    }
}

fn create(c: &S3Config, scope: &str, role: &str) -> LocationAction {
    LocationAction::Create {
        account: c.aws_account_id.clone(),
        region: c.aws_region.clone(),
        scope: scope.to_owned(),
        role: role.to_owned(),
    }
}

fn delete(c: &S3Config, scope: &str) -> LocationAction {
    LocationAction::Delete {
        account: c.aws_account_id.clone(),
        region: c.aws_region.clone(),
        scope: scope.to_owned(),
    }
}

fn update(c: &S3Config, role: &str) -> LocationAction {
    LocationAction::UpdateRole {
        account: c.aws_account_id.clone(),
        region: c.aws_region.clone(),
        scope: c.aws_location_path.clone(),
        role: role.to_owned(),
    }
}

fn verify(c: &S3Config) -> LocationAction {
    LocationAction::Verify {
        account: c.aws_account_id.clone(),
        region: c.aws_region.clone(),
        scope: c.aws_location_path.clone(),
        role: c.aws_location_role.clone(),
    }
}

/// Registers the path as a location, then reads it back (a caller that may
/// create but not list, or a location that did not take, rolls back).
pub fn create_plan(c: &S3Config) -> Plan<LocationAction> {
    Plan::new()
        .step(
            step::CREATE_LOCATION,
            create(c, &c.aws_location_path, &c.aws_location_role),
            Some(delete(c, &c.aws_location_path)),
        )
        .step(step::VERIFY_LOCATION, verify(c), None)
}

/// From `old` to `new` (same account and region): a new role is an update of
/// the location; a new path is a new location (created first, so that a
/// failure leaves the old one) and the old one removed.
pub fn edit_plan(old: &S3Config, new: &S3Config) -> Plan<LocationAction> {
    let mut plan = Plan::new();
    if old.aws_location_path != new.aws_location_path {
        plan.push(
            step::CREATE_LOCATION,
            create(new, &new.aws_location_path, &new.aws_location_role),
            Some(delete(new, &new.aws_location_path)),
        );
        plan.push(
            step::DELETE_OLD_LOCATION,
            delete(old, &old.aws_location_path),
            Some(create(old, &old.aws_location_path, &old.aws_location_role)),
        );
        plan.push(step::VERIFY_LOCATION, verify(new), None);
    } else if old.aws_location_role != new.aws_location_role {
        plan.push(
            step::UPDATE_LOCATION_ROLE,
            update(new, &new.aws_location_role),
            Some(update(old, &old.aws_location_role)),
        );
        plan.push(step::VERIFY_LOCATION, verify(new), None);
    }
    plan
}

/// Removes the location; its undo registers it again with the same role.
pub fn delete_plan(c: &S3Config) -> Plan<LocationAction> {
    Plan::new().step(
        step::DELETE_LOCATION,
        delete(c, &c.aws_location_path),
        Some(create(c, &c.aws_location_path, &c.aws_location_role)),
    )
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{call} for location scope [{scope}]: {source}")]
    Aws {
        call: &'static str,
        scope: String,
        source: AwsError,
    },
    #[error("no Access Grants location is registered for the scope [{0}]")]
    Missing(String),
    #[error("the location for the scope [{scope}] has the IAM role [{found}], not [{expected}]")]
    WrongRole {
        scope: String,
        found: String,
        expected: String,
    },
}

fn aws(call: &'static str, scope: &str) -> impl FnOnce(AwsError) -> StepError {
    let scope = scope.to_owned();
    move |source| StepError::Aws {
        call,
        scope,
        source,
    }
}

/// Reads of the location after a write: attempts, and the pause between them.
const VERIFY_ATTEMPTS: u32 = 3;
const VERIFY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs one action with the clients of the configuration in force.
pub async fn exec(clients: &Clients, action: LocationAction) -> Result<(), StepError> {
    match action {
        LocationAction::Create { scope, role, .. } => {
            let id = clients
                .create_location(&scope, &role)
                .await
                .map_err(aws("CreateAccessGrantsLocation", &scope))?;
            tracing::info!(location_id = %id, scope = %scope, "created the Access Grants location");
            Ok(())
        }
        LocationAction::UpdateRole { scope, role, .. } => {
            let found = clients
                .locations_for(&scope)
                .await
                .map_err(aws("ListAccessGrantsLocations", &scope))?;
            let Some(location) = found.first() else {
                return Err(StepError::Missing(scope));
            };
            clients
                .update_location_role(&location.id, &role)
                .await
                .map_err(aws("UpdateAccessGrantsLocation", &scope))?;
            tracing::info!(location_id = %location.id, role = %role, "updated the location's IAM role");
            Ok(())
        }
        LocationAction::Delete { scope, .. } => {
            let found = clients
                .locations_for(&scope)
                .await
                .map_err(aws("ListAccessGrantsLocations", &scope))?;
            if found.is_empty() {
                tracing::info!(scope = %scope, "no Access Grants location to delete");
            }
            for location in found {
                clients
                    .delete_location(&location.id)
                    .await
                    .map_err(aws("DeleteAccessGrantsLocation", &scope))?;
                tracing::info!(location_id = %location.id, "deleted the Access Grants location");
            }
            Ok(())
        }
        LocationAction::Verify { scope, role, .. } => {
            let mut attempt = 1;
            loop {
                let found = clients
                    .locations_for(&scope)
                    .await
                    .map_err(aws("ListAccessGrantsLocations", &scope))?;
                let outcome = match found.first() {
                    None => Err(StepError::Missing(scope.clone())),
                    Some(l) if l.iam_role_arn != role => Err(StepError::WrongRole {
                        scope: scope.clone(),
                        found: l.iam_role_arn.clone(),
                        expected: role.clone(),
                    }),
                    Some(_) => Ok(()),
                };
                // A read right after a write may not see it yet: a few short
                // retries before the step fails and the plan rolls back.
                match outcome {
                    Err(e) if attempt < VERIFY_ATTEMPTS => {
                        tracing::debug!(error = %e, attempt, "location not as expected yet");
                        attempt += 1;
                        tokio::time::sleep(VERIFY_PAUSE).await;
                    }
                    other => return other,
                }
            }
        }
    }
}
