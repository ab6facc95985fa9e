//! The lifecycle on minilake, read back with the test's own client: what
//! create makes, edit changes and delete removes; a fault at every step of
//! create and delete and at a middle step of edit and migrate leaves the
//! catalog state as it was before the operation; the v1 → v2 migration ends
//! where a v2 create does.

use crate::support::{self, Minilake, minilake, minilake_config, op, op_fault, typed, unique};
use junction_core::{OpError, Platform};
use junction_databricks::testing::{
    ALL_USERS, AUDIT_EVENTS, Action, MARK, POLICIES_SCHEMA, SYSTEM_SCHEMA, Session, Settings,
    USER_ATTRIBUTES, Workspace, create_plan,
};
use junction_databricks::{CURRENT_VERSION, Databricks, DatabricksConfig, step};
use junction_kit::Executor;
use serde_json::{Value, json};

fn full_config(ml: &Minilake, catalog: &str, audit: bool, deny: Option<&str>) -> Value {
    let mut c = minilake_config(ml, catalog);
    c["audit"] = json!({"enabled": audit});
    if let Some(d) = deny {
        c["groupPattern"] = json!({"deny": d});
    }
    c
}

async fn create(config: &Value) -> DatabricksConfig {
    Platform::create(&Databricks::new(), &op(true, 0), typed(config))
        .await
        .expect("create")
        .config
}

fn failed_at(e: &OpError, step: &str) {
    let text = e.to_string();
    assert!(
        text.contains(&format!("step {step} failed")),
        "not failed at {step}: {text}"
    );
    assert!(
        text.contains("every step before it was rolled back"),
        "{text}"
    );
}

#[tokio::test]
async fn minilake_create_makes_the_catalog_schemas_tables_and_grants() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("create");
    create(&full_config(&ml, &catalog, true, Some("exempt"))).await;
    let s = ml.snapshot(&catalog).await;
    ml.drop_catalog(&catalog).await;
    assert_eq!(s["catalog"]["properties"][MARK.0], MARK.1, "{s}");
    let system = &s["schemas"][SYSTEM_SCHEMA];
    assert_eq!(
        system["properties"],
        json!({
            "junction.setupVersion": "2",
            "junction.audit.enabled": "true",
            "junction.groupPattern.deny": "exempt"
        }),
        "{s}"
    );
    let tables = system["tables"].as_object().unwrap();
    assert_eq!(
        tables.keys().collect::<Vec<_>>(),
        [AUDIT_EVENTS, USER_ATTRIBUTES]
    );
    assert_eq!(
        tables[USER_ATTRIBUTES],
        json!([
            ["principal", "STRING"],
            ["attribute_name", "STRING"],
            ["attribute_value", "STRING"],
            ["updated_at", "TIMESTAMP"]
        ])
    );
    assert!(s["schemas"][POLICIES_SCHEMA].is_object(), "{s}");
    assert_eq!(
        s["grants"][&catalog],
        json!([{"principal": ALL_USERS, "privileges": ["USE_CATALOG"]}])
    );
    assert_eq!(
        s["grants"][format!("{catalog}.{POLICIES_SCHEMA}")],
        json!([{"principal": ALL_USERS, "privileges": ["EXECUTE", "USE_SCHEMA"]}])
    );
}

#[tokio::test]
async fn minilake_delete_removes_what_create_made() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("delete");
    let before = ml.snapshot(&catalog).await;
    let stored = create(&full_config(&ml, &catalog, true, None)).await;
    assert_ne!(ml.snapshot(&catalog).await, before);
    Platform::delete(&Databricks::new(), &op(true, CURRENT_VERSION), stored, None)
        .await
        .expect("delete");
    assert_eq!(ml.snapshot(&catalog).await, before);
}

