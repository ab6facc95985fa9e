//! Secrets at rest: AES-256-GCM with a random nonce per value. The key comes
//! from `JUNCTION_SECRET_KEY` (64 hex digits) or from `secret.key` in the data
//! directory, created with mode 0600 on first start.
//!
//! A cipher is a key ring: it seals with its first key and opens with any.
//! While a rotation runs (`junction secrets rotate`, see `rotate.rs`) the
//! ring is the new key (`secret.key.next`, or `JUNCTION_NEW_SECRET_KEY`)
//! then the old one, so every row is readable whichever key sealed it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The environment variable holding the key, as 64 hex digits.
pub const ENV_KEY: &str = "JUNCTION_SECRET_KEY";
/// The environment variable holding the key a rotation moves to.
pub const ENV_NEW_KEY: &str = "JUNCTION_NEW_SECRET_KEY";
/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "secret.key";
/// The key a rotation in progress moves to, beside [`KEY_FILE`].
pub const NEXT_KEY_FILE: &str = "secret.key.next";

const FORMAT_V1: u8 = 1;
const AAD: &[u8] = b"junction-secrets-v1";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{ENV_KEY} must be 64 hex digits (a 256-bit key)")]
    BadEnvKey,
    #[error("{ENV_NEW_KEY} must be 64 hex digits (a 256-bit key)")]
    BadNewEnvKey,
    #[error("the key file {0} must hold 64 hex digits (a 256-bit key)")]
    BadKeyFile(PathBuf),
    #[error("the key file {path} could not be read or created: {source}")]
    KeyFileIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
    #[error("a stored secret could not be decrypted: wrong key or damaged data")]
    Decrypt,
    #[error("a secret could not be encrypted")]
    Encrypt,
    #[error("stored secrets are not valid JSON")]
    Format,
}

/// Encrypts and decrypts the secrets of a configuration.
pub struct Cipher {
    /// Seals with the first; opens with any.
    keys: Vec<Aes256Gcm>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher([redacted])")
    }
}

impl Cipher {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Cipher {
            keys: vec![Aes256Gcm::new(key.into())],
        }
    }

    /// The same ring with `key` in front: it seals from now on.
    pub fn rotated_to(mut self, key: &[u8; 32]) -> Self {
        self.keys.insert(0, Aes256Gcm::new(key.into()));
        self
    }

    /// The key from the environment, else from the data directory's key file
    /// (created, mode 0600, when missing); with a rotation in progress, its
    /// new key in front.
    pub fn load(data_dir: &Path) -> Result<Self, CryptoError> {
        let current = Cipher::load_current(data_dir)?;
        Ok(match next_key(data_dir)? {
            Some(next) => current.rotated_to(&next),
            None => current,
        })
    }

    /// The key in use before any rotation in progress.
    pub fn load_current(data_dir: &Path) -> Result<Self, CryptoError> {
        if let Ok(hex) = std::env::var(ENV_KEY) {
            let key = parse_key(&hex).ok_or(CryptoError::BadEnvKey)?;
            return Ok(Cipher::from_key(&key));
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| CryptoError::KeyFileIo {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = parse_key(&text).ok_or_else(|| CryptoError::BadKeyFile(path.clone()))?;
                Ok(Cipher::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::util::create_private_dir(data_dir).map_err(io)?;
                let key = crate::util::random_bytes::<32>().map_err(CryptoError::Random)?;
                write_private(&path, crate::util::hex(&key).as_bytes()).map_err(io)?;
                Ok(Cipher::from_key(&key))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = crate::util::random_bytes::<12>().map_err(CryptoError::Random)?;
        let aead = self.keys.first().ok_or(CryptoError::Encrypt)?;
        let ct = aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: AAD,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.open_with_key(blob).map(|(plain, _)| plain)
    }

    /// The plaintext and the index in the ring of the key that opened it.
    pub fn open_with_key(&self, blob: &[u8]) -> Result<(Vec<u8>, usize), CryptoError> {
        if blob.len() < 13 || blob[0] != FORMAT_V1 {
            return Err(CryptoError::Decrypt);
        }
        for (i, aead) in self.keys.iter().enumerate() {
            let plain = aead.decrypt(
                Nonce::from_slice(&blob[1..13]),
                Payload {
                    msg: &blob[13..],
                    aad: AAD,
                },
            );
            if let Ok(plain) = plain {
                return Ok((plain, i));
            }
        }
        Err(CryptoError::Decrypt)
    }

    /// Encrypts a secrets map; `None` when there is nothing to keep.
    pub fn seal_secrets(
        &self,
        secrets: &Map<String, Value>,
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        if secrets.is_empty() {
            return Ok(None);
        }
        let plain = serde_json::to_vec(secrets).map_err(|_| CryptoError::Encrypt)?;
        self.seal(&plain).map(Some)
    }

    pub fn open_secrets(&self, blob: Option<&[u8]>) -> Result<Map<String, Value>, CryptoError> {
        match blob {
            None => Ok(Map::new()),
            Some(b) => serde_json::from_slice(&self.open(b)?).map_err(|_| CryptoError::Format),
        }
    }
}

/// The key a rotation in progress moves to: `JUNCTION_NEW_SECRET_KEY` when
/// set, else `secret.key.next` when present.
pub fn next_key(data_dir: &Path) -> Result<Option<[u8; 32]>, CryptoError> {
    if let Ok(hex) = std::env::var(ENV_NEW_KEY) {
        return parse_key(&hex).map(Some).ok_or(CryptoError::BadNewEnvKey);
    }
    let path = data_dir.join(NEXT_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_key(&text)
            .map(Some)
            .ok_or(CryptoError::BadKeyFile(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CryptoError::KeyFileIo { path, source }),
    }
}

pub(crate) fn parse_key(text: &str) -> Option<[u8; 32]> {
    crate::util::unhex(text)?.try_into().ok()
}

/// Creates `path` with mode 0600 (owner only) and writes `bytes`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering() {
        let c = Cipher::from_key(&[7u8; 32]);
        let blob = c.seal(b"hello").unwrap();
        assert_eq!(c.open(&blob).unwrap(), b"hello");
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(c.open(&bad).is_err());
        assert!(Cipher::from_key(&[8u8; 32]).open(&blob).is_err());
    }

    #[test]
    fn key_file_is_created_private() {
        let dir = std::env::temp_dir().join(crate::util::random_id("junction-key-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY of the test: the env var is not set in the test environment.
        if std::env::var(ENV_KEY).is_ok() {
            return;
        }
        let a = Cipher::load(&dir).unwrap();
        let b = Cipher::load(&dir).unwrap();
        assert_eq!(b.open(&a.seal(b"x").unwrap()).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
