//! Validation results, shaped exactly as the response contract's
//! `validationResults`, and the remedies that travel beside them.

use serde::{Deserialize, Serialize};

/// The status of one validation test, and of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TestStatus {
    Passed,
    Failed,
    Warning,
    Skipped,
}

impl TestStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::Warning => "warning",
            TestStatus::Skipped => "skipped",
        }
    }

    /// Whether a test that requires this one may run after it. A warning is a
    /// pass with a caveat, so it does not hold back what depends on it.
    pub const fn satisfies_prerequisite(self) -> bool {
        matches!(self, TestStatus::Passed | TestStatus::Warning)
    }
}

impl std::fmt::Display for TestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named test's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValidationTest {
    pub name: String,
    pub status: TestStatus,
    /// Context for the operator; contract messages for failures, our own words otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a failed or warning test found missing, and the statements that add
/// exactly that, as a check declares it (the runner names the test).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fix {
    /// What is missing, in words: "USAGE on the warehouse \"WH\" for the role \"R\"".
    pub missing: String,
    /// `sql`, `shell`, … as scripts name their language.
    pub language: String,
    /// Run in order; a secret appears only as a placeholder, never its value.
    pub statements: Vec<String>,
}

/// A [`Fix`] named by the test that found it: one entry of the `remedies`
/// list the host answers beside `validationResults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Remedy {
    pub test: String,
    pub missing: String,
    pub language: String,
    pub statements: Vec<String>,
}

impl Remedy {
    pub fn new(test: impl Into<String>, fix: Fix) -> Self {
        Remedy {
            test: test.into(),
            missing: fix.missing,
            language: fix.language,
            statements: fix.statements,
        }
    }
}

/// The contract's `validationResults` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValidationResults {
    pub status: TestStatus,
    #[serde(rename = "validationTests")]
    pub validation_tests: Vec<ValidationTest>,
    /// The remedies of the failed and warning tests, in the tests' order.
    /// Never serialised with the results (the contract's object has no such
    /// field): they ride along through every call that passes results, and
    /// whoever writes results out (the host's answers and store, the plugin
    /// ABI's wire) puts them beside, explicitly.
    #[serde(skip)]
    pub remedies: Vec<Remedy>,
}

impl ValidationResults {
    /// Builds results with the overall status derived from the tests.
    pub fn new(validation_tests: Vec<ValidationTest>) -> Self {
        let status = overall_status(validation_tests.iter().map(|t| t.status));
        ValidationResults {
            status,
            validation_tests,
            remedies: Vec::new(),
        }
    }

    /// The same results with these remedies.
    pub fn with_remedies(mut self, remedies: Vec<Remedy>) -> Self {
        self.remedies = remedies;
        self
    }

    /// Whether the integration may go on: nothing failed.
    pub fn ok(&self) -> bool {
        self.status != TestStatus::Failed
    }

    /// The first failed test, for a one-line summary.
    pub fn first_failure(&self) -> Option<&ValidationTest> {
        self.validation_tests
            .iter()
            .find(|t| t.status == TestStatus::Failed)
    }
}

/// `failed` if any failed, else `warning` if any warned, else `passed` if any
/// passed, else `skipped` (which includes an empty run).
pub fn overall_status(statuses: impl IntoIterator<Item = TestStatus>) -> TestStatus {
    let (mut failed, mut warning, mut passed) = (false, false, false);
    for s in statuses {
        match s {
            TestStatus::Failed => failed = true,
            TestStatus::Warning => warning = true,
            TestStatus::Passed => passed = true,
            TestStatus::Skipped => {}
        }
    }
    if failed {
        TestStatus::Failed
    } else if warning {
        TestStatus::Warning
    } else if passed {
        TestStatus::Passed
    } else {
        TestStatus::Skipped
    }
}
