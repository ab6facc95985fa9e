//! The Access Grants tests against the fake S3 Control server (moto has no
//! Access Grants), with STS and S3 forwarded to moto: an instance present and
//! absent, a location present and absent, 403 answers, and the SigV4
//! signatures the server checked.

use crate::fake_s3control::FakeS3Control;
use crate::support::{self, ACCOUNT, config, result};
use junction_core::{CheckContext, DynPlatform, Peer, RunOptions, Status, TestStatus};
use junction_s3::testing::checks;
use junction_testkit::SENTINEL;
use serde_json::Value;
use std::sync::Arc;

async fn validate(c: &Value, ctx: CheckContext) -> junction_core::ValidationResults {
    DynPlatform::validate(&support::platform(), c, ctx, &RunOptions::default(), None)
        .await
        .expect("valid config")
}

/// The fake in front of moto, knowing the tests' key, with an instance.
async fn fake(moto: &junction_testkit::stand_ins::Http) -> FakeS3Control {
    let fake = FakeS3Control::start(Some(&moto.endpoint)).await;
    fake.know_key(support::TEST_KEY_ID, SENTINEL);
    fake.strict_keys();
    fake.add_instance(ACCOUNT);
    fake
}

/// The contract's message for AWS's documented answer to a missing instance
/// (S3 API Reference, Access Grants error codes: 404
/// `AccessGrantsInstanceNotExistsError`); AWS's own wording of the message is
/// not pinned, only that the message and the request id are carried.
fn assert_no_instance(m: &str) {
    let lead = "AccessGrantsInstanceNotExistsError: Unable to retrieve the access grants instance for account, region: AWS responded with code [404], name [AccessGrantsInstanceNotExistsError] and message [";
    assert!(m.starts_with(lead), "{m}");
    assert!(m.len() > lead.len() + "] for request ID [].".len(), "{m}");
    assert!(!request_id(m).is_empty(), "{m}");
}

fn request_id(m: &str) -> &str {
    let start = m.rfind("for request ID [").unwrap() + "for request ID [".len();
    &m[start..m.len() - 2]
}

#[tokio::test]
async fn every_test_passes_with_an_instance_and_no_location() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await;
    let bucket = support::unique("grants");
    support::bucket_with(&moto, &bucket, &["root/a/1.csv"]).await;
    let path = format!("s3://{bucket}/root");
    let r = validate(
        &config(&fake.endpoint, "grants", &path),
        CheckContext::default(),
    )
    .await;
    assert_eq!(r.status, TestStatus::Passed, "{r:?}");
    assert_eq!(
        result(&r, checks::INSTANCE).message.as_deref(),
        Some(
            "Found the access grants instance [arn:aws:s3:us-east-1:123456789012:access-grants/default] in account [123456789012], region [us-east-1]."
        )
    );
    assert_eq!(result(&r, checks::LOCATION_ABSENT).message, None);

    // Every S3 Control call was signed as AWS requires, and verified.
    let seen = fake.seen();
    let ops: Vec<&str> = seen.iter().map(|s| s.op.as_str()).collect();
    assert!(ops.contains(&"GetAccessGrantsInstance"), "{ops:?}");
    assert!(ops.contains(&"ListAccessGrantsLocations"), "{ops:?}");
    for s in &seen {
        assert_eq!(s.signature, Ok(true), "{s:?}");
        assert_eq!(s.service.as_deref(), Some("s3"));
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        assert_eq!(s.account.as_deref(), Some(ACCOUNT));
        for h in [
            "host",
            "x-amz-date",
            "x-amz-account-id",
            "x-amz-content-sha256",
        ] {
            assert!(s.signed_headers.iter().any(|x| x == h), "{h} in {s:?}");
        }
    }
    let list = seen
        .iter()
        .find(|s| s.op == "ListAccessGrantsLocations")
        .unwrap();
    assert_eq!(list.path, "/v20180820/accessgrantsinstance/locations");
}

#[tokio::test]
async fn a_missing_instance_fails_with_the_aws_error() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = FakeS3Control::start(Some(&moto.endpoint)).await;
    fake.know_key(support::TEST_KEY_ID, SENTINEL);
    let path = format!("s3://{}/x", support::unique("noinstance"));
    let r = validate(
        &config(&fake.endpoint, "noinstance", &path),
        CheckContext::default(),
    )
    .await;
    let t = result(&r, checks::INSTANCE);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    let m = t.message.as_deref().unwrap();
    assert_no_instance(m);
    let t = result(&r, checks::LOCATION_ABSENT);
    assert_eq!(t.status, TestStatus::Skipped);
    assert!(t.message.as_deref().unwrap().contains(checks::INSTANCE));
}

#[tokio::test]
async fn access_denied_on_the_instance_is_the_contract_message() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await;
    fake.deny("GetAccessGrantsInstance");
    let path = format!("s3://{}/x", support::unique("denyinst"));
    let r = validate(
        &config(&fake.endpoint, "denyinst", &path),
        CheckContext::default(),
    )
    .await;
    let m = result(&r, checks::INSTANCE).message.clone().unwrap();
    assert_eq!(
        m,
        format!(
            "AccessDenied: Unable to retrieve the access grants instance for account, region: AWS responded with code [403], name [AccessDenied] and message [Access Denied] for request ID [{}].",
            request_id(&m)
        )
    );
    assert_eq!(result(&r, checks::INSTANCE).status, TestStatus::Failed);
}

