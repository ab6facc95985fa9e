//! Configuration pieces several platforms share: user impersonation, query
//! audit and the connect timeout, with their defaults and rules.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// Seconds to wait for a connection (TCP, TLS and log-in) before giving up.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// Upper bound, so that a validation run always ends in reasonable time.
pub const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 60;

/// A user name and password: what a SQL platform's session logs in with,
/// and the body of a DELETE of an automatically set-up integration (a
/// privileged user's log-in, used once and never stored).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PrivilegedCredentials")]
pub struct UserPassword {
    pub username: String,
    pub password: Secret<String>,
}

/// The DELETE body of the SQL platforms.
pub type PrivilegedCredentials = UserPassword;

/// How a SQL platform logs in, where the reference product offers user and
/// password only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "AuthenticationType")]
pub enum UserPasswordOnly {
    #[default]
    UserPassword,
}

/// The impersonation role's default on platforms that fold names to lower
/// case (Redshift, Synapse).
#[derive(Debug, Clone, Copy)]
pub struct LowercaseRole;

impl DefaultRole for LowercaseRole {
    const ROLE: &'static str = "immuta_impersonation";
}

/// The impersonation role's default on Snowflake, which folds to upper case.
#[derive(Debug, Clone, Copy)]
pub struct UppercaseRole;

impl DefaultRole for UppercaseRole {
    const ROLE: &'static str = "IMMUTA_IMPERSONATION";
}

/// `config.host` names a host (no blanks) and `config.port` is not 0.
pub fn check_host_port(errors: &mut ConfigErrors, host: &str, port: u16) {
    let trimmed = host.trim();
    if trimmed.is_empty() {
        errors.push("config.host", "must not be empty");
    } else if trimmed.len() != host.len() || trimmed.contains(char::is_whitespace) {
        errors.push("config.host", "must not contain whitespace");
    }
    if port == 0 {
        errors.push("config.port", "must be between 1 and 65535");
    }
}

/// The serde default of `connectTimeoutSeconds`.
pub fn default_connect_timeout() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_SECONDS
}

/// `config.connectTimeoutSeconds` must be between 1 and the maximum.
pub fn check_connect_timeout(errors: &mut ConfigErrors, seconds: u64) {
    if !(1..=MAX_CONNECT_TIMEOUT_SECONDS).contains(&seconds) {
        errors.push(
            "config.connectTimeoutSeconds",
            format!("must be between 1 and {MAX_CONNECT_TIMEOUT_SECONDS}"),
        );
    }
}

/// Query audit (`audit: {enabled}` in the reference product's payloads of
/// Snowflake and Databricks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Audit {
    /// Whether Junction reads the platform's query history.
    #[serde(default)]
    pub enabled: bool,
}

/// Every endpoint override a platform takes is one: a credential or a token
/// travels on it, so plain HTTP only ever goes to a local stand-in.
/// A URL Junction sends requests to: `https://…`, or `http://` to a loopback
/// address only (tests). `with_path`: a path is allowed (a token endpoint).
pub fn check_url(url: &str, with_path: bool) -> Result<(), String> {
    let Some((scheme, rest)) = url.trim().split_once("://") else {
        return Err("must be a URL: scheme://host[:port]".into());
    };
    if scheme != "http" && scheme != "https" {
        return Err("the scheme must be https (or http to a loopback address)".into());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !with_path && !path.trim_end_matches('/').is_empty() {
        return Err("must be scheme://host:port, without a path".into());
    }
    if authority.is_empty() || authority.contains(['@', '?', '#']) || rest.contains(['?', '#']) {
        return Err("must name a host: scheme://host[:port]".into());
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || authority.starts_with('[') => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err("the port must be between 1 and 65535".into());
            }
            h
        }
        _ => authority,
    };
    if scheme == "http" && !is_loopback(host) {
        return Err("plain http is only allowed to a loopback address (tests)".into());
    }
    Ok(())
}

