//! The one owner of secrets in the host.
//!
//! After parsing, a configuration is full JSON with its secrets in clear at the
//! platform's secret paths (the `writeOnly` fields of its schema). Everything
//! the host does with those values is here: splitting them out of the public
//! configuration and sealing them (AES-GCM, [`crate::crypto`]) for the store,
//! opening and joining them back, keeping stored ones an edit leaves out, and
//! the list of strings scrubbed from every text that leaves the host.

use crate::crypto::{Cipher, CryptoError};
use junction_core::config::{join_secrets, keep_omitted_secrets, split_secrets};
use junction_core::{ConfigErrors, ValidationResults, ValidationTest};
use serde_json::Value;

/// What the secret-key check seals on first start and opens on every start.
const KEY_CHECK: &[u8] = b"junction-secret-key-check";

/// Why a stored configuration could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("a stored configuration is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A configuration as the store keeps it: public JSON text, secrets sealed.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub public: String,
    /// `None` when there is no secret to keep.
    pub secrets: Option<Vec<u8>>,
}

/// Seals and opens configurations' secrets with the host's key.
#[derive(Debug)]
pub struct Secrets {
    cipher: Cipher,
}

impl Secrets {
    pub fn new(cipher: Cipher) -> Self {
        Secrets { cipher }
    }

    /// Splits the secrets at `paths` out of `full` and seals them.
    pub fn seal(&self, full: &Value, paths: &[String]) -> Result<Sealed, CryptoError> {
        let (public, secrets) = split_secrets(full, paths);
        Ok(Sealed {
            public: to_json(&public),
            secrets: self.cipher.seal_secrets(&secrets)?,
        })
    }

    /// `full` without its secrets, as stored when none may be kept (the
    /// privileged credentials of an automatic set-up are used once).
    pub fn public_only(full: &Value, paths: &[String]) -> Sealed {
        Sealed {
            public: to_json(&split_secrets(full, paths).0),
            secrets: None,
        }
    }

    /// An already public configuration, stored with no secret.
    pub fn public(public: &Value) -> Sealed {
        Sealed {
            public: to_json(public),
            secrets: None,
        }
    }

    /// The full configuration back from its stored halves.
    pub fn open(&self, public: &str, sealed: Option<&[u8]>) -> Result<Value, SecretsError> {
        let public: Value = serde_json::from_str(public)?;
        let secrets = self.cipher.open_secrets(sealed)?;
        Ok(join_secrets(&public, &secrets))
    }

    /// Fills the secrets an edit left out of `new` from the `stored` configuration.
    pub fn keep_omitted(new: &mut Value, stored: &Value, paths: &[String]) {
        keep_omitted_secrets(new, stored, paths);
    }

    /// A whole value sealed (an operation's input, kept so that a host
    /// taking the operation over can replay it to undo its steps).
    pub fn seal_value(&self, value: &Value) -> Result<Vec<u8>, CryptoError> {
        self.cipher.seal(to_json(value).as_bytes())
    }

    /// A value sealed by [`Secrets::seal_value`].
    pub fn open_value(&self, blob: &[u8]) -> Result<Value, SecretsError> {
        Ok(serde_json::from_slice(&self.cipher.open(blob)?)?)
    }

    /// A sealed value again under the ring's first key, or `None` when it
    /// already is (a rotation re-encrypts row by row; the plaintext never
    /// leaves this function).
    pub fn reseal(&self, blob: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
        let (plain, key) = self.cipher.open_with_key(blob)?;
        if key == 0 {
            return Ok(None);
        }
        self.cipher.seal(&plain).map(Some)
    }

    /// The value kept on first start to recognise the key later.
    pub fn seal_key_check(&self) -> Result<Vec<u8>, CryptoError> {
        self.cipher.seal(KEY_CHECK)
    }