#[tokio::test]
async fn access_denied_on_the_locations_is_the_contract_message() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await;
    fake.deny("ListAccessGrantsLocations");
    let path = format!("s3://{}/x", support::unique("denyloc"));
    let r = validate(
        &config(&fake.endpoint, "denyloc", &path),
        CheckContext::default(),
    )
    .await;
    let t = result(&r, checks::LOCATION_ABSENT);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    let m = t.message.as_deref().unwrap();
    assert_eq!(
        m,
        format!(
            "AccessDenied: Unable to list S3 access grants locations for account [123456789012], location scope [{path}]: AWS responded with code [403], name [AccessDenied] and message [Access Denied] for request ID [{}].",
            request_id(m)
        )
    );
}

#[tokio::test]
async fn an_existing_location_fails_unless_it_is_the_integrations_own() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await;
    let path = format!("s3://{}/taken", support::unique("taken"));
    let id = fake.add_location(
        ACCOUNT,
        &path,
        "arn:aws:iam::123456789012:role/someone-else",
    );
    // A location at another path does not count.
    fake.add_location(ACCOUNT, &format!("{path}-other"), support::LOCATION_ROLE);
    let c = config(&fake.endpoint, "taken", &path);
    let r = validate(&c, CheckContext::default()).await;
    let t = result(&r, checks::LOCATION_ABSENT);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(
            format!(
                "An access grants location [{id}] already exists for the path [{path}] in account [123456789012], region [us-east-1], with the IAM role [arn:aws:iam::123456789012:role/someone-else]. Remove it, or choose another path."
            )
            .as_str()
        )
    );
    // On an edit of the integration that registered it, it passes.
    let ctx = CheckContext {
        integration_id: Some(3),
        auto_bootstrap: false,
        peers: Arc::new(vec![Arc::new(Peer {
            id: 3,
            status: Status::Enabled,
            config: DynPlatform::parse(&support::platform(), &c, false)
                .unwrap()
                .public,
        })]),
    };
    let r = validate(&c, ctx).await;
    let t = result(&r, checks::LOCATION_ABSENT);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    assert!(t.message.as_deref().unwrap().contains(&id));
    assert_eq!(result(&r, checks::NO_MATCH).status, TestStatus::Passed);
}

#[tokio::test]
async fn a_wrong_signature_is_refused_by_the_server() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = FakeS3Control::start(Some(&moto.endpoint)).await;
    // The server holds another secret for the key: the signature cannot match.
    fake.know_key(support::TEST_KEY_ID, "another-secret");
    fake.add_instance(ACCOUNT);
    let path = format!("s3://{}/x", support::unique("badsig"));
    let r = validate(
        &config(&fake.endpoint, "badsig", &path),
        CheckContext::default(),
    )
    .await;
    let t = result(&r, checks::INSTANCE);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    let m = t.message.as_deref().unwrap();
    assert!(
        m.starts_with("SignatureDoesNotMatch: Unable to retrieve the access grants instance for account, region: AWS responded with code [403], name [SignatureDoesNotMatch]"),
        "{m}"
    );
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));
    assert!(fake.seen().iter().all(|s| s.signature.is_err()));
}

#[tokio::test]
async fn an_instance_in_another_region_is_not_found() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await; // an instance in us-east-1 only
    let path = format!("s3://{}/x", support::unique("wrongregion"));
    let mut c = config(&fake.endpoint, "wrongregion", &path);
    c["awsRegion"] = "eu-west-1".into();
    let r = validate(&c, CheckContext::default()).await;
    let t = result(&r, checks::INSTANCE);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert_no_instance(t.message.as_deref().unwrap());
    // The call was signed for the configured region: that is what AWS routes by.
    let seen = fake.seen();
    let get = seen
        .iter()
        .find(|s| s.op == "GetAccessGrantsInstance")
        .expect("asked for the instance");
    assert_eq!(get.region.as_deref(), Some("eu-west-1"));
    // With an instance there too, it is found.
    fake.add_instance_in(ACCOUNT, "eu-west-1");
    let r = validate(&c, CheckContext::default()).await;
    assert_eq!(
        result(&r, checks::INSTANCE).message.as_deref(),
        Some(
            "Found the access grants instance [arn:aws:s3:eu-west-1:123456789012:access-grants/default] in account [123456789012], region [eu-west-1]."
        )
    );
}

#[tokio::test]
async fn another_accounts_instance_is_access_denied() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let fake = fake(&moto).await;
    // The key is another account's; the config names ACCOUNT's instance.
    fake.key_belongs_to(support::TEST_KEY_ID, "210987654321");
    let path = format!("s3://{}/x", support::unique("crossaccount"));
    let r = validate(
        &config(&fake.endpoint, "crossaccount", &path),
        CheckContext::default(),
    )
    .await;
    let m = result(&r, checks::INSTANCE).message.clone().unwrap();
    assert_eq!(
        m,
        format!(
            "AccessDenied: Unable to retrieve the access grants instance for account, region: AWS responded with code [403], name [AccessDenied] and message [Access Denied] for request ID [{}].",
            request_id(&m)
        )
    );
    assert_eq!(result(&r, checks::INSTANCE).status, TestStatus::Failed);
}
