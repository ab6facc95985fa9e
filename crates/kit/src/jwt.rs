//! RS256 JSON Web Tokens signed with aws-lc-rs (already linked for TLS):
//! Snowflake's key-pair log-in and Google's service-account assertion both
//! sign one, with their own claims.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use junction_core::Secret;
use serde_json::{Value, json};

/// Why a key or a token could not be made. Never holds any part of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the private key is not a PEM block `{0}`")]
    NotPem(&'static str),
    #[error("the private key is not an RSA key in PKCS#8 form: {0}")]
    Rejected(String),
    #[error("the JWT could not be signed")]
    Sign,
}

/// The DER inside the first PEM block labelled `label` (`PRIVATE KEY`, …).
pub fn pem_body(pem: &str, label: &'static str) -> Result<Vec<u8>, JwtError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or(JwtError::NotPem(label))? + begin.len();
    let stop = pem[start..].find(&end).ok_or(JwtError::NotPem(label))? + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).map_err(|_| JwtError::NotPem(label))
}

/// The RSA key of an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
pub fn rsa_key_from_pem(pem: &Secret<String>) -> Result<RsaKeyPair, JwtError> {
    let der = pem_body(pem.expose(), "PRIVATE KEY")?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| JwtError::Rejected(e.to_string()))
}

/// `header.claims.signature`, RS256, with `kid` in the header when given.
pub fn sign_rs256(
    key: &RsaKeyPair,
    kid: Option<&str>,
    claims: &Value,
) -> Result<Secret<String>, JwtError> {
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = Value::String(kid.to_owned());
    }
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
    .map_err(|_| JwtError::Sign)?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

/// Seconds since the epoch by the system clock: what servers compare `iat`
/// and `exp` with.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, KeyPair};

    fn key() -> RsaKeyPair {
        let private = aws_lc_rs::rsa::KeySize::Rsa2048;
        let pair = RsaKeyPair::generate(private).expect("key");
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair)
            .expect("pkcs8");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        rsa_key_from_pem(&Secret::new(pem)).expect("parses back")
    }

    #[test]
    fn a_token_verifies_with_the_public_half_and_carries_its_claims() {
        let k = key();
        let token = sign_rs256(&k, Some("kid-1"), &json!({"iss": "a", "exp": 5})).expect("sign");
        let parts: Vec<&str> = token.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
        );
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims, json!({"iss": "a", "exp": 5}));
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            k.public_key().as_ref(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"),
            )
            .expect("verifies");
        assert!(!format!("{token:?}").contains(parts[2]));
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_without_quoting_it() {
        let e = rsa_key_from_pem(&Secret::new("SENTINEL-not-a-key".into())).expect_err("refused");
        assert!(!e.to_string().contains("SENTINEL"));
        assert_eq!(e, JwtError::NotPem("PRIVATE KEY"));
    }
}
