//! moto with IAM and signature enforcement switched on: AWS's real
//! `AccessDenied`, `SignatureDoesNotMatch` and `InvalidClientTokenId` answers,
//! turned into the tests' messages. Enforcement is global to moto, so this is
//! one test holding the moto lock exclusively; it switches enforcement off
//! again even when it fails.

use crate::support::{self, config, result};
use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus};
use junction_s3::testing::{checks, client};
use junction_testkit::SENTINEL;
use serde_json::{Value, json};

async fn validate(c: &Value) -> junction_core::ValidationResults {
    DynPlatform::validate(
        &support::platform(),
        c,
        CheckContext::default(),
        &RunOptions::default(),
        None,
    )
    .await
    .expect("valid config")
}

/// `prefix` + `AWS responded with code [status], name [code] and message [..] for request ID [..].`
/// with a non-empty message and request id.
fn assert_aws_message(m: &str, prefix: &str, status: u16, code: &str) {
    let expected =
        format!("{prefix}AWS responded with code [{status}], name [{code}] and message [");
    assert!(
        m.starts_with(&expected),
        "{m}\nexpected to start with {expected}"
    );
    let (_, rest) = m.split_once("] and message [").unwrap();
    let (message, rid) = rest.split_once("] for request ID [").unwrap();
    assert!(!message.is_empty(), "{m}");
    assert!(rid.ends_with("].") && rid.len() > 2, "{m}");
    assert!(!m.contains(SENTINEL));
}

#[tokio::test]
async fn enforced_iam_answers_become_contract_messages() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_exclusive();
    // Users, keys and policies are made while enforcement is off.
    let reader = support::iam_user(
        &moto,
        "sts-only",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
        ]}),
    )
    .await;
    let lister = support::iam_user(
        &moto,
        "lister",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "s3:ListBucket"], "Resource": "*"}
        ]}),
    )
    .await;
    let bucket = support::unique("enforced");
    support::bucket_with(&moto, &bucket, &["data/a/1.csv"]).await;
    let path = format!("s3://{bucket}/data");

    support::moto_enforce(&moto, true).await;
    let _restore = support::EnforcementGuard {
        endpoint: moto.endpoint.clone(),
    };

    // Allowed to ask who it is, not to list: STS passes, the listing warns
    // with the contract's message, and the cause is a real AccessDenied.
    let mut c = config(&moto.endpoint, "enforced", &path);
    c["awsAccessKeyId"] = json!(reader.key_id);
    c["awsSecretAccessKey"] = json!(reader.secret);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(checks::sts_found(&reader.user_id, &reader.arn).as_str())
    );
    let t = result(&r, checks::LIST_PREFIXES);
    assert_eq!(t.status, TestStatus::Warning, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(checks::no_access(&path).as_str())
    );
    let clients = client::connect(&support::typed(&c)).await.unwrap();
    let err = clients
        .list_prefixes(Some((&bucket, "data")), 10)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "{err:?}");
    assert_aws_message(&format!("{err}."), "", 403, "AccessDenied");

    // Allowed to list: passes under enforcement too.
    let mut c = config(&moto.endpoint, "enforced-list", &path);
    c["awsAccessKeyId"] = json!(lister.key_id);
    c["awsSecretAccessKey"] = json!(lister.secret);
    let r = validate(&c).await;
    assert_eq!(
        result(&r, checks::LIST_PREFIXES).status,
        TestStatus::Passed,
        "{r:?}"
    );

    // A known key with the wrong secret (the sentinel): SignatureDoesNotMatch.
    let mut c = config(&moto.endpoint, "wrong-secret", &path);
    c["awsAccessKeyId"] = json!(reader.key_id);
    c["awsSecretAccessKey"] = json!(SENTINEL);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert_aws_message(
        t.message.as_deref().unwrap(),
        "SignatureDoesNotMatch: Unable to fetch the caller's identity via the AWS STS API: ",
        403,
        "SignatureDoesNotMatch",
    );
    for name in [
        checks::INSTANCE,
        checks::LIST_PREFIXES,
        checks::LOCATION_ABSENT,
    ] {
        assert_eq!(result(&r, name).status, TestStatus::Skipped, "{name}");
    }
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));

    // A role the user may not assume: AssumeRole's real AccessDenied.
    let mut c = config(&moto.endpoint, "no-assume", &path);
    c["awsAccessKeyId"] = json!(reader.key_id);
    c["awsSecretAccessKey"] = json!(reader.secret);
    let role = "arn:aws:iam::123456789012:role/junction-not-allowed";
    c["awsRoleToAssume"] = json!(role);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert_aws_message(
        t.message.as_deref().unwrap(),
        &format!("AccessDenied: Unable to assume the role [{role}] via the AWS STS API: "),
        403,
        "AccessDenied",
    );

    // A key moto never issued: InvalidClientTokenId.
    let c = config(&moto.endpoint, "unknown-key", &path);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert_aws_message(
        t.message.as_deref().unwrap(),
        "InvalidClientTokenId: Unable to fetch the caller's identity via the AWS STS API: ",
        403,
        "InvalidClientTokenId",
    );
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));
}
