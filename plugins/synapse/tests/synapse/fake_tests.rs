//! The fake against clients we did not write: FreeTDS `tsql`, and tiberius
//! with each encryption level. Proof that it speaks TDS as others expect.

use crate::fake_synapse::{ADMIN, Encryption, FakeSynapse};
use crate::support::{self, tiberius_client};
use tiberius::EncryptionLevel;

const PW: &str = "Admin-pw-1";

#[test]
fn tsql_logs_in_and_runs_a_query_over_a_tls_wrapped_login() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = FakeSynapse::start(PW, &["pool1"], Some(support::server_tls()));
    let out = support::tsql(
        fake.port,
        ADMIN,
        PW,
        Some("pool1"),
        "SELECT DB_NAME() AS db, 42 AS answer\ngo",
    );
    assert!(out.contains("pool1"), "{out}");
    assert!(out.contains("42"), "{out}");
    assert!(out.contains("(1 row affected)"), "{out}");
    assert_eq!(fake.logins_attempted(), 1);
    // FreeTDS asks for encryption of the log-in only by default.
    assert_eq!(fake.encryptions(), [Encryption::LoginOnly]);
}

#[test]
fn tsql_without_tls_on_the_server_and_a_wrong_password_gets_18456() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = FakeSynapse::start(PW, &["pool1"], None);
    let out = support::tsql(
        fake.port,
        ADMIN,
        PW,
        None,
        "SELECT name FROM sys.schemas WHERE name = 'dbo'\ngo",
    );
    assert!(out.contains("(1 row affected)"), "{out}");
    let out = support::tsql(fake.port, ADMIN, "wrong", None, "SELECT 1\ngo");
    assert!(out.contains("Login failed for user 'sqladmin'."), "{out}");
    assert_eq!(fake.encryptions(), [Encryption::None, Encryption::None]);
}

#[test]
fn tsql_sees_sql_server_error_numbers() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = FakeSynapse::start(PW, &["pool1"], Some(support::server_tls()));
    let out = support::tsql(
        fake.port,
        ADMIN,
        PW,
        Some("pool1"),
        "CREATE SCHEMA [s1]\ngo\nCREATE SCHEMA [s1]\ngo",
    );
    assert!(out.contains("Msg 2714"), "{out}");
    assert!(
        out.contains("There is already an object named 's1' in the database."),
        "{out}"
    );
}

#[tokio::test]
async fn tiberius_at_each_encryption_level() {
    let fake = FakeSynapse::start(PW, &["pool1"], Some(support::server_tls()));
    for level in [
        EncryptionLevel::NotSupported,
        EncryptionLevel::Off,
        EncryptionLevel::Required,
    ] {
        let mut c = tiberius_client(fake.port, ADMIN, PW, "pool1", level)
            .await
            .unwrap();
        let row = c
            .query("SELECT DB_NAME() AS db, @P1 AS n", &[&7i32])
            .await
            .unwrap()
            .into_row()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.get::<&str, _>("db"), Some("pool1"));
        assert_eq!(row.get::<i32, _>("n"), Some(7));
    }
    assert_eq!(
        fake.encryptions(),
        [Encryption::None, Encryption::LoginOnly, Encryption::Full]
    );
}

#[tokio::test]
async fn tiberius_wrong_password_and_server_errors_carry_their_numbers() {
    let fake = FakeSynapse::start(PW, &["pool1"], None);
    let e = tiberius_client(
        fake.port,
        ADMIN,
        "nope",
        "pool1",
        EncryptionLevel::NotSupported,
    )
    .await
    .expect_err("refused");
    match e {
        tiberius::error::Error::Server(t) => {
            assert_eq!(t.code(), 18456);
            assert_eq!(t.message(), "Login failed for user 'sqladmin'.");
        }
        other => panic!("{other:?}"),
    }
    let mut c = tiberius_client(fake.port, ADMIN, PW, "pool1", EncryptionLevel::NotSupported)
        .await
        .unwrap();
    c.execute("CREATE ROLE [r1]", &[]).await.unwrap();
    let dup = c
        .simple_query("CREATE ROLE [r1]")
        .await
        .expect_err("duplicate");
    assert!(
        matches!(&dup, tiberius::error::Error::Server(t) if t.code() == 15023),
        "{dup:?}"
    );
    let missing = c
        .simple_query("DROP USER [nobody]")
        .await
        .expect_err("missing");
    assert!(
        matches!(&missing, tiberius::error::Error::Server(t) if t.code() == 15151),
        "{missing:?}"
    );
    let rows = c
        .query(
            "SELECT name FROM sys.database_principals WHERE name = @P1",
            &[&"R1"],
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "names compare case-insensitively");
    assert_eq!(
        fake.snapshot(),
        ["login sqladmin admin=true", "pool1: role r1"]
    );
}

