//! The `config` object of a Databricks Unity Catalog integration, and the
//! rules its values must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types (with the JSON path, through
//! `junction_core::config::from_json_at`); [`validate`] rejects values that
//! parse but cannot work, each with its path under `config`.

use junction_core::{ConfigErrors, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The OAuth scope Databricks' machine-to-machine tokens use for the REST APIs.
pub const DEFAULT_SCOPE: &str = "all-apis";
/// Where a workspace issues OAuth tokens, relative to the workspace URL.
pub const TOKEN_PATH: &str = "/oidc/v1/token";
/// Seconds to wait for a connection (TCP and TLS) before giving up.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// Seconds a single REST request may take.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
/// Seconds a SQL statement may run (queued or running) before it is cancelled.
pub const DEFAULT_STATEMENT_TIMEOUT_SECONDS: u64 = 300;
/// Upper bounds, so that every operation ends in reasonable time.
pub const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 60;
pub const MAX_REQUEST_TIMEOUT_SECONDS: u64 = 300;
pub const MAX_STATEMENT_TIMEOUT_SECONDS: u64 = 3600;
/// Unity Catalog's longest name.
pub const MAX_NAME_CHARS: usize = 255;

/// How Junction authenticates to the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AuthenticationType {
    /// A personal access token (`token`), sent as a bearer token.
    #[serde(rename = "token")]
    Token,
    /// OAuth machine-to-machine: a service principal's client id and secret
    /// (`oAuthClientConfig`) exchanged for short-lived access tokens.
    #[serde(rename = "oAuthM2M")]
    OAuthM2M,
}

/// A service principal's OAuth client, as the reference product's payload
/// carries it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthClientConfig {
    /// Certificate (private key JWT) authentication. Not implemented: `true`
    /// is refused; use a client secret.
    #[serde(default)]
    pub use_certificate: bool,
    /// The service principal's application (client) id.
    pub client_id: String,
    /// The service principal's OAuth secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret<String>>,
    /// The scope asked for; Databricks' REST APIs need `all-apis`.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// The token endpoint. Default: the workspace's own, `<workspaceUrl>/oidc/v1/token`
    /// (`<endpoint>/oidc/v1/token` when `endpoint` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
}

/// Groups Junction leaves alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupPattern {
    /// A group exempt from Junction's policies (privileged users, service
    /// principals). Recorded on the managed catalog's system schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<String>,
}

/// Query audit.
pub use junction_kit::config::Audit;

fn default_scope() -> String {
    DEFAULT_SCOPE.to_owned()
}
fn default_connect_timeout() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_SECONDS
}
fn default_request_timeout() -> u64 {
    DEFAULT_REQUEST_TIMEOUT_SECONDS
}
fn default_statement_timeout() -> u64 {
    DEFAULT_STATEMENT_TIMEOUT_SECONDS
}

/// The `config` of a Databricks integration.
///
/// Databricks never takes privileged credentials on DELETE: the principal of
/// the configuration (a user's token or a service principal) is the one that
/// sets the catalog up, runs the integration and tears it down.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabricksConfig {
    /// The workspace: `<workspace>.cloud.databricks.com` (or
    /// `adb-….azuredatabricks.net`), with or without `https://`.
    pub workspace_url: String,
    /// The SQL warehouse's HTTP path, `/sql/1.0/warehouses/<id>`: set-up runs
    /// its SQL there.
    pub http_path: String,
    pub authentication_type: AuthenticationType,
    /// With `authenticationType: token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret<String>>,
    /// With `authenticationType: oAuthM2M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o_auth_client_config: Option<OAuthClientConfig>,
    /// The catalog Junction manages: created by the automatic set-up, or by
    /// the operator's create script.
    pub catalog: String,
    #[serde(default)]
    pub group_pattern: GroupPattern,
    #[serde(default)]
    pub audit: Audit,
    /// Where to send requests instead of `https://<workspaceUrl>`:
    /// `scheme://host:port`. For private links and for tests against a local
    /// server; `http://` only to a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: u64,
    /// How long a set-up statement may stay queued or running before it is
    /// cancelled and the step fails.
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout_seconds: u64,
}

/// The credentials of a configuration, once its rules hold.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    Token(&'a Secret<String>),
    OAuthM2M {
        client_id: &'a str,
        client_secret: &'a Secret<String>,
        scope: &'a str,
        /// The token endpoint, resolved.
        token_url: Option<&'a str>,
    },
}

