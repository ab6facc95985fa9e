use junction_core::{TestStatus, ValidationResults, ValidationTest};
use serde_json::json;

fn t(name: &str, status: TestStatus, message: Option<&str>) -> ValidationTest {
    ValidationTest {
        name: name.into(),
        status,
        message: message.map(Into::into),
    }
}

/// Golden: exactly the contract's field names and values.
#[test]
fn results_serialise_to_the_contract_shape() {
    let results = ValidationResults::new(vec![
        t(
            "Initial validation: basic connection test",
            TestStatus::Passed,
            None,
        ),
        t(
            "Validate automatic: database does not exist",
            TestStatus::Failed,
            Some(
                "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name.",
            ),
        ),
        t(
            "Validate automatic: impersonation role does not exist",
            TestStatus::Skipped,
            Some("Skipped: impersonation is not enabled."),
        ),
        t("Some warning test", TestStatus::Warning, Some("careful")),
    ]);
    let got = serde_json::to_value(&results).unwrap();
    let want = json!({
        "status": "failed",
        "validationTests": [
            {"name": "Initial validation: basic connection test", "status": "passed"},
            {"name": "Validate automatic: database does not exist", "status": "failed",
             "message": "The database already exists. If this database can be safely dropped, please do so and try again. Alternatively, specify a different database name."},
            {"name": "Validate automatic: impersonation role does not exist", "status": "skipped", "message": "Skipped: impersonation is not enabled."},
            {"name": "Some warning test", "status": "warning", "message": "careful"}
        ]
    });
    assert_eq!(got, want);
    let back: ValidationResults = serde_json::from_value(got).unwrap();
    assert_eq!(back, results);
}

#[test]
fn overall_status_rule() {
    use TestStatus::*;
    let cases: &[(&[TestStatus], TestStatus)] = &[
        (&[], Skipped),
        (&[Skipped, Skipped], Skipped),
        (&[Passed, Skipped], Passed),
        (&[Passed, Warning, Skipped], Warning),
        (&[Warning], Warning),
        (&[Passed, Warning, Failed], Failed),
        (&[Failed, Skipped], Failed),
    ];
    for (statuses, want) in cases {
        let r = ValidationResults::new(statuses.iter().map(|s| t("x", *s, None)).collect());
        assert_eq!(r.status, *want, "{statuses:?}");
        assert_eq!(r.ok(), *want != Failed);
    }
    for s in [Passed, Failed, Warning, Skipped] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
}
