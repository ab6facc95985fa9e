//! The `config` object of a Google BigQuery integration, and the rules its
//! values must follow beyond their types.
//!
//! serde rejects unknown fields and wrong types with the JSON path (through
//! `junction_core::config::from_json_at`); the key file is parsed right there
//! ([`ServiceAccountKey`]), so a broken one is an error at `config.credential`.
//! [`validate`] rejects values that parse but cannot work. What the contract
//! has a validation test for (the service account's postfix, a
//! `serviceAccount` that does not match the key) is deliberately left to
//! those tests: refusing it here would make them unable to fail.

use crate::credential::{DEFAULT_TOKEN_URI, ServiceAccountKey};
use junction_core::ConfigErrors;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// BigQuery's REST API root.
pub const DEFAULT_ENDPOINT: &str = "https://bigquery.googleapis.com";
/// Resource Manager's API root (`projects.testIamPermissions`).
pub const DEFAULT_RESOURCE_MANAGER_ENDPOINT: &str = "https://cloudresourcemanager.googleapis.com";
/// Seconds one HTTP call may take when the payload sets none.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// Upper bound, so that a validation run always ends in reasonable time.
pub const MAX_TIMEOUT_SECONDS: u64 = 60;
/// BigQuery's limit on a dataset id.
pub const MAX_DATASET_LEN: usize = 1024;

/// The `config` of a Google BigQuery integration.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BigQueryConfig {
    /// The custom IAM role (its id, e.g. `immuta`) that the operator's script
    /// creates in the key's project and grants to the service account.
    pub role: String,
    /// Junction's metadata dataset: made by create in `location`, removed by delete.
    pub dataset: String,
    /// Appended to a source dataset's id to name the dataset of its secure
    /// views (e.g. `_secureView`); must start with `_`.
    pub dataset_suffix: String,
    /// The BigQuery location of the metadata dataset: `US`, `EU`, `us-east1`, …
    pub location: String,
    /// The service-account key file (its JSON content) as a string. The
    /// project and the service account come from it. Never in a response, log
    /// or error.
    pub credential: ServiceAccountKey,
    /// The service account's email. When given, a validation test checks that
    /// the key file is this account's; when left out, it is filled in from the
    /// key file, so that responses and the other integrations' checks can see
    /// which service account this integration uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// BigQuery's API root, for a private endpoint (Private Service Connect,
    /// `https://bigquery-ENDPOINT.p.googleapis.com`) or a local stand-in.
    /// Default `https://bigquery.googleapis.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Resource Manager's API root, for a private endpoint or a local
    /// stand-in. Default `https://cloudresourcemanager.googleapis.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_manager_endpoint: Option<String>,
    /// The OAuth 2.0 token endpoint the signed JWT is exchanged at. Default:
    /// the key file's `token_uri`, else `https://oauth2.googleapis.com/token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_uri: Option<String>,
    /// Seconds one HTTP call may take (1–60, default 10).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

/// What the payload holds; [`BigQueryConfig`] adds the service account from
/// the key file when the payload names none.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Payload {
    role: String,
    dataset: String,
    dataset_suffix: String,
    location: String,
    credential: ServiceAccountKey,
    #[serde(default)]
    service_account: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    resource_manager_endpoint: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_seconds: u64,
}

impl<'de> Deserialize<'de> for BigQueryConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = Payload::deserialize(deserializer)?;
        let service_account = p
            .service_account
            .or_else(|| Some(p.credential.client_email().to_owned()));
        Ok(BigQueryConfig {
            role: p.role,
            dataset: p.dataset,
            dataset_suffix: p.dataset_suffix,
            location: p.location,
            credential: p.credential,
            service_account,
            endpoint: p.endpoint,
            resource_manager_endpoint: p.resource_manager_endpoint,
            token_uri: p.token_uri,
            timeout_seconds: p.timeout_seconds,
        })
    }
}

impl BigQueryConfig {
    /// The project Junction works in: the key file's.
    pub fn project_id(&self) -> &str {
        self.credential.project_id()
    }