impl DatabricksConfig {
    /// The workspace's host name, lower-cased, without scheme or slash.
    pub fn workspace_host(&self) -> String {
        let url = self.workspace_url.trim();
        let url = url.strip_prefix("https://").unwrap_or(url);
        url.trim_end_matches('/').to_ascii_lowercase()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.workspace_host()),
        }
    }

    /// The OAuth token endpoint (for `oAuthM2M`).
    pub fn token_url(&self) -> String {
        match self
            .o_auth_client_config
            .as_ref()
            .and_then(|o| o.authority_url.as_deref())
        {
            Some(url) => url.trim().to_owned(),
            None => format!("{}{TOKEN_PATH}", self.base_url()),
        }
    }

    /// The SQL warehouse's id, from `httpPath`.
    pub fn warehouse_id(&self) -> Option<&str> {
        warehouse_id(&self.http_path)
    }

    /// The credentials, when the configuration has the ones its
    /// `authenticationType` needs ([`validate`] says what is missing).
    pub fn credentials(&self) -> Option<Credentials<'_>> {
        match self.authentication_type {
            AuthenticationType::Token => self.token.as_ref().map(Credentials::Token),
            AuthenticationType::OAuthM2M => {
                let o = self.o_auth_client_config.as_ref()?;
                Some(Credentials::OAuthM2M {
                    client_id: &o.client_id,
                    client_secret: o.client_secret.as_ref()?,
                    scope: &o.scope,
                    token_url: o.authority_url.as_deref(),
                })
            }
        }
    }

    /// The configuration as it is stored: only the credentials its
    /// `authenticationType` uses (an edit that switches types may carry the
    /// other's secret over from the stored configuration).
    pub fn without_unused_credentials(mut self) -> Self {
        match self.authentication_type {
            AuthenticationType::Token => self.o_auth_client_config = None,
            AuthenticationType::OAuthM2M => self.token = None,
        }
        self
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_seconds)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.statement_timeout_seconds)
    }
}

/// `/sql/1.0/warehouses/<id>` (or the older `/sql/1.0/endpoints/<id>`), the
/// leading slash optional.
fn warehouse_id(http_path: &str) -> Option<&str> {
    let path = http_path.trim().trim_start_matches('/');
    let id = path
        .strip_prefix("sql/1.0/warehouses/")
        .or_else(|| path.strip_prefix("sql/1.0/endpoints/"))?
        .trim_end_matches('/');
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &DatabricksConfig, _auto_bootstrap: bool) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    workspace_url(&mut errors, &c.workspace_url);
    if warehouse_id(&c.http_path).is_none() {
        let message = if c.http_path.contains("protocolv1") {
            "must be a SQL warehouse's HTTP path, /sql/1.0/warehouses/<id>: set-up runs SQL through the SQL Statement Execution API, which clusters (sql/protocolv1/…) do not serve"
        } else {
            "must be a SQL warehouse's HTTP path: /sql/1.0/warehouses/<id>"
        };
        errors.push("config.httpPath", message);
    }
    match c.authentication_type {
        AuthenticationType::Token => match &c.token {
            None => errors.push("config.token", "is required with authenticationType token"),
            Some(t) if t.expose().trim().is_empty() => {
                errors.push("config.token", "must not be empty")
            }
            Some(t) if t.expose().contains(char::is_whitespace) => {
                errors.push("config.token", "must not contain whitespace")
            }
            Some(_) => {}
        },
        AuthenticationType::OAuthM2M => match &c.o_auth_client_config {
            None => errors.push(
                "config.oAuthClientConfig",
                "is required with authenticationType oAuthM2M",
            ),
            Some(o) => oauth(&mut errors, o),
        },
    }
    name(&mut errors, "config.catalog", &c.catalog);
    if let Some(deny) = &c.group_pattern.deny {
        if deny.trim().is_empty() {
            errors.push("config.groupPattern.deny", "must not be empty when given");
        } else if deny.chars().any(char::is_control) {
            errors.push(
                "config.groupPattern.deny",
                "must not contain control characters",
            );
        } else if deny.chars().count() > MAX_NAME_CHARS {
            errors.push(
                "config.groupPattern.deny",
                format!("must be at most {MAX_NAME_CHARS} characters long"),
            );
        }
    }
    if let Some(Err(m)) = c
        .endpoint
        .as_deref()
        .map(|e| junction_kit::config::check_url(e, false))
    {
        errors.push("config.endpoint", m);
    }
    range(
        &mut errors,
        "config.connectTimeoutSeconds",
        c.connect_timeout_seconds,
        MAX_CONNECT_TIMEOUT_SECONDS,
    );
    range(
        &mut errors,
        "config.requestTimeoutSeconds",
        c.request_timeout_seconds,
        MAX_REQUEST_TIMEOUT_SECONDS,
    );
    range(
        &mut errors,
        "config.statementTimeoutSeconds",
        c.statement_timeout_seconds,
        MAX_STATEMENT_TIMEOUT_SECONDS,
    );
    errors.into_result()
}

