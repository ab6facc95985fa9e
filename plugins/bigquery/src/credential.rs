//! The service-account key file, parsed once when the configuration is read.
//!
//! The payload's `credential` is the key file Google hands out (JSON, given
//! as a string). Reading it yields the project, the client email and an RSA
//! key pair ready to sign. A key file that is not JSON, lacks a field, or
//! holds a key that does not parse is refused at `config.credential` — and no
//! message here ever quotes any part of the file.

use aws_lc_rs::signature::RsaKeyPair;
use junction_core::Secret;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// Google's token endpoint, when the key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// Why a key file was refused. Never holds any part of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("must be the service-account key file (its JSON content) as a string")]
    NotText,
    #[error(
        "is not valid JSON (line {line}, column {column}): give the whole content of the service-account key file"
    )]
    NotJson { line: usize, column: usize },
    #[error("must be a JSON object: the content of the service-account key file")]
    NotObject,
    #[error(
        "is not a service-account key file (its \"type\" is not \"service_account\"): create a key for the service account (gcloud iam service-accounts keys create)"
    )]
    NotServiceAccount,
    #[error(
        "lacks {0} (a service-account key file holds project_id, client_email and private_key)"
    )]
    Missing(String),
    #[error("has a {0} that is not a non-empty string")]
    NotString(&'static str),
    #[error(
        "has a project_id that is not a Google Cloud project id (lowercase letters, digits, hyphens; optionally domain:project)"
    )]
    BadProject,
    #[error(
        "holds a private_key that is not an RSA private key in PKCS#8 PEM form (-----BEGIN PRIVATE KEY-----)"
    )]
    BadKey,
}

/// A parsed service-account key file.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The file as given: what the store keeps (encrypted), nothing else sees.
    text: Secret<String>,
    project_id: String,
    client_email: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    /// Parsed once; shared by clones of the configuration.
    signer: Arc<RsaKeyPair>,
}

impl ServiceAccountKey {
    /// Reads a key file's JSON content.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
        let value: Value = serde_json::from_str(text).map_err(|e| KeyFileError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(fields) = value else {
            return Err(KeyFileError::NotObject);
        };
        Self::from_fields(text.to_owned(), &fields)
    }

    fn from_fields(text: String, f: &Map<String, Value>) -> Result<Self, KeyFileError> {
        if f.get("type")
            .is_some_and(|t| t.as_str() != Some("service_account"))
        {
            return Err(KeyFileError::NotServiceAccount);
        }
        let missing: Vec<&str> = ["project_id", "client_email", "private_key"]
            .into_iter()
            .filter(|k| f.get(*k).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            return Err(KeyFileError::Missing(missing.join(", ")));
        }
        let text_of = |k: &'static str| -> Result<String, KeyFileError> {
            match f.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(KeyFileError::NotString(k)),
            }
        };
        let optional = |k: &'static str| -> Result<Option<String>, KeyFileError> {
            match f.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(_) => text_of(k).map(Some),
            }
        };
        let project_id = text_of("project_id")?;
        if !is_project_id(&project_id) {
            return Err(KeyFileError::BadProject);
        }
        let client_email = text_of("client_email")?;
        let private_key_id = optional("private_key_id")?;
        let token_uri = optional("token_uri")?;
        let pem = Secret::new(text_of("private_key")?);
        let signer =
            Arc::new(junction_kit::jwt::rsa_key_from_pem(&pem).map_err(|_| KeyFileError::BadKey)?);
        Ok(ServiceAccountKey {
            text: Secret::new(text),
            project_id,
            client_email,
            private_key_id,
            token_uri,
            signer,
        })
    }

    /// The project the key belongs to: where Junction works.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The service account's email: the JWT's issuer.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The key's id, sent as the JWT's `kid` so Google picks the right public key.
    pub fn private_key_id(&self) -> Option<&str> {
        self.private_key_id.as_deref()
    }

    /// The token endpoint the key file names, if any.
    pub fn token_uri(&self) -> Option<&str> {
        self.token_uri.as_deref()
    }

    pub(crate) fn signer(&self) -> &RsaKeyPair {
        &self.signer
    }
}

/// Lowercase letters, digits and hyphens, optionally after `domain:` (the
/// older domain-scoped projects): nothing that could break a URL path.
pub fn is_project_id(s: &str) -> bool {
    let (domain, id) = s.rsplit_once(':').unwrap_or(("", s));
    let id_ok = (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let domain_ok = domain
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    id_ok && domain_ok
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("key", &self.text)
            .finish()
    }
}

/// As the file's text: redacted, except inside the store's
/// `with_secrets_exposed`.
impl Serialize for ServiceAccountKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

/// From the file's text (the documented form) or, as a convenience, the
/// file's JSON object itself. serde's own messages would quote a string they
/// refuse, so every refusal here is one of ours.
impl<'de> Deserialize<'de> for ServiceAccountKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)
            .map_err(|_| D::Error::custom(KeyFileError::NotText))?;
        let parsed = match value {
            Value::String(text) => ServiceAccountKey::parse(&text),
            Value::Object(fields) => {
                ServiceAccountKey::from_fields(Value::Object(fields.clone()).to_string(), &fields)
            }
            _ => Err(KeyFileError::NotText),
        };
        parsed.map_err(D::Error::custom)
    }
}

impl schemars::JsonSchema for ServiceAccountKey {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ServiceAccountKey".into()
    }

    /// A string, marked `writeOnly` like every secret.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Secret<String> as schemars::JsonSchema>::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}