#[tokio::test]
async fn minilake_a_fault_at_every_create_step_leaves_the_catalog_as_before() {
    let Some(ml) = minilake().await else { return };
    let probe = unique("probe");
    let steps: Vec<String> = create_plan(
        &Settings {
            catalog: &probe,
            audit: true,
            deny: Some("x"),
        },
        CURRENT_VERSION,
    )
    .steps
    .into_iter()
    .map(|s| s.id)
    .collect();
    assert_eq!(steps.len(), 7);
    for id in &steps {
        let catalog = unique("cfault");
        let before = ml.snapshot(&catalog).await;
        let e = Platform::create(
            &Databricks::new(),
            &op_fault(true, 0, id),
            typed(&full_config(&ml, &catalog, true, Some("x"))),
        )
        .await
        .expect_err("fault");
        failed_at(&e, id);
        assert_eq!(ml.snapshot(&catalog).await, before, "after a fault at {id}");
    }
}

#[tokio::test]
async fn minilake_a_fault_at_every_delete_step_leaves_the_set_up_as_it_was() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("dfault");
    let stored = create(&full_config(&ml, &catalog, true, Some("x"))).await;
    let set_up = ml.snapshot(&catalog).await;
    for id in [
        step::REVOKE_POLICIES_SCHEMA,
        step::REVOKE_USE_CATALOG,
        step::DROP_CATALOG,
    ] {
        let e = Platform::delete(
            &Databricks::new(),
            &op_fault(true, CURRENT_VERSION, id),
            stored.clone(),
            None,
        )
        .await
        .expect_err("fault");
        failed_at(&e, id);
        assert_eq!(ml.snapshot(&catalog).await, set_up, "after a fault at {id}");
    }
    Platform::delete(&Databricks::new(), &op(true, CURRENT_VERSION), stored, None)
        .await
        .expect("delete");
    assert!(ml.snapshot(&catalog).await["catalog"].is_null());
}

#[tokio::test]
async fn minilake_edit_applies_what_changed_and_a_middle_fault_rolls_back() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("edit");
    let old_json = full_config(&ml, &catalog, false, None);
    let old = create(&old_json).await;
    let before = ml.snapshot(&catalog).await;
    let new = typed(&full_config(&ml, &catalog, true, Some("exempt")));
    let platform = Databricks::new();

    // Three steps (audit table, audit recorded, group pattern recorded): the middle fails.
    let e = Platform::edit(
        &platform,
        &op_fault(true, CURRENT_VERSION, step::RECORD_AUDIT),
        old.clone(),
        new.clone(),
    )
    .await
    .expect_err("fault");
    failed_at(&e, step::RECORD_AUDIT);
    assert_eq!(ml.snapshot(&catalog).await, before);

    let out = Platform::edit(&platform, &op(true, CURRENT_VERSION), old, new)
        .await
        .expect("edit");
    let after = ml.snapshot(&catalog).await;
    let system = &after["schemas"][SYSTEM_SCHEMA];
    assert_eq!(system["properties"]["junction.audit.enabled"], "true");
    assert_eq!(system["properties"]["junction.groupPattern.deny"], "exempt");
    assert!(system["tables"][AUDIT_EVENTS].is_array(), "{after}");

    // And back: the table goes, the settings are recorded again.
    let back = typed(&old_json);
    Platform::edit(&platform, &op(true, CURRENT_VERSION), out.config, back)
        .await
        .expect("edit back");
    assert_eq!(ml.snapshot(&catalog).await, before);
    ml.drop_catalog(&catalog).await;
}

#[tokio::test]
async fn minilake_migration_v1_to_v2_ends_where_a_v2_create_does_and_a_middle_fault_rolls_back() {
    let Some(ml) = minilake().await else { return };
    let old = unique("mig");
    let stored = Platform::create(
        &Databricks::installing_version(1),
        &op(true, 0),
        typed(&full_config(&ml, &old, false, None)),
    )
    .await
    .expect("v1 create");
    assert_eq!(stored.bootstrap_version, 1);
    let v1 = ml.snapshot(&old).await;
    assert_eq!(
        v1["schemas"][SYSTEM_SCHEMA]["properties"]["junction.setupVersion"],
        "1"
    );
    assert!(v1["schemas"][POLICIES_SCHEMA].is_null(), "{v1}");

    let platform = Databricks::new();
    let e = Platform::migrate(
        &platform,
        &op_fault(true, 1, step::GRANT_POLICIES_SCHEMA),
        stored.config.clone(),
    )
    .await
    .expect_err("fault");
    failed_at(&e, step::GRANT_POLICIES_SCHEMA);
    assert_eq!(ml.snapshot(&old).await, v1);

    let out = Platform::migrate(&platform, &op(true, 1), stored.config)
        .await
        .expect("migrate");
    assert_eq!(out.bootstrap_version, 2);
    let migrated = ml.snapshot(&old).await;

    let new = unique("mig2");
    create(&full_config(&ml, &new, false, None)).await;
    let created = ml.snapshot(&new).await;
    ml.drop_catalog(&old).await;
    ml.drop_catalog(&new).await;
    let renamed = serde_json::to_string(&created).unwrap().replace(&new, &old);
    assert_eq!(migrated, serde_json::from_str::<Value>(&renamed).unwrap());
}

