//! The signed JWT: RS256 that the key's public half verifies, and the claims
//! Google's token endpoint requires.

use crate::keys::{self, PROJECT};
use crate::support::{config, typed};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use junction_bigquery::testing::jwt;
use serde_json::Value;

fn part(p: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

#[test]
fn the_assertion_is_rs256_over_the_keys_claims() {
    let c = typed(&config(1, "http://127.0.0.1:9/token", "meta"));
    let now = 1_800_000_000;
    let token = jwt::assertion(&c.credential, c.token_uri(), now).unwrap();
    let text = token.expose();
    let parts: Vec<&str> = text.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        part(parts[0]),
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-1"})
    );
    let claims = part(parts[1]);
    assert_eq!(claims["iss"], keys::email("junction", PROJECT).as_str());
    assert_eq!(claims["aud"], "http://127.0.0.1:9/token");
    assert_eq!(claims["scope"], jwt::SCOPES);
    assert!(jwt::SCOPES.contains("https://www.googleapis.com/auth/bigquery"));
    assert_eq!(claims["iat"], now);
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp > now && exp <= now + 3600, "{exp}");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &keys::key(1).public)
        .verify(signed.as_bytes(), &signature)
        .expect("key 1's public half verifies it");
    // Another key's public half does not.
    assert!(
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &keys::key(2).public)
            .verify(signed.as_bytes(), &signature)
            .is_err()
    );
    assert_eq!(format!("{token:?}"), "[redacted]");
}
