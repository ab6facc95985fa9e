//! Through the real `junction` binary against minilake: create → enabled,
//! delete → deleted, DELETE with credentials → the reference product's 400,
//! a second integration on the same workspace → 409, and a create made to
//! fail at a middle step (test builds' `X-Junction-Fault-Step`) → createError
//! with the catalog as before. The sentinel token is in no response, log or
//! byte of the data directory. Needs the binary with the `databricks`
//! feature (`cargo build -p junction-host --features synthetic`); without it,
//! outside CI, these tests say so and return.

use crate::support::{minilake, minilake_config, unique};
use junction_databricks::step;
use junction_testkit::SENTINEL;
use junction_testkit::binary::{Server, binary_has_platform};
use serde_json::{Value, json};

const DELETE_TAKES_NO_CREDENTIALS: &str = "Credentials are not required to disable a Databricks integration. If you need to update your integration credentials, use PUT to update the integration before disabling.";

fn payload(config: &Value) -> String {
    json!({"type": "Databricks", "autoBootstrap": true, "config": config}).to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn minilake_through_the_binary_create_enabled_delete_deleted() {
    let rt = runtime();
    let Some(ml) = rt.block_on(minilake()) else {
        return;
    };
    if !binary_has_platform("Databricks") {
        return;
    }
    let server = Server::start("databricks-api", &[]);
    let catalog = unique("api");
    let mut config = minilake_config(&ml, &catalog);
    config["token"] = json!(SENTINEL);
    let before = rt.block_on(ml.snapshot(&catalog));

    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&payload(&config)),
        None,
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "enabled", "{v}");
    assert_eq!(v["validationResults"]["status"], "passed", "{v}");
    assert!(rt.block_on(ml.snapshot(&catalog))["catalog"].is_object());

    // One integration per workspace, in the reference product's words.
    let again = server.admin("POST", "/integrations", Some(&payload(&config)));
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains(&format!(
            "Databricks integration already exists on {catalog}.cloud.databricks.com (id = {id})."
        )),
        "{}",
        again.body
    );

    // DELETE never takes credentials.
    let refused = server.admin(
        "DELETE",
        &format!("/integrations/{id}"),
        Some(&json!({"token": "dapi-privileged"}).to_string()),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    // The reference product's words, as the field error of the body.
    assert_eq!(
        refused.json()["details"],
        json!([{"path": "body", "message": DELETE_TAKES_NO_CREDENTIALS}]),
        "{}",
        refused.body
    );
    assert_eq!(server.settle(id)["status"], "enabled");

    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(v["status"], "deleted", "{v}");
    assert_eq!(rt.block_on(ml.snapshot(&catalog)), before);

    let listed = server.admin("GET", "/integrations", None);
    assert!(!listed.body.contains(SENTINEL));
    assert!(
        !server.data_dir_holds(SENTINEL),
        "the store holds the token in clear"
    );
    assert!(!server.logs().contains(SENTINEL), "the logs show the token");
    assert!(
        server.logs().contains("Databricks"),
        "the server logged the operations"
    );
}

#[test]
fn minilake_through_the_binary_a_create_failing_at_a_middle_step_rolls_back() {
    let rt = runtime();
    let Some(ml) = rt.block_on(minilake()) else {
        return;
    };
    // A test build: the synthetic platform comes with fault injection.
    if !binary_has_platform("Databricks") || !binary_has_platform("Synthetic") {
        return;
    }
    let server = Server::start("databricks-api-fault", &[]);
    let catalog = unique("apifault");
    let mut config = minilake_config(&ml, &catalog);
    config["token"] = json!(SENTINEL);
    let before = rt.block_on(ml.snapshot(&catalog));
    let (id, v) = server.operate(
        "POST",
        "/integrations",
        Some(&payload(&config)),
        Some(step::CREATE_USER_ATTRIBUTES),
        None,
        SENTINEL,
    );
    assert_eq!(v["status"], "createError", "{v}");
    server.assert_failed_at(id, step::CREATE_USER_ATTRIBUTES, SENTINEL);
    assert_eq!(rt.block_on(ml.snapshot(&catalog)), before);
    // Deleting it cleans up nothing of anyone else's and ends it.
    let (_, v) = server.operate(
        "DELETE",
        &format!("/integrations/{id}"),
        None,
        None,
        Some(id),
        SENTINEL,
    );
    assert_eq!(
        v["status"],
        "deleted",
        "{v}: {}",
        server.last_message(id, SENTINEL)
    );
    assert!(!server.data_dir_holds(SENTINEL));
}
