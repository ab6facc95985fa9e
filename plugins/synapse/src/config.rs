//! The `config` object of an Azure Synapse Analytics integration, and the
//! rules its values must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types (with the JSON path, through
//! `junction_core::config::from_json_at`); [`validate`] rejects values that
//! parse but cannot work, each with its path under `config`.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// SQL Server's (and Synapse's) port.
pub const DEFAULT_PORT: u16 = 1433;
/// Seconds a connection (TCP, pre-login, TLS, log-in, and the retries of
/// Azure's transient log-in errors) may take before it gives up. Longer than
/// the kit's SQL default (5 s, at most 60 s), for those retries. A paused SQL
/// pool that is resuming answers 42108/42109 for a while: 30 s lets a warm-up
/// finish without making a dead host slow to report.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 30;
/// Upper bound, so that a validation run always ends in reasonable time.
pub const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 120;
/// Appended to the database name to name the system login and user of an
/// automatic set-up.
pub const SYSTEM_USER_SUFFIX: &str = "_immuta_system";
/// `sysname` is `nvarchar(128)`: the longest name SQL Server keeps.
pub const MAX_IDENTIFIER_CHARS: usize = 128;
/// Longest database name: the system user's derived name must fit too.
pub const MAX_DATABASE_CHARS: usize = MAX_IDENTIFIER_CHARS - SYSTEM_USER_SUFFIX.len();
/// Longest delimiter.
pub const MAX_DELIMITER_CHARS: usize = 8;

/// Schemas the set-up creates beside the view schema.
pub const SCHEMA_SYSTEM: &str = "immuta_system";
pub const SCHEMA_FUNCTIONS: &str = "immuta_functions";
pub const SCHEMA_PROCEDURES: &str = "immuta_procedures";
pub const SYSTEM_SCHEMAS: [&str; 3] = [SCHEMA_SYSTEM, SCHEMA_FUNCTIONS, SCHEMA_PROCEDURES];
/// Schemas every database has, which the set-up can neither create nor drop.
const BUILT_IN_SCHEMAS: [&str; 4] = ["dbo", "sys", "guest", "INFORMATION_SCHEMA"];

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Encrypt {
    /// TLS for the whole connection, the server's certificate verified against
    /// the public web PKI roots (Azure's chain to them) and, when
    /// `trustedCaFile` is set, the CAs in that file. The default.
    #[default]
    Require,
    /// SQL Server's `Encrypt=false`: TLS for the log-in packet only, the
    /// certificate not verified, everything after it in the clear. For local
    /// stand-ins only. (The server must offer TLS for the log-in, as SQL
    /// Server always does.)
    Disable,
}

/// How Junction logs in. Synapse integrations support SQL logins only.
pub type AuthenticationType = junction_kit::config::UserPasswordOnly;

/// User impersonation: a database role, created by the set-up, whose
/// members Junction's procedures may query as another user (the kit's shape,
/// shared with Redshift and Snowflake).
pub type Impersonation = junction_kit::config::Impersonation<junction_kit::config::LowercaseRole>;

/// How Junction flattens metadata into strings. Fixed once the integration is
/// set up: a change would make what is already stored unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataDelimiters {
    #[serde(default = "default_hash")]
    pub hash_delimiter: String,
    #[serde(default = "default_hash_key")]
    pub hash_key_delimiter: String,
    #[serde(default = "default_array")]
    pub array_delimiter: String,
}

impl Default for MetadataDelimiters {
    fn default() -> Self {
        MetadataDelimiters {
            hash_delimiter: default_hash(),
            hash_key_delimiter: default_hash_key(),
            array_delimiter: default_array(),
        }
    }
}

fn default_hash() -> String {
    "|".into()
}
fn default_hash_key() -> String {
    ":".into()
}
fn default_array() -> String {
    ",".into()
}
fn default_port() -> u16 {
    DEFAULT_PORT
}
fn default_connect_timeout() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_SECONDS
}

