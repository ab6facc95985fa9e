//! Checks that need no network: the configuration's rules (each error names
//! its field), the ARN test, and uniqueness against the other S3 integrations.

use crate::support::{self, config, result};
use junction_core::{CheckContext, DynPlatform, Peer, RunOptions, Status, TestStatus};
use junction_s3::testing::checks;
use serde_json::{Value, json};
use std::sync::Arc;

/// Nothing listens here: network tests fail at once, without leaving the machine.
const CLOSED: &str = "http://127.0.0.1:1";

fn paths_of(c: &Value) -> Vec<String> {
    match DynPlatform::parse(&support::platform(), c, false) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|f| f.path).collect(),
    }
}

fn with(field: &str, value: Value) -> Value {
    let mut c = config(CLOSED, "static", "s3://bucket-one/prefix");
    if value.is_null() {
        c.as_object_mut().unwrap().remove(field);
    } else {
        c[field] = value;
    }
    c
}

#[test]
fn a_good_config_parses_and_names_its_account_key() {
    let parsed = DynPlatform::parse(
        &support::platform(),
        &config(CLOSED, "static", "s3://bucket-one/prefix"),
        false,
    )
    .expect("valid");
    assert_eq!(
        parsed.account_key,
        "123456789012/us-east-1/s3://bucket-one/prefix"
    );
    assert!(parsed.public.get("awsSecretAccessKey").is_none());
}

#[test]
fn a_trailing_slash_on_the_path_is_dropped_not_refused() {
    for written in ["s3://bucket-one/prefix/", "s3://bucket-one/prefix//"] {
        let parsed = DynPlatform::parse(
            &support::platform(),
            &config(CLOSED, "static", written),
            false,
        )
        .expect("valid");
        assert_eq!(parsed.public["awsLocationPath"], "s3://bucket-one/prefix");
        assert_eq!(parsed.full["awsLocationPath"], "s3://bucket-one/prefix");
        assert_eq!(
            parsed.account_key,
            "123456789012/us-east-1/s3://bucket-one/prefix"
        );
    }
    let bucket = DynPlatform::parse(
        &support::platform(),
        &config(CLOSED, "static", "s3://bucket-one/"),
        false,
    )
    .expect("valid");
    assert_eq!(bucket.public["awsLocationPath"], "s3://bucket-one");
    // Every bucket of the account stays `s3://`.
    let all = DynPlatform::parse(
        &support::platform(),
        &config(CLOSED, "static", "s3://"),
        false,
    )
    .expect("valid");
    assert_eq!(all.public["awsLocationPath"], "s3://");
}

#[test]
fn each_bad_value_names_its_field() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("awsAccountId", json!("12345"), "config.awsAccountId"),
        ("awsAccountId", json!("12345678901a"), "config.awsAccountId"),
        ("awsRegion", json!("US-EAST-1"), "config.awsRegion"),
        ("awsRegion", json!("useast"), "config.awsRegion"),
        (
            "awsLocationPath",
            json!("bucket/prefix"),
            "config.awsLocationPath",
        ),
        (
            "awsLocationPath",
            json!("s3://Bad_Bucket/x"),
            "config.awsLocationPath",
        ),
        // (A trailing `/` is dropped, not refused: see the test above.)
        (
            "awsLocationPath",
            json!("s3://bucket-one//x"),
            "config.awsLocationPath",
        ),
        (
            "awsLocationPath",
            json!("s3://ab"),
            "config.awsLocationPath",
        ),
        ("awsLocationRole", json!(""), "config.awsLocationRole"),
        (
            "awsRoleToAssume",
            json!("not-an-arn"),
            "config.awsRoleToAssume",
        ),
        ("awsAccessKeyId", Value::Null, "config.awsAccessKeyId"),
        (
            "awsAccessKeyId",
            json!("lowercase-key-id-x"),
            "config.awsAccessKeyId",
        ),
        (
            "awsSecretAccessKey",
            Value::Null,
            "config.awsSecretAccessKey",
        ),
        (
            "endpointUrl",
            json!("ftp://127.0.0.1"),
            "config.endpointUrl",
        ),
        ("timeoutSeconds", json!(0), "config.timeoutSeconds"),
        ("timeoutSeconds", json!(61), "config.timeoutSeconds"),
        ("name", json!("  "), "config.name"),
        (
            "authenticationType",
            json!("password"),
            "config.authenticationType",
        ),
        ("bogus", json!(1), "config.bogus"),
        (
            "awsAccountId",
            json!(123456789012u64),
            "config.awsAccountId",
        ),
    ];
    for (field, value, path) in cases {
        let c = with(field, value.clone());
        assert_eq!(paths_of(&c), vec![path.to_owned()], "{field} = {value}");
    }
    // Keys with `auto` would be ignored: both are named.
    let mut c = with("authenticationType", json!("auto"));
    assert_eq!(
        paths_of(&c),
        vec!["config.awsAccessKeyId", "config.awsSecretAccessKey"]
    );
    c.as_object_mut().unwrap().remove("awsAccessKeyId");
    c.as_object_mut().unwrap().remove("awsSecretAccessKey");
    assert!(paths_of(&c).is_empty());
    // `s3://` alone (every bucket) and a bucket without prefix are fine.
    assert!(paths_of(&with("awsLocationPath", json!("s3://"))).is_empty());
    assert!(paths_of(&with("awsLocationPath", json!("s3://bucket-one"))).is_empty());
}

