//! The service account's signed JWT (RFC 7523 bearer assertion), as Google's
//! OAuth 2.0 server-to-server flow takes it: RS256 over the key file's PKCS#8
//! RSA key, signed with aws-lc-rs (already linked for TLS).
//!
//! Claims: `iss` = the client email, `scope` = the OAuth scopes asked for,
//! `aud` = the token endpoint, `iat` = now, `exp` = `iat` + at most an hour
//! (Google refuses longer).

use crate::credential::ServiceAccountKey;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = key.private_key_id() {
        header["kid"] = kid.into();
    }
    let claims = serde_json::json!({
        "iss": key.client_email(),
        "scope": SCOPES,
        "aud": audience,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signer = key.signer();
    let mut signature = vec![0u8; signer.public_modulus_len()];
    signer
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| SignError)?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

/// Seconds since the epoch, by the system clock (what Google compares `iat` with).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
