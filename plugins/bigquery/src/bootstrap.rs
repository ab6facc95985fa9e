//! The set-up as data: what Junction makes in BigQuery, as plan steps with
//! their undo, and how each step runs.
//!
//! The operator's script makes the custom role and the service account (see
//! [`crate::scripts`]); with that service account Junction then makes:
//! - the metadata dataset `config.dataset` in `config.location`, labelled
//!   `managed-by: junction` and with the set-up version;
//! - its table [`SETUP_TABLE`], and in it one row recording the set-up
//!   version installed.
//!
//! Delete removes exactly that dataset, with its contents — and only when it
//! carries Junction's label, so a dataset Junction did not make is never
//! emptied.

use crate::client::{Column, Google, Lookup, MANAGED_BY};
use crate::config::BigQueryConfig;
use crate::scripts;
use junction_core::Plan;
use serde_json::json;

/// The newest set-up version.
pub const CURRENT_VERSION: u32 = 1;

/// The table that records the set-up versions installed.
pub const SETUP_TABLE: &str = "junction_setup";

/// The label holding the set-up version on the metadata dataset.
pub const VERSION_LABEL: &str = "junction-setup-version";

/// The columns of [`SETUP_TABLE`].
pub const SETUP_COLUMNS: &[Column] = &[
    Column {
        name: "version",
        kind: "INTEGER",
        description: "The set-up version installed.",
    },
    Column {
        name: "installed_at",
        kind: "TIMESTAMP",
        description: "When it was installed.",
    },
    Column {
        name: "installed_by",
        kind: "STRING",
        description: "The Junction release that installed it.",
    },
];

/// One thing Junction does in BigQuery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BqAction {
    CreateDataset {
        project: String,
        dataset: String,
        location: String,
        version: u32,
    },
    /// With its contents; refused for a dataset without Junction's label.
    DeleteOwnDataset {
        project: String,
        dataset: String,
    },
    CreateSetupTable {
        project: String,
        dataset: String,
    },
    DeleteSetupTable {
        project: String,
        dataset: String,
    },
    RecordVersion {
        project: String,
        dataset: String,
        version: u32,
    },
}

impl junction_core::Action for BqAction {
    fn render(&self) -> String {
        scripts::render(self)
    }
}

/// The description Junction gives its dataset.
pub const DATASET_DESCRIPTION: &str =
    "Junction's metadata dataset: made and removed by Junction; do not edit.";

/// The plan that makes the metadata dataset of `c` at `version`.
pub fn create_plan(c: &BigQueryConfig, version: u32) -> Plan<BqAction> {
    let project = c.project_id().to_owned();
    let dataset = c.dataset.clone();
    Plan::new()
        .step(
            "create-dataset",
            BqAction::CreateDataset {
                project: project.clone(),
                dataset: dataset.clone(),
                location: c.location.clone(),
                version,
            },
            Some(BqAction::DeleteOwnDataset {
                project: project.clone(),
                dataset: dataset.clone(),
            }),
        )
        .step(
            "create-setup-table",
            BqAction::CreateSetupTable {
                project: project.clone(),
                dataset: dataset.clone(),
            },
            Some(BqAction::DeleteSetupTable {
                project: project.clone(),
                dataset: dataset.clone(),
            }),
        )
        // Its undo is the table's: a streamed row cannot be deleted at once.
        .step(
            "record-version",
            BqAction::RecordVersion {
                project,
                dataset,
                version,
            },
            None,
        )
}

/// The plan from `old` to `new`. Only the metadata dataset's id changes
/// anything in BigQuery (the location and the project are fixed after
/// create): the dataset moves — the new one is made first, the old one
/// removed last, so a failure anywhere leaves the old one as it was.
pub fn edit_plan(old: &BigQueryConfig, new: &BigQueryConfig, version: u32) -> Plan<BqAction> {
    if old.dataset == new.dataset {
        return Plan::new();
    }
    let mut plan = create_plan(new, version);
    plan.extend(delete_plan(old));
    for step in &mut plan.steps {
        if step.id == "delete-dataset" {
            step.id = "delete-old-dataset".into();
        }
    }
    plan
}

/// The plan that removes what Junction made. The deleted contents cannot
/// come back, so the step has no undo; it is the last of any plan.
pub fn delete_plan(c: &BigQueryConfig) -> Plan<BqAction> {
    Plan::new().step(
        "delete-dataset",
        BqAction::DeleteOwnDataset {
            project: c.project_id().to_owned(),
            dataset: c.dataset.clone(),
        },
        None,
    )
}

/// Runs one action with the service account's client.
pub async fn exec(google: &Google, action: &BqAction) -> Result<(), String> {
    match action {
        BqAction::CreateDataset {
            dataset,
            location,
            version,
            ..
        } => google
            .create_dataset(
                dataset,
                location,
                DATASET_DESCRIPTION,
                &[
                    (MANAGED_BY.0, MANAGED_BY.1.to_owned()),
                    (VERSION_LABEL, version.to_string()),
                ],
            )
            .await
            .map_err(|e| e.to_string()),
        BqAction::DeleteOwnDataset { dataset, .. } => {
            match google
                .lookup_dataset(dataset)
                .await
                .map_err(|e| e.to_string())?
            {
                Lookup::Absent => {
                    tracing::info!(dataset, "the dataset is gone already");
                    Ok(())
                }
                Lookup::Found(d) if d.managed_by_junction() => google
                    .delete_own_dataset(dataset)
                    .await
                    .map_err(|e| e.to_string()),
                Lookup::Found(_) => Err(format!(
                    "the dataset {dataset} does not carry Junction's label ({}: {}): Junction did not make it and leaves it alone",
                    MANAGED_BY.0, MANAGED_BY.1
                )),
                Lookup::Denied(why) => Err(why),
            }
        }
        BqAction::CreateSetupTable { dataset, .. } => google
            .create_table(
                dataset,
                SETUP_TABLE,
                "The set-up versions Junction installed in this dataset.",
                SETUP_COLUMNS,
            )
            .await
            .map_err(|e| e.to_string()),
        BqAction::DeleteSetupTable { dataset, .. } => google
            .delete_table(dataset, SETUP_TABLE)
            .await
            .map_err(|e| e.to_string()),
        BqAction::RecordVersion {
            dataset, version, ..
        } => google
            .insert_row(
                dataset,
                SETUP_TABLE,
                &format!("setup-v{version}"),
                json!({
                    "version": version,
                    "installed_at": rfc3339(crate::jwt::now()),
                    "installed_by": concat!("Junction ", env!("CARGO_PKG_VERSION")),
                }),
            )
            .await
            .map_err(|e| e.to_string()),
    }
}

/// The set-up versions recorded in `dataset`'s [`SETUP_TABLE`].
pub async fn recorded_versions(google: &Google, dataset: &str) -> Result<Vec<u32>, String> {
    let rows = google
        .rows(dataset, SETUP_TABLE)
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let v = r.first()?;
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_u64().and_then(|n| u32::try_from(n).ok()))
        })
        .collect())
}

/// `2026-01-31T12:00:00Z` for seconds since the epoch (UTC, proleptic
/// Gregorian; Howard Hinnant's days-to-civil).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
