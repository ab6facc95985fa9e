//! Create, edit and delete against bqemulator (through the fake, which
//! checks the token on every BigQuery call), with a fault injected at every
//! step: the datasets read back from the emulator afterwards are exactly
//! what they were before.

use crate::fake_google::FakeGoogle;
use crate::keys::PROJECT;
use crate::support::{
    self, ALL_HELD, EmulatorTurn, config_for, emulator, emulator_turn, fake, http, outcome, unique,
    validate,
};
use junction_bigquery::BigQuery;
use junction_bigquery::testing::{bootstrap, checks};
use junction_core::{CheckContext, DynPlatform, OpError, Peer, Status, TestStatus};
use junction_testkit::stand_ins::Http;
use junction_testkit::{op_context, op_context_failing_at};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything the emulator holds for the datasets whose id starts with
/// `prefix`: each dataset's resource, and each table's resource and rows.
pub async fn snapshot(emu: &Http, prefix: &str) -> BTreeMap<String, Value> {
    let base = format!("{}/bigquery/v2/projects/{PROJECT}/datasets", emu.endpoint);
    let (status, text) = http("GET", &base, &[], Vec::new()).await;
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for d in list["datasets"].as_array().cloned().unwrap_or_default() {
        let id = d["datasetReference"]["datasetId"]
            .as_str()
            .unwrap()
            .to_owned();
        if !id.starts_with(prefix) {
            continue;
        }
        let (_, dataset) = http("GET", &format!("{base}/{id}"), &[], Vec::new()).await;
        let (_, tables) = http("GET", &format!("{base}/{id}/tables"), &[], Vec::new()).await;
        let tables: Value = serde_json::from_str(&tables).unwrap();
        let mut entry =
            json!({"dataset": serde_json::from_str::<Value>(&dataset).unwrap(), "tables": {}});
        for t in tables["tables"].as_array().cloned().unwrap_or_default() {
            let tid = t["tableReference"]["tableId"].as_str().unwrap().to_owned();
            let (_, table) =
                http("GET", &format!("{base}/{id}/tables/{tid}"), &[], Vec::new()).await;
            let (_, rows) = http(
                "GET",
                &format!("{base}/{id}/tables/{tid}/data"),
                &[],
                Vec::new(),
            )
            .await;
            entry["tables"][&tid] = json!({
                "table": serde_json::from_str::<Value>(&table).unwrap(),
                "rows": serde_json::from_str::<Value>(&rows).unwrap(),
            });
        }
        out.insert(id, entry);
    }
    out
}

async fn delete_directly(emu: &Http, dataset: &str) {
    let url = format!(
        "{}/bigquery/v2/projects/{PROJECT}/datasets/{dataset}?deleteContents=true",
        emu.endpoint
    );
    http("DELETE", &url, &[], Vec::new()).await;
}

/// The emulator (this test's turn of it) and a fake in front of it, or
/// `None` outside CI without it.
async fn setup() -> Option<(Http, FakeGoogle, EmulatorTurn)> {
    let emu = emulator()?;
    let turn = emulator_turn().await;
    let f = fake(Some(&emu), 0, &ALL_HELD).await;
    Some((emu, f, turn))
}

fn platform() -> junction_kit::Kit<BigQuery> {
    BigQuery::platform()
}

fn failed_message(e: OpError) -> String {
    match e {
        OpError::Failed(m) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn create_makes_the_dataset_its_table_and_records_the_version_and_delete_removes_it() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("life");
    let c = config_for(&f, 0, &prefix);
    let out = DynPlatform::create(&platform(), &op_context(false, 0), &c)
        .await
        .expect("create");
    assert_eq!(out.bootstrap_version, 1);
    let snap = snapshot(&emu, &prefix).await;
    let entry = &snap[&prefix];
    let d = &entry["dataset"];
    assert_eq!(d["location"], "us-east1");
    assert_eq!(d["labels"]["managed-by"], "junction");
    assert_eq!(d["labels"]["junction-setup-version"], "1");
    let setup = &entry["tables"]["junction_setup"];
    let fields: Vec<&str> = setup["table"]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["version", "installed_at", "installed_by"]);
    assert_eq!(setup["table"]["labels"]["managed-by"], "junction");
    let rows = setup["rows"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["f"][0]["v"], "1");
    let google = junction_bigquery::testing::client::Google::new(&support::typed(&c)).unwrap();
    assert_eq!(
        bootstrap::recorded_versions(&google, &prefix)
            .await
            .unwrap(),
        [1]
    );
    // Every call carried a token the fake issued.
    assert!(f.bigquery_calls().len() >= 3);

    // Validating it again: the dataset now exists (for another integration)…
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(outcome(&r, checks::DATASET_EXISTS).0, TestStatus::Failed);
    // …and is its own for the integration that made it.
    let ctx = CheckContext {
        integration_id: Some(1),
        auto_bootstrap: false,
        peers: Arc::new(vec![Arc::new(Peer {
            id: 1,
            status: Status::Enabled,
            config: json!({"dataset": prefix}),
        })]),
    };
    let r = validate(&c, ctx).await;
    assert_eq!(outcome(&r, checks::DATASET_EXISTS).0, TestStatus::Passed);

    DynPlatform::delete(&platform(), &op_context(false, 1), &out.config, None)
        .await
        .expect("delete");
    assert!(snapshot(&emu, &prefix).await.is_empty());
    // Deleting again: nothing there, nothing to do.
    DynPlatform::delete(&platform(), &op_context(false, 1), &out.config, None)
        .await
        .expect("delete again");
}