fn oauth(errors: &mut ConfigErrors, o: &OAuthClientConfig) {
    if o.use_certificate {
        errors.push(
            "config.oAuthClientConfig.useCertificate",
            "certificate authentication is not supported yet: set useCertificate to false and give clientSecret",
        );
    }
    if o.client_id.trim().is_empty() {
        errors.push("config.oAuthClientConfig.clientId", "must not be empty");
    } else if o
        .client_id
        .contains(|c: char| c.is_whitespace() || c == ':')
    {
        errors.push(
            "config.oAuthClientConfig.clientId",
            "must not contain whitespace or ':'",
        );
    }
    match &o.client_secret {
        None if !o.use_certificate => errors.push(
            "config.oAuthClientConfig.clientSecret",
            "is required with authenticationType oAuthM2M",
        ),
        Some(s) if s.expose().is_empty() => {
            errors.push("config.oAuthClientConfig.clientSecret", "must not be empty")
        }
        _ => {}
    }
    if o.scope.trim().is_empty() {
        errors.push("config.oAuthClientConfig.scope", "must not be empty");
    } else if o.scope.chars().any(char::is_control) {
        errors.push(
            "config.oAuthClientConfig.scope",
            "must not contain control characters",
        );
    }
    if let Some(Err(m)) = o
        .authority_url
        .as_deref()
        .map(|u| junction_kit::config::check_url(u, true))
    {
        errors.push("config.oAuthClientConfig.authorityUrl", m);
    }
}

fn workspace_url(errors: &mut ConfigErrors, url: &str) {
    const PATH: &str = "config.workspaceUrl";
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return errors.push(PATH, "must not be empty");
    }
    if trimmed.len() != url.len() || trimmed.contains(char::is_whitespace) {
        return errors.push(PATH, "must not contain whitespace");
    }
    let host = match trimmed.split_once("://") {
        Some(("https", rest)) => rest,
        Some(_) => return errors.push(PATH, "must be an https:// URL or a host name"),
        None => trimmed,
    };
    let host = host.strip_suffix('/').unwrap_or(host);
    if host.is_empty() || host.contains(['/', '@', '?', '#', ':']) {
        errors.push(
            PATH,
            "must be the workspace's host name (like dbc-1234.cloud.databricks.com), without a path or port",
        );
    }
}

/// A name Junction creates: lowercase letters, digits and underscores,
/// starting with a letter or underscore. Unity Catalog stores names in lower
/// case, and such a name needs no quoting in any client or script.
fn name(errors: &mut ConfigErrors, path: &str, n: &str) {
    let mut chars = n.chars();
    match chars.next() {
        None => errors.push(path, "must not be empty"),
        Some(first) if !(first.is_ascii_lowercase() || first == '_') => errors.push(
            path,
            "must start with a lowercase letter or an underscore",
        ),
        Some(_) if n.chars().count() > MAX_NAME_CHARS => {
            errors.push(path, format!("must be at most {MAX_NAME_CHARS} characters long"))
        }
        Some(_)
            if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            errors.push(
                path,
                "must contain only lowercase letters, digits and underscores (Unity Catalog stores names in lower case)",
            )
        }
        Some(_) => {}
    }
}

