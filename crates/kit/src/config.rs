//! Configuration pieces several platforms share: user impersonation, query
//! audit and the connect timeout, with their defaults and rules.

use junction_core::ConfigErrors;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// Seconds to wait for a connection (TCP, TLS and log-in) before giving up.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// Upper bound, so that a validation run always ends in reasonable time.
pub const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 60;

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
    fn connect_timeouts_outside_the_range_are_refused_with_their_path() {
        let mut errors = ConfigErrors::default();
        check_connect_timeout(&mut errors, 0);
        check_connect_timeout(&mut errors, 61);
        check_connect_timeout(&mut errors, 60);
        assert_eq!(errors.0.len(), 2);
        assert_eq!(errors.0[0].path, "config.connectTimeoutSeconds");
    }
}