#[tokio::test]
async fn a_fault_at_any_create_step_leaves_nothing() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    for step in ["create-dataset", "create-setup-table", "record-version"] {
        let prefix = unique("cfault");
        let c = config_for(&f, 0, &prefix);
        let before = snapshot(&emu, &prefix).await;
        let err = DynPlatform::create(&platform(), &op_context_failing_at(false, 0, step), &c)
            .await
            .expect_err(step);
        let m = failed_message(err);
        assert!(m.contains(&format!("step {step} failed")), "{m}");
        assert!(m.contains("rolled back"), "{m}");
        assert_eq!(
            snapshot(&emu, &prefix).await,
            before,
            "after a fault at {step}"
        );
        assert!(before.is_empty());
    }
}

#[tokio::test]
async fn a_create_over_an_existing_dataset_fails_and_leaves_it_alone() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("taken");
    let c = config_for(&f, 0, &prefix);
    // Someone else's dataset of that name, with a table.
    let base = format!("{}/bigquery/v2/projects/{PROJECT}/datasets", emu.endpoint);
    let body =
        json!({"datasetReference": {"projectId": PROJECT, "datasetId": prefix}, "location": "US"});
    let (s, t) = http(
        "POST",
        &base,
        &[("content-type", "application/json")],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let table = json!({"tableReference": {"projectId": PROJECT, "datasetId": prefix, "tableId": "theirs"},
        "schema": {"fields": [{"name": "x", "type": "STRING"}]}});
    let (s, t) = http(
        "POST",
        &format!("{base}/{prefix}/tables"),
        &[("content-type", "application/json")],
        table.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let before = snapshot(&emu, &prefix).await;
    let m = failed_message(
        DynPlatform::create(&platform(), &op_context(false, 0), &c)
            .await
            .expect_err("exists"),
    );
    assert!(m.contains("step create-dataset failed"), "{m}");
    assert!(m.contains("409"), "{m}");
    assert_eq!(snapshot(&emu, &prefix).await, before);
    // Nor does a delete empty a dataset Junction did not make.
    let m = failed_message(
        DynPlatform::delete(&platform(), &op_context(false, 1), &c, None)
            .await
            .expect_err("not ours"),
    );
    assert!(m.contains("does not carry Junction's label"), "{m}");
    assert_eq!(snapshot(&emu, &prefix).await, before);
    delete_directly(&emu, &prefix).await;
}

#[tokio::test]
async fn an_edit_that_changes_no_dataset_changes_nothing_in_bigquery() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("same");
    let c = config_for(&f, 0, &prefix);
    let out = DynPlatform::create(&platform(), &op_context(false, 0), &c)
        .await
        .unwrap();
    let before = snapshot(&emu, &prefix).await;
    let mut new = out.config.clone();
    new["role"] = json!("another_role");
    new["datasetSuffix"] = json!("_views");
    let calls = f.bigquery_calls().len();
    let edited = DynPlatform::edit(&platform(), &op_context(false, 1), &out.config, &new)
        .await
        .expect("edit");
    assert_eq!(edited.bootstrap_version, 1);
    assert_eq!(edited.config["role"], "another_role");
    assert_eq!(f.bigquery_calls().len(), calls, "no call at all");
    assert_eq!(snapshot(&emu, &prefix).await, before);
    delete_directly(&emu, &prefix).await;
}

