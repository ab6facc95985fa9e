//! `validate`: the request with its check context and run options, each
//! progress item (one [`WireValidationTest`]) and the answer.

use junction_core::{
    CheckContext, Peer, Remedy, RunOptions, Status, TestStatus, ValidationResults, ValidationTest,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateIn<'a> {
    pub config: Cow<'a, Value>,
    pub ctx: WireCheckContext<'a>,
    pub options: WireRunOptions,
    /// Whether the host wants each test's result as it completes.
    pub progress: bool,
}

/// `CheckContext`. Two of its names are snake_case: ABI 1.0 shipped them so,
/// and libraries built against 1.0 read exactly these (PLUGINS.md, "The JSON").
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCheckContext<'a> {
    #[serde(rename = "integration_id")]
    pub integration_id: Option<i64>,
    #[serde(rename = "auto_bootstrap")]
    pub auto_bootstrap: bool,
    pub peers: Vec<WirePeer<'a>>,
}

impl<'a> From<&'a CheckContext> for WireCheckContext<'a> {
    fn from(ctx: &'a CheckContext) -> Self {
        let CheckContext {
            integration_id,
            auto_bootstrap,
            peers,
        } = ctx;
        WireCheckContext {
            integration_id: *integration_id,
            auto_bootstrap: *auto_bootstrap,
            peers: peers.iter().map(|p| WirePeer::from(&**p)).collect(),
        }
    }
}

impl From<WireCheckContext<'_>> for CheckContext {
    fn from(ctx: WireCheckContext<'_>) -> Self {
        let WireCheckContext {
            integration_id,
            auto_bootstrap,
            peers,
        } = ctx;
        CheckContext {
            integration_id,
            auto_bootstrap,
            peers: Arc::new(peers.into_iter().map(|p| Arc::new(Peer::from(p))).collect()),
        }
    }
}

/// Another integration of the same platform, without its secrets.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePeer<'a> {
    pub id: i64,
    pub status: WireStatus,
    pub config: Cow<'a, Value>,
}

impl<'a> From<&'a Peer> for WirePeer<'a> {
    fn from(p: &'a Peer) -> Self {
        let Peer { id, status, config } = p;
        WirePeer {
            id: *id,
            status: (*status).into(),
            config: Cow::Borrowed(config),
        }
    }
}

impl From<WirePeer<'_>> for Peer {
    fn from(p: WirePeer<'_>) -> Self {
        let WirePeer { id, status, config } = p;
        Peer {
            id,
            status: status.into(),
            config: config.into_owned(),
        }
    }
}

/// An integration's status. A value added here is one a library of an
/// earlier minor cannot read: it needs a minor bump, and a host that does not
/// send it to such libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireStatus {
    Creating,
    CreateError,
    Enabled,
    Editing,
    EditError,
    Deleting,
    DeleteError,
    Deleted,
    Migrating,
    MigrateError,
}

impl From<Status> for WireStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Creating => WireStatus::Creating,
            Status::CreateError => WireStatus::CreateError,
            Status::Enabled => WireStatus::Enabled,
            Status::Editing => WireStatus::Editing,
            Status::EditError => WireStatus::EditError,
            Status::Deleting => WireStatus::Deleting,
            Status::DeleteError => WireStatus::DeleteError,
            Status::Deleted => WireStatus::Deleted,
            Status::Migrating => WireStatus::Migrating,
            Status::MigrateError => WireStatus::MigrateError,
            // ABI minor 0 has no spelling for the two newer statuses, and a
            // library of it could not read one. A peer is sent because it
            // holds its platform account and objects, which both still do,
            // and which is what `enabled` tells a check; a minor bump would
            // carry them exactly.
            Status::RecurringValidationError | Status::Disabled => WireStatus::Enabled,
        }
    }
}

impl From<WireStatus> for Status {
    fn from(s: WireStatus) -> Self {
        match s {
            WireStatus::Creating => Status::Creating,
            WireStatus::CreateError => Status::CreateError,
            WireStatus::Enabled => Status::Enabled,
            WireStatus::Editing => Status::Editing,
            WireStatus::EditError => Status::EditError,
            WireStatus::Deleting => Status::Deleting,
            WireStatus::DeleteError => Status::DeleteError,
            WireStatus::Deleted => Status::Deleted,
            WireStatus::Migrating => Status::Migrating,
            WireStatus::MigrateError => Status::MigrateError,
        }
    }
}

