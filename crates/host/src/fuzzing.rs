//! Fuzz target bodies (the `fuzz/` crate's `body` and `config` targets call
//! these; this crate's unit tests run them over the committed corpus and
//! regressions). Not part of the host's surface.
//!
//! Why here and not in `fuzz/`: they drive the host's own path (body, payload,
//! platform table, scrubbing, sealing), and a body that compiles in the normal
//! test build cannot drift from the code it tests.
//!
//! Each body asserts the house rule for bad input: an error is a 4xx with at
//! least one detail naming a path, no secret of the request in it, never a
//! panic. A configuration a platform accepts is sealed and opened again
//! unchanged, and parses again to the same configuration and account.

// A harness: its assertions are the findings.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::body::{self, Format, Payload};
use crate::crypto::Cipher;
use crate::error::ApiError;
use crate::host::{HostError, Platforms};
use crate::secrets::{ScrubList, Secrets};
use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use std::sync::OnceLock;

struct World {
    platforms: Platforms,
    secrets: Secrets,
    /// The six platforms' type names, sorted (never the test-only synthetic one).
    names: Vec<&'static str>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let registry = crate::registry().expect("the linked platforms");
        let platforms = Platforms::new(&registry);
        let names: Vec<&'static str> = crate::enabled_platforms()
            .into_iter()
            .filter(|n| *n != "Synthetic")
            .collect();
        // A platform missing from the table would make every input a refusal.
        for n in &names {
            assert!(
                platforms.get(n).is_ok(),
                "{n} is enabled but not registered"
            );
        }
        World {
            platforms,
            secrets: Secrets::new(Cipher::from_key(&[0x5a; 32])),
            names,
        }
    })
}

/// The `Content-Type` a body is sent with, chosen by the input's first byte.
const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("application/json"),
    Some("application/yaml"),
    Some("text/yaml; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=x"),
];

/// `POST /integrations` (and validate, scripts) up to the platform: the first
/// byte picks the content type, the rest is the body.
pub fn body(data: &[u8]) {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    if let Some(ct) = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()] {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    // A refusal of the body itself comes before any secret is known; the
    // platform's refusals are checked for the payload's secrets below.
    match read_payload(&headers, raw) {
        Ok(payload) => {
            let _ = through_platform(payload);
        }
        Err(e) => assert_refusal(&e, &[]),
    }
}

/// One platform's `config` parsing through the host's platform table: the
/// first byte picks the platform (of six) and `autoBootstrap`, the rest is
/// the `config` as JSON.
pub fn config(data: &[u8]) {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let w = world();
    let Some(&type_name) = w.names.get(usize::from(pick & 0x7f) % w.names.len().max(1)) else {
        return;
    };
    let Ok(config) = serde_json::from_slice::<Value>(raw) else {
        return;
    };
    let _ = through_platform(Payload {
        type_name: type_name.to_owned(),
        auto_bootstrap: pick & 0x80 != 0,
        config,
        revalidate_every: None,
    });
}

/// What the API does with a body before the host takes it (`api.rs`'s
/// `read_payload`: an all-blank body is JSON whatever its type).
fn read_payload(headers: &HeaderMap, raw: &[u8]) -> Result<Payload, ApiError> {
    let format = if raw.iter().all(u8::is_ascii_whitespace) {
        Format::Json
    } else {
        body::format_of(headers)?
    };
    body::payload(body::parse_value(raw, format)?)
}

/// The host's first steps on a payload (create's, validate's, the scripts'):
/// the platform, its parse, errors scrubbed; an accepted configuration is
/// sealed as create stores it.
fn through_platform(payload: Payload) -> Result<(), ApiError> {
    let w = world();
    let entry = match w.platforms.get(&payload.type_name) {
        Ok(entry) => entry,
        Err(e) => {
            let e = ApiError::from(e);
            assert_refusal(&e, &[]);
            return Err(e);
        }
    };
    let paths = entry.secret_paths();
    let scrub = ScrubList::of(&payload.config, paths);
    let secrets = secret_strings(&payload.config, paths);
    let parsed = match entry
        .platform
        .parse(&payload.config, payload.auto_bootstrap)
    {
        Ok(parsed) => parsed,
        Err(errors) => {
            let e = ApiError::from(HostError::Invalid(errors).scrubbed(&scrub));
            assert_refusal(&e, &secrets);
            return Err(e);
        }
    };
    // What create keeps: sealed, and opened again to the same configuration.
    let sealed = w
        .secrets
        .seal(&parsed.full, paths)
        .unwrap_or_else(|e| panic!("an accepted configuration could not be sealed: {e}"));
    let opened = w
        .secrets
        .open(&sealed.public, sealed.secrets.as_deref())
        .unwrap_or_else(|e| panic!("a sealed configuration could not be opened: {e}"));
    assert_eq!(opened, parsed.full, "sealing changed the configuration");
    // Not a search for the secrets' text: a public field may hold the same
    // words (the fuzzer copies strings around); the secret fields must be gone.
    for p in paths {
        assert!(
            parsed.public.pointer(p).is_none_or(Value::is_null),
            "the secret {p} is in the public configuration"
        );
    }
    // What the host stores parses again to itself (edits and retries re-read it).
    let again = entry
        .platform
        .parse(&parsed.full, payload.auto_bootstrap)
        .unwrap_or_else(|e| panic!("an accepted configuration, normalised, is refused: {e}"));
    assert_eq!(again.full, parsed.full, "parsing is not idempotent");
    assert_eq!(again.account_key, parsed.account_key, "the account moved");
    Ok(())
}