#[tokio::test]
async fn an_edit_moves_the_dataset_and_a_fault_at_any_step_leaves_the_old_one_as_it_was() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("move");
    let old_id = format!("{prefix}_a");
    let new_id = format!("{prefix}_b");
    let c = config_for(&f, 0, &old_id);
    let out = DynPlatform::create(&platform(), &op_context(false, 0), &c)
        .await
        .unwrap();
    let mut new = out.config.clone();
    new["dataset"] = json!(new_id);
    let before = snapshot(&emu, &prefix).await;
    assert_eq!(before.keys().collect::<Vec<_>>(), [&old_id]);
    for step in [
        "create-dataset",
        "create-setup-table",
        "record-version",
        "delete-old-dataset",
    ] {
        let err = DynPlatform::edit(
            &platform(),
            &op_context_failing_at(false, 1, step),
            &out.config,
            &new,
        )
        .await
        .expect_err(step);
        let m = failed_message(err);
        assert!(m.contains(&format!("step {step} failed")), "{m}");
        assert_eq!(
            snapshot(&emu, &prefix).await,
            before,
            "after a fault at {step}"
        );
    }
    let edited = DynPlatform::edit(&platform(), &op_context(false, 1), &out.config, &new)
        .await
        .expect("edit");
    assert_eq!(edited.bootstrap_version, 1);
    let after = snapshot(&emu, &prefix).await;
    assert_eq!(after.keys().collect::<Vec<_>>(), [&new_id]);
    assert_eq!(
        after[&new_id]["dataset"]["labels"]["managed-by"],
        "junction"
    );
    assert_eq!(
        after[&new_id]["tables"]["junction_setup"]["rows"]["totalRows"],
        "1"
    );
    // A fault at the delete of the moved dataset leaves it as it is.
    let before = snapshot(&emu, &prefix).await;
    let err = DynPlatform::delete(
        &platform(),
        &op_context_failing_at(false, 1, "delete-dataset"),
        &edited.config,
        None,
    )
    .await
    .expect_err("fault");
    assert!(failed_message(err).contains("step delete-dataset failed"));
    assert_eq!(snapshot(&emu, &prefix).await, before);
    DynPlatform::delete(&platform(), &op_context(false, 1), &edited.config, None)
        .await
        .expect("delete");
    assert!(snapshot(&emu, &prefix).await.is_empty());
}

#[tokio::test]
async fn location_and_project_are_fixed_after_create() {
    let Some((_emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("fixed");
    let c = config_for(&f, 0, &prefix);
    let mut moved = c.clone();
    moved["location"] = json!("EU");
    let errs = DynPlatform::check_edit(&platform(), &c, &moved).unwrap_err();
    assert_eq!(errs.0[0].path, "config.location");
    let mut other = c.clone();
    other["credential"] = json!(crate::keys::key_file(
        0,
        "another-project",
        &crate::keys::email("junction", "another-project"),
        &f.token_uri()
    ));
    let errs = DynPlatform::check_edit(&platform(), &c, &other).unwrap_err();
    assert_eq!(errs.0[0].path, "config.credential");
    match DynPlatform::edit(&platform(), &op_context(false, 1), &c, &moved).await {
        Err(OpError::Invalid(e)) => assert_eq!(e.0[0].path, "config.location"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn after_a_failed_create_delete_does_nothing_and_edit_creates() {
    let Some((emu, f, _turn)) = setup().await else {
        return;
    };
    let prefix = unique("retry");
    let c = config_for(&f, 0, &prefix);
    DynPlatform::create(
        &platform(),
        &op_context_failing_at(false, 0, "record-version"),
        &c,
    )
    .await
    .expect_err("fault");
    // Set-up version 0: nothing of Junction's is there.
    let calls = f.bigquery_calls().len();
    DynPlatform::delete(&platform(), &op_context(false, 0), &c, None)
        .await
        .unwrap();
    assert_eq!(f.bigquery_calls().len(), calls);
    // An edit of a createError integration is a retried create.
    let out = DynPlatform::edit(&platform(), &op_context(false, 0), &c, &c)
        .await
        .unwrap();
    assert_eq!(out.bootstrap_version, 1);
    assert_eq!(snapshot(&emu, &prefix).await.len(), 1);
    delete_directly(&emu, &prefix).await;
}

#[tokio::test]
async fn a_refused_token_fails_the_operation_before_any_change() {
    let Some((emu, _f, _turn)) = setup().await else {
        return;
    };
    // The account's key is key 1; the key file holds key 0.
    let f = fake(Some(&emu), 1, &ALL_HELD).await;
    let prefix = unique("refused");
    let c = config_for(&f, 0, &prefix);
    let m = failed_message(
        DynPlatform::create(&platform(), &op_context(false, 0), &c)
            .await
            .expect_err("refused"),
    );
    assert!(m.contains("Invalid JWT Signature."), "{m}");
    assert!(snapshot(&emu, &prefix).await.is_empty());
    assert!(f.bigquery_calls().is_empty());
}

#[tokio::test]
async fn migrate_has_nothing_to_do() {
    let c = support::config(0, "http://127.0.0.1:9/token", "meta");
    match DynPlatform::migrate(&platform(), &op_context(false, 1), &c).await {
        Err(OpError::Unsupported(m)) => assert!(m.contains("nothing to migrate"), "{m}"),
        other => panic!("{other:?}"),
    }
}
