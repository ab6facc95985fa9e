//! The twelve validation tests. Names and failure messages are the response
//! contract's, character for character; descriptions and every other message
//! are ours.
//!
//! Round trips: the token exchange, then at once the metadata dataset's
//! `datasets.get` (the connection test's authenticated call, whose answer the
//! dataset test reads too) and one `projects.testIamPermissions` call that
//! answers all seven permission tests. The three service-account tests read
//! only the configuration and the other integrations.

use crate::client::{Google, Lookup};
use crate::config::BigQueryConfig;
use junction_core::{Check, CheckContext, CheckOutcome, Fix};
use junction_kit::http::HttpError;
use junction_kit::remedy::{self, shell_quote};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

pub const CONNECT: &str = "Basic validation: connection can be made to BigQuery";
pub const POSTFIX: &str = "Basic validation: Immuta service account postfix";
pub const KEY_FILE_ACCOUNT: &str = "Basic validation: non-matching service account in key file";
pub const NOT_REUSED: &str = "Basic validation: verify service account not being used for data source connection credentials";
pub const DATASET_CREATE: &str = "Validate manual: [dataset - create]";
pub const DATASET_DELETE: &str = "Validate manual: [dataset - delete]";
pub const DATASET_EXISTS: &str = "Initialize validation: [dataset - exists]";
pub const TABLE_CREATE: &str = "Validate manual: [table - create]";
pub const TABLE_DELETE: &str = "Validate manual: [table - delete]";
pub const TABLE_GET: &str = "Validate manual: [table - get]";
pub const TABLE_INSERT: &str = "Validate manual: [table - insert]";
pub const TABLE_UPDATE: &str = "Validate manual: [table - update]";

pub const CONNECT_FAILED: &str = "Could not connect to the remote BigQuery connection.";
pub const POSTFIX_FAILED: &str = "The Immuta service account does not end with expected value.";
pub const KEY_FILE_ACCOUNT_FAILED: &str =
    "The service account does not match the service account in the provided key file.";
pub const REUSED: &str = "Native BigQuery doesn't support the reuse of service accounts for integrations that are currently being used for data sources.";
pub const DATASET_EXISTS_FAILED: &str =
    "An existing Immuta instance exists. Delete this dataset to continue.";

/// Each permission test and the permission it probes, in the contract's order.
pub const PERMISSION_TESTS: [(&str, &str); 7] = [
    (DATASET_CREATE, "bigquery.datasets.create"),
    (DATASET_DELETE, "bigquery.datasets.delete"),
    (TABLE_CREATE, "bigquery.tables.create"),
    (TABLE_DELETE, "bigquery.tables.delete"),
    (TABLE_GET, "bigquery.tables.get"),
    (TABLE_INSERT, "bigquery.tables.updateData"),
    (TABLE_UPDATE, "bigquery.tables.update"),
];

/// Exactly the permissions of the custom role (the manual script makes it so).
pub const PERMISSIONS: [&str; 7] = [
    "bigquery.datasets.create",
    "bigquery.datasets.delete",
    "bigquery.tables.create",
    "bigquery.tables.delete",
    "bigquery.tables.get",
    "bigquery.tables.updateData",
    "bigquery.tables.update",
];

/// Longer than two calls at the longest timeout a config may set.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2 * crate::config::MAX_TIMEOUT_SECONDS + 10);

/// What one validation run learns from Google, each call made once however
/// many tests read it.
struct Probe {
    google: Result<Google, HttpError>,
    dataset: OnceCell<Result<Lookup, HttpError>>,
    permissions: OnceCell<Result<Vec<String>, HttpError>>,
}

impl Probe {
    fn new(c: &BigQueryConfig) -> Self {
        Probe {
            google: Google::new(c),
            dataset: OnceCell::new(),
            permissions: OnceCell::new(),
        }
    }

    async fn dataset(&self, c: &BigQueryConfig) -> &Result<Lookup, HttpError> {
        self.dataset
            .get_or_init(|| async {
                match &self.google {
                    Ok(g) => g.lookup_dataset(&c.dataset).await,
                    Err(e) => Err(e.clone()),
                }
            })
            .await
    }

    async fn permissions(&self) -> &Result<Vec<String>, HttpError> {
        self.permissions
            .get_or_init(|| async {
                match &self.google {
                    Ok(g) => g.held_permissions(&PERMISSIONS).await,
                    Err(e) => Err(e.clone()),
                }
            })
            .await
    }
}

