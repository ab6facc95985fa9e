//! The testkit's conformance suite, registration, the descriptor, and the
//! secret access key kept out of every output.

use crate::support::{self, config};
use junction_core::{BootstrapModes, DynPlatform, Platform, Registry};
use junction_s3::S3;
use junction_s3::testing::checks;
use junction_testkit::SENTINEL;

#[test]
fn conforms_to_the_testkit_suite() {
    junction_testkit::conformance::assert_conforms(&S3::new());
}

#[test]
fn registers_itself_when_linked() {
    let registry = Registry::linked().expect("registry");
    assert!(registry.get("Native S3").is_some(), "{registry:?}");
}

#[test]
fn descriptor_declares_the_secret_key_and_the_contract_tests() {
    let d = DynPlatform::descriptor(&S3::new());
    assert_eq!(d.type_name, "Native S3");
    assert_eq!(d.secret_paths, vec!["/awsSecretAccessKey".to_owned()]);
    assert_eq!(d.bootstrap_modes, BootstrapModes::ManualOnly);
    assert_eq!(d.bootstrap_version, 1);
    let names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "There is no existing integration matching this configuration",
            "The provided integration name is unique across Immuta S3 integrations",
            "The provided access grants location role is a valid ARN format",
            "The provided AWS credentials allow fetching the caller's identity via the AWS STS API",
            "An AWS Access Grants instance is configured in the provided AWS account and region",
            "The provided S3 path exists and Immuta can list prefixes",
            "An AWS Access Grants location does not yet exist for the provided path",
        ]
    );
    for c in &d.checks[3..] {
        assert!(c.timeout_seconds.is_some(), "{c:?}");
    }
    assert!(d.checks[4].requires.contains(&checks::STS.to_owned()));
    assert!(d.checks[6].requires.contains(&checks::INSTANCE.to_owned()));
}

#[test]
fn the_secret_is_in_no_debug_public_config_or_error() {
    let c = config("http://127.0.0.1:1", "secret", "s3://bucket-one/x");
    let typed = support::typed(&c);
    assert!(!format!("{typed:?}").contains(SENTINEL));
    assert!(!serde_json::to_string(&typed).unwrap().contains(SENTINEL));
    let parsed = DynPlatform::parse(&S3::new(), &c, false).unwrap();
    assert!(!parsed.public.to_string().contains(SENTINEL));
    assert!(
        parsed.full.to_string().contains(SENTINEL),
        "kept for the store"
    );
    // A bad value next to the secret: the error names fields, not values.
    let mut bad = c.clone();
    bad["awsAccountId"] = serde_json::json!("x");
    bad["awsSecretAccessKey"] = serde_json::json!(7);
    let err = DynPlatform::parse(&S3::new(), &bad, false).unwrap_err();
    assert!(!err.to_string().contains(SENTINEL));
    assert_eq!(Platform::type_name(&S3::new()), "Native S3");
}

#[tokio::test]
async fn the_secret_is_not_in_the_clients_debug() {
    let c = support::typed(&config("http://127.0.0.1:1", "secret", "s3://bucket-one/x"));
    let clients = junction_s3::testing::connect(&c).await.unwrap();
    assert!(!format!("{clients:?}").contains(SENTINEL));
}
