//! create / edit / delete of the Access Grants location through the platform's
//! operations, against the fake S3 Control server (no moto needed): every
//! failure, injected or answered by the server, rolls back.

use crate::fake_s3control::{FakeS3Control, Location};
use crate::support::{self, ACCOUNT, LOCATION_ROLE, config, op, op_fault};
use junction_core::{DynPlatform, OpError, ScriptKind};
use junction_s3::step;
use junction_testkit::SENTINEL;
use serde_json::{Value, json};

const NEW_ROLE: &str = "arn:aws:iam::123456789012:role/junction-location-2";

async fn fake() -> FakeS3Control {
    let fake = FakeS3Control::start(None).await;
    fake.know_key(support::TEST_KEY_ID, SENTINEL);
    fake.strict_keys();
    fake.add_instance(ACCOUNT);
    fake
}

fn scopes(fake: &FakeS3Control) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fake
        .locations()
        .into_iter()
        .map(|Location { scope, role, .. }| (scope, role))
        .collect();
    v.sort();
    v
}

fn path(tag: &str) -> String {
    format!("s3://{}/base", support::unique(tag))
}

async fn created(fake: &FakeS3Control, c: &Value) {
    let out = DynPlatform::create(&support::platform(), &op(0), c)
        .await
        .expect("create");
    assert_eq!(out.bootstrap_version, 1);
    assert_eq!(out.config, *c, "the stored config is the one given");
    assert_eq!(
        scopes(fake),
        [(
            c["awsLocationPath"].as_str().unwrap().to_owned(),
            LOCATION_ROLE.to_owned()
        )]
    );
}