    pub fn endpoint(&self) -> &str {
        trim_slash(self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))
    }

    pub fn resource_manager_endpoint(&self) -> &str {
        trim_slash(
            self.resource_manager_endpoint
                .as_deref()
                .unwrap_or(DEFAULT_RESOURCE_MANAGER_ENDPOINT),
        )
    }

    /// Where the JWT is exchanged, and so its audience.
    pub fn token_uri(&self) -> &str {
        self.token_uri
            .as_deref()
            .or(self.credential.token_uri())
            .unwrap_or(DEFAULT_TOKEN_URI)
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds)
    }

    /// The `projects/P/roles/R` name of the custom role.
    pub fn role_name(&self) -> String {
        format!("projects/{}/roles/{}", self.project_id(), self.role)
    }
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

/// The rules beyond the types; every broken one is reported, with its path.
pub fn validate(c: &BigQueryConfig) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    if !is_role_id(&c.role) {
        errors.push(
            "config.role",
            "must be a custom role id: 3 to 64 letters, digits, underscores and dots (e.g. immuta)",
        );
    }
    if !is_dataset_id(&c.dataset) {
        errors.push(
            "config.dataset",
            format!(
                "must be a BigQuery dataset id: 1 to {MAX_DATASET_LEN} letters, digits and underscores"
            ),
        );
    }
    match c.dataset_suffix.strip_prefix('_') {
        None => errors.push("config.datasetSuffix", "must start with _ (e.g. _secureView)"),
        Some(rest) if !rest.bytes().all(is_dataset_byte) => errors.push(
            "config.datasetSuffix",
            "must hold only letters, digits and underscores",
        ),
        Some(_) if c.dataset.len() + c.dataset_suffix.len() > MAX_DATASET_LEN => errors.push(
            "config.datasetSuffix",
            format!(
                "makes dataset ids longer than BigQuery's {MAX_DATASET_LEN} characters with config.dataset"
            ),
        ),
        Some(_) => {}
    }
    if !is_location(&c.location) {
        errors.push(
            "config.location",
            "must be a BigQuery location such as US, EU or us-east1",
        );
    }
    let blank =
        |s: &str| s.trim().is_empty() || s.chars().any(|ch| ch.is_whitespace() || ch.is_control());
    if c.service_account.as_deref().is_some_and(blank) {
        errors.push(
            "config.serviceAccount",
            "must be a service account's email, without whitespace",
        );
    }
    let urls = [
        ("config.endpoint", c.endpoint.as_deref()),
        (
            "config.resourceManagerEndpoint",
            c.resource_manager_endpoint.as_deref(),
        ),
        ("config.tokenUri", c.token_uri.as_deref()),
    ];
    for (path, url) in urls {
        if let Some(Err(why)) = url.map(check_url) {
            errors.push(path, why);
        }
    }
    // The key file's own token endpoint, when no override replaces it.
    let key_uri = c.credential.token_uri().filter(|_| c.token_uri.is_none());
    if let Some(Err(why)) = key_uri.map(check_url) {
        errors.push("config.credential", format!("has a token_uri that {why}"));
    }
    if !(1..=MAX_TIMEOUT_SECONDS).contains(&c.timeout_seconds) {
        errors.push(
            "config.timeoutSeconds",
            format!("must be between 1 and {MAX_TIMEOUT_SECONDS}"),
        );
    }
    errors.into_result()
}

fn is_dataset_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub fn is_dataset_id(s: &str) -> bool {
    (1..=MAX_DATASET_LEN).contains(&s.len()) && s.bytes().all(is_dataset_byte)
}

/// IAM's rule for custom role ids.
pub fn is_role_id(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// `US`, `EU`, `us-east1`, `europe-west4`, …
pub fn is_location(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An endpoint override (the kit's rule: `https://`, or `http://` to a
/// loopback address only, since a token travels on it).
pub fn check_url(url: &str) -> Result<(), String> {
    junction_kit::config::check_url(url, true)
}