    /// Whether `blob` was sealed by [`Secrets::seal_key_check`] with this key.
    pub fn opens_key_check(&self, blob: &[u8]) -> bool {
        self.cipher.open(blob).is_ok_and(|plain| plain == KEY_CHECK)
    }
}

/// JSON text of a value that is known to serialise.
pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The secret strings of a request or an operation, replaced by the redaction
/// in every text that leaves the host: errors, results, scripts, history.
#[derive(Debug, Clone, Default)]
pub struct ScrubList(Vec<String>);

impl ScrubList {
    /// The strings at the secret `paths` of `config`.
    pub fn of(config: &Value, paths: &[String]) -> Self {
        let mut list = ScrubList::default();
        list.add(config, paths);
        list
    }

    /// Adds the strings at the secret `paths` of `config` (recursively inside
    /// objects and arrays).
    pub fn add(&mut self, config: &Value, paths: &[String]) {
        for p in paths {
            if let Some(v) = config.pointer(p) {
                self.add_every_string(v);
            }
        }
    }

    /// Adds every string of `value` (a body that is all secret, like
    /// privileged credentials). Very short strings are left out: replacing
    /// them would mangle ordinary words without protecting anything.
    pub fn add_every_string(&mut self, value: &Value) {
        match value {
            Value::String(s) if s.len() >= 4 => self.0.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| self.add_every_string(v)),
            Value::Object(o) => o.values().for_each(|v| self.add_every_string(v)),
            _ => {}
        }
    }

    /// `text` with every secret replaced by the redaction.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.0 {
            if !s.is_empty() && out.contains(s.as_str()) {
                out = out.replace(s.as_str(), junction_core::REDACTED);
            }
        }
        out
    }

    /// Field errors with every secret replaced, in messages and paths.
    pub fn errors(&self, mut errors: ConfigErrors) -> ConfigErrors {
        for e in &mut errors.0 {
            e.message = self.text(&e.message);
            e.path = self.text(&e.path);
        }
        errors
    }

    /// One test with its message scrubbed.
    pub fn test(&self, t: &ValidationTest) -> ValidationTest {
        ValidationTest {
            name: t.name.clone(),
            status: t.status,
            message: t.message.as_deref().map(|m| self.text(m)),
        }
    }

    /// Results with every test's message and every remedy scrubbed.
    pub fn results(&self, mut r: ValidationResults) -> ValidationResults {
        for t in &mut r.validation_tests {
            if let Some(m) = &t.message {
                t.message = Some(self.text(m));
            }
        }
        for remedy in &mut r.remedies {
            remedy.missing = self.text(&remedy.missing);
            for s in &mut remedy.statements {
                *s = self.text(s);
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs() {
        let cfg = serde_json::json!({"password": "hunter22", "nested": {"k": "abcd1234"}});
        let s = ScrubList::of(&cfg, &["/password".into(), "/nested".into()]);
        assert_eq!(
            s.text("pw hunter22 and abcd1234"),
            "pw [redacted] and [redacted]"
        );
    }

    #[test]
    fn seals_and_opens_a_configuration() {
        let secrets = Secrets::new(Cipher::from_key(&[3; 32]));
        let full = serde_json::json!({"account": "a", "password": "hunter22"});
        let paths = ["/password".to_owned()];
        let sealed = secrets.seal(&full, &paths).unwrap();
        assert!(!sealed.public.contains("hunter22"));
        let blob = sealed.secrets.clone().unwrap();
        assert!(!blob.windows(8).any(|w| w == b"hunter22"));
        assert_eq!(secrets.open(&sealed.public, Some(&blob)).unwrap(), full);
        let mut edit = serde_json::json!({"account": "a"});
        Secrets::keep_omitted(&mut edit, &full, &paths);
        assert_eq!(edit, full);
        assert!(secrets.opens_key_check(&secrets.seal_key_check().unwrap()));
        let other = Secrets::new(Cipher::from_key(&[4; 32]));
        assert!(!other.opens_key_check(&secrets.seal_key_check().unwrap()));
    }
}
