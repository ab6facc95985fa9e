//! API keys: `jct_` + 64 hex digits, kept in the store as SHA-256 hashes, each
//! with a role. `admin` may do everything; `read` may only read.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Read,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "read" => Some(Role::Read),
            _ => None,
        }
    }

    /// Whether a key with this role may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || needed == Role::Read
    }
}

/// A stored key, without the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// Public identifier, recorded in the history: `key_0123456789abcdef`.
    pub id: String,
    pub role: Role,
    pub name: String,
    pub created_at: i64,
    /// After this instant (ms since the epoch) the key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When the key was revoked; a revoked key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    /// Whether the key may be used at `now_ms`.
    pub fn usable(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now_ms < at)
    }
}

/// A freshly made key: the secret (shown once) and its stored record.
#[derive(Debug)]
pub struct NewKey {
    pub secret: String,
    pub hash: String,
    pub record: ApiKey,
}

pub const KEY_PREFIX: &str = "jct_";

/// The hash under which a key is stored.
pub fn hash_key(key: &str) -> String {
    crate::util::hex(&key_digest(key))
}

/// The SHA-256 of a key, as bytes.
pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Makes a new random key.
pub fn generate(role: Role, name: &str) -> Result<NewKey, getrandom::Error> {
    let bytes = crate::util::random_bytes::<32>()?;
    let secret = format!("{KEY_PREFIX}{}", crate::util::hex(&bytes));
    Ok(from_secret(&secret, role, name))
}

/// The record for a key chosen by the operator (`JUNCTION_ADMIN_KEY`).
pub fn from_secret(secret: &str, role: Role, name: &str) -> NewKey {
    let hash = hash_key(secret);
    NewKey {
        secret: secret.to_owned(),
        record: ApiKey {
            id: format!("key_{}", &hash[..16]),
            role,
            name: name.to_owned(),
            created_at: crate::util::now_ms(),
            expires_at: None,
            revoked_at: None,
        },
        hash,
    }
}

/// The key of an `Authorization` header: `Bearer KEY` or the bare key.
pub fn key_from_header(value: &str) -> Option<&str> {
    let v = value.trim();
    let key = match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => v,
    };
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_and_bare_keys() {
        assert_eq!(key_from_header("Bearer abc"), Some("abc"));
        assert_eq!(key_from_header("bearer  abc "), Some("abc"));
        assert_eq!(key_from_header("abc"), Some("abc"));
        assert_eq!(key_from_header("Basic abc"), None);
        assert_eq!(key_from_header(""), None);
    }

    #[test]
    fn roles() {
        assert!(Role::Admin.allows(Role::Admin));
        assert!(Role::Read.allows(Role::Read));
        assert!(!Role::Read.allows(Role::Admin));
    }

    #[test]
    fn generated_keys_differ_and_hash_stably() {
        let a = generate(Role::Read, "a").unwrap();
        let b = generate(Role::Read, "b").unwrap();
        assert_ne!(a.secret, b.secret);
        assert_eq!(hash_key(&a.secret), a.hash);
        assert!(a.secret.starts_with(KEY_PREFIX));
    }
}