#[tokio::test]
async fn a_user_without_grants_is_denied_with_sql_server_numbers() {
    let fake = FakeSynapse::start(PW, &["pool1"], None);
    fake.admin_batch("master", "CREATE LOGIN [u1] WITH PASSWORD = N'U1-pw'")
        .unwrap();
    fake.admin_batch("pool1", "CREATE USER [u1] FROM LOGIN [u1]")
        .unwrap();
    fake.admin_batch("pool1", "CREATE SCHEMA [s]").unwrap();
    fake.admin_batch("pool1", "CREATE TABLE [s].[t] (version int NOT NULL)")
        .unwrap();
    let mut c = tiberius_client(
        fake.port,
        "u1",
        "U1-pw",
        "pool1",
        EncryptionLevel::NotSupported,
    )
    .await
    .unwrap();
    let code = |e: tiberius::error::Error| match e {
        tiberius::error::Error::Server(t) => t.code(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(c.simple_query("CREATE SCHEMA [x]").await.err().unwrap()),
        262
    );
    assert_eq!(
        code(
            c.simple_query("SELECT version FROM [s].[t]")
                .await
                .err()
                .unwrap()
        ),
        229
    );
    assert_eq!(
        code(
            c.simple_query("CREATE LOGIN [z] WITH PASSWORD = N'p'")
                .await
                .err()
                .unwrap()
        ),
        15247
    );
    let perms = c
        .simple_query("SELECT permission_name FROM fn_my_permissions(NULL, 'DATABASE')")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let names: Vec<&str> = perms.iter().filter_map(|r| r.get::<&str, _>(0)).collect();
    assert_eq!(names, ["CONNECT"]);
    let has = c
        .simple_query("SELECT HAS_PERMS_BY_NAME(N's', 'SCHEMA', 'ALTER'), HAS_PERMS_BY_NAME(N'nope', 'SCHEMA', 'ALTER')")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(has.get::<i32, _>(0), Some(0));
    assert_eq!(has.get::<i32, _>(1), None);
}

#[tokio::test]
async fn transient_login_errors_are_served_once_each() {
    let fake = FakeSynapse::start(PW, &["pool1"], None);
    fake.fail_next_logins(&[42108]);
    let e = tiberius_client(fake.port, ADMIN, PW, "pool1", EncryptionLevel::NotSupported)
        .await
        .expect_err("paused");
    assert!(
        matches!(&e, tiberius::error::Error::Server(t) if t.code() == 42108),
        "{e:?}"
    );
    tiberius_client(fake.port, ADMIN, PW, "pool1", EncryptionLevel::NotSupported)
        .await
        .unwrap();
    assert_eq!(fake.logins_attempted(), 2);
}

#[tokio::test]
async fn quoting_is_read_as_sql_server_reads_it() {
    let fake = FakeSynapse::start(PW, &["pool1"], None);
    fake.admin_batch("master", "CREATE LOGIN [o]]k] WITH PASSWORD = N'it''s-1'")
        .unwrap();
    fake.admin_batch(
        "pool1",
        "CREATE USER [o]]k] FROM LOGIN [o]]k]; CREATE ROLE [r]",
    )
    .unwrap();
    tiberius_client(
        fake.port,
        "o]k",
        "it's-1",
        "pool1",
        EncryptionLevel::NotSupported,
    )
    .await
    .unwrap();
    // A syntax error stops the whole batch before anything runs.
    let e = fake
        .admin_batch("pool1", "CREATE ROLE [r2]; CREATE SCHEMA")
        .unwrap_err();
    assert_eq!(e.0, 102);
    // CREATE SCHEMA must open its batch (111).
    let e = fake
        .admin_batch("pool1", "CREATE ROLE [r3]; CREATE SCHEMA [s]")
        .unwrap_err();
    assert_eq!(e.0, 111);
    assert_eq!(
        fake.snapshot(),
        [
            "login o]k admin=false",
            "login sqladmin admin=true",
            "pool1: Grant CONNECT ON DATABASE TO o]k",
            "pool1: role r",
            "pool1: user o]k login=o]k"
        ]
    );
}