/// The run's probe, for the very configuration it was made for (the same
/// `Arc`, kept alive here so its address cannot be reused). A run gets fresh
/// checks, and so a fresh probe, from [`checks`].
#[derive(Default)]
struct Shared(Mutex<Option<(Arc<BigQueryConfig>, Arc<Probe>)>>);

impl Shared {
    fn probe(&self, c: &Arc<BigQueryConfig>) -> Arc<Probe> {
        let Ok(mut slot) = self.0.lock() else {
            return Arc::new(Probe::new(c));
        };
        if let Some((config, probe)) = slot.as_ref()
            && Arc::ptr_eq(config, c)
        {
            return Arc::clone(probe);
        }
        let probe = Arc::new(Probe::new(c));
        *slot = Some((Arc::clone(c), Arc::clone(&probe)));
        probe
    }
}

/// The tests, declared as data, in the contract's order.
pub fn checks() -> Vec<Check<BigQueryConfig>> {
    let shared = Arc::new(Shared::default());
    let mut checks = Vec::with_capacity(12);
    let s = Arc::clone(&shared);
    checks.push(
        Check::new(
            CONNECT,
            "Exchanges the service account's signed JWT for an access token and reads the metadata dataset with it.",
            move |c, _ctx| connection_test(c, Arc::clone(&s)),
        )
        .timeout(CHECK_TIMEOUT),
    );
    checks.push(Check::new(
        POSTFIX,
        "Verifies that the key file's service account ends with @<projectId>.iam.gserviceaccount.com: it belongs to the key's project.",
        |c, _ctx| async move { postfix_test(&c) },
    ));
    checks.push(Check::new(
        KEY_FILE_ACCOUNT,
        "Verifies that the service account named in the payload (serviceAccount) is the one of the key file.",
        |c, _ctx| async move { key_file_account_test(&c) },
    ));
    checks.push(Check::new(
        NOT_REUSED,
        "Verifies that no other integration of this Junction uses the same service account.",
        |c, ctx| async move { not_reused_test(&c, &ctx) },
    ));
    for (name, permission) in PERMISSION_TESTS {
        let s = Arc::clone(&shared);
        let check = Check::new(
            name,
            format!(
                "Verifies that the custom role assigned to the service account grants {permission}."
            ),
            move |c, _ctx| permission_test(c, Arc::clone(&s), permission),
        )
        .requires(CONNECT)
        .timeout(CHECK_TIMEOUT);
        checks.push(check);
        if name == DATASET_DELETE {
            let s = Arc::clone(&shared);
            checks.push(
                Check::new(
                    DATASET_EXISTS,
                    "Verifies that the metadata dataset does not exist yet, so that Junction can make it.",
                    move |c, ctx| dataset_exists_test(c, ctx, Arc::clone(&s)),
                )
                .requires(CONNECT)
                .timeout(CHECK_TIMEOUT),
            );
        }
    }
    checks
}

async fn connection_test(c: Arc<BigQueryConfig>, shared: Arc<Shared>) -> CheckOutcome {
    let probe = shared.probe(&c);
    // The permission call needs the same token: start it now, so that the
    // permission tests find its answer when this test has passed.
    let early = Arc::clone(&probe);
    tokio::spawn(async move {
        early.permissions().await;
    });
    match probe.dataset(&c).await {
        Ok(_) => CheckOutcome::passed(),
        Err(e) => {
            // The contract's message is fixed; the cause goes to the log.
            tracing::warn!(error = %e, "BigQuery connection test failed");
            CheckOutcome::failed(CONNECT_FAILED)
        }
    }
}

/// `@<project>.iam.gserviceaccount.com`; a domain-scoped project
/// `example.com:p` has `@p.example.com.iam.gserviceaccount.com`.
pub fn expected_postfix(project: &str) -> String {
    match project.split_once(':') {
        Some((domain, id)) => format!("@{id}.{domain}.iam.gserviceaccount.com"),
        None => format!("@{project}.iam.gserviceaccount.com"),
    }
}

