//! The `config` object of a Snowflake integration, and the rules its values
//! must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types (with the JSON path, through
//! `junction_core::config::from_json_at`); [`validate`] rejects values that
//! parse but cannot work, each with its path under `config`.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Snowflake is reached over HTTPS.
pub const DEFAULT_PORT: u16 = 443;
/// The table-grants role prefix when the payload names none.
pub const DEFAULT_ROLE_PREFIX: &str = "IMMUTA";
pub use junction_kit::config::MAX_CONNECT_TIMEOUT_SECONDS;
/// Appended to the database name to name the system user of an automatic set-up.
pub const SYSTEM_USER_SUFFIX: &str = "_SYSTEM";
/// Appended to the database name to name the system role of an automatic set-up.
pub const SYSTEM_ROLE_SUFFIX: &str = "_SYSTEM_ROLE";
/// Snowflake's longest identifier.
pub const MAX_IDENTIFIER_CHARS: usize = 255;
/// Longest database name: the derived system role's name must fit too.
pub const MAX_DATABASE_CHARS: usize = MAX_IDENTIFIER_CHARS - SYSTEM_ROLE_SUFFIX.len();

/// How Junction logs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationType {
    /// `username` and `password`.
    #[default]
    UserPassword,
    /// `username` and an RSA private key (`privateKey.content`, PKCS#8 PEM):
    /// Junction signs the JWT Snowflake's key-pair authentication asks for.
    KeyPair,
}

/// An RSA private key, as the reference product's payload carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateKey {
    /// A label for the key (shown in the UI of the reference product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The name of the file the key was uploaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_filename: Option<String>,
    /// The key itself: a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub content: Secret<String>,
}

/// User impersonation: a role that lets Junction run queries as other users.
pub type Impersonation = junction_kit::config::Impersonation<junction_kit::config::UppercaseRole>;

/// Snowflake table grants: Junction manages roles named with this prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableGrants {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_role_prefix")]
    pub role_prefix: String,
}

impl Default for TableGrants {
    fn default() -> Self {
        TableGrants {
            enabled: false,
            role_prefix: default_role_prefix(),
        }
    }
}

/// Query audit: the system role may read `SNOWFLAKE.ACCOUNT_USAGE`.
pub use junction_kit::config::Audit;

fn default_role_prefix() -> String {
    DEFAULT_ROLE_PREFIX.to_owned()
}
fn default_port() -> u16 {
    DEFAULT_PORT
}

/// The `config` of a Snowflake integration.
///
/// With `autoBootstrap: true`, `username`, its credentials and `role` are a
/// privileged user's and role's (e.g. `ACCOUNTADMIN`), used once by create;
/// Junction then stores the system user and role it created, with a generated
/// password. With `autoBootstrap: false` they are the system user and role
/// that the operator created with the manual scripts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnowflakeConfig {
    /// The account's host name: `<account>.snowflakecomputing.com` (or its
    /// private-link name). The account name is its first label.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// The default warehouse Junction's queries run on.
    pub warehouse: String,
    /// The database Junction manages: created by the set-up.
    pub database: String,
    /// The privileged role (automatic set-up) or the system role (manual).
    pub role: String,
    #[serde(default)]
    pub authentication_type: AuthenticationType,
    pub username: String,
    /// With `authenticationType: userPassword`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret<String>>,
    /// With `authenticationType: keyPair`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PrivateKey>,
    /// The passphrase of an encrypted private key (PKCS#8 with PBES2: PBKDF2
    /// and AES-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_password: Option<Secret<String>>,
    #[serde(default)]
    pub impersonation: Impersonation,
    #[serde(default)]
    pub table_grants: TableGrants,
    #[serde(default)]
    pub audit: Audit,
    /// Where to send requests instead of `https://host:port`:
    /// `scheme://host:port`. For private links and for tests against a local
    /// server; `http://` only for a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default = "junction_kit::config::default_connect_timeout")]
    pub connect_timeout_seconds: u64,
}

impl SnowflakeConfig {
    /// The name of the system user an automatic set-up creates for this database.
    pub fn system_user_name(&self) -> String {
        format!("{}{SYSTEM_USER_SUFFIX}", self.database)
    }

    /// The name of the system role an automatic set-up creates for this database.
    pub fn system_role_name(&self) -> String {
        format!("{}{SYSTEM_ROLE_SUFFIX}", self.database)
    }

    /// The impersonation role, when impersonation is enabled.
    pub fn impersonation_role(&self) -> Option<&str> {
        self.impersonation
            .enabled
            .then_some(self.impersonation.role.as_str())
    }

    /// The table-grants role prefix, when table grants are enabled.
    pub fn table_grants_prefix(&self) -> Option<&str> {
        self.table_grants
            .enabled
            .then_some(self.table_grants.role_prefix.as_str())
    }

    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.connect_timeout_seconds)
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("https://{}:{}", self.host, self.port),
        }
    }

    /// The account name the log-in names: the host's first label, upper-case.
    pub fn account_name(&self) -> String {
        self.host
            .split('.')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    }
}

