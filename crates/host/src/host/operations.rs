//! The operation starters: create, edit (or a retried create), delete and
//! migrate. Each refuses what it can before anything is stored, starts the
//! operation in one store transaction (status, lease, history), and hands the
//! work to the background runner.

use super::work::{Attempt, Job, Work};
use super::{Caller, Host, HostError, PlatformEntry, pending_results};
use crate::payload::{BODY, Payload, REVALIDATE_EVERY};
use crate::secrets::{ScrubList, Secrets, to_json};
use crate::store::recurring::Revalidate;
use crate::store::{IntegrationRow, NewIntegration, StartOp, StoreError};
use junction_core::{DeleteCredentials, Event, FieldError, Status};
use serde_json::Value;
use std::sync::Arc;

/// Refuses early (and cheaply) what the store's transition would refuse anyway.
pub(super) fn may_start(row: &IntegrationRow, event: Event, verb: &str) -> Result<(), HostError> {
    junction_core::transition(Some(row.status), event)
        .map(|_| ())
        .map_err(|t| HostError::from_store(row.id, verb, StoreError::Transition(t)))
}

impl Host {
    /// POST /integrations.
    pub async fn create(
        self: &Arc<Self>,
        payload: Payload,
        caller: &Caller,
        idempotency: Option<(String, String)>,
    ) -> Result<IntegrationRow, HostError> {
        let entry = self.platforms.get(&payload.type_name)?;
        let paths = entry.secret_paths();
        let scrub = ScrubList::of(&payload.config, paths);
        let revalidate = revalidate_of(&payload)?;
        let parsed = entry
            .platform
            .parse(&payload.config, payload.auto_bootstrap)
            .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
        // Privileged set-up credentials (autoBootstrap) are used once, never stored.
        let sealed = if payload.auto_bootstrap {
            Secrets::public(&parsed.public)
        } else {
            self.secrets
                .seal(&parsed.full, paths)
                .map_err(HostError::internal)?
        };
        let lease = self.lease(super::OpKind::Create, caller);
        let work = Work::Create {
            config: parsed.full,
            attempt: Attempt::First,
        };
        let input = self.seal_input(&work, payload.auto_bootstrap)?;
        let new = NewIntegration {
            type_name: payload.type_name.clone(),
            account_key: parsed.account_key.clone(),
            auto_bootstrap: payload.auto_bootstrap,
            config: sealed.public,
            secrets: sealed.secrets,
            validation_results: to_json(&pending_results(&entry.descriptor)),
            lease: lease.clone(),
            idempotency,
            input,
            revalidate,
        };
        let insert = self.store.insert(new);
        let row = match crate::metrics::timed(crate::metrics::StoreOp::Insert, insert).await {
            Ok(row) => row,
            Err(StoreError::AccountTaken { id }) => {
                return Err(
                    HostError::account_taken(&payload.type_name, &parsed.account_key, id)
                        .scrubbed(&scrub),
                );
            }
            Err(StoreError::IdempotentReplay {
                id,
                same_request: true,
            }) => return self.integration(id).await,
            Err(StoreError::IdempotentReplay {
                id,
                same_request: false,
            }) => {
                return Err(HostError::Refused {
                    message: format!(
                        "The Idempotency-Key was already used, with a different payload, for integration {id}."
                    ),
                    details: vec![FieldError::new(
                        "Idempotency-Key",
                        "already used with a different payload",
                    )],
                });
            }
            Err(e) => return Err(HostError::internal(e)),
        };
        self.peers.note(&row);
        self.spawn(Job {
            id: row.id,
            op_id: lease.op_id,
            origin: lease.origin,
            platform: Arc::clone(&entry.platform),
            paths: paths.to_vec(),
            auto_bootstrap: payload.auto_bootstrap,
            bootstrap_version: 0,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub,
            work,
        });
        Ok(row)
    }

    /// PUT /integrations/{id}: edit, or retry a failed create.
    pub async fn edit(
        self: &Arc<Self>,
        id: i64,
        payload: Payload,
        caller: &Caller,
    ) -> Result<IntegrationRow, HostError> {
        let row = self.integration(id).await?;
        if payload.type_name != row.type_name {
            return Err(HostError::field(
                "type",
                format!(
                    "cannot change the type of integration {id} from \"{}\"",
                    row.type_name
                ),
            ));
        }
        let entry = self.platforms.get(&row.type_name)?;
        let paths = entry.secret_paths();
        may_start(&row, Event::StartEdit, "edit")?;
        let revalidate = revalidate_of(&payload)?;
        let old_full = self.full_config(&row)?;
        let mut new_config = payload.config.clone();
        Secrets::keep_omitted(&mut new_config, &old_full, paths);
        let mut scrub = ScrubList::of(&new_config, paths);
        scrub.add(&old_full, paths);
        let parsed = entry
            .platform
            .parse(&new_config, payload.auto_bootstrap)
            .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
        let retry_create = row.status == Status::CreateError;
        // Fields fixed once set up; nothing was set up by a failed create.
        if !retry_create {
            entry
                .platform
                .check_edit(&old_full, &parsed.full)
                .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
        }
        let work = if retry_create {
            Work::Create {
                config: parsed.full,
                attempt: Attempt::Retry {
                    account_key: parsed.account_key,
                },
            }
        } else {
            Work::Edit {
                old: old_full,
                new: parsed.full,
                account_key: parsed.account_key,
            }
        };
        self.start_on(
            &row,
            entry,
            payload.auto_bootstrap,
            caller,
            scrub,
            work,
            Some(revalidate),
        )
        .await
    }