fn postfix_test(c: &BigQueryConfig) -> CheckOutcome {
    let email = c.credential.client_email().to_ascii_lowercase();
    let expected = expected_postfix(c.project_id());
    if email.ends_with(&expected) && email.len() > expected.len() {
        CheckOutcome::passed()
    } else {
        tracing::warn!(
            client_email = c.credential.client_email(),
            expected,
            "the service account does not belong to the key's project"
        );
        CheckOutcome::failed(POSTFIX_FAILED)
    }
}

fn key_file_account_test(c: &BigQueryConfig) -> CheckOutcome {
    let in_key = c.credential.client_email();
    match c.service_account.as_deref() {
        Some(named) if !named.eq_ignore_ascii_case(in_key) => {
            tracing::warn!(
                service_account = named,
                client_email = in_key,
                "serviceAccount differs from the key file's client_email"
            );
            CheckOutcome::failed(KEY_FILE_ACCOUNT_FAILED)
        }
        _ => CheckOutcome::passed(),
    }
}

fn not_reused_test(c: &BigQueryConfig, ctx: &CheckContext) -> CheckOutcome {
    let mine = c.credential.client_email();
    let clash = ctx.other_peers().find(|p| {
        p.config
            .get("serviceAccount")
            .and_then(|v| v.as_str())
            .is_some_and(|theirs| theirs.eq_ignore_ascii_case(mine))
    });
    match clash {
        Some(peer) => {
            tracing::warn!(
                other_integration = peer.id,
                service_account = mine,
                "the service account is used by another integration"
            );
            CheckOutcome::failed(REUSED)
        }
        None => CheckOutcome::passed(),
    }
}

/// The warning of a missing permission: which one, and where to add it.
pub fn missing_permission(c: &BigQueryConfig, permission: &str) -> String {
    format!(
        "The custom role {} lacks the permission {permission}: add it to the role (gcloud iam roles update {} --project={} --add-permissions={permission}) and make sure the role is granted to {}.",
        c.role_name(),
        c.role,
        c.project_id(),
        c.credential.client_email()
    )
}

/// The remedy of a missing permission: the one `gcloud` command that adds
/// exactly it to the custom role (the role's grant to the service account is
/// the manual script's, and testIamPermissions cannot tell it apart).
pub fn permission_remedy(c: &BigQueryConfig, permission: &str) -> Fix {
    remedy::shell(
        format!(
            "the permission {permission} in the custom role {}",
            c.role_name()
        ),
        [format!(
            "gcloud iam roles update {} --project={} --add-permissions={}",
            shell_quote(&c.role),
            shell_quote(c.project_id()),
            shell_quote(permission)
        )],
    )
}

async fn permission_test(
    c: Arc<BigQueryConfig>,
    shared: Arc<Shared>,
    permission: &'static str,
) -> CheckOutcome {
    let probe = shared.probe(&c);
    match probe.permissions().await {
        Ok(held) if held.iter().any(|p| p == permission) => CheckOutcome::passed(),
        Ok(_) => CheckOutcome::warning(missing_permission(&c, permission))
            .with_remedy(permission_remedy(&c, permission)),
        Err(e) => {
            tracing::warn!(error = %e, permission, "testIamPermissions failed");
            CheckOutcome::warning(format!(
                "The permission {permission} of the custom role {} could not be checked: {e}",
                c.role_name()
            ))
        }
    }
}

async fn dataset_exists_test(
    c: Arc<BigQueryConfig>,
    ctx: CheckContext,
    shared: Arc<Shared>,
) -> CheckOutcome {
    let probe = shared.probe(&c);
    match probe.dataset(&c).await {
        Ok(Lookup::Absent) => CheckOutcome::passed(),
        Ok(Lookup::Found(_)) => {
            let own = ctx
                .own_stored_config()
                .and_then(|s| s.get("dataset"))
                .and_then(|d| d.as_str());
            if own == Some(c.dataset.as_str()) {
                CheckOutcome::passed_with(format!(
                    "The dataset {} is the one this integration already manages.",
                    c.dataset
                ))
            } else {
                CheckOutcome::failed(DATASET_EXISTS_FAILED)
            }
        }
        Ok(Lookup::Denied(why)) => CheckOutcome::warning(format!(
            "Could not tell whether the dataset {} exists: the service account may not read it ({why}). If it exists, delete it or choose another dataset.",
            c.dataset
        )),
        Err(e) => CheckOutcome::failed(format!("Could not look the dataset {} up: {e}", c.dataset)),
    }
}
