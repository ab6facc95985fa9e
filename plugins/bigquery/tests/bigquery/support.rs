//! Shared by the tests: configs, the typed config, and the stand-in.

#![allow(dead_code)]

use crate::keys::{self, PROJECT};
use junction_bigquery::BigQueryConfig;
use serde_json::{Value, json};

/// A lowercase dataset id no other test (or earlier run) uses: the tests
/// share one emulator and run in parallel.
pub fn unique(tag: &str) -> String {
    junction_testkit::unique_name(tag, '_').replace('-', "_")
}

/// A config for key `n` of the default test service account, its token
/// endpoint at `token_uri` (the key file's own `token_uri`).
pub fn config(n: usize, token_uri: &str, dataset: &str) -> Value {
    let email = keys::email("junction", PROJECT);
    json!({
        "role": "junction_test",
        "dataset": dataset,
        "datasetSuffix": "_secureView",
        "location": "us-east1",
        "credential": keys::key_file(n, PROJECT, &email, token_uri),
        "timeoutSeconds": 5
    })
}

pub fn typed(config: &Value) -> BigQueryConfig {
    junction_core::config::from_json_at(config, "config").expect("parses")
}

/// The config's errors as `(path, message)` pairs, from parsing and the rules.
pub fn errors(config: &Value) -> Vec<(String, String)> {
    let errors = match junction_core::config::from_json_at::<BigQueryConfig>(config, "config") {
        Err(e) => e,
        Ok(c) => match junction_bigquery::config::validate(&c) {
            Err(e) => e,
            Ok(()) => return Vec::new(),
        },
    };
    errors.0.into_iter().map(|e| (e.path, e.message)).collect()
}

pub fn paths(config: &Value) -> Vec<String> {
    errors(config).into_iter().map(|(p, _)| p).collect()
}