/// The `config` of an Azure Synapse Analytics integration.
///
/// With `autoBootstrap: true`, `username` and `password` are a privileged
/// login's (the server admin, or a member of `db_owner` that may create
/// logins), used once by create; Junction then stores the system user it
/// created, with a generated password. With `autoBootstrap: false` they are
/// the system user's that the operator created with the manual scripts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SynapseConfig {
    /// The workspace's SQL endpoint (`<workspace>.sql.azuresynapse.net`).
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// An existing database (a dedicated SQL pool) that Junction sets up in.
    pub database: String,
    /// The schema that will hold Junction's views, created by the set-up.
    pub schema: String,
    #[serde(default)]
    pub authentication_type: AuthenticationType,
    pub username: String,
    pub password: Secret<String>,
    #[serde(default)]
    pub impersonation: Impersonation,
    #[serde(default)]
    pub metadata_delimiters: MetadataDelimiters,
    #[serde(default)]
    pub encrypt: Encrypt,
    /// A PEM file of CA certificates to trust besides the public roots, for a
    /// server whose certificate a private CA issued (a test server's). Safer
    /// than SQL Server's `TrustServerCertificate`: the chain and the host
    /// name are still verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca_file: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
}

impl SynapseConfig {
    /// The name of the system login and user an automatic set-up creates.
    pub fn system_user_name(&self) -> String {
        format!("{}{SYSTEM_USER_SUFFIX}", self.database)
    }

    /// The impersonation role, when impersonation is enabled.
    pub fn impersonation_role(&self) -> Option<&str> {
        self.impersonation.role()
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_seconds)
    }
}

pub use junction_kit::config::PrivilegedCredentials;

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &SynapseConfig, auto_bootstrap: bool) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    junction_kit::config::check_host_port(&mut errors, &c.host, c.port);
    identifier(
        &mut errors,
        "config.database",
        &c.database,
        MAX_DATABASE_CHARS,
    );
    identifier(
        &mut errors,
        "config.schema",
        &c.schema,
        MAX_IDENTIFIER_CHARS,
    );
    let reserved = BUILT_IN_SCHEMAS
        .iter()
        .chain(SYSTEM_SCHEMAS.iter())
        .find(|s| s.eq_ignore_ascii_case(&c.schema));
    if let Some(s) = reserved {
        errors.push(
            "config.schema",
            format!("must not be {s}: it is built in or one of Junction's own schemas"),
        );
    }
    identifier(
        &mut errors,
        "config.username",
        &c.username,
        MAX_IDENTIFIER_CHARS,
    );
    if c.password.expose().is_empty() {
        errors.push("config.password", "must not be empty");
    }
    if c.impersonation.enabled {
        let path = "config.impersonation.role";
        identifier(
            &mut errors,
            path,
            &c.impersonation.role,
            MAX_IDENTIFIER_CHARS,
        );
        let sys = c.system_user_name();
        if c.impersonation.role.eq_ignore_ascii_case(&sys)
            || (!auto_bootstrap && c.impersonation.role.eq_ignore_ascii_case(&c.username))
        {
            errors.push(path, "must differ from the system user's name");
        }
    }
    let d = &c.metadata_delimiters;
    for (path, value) in [
        ("config.metadataDelimiters.hashDelimiter", &d.hash_delimiter),
        (
            "config.metadataDelimiters.hashKeyDelimiter",
            &d.hash_key_delimiter,
        ),
        (
            "config.metadataDelimiters.arrayDelimiter",
            &d.array_delimiter,
        ),
    ] {
        let chars = value.chars().count();
        if chars == 0 {
            errors.push(path, "must not be empty");
        } else if chars > MAX_DELIMITER_CHARS {
            errors.push(
                path,
                format!("must be at most {MAX_DELIMITER_CHARS} characters long"),
            );
        } else if value
            .chars()
            .any(|ch| ch.is_control() || ch.is_whitespace())
        {
            errors.push(path, "must not contain whitespace or control characters");
        }
    }
    if let Some(ca) = &c.trusted_ca_file {
        if ca.trim().is_empty() {
            errors.push("config.trustedCaFile", "must not be empty when given");
        } else if c.encrypt == Encrypt::Disable {
            errors.push(
                "config.trustedCaFile",
                "has no effect with encrypt \"disable\": use encrypt \"require\"",
            );
        }
    }
    if !(1..=MAX_CONNECT_TIMEOUT_SECONDS).contains(&c.connect_timeout_seconds) {
        errors.push(
            "config.connectTimeoutSeconds",
            format!("must be between 1 and {MAX_CONNECT_TIMEOUT_SECONDS}"),
        );
    }
    errors.into_result()
}