#[tokio::test]
async fn minilake_create_refuses_a_catalog_someone_else_made_and_leaves_it() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("foreign");
    ml.create_foreign_catalog(&catalog).await;
    let before = ml.snapshot(&catalog).await;
    let e = Platform::create(
        &Databricks::new(),
        &op(true, 0),
        typed(&full_config(&ml, &catalog, false, None)),
    )
    .await
    .expect_err("exists");
    let text = e.to_string();
    assert!(text.contains("step create-catalog failed"), "{text}");
    assert!(text.contains("ALREADY_EXISTS"), "{text}");
    assert_eq!(ml.snapshot(&catalog).await, before);

    // A delete after that failed create (set-up version 0) leaves it too.
    let e = Platform::delete(
        &Databricks::new(),
        &op(true, 0),
        typed(&full_config(&ml, &catalog, false, None)),
        None,
    )
    .await
    .expect_err("not ours");
    assert!(e.to_string().contains("not created by Junction"), "{e}");
    assert_eq!(ml.snapshot(&catalog).await, before);
    ml.drop_catalog(&catalog).await;
}

#[tokio::test]
async fn minilake_a_delete_after_an_unfinished_create_removes_junctions_catalog() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("leftover");
    let before = ml.snapshot(&catalog).await;
    let config = typed(&full_config(&ml, &catalog, false, None));
    // What a host that died after the first step would have left.
    let plan = create_plan(&Settings::from(&config), CURRENT_VERSION);
    let mut session = Session(Workspace::new(&config).unwrap());
    let first: Action = plan.steps[0].apply.clone();
    session.exec(first).await.expect("catalog");
    Platform::delete(&Databricks::new(), &op(true, 0), config, None)
        .await
        .expect("cleanup");
    assert_eq!(ml.snapshot(&catalog).await, before);
}

#[tokio::test]
async fn minilake_manual_create_reads_the_recorded_version() {
    let Some(ml) = minilake().await else { return };
    let catalog = unique("manual");
    let config = full_config(&ml, &catalog, false, None);
    let e = Platform::create(&Databricks::new(), &op(false, 0), typed(&config))
        .await
        .expect_err("nothing set up");
    assert!(e.to_string().contains("run the create script first"), "{e}");
    Platform::create(
        &Databricks::installing_version(1),
        &op(true, 0),
        typed(&config),
    )
    .await
    .expect("the operator's set-up");
    let out = Platform::create(&Databricks::new(), &op(false, 0), typed(&config))
        .await
        .expect("manual create");
    ml.drop_catalog(&catalog).await;
    assert_eq!(out.bootstrap_version, 1);
}

#[test]
fn the_catalog_and_workspace_are_fixed_after_create() {
    let c = json!({
        "workspaceUrl": "a.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "token",
        "token": "t",
        "catalog": "one"
    });
    let old = support::typed(&c);
    let mut n = c.clone();
    n["catalog"] = json!("two");
    n["workspaceUrl"] = json!("https://b.cloud.databricks.com");
    let e = Platform::check_edit(&Databricks::new(), &old, &support::typed(&n)).expect_err("fixed");
    let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["config.workspaceUrl", "config.catalog"]);
    // The same workspace written another way is no change.
    let mut same = c.clone();
    same["workspaceUrl"] = json!("https://A.cloud.databricks.com/");
    Platform::check_edit(&Databricks::new(), &old, &support::typed(&same)).expect("same");
}