/// `RunOptions`, with durations in whole milliseconds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRunOptions {
    pub default_timeout_ms: u64,
    pub timeout_override_ms: Option<u64>,
    pub platform: String,
}

impl From<&RunOptions> for WireRunOptions {
    fn from(o: &RunOptions) -> Self {
        let RunOptions {
            default_timeout,
            timeout_override,
            platform,
        } = o;
        WireRunOptions {
            default_timeout_ms: millis(*default_timeout),
            timeout_override_ms: timeout_override.map(millis),
            platform: platform.clone(),
        }
    }
}

impl From<WireRunOptions> for RunOptions {
    fn from(o: WireRunOptions) -> Self {
        let WireRunOptions {
            default_timeout_ms,
            timeout_override_ms,
            platform,
        } = o;
        RunOptions {
            default_timeout: Duration::from_millis(default_timeout_ms),
            timeout_override: timeout_override_ms.map(Duration::from_millis),
            platform,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The answer to `validate`: the contract's `validationResults`, and beside
/// its fields the remedies of the failed and warning tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireValidationResults {
    pub status: WireTestStatus,
    pub validation_tests: Vec<WireValidationTest>,
    /// Added in 1.x: absent from older libraries' answers (read as none) and
    /// left out when there is none, so an older host reads the answer as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remedies: Vec<WireRemedy>,
}

impl From<ValidationResults> for WireValidationResults {
    fn from(r: ValidationResults) -> Self {
        let ValidationResults {
            status,
            validation_tests,
            remedies,
        } = r;
        WireValidationResults {
            status: status.into(),
            validation_tests: validation_tests.into_iter().map(Into::into).collect(),
            remedies: remedies.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<WireValidationResults> for ValidationResults {
    /// Keeps the plugin's overall status as it gave it.
    fn from(r: WireValidationResults) -> Self {
        let WireValidationResults {
            status,
            validation_tests,
            remedies,
        } = r;
        ValidationResults {
            status: status.into(),
            validation_tests: validation_tests.into_iter().map(Into::into).collect(),
            remedies: remedies.into_iter().map(Into::into).collect(),
        }
    }
}

/// One remedy: the test, what it found missing, the statements that add it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRemedy {
    pub test: String,
    pub missing: String,
    pub language: String,
    pub statements: Vec<String>,
}

impl From<Remedy> for WireRemedy {
    fn from(r: Remedy) -> Self {
        let Remedy {
            test,
            missing,
            language,
            statements,
        } = r;
        WireRemedy {
            test,
            missing,
            language,
            statements,
        }
    }
}

impl From<WireRemedy> for Remedy {
    fn from(r: WireRemedy) -> Self {
        let WireRemedy {
            test,
            missing,
            language,
            statements,
        } = r;
        Remedy {
            test,
            missing,
            language,
            statements,
        }
    }
}

/// One test's outcome: an item of the answer, and each progress item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireValidationTest {
    pub name: String,
    pub status: WireTestStatus,
    /// Absent when the test has nothing to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<ValidationTest> for WireValidationTest {
    fn from(t: ValidationTest) -> Self {
        let ValidationTest {
            name,
            status,
            message,
        } = t;
        WireValidationTest {
            name,
            status: status.into(),
            message,
        }
    }
}

impl From<WireValidationTest> for ValidationTest {
    fn from(t: WireValidationTest) -> Self {
        let WireValidationTest {
            name,
            status,
            message,
        } = t;
        ValidationTest {
            name,
            status: status.into(),
            message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireTestStatus {
    Passed,
    Failed,
    Warning,
    Skipped,
}

impl From<TestStatus> for WireTestStatus {
    fn from(s: TestStatus) -> Self {
        match s {
            TestStatus::Passed => WireTestStatus::Passed,
            TestStatus::Failed => WireTestStatus::Failed,
            TestStatus::Warning => WireTestStatus::Warning,
            TestStatus::Skipped => WireTestStatus::Skipped,
        }
    }
}

impl From<WireTestStatus> for TestStatus {
    fn from(s: WireTestStatus) -> Self {
        match s {
            WireTestStatus::Passed => TestStatus::Passed,
            WireTestStatus::Failed => TestStatus::Failed,
            WireTestStatus::Warning => TestStatus::Warning,
            WireTestStatus::Skipped => TestStatus::Skipped,
        }
    }
}