fn range(errors: &mut ConfigErrors, path: &str, value: u64, max: u64) {
    if !(1..=max).contains(&value) {
        errors.push(path, format!("must be between 1 and {max}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(v: Value) -> Result<DatabricksConfig, ConfigErrors> {
        let c: DatabricksConfig = junction_core::config::from_json_at(&v, "config")?;
        validate(&c, true)?;
        Ok(c)
    }

    fn token_config() -> Value {
        json!({
            "workspaceUrl": "dbc-1234.cloud.databricks.com",
            "httpPath": "/sql/1.0/warehouses/abc123",
            "authenticationType": "token",
            "token": "dapi-example",
            "catalog": "junction"
        })
    }

    fn paths(e: &ConfigErrors) -> Vec<&str> {
        e.0.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn defaults_fill_in() {
        let c = parse(token_config()).expect("valid");
        assert_eq!(c.base_url(), "https://dbc-1234.cloud.databricks.com");
        assert_eq!(c.warehouse_id(), Some("abc123"));
        assert!(!c.audit.enabled);
        assert_eq!(c.group_pattern.deny, None);
        assert_eq!(
            c.statement_timeout_seconds,
            DEFAULT_STATEMENT_TIMEOUT_SECONDS
        );
    }

    #[test]
    fn the_reference_products_oauth_payload_parses() {
        let c = parse(json!({
            "workspaceUrl": "https://adb-1.2.azuredatabricks.net/",
            "httpPath": "sql/1.0/warehouses/0123abcd",
            "authenticationType": "oAuthM2M",
            "oAuthClientConfig": {"useCertificate": false, "clientId": "app-id", "clientSecret": "s", "scope": "all-apis"},
            "catalog": "immuta",
            "groupPattern": {"deny": "immuta_exempt"},
            "audit": {"enabled": true}
        }))
        .expect("valid");
        assert_eq!(c.workspace_host(), "adb-1.2.azuredatabricks.net");
        assert_eq!(
            c.token_url(),
            "https://adb-1.2.azuredatabricks.net/oidc/v1/token"
        );
        assert!(matches!(
            c.credentials(),
            Some(Credentials::OAuthM2M {
                scope: "all-apis",
                ..
            })
        ));
    }

    #[test]
    fn scope_defaults_to_all_apis_and_endpoint_moves_the_token_url() {
        let mut v = token_config();
        v["authenticationType"] = json!("oAuthM2M");
        v["oAuthClientConfig"] = json!({"clientId": "app", "clientSecret": "s"});
        v["endpoint"] = json!("http://127.0.0.1:54332");
        let c = parse(v).expect("valid");
        assert_eq!(
            c.o_auth_client_config.as_ref().map(|o| o.scope.as_str()),
            Some(DEFAULT_SCOPE)
        );
        assert_eq!(c.token_url(), "http://127.0.0.1:54332/oidc/v1/token");
    }

    #[test]
    fn use_certificate_is_refused_with_its_path() {
        let mut v = token_config();
        v["authenticationType"] = json!("oAuthM2M");
        v["oAuthClientConfig"] = json!({"useCertificate": true, "clientId": "app"});
        let e = parse(v).expect_err("refused");
        assert_eq!(paths(&e), ["config.oAuthClientConfig.useCertificate"]);
    }

    #[test]
    fn missing_credentials_name_their_field() {
        let mut v = token_config();
        v.as_object_mut().map(|o| o.remove("token"));
        assert_eq!(paths(&parse(v).expect_err("no token")), ["config.token"]);

        let mut v = token_config();
        v["authenticationType"] = json!("oAuthM2M");
        assert_eq!(
            paths(&parse(v.clone()).expect_err("no client")),
            ["config.oAuthClientConfig"]
        );
        v["oAuthClientConfig"] = json!({"clientId": ""});
        assert_eq!(
            paths(&parse(v).expect_err("no secret")),
            [
                "config.oAuthClientConfig.clientId",
                "config.oAuthClientConfig.clientSecret"
            ]
        );
    }

    #[test]
    fn bad_values_are_each_reported() {
        let mut v = token_config();
        v["workspaceUrl"] = json!("http://dbc.cloud.databricks.com");
        v["httpPath"] = json!("sql/protocolv1/o/0/0123-456-abc");
        v["catalog"] = json!("Has-Caps");
        v["groupPattern"] = json!({"deny": ""});
        v["endpoint"] = json!("http://10.0.0.1:80");
        v["statementTimeoutSeconds"] = json!(0);
        let e = parse(v).expect_err("invalid");
        assert_eq!(
            paths(&e),
            [
                "config.workspaceUrl",
                "config.httpPath",
                "config.catalog",
                "config.groupPattern.deny",
                "config.endpoint",
                "config.statementTimeoutSeconds"
            ]
        );
    }

    #[test]
    fn unknown_fields_and_types_are_refused_by_serde_with_paths() {
        let mut v = token_config();
        v["audit"] = json!({"enabled": "yes"});
        let e = parse(v).expect_err("wrong type");
        assert_eq!(paths(&e), ["config.audit.enabled"]);
        let mut v = token_config();
        v["authenticationType"] = json!("password");
        assert_eq!(
            paths(&parse(v).expect_err("unknown type")),
            ["config.authenticationType"]
        );
    }

    #[test]
    fn names_junction_creates() {
        for ok in ["junction", "_j", "j_2"] {
            let mut v = token_config();
            v["catalog"] = json!(ok);
            assert!(parse(v).is_ok(), "{ok}");
        }
        for bad in ["", "2j", "a.b", "a b", "a`b", "Junction"] {
            let mut v = token_config();
            v["catalog"] = json!(bad);
            assert!(parse(v).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unused_credentials_are_not_stored() {
        let mut v = token_config();
        v["authenticationType"] = json!("oAuthM2M");
        v["oAuthClientConfig"] = json!({"clientId": "app", "clientSecret": "s"});
        let c = parse(v).expect("valid").without_unused_credentials();
        assert!(c.token.is_none());
        assert!(c.o_auth_client_config.is_some());
    }

    #[test]
    fn secrets_do_not_print() {
        let c = parse(token_config()).expect("valid");
        assert!(!format!("{c:?}").contains("dapi-example"));
        let text = serde_json::to_string(&c).expect("json");
        assert!(!text.contains("dapi-example"));
    }
}
