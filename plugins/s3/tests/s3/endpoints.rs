//! Where the SDK sends each call when no `endpointUrl` is set — AWS's own
//! endpoints, resolved by the SDK's rules — seen by capturing the request
//! instead of sending it (no network). Every other test sets `endpointUrl`.

use crate::support::{self, ACCOUNT};
use aws_sdk_sts::config::SharedHttpClient;
use aws_smithy_http_client::test_util::capture_request;
use junction_s3::testing::client::connect_via;

fn aws_config(region: &str) -> junction_s3::S3Config {
    let mut c = support::config("http://unused", "endpoints", "s3://bucket-one/root");
    c.as_object_mut().expect("object").remove("endpointUrl");
    c["awsRegion"] = region.into();
    support::typed(&c)
}

#[tokio::test]
async fn s3_control_goes_to_the_accounts_regional_endpoint() {
    for region in ["us-east-1", "eu-west-1"] {
        let (http, request) = capture_request(None);
        let clients = connect_via(&aws_config(region), Some(SharedHttpClient::new(http)))
            .await
            .expect("clients");
        let _ = clients
            .control
            .get_access_grants_instance()
            .account_id(ACCOUNT)
            .send()
            .await;
        let sent = request.expect_request();
        assert_eq!(
            sent.uri(),
            format!(
                "https://{ACCOUNT}.s3-control.{region}.amazonaws.com/v20180820/accessgrantsinstance"
            )
        );
        assert_eq!(
            sent.headers().get("x-amz-account-id"),
            Some(ACCOUNT),
            "the account goes in the header too"
        );
        let auth = sent.headers().get("authorization").expect("signed");
        assert!(
            auth.contains(&format!("/{region}/s3/aws4_request")),
            "signed for S3 in {region}: {auth}"
        );
    }
}

#[tokio::test]
async fn sts_and_s3_go_to_their_regional_endpoints() {
    let (http, request) = capture_request(None);
    let clients = connect_via(&aws_config("eu-west-1"), Some(SharedHttpClient::new(http)))
        .await
        .expect("clients");
    let _ = clients.sts.get_caller_identity().send().await;
    assert_eq!(
        request.expect_request().uri(),
        "https://sts.eu-west-1.amazonaws.com/"
    );

    let (http, request) = capture_request(None);
    let clients = connect_via(&aws_config("eu-west-1"), Some(SharedHttpClient::new(http)))
        .await
        .expect("clients");
    let _ = clients
        .s3
        .list_objects_v2()
        .bucket("bucket-one")
        .prefix("root/")
        .send()
        .await;
    let uri = request.expect_request().uri().to_owned();
    // Virtual-hosted style on AWS (path style only for a custom endpoint).
    assert!(
        uri.starts_with("https://bucket-one.s3.eu-west-1.amazonaws.com/?"),
        "{uri}"
    );
}
