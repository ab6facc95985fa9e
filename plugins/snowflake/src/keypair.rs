//! Key-pair authentication: the RS256 JWT Snowflake's log-in takes with
//! `AUTHENTICATOR: SNOWFLAKE_JWT`, signed with aws-lc-rs (already linked for TLS).
//!
//! Claims, as Snowflake documents them: `iss` =
//! `ACCOUNT.USER.SHA256:<base64 of the SHA-256 of the public key's DER (SubjectPublicKeyInfo)>`,
//! `sub` = `ACCOUNT.USER`, `iat` and `exp` (at most an hour later), account and
//! user in upper case.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use junction_core::Secret;

/// How long a JWT is valid: Snowflake accepts at most one hour.
pub const JWT_LIFETIME_SECONDS: u64 = 59 * 60;

/// Why a key could not be used. Never holds any part of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not a PEM block (-----BEGIN PRIVATE KEY-----)")]
    NotPem,
    #[error(
        "the private key is encrypted; encrypted keys are not supported yet (give an unencrypted PKCS#8 key and no privateKeyPassword)"
    )]
    Encrypted,
    #[error("the private key is not an RSA key in PKCS#8 form: {0}")]
    Rejected(String),
    #[error("the JWT could not be signed")]
    Sign,
}

/// The DER inside a PKCS#8 PEM block.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, KeyError> {
    if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err(KeyError::Encrypted);
    }
    let begin = "-----BEGIN PRIVATE KEY-----";
    let end = "-----END PRIVATE KEY-----";
    let start = pem.find(begin).ok_or(KeyError::NotPem)? + begin.len();
    let stop = pem[start..].find(end).ok_or(KeyError::NotPem)? + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).map_err(|_| KeyError::NotPem)
}

/// The key pair of a PKCS#8 PEM.
pub fn load(pem: &Secret<String>) -> Result<RsaKeyPair, KeyError> {
    let der = pem_to_der(pem.expose())?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| KeyError::Rejected(e.to_string()))
}

/// `SHA256:<base64>` of the public key's SubjectPublicKeyInfo DER: the
/// fingerprint Snowflake shows as `RSA_PUBLIC_KEY_FP`.
pub fn fingerprint(key: &RsaKeyPair) -> Result<String, KeyError> {
    let der: PublicKeyX509Der<'_> = key.public_key().as_der().map_err(|_| KeyError::Sign)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der.as_ref());
    Ok(format!("SHA256:{}", STANDARD.encode(digest.as_ref())))
}

/// The signed JWT for `account` and `user`, issued at `now` (seconds since the epoch).
pub fn jwt(
    account: &str,
    user: &str,
    pem: &Secret<String>,
    now: u64,
) -> Result<Secret<String>, KeyError> {
    let key = load(pem)?;
    let qualified = format!(
        "{}.{}",
        account.to_ascii_uppercase(),
        user.to_ascii_uppercase()
    );
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": format!("{qualified}.{}", fingerprint(&key)?),
        "sub": qualified,
        "iat": now,
        "exp": now + JWT_LIFETIME_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| KeyError::Sign)?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}
