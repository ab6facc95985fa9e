//! `junction secrets rotate`: the store's secrets re-encrypted under a new key.

use super::out::errln;
use anyhow::Result;
use junction_host::rotate::{Rotation, rotate};
use std::path::Path;
use std::process::ExitCode;

pub async fn rotate_command(data_dir: &Path, store: Option<&str>) -> Result<ExitCode> {
    let store = junction_host::store::open(store, data_dir).await?;
    match rotate(store.as_ref(), data_dir, None).await? {
        Rotation::Done { resealed } => {
            errln!(
                "Re-encrypted {resealed} stored value(s) under the new key; the old key opens nothing now."
            );
            if std::env::var_os(junction_host::crypto::ENV_KEY).is_some() {
                errln!(
                    "Set {} to the value of {} before starting the hosts.",
                    junction_host::crypto::ENV_KEY,
                    junction_host::crypto::ENV_NEW_KEY
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Rotation::Partial { resealed } => {
            errln!("Stopped after {resealed} value(s); run it again to finish.");
            Ok(ExitCode::from(1))
        }
    }
}
