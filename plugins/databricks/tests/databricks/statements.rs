//! The SQL Statement Execution API: submit, poll `PENDING`/`RUNNING` to a
//! final state, cancel on timeout. minilake finishes every statement in its
//! submit (and answers a failed one with HTTP 400), so polling, cancelling
//! and `FAILED` states are proven on `fake_databricks`.

use crate::fake_databricks::{FakeDatabricks, StatementMode};
use crate::support::{self, minilake, minilake_config, unique};
use junction_databricks::testing::{ClientError, Workspace};
use std::time::Duration;

const PAT: &str = "dapi-statements";

fn workspace(fake: &FakeDatabricks) -> Workspace {
    Workspace::new(&support::typed(&support::fake_token_config(fake, PAT, "c"))).expect("client")
}

#[tokio::test]
async fn fake_a_pending_then_running_statement_is_polled_to_success() {
    let fake = FakeDatabricks::start("p", PAT, "s").await;
    fake.with(|s| s.statement_mode = StatementMode::Polls(3));
    workspace(&fake)
        .execute("CREATE TABLE `c`.`s`.`t` (a STRING)")
        .await
        .expect("succeeded");
    // Three polls answered RUNNING, the fourth SUCCEEDED.
    assert_eq!(fake.with(|s| s.polls), 4);
    assert_eq!(fake.with(|s| s.cancels), 0);
    assert_eq!(
        fake.with(|s| s.statements_run.clone()),
        ["CREATE TABLE `c`.`s`.`t` (a STRING)"]
    );
}

#[tokio::test]
async fn fake_a_statement_that_does_not_finish_is_cancelled_at_the_timeout() {
    let fake = FakeDatabricks::start("p", PAT, "s").await;
    fake.with(|s| s.statement_mode = StatementMode::Forever);
    let e = workspace(&fake)
        .execute_within("SELECT 1", Duration::from_millis(300))
        .await
        .expect_err("timed out");
    assert!(matches!(e, ClientError::StatementTimeout { .. }), "{e:?}");
    assert_eq!(fake.with(|s| s.cancels), 1, "cancelled once");
    assert!(fake.with(|s| s.polls) >= 1, "polled before giving up");
}

#[tokio::test(start_paused = true)]
async fn fake_the_statement_timeout_is_the_configured_one_on_a_paused_clock() {
    let fake = FakeDatabricks::start("p", PAT, "s").await;
    fake.with(|s| s.statement_mode = StatementMode::Forever);
    let mut config = support::fake_token_config(&fake, PAT, "c");
    config["statementTimeoutSeconds"] = serde_json::json!(120);
    let ws = Workspace::new(&support::typed(&config)).expect("client");
    let start = tokio::time::Instant::now();
    let e = ws.execute("SELECT 1").await.expect_err("timed out");
    assert_eq!(
        e.to_string(),
        "the statement did not finish within 120 s and was cancelled"
    );
    // Virtual time: the poll pauses add up to exactly the timeout.
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    assert_eq!(fake.with(|s| s.cancels), 1);
}

#[tokio::test]
async fn fake_a_failed_statement_is_an_error_with_its_code_and_message() {
    let fake = FakeDatabricks::start("p", PAT, "s").await;
    fake.with(|s| {
        s.statement_mode = StatementMode::Fail(
            "TABLE_OR_VIEW_ALREADY_EXISTS".into(),
            "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table".into(),
        )
    });
    let e = workspace(&fake)
        .execute("CREATE TABLE x (a INT)")
        .await
        .expect_err("failed");
    assert_eq!(
        e,
        ClientError::StatementFailed {
            code: Some("TABLE_OR_VIEW_ALREADY_EXISTS".into()),
            message: "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table".into(),
        }
    );
    assert_eq!(fake.with(|s| s.polls), 0);
}

#[tokio::test]
async fn minilake_statements_run_on_the_configured_warehouse_and_errors_say_why() {
    let Some(ml) = minilake().await else { return };
    let ws = Workspace::new(&support::typed(&minilake_config(&ml, &unique("st")))).expect("client");
    ws.execute("SELECT 1").await.expect("ran");
    let e = ws
        .execute("SELECT * FROM no_such_table_here")
        .await
        .expect_err("no table");
    let text = e.to_string();
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(text.contains("no_such_table_here"), "{text}");
    let mut other = minilake_config(&ml, &unique("st"));
    other["httpPath"] = serde_json::json!("/sql/1.0/warehouses/nosuchwarehouse");
    let e = Workspace::new(&support::typed(&other))
        .unwrap()
        .execute("SELECT 1")
        .await
        .expect_err("no warehouse");
    assert!(e.to_string().contains("nosuchwarehouse"), "{e}");
}
