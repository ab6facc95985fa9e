//! Remedies beside `validationResults`, never inside it: the contract's
//! object keeps its shape, and `remedies` is a sibling key of the answers
//! that carry results (an integration, a validation, a history entry).
//!
//! The store keeps a run's results as one JSON text; when a test left a
//! remedy, that text has a `remedies` member after the contract's two
//! ([`stored`]), so nothing about the store changes and rows written before
//! remedies existed read as having none. Answers take the member out again
//! ([`split`], [`history`]).

use junction_core::{Remedy, ValidationResults};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

const KEY: &str = "remedies";
/// How the member starts in a stored text, which serde_json writes compact.
/// Inside a JSON string every `"` is escaped, so this sequence can only be
/// structure; and no object inside the results has a member of that name.
const MEMBER: &str = ",\"remedies\":";

/// The results' own members in their order, and `remedies` after them.
#[derive(Serialize)]
struct WithRemedies<'a> {
    #[serde(flatten)]
    results: &'a ValidationResults,
    #[serde(skip_serializing_if = "<[Remedy]>::is_empty")]
    remedies: &'a [Remedy],
}

#[derive(Serialize)]
struct Answer<'a> {
    #[serde(flatten)]
    results: &'a ValidationResults,
    remedies: &'a [Remedy],
}

/// The text the store keeps for a run: the contract's `validationResults`,
/// plus its remedies, last, when there are any.
pub fn stored(results: &ValidationResults) -> String {
    crate::secrets::to_json(&WithRemedies {
        results,
        remedies: &results.remedies,
    })
}

/// A stored text as the contract's `validationResults` text and the
/// remedies' JSON array text, when there are any.
pub fn split(stored: &str) -> (Cow<'_, str>, Option<&str>) {
    match stored.rfind(MEMBER) {
        Some(at) if stored.ends_with('}') => (
            Cow::Owned(format!("{}}}", &stored[..at])),
            Some(&stored[at + MEMBER.len()..stored.len() - 1]),
        ),
        _ => (Cow::Borrowed(stored), None),
    }
}

/// `POST /integrations/validate`'s answer: the results' two members and
/// `remedies` beside them (an empty list when every test passed).
pub fn validate_answer(results: &ValidationResults) -> impl Serialize + '_ {
    Answer {
        results,
        remedies: &results.remedies,
    }
}

/// History entries (as JSON) with each entry's remedies moved from inside its
/// `validationResults` to beside it.
pub fn history<T: serde::Serialize>(entries: &T) -> Value {
    let mut v = serde_json::to_value(entries).unwrap_or(Value::Null);
    for entry in v.as_array_mut().into_iter().flatten() {
        let Some(e) = entry.as_object_mut() else {
            continue;
        };
        let remedies = e
            .get_mut("validationResults")
            .and_then(Value::as_object_mut)
            .and_then(|r| r.remove(KEY));
        if let Some(remedies) = remedies {
            e.insert(KEY.into(), remedies);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use junction_core::{Remedy, TestStatus, ValidationTest};
    use serde_json::json;

    fn results(remedies: Vec<Remedy>) -> ValidationResults {
        ValidationResults::new(vec![ValidationTest {
            name: "T".into(),
            status: TestStatus::Failed,
            message: Some("no \"remedies\" here".into()),
        }])
        .with_remedies(remedies)
    }

    fn remedy() -> Remedy {
        Remedy {
            test: "T".into(),
            missing: "a grant".into(),
            language: "sql".into(),
            statements: vec!["GRANT X;".into()],
        }
    }

    #[test]
    fn stored_results_split_back_into_the_contract_and_the_remedies() {
        let plain = results(vec![]);
        let text = stored(&plain);
        assert_eq!(text, serde_json::to_string(&plain).unwrap());
        let (contract, remedies) = split(&text);
        assert_eq!(contract, text);
        assert_eq!(remedies, None);

        let with = results(vec![remedy()]);
        let text = stored(&with);
        let (contract, remedies) = split(&text);
        let contract: Value = serde_json::from_str(&contract).unwrap();
        assert_eq!(contract, serde_json::to_value(&with).unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(remedies.unwrap()).unwrap(),
            json!([{"test": "T", "missing": "a grant", "language": "sql", "statements": ["GRANT X;"]}])
        );
        // What older code reads from the stored text is the contract's object.
        let read: ValidationResults = serde_json::from_str(&text).unwrap();
        assert_eq!(read.validation_tests, with.validation_tests);
    }

    /// A remedy is scrubbed like a message: a secret of the request that a
    /// platform put in one comes out redacted.
    #[test]
    fn remedies_are_scrubbed_of_the_request_secrets() {
        let config = json!({"password": "Sentinel-pw-42"});
        let scrub = crate::secrets::ScrubList::of(&config, &["/password".to_owned()]);
        let mut leaky = remedy();
        leaky.missing = "the password Sentinel-pw-42".into();
        leaky.statements = vec!["ALTER USER u SET PASSWORD = 'Sentinel-pw-42';".into()];
        let r = scrub.results(results(vec![leaky]));
        let text = stored(&r);
        assert!(!text.contains("Sentinel-pw-42"), "{text}");
        assert_eq!(
            r.remedies[0].statements,
            [format!(
                "ALTER USER u SET PASSWORD = '{}';",
                junction_core::REDACTED
            )]
        );
    }

    #[test]
    fn answers_put_remedies_beside_the_results() {
        let with = results(vec![remedy()]);
        let text = serde_json::to_string(&validate_answer(&with)).unwrap();
        assert!(
            text.starts_with("{\"status\":\"failed\",\"validationTests\":["),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["remedies"][0]["test"], "T");
        assert!(v["validationTests"][0].get("remedies").is_none());
        let none = serde_json::to_value(validate_answer(&results(vec![]))).unwrap();
        assert_eq!(none["remedies"], json!([]));

        let stored_with: Value = serde_json::from_str(&stored(&results(vec![remedy()]))).unwrap();
        let h = history(&json!([
            {"seq": 1, "event": "create"},
            {"seq": 2, "event": "validation", "validationResults": stored_with},
        ]));
        assert!(h[0].get("remedies").is_none());
        assert_eq!(h[1]["remedies"][0]["statements"][0], "GRANT X;");
        assert!(h[1]["validationResults"].get("remedies").is_none());
    }
}