/// A name written as a bracketed identifier: any character but NUL, within
/// what `sysname` holds, without surrounding spaces (SQL Server trims them).
fn identifier(errors: &mut ConfigErrors, path: &str, name: &str, max: usize) {
    if name.is_empty() {
        errors.push(path, "must not be empty");
    } else if name.chars().count() > max {
        errors.push(path, format!("must be at most {max} characters long"));
    } else if name.chars().any(char::is_control) {
        errors.push(path, "must not contain control characters");
    } else if name.trim() != name {
        errors.push(path, "must not begin or end with whitespace");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<SynapseConfig, ConfigErrors> {
        junction_core::config::from_json_at(&v, "config")
    }

    fn base() -> serde_json::Value {
        json!({"host": "ws.sql.azuresynapse.net", "database": "pool1", "schema": "immuta",
               "username": "sqladmin", "password": "pw"})
    }

    #[test]
    fn defaults_are_filled() {
        let c = parse(base()).expect("parses");
        assert_eq!(c.port, 1433);
        assert_eq!(c.encrypt, Encrypt::Require);
        assert_eq!(c.metadata_delimiters, MetadataDelimiters::default());
        assert_eq!(c.metadata_delimiters.hash_delimiter, "|");
        assert_eq!(c.metadata_delimiters.hash_key_delimiter, ":");
        assert_eq!(c.metadata_delimiters.array_delimiter, ",");
        assert!(!c.impersonation.enabled);
        assert_eq!(c.connect_timeout_seconds, DEFAULT_CONNECT_TIMEOUT_SECONDS);
        validate(&c, true).expect("valid");
    }

    #[test]
    fn bad_values_are_reported_with_their_paths() {
        let mut v = base();
        v["host"] = json!(" ");
        v["schema"] = json!("dbo");
        v["metadataDelimiters"] = json!({"hashDelimiter": "", "arrayDelimiter": "a b"});
        v["impersonation"] = json!({"enabled": true, "role": ""});
        v["connectTimeoutSeconds"] = json!(0);
        let c = parse(v).expect("parses");
        let e = validate(&c, true).expect_err("invalid");
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "config.host",
                "config.schema",
                "config.impersonation.role",
                "config.metadataDelimiters.hashDelimiter",
                "config.metadataDelimiters.arrayDelimiter",
                "config.connectTimeoutSeconds"
            ]
        );
    }

    #[test]
    fn equal_hash_and_array_delimiters_are_left_to_the_validation_test() {
        let mut v = base();
        v["metadataDelimiters"] = json!({"hashDelimiter": ",", "arrayDelimiter": ","});
        validate(&parse(v).expect("parses"), true).expect("the contract's test reports it");
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_their_path() {
        let mut v = base();
        v["encrypt"] = json!("sometimes");
        let e = parse(v).expect_err("refused");
        assert_eq!(e.0[0].path, "config.encrypt");
        let mut v = base();
        v["metadataDelimiters"] = json!({"hashDelim": "|"});
        let e = parse(v).expect_err("refused");
        assert!(
            e.0[0].path.starts_with("config.metadataDelimiters"),
            "{e:?}"
        );
    }
}
