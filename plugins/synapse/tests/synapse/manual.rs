//! The manual scripts, run with FreeTDS `tsql` (a client we did not write)
//! against the fake as an operator would run them with sqlcmd: the same
//! catalog as automatic set-up; cleanup, post-cleanup and delete undo it.

use crate::fake_synapse::{ADMIN, FakeSynapse};
use crate::support::{self, ADMIN_PW, DB, auto_config, op, system_user, typed};
use junction_core::{Platform, ScriptKind, TestStatus};
use junction_synapse::SynapseConfig;

const SYS_PW: &str = "Manual-sys-pw-1";

/// The config an operator posts after running the scripts: the system user's.
fn manual_config(port: u16) -> serde_json::Value {
    let mut c = auto_config(port, true);
    c["username"] = system_user().into();
    c["password"] = SYS_PW.into();
    c
}

fn script(kind: ScriptKind, config: &SynapseConfig, previous: Option<&SynapseConfig>) -> String {
    Platform::script(&support::platform(), kind, config, previous)
        .expect("script")
        .text()
}

/// What `sqlcmd -v junction_password=…` does: fill the variable.
fn fill(script: &str) -> String {
    assert!(!script.contains(SYS_PW));
    script.replace("$(junction_password)", SYS_PW)
}

/// Runs a script with tsql as the admin; fails the test on any server error.
fn run(fake: &FakeSynapse, database: &str, script: &str) {
    let out = support::tsql(fake.port, ADMIN, ADMIN_PW, Some(database), script);
    assert!(!out.contains("Msg "), "{script}\n---\n{out}");
}

#[tokio::test]
async fn the_two_stage_scripts_give_the_catalog_of_automatic_set_up() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let auto = support::fake();
    Platform::create(
        &support::platform(),
        &op(true, 0),
        typed(&auto_config(auto.port, true)),
    )
    .await
    .expect("automatic create");

    let fake = support::fake();
    let initial = fake.snapshot();
    let config = typed(&manual_config(fake.port));
    let first = script(ScriptKind::InitialCreate, &config, None);
    assert!(first.contains("CREATE LOGIN"), "{first}");
    assert!(!first.contains("CREATE USER"), "{first}");
    run(&fake, "master", &fill(&first));
    run(&fake, DB, &fill(&script(ScriptKind::Create, &config, None)));
    assert_eq!(fake.snapshot(), auto.snapshot());
    assert!(fake.password_is(&system_user(), SYS_PW));

    // Junction finds the set-up, and the system user passes every test.
    let p = support::platform();
    let out = Platform::create(&p, &op(false, 0), config.clone())
        .await
        .expect("manual create");
    assert_eq!(
        out.bootstrap_version,
        junction_synapse::testing::bootstrap::CURRENT_VERSION
    );
    let r = support::validate(&p, &manual_config(fake.port), false).await;
    assert_eq!(r.status, TestStatus::Passed, "{:?}", support::outcomes(&r));

    // The delete script's two parts take everything away.
    let delete = script(ScriptKind::Delete, &config, None);
    let (in_db, in_master) = delete
        .split_once(junction_synapse::testing::bootstrap::MASTER_PART)
        .expect("two parts");
    run(&fake, DB, in_db);
    run(&fake, "master", in_master);
    assert_eq!(fake.snapshot(), initial);
}

#[tokio::test]
async fn cleanup_and_post_cleanup_remove_what_a_half_run_left() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = support::fake();
    let initial = fake.snapshot();
    let config = typed(&manual_config(fake.port));
    run(
        &fake,
        "master",
        &fill(&script(ScriptKind::InitialCreate, &config, None)),
    );
    // The create script stopped half-way: its first batches only.
    let create = fill(&script(ScriptKind::Create, &config, None));
    let half: Vec<&str> = create.split("\nGO\n").take(6).collect();
    run(&fake, DB, &(half.join("\nGO\n") + "\nGO\n"));
    assert_ne!(fake.snapshot(), initial);
    // A manual create finds no version and says what to run.
    let e = Platform::create(&support::platform(), &op(false, 0), config.clone())
        .await
        .expect_err("no set-up");
    assert!(e.to_string().contains("initial-create"), "{e}");
    run(&fake, DB, &script(ScriptKind::Cleanup, &config, None));
    let post = script(ScriptKind::PostCleanup, &config, None);
    assert!(post.contains("DROP LOGIN"), "{post}");
    run(&fake, "master", &post);
    assert_eq!(fake.snapshot(), initial);
    // Both are safe to run again.
    run(&fake, DB, &script(ScriptKind::Cleanup, &config, None));
    run(&fake, "master", &post);
    assert_eq!(fake.snapshot(), initial);
}

#[tokio::test]
async fn the_edit_script_applies_what_changed() {
    if support::require_tool("tsql").is_none() {
        return;
    }
    let fake = support::fake();
    let mut off = manual_config(fake.port);
    off["impersonation"]["enabled"] = false.into();
    let off = typed(&off);
    run(
        &fake,
        "master",
        &fill(&script(ScriptKind::InitialCreate, &off, None)),
    );
    run(&fake, DB, &fill(&script(ScriptKind::Create, &off, None)));
    let on = typed(&manual_config(fake.port));
    let edit = script(ScriptKind::Edit, &on, Some(&off));
    assert!(edit.contains("CREATE ROLE [immuta_imp]"), "{edit}");
    run(&fake, DB, &edit);
    let snap = fake.snapshot();
    assert!(
        snap.contains(&"pool1: role immuta_imp".to_owned()),
        "{snap:?}"
    );
    // A changed delimiter is refused with its path.
    let mut moved = on.clone();
    moved.metadata_delimiters.hash_delimiter = "#".into();
    let e = Platform::script(&support::platform(), ScriptKind::Edit, &moved, Some(&on))
        .expect_err("fixed");
    assert!(
        e.to_string()
            .contains("config.metadataDelimiters.hashDelimiter"),
        "{e}"
    );
}
