//! Service-account key files for the tests, generated when a test first asks
//! (no private key is committed): RSA-2048 with aws-lc-rs, written out in
//! PKCS#8 PEM as Google's key files hold them.

#![allow(dead_code)]

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// The project of the test keys (and of the stand-in).
pub const PROJECT: &str = "junction-test";

/// A generated key pair: the PEM of its private half and its public half.
pub struct TestKey {
    pub pem: String,
    /// PKCS#1 `RSAPublicKey` DER, as `UnparsedPublicKey` takes it.
    pub public: Vec<u8>,
}

fn generate() -> Arc<TestKey> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate");
    let der: Pkcs8V1Der<'_> = pair.as_der().expect("pkcs8");
    let b64 = STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Arc::new(TestKey {
        pem,
        public: pair.public_key().as_ref().to_vec(),
    })
}

/// One of a few keys, generated once per test binary (generation is the slow part).
pub fn key(n: usize) -> Arc<TestKey> {
    static KEYS: [OnceLock<Arc<TestKey>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    Arc::clone(KEYS[n].get_or_init(generate))
}

/// `junction-<name>@<project>.iam.gserviceaccount.com`
pub fn email(name: &str, project: &str) -> String {
    format!("{name}@{project}.iam.gserviceaccount.com")
}

/// A key file as Google issues it, for `email` in `project` with key `n`.
pub fn key_file_value(n: usize, project: &str, email: &str, token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": format!("test-key-{n}"),
        "private_key": key(n).pem,
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com"
    })
}

/// The same, as the string the payload's `credential` takes.
pub fn key_file(n: usize, project: &str, email: &str, token_uri: &str) -> String {
    key_file_value(n, project, email, token_uri).to_string()
}

/// The base64 body of key `n`'s PEM: what no output may hold.
pub fn key_material(n: usize) -> Vec<String> {
    let pem = key(n).pem.clone();
    // Every PEM line is long enough to be unmistakable.
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(str::to_owned)
        .collect()
}