/// Privileged credentials in the body of a DELETE of an automatically set-up
/// integration (and of an edit that changes roles or grants): used once and
/// never stored. `role` defaults to the role the integration was created with.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivilegedCredentials {
    pub username: String,
    #[serde(default)]
    pub authentication_type: AuthenticationType,
    #[serde(default)]
    pub password: Option<Secret<String>>,
    #[serde(default)]
    pub private_key: Option<PrivateKey>,
    #[serde(default)]
    pub private_key_password: Option<Secret<String>>,
    /// The privileged role; `ACCOUNTADMIN` when left out.
    #[serde(default)]
    pub role: Option<String>,
}

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &SnowflakeConfig, auto_bootstrap: bool) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let host = c.host.trim();
    if host.is_empty() {
        errors.push("config.host", "must not be empty");
    } else if host.len() != c.host.len()
        || host.contains(char::is_whitespace)
        || host.contains(['/', ':', '@'])
    {
        errors.push(
            "config.host",
            "must be a host name only (no scheme, port, path or whitespace)",
        );
    }
    if c.port == 0 {
        errors.push("config.port", "must be between 1 and 65535");
    }
    identifier(
        &mut errors,
        "config.warehouse",
        &c.warehouse,
        MAX_IDENTIFIER_CHARS,
    );
    identifier(
        &mut errors,
        "config.database",
        &c.database,
        MAX_DATABASE_CHARS,
    );
    identifier(&mut errors, "config.role", &c.role, MAX_IDENTIFIER_CHARS);
    identifier(
        &mut errors,
        "config.username",
        &c.username,
        MAX_IDENTIFIER_CHARS,
    );
    credentials(
        &mut errors,
        "config",
        c.authentication_type,
        c.password.as_ref(),
        c.private_key.as_ref(),
        c.private_key_password.as_ref(),
    );
    if c.impersonation.enabled {
        identifier(
            &mut errors,
            "config.impersonation.role",
            &c.impersonation.role,
            MAX_IDENTIFIER_CHARS,
        );
        if c.impersonation.role == c.system_role_name() || c.impersonation.role == c.role {
            errors.push(
                "config.impersonation.role",
                "must differ from the system role and the privileged role",
            );
        }
    }
    if c.table_grants.enabled {
        let p = &c.table_grants.role_prefix;
        if p.is_empty() {
            errors.push("config.tableGrants.rolePrefix", "must not be empty");
        } else if p.len() > 50 || !p.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            errors.push(
                "config.tableGrants.rolePrefix",
                "must be at most 50 letters, digits or underscores",
            );
        }
    }
    if let Some(e) = &c.endpoint {
        if let Err(m) = check_endpoint(e) {
            errors.push("config.endpoint", m);
        }
    }
    junction_kit::config::check_connect_timeout(&mut errors, c.connect_timeout_seconds);
    let _ = auto_bootstrap;
    errors.into_result()
}

/// The credential fields for an authentication type, under `prefix`.
pub fn credentials(
    errors: &mut ConfigErrors,
    prefix: &str,
    kind: AuthenticationType,
    password: Option<&Secret<String>>,
    private_key: Option<&PrivateKey>,
    private_key_password: Option<&Secret<String>>,
) {
    let at = |f: &str| junction_core::config::join_path(prefix, f);
    match kind {
        AuthenticationType::UserPassword => {
            match password {
                None => errors.push(
                    at("password"),
                    "is required with authenticationType userPassword",
                ),
                Some(p) if p.expose().is_empty() => {
                    errors.push(at("password"), "must not be empty")
                }
                Some(_) => {}
            }
            if private_key.is_some() {
                errors.push(
                    at("privateKey"),
                    "is only used with authenticationType keyPair",
                );
            }
        }
        AuthenticationType::KeyPair => {
            match private_key {
                None => errors.push(
                    at("privateKey.content"),
                    "is required with authenticationType keyPair",
                ),
                Some(k) => {
                    let pem = k.content.expose();
                    if crate::keypair::is_encrypted(pem) {
                        if private_key_password.is_none_or(|p| p.expose().is_empty()) {
                            errors.push(
                                at("privateKeyPassword"),
                                "is required: the private key is encrypted",
                            );
                        }
                    } else if !pem.contains("-----BEGIN PRIVATE KEY-----") {
                        errors.push(
                            at("privateKey.content"),
                            "must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----); convert a PKCS#1 key with openssl pkcs8 -topk8",
                        );
                    }
                }
            }
            if password.is_some() {
                errors.push(
                    at("password"),
                    "is only used with authenticationType userPassword",
                );
            }
        }
    }
}

/// `scheme://host:port`, nothing else (the driver's URL is built from it);
/// plain HTTP only to a loopback address.
fn check_endpoint(e: &str) -> Result<(), String> {
    let authority = e
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if !authority.contains(':') || authority.ends_with(']') {
        return Err("must name a port: scheme://host:port".into());
    }
    junction_kit::config::check_url(e, false)
}

/// A name used as a quoted identifier: any character but NUL, within
/// Snowflake's length. Quoted identifiers are case-sensitive: `immuta` and
/// `IMMUTA` are two databases.
fn identifier(errors: &mut ConfigErrors, path: &str, name: &str, max: usize) {
    if name.is_empty() {
        errors.push(path, "must not be empty");
    } else if name.chars().count() > max {
        errors.push(path, format!("must be at most {max} characters long"));
    } else if name.contains('\0') {
        errors.push(path, "must not contain a NUL character");
    }
}