/// Bad input's answer: a 4xx naming at least one path, and no secret.
fn assert_refusal(e: &ApiError, secrets: &[String]) {
    assert!(
        e.status.is_client_error(),
        "bad input answered {}: {}",
        e.status,
        e.message
    );
    assert!(
        !e.details.is_empty(),
        "a refusal without a path: {}",
        e.message
    );
    for d in &e.details {
        assert!(!d.path.is_empty(), "a detail without a path: {}", d.message);
    }
    let text = serde_json::to_value(e)
        .map(|v| v.to_string())
        .unwrap_or_default();
    for s in secrets {
        assert!(
            !e.message.contains(s.as_str())
                && e.details
                    .iter()
                    .all(|d| !d.message.contains(s.as_str()) && !d.path.contains(s.as_str())),
            "a secret is in the refusal: {text}"
        );
    }
}

/// The secret strings the scrubber promises to remove (at least 4 bytes, not
/// a part of the redaction itself, which replaces them).
fn secret_strings(config: &Value, paths: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths {
        if let Some(v) = config.pointer(p) {
            collect(v, &mut out);
        }
    }
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 4 && !junction_core::REDACTED.contains(s.as_str()) => {
            out.push(s.clone())
        }
        Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
        Value::Object(o) => o.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    //! The smoke run of the normal test build: each target body over its
    //! committed seed corpus and every regression input found by fuzzing.

    fn inputs(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut out = Vec::new();
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_file() {
                    out.push((path.clone(), std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn fuzz_body_corpus_and_regressions() {
        let inputs = inputs("body");
        assert!(inputs.len() >= 4, "the body corpus is missing");
        for (path, data) in inputs {
            eprintln!("{}", path.display());
            super::body(&data);
        }
    }

    #[test]
    fn fuzz_config_corpus_and_regressions() {
        let inputs = inputs("config");
        assert!(inputs.len() >= 6, "the config corpus is missing");
        for (path, data) in inputs {
            eprintln!("{}", path.display());
            super::config(&data);
        }
    }

    /// Every platform is reached, and its example config is accepted.
    #[cfg(all(
        feature = "redshift",
        feature = "s3",
        feature = "snowflake",
        feature = "databricks",
        feature = "synapse",
        feature = "bigquery"
    ))]
    #[test]
    fn fuzz_config_corpus_reaches_every_platform() {
        let w = super::world();
        assert_eq!(w.names.len(), 6, "{:?}", w.names);
        for name in &w.names {
            let entry = w.platforms.get(name).unwrap();
            let example = entry.descriptor.example_config.clone();
            super::through_platform(crate::body::Payload {
                type_name: (*name).to_owned(),
                auto_bootstrap: false,
                config: example,
                revalidate_every: None,
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// Found by the `body` target: a field named "" gave an error with an
    /// empty path. Every error about the whole value names the body.
    #[test]
    fn an_error_without_a_path_names_the_body() {
        let e = crate::error::ApiError::invalid(junction_core::ConfigErrors::one("", "bad"));
        assert_eq!(e.details[0].path, crate::body::BODY);
        let e = crate::body::payload(Some(serde_json::json!({"": 1}))).unwrap_err();
        assert_eq!(e.details[0].path, crate::body::BODY, "{}", e.message);
    }

    /// Writes the seed corpus of `body` and `config` from the platforms'
    /// example configurations (run by hand when a platform is added:
    /// `cargo test -p junction-host --lib fuzzing -- --ignored`).
    #[test]
    #[ignore]
    fn write_seed_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let (body, config) = (root.join("body"), root.join("config"));
        std::fs::create_dir_all(&body).unwrap();
        std::fs::create_dir_all(&config).unwrap();
        let w = super::world();
        for (i, name) in w.names.iter().enumerate() {
            let slug: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            let example = w
                .platforms
                .get(name)
                .unwrap()
                .descriptor
                .example_config
                .clone();
            let i = u8::try_from(i).unwrap();
            for (auto, suffix) in [(false, "manual"), (true, "auto")] {
                let mut bytes = vec![i | if auto { 0x80 } else { 0 }];
                bytes.extend(serde_json::to_vec(&example).unwrap());
                std::fs::write(config.join(format!("{slug}-{suffix}")), bytes).unwrap();
            }
            let payload =
                serde_json::json!({"type": name, "autoBootstrap": false, "config": example});
            let mut json = vec![1u8];
            json.extend(serde_json::to_vec_pretty(&payload).unwrap());
            std::fs::write(body.join(format!("{slug}.json")), json).unwrap();
            let mut yaml = vec![2u8];
            yaml.extend(serde_norway::to_string(&payload).unwrap().into_bytes());
            std::fs::write(body.join(format!("{slug}.yaml")), yaml).unwrap();
        }
        for (name, bytes) in [
            ("empty", &b"\x00"[..]),
            ("blank-yaml", b"\x02  \n"),
            ("not-an-object", b"\x01[1, 2]"),
            ("unknown-type", b"\x01{\"type\": \"Nope\", \"config\": {}}"),
            (
                "yaml-anchors",
                b"\x02type: &t Redshift\nconfig: {host: *t}\nextra: [*t]\n",
            ),
            ("multipart", b"\x05--x\r\n\r\n{}"),
        ] {
            std::fs::write(body.join(name), bytes).unwrap();
        }
    }
}
