//! The `config` object of a Redshift integration, and the rules its values
//! must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types (with the JSON path, through
//! `junction_core::config::from_json_at`); [`validate`] rejects values that
//! parse but cannot work, each with its path under `config`.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Redshift's own default port.
pub const DEFAULT_PORT: u16 = 5439;
pub use junction_kit::config::MAX_CONNECT_TIMEOUT_SECONDS;
/// Appended to the database name to name the system user of an automatic set-up.
pub const SYSTEM_USER_SUFFIX: &str = "_system";
/// Longest identifier PostgreSQL keeps (Redshift allows 127; the stand-in is
/// PostgreSQL, and a longer name would be truncated silently there).
pub const MAX_IDENTIFIER_BYTES: usize = 63;
/// Longest database name: the system user's derived name must fit too.
pub const MAX_DATABASE_BYTES: usize = MAX_IDENTIFIER_BYTES - SYSTEM_USER_SUFFIX.len();

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TlsMode {
    /// TLS with the server's certificate verified against the public web PKI
    /// roots (Redshift's certificates chain to them). The default.
    #[default]
    Require,
    /// No TLS. For tests against a local stand-in only: the password would
    /// cross the network in the clear.
    Disable,
}

/// How Junction logs in. Redshift integrations support user and password only.
pub type AuthenticationType = junction_kit::config::UserPasswordOnly;

/// User impersonation: a role that lets Junction run queries as other users.
pub type Impersonation = junction_kit::config::Impersonation<junction_kit::config::LowercaseRole>;
fn default_port() -> u16 {
    DEFAULT_PORT
}

/// The `config` of a Redshift integration.
///
/// With `autoBootstrap: true`, `username` and `password` are a privileged
/// user's (a superuser), used once by create; Junction then stores the system
/// user it created, with a generated password. With `autoBootstrap: false` they
/// are the system user's that the operator created with the manual scripts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedshiftConfig {
    /// The cluster's endpoint host name.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// An existing database to connect to first (Redshift's is `dev`).
    pub initial_database: String,
    /// The database Junction manages: created by the set-up. Lowercase.
    pub database: String,
    #[serde(default)]
    pub authentication_type: AuthenticationType,
    pub username: String,
    pub password: Secret<String>,
    #[serde(default)]
    pub impersonation: Impersonation,
    #[serde(default)]
    pub tls: TlsMode,
    #[serde(default = "junction_kit::config::default_connect_timeout")]
    pub connect_timeout_seconds: u64,
}

impl RedshiftConfig {
    /// The name of the system user an automatic set-up creates for this database.
    pub fn system_user_name(&self) -> String {
        format!("{}{SYSTEM_USER_SUFFIX}", self.database)
    }

    /// The impersonation role, when impersonation is enabled.
    pub fn impersonation_role(&self) -> Option<&str> {
        self.impersonation
            .enabled
            .then_some(self.impersonation.role.as_str())
    }

    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.connect_timeout_seconds)
    }
}

pub use junction_kit::config::PrivilegedCredentials;

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &RedshiftConfig, auto_bootstrap: bool) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    junction_kit::config::check_host_port(&mut errors, &c.host, c.port);
    identifier(
        &mut errors,
        "config.initialDatabase",
        &c.initial_database,
        MAX_IDENTIFIER_BYTES,
        false,
    );
    identifier(
        &mut errors,
        "config.database",
        &c.database,
        MAX_DATABASE_BYTES,
        true,
    );
    if !c.database.is_empty() && c.database == c.initial_database {
        errors.push(
            "config.database",
            "must differ from initialDatabase: it is the new database Junction manages",
        );
    }
    identifier(
        &mut errors,
        "config.username",
        &c.username,
        MAX_IDENTIFIER_BYTES,
        false,
    );
    if c.password.expose().is_empty() {
        errors.push("config.password", "must not be empty");
    }
    if c.impersonation.enabled {
        identifier(
            &mut errors,
            "config.impersonation.role",
            &c.impersonation.role,
            MAX_IDENTIFIER_BYTES,
            true,
        );
        if c.impersonation.role == c.system_user_name()
            || (!auto_bootstrap && c.impersonation.role == c.username)
        {
            errors.push(
                "config.impersonation.role",
                "must differ from the system user's name",
            );
        }
    }
    junction_kit::config::check_connect_timeout(&mut errors, c.connect_timeout_seconds);
    errors.into_result()
}

/// A name used as a quoted identifier: any character but NUL, within the
/// length PostgreSQL keeps. Names Junction creates must be lowercase, because
/// Redshift folds even quoted identifiers to lowercase by default.
fn identifier(errors: &mut ConfigErrors, path: &str, name: &str, max: usize, created: bool) {
    if name.is_empty() {
        errors.push(path, "must not be empty");
    } else if name.len() > max {
        errors.push(path, format!("must be at most {max} bytes long"));
    } else if name.contains('\0') {
        errors.push(path, "must not contain a NUL character");
    } else if created && name.chars().any(char::is_uppercase) {
        errors.push(
            path,
            "must be lowercase: Redshift folds identifiers to lowercase",
        );
    }
}
