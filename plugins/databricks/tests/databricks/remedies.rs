//! The manual catalog test's remedy against `fake_databricks`, whose
//! effective-permissions answers the grants it holds and whose Statement
//! Execution API applies a `GRANT` it is sent: the principal lacks one
//! privilege, the test fails with the contract's message and a remedy, the
//! remedy's statement goes as it is through the SQL Statement Execution API
//! (with the test's token, as an operator pastes it into a SQL warehouse),
//! and the test passes.

use crate::fake_databricks::FakeDatabricks;
use crate::support::{self, test, validate};
use crate::validate::seed_manual;
use junction_core::TestStatus;
use junction_databricks::testing::{CATALOG_LOOKUP_FAILED, MANUAL_CATALOG, Workspace};

const PAT: &str = "dapi-remedy-token";
const SECRET: &str = "fake-client-secret";
const PRINCIPAL: &str = "etl@example.com";

#[tokio::test]
async fn fake_principal_missing_manage_then_granted_by_the_remedy() {
    let fake = FakeDatabricks::start(PRINCIPAL, PAT, SECRET).await;
    seed_manual(&fake, "jc");
    // Everything the set-up needs but MANAGE.
    fake.with(|s| {
        s.grant(
            "CATALOG",
            "jc",
            PRINCIPAL,
            &["USE_CATALOG", "USE_SCHEMA", "MODIFY", "SELECT"],
        );
    });
    let config = support::fake_token_config(&fake, PAT, "jc");
    let r = validate(&config, false).await;
    assert_eq!(
        test(&r, MANUAL_CATALOG),
        (TestStatus::Failed, Some(CATALOG_LOOKUP_FAILED.into()))
    );
    assert_eq!(r.remedies.len(), 1, "{:#?}", r.remedies);
    let remedy = &r.remedies[0];
    assert_eq!(remedy.test, MANUAL_CATALOG);
    assert_eq!(remedy.language, "sql");
    assert_eq!(
        remedy.missing,
        format!("MANAGE on the catalog jc for the principal {PRINCIPAL}")
    );
    assert_eq!(
        remedy.statements,
        [format!("GRANT MANAGE ON CATALOG `jc` TO `{PRINCIPAL}`;")]
    );
    assert!(!format!("{:?}", r.remedies).contains(PAT));

    let ws = Workspace::new(&support::typed(&config)).unwrap();
    for sql in &remedy.statements {
        ws.execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert!(fake.with(|s| s.statements_run.contains(&remedy.statements[0])));
    let r = validate(&config, false).await;
    assert_eq!(
        test(&r, MANUAL_CATALOG),
        (TestStatus::Passed, None),
        "{r:?}"
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

#[tokio::test]
async fn fake_missing_objects_fail_without_a_remedy() {
    // A missing catalog is the manual script's to make, not a grant's.
    let fake = FakeDatabricks::start(PRINCIPAL, PAT, SECRET).await;
    let r = validate(&support::fake_token_config(&fake, PAT, "nope"), false).await;
    assert_eq!(
        test(&r, MANUAL_CATALOG),
        (TestStatus::Failed, Some(CATALOG_LOOKUP_FAILED.into()))
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}