#[test]
fn auto_bootstrap_is_refused_naming_the_field() {
    let err = DynPlatform::parse(
        &support::platform(),
        &config(CLOSED, "static", "s3://bucket-one/prefix"),
        true,
    )
    .expect_err("manual only");
    assert_eq!(err.0[0].path, "autoBootstrap");
    assert!(err.0[0].message.contains("autoBootstrap"), "{err}");
}

fn peer(id: i64, name: &str, path: &str) -> Arc<Peer> {
    Arc::new(Peer {
        id,
        status: Status::Enabled,
        config: json!({
            "name": name,
            "awsAccountId": support::ACCOUNT,
            "awsRegion": support::REGION,
            "awsLocationRole": support::LOCATION_ROLE,
            "awsLocationPath": path,
            "authenticationType": "accessKey",
            "awsAccessKeyId": support::TEST_KEY_ID,
        }),
    })
}

async fn validate(c: &Value, ctx: CheckContext) -> junction_core::ValidationResults {
    DynPlatform::validate(&support::platform(), c, ctx, &RunOptions::default(), None)
        .await
        .expect("valid config")
}

#[tokio::test]
async fn static_tests_fail_with_their_messages_and_network_tests_wait_on_sts() {
    let mut c = config(CLOSED, "Lake", "s3://bucket-one/prefix");
    c["awsLocationRole"] = json!("arn:aws:iam::123456789012:user/not-a-role");
    let ctx = CheckContext {
        integration_id: None,
        auto_bootstrap: false,
        peers: Arc::new(vec![
            peer(7, "lake", "s3://bucket-one/prefix"),
            peer(8, "Other", "s3://bucket-two"),
        ]),
    };
    let r = validate(&c, ctx).await;
    let names: Vec<&str> = r.validation_tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            checks::NO_MATCH,
            checks::NAME_UNIQUE,
            checks::ROLE_ARN,
            checks::STS,
            checks::INSTANCE,
            checks::LIST_PREFIXES,
            checks::LOCATION_ABSENT,
        ]
    );
    let t = result(&r, checks::NO_MATCH);
    assert_eq!(t.status, TestStatus::Failed);
    assert_eq!(
        t.message.as_deref(),
        Some(
            "The S3 integration with ID [7] already uses account [123456789012], region [us-east-1] and path [s3://bucket-one/prefix]. Edit that integration, or choose another path."
        )
    );
    let t = result(&r, checks::NAME_UNIQUE);
    assert_eq!(t.status, TestStatus::Failed);
    assert_eq!(
        t.message.as_deref(),
        Some(
            "The integration name [Lake] is already used by the S3 integration with ID [7]. Choose another name."
        )
    );
    let t = result(&r, checks::ROLE_ARN);
    assert_eq!(t.status, TestStatus::Failed);
    assert_eq!(
        t.message.as_deref(),
        Some("The specified access grants location role is not a valid ARN format.")
    );
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed);
    let m = t.message.as_deref().unwrap();
    assert!(
        m.starts_with(
            "ConnectionError: Unable to fetch the caller's identity via the AWS STS API: no answer from AWS: "
        ),
        "{m}"
    );
    for name in [
        checks::INSTANCE,
        checks::LIST_PREFIXES,
        checks::LOCATION_ABSENT,
    ] {
        let t = result(&r, name);
        assert_eq!(t.status, TestStatus::Skipped, "{name}");
        assert!(t.message.as_deref().unwrap().contains(checks::STS), "{t:?}");
    }
    assert!(
        !serde_json::to_string(&r)
            .unwrap()
            .contains(junction_testkit::SENTINEL)
    );
}

#[tokio::test]
async fn an_edit_does_not_clash_with_itself() {
    let c = config(CLOSED, "Lake", "s3://bucket-one/prefix");
    let ctx = CheckContext {
        integration_id: Some(7),
        auto_bootstrap: false,
        peers: Arc::new(vec![peer(7, "Lake", "s3://bucket-one/prefix")]),
    };
    let r = validate(&c, ctx).await;
    for name in [checks::NO_MATCH, checks::NAME_UNIQUE, checks::ROLE_ARN] {
        assert_eq!(result(&r, name).status, TestStatus::Passed, "{name}: {r:?}");
    }
}

#[test]
fn role_arns() {
    use junction_s3::testing::config::is_role_arn;
    for ok in [
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:iam::123456789012:role/service-role/Access.Grants+Role=1,x@y_z-",
        "arn:aws-us-gov:iam::123456789012:role/x",
        "arn:aws-cn:iam::123456789012:role/x",
    ] {
        assert!(is_role_arn(ok), "{ok}");
    }
    for bad in [
        "",
        "role/x",
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:iam::12345678901:role/x",
        "arn:aws:s3::123456789012:role/x",
        "arn:aws:iam:us-east-1:123456789012:role/x",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/a b",
        "arn:aws:iam::123456789012:role/x//y",
        "arn:gcp:iam::123456789012:role/x",
    ] {
        assert!(!is_role_arn(bad), "{bad}");
    }
}

#[tokio::test]
async fn a_silent_endpoint_fails_within_the_configured_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut c = config(&endpoint, "silent", "s3://bucket-one/prefix");
    c["timeoutSeconds"] = json!(1);
    let r = validate(&c, CheckContext::default()).await;
    hold.abort();
    let t = result(&r, checks::STS);
    assert_eq!(t.status, TestStatus::Failed, "{r:?}");
    assert!(
        t.message
            .as_deref()
            .unwrap()
            .starts_with("ConnectionError: Unable to fetch the caller's identity via the AWS STS API: no answer from AWS: "),
        "{t:?}"
    );
    // "no answer from AWS" is the SDK's own timeout: the check runner's (far
    // longer) would have failed the test with another message.
}
