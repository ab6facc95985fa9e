//! `junction secrets rotate`: every stored secret re-encrypted under a new
//! key, safe against a crash at any moment.
//!
//! 1. The new key is written first (`secret.key.next`, 0600, synced), or
//!    taken from `JUNCTION_NEW_SECRET_KEY`; a run that finds one resumes with it.
//! 2. Each row's sealed values are re-encrypted one row at a time, each a
//!    compare-and-swap on the values read. Between two rows every row opens
//!    with the old key or the new, and a host started meanwhile loads both
//!    (the key ring of `crypto.rs`).
//! 3. The key check value is sealed with the new key.
//! 4. `secret.key.next` is renamed over `secret.key` (atomic): done. With
//!    keys from the environment, the operator sets `JUNCTION_SECRET_KEY`.
//!
//! Run it with the hosts stopped: a host that started before the rotation
//! knows only the old key and would go on sealing with it.

use crate::crypto::{self, Cipher, CryptoError, ENV_KEY, ENV_NEW_KEY, KEY_FILE, NEXT_KEY_FILE};
use crate::host::SecretKeyError;
use crate::secrets::Secrets;
use crate::store::{SealedRow, Store, StoreError};
use std::path::Path;

const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] SecretKeyError),
    #[error("{ENV_KEY} is set: give the new key in {ENV_NEW_KEY} (64 hex digits)")]
    NoNewKey,
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Every row is under the new key, which is now the key.
    Done { resealed: usize },
    /// Stopped after `resealed` rows (`max_rows`): the next run finishes.
    Partial { resealed: usize },
}

