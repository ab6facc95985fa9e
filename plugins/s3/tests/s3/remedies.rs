//! The listing test's remedy against moto with IAM enforcement on: a user
//! allowed to ask who it is but not to list gets the contract's warning and
//! a remedy; the remedy's command runs, as it is, in the real AWS CLI (as an
//! operator with IAM rights would run it, pointed at moto by
//! `AWS_ENDPOINT_URL`), and the test passes. Enforcement is global to moto:
//! this test holds the moto lock exclusively, like `auth.rs`.
//!
//! moto checks a policy's action and resource, not its conditions: that the
//! `s3:prefix` condition limits the grant to the path is asserted on the
//! policy text, not proven by moto.

use crate::support::{self, config, result};
use junction_core::{CheckContext, DynPlatform, RunOptions, TestStatus};
use junction_s3::testing::checks;
use junction_testkit::SENTINEL;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The AWS CLI: `JUNCTION_AWS_CLI`, else the one `cargo xtask test` installs
/// in `target/tools/awscli`, else `aws` on the PATH. Outside CI `None` (the
/// test says so and returns); under `CI=true` a missing CLI fails.
fn aws_cli() -> Option<PathBuf> {
    let installed = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .nth(3)
            .map(|t| t.join("tools/awscli/bin/aws"))
    });
    let found = std::env::var_os("JUNCTION_AWS_CLI")
        .map(PathBuf::from)
        .or(installed.filter(|p| p.exists()))
        .or_else(|| {
            Command::new("aws")
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| PathBuf::from("aws"))
        });
    if found.is_none() {
        let msg = "the AWS CLI is missing (cargo xtask test installs it in target/tools/awscli)";
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!in_ci, "{msg}");
        eprintln!("SKIPPING: {msg}");
    }
    found
}

/// Runs one remedy statement in a shell, with `aws` the CLI found, as the
/// given IAM user, against moto.
fn run_statement(cli: &Path, statement: &str, endpoint: &str, admin: &support::IamUser) {
    let dir = cli.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(statement)
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", &admin.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &admin.secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{statement}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn moto_enforced_listing_denied_then_allowed_by_the_remedy() {
    let Some(moto) = support::moto() else { return };
    let Some(cli) = aws_cli() else { return };
    let _lock = support::moto_exclusive();
    // Made while enforcement is off: the operator with IAM rights, and the
    // integration's user, allowed to ask who it is and nothing else.
    let admin = support::iam_user(
        &moto,
        "iam-admin",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}
        ]}),
    )
    .await;
    let reader = support::iam_user(
        &moto,
        "no-list",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
        ]}),
    )
    .await;
    let bucket = support::unique("remedy");
    support::bucket_with(&moto, &bucket, &["data/a/1.csv", "data/b/2.csv"]).await;
    let path = format!("s3://{bucket}/data");

    support::moto_enforce(&moto, true).await;
    let _restore = support::EnforcementGuard {
        endpoint: moto.endpoint.clone(),
    };

    let mut c = config(&moto.endpoint, "remedy", &path);
    c["awsAccessKeyId"] = json!(reader.key_id);
    c["awsSecretAccessKey"] = json!(reader.secret);
    let r = validate(&c).await;
    let t = result(&r, checks::LIST_PREFIXES);
    assert_eq!(t.status, TestStatus::Warning, "{r:?}");
    assert_eq!(
        t.message.as_deref(),
        Some(checks::no_access(&path).as_str())
    );
    assert_eq!(r.remedies.len(), 1, "{:#?}", r.remedies);
    let remedy = &r.remedies[0];
    assert_eq!(remedy.test, checks::LIST_PREFIXES);
    assert_eq!(remedy.language, "shell");
    assert_eq!(
        remedy.missing,
        format!(
            "s3:ListBucket on the bucket {bucket} under the prefix data/, for the IAM user {}",
            reader.name
        )
    );
    let document = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}"),
        "Condition": {"StringLike": {"s3:prefix": ["data/", "data/*"]}}
    }]});
    assert_eq!(
        remedy.statements,
        [format!(
            "aws iam put-user-policy --user-name {} --policy-name junction-list-{bucket} --policy-document '{document}'",
            reader.name
        )]
    );
    // The policy text is the JSON above, quoted for the shell.
    let text = format!("{:?}", r.remedies);
    assert!(!text.contains(&reader.secret) && !text.contains(SENTINEL));

    run_statement(&cli, &remedy.statements[0], &moto.endpoint, &admin);
    let r = validate(&c).await;
    let t = result(&r, checks::LIST_PREFIXES);
    assert_eq!(t.status, TestStatus::Passed, "{r:?}");
    assert!(
        t.message.as_deref().unwrap().contains("2 prefix(es)"),
        "{t:?}"
    );
    assert!(r.remedies.is_empty(), "{:?}", r.remedies);
}

/// Whom the policy goes to, and what it allows, for each shape of path and
/// principal (no AWS needed).
#[test]
fn the_listing_remedy_names_the_principal_and_the_path() {
    let mut c = config("http://127.0.0.1:1", "x", "s3://bkt/a/b");
    c["awsRegion"] = json!("cn-north-1");
    let typed = support::typed(&c);
    let f = checks::list_remedy(
        &typed,
        Some("arn:aws-cn:iam::123456789012:role/team/Reader"),
    );
    assert_eq!(f.language, "shell");
    assert!(
        f.statements[0].starts_with("aws iam put-role-policy --role-name Reader --policy-name junction-list-bkt --policy-document '{"),
        "{f:?}"
    );
    assert!(f.statements[0].contains("arn:aws-cn:s3:::bkt"), "{f:?}");
    assert!(f.statements[0].contains("[\"a/b/\",\"a/b/*\"]"), "{f:?}");

    let f = checks::list_remedy(
        &typed,
        Some("arn:aws:sts::123456789012:assumed-role/Ops/session-1"),
    );
    assert!(
        f.statements[0].starts_with("aws iam put-role-policy --role-name Ops "),
        "{f:?}"
    );

    let all = support::typed(&config("http://127.0.0.1:1", "x", "s3://"));
    let f = checks::list_remedy(&all, Some("arn:aws:iam::123456789012:root"));
    let (command, document) = f.statements[0].split_once(" --policy-document ").unwrap();
    assert_eq!(
        command,
        "aws iam put-user-policy --user-name <IAM_USER_NAME> --policy-name junction-list-buckets"
    );
    let document: Value =
        serde_json::from_str(document.trim_matches('\'')).expect("the policy is JSON");
    assert_eq!(
        document,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
        ]})
    );
    assert_eq!(
        f.missing,
        "s3:ListAllMyBuckets, for the IAM user <IAM_USER_NAME>"
    );
}