fn failed(e: &OpError) -> &str {
    match e {
        OpError::Failed(m) => {
            assert!(!m.contains(SENTINEL));
            m
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_registers_the_location_and_delete_removes_it() {
    let fake = fake().await;
    let p = path("create");
    let c = config(&fake.endpoint, "create", &p);
    created(&fake, &c).await;
    let ops: Vec<String> = fake.seen().into_iter().map(|s| s.op).collect();
    assert_eq!(
        ops,
        ["CreateAccessGrantsLocation", "ListAccessGrantsLocations"]
    );
    let create = &fake.seen()[0];
    assert!(
        create.body.contains("<CreateAccessGrantsLocationRequest"),
        "{}",
        create.body
    );
    assert!(
        create
            .body
            .contains(&format!("<LocationScope>{p}</LocationScope>"))
    );
    assert!(fake.seen().iter().all(|s| s.signature == Ok(true)));

    DynPlatform::delete(&support::platform(), &op(1), &c, None)
        .await
        .expect("delete");
    assert!(scopes(&fake).is_empty());
    // Deleting again finds nothing to remove, and says so without failing.
    DynPlatform::delete(&support::platform(), &op(1), &c, None)
        .await
        .expect("delete again");
}

#[tokio::test]
async fn a_create_that_fails_after_registering_rolls_back() {
    let fake = fake().await;
    let c = config(&fake.endpoint, "create-fault", &path("cfault"));
    let err = DynPlatform::create(
        &support::platform(),
        &op_fault(0, step::VERIFY_LOCATION),
        &c,
    )
    .await
    .expect_err("fault");
    let m = failed(&err);
    assert_eq!(
        m,
        "create failed: step verify-location failed: injected fault; every step before it was rolled back"
    );
    assert!(scopes(&fake).is_empty(), "{:?}", fake.locations());
}

#[tokio::test]
async fn a_create_refused_by_aws_leaves_the_existing_location_alone() {
    let fake = fake().await;
    let p = path("taken");
    fake.add_location(ACCOUNT, &p, "arn:aws:iam::123456789012:role/someone-else");
    let c = config(&fake.endpoint, "taken", &p);
    let err = DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect_err("exists");
    let m = failed(&err);
    assert!(
        m.starts_with(&format!(
            "create failed: step create-location failed: CreateAccessGrantsLocation for location scope [{p}]: AWS responded with code [409], name [AccessGrantsLocationAlreadyExistsError] and message [The specified access grants location already exists] for request ID [FAKE"
        )),
        "{m}"
    );
    assert_eq!(
        scopes(&fake),
        [(p, "arn:aws:iam::123456789012:role/someone-else".to_owned())]
    );
    // A delete of the integration that never finished its create touches nothing.
    DynPlatform::delete(&support::platform(), &op(0), &c, None)
        .await
        .expect("delete");
    assert_eq!(fake.locations().len(), 1);
}

#[tokio::test]
async fn edit_updates_the_role_and_rolls_back_when_a_later_step_fails() {
    let fake = fake().await;
    let p = path("role");
    let old = config(&fake.endpoint, "role", &p);
    created(&fake, &old).await;
    let mut new = old.clone();
    new["awsLocationRole"] = json!(NEW_ROLE);

    let err = DynPlatform::edit(
        &support::platform(),
        &op_fault(1, step::VERIFY_LOCATION),
        &old,
        &new,
    )
    .await
    .expect_err("fault");
    assert!(failed(&err).contains("every step before it was rolled back"));
    assert_eq!(scopes(&fake), [(p.clone(), LOCATION_ROLE.to_owned())]);

    let out = DynPlatform::edit(&support::platform(), &op(1), &old, &new)
        .await
        .expect("edit");
    assert_eq!(out.config["awsLocationRole"], json!(NEW_ROLE));
    assert_eq!(scopes(&fake), [(p.clone(), NEW_ROLE.to_owned())]);
    assert!(fake.seen().iter().any(|s| {
        s.op == "UpdateAccessGrantsLocation"
            && s.body
                .contains(&format!("<IAMRoleArn>{NEW_ROLE}</IAMRoleArn>"))
    }));

    // The server refusing the update: nothing changed.
    fake.fail_next(
        "UpdateAccessGrantsLocation",
        400,
        "InvalidIamRole",
        "The specified IAM Role is invalid",
    );
    let err = DynPlatform::edit(&support::platform(), &op(1), &new, &old)
        .await
        .expect_err("refused");
    assert!(failed(&err).contains("name [InvalidIamRole]"), "{err}");
    assert_eq!(scopes(&fake), [(p, NEW_ROLE.to_owned())]);
}

#[tokio::test]
async fn edit_moves_the_location_to_a_new_path_with_rollback() {
    let fake = fake().await;
    let old_path = path("move");
    let old = config(&fake.endpoint, "move", &old_path);
    created(&fake, &old).await;
    let new_path = format!("{old_path}-moved");
    let mut new = old.clone();
    new["awsLocationPath"] = json!(new_path);
    new["awsLocationRole"] = json!(NEW_ROLE);

    // Injected after both calls: the new location goes, the old comes back.
    let err = DynPlatform::edit(
        &support::platform(),
        &op_fault(1, step::VERIFY_LOCATION),
        &old,
        &new,
    )
    .await
    .expect_err("fault");
    assert!(
        failed(&err).contains("every step before it was rolled back"),
        "{err}"
    );
    assert_eq!(
        scopes(&fake),
        [(old_path.clone(), LOCATION_ROLE.to_owned())]
    );

    // The server failing the removal of the old one: the new one is removed.
    fake.fail_next(
        "DeleteAccessGrantsLocation",
        403,
        "AccessDenied",
        "Access Denied",
    );
    let err = DynPlatform::edit(&support::platform(), &op(1), &old, &new)
        .await
        .expect_err("refused");
    let m = failed(&err);
    assert!(
        m.starts_with("edit failed: step delete-old-location failed: DeleteAccessGrantsLocation for location scope ["),
        "{m}"
    );
    assert!(
        m.contains("name [AccessDenied] and message [Access Denied]"),
        "{m}"
    );
    assert_eq!(
        scopes(&fake),
        [(old_path.clone(), LOCATION_ROLE.to_owned())]
    );

    DynPlatform::edit(&support::platform(), &op(1), &old, &new)
        .await
        .expect("edit");
    assert_eq!(scopes(&fake), [(new_path, NEW_ROLE.to_owned())]);
}

#[tokio::test]
async fn edit_refuses_another_account_or_region() {
    let fake = fake().await;
    let old = config(&fake.endpoint, "acct", &path("acct"));
    let mut new = old.clone();
    new["awsAccountId"] = json!("210987654321");
    new["awsRegion"] = json!("eu-west-1");
    let err = DynPlatform::edit(&support::platform(), &op(1), &old, &new)
        .await
        .expect_err("refused");
    let OpError::Invalid(e) = err else {
        panic!("{err:?}")
    };
    let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["config.awsAccountId", "config.awsRegion"]);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn a_failed_delete_keeps_the_location() {
    let fake = fake().await;
    let p = path("keep");
    let c = config(&fake.endpoint, "keep", &p);
    created(&fake, &c).await;
    fake.fail_next(
        "DeleteAccessGrantsLocation",
        403,
        "AccessDenied",
        "Access Denied",
    );
    let err = DynPlatform::delete(&support::platform(), &op(1), &c, None)
        .await
        .expect_err("refused");
    assert!(
        failed(&err).contains("step delete-location failed"),
        "{err}"
    );
    assert_eq!(scopes(&fake), [(p.clone(), LOCATION_ROLE.to_owned())]);
    // An injected fault on the only step: nothing ran.
    DynPlatform::delete(
        &support::platform(),
        &op_fault(1, step::DELETE_LOCATION),
        &c,
        None,
    )
    .await
    .expect_err("fault");
    assert_eq!(scopes(&fake), [(p, LOCATION_ROLE.to_owned())]);
}

#[tokio::test]
async fn calls_signed_with_a_wrong_secret_fail_cleanly() {
    let fake = fake().await;
    let mut c = config(&fake.endpoint, "badsecret", &path("badsecret"));
    c["awsSecretAccessKey"] = json!(format!("{SENTINEL}-wrong"));
    let err = DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect_err("refused");
    let m = failed(&err);
    assert!(m.contains("name [SignatureDoesNotMatch]"), "{m}");
    assert!(!format!("{err:?}").contains(SENTINEL));
    assert!(fake.locations().is_empty());
}

#[tokio::test]
async fn migrate_has_nothing_to_do() {
    let c = config("http://127.0.0.1:1", "migrate", &path("migrate"));
    let err = DynPlatform::migrate(&support::platform(), &op(1), &c)
        .await
        .expect_err("single version");
    assert!(matches!(err, OpError::Unsupported(_)), "{err:?}");
}

#[test]
fn scripts_are_aws_cli_commands_without_credentials() {
    let p = "s3://bucket-one/it's";
    let c = config("http://127.0.0.1:1", "scripts", p);
    let platform = support::platform();
    let create = DynPlatform::script(&platform, ScriptKind::Create, &c, None).expect("create");
    assert_eq!(create.language, "shell");
    assert!(
        create.statements.contains(
            &"aws s3control create-access-grants-location --account-id 123456789012 --region us-east-1 --location-scope 's3://bucket-one/it'\\''s' --iam-role-arn arn:aws:iam::123456789012:role/junction-location".to_owned()
        ),
        "{}",
        create.text()
    );
    let delete = DynPlatform::script(&platform, ScriptKind::Delete, &c, None).expect("delete");
    assert!(delete.text().contains("aws s3control delete-access-grants-location --account-id 123456789012 --region us-east-1 --access-grants-location-id \"$(aws s3control list-access-grants-locations"), "{}", delete.text());
    let cleanup = DynPlatform::script(&platform, ScriptKind::Cleanup, &c, None).expect("cleanup");
    assert!(cleanup.text().contains("delete-access-grants-location"));
    let mut new = c.clone();
    new["awsLocationRole"] = json!(NEW_ROLE);
    let edit = DynPlatform::script(&platform, ScriptKind::Edit, &new, Some(&c)).expect("edit");
    assert!(edit.text().contains(&format!("update-access-grants-location --account-id 123456789012 --region us-east-1 --access-grants-location-id \"$(aws s3control list-access-grants-locations --account-id 123456789012 --region us-east-1 --location-scope 's3://bucket-one/it'\\''s' --query 'AccessGrantsLocationsList[0].AccessGrantsLocationId' --output text)\" --iam-role-arn {NEW_ROLE}")), "{}", edit.text());
    assert!(DynPlatform::script(&platform, ScriptKind::InitialCreate, &c, None).is_err());
    for s in [&create, &delete, &cleanup, &edit] {
        assert!(!s.text().contains(SENTINEL));
        assert!(!s.text().contains(support::TEST_KEY_ID));
    }
}

#[tokio::test]
async fn an_edit_after_a_failed_create_is_a_retried_create() {
    let fake = fake().await;
    let p = path("retry");
    let c = config(&fake.endpoint, "retry", &p);
    DynPlatform::create(
        &support::platform(),
        &op_fault(0, step::CREATE_LOCATION),
        &c,
    )
    .await
    .expect_err("fault");
    assert!(fake.locations().is_empty());
    let mut new = c.clone();
    new["awsLocationRole"] = json!(NEW_ROLE);
    let out = DynPlatform::edit(&support::platform(), &op(0), &c, &new)
        .await
        .expect("retried create");
    assert_eq!(out.bootstrap_version, 1);
    assert_eq!(scopes(&fake), [(p, NEW_ROLE.to_owned())]);
}

#[tokio::test]
async fn locations_are_found_across_pages_by_exact_scope() {
    let fake = fake().await;
    fake.page_by(1, true);
    let p = path("pages");
    // Longer scopes that a prefix filter also returns, listed before ours.
    for suffix in ["/a", "/b", "-c"] {
        fake.add_location(ACCOUNT, &format!("{p}{suffix}"), LOCATION_ROLE);
    }
    let c = config(&fake.endpoint, "pages", &p);
    DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect("create");
    assert_eq!(fake.locations().len(), 4);
    let lists = fake
        .seen()
        .iter()
        .filter(|s| s.op == "ListAccessGrantsLocations")
        .count();
    assert_eq!(lists, 4, "the read-back paged through every location");
    DynPlatform::delete(&support::platform(), &op(1), &c, None)
        .await
        .expect("delete");
    let left: Vec<String> = fake.locations().into_iter().map(|l| l.scope).collect();
    assert_eq!(left.len(), 3);
    assert!(!left.contains(&p), "{left:?}");
}

#[tokio::test]
async fn a_location_that_does_not_take_rolls_the_create_back() {
    let fake = fake().await;
    let p = path("notake");
    let c = config(&fake.endpoint, "notake", &p);
    // The read-back fails twice (the SDK's two attempts): the step fails,
    // and the location just created is removed.
    for _ in 0..2 {
        fake.fail_next(
            "ListAccessGrantsLocations",
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
    }
    let err = DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect_err("verify fails");
    let m = failed(&err);
    assert!(m.starts_with("create failed: step verify-location failed: ListAccessGrantsLocations for location scope ["), "{m}");
    assert!(m.contains("name [InternalError]"), "{m}");
    assert!(m.ends_with("every step before it was rolled back"), "{m}");
    assert!(fake.locations().is_empty(), "{:?}", fake.locations());
}
