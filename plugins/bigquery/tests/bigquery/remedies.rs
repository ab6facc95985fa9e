//! Remedies of the seven permission tests against `fake_google`, whose
//! testIamPermissions answers what the account's role holds: each case takes
//! one permission away, sees its test (and only its) warn with a remedy that
//! names exactly that permission, "runs" the remedy, and sees every test pass.
//!
//! `gcloud` itself cannot run here (no network but loopback, and it would
//! speak to Google's IAM, which the fake does not serve). So a tiny
//! interpreter below reads the remedy's line as a shell would split it,
//! accepts only `gcloud iam roles update ROLE --project=P
//! --add-permissions=X[,Y]` for the config's role and project, and does to
//! the fake what Google does: the role, granted to the service account,
//! then holds X.

use crate::fake_google::FakeGoogle;
use crate::keys::{self, PROJECT};
use crate::support::{ALL_HELD, config_for, fake, outcome, validate};
use junction_bigquery::testing::checks::PERMISSION_TESTS;
use junction_core::{CheckContext, TestStatus};
use junction_testkit::SENTINEL;

/// POSIX shell word splitting for what `shell_quote` writes: plain words
/// and single-quoted ones (`'\''` for a quote inside).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            ' ' => out.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            ch => word.get_or_insert_with(String::new).push(ch),
        }
    }
    out.extend(word);
    out
}

/// Runs one remedy line against the fake as `gcloud` would against Google.
fn run_gcloud(fake: &FakeGoogle, line: &str, role: &str, project: &str) {
    let w = words(line);
    assert_eq!(
        w.iter().take(4).map(String::as_str).collect::<Vec<_>>(),
        ["gcloud", "iam", "roles", "update"],
        "{line}"
    );
    assert_eq!(w.get(4).map(String::as_str), Some(role), "{line}");
    let mut added = Vec::new();
    let mut project_seen = None;
    for flag in &w[5..] {
        if let Some(p) = flag.strip_prefix("--project=") {
            project_seen = Some(p.to_owned());
        } else if let Some(list) = flag.strip_prefix("--add-permissions=") {
            added.extend(list.split(',').map(str::to_owned));
        } else {
            panic!("a flag the interpreter does not know: {flag} in {line}");
        }
    }
    assert_eq!(project_seen.as_deref(), Some(project), "{line}");
    assert!(!added.is_empty(), "{line}");
    for permission in added {
        fake.add_permission(&keys::email("junction", PROJECT), &permission);
    }
}

#[test]
fn the_interpreter_splits_words_as_a_shell_does() {
    assert_eq!(
        words("gcloud iam roles update 'it'\\''s' --project=p"),
        ["gcloud", "iam", "roles", "update", "it's", "--project=p"]
    );
}

#[tokio::test]
async fn each_missing_permission_warns_with_a_remedy_that_adds_exactly_it() {
    for (test, permission) in PERMISSION_TESTS {
        let held: Vec<&str> = ALL_HELD
            .iter()
            .copied()
            .filter(|p| *p != permission)
            .collect();
        let f = fake(None, 0, &held).await;
        // A key file whose private key id is the sentinel: a remedy never
        // holds anything of the key.
        let mut config = config_for(&f, 0, "meta");
        let mut file = keys::key_file_value(
            0,
            PROJECT,
            &keys::email("junction", PROJECT),
            &f.token_uri(),
        );
        file["private_key_id"] = SENTINEL.into();
        let private_key = file["private_key"].as_str().unwrap().to_owned();
        config["credential"] = file.to_string().into();
        let r = validate(&config, CheckContext::default()).await;
        let (status, message) = outcome(&r, test);
        assert_eq!(status, TestStatus::Warning, "{test}");
        assert!(message.unwrap().contains(permission));
        assert_eq!(r.remedies.len(), 1, "{test}: {:#?}", r.remedies);
        let remedy = &r.remedies[0];
        assert_eq!(remedy.test, test);
        assert_eq!(remedy.language, "shell");
        assert_eq!(
            remedy.missing,
            format!(
                "the permission {permission} in the custom role projects/{PROJECT}/roles/junction_test"
            )
        );
        assert_eq!(
            remedy.statements,
            [format!(
                "gcloud iam roles update junction_test --project={PROJECT} --add-permissions={permission}"
            )]
        );
        let shown = format!("{:?}", r.remedies);
        assert!(!shown.contains(SENTINEL) && !shown.contains(private_key.trim()));

        for line in &remedy.statements {
            run_gcloud(&f, line, "junction_test", PROJECT);
        }
        let r = validate(&config, CheckContext::default()).await;
        assert_eq!(r.status, TestStatus::Passed, "{test}: {r:?}");
        assert_eq!(outcome(&r, test), (TestStatus::Passed, None));
        assert!(r.remedies.is_empty(), "{:?}", r.remedies);
    }
}
