//! The platform's language: `gcloud` and `bq` command lines, shell-quoted.
//!
//! The operator's part of the set-up is IAM: a custom role holding exactly
//! the seven permissions the validation tests probe, the service account,
//! and the binding of the one to the other on the project. Junction's part
//! (the metadata dataset) is rendered as the `bq` commands that do the same,
//! for review or to finish by hand what a failed operation left. No line
//! holds key material: the key file is created by the operator and goes only
//! into the payload.

use crate::bootstrap::{BqAction, DATASET_DESCRIPTION, SETUP_COLUMNS, SETUP_TABLE, VERSION_LABEL};
use crate::checks::PERMISSIONS;
use crate::client::MANAGED_BY;
use crate::config::BigQueryConfig;

/// A value as one shell word (the kit's quoting, shared with remedies).
pub use junction_kit::remedy::shell_quote;

/// `project:dataset`, as `bq` names a dataset.
fn bq_dataset(project: &str, dataset: &str) -> String {
    shell_quote(&format!("{project}:{dataset}"))
}

/// One plan action as a `bq` command line.
pub fn render(action: &BqAction) -> String {
    match action {
        BqAction::CreateDataset {
            project,
            dataset,
            location,
            version,
        } => format!(
            "bq --location={} mk --dataset --description {} --label {}:{} --label {VERSION_LABEL}:{version} {}",
            shell_quote(location),
            shell_quote(DATASET_DESCRIPTION),
            MANAGED_BY.0,
            MANAGED_BY.1,
            bq_dataset(project, dataset)
        ),
        BqAction::DeleteOwnDataset { project, dataset } => format!(
            "bq rm --recursive --force --dataset {}",
            bq_dataset(project, dataset)
        ),
        BqAction::CreateSetupTable { project, dataset } => {
            let schema: Vec<String> = SETUP_COLUMNS
                .iter()
                .map(|c| format!("{}:{}", c.name, c.kind))
                .collect();
            format!(
                "bq mk --table --label {}:{} {} {}",
                MANAGED_BY.0,
                MANAGED_BY.1,
                shell_quote(&format!("{project}:{dataset}.{SETUP_TABLE}")),
                schema.join(",")
            )
        }
        BqAction::DeleteSetupTable { project, dataset } => format!(
            "bq rm --force --table {}",
            shell_quote(&format!("{project}:{dataset}.{SETUP_TABLE}"))
        ),
        BqAction::RecordVersion {
            project,
            dataset,
            version,
        } => format!(
            "echo {} | bq insert {}",
            shell_quote(&format!(
                "{{\"version\":{version},\"installed_by\":\"Junction {} (by hand)\"}}",
                env!("CARGO_PKG_VERSION")
            )),
            shell_quote(&format!("{project}:{dataset}.{SETUP_TABLE}"))
        ),
    }
}

/// The service account's id: the part of its email before `@`.
fn account_id(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

/// Who may run the operator's part.
pub const ADMIN_NOTE: &str = "# Run as someone with roles/iam.roleAdmin, roles/iam.serviceAccountAdmin and roles/serviceusage.serviceUsageAdmin on the project.";

/// Makes the custom role, the service account, and binds them.
pub fn iam_setup(c: &BigQueryConfig) -> Vec<String> {
    let project = shell_quote(c.project_id());
    let email = c.credential.client_email();
    vec![
        ADMIN_NOTE.to_owned(),
        format!(
            "gcloud services enable bigquery.googleapis.com cloudresourcemanager.googleapis.com --project={project}"
        ),
        create_role(c),
        format!(
            "gcloud iam service-accounts create {} --project={project} --display-name=Junction --description={}",
            shell_quote(account_id(email)),
            shell_quote("Junction's integration with BigQuery")
        ),
        bind_role(c, "add"),
        format!(
            "# Then give the service account's key file as config.credential (gcloud iam service-accounts keys create KEY_FILE --iam-account={}); keep the file out of scripts and version control.",
            shell_quote(email)
        ),
    ]
}

/// `gcloud iam roles create` with exactly [`PERMISSIONS`].
pub fn create_role(c: &BigQueryConfig) -> String {
    format!(
        "gcloud iam roles create {} --project={} --title={} --description={} --permissions={} --stage=GA",
        shell_quote(&c.role),
        shell_quote(c.project_id()),
        shell_quote("Junction"),
        shell_quote("What Junction needs in BigQuery: its metadata dataset and tables"),
        PERMISSIONS.join(",")
    )
}

/// `gcloud projects add-iam-policy-binding` (`verb` = `add`) or `remove-…`.
pub fn bind_role(c: &BigQueryConfig, verb: &str) -> String {
    format!(
        "gcloud projects {verb}-iam-policy-binding {} --member={} --role={} --condition=None",
        shell_quote(c.project_id()),
        shell_quote(&format!("serviceAccount:{}", c.credential.client_email())),
        shell_quote(&c.role_name())
    )
}

/// Undoes [`iam_setup`]: after Junction's delete, which needs the account.
pub fn iam_teardown(c: &BigQueryConfig) -> Vec<String> {
    let project = shell_quote(c.project_id());
    vec![
        "# After Junction has deleted the integration (it uses the service account to remove its dataset):".to_owned(),
        bind_role(c, "remove"),
        format!(
            "gcloud iam roles delete {} --project={project}",
            shell_quote(&c.role)
        ),
        format!(
            "gcloud iam service-accounts delete {} --project={project} --quiet",
            shell_quote(c.credential.client_email())
        ),
    ]
}

/// What changes in IAM when the role changes: the new role made and bound,
/// the old one unbound.
pub fn iam_edit(old: &BigQueryConfig, new: &BigQueryConfig) -> Vec<String> {
    if old.role == new.role && old.credential.client_email() == new.credential.client_email() {
        return Vec::new();
    }
    let mut lines = vec![ADMIN_NOTE.to_owned()];
    if old.role != new.role {
        lines.push(create_role(new));
    }
    lines.push(bind_role(new, "add"));
    lines.push(bind_role(old, "remove"));
    lines
}
