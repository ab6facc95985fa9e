//! The secret-key check: the key the host runs with must be the one its store
//! was written with, or every stored secret would be unreadable.

use super::Host;
use crate::crypto::CryptoError;
use crate::secrets::Secrets;
use crate::store::{Store, StoreError};

const META_KEY: &str = "secret_key_check";

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(
        "the secret key does not match the one this data directory was written with: \
         set JUNCTION_SECRET_KEY (or restore secret.key) to the original key"
    )]
    WrongKey,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl Host {
    /// Checks that the secret key is the one the store was written with (an
    /// encrypted check value is kept on first start).
    pub async fn verify_secret_key(&self) -> Result<(), SecretKeyError> {
        check_secret_key(self.store.as_ref(), &self.secrets).await
    }
}

/// The secret-key check on any store: the first start keeps the check value.
pub async fn check_secret_key(store: &dyn Store, secrets: &Secrets) -> Result<(), SecretKeyError> {
    match store.get_meta(META_KEY).await? {
        Some(blob) if secrets.opens_key_check(&blob) => Ok(()),
        Some(_) => Err(SecretKeyError::WrongKey),
        None => {
            let blob = secrets.seal_key_check()?;
            store.set_meta(META_KEY, &blob).await?;
            // Hosts sharing a store that start together: the check value
            // kept is the last written; each must open it.
            match store.get_meta(META_KEY).await? {
                Some(kept) if secrets.opens_key_check(&kept) => Ok(()),
                _ => Err(SecretKeyError::WrongKey),
            }
        }
    }
}

/// Seals the check value with the ring's first key (the end of a rotation).
pub async fn reseal_key_check(store: &dyn Store, secrets: &Secrets) -> Result<(), SecretKeyError> {
    let blob = secrets.seal_key_check()?;
    store.set_meta(META_KEY, &blob).await?;
    Ok(())
}
