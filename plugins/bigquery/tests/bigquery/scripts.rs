//! The manual scripts: the custom role with exactly the seven permissions,
//! the service account and the binding; Junction's own steps as commented
//! `bq` lines; the teardown in the right order.

use crate::support::config;
use junction_bigquery::BigQuery;
use junction_core::{DynPlatform, OpError, ScriptKind};
use serde_json::json;

fn script(
    kind: ScriptKind,
    c: &serde_json::Value,
    previous: Option<&serde_json::Value>,
) -> Vec<String> {
    DynPlatform::script(&BigQuery::platform(), kind, c, previous)
        .unwrap()
        .statements
}

const PERMISSIONS: &str = "--permissions=bigquery.datasets.create,bigquery.datasets.delete,bigquery.tables.create,bigquery.tables.delete,bigquery.tables.get,bigquery.tables.updateData,bigquery.tables.update ";

#[test]
fn the_create_script_makes_the_role_the_account_and_binds_them() {
    let c = config(0, "https://oauth2.googleapis.com/token", "meta");
    let lines = script(ScriptKind::Create, &c, None);
    let text = lines.join("\n");
    let role = lines
        .iter()
        .find(|l| l.starts_with("gcloud iam roles create"))
        .expect("role");
    assert!(
        role.starts_with("gcloud iam roles create junction_test --project=junction-test "),
        "{role}"
    );
    assert!(role.contains(PERMISSIONS), "{role}");
    assert!(
        text.contains("gcloud iam service-accounts create junction --project=junction-test"),
        "{text}"
    );
    assert!(text.contains("gcloud projects add-iam-policy-binding junction-test --member=serviceAccount:junction@junction-test.iam.gserviceaccount.com --role=projects/junction-test/roles/junction_test --condition=None"), "{text}");
    assert!(text.contains("roles/iam.roleAdmin, roles/iam.serviceAccountAdmin and roles/serviceusage.serviceUsageAdmin"));
    // Junction's own steps, for review only: running the script as it is
    // must not make the dataset (create would then find it taken).
    let bq: Vec<&String> = lines.iter().filter(|l| l.contains("bq ")).collect();
    assert_eq!(bq.len(), 3, "{bq:?}");
    for l in bq {
        assert!(l.starts_with("# bq ") || l.starts_with("# echo "), "{l}");
    }
    assert!(
        text.contains("# bq --location=us-east1 mk --dataset"),
        "{text}"
    );
    assert!(text.contains(
        "--label managed-by:junction --label junction-setup-version:1 junction-test:meta"
    ));
    // Every command line is a command or a comment.
    for l in &lines {
        assert!(l.starts_with("gcloud ") || l.starts_with('#'), "{l}");
    }
}

#[test]
fn the_delete_script_removes_junctions_dataset_then_the_iam_set_up() {
    let c = config(0, "https://oauth2.googleapis.com/token", "meta");
    let lines = script(ScriptKind::Delete, &c, None);
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {lines:#?}"))
    };
    assert!(
        at("# bq rm --recursive --force --dataset junction-test:meta")
            < at("remove-iam-policy-binding")
    );
    assert!(
        at("remove-iam-policy-binding")
            < at("gcloud iam roles delete junction_test --project=junction-test")
    );
    assert!(
        at("gcloud iam roles delete")
            < at(
                "gcloud iam service-accounts delete junction@junction-test.iam.gserviceaccount.com"
            )
    );
}

#[test]
fn the_cleanup_script_runs_what_a_failed_create_may_have_left() {
    let c = config(0, "https://oauth2.googleapis.com/token", "meta");
    let lines = script(ScriptKind::Cleanup, &c, None);
    let cmds: Vec<&String> = lines.iter().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        cmds,
        [
            "bq rm --force --table junction-test:meta.junction_setup",
            "bq rm --recursive --force --dataset junction-test:meta"
        ]
    );
}

#[test]
fn the_edit_script_rebinds_a_new_role_and_shows_the_dataset_move() {
    let old = config(0, "https://oauth2.googleapis.com/token", "meta");
    let mut new = old.clone();
    new["role"] = json!("junction_v2");
    new["dataset"] = json!("meta2");
    let lines = script(ScriptKind::Edit, &new, Some(&old));
    let text = lines.join("\n");
    assert!(
        text.contains("gcloud iam roles create junction_v2 --project=junction-test"),
        "{text}"
    );
    assert!(text.contains("add-iam-policy-binding junction-test --member=serviceAccount:junction@junction-test.iam.gserviceaccount.com --role=projects/junction-test/roles/junction_v2"));
    assert!(text.contains("remove-iam-policy-binding junction-test --member=serviceAccount:junction@junction-test.iam.gserviceaccount.com --role=projects/junction-test/roles/junction_test"));
    assert!(text.contains("# bq --location=us-east1 mk --dataset"));
    assert!(
        text.contains("# bq rm --recursive --force --dataset junction-test:meta\n")
            || text.ends_with("# bq rm --recursive --force --dataset junction-test:meta")
    );
    // Nothing changed: nothing to do.
    let lines = script(ScriptKind::Edit, &old, Some(&old));
    assert!(lines.iter().all(|l| l.starts_with('#')), "{lines:#?}");
    // A fixed field changed: refused with its path.
    let mut moved = old.clone();
    moved["location"] = json!("EU");
    match DynPlatform::script(&BigQuery::platform(), ScriptKind::Edit, &moved, Some(&old)) {
        Err(OpError::Invalid(e)) => assert_eq!(e.0[0].path, "config.location"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unusual_values_are_shell_quoted() {
    assert_eq!(
        junction_bigquery::testing::scripts::shell_quote("a b"),
        "'a b'"
    );
    assert_eq!(
        junction_bigquery::testing::scripts::shell_quote("it's"),
        r"'it'\''s'"
    );
    assert_eq!(
        junction_bigquery::testing::scripts::shell_quote("junction-test:meta"),
        "junction-test:meta"
    );
    assert_eq!(junction_bigquery::testing::scripts::shell_quote(""), "''");
    for kind in [ScriptKind::InitialCreate, ScriptKind::PostCleanup] {
        let c = config(0, "https://oauth2.googleapis.com/token", "meta");
        assert!(matches!(
            DynPlatform::script(&BigQuery::platform(), kind, &c, None),
            Err(OpError::Unsupported(_))
        ));
    }
}
