//! The service account's signed JWT (RFC 7523 bearer assertion), as Google's
//! OAuth 2.0 server-to-server flow takes it: RS256 over the key file's PKCS#8
//! RSA key, signed with aws-lc-rs through the kit's `jwt` module.
//!
//! Claims: `iss` = the client email, `scope` = the OAuth scopes asked for,
//! `aud` = the token endpoint, `iat` = now, `exp` = `iat` + at most an hour
//! (Google refuses longer).

use crate::credential::ServiceAccountKey;
use junction_core::Secret;

/// How long an assertion is valid: Google's maximum.
pub const LIFETIME_SECONDS: u64 = 3600;

/// BigQuery (datasets, tables, rows) and read-only Cloud Platform access,
/// which covers Resource Manager's `projects.testIamPermissions`.
pub const SCOPES: &str = "https://www.googleapis.com/auth/bigquery https://www.googleapis.com/auth/cloud-platform.read-only";

/// The grant type of the exchange.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the service-account JWT could not be signed")]
pub struct SignError;

/// The signed assertion for `audience` (the token endpoint), issued at `now`
/// (seconds since the epoch).
pub fn assertion(
    key: &ServiceAccountKey,
    audience: &str,
    now: u64,
) -> Result<Secret<String>, SignError> {
    let claims = serde_json::json!({
        "iss": key.client_email(),
        "scope": SCOPES,
        "aud": audience,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
    });
    junction_kit::jwt::sign_rs256(key.signer(), key.private_key_id(), &claims)
        .map_err(|_| SignError)
}

/// Seconds since the epoch, by the system clock (what Google compares `iat` with).
pub use junction_kit::jwt::now;
