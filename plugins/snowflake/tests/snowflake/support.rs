//! Shared by the tests: the stand-in, unique names, configs, ops, keys.

#![allow(dead_code)]

use crate::fake_snowflake::{self, FakeSnowflake};
use junction_core::{OpContext, Platform};
use junction_snowflake::{Snowflake, SnowflakeConfig};
use junction_testkit::stand_ins::{self, Http};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// The fakesnow stand-in, or `None` (the test returns early) outside CI.
pub fn fakesnow() -> Option<Http> {
    stand_ins::require::<Http>("fakesnow")
}

/// An upper-case name no other test (or earlier run) uses: tests share one
/// fakesnow and run in parallel.
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 100_000)
        .unwrap_or(0);
    format!(
        "JT_{}_{}_{n}_{salt}",
        tag.to_ascii_uppercase(),
        std::process::id()
    )
}

/// A userPassword config pointed at `endpoint` (never a real Snowflake host).
pub fn config(
    endpoint: &str,
    user: &str,
    password: &str,
    warehouse: &str,
    database: &str,
) -> Value {
    json!({
        "host": "fakeacct.snowflakecomputing.com",
        "port": 443,
        "warehouse": warehouse,
        "database": database,
        "role": "ACCOUNTADMIN",
        "authenticationType": "userPassword",
        "username": user,
        "password": password,
        "endpoint": endpoint,
        "connectTimeoutSeconds": 3
    })
}

/// A config for the fakesnow stand-in (any credentials are accepted there).
pub fn fakesnow_config(fs: &Http, database: &str) -> Value {
    config(
        &fs.endpoint,
        "JUNCTION",
        "fakesnow-password",
        "FAKESNOW_WAREHOUSE",
        database,
    )
}

/// A config for a `fake_snowflake` server, as its admin.
pub fn fake_config(server: &FakeSnowflake, password: &str, database: &str) -> Value {
    config(
        &server.endpoint,
        fake_snowflake::ADMIN,
        password,
        fake_snowflake::WAREHOUSE,
        database,
    )
}

pub fn typed(config: &Value) -> SnowflakeConfig {
    junction_core::config::from_json_at(config, "config").expect("config parses")
}

pub fn op(auto: bool, version: u32) -> OpContext {
    junction_testkit::op_context(auto, version)
}

pub fn op_fault(auto: bool, version: u32, step: &str) -> OpContext {
    junction_testkit::op_context_failing_at(auto, version, step)
}

pub async fn create_auto(
    platform: &junction_kit::Kit<Snowflake>,
    config: &Value,
) -> SnowflakeConfig {
    Platform::create(platform, &op(true, 0), typed(config))
        .await
        .expect("create succeeds")
        .config
}

/// A throwaway RSA key generated at test time: (PKCS#8 PEM, PKCS#1 public key DER).
pub fn generate_key() -> (String, Vec<u8>) {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = key.as_der().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    (pem, key.public_key().as_ref().to_vec())
}

/// Runs the platform's validation as the host does.
pub async fn validate(
    config: &Value,
    auto: bool,
    integration_id: Option<i64>,
    peers: Vec<junction_core::Peer>,
) -> junction_core::ValidationResults {
    let ctx = junction_core::CheckContext {
        integration_id,
        auto_bootstrap: auto,
        peers: std::sync::Arc::new(peers.into_iter().map(std::sync::Arc::new).collect()),
    };
    junction_core::DynPlatform::validate(
        &Snowflake::new(),
        config,
        ctx,
        &junction_core::RunOptions::default(),
        None,
    )
    .await
    .expect("config is valid")
}

/// The named test's (status, message).
pub fn result(
    r: &junction_core::ValidationResults,
    name: &str,
) -> (junction_core::TestStatus, Option<String>) {
    let t = r
        .validation_tests
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no test {name} in {r:?}"));
    (t.status, t.message.clone())
}