/// `localhost`, `[::1]` or an address of 127.0.0.0/8.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// The impersonation role's name when a payload names none: platforms fold
/// case differently, so each names its own.
pub trait DefaultRole: Send + Sync + 'static {
    const ROLE: &'static str;
}

/// User impersonation: a role, created by the set-up, that lets Junction run
/// queries as other users. `D` gives the role's default name.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, bound = "")]
#[schemars(rename = "Impersonation", bound = "")]
pub struct Impersonation<D: DefaultRole> {
    #[serde(default)]
    pub enabled: bool,
    /// The impersonation role, created by the set-up.
    #[serde(default = "role_of::<D>")]
    pub role: String,
    #[serde(skip)]
    #[schemars(skip)]
    default: PhantomData<D>,
}

fn role_of<D: DefaultRole>() -> String {
    D::ROLE.to_owned()
}

impl<D: DefaultRole> Impersonation<D> {
    pub fn new(enabled: bool, role: impl Into<String>) -> Self {
        Impersonation {
            enabled,
            role: role.into(),
            default: PhantomData,
        }
    }

    /// The role, when impersonation is enabled.
    pub fn role(&self) -> Option<&str> {
        self.enabled.then_some(self.role.as_str())
    }
}

impl<D: DefaultRole> Default for Impersonation<D> {
    fn default() -> Self {
        Impersonation::new(false, D::ROLE)
    }
}

impl<D: DefaultRole> Clone for Impersonation<D> {
    fn clone(&self) -> Self {
        Impersonation::new(self.enabled, self.role.clone())
    }
}

impl<D: DefaultRole> PartialEq for Impersonation<D> {
    fn eq(&self, other: &Self) -> bool {
        self.enabled == other.enabled && self.role == other.role
    }
}

impl<D: DefaultRole> Eq for Impersonation<D> {}

impl<D: DefaultRole> std::fmt::Debug for Impersonation<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Impersonation")
            .field("enabled", &self.enabled)
            .field("role", &self.role)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lower;
    impl DefaultRole for Lower {
        const ROLE: &'static str = "immuta_impersonation";
    }

    #[test]
    fn the_role_defaults_per_platform_and_unknown_fields_are_refused() {
        let i: Impersonation<Lower> =
            serde_json::from_value(serde_json::json!({"enabled": true})).expect("parses");
        assert_eq!(i.role(), Some("immuta_impersonation"));
        assert_eq!(
            serde_json::to_value(&i).expect("json"),
            serde_json::json!({"enabled": true, "role": "immuta_impersonation"})
        );
        assert!(
            serde_json::from_value::<Impersonation<Lower>>(serde_json::json!({"x": 1})).is_err()
        );
        let schema = junction_core::platform::schema_of::<Impersonation<Lower>>();
        assert_eq!(schema["title"], "Impersonation");
    }

    #[test]
    fn urls_are_https_or_plain_http_to_loopback_only() {
        assert!(check_url("https://example.cloud.databricks.com", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080", false).is_ok());
        assert!(check_url("http://[::1]:8080/oidc/v1/token", true).is_ok());
        assert!(check_url("http://example.com", false).is_err());
        assert!(
            check_url("https://h/x", false).is_err(),
            "a path where none belongs"
        );
        assert!(check_url("https://h/x", true).is_ok());
        assert!(check_url("https://h:0", false).is_err());
        assert!(check_url("https://h/?q=1", true).is_err());
        assert!(check_url("ftp://h", true).is_err());
        assert!(check_url("h:443", true).is_err());
    }

    #[test]
    fn connect_timeouts_outside_the_range_are_refused_with_their_path() {
        let mut errors = ConfigErrors::default();
        check_connect_timeout(&mut errors, 0);
        check_connect_timeout(&mut errors, 61);
        check_connect_timeout(&mut errors, 60);
        assert_eq!(errors.0.len(), 2);
        assert_eq!(errors.0[0].path, "config.connectTimeoutSeconds");
    }
}