/// Rotates the store's secrets to a new key (see the module docs). Stops
/// after `max_rows` re-encrypted rows when given, as a crash would.
pub async fn rotate(
    store: &dyn Store,
    data_dir: &Path,
    max_rows: Option<usize>,
) -> Result<Rotation, RotateError> {
    let env_mode = std::env::var_os(ENV_KEY).is_some();
    let current = Cipher::load_current(data_dir)?;
    let next = match crypto::next_key(data_dir)? {
        Some(k) => k,
        None if env_mode => return Err(RotateError::NoNewKey),
        None => {
            let key = crate::util::random_bytes::<32>().map_err(CryptoError::Random)?;
            let path = data_dir.join(NEXT_KEY_FILE);
            crypto::write_private(&path, crate::util::hex(&key).as_bytes()).map_err(|source| {
                RotateError::Io {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            key
        }
    };
    let secrets = Secrets::new(current.rotated_to(&next));
    crate::host::check_secret_key(store, &secrets).await?;
    let mut resealed = 0;
    loop {
        let mut changed_or_raced = false;
        let mut after = 0;
        loop {
            let page = store.sealed_page(after, PAGE).await?;
            for row in &page {
                let new = SealedRow {
                    id: row.id,
                    secrets: reseal(&secrets, row.secrets.as_deref())?,
                    input: reseal(&secrets, row.input.as_deref())?,
                };
                if new.secrets.is_none() && new.input.is_none() {
                    continue;
                }
                if max_rows.is_some_and(|m| resealed >= m) {
                    return Ok(Rotation::Partial { resealed });
                }
                let new = SealedRow {
                    secrets: new.secrets.or_else(|| row.secrets.clone()),
                    input: new.input.or_else(|| row.input.clone()),
                    ..new
                };
                changed_or_raced = true;
                if store.reseal(row, &new).await? {
                    resealed += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = last.id,
                _ => break,
            }
        }
        // A pass that found nothing to do: every row is under the new key.
        if !changed_or_raced {
            break;
        }
    }
    // Webhook signing secrets are sealed with the same key.
    for w in store.webhooks().await? {
        if let Some(new) = secrets.reseal(&w.secret)? {
            if store.reseal_webhook(&w.id, &w.secret, &new).await? {
                resealed += 1;
            }
        }
    }
    crate::host::reseal_key_check(store, &secrets).await?;
    if !env_mode {
        let (from, to) = (data_dir.join(NEXT_KEY_FILE), data_dir.join(KEY_FILE));
        std::fs::rename(&from, &to).map_err(|source| RotateError::Io {
            path: to.display().to_string(),
            source,
        })?;
    }
    Ok(Rotation::Done { resealed })
}

/// `blob` under the new key, or `None` when it already is (or is absent).
fn reseal(secrets: &Secrets, blob: Option<&[u8]>) -> Result<Option<Vec<u8>>, CryptoError> {
    match blob {
        Some(b) => secrets.reseal(b),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::store::EventStore;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{NewIntegration, OpLease};
    use serde_json::json;

    fn new(i: usize, secrets: &Secrets) -> NewIntegration {
        let sealed = secrets
            .seal(
                &json!({"account": i, "password": format!("pw-{i}")}),
                &["/password".into()],
            )
            .unwrap();
        NewIntegration {
            type_name: "T".into(),
            account_key: format!("a{i}"),
            auto_bootstrap: false,
            config: sealed.public,
            secrets: sealed.secrets,
            validation_results: "{}".into(),
            lease: OpLease {
                op_id: format!("o{i}"),
                origin: format!("o{i}"),
                kind: "create".into(),
                owner: "t".into(),
                expires_ms: i64::MAX / 2,
                key_id: None,
            },
            idempotency: None,
            revalidate: Default::default(),
            input: Some(
                secrets
                    .seal_value(&json!({"kind": "migrate", "config": {"i": i}}))
                    .unwrap(),
            ),
        }
    }

    /// How many rows' values (secrets, input) open with `cipher`.
    async fn opening(store: &dyn Store, cipher: Cipher) -> usize {
        let s = Secrets::new(cipher);
        let rows = store.sealed_page(0, 1000).await.unwrap();
        rows.iter()
            .filter(|r| {
                r.secrets
                    .as_deref()
                    .is_some_and(|b| s.open("{}", Some(b)).is_ok())
                    && r.input.as_deref().is_some_and(|b| s.open_value(b).is_ok())
            })
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_stopped_midway_leaves_every_row_readable_and_the_next_run_finishes() {
        if std::env::var_os(ENV_KEY).is_some() || std::env::var_os(ENV_NEW_KEY).is_some() {
            return; // the test manages the key files itself
        }
        let dir = std::env::temp_dir().join(crate::util::random_id("junction-rotate-test-"));
        let store = SqliteStore::open(&dir).unwrap();
        let old = Secrets::new(Cipher::load(&dir).unwrap());
        crate::host::check_secret_key(&store, &old).await.unwrap();
        for i in 0..7 {
            store.insert(new(i, &old)).await.unwrap();
        }
        // A webhook's signing secret is sealed with the same key.
        let hook = crate::events::store::WebhookRow {
            id: "wh_rot".into(),
            url: "https://hooks.example/r".into(),
            status_events: true,
            test_events: true,
            secret: old.seal_value(&json!("whsec_rotated")).unwrap(),
            created_at: 1,
        };
        store.insert_webhook(&hook).await.unwrap();
        let old_key = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap();
        let key = |text: &str| Cipher::from_key(&crypto::parse_key(text).unwrap());
        // A crash after three rows.
        assert_eq!(
            rotate(&store, &dir, Some(3)).await.unwrap(),
            Rotation::Partial { resealed: 3 }
        );
        let next_key = std::fs::read_to_string(dir.join(NEXT_KEY_FILE)).unwrap();
        assert_eq!(opening(&store, key(&old_key)).await, 4);
        assert_eq!(opening(&store, key(&next_key)).await, 3);
        // Every row opens with what a host starting now loads (both keys).
        assert_eq!(opening(&store, Cipher::load(&dir).unwrap()).await, 7);
        crate::host::check_secret_key(&store, &Secrets::new(Cipher::load(&dir).unwrap()))
            .await
            .unwrap();
        // The next run resumes with the same new key and finishes.
        assert_eq!(
            rotate(&store, &dir, None).await.unwrap(),
            Rotation::Done { resealed: 5 },
            "four rows and the webhook"
        );
        assert!(!dir.join(NEXT_KEY_FILE).exists());
        assert_eq!(
            std::fs::read_to_string(dir.join(KEY_FILE)).unwrap(),
            next_key
        );
        assert_eq!(opening(&store, key(&next_key)).await, 7);
        assert_eq!(opening(&store, key(&old_key)).await, 0);
        let sealed = store.webhook("wh_rot").await.unwrap().unwrap().secret;
        assert_eq!(
            Secrets::new(key(&next_key)).open_value(&sealed).unwrap(),
            json!("whsec_rotated")
        );
        let now = Secrets::new(Cipher::load(&dir).unwrap());
        crate::host::check_secret_key(&store, &now).await.unwrap();
        assert!(
            crate::host::check_secret_key(&store, &Secrets::new(key(&old_key)))
                .await
                .is_err()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
