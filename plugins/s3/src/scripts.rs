//! The platform's language: one call to S3 Control as a plan's action, and
//! its rendering as an AWS CLI command for the manual scripts (never with
//! credentials in it).

use junction_core::Action;

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

/// A value as one shell word (the kit's quoting, shared with remedies).
pub use junction_kit::remedy::shell_quote;

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
