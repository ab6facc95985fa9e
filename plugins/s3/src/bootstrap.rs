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

use crate::config::S3Config;
use crate::scripts::LocationAction;
use junction_core::Plan;

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
