//! STS and S3 against moto: the caller's identity with access keys, with an
//! assumed role and with the standard chain; listing prefixes of an existing
//! bucket; a missing bucket.

use crate::support::{self, config, result};
use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus};
use junction_s3::testing::{checks, client};
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

#[tokio::test]
async fn sts_reports_the_identity_of_the_access_key() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let c = config(&moto.endpoint, "sts", "s3://no-such-bucket-sts");
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    // moto answers for a key it did not issue with its default identity.
    assert_eq!(
        t.message.as_deref(),
        Some(
            "Found user ID [AKIAIOSFODNN7EXAMPLE], ARN [arn:aws:sts::123456789012:user/moto] using STS."
        )
    );
}

#[tokio::test]
async fn sts_reports_an_iam_users_identity() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let user = support::iam_user(
        &moto,
        "sts-user",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    .await;
    let mut c = config(&moto.endpoint, "sts-user", "s3://no-such-bucket-sts");
    c["awsAccessKeyId"] = json!(user.key_id);
    c["awsSecretAccessKey"] = json!(user.secret);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(
        t.message.as_deref(),
        Some(checks::sts_found(&user.user_id, &user.arn).as_str()),
        "{r:?}"
    );
    assert_eq!(t.status, TestStatus::Passed);
}

#[tokio::test]
async fn an_assumed_role_is_the_identity_used() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let role = format!(
        "arn:aws:iam::123456789012:role/{}",
        support::unique("assumed")
    );
    let mut c = config(&moto.endpoint, "assume", "s3://no-such-bucket-assume");
    c["awsRoleToAssume"] = json!(role);
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    let m = t.message.as_deref().unwrap();
    let role_name = role.rsplit('/').next().unwrap();
    assert!(
        m.contains(&format!(
            "ARN [arn:aws:sts::123456789012:assumed-role/{role_name}/junction]"
        )),
        "{m}"
    );
}

#[tokio::test]
async fn auto_uses_the_standard_credential_chain() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let _env = support::ENV_LOCK.lock().await;
    // An IAM user's key in the environment: STS then names that user. Only
    // the environment provider answers: profiles point nowhere, and the
    // instance metadata service is off (support::moto).
    let user = support::iam_user(
        &moto,
        "auto",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    .await;
    support::set_env("AWS_ACCESS_KEY_ID", &user.key_id);
    support::set_env("AWS_SECRET_ACCESS_KEY", &user.secret);
    support::set_env("AWS_CONFIG_FILE", "/nonexistent/junction-test-config");
    support::set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/junction-test-credentials",
    );
    let mut c = config(&moto.endpoint, "auto", "s3://no-such-bucket-auto");
    c["authenticationType"] = json!("auto");
    c.as_object_mut().unwrap().remove("awsAccessKeyId");
    c.as_object_mut().unwrap().remove("awsSecretAccessKey");
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(checks::sts_found(&user.user_id, &user.arn).as_str())
    );
}

#[tokio::test]
async fn listing_an_existing_bucket_passes() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let bucket = support::unique("list");
    support::bucket_with(
        &moto,
        &bucket,
        &["base/a/1.csv", "base/b/2.csv", "base/c.csv", "other/x.csv"],
    )
    .await;
    let path = format!("s3://{bucket}/base");
    let c = config(&moto.endpoint, "list", &path);
    let r = validate(&c).await;
    let t = result(&r, checks::LIST_PREFIXES);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(format!("Listed the path [{path}]: 2 prefix(es) found at its first level.").as_str())
    );
    let clients = client::connect(&support::typed(&c)).await.unwrap();
    let found = clients
        .list_prefixes(Some((&bucket, "base")), 10)
        .await
        .unwrap();
    assert_eq!(found, ["base/a/", "base/b/"]);
    let top = clients
        .list_prefixes(Some((&bucket, "")), 10)
        .await
        .unwrap();
    assert_eq!(top, ["base/", "other/"]);
}

#[tokio::test]
async fn a_missing_bucket_is_a_warning_with_the_contract_message() {
    let Some(moto) = support::moto() else { return };
    let _lock = support::moto_shared();
    let path = format!("s3://{}/prefix", support::unique("missing"));
    let c = config(&moto.endpoint, "missing", &path);
    let r = validate(&c).await;
    let t = result(&r, checks::LIST_PREFIXES);
    assert_eq!(t.status, TestStatus::Warning, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(
            format!(
                "Immuta does not have access to the requested path [{path}]. Without access, Immuta will be unable to assist with S3 path discovery during data source creation."
            )
            .as_str()
        )
    );
    // The cause, as the log shows it: moto's real answer.
    let clients = client::connect(&support::typed(&c)).await.unwrap();
    let (bucket, prefix) = junction_s3::testing::config::split_path(&path).unwrap();
    let err = clients
        .list_prefixes(Some((bucket, prefix)), 10)
        .await
        .unwrap_err();
    match err {
        client::AwsError::Service {
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));
            assert!(!request_id.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auto_without_any_credentials_says_so() {
    // No moto needed: the chain fails before any call.
    let _env = support::ENV_LOCK.lock().await;
    support::set_env("AWS_EC2_METADATA_DISABLED", "true");
    support::remove_env("AWS_ACCESS_KEY_ID");
    support::remove_env("AWS_SECRET_ACCESS_KEY");
    support::remove_env("AWS_SESSION_TOKEN");
    support::remove_env("AWS_PROFILE");
    support::remove_env("AWS_WEB_IDENTITY_TOKEN_FILE");
    support::remove_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    support::remove_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    support::set_env("AWS_CONFIG_FILE", "/nonexistent/junction-test-config");
    support::set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/junction-test-credentials",
    );
    let mut c = config("http://127.0.0.1:1", "nocreds", "s3://bucket-one/x");
    c["authenticationType"] = json!("auto");
    c.as_object_mut().unwrap().remove("awsAccessKeyId");
    c.as_object_mut().unwrap().remove("awsSecretAccessKey");
    let r = validate(&c).await;
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert!(
        t.message.as_deref().unwrap().starts_with(
            "CredentialsError: Unable to fetch the caller's identity via the AWS STS API: no AWS credentials were found by the standard chain: "
        ),
        "{t:?}"
    );
}
