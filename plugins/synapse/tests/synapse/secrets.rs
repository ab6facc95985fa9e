//! A sentinel password never appears in a validation result, an error, a
//! log line (ours or tiberius's, at DEBUG), a script or a Debug print.

use crate::fake_synapse::FakeSynapse;
use crate::support::{self, DB, auto_config, op, op_fault, typed};
use junction_core::{DynPlatform, Platform, ScriptKind};
use junction_testkit::SENTINEL;

fn sentinel_fake() -> FakeSynapse {
    FakeSynapse::start(SENTINEL, &[DB], Some(support::server_tls()))
}

fn sentinel_config(port: u16) -> serde_json::Value {
    let mut c = auto_config(port, true);
    c["password"] = SENTINEL.into();
    c
}

#[tokio::test]
async fn validation_results_and_logs_hold_no_password() {
    let fake = sentinel_fake();
    let p = support::platform();
    let (logs, _guard) = support::capture_logs();
    let ok = support::validate(&p, &sentinel_config(fake.port), true).await;
    assert_eq!(
        ok.status,
        junction_core::TestStatus::Passed,
        "{:?}",
        support::outcomes(&ok)
    );
    // A wrong sentinel password against another server fails without leaking.
    let other = support::fake();
    let bad = support::validate(&p, &sentinel_config(other.port), true).await;
    for r in [&ok, &bad] {
        assert!(!serde_json::to_string(r).unwrap().contains(SENTINEL));
    }
    let parsed = p.parse(&sentinel_config(fake.port), true).unwrap();
    assert!(!parsed.public.to_string().contains(SENTINEL));
    assert!(!logs.text().contains(SENTINEL), "{}", logs.text());
    assert!(!logs.text().is_empty(), "the capture works");
}

#[tokio::test]
async fn create_errors_and_logs_hold_no_password() {
    let fake = sentinel_fake();
    let p = support::platform();
    let (logs, _guard) = support::capture_logs();
    let e = Platform::create(
        &p,
        &op_fault(true, 0, "record-version"),
        typed(&sentinel_config(fake.port)),
    )
    .await
    .expect_err("fault");
    assert!(!e.to_string().contains(SENTINEL));
    assert!(!format!("{e:?}").contains(SENTINEL));
    let out = Platform::create(&p, &op(true, 0), typed(&sentinel_config(fake.port)))
        .await
        .expect("create");
    assert!(!format!("{:?}", out.config).contains(SENTINEL));
    assert!(!format!("{:?}", out.config).contains(out.config.password.expose().as_str()));
    assert!(!logs.text().contains(SENTINEL), "{}", logs.text());
    assert!(
        !logs.text().contains(out.config.password.expose().as_str()),
        "the generated password is not logged"
    );
}

#[test]
fn scripts_hold_no_password() {
    let c = typed(&sentinel_config(1433));
    let p = support::platform();
    for kind in [
        ScriptKind::InitialCreate,
        ScriptKind::Create,
        ScriptKind::Cleanup,
        ScriptKind::PostCleanup,
        ScriptKind::Delete,
        ScriptKind::Edit,
    ] {
        let s = Platform::script(&p, kind, &c, Some(&c))
            .expect("script")
            .text();
        assert!(!s.contains(SENTINEL), "{kind:?}: {s}");
    }
}
