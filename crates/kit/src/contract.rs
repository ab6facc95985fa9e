//! Strings of the response contract (and of the reference product's API)
//! that more than one platform uses, written once, character for character.
//! A platform's own strings stay in its `checks.rs`.

/// `Initial validation: connect` (Synapse) and the basic connection tests of
/// Redshift and Snowflake.
pub const UNABLE_TO_CONNECT: &str = "Unable to connect to host.";

/// `Validate automatic: impersonation role does not exist` (Redshift,
/// Snowflake, Synapse).
pub const IMPERSONATION_ROLE_EXISTS: &str = "Impersonation role already exists. If this role can be safely dropped please do so and try again. Alternatively, specify a different role name.";

/// `Validate automatic: database does not exist` (Redshift, Snowflake).
pub const DATABASE_EXISTS: &str = "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.";

/// The test names the SQL platforms share.
pub const TEST_BASIC_CONNECTION: &str = "Initial validation: basic connection test";
pub const TEST_DATABASE_ABSENT: &str = "Validate automatic: database does not exist";
pub const TEST_IMPERSONATION_ROLE_ABSENT: &str =
    "Validate automatic: impersonation role does not exist";

/// DELETE of an automatically set-up integration without credentials.
pub const DELETE_NEEDS_CREDENTIALS: &str = "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.";

/// DELETE with credentials of a manually set-up integration.
pub const DELETE_REFUSES_CREDENTIALS: &str = "Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling.";

/// The message of a field fixed once set up.
pub const FIXED_AFTER_CREATE: &str =
    "cannot change after create: delete the integration and create a new one";
