//! The response contract's Amazon S3 section, copied here by hand: every
//! test name the plugin declares (in order) and every failure message it can
//! give, placeholders filled. A character changed in the plugin's source
//! fails this test. (The name test's contract row is a copy error — it lists
//! BigQuery's message; ours names the clashing integration, see the README.)

use junction_core::DynPlatform;
use junction_s3::S3;
use junction_s3::testing::checks;
use junction_s3::testing::client::AwsError;

const CONTRACT_TESTS: [&str; 7] = [
    "There is no existing integration matching this configuration",
    "The provided integration name is unique across Immuta S3 integrations",
    "The provided access grants location role is a valid ARN format",
    "The provided AWS credentials allow fetching the caller's identity via the AWS STS API",
    "An AWS Access Grants instance is configured in the provided AWS account and region",
    "The provided S3 path exists and Immuta can list prefixes",
    "An AWS Access Grants location does not yet exist for the provided path",
];

#[test]
fn declared_tests_are_the_contracts_to_the_letter() {
    let d = DynPlatform::descriptor(&S3::new());
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CONTRACT_TESTS);
}

#[test]
fn failure_messages_are_the_contracts_to_the_letter() {
    let denied = AwsError::Service {
        status: 403,
        code: "AccessDenied".into(),
        message: "Access Denied".into(),
        request_id: "REQ1".into(),
    };
    assert_eq!(
        checks::ROLE_ARN_INVALID,
        "The specified access grants location role is not a valid ARN format."
    );
    assert_eq!(
        checks::sts_found("AIDAEXAMPLE", "arn:aws:iam::123456789012:user/junction"),
        "Found user ID [AIDAEXAMPLE], ARN [arn:aws:iam::123456789012:user/junction] using STS."
    );
    assert_eq!(
        checks::instance_failed(&denied),
        "AccessDenied: Unable to retrieve the access grants instance for account, region: AWS responded with code [403], name [AccessDenied] and message [Access Denied] for request ID [REQ1]."
    );
    assert_eq!(
        checks::no_access("s3://bucket/prefix"),
        "Immuta does not have access to the requested path [s3://bucket/prefix]. Without access, Immuta will be unable to assist with S3 path discovery during data source creation."
    );
    assert_eq!(
        checks::locations_failed(&denied, "123456789012", "s3://bucket/prefix/*"),
        "AccessDenied: Unable to list S3 access grants locations for account [123456789012], location scope [s3://bucket/prefix/*]: AWS responded with code [403], name [AccessDenied] and message [Access Denied] for request ID [REQ1]."
    );
}
