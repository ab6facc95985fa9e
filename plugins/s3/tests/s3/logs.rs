//! Every log line, at TRACE and including the AWS SDK's own, while the secret
//! access key (the sentinel) is used: validation with a refused signature,
//! create, edit and delete. None may hold the secret.

use crate::fake_s3control::FakeS3Control;
use crate::support::{self, ACCOUNT, config, op};
use junction_core::{CheckContext, DynPlatform, RunOptions};
use junction_testkit::SENTINEL;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_log_line_holds_the_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let upstream = support::moto();
    let _lock = upstream.as_ref().map(|_| support::moto_shared());
    let fake = FakeS3Control::start(upstream.as_ref().map(|m| m.endpoint.as_str())).await;
    fake.add_instance(ACCOUNT);
    // The server holds another secret: every S3 Control call is refused.
    fake.know_key(support::TEST_KEY_ID, "not-the-sentinel");
    let path = format!("s3://{}/logs", support::unique("logs"));
    let c = config(&fake.endpoint, "logs", &path);
    let r = DynPlatform::validate(
        &support::platform(),
        &c,
        CheckContext::default(),
        &RunOptions::default(),
        None,
    )
    .await
    .expect("valid");
    assert!(!serde_json::to_string(&r).unwrap().contains(SENTINEL));
    let err = DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect_err("refused signature");
    assert!(!format!("{err} {err:?}").contains(SENTINEL));

    // Now accepted: create, edit, delete.
    fake.know_key(support::TEST_KEY_ID, SENTINEL);
    DynPlatform::create(&support::platform(), &op(0), &c)
        .await
        .expect("create");
    let mut new = c.clone();
    new["awsLocationRole"] = json!("arn:aws:iam::123456789012:role/logs-2");
    DynPlatform::edit(&support::platform(), &op(1), &c, &new)
        .await
        .expect("edit");
    DynPlatform::delete(&support::platform(), &op(1), &new, None)
        .await
        .expect("delete");

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("CreateAccessGrantsLocation")
            || logs.contains("created the Access Grants location"),
        "the SDK's and our lines were captured"
    );
    assert!(logs.len() > 1000, "{logs}");
    assert!(!logs.contains(SENTINEL), "a log line holds the secret");
}