    /// DELETE /integrations/{id}, with privileged credentials when the
    /// platform's rules ask for them.
    pub async fn delete(
        self: &Arc<Self>,
        id: i64,
        body: Option<Value>,
        caller: &Caller,
    ) -> Result<IntegrationRow, HostError> {
        let row = self.integration(id).await?;
        let entry = self.platforms.get(&row.type_name)?;
        may_start(&row, Event::StartDelete, "delete")?;
        let body = body.filter(|b| !b.is_null());
        let mut scrub = ScrubList::default();
        if let Some(b) = &body {
            scrub.add_every_string(b);
        }
        credentials_allowed(entry, &row, body.is_some())?;
        if let Some(b) = &body {
            entry
                .platform
                .parse_delete_credentials(b)
                .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
        }
        let config = self.full_config(&row)?;
        scrub.add(&config, entry.secret_paths());
        let work = Work::Delete {
            config,
            privileged: body,
        };
        self.start_on(&row, entry, row.auto_bootstrap, caller, scrub, work, None)
            .await
    }

    /// POST /integrations/{id}/migrate.
    pub async fn migrate(
        self: &Arc<Self>,
        id: i64,
        caller: &Caller,
    ) -> Result<IntegrationRow, HostError> {
        let row = self.integration(id).await?;
        let entry = self.platforms.get(&row.type_name)?;
        may_start(&row, Event::StartMigrate, "migrate")?;
        let newest = entry.descriptor.bootstrap_version;
        if row.bootstrap_version >= newest {
            return Err(HostError::Conflict(format!(
                "Integration {id} is already at set-up version {}, the newest {} provides.",
                row.bootstrap_version, row.type_name
            )));
        }
        let config = self.full_config(&row)?;
        let scrub = ScrubList::of(&config, entry.secret_paths());
        let work = Work::Migrate { config };
        self.start_on(&row, entry, row.auto_bootstrap, caller, scrub, work, None)
            .await
    }

    /// Starts `work` on the stored `row` in one transaction (checked against
    /// the version read), then runs it in the background. `revalidate` is an
    /// edit's new `revalidateEvery` (`None` keeps it). A recurring
    /// validation holding the lease is not waited for: the start takes the
    /// lease over (see `store/recurring.rs`).
    #[allow(clippy::too_many_arguments)]
    async fn start_on(
        self: &Arc<Self>,
        row: &IntegrationRow,
        entry: &PlatformEntry,
        auto_bootstrap: bool,
        caller: &Caller,
        scrub: ScrubList,
        work: Work,
        revalidate: Option<Revalidate>,
    ) -> Result<IntegrationRow, HostError> {
        let kind = work.kind();
        let event = work.start_event();
        let verb = match event {
            Event::StartDelete => "delete",
            Event::StartMigrate => "migrate",
            _ => "edit",
        };
        let lease = self.lease(kind, caller);
        let new_account_key = work
            .new_account_key()
            .filter(|k| *k != row.account_key)
            .map(str::to_owned);
        let start = self.store.start_operation(StartOp {
            id: row.id,
            expected_version: Some(row.version),
            event,
            lease: lease.clone(),
            new_account_key: new_account_key.clone(),
            validation_results: work
                .sets_mode()
                .then(|| to_json(&pending_results(&entry.descriptor))),
            input: self.seal_input(&work, auto_bootstrap)?,
            revalidate,
        });
        let started = crate::metrics::timed(crate::metrics::StoreOp::StartOperation, start).await;
        let started = match (started, &new_account_key) {
            (Err(StoreError::AccountTaken { id: other }), Some(account)) => {
                return Err(
                    HostError::account_taken(&row.type_name, account, other).scrubbed(&scrub)
                );
            }
            (other, _) => other.map_err(|e| HostError::from_store(row.id, verb, e))?,
        };
        self.peers.note(&started);
        self.spawn(Job {
            id: row.id,
            op_id: lease.op_id,
            origin: lease.origin,
            platform: Arc::clone(&entry.platform),
            paths: entry.secret_paths().to_vec(),
            auto_bootstrap,
            bootstrap_version: row.bootstrap_version,
            key_id: lease.key_id,
            fault: caller.fault.clone(),
            scrub,
            work,
        });
        Ok(started)
    }
}

impl Host {
    /// The work sealed for a replay by a host taking it over (`None` when it
    /// holds privileged credentials, never stored).
    fn seal_input(&self, work: &Work, auto_bootstrap: bool) -> Result<Option<Vec<u8>>, HostError> {
        work.to_input(auto_bootstrap)
            .map(|v| self.secrets.seal_value(&v))
            .transpose()
            .map_err(HostError::internal)
    }
}

/// The payload's `revalidateEvery`, refused with its path when bad.
fn revalidate_of(payload: &Payload) -> Result<Revalidate, HostError> {
    Revalidate::from_payload(payload.revalidate_every.as_ref())
        .map_err(|m| HostError::field(REVALIDATE_EVERY, m))
}

/// The platform's rule for privileged credentials on delete.
fn credentials_allowed(
    entry: &PlatformEntry,
    row: &IntegrationRow,
    given: bool,
) -> Result<(), HostError> {
    let refuse = |message: String| Err(HostError::field(BODY, message));
    match (entry.descriptor.delete_credentials, row.auto_bootstrap, given) {
        (DeleteCredentials::Never, _, true) => refuse(format!(
            "Credentials are not required to disable a {} integration. If you need to update your integration credentials, use PUT to update the integration before disabling.",
            row.type_name
        )),
        (DeleteCredentials::WhenAutomatic, true, false) => refuse(
            "Integrations that are automatically configured require privileged credentials to disable. Please provide them in your payload.".into(),
        ),
        (DeleteCredentials::WhenAutomatic, false, true) => refuse(
            "Credentials are not required for disable unless the integration was configured automatically. If you need to update your integration credentials, use PUT to update the integration before disabling.".into(),
        ),
        _ => Ok(()),
    }
}
