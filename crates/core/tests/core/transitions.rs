//! The transition function, asserted on every (status, event) pair against
//! the table in DESIGN.md, written out here by hand.

use junction_core::{Event, Status, TransitionError, transition};

use Event::*;
use Status::*;

/// Expected outcome: `Ok(status)` or the error variant's name.
enum Want {
    To(Status),
    Err(&'static str),
}
use Want::*;

fn kind(e: &TransitionError) -> &'static str {
    match e {
        TransitionError::NotFound => "NotFound",
        TransitionError::AlreadyExists => "AlreadyExists",
        TransitionError::InProgress(_) => "InProgress",
        TransitionError::Deleted => "Deleted",
        TransitionError::NotAllowed { .. } => "NotAllowed",
        TransitionError::NoOperation(_) => "NoOperation",
    }
}

// Columns: StartCreate, StartEdit, StartDelete, StartMigrate, Succeeded,
// Failed, Disable, Enable, EnableFailed, RevalidationPassed, RevalidationFailed.
const IN_PROGRESS: Want = Err("InProgress");
const NO_OP: Want = Err("NoOperation");
const NOT: Want = Err("NotAllowed");

fn row(from: Option<Status>) -> [Want; 11] {
    match from {
        None => [
            To(Creating),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
        ],
        Some(Creating) => [
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            To(Enabled),
            To(CreateError),
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
        ],
        Some(Editing) => [
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            To(Enabled),
            To(EditError),
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
        ],
        Some(Deleting) => [
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            To(Deleted),
            To(DeleteError),
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
        ],
        Some(Migrating) => [
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            To(Enabled),
            To(MigrateError),
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
            IN_PROGRESS,
        ],
        Some(Enabled) => [
            Err("AlreadyExists"),
            To(Editing),
            To(Deleting),
            To(Migrating),
            NO_OP,
            NO_OP,
            To(Disabled),
            NOT,
            NOT,
            To(Enabled),
            To(RecurringValidationError),
        ],
        // Allows what enabled allows; a pass brings it back.
        Some(RecurringValidationError) => [
            Err("AlreadyExists"),
            To(Editing),
            To(Deleting),
            To(Migrating),
            NO_OP,
            NO_OP,
            To(Disabled),
            NOT,
            NOT,
            To(Enabled),
            To(RecurringValidationError),
        ],
        // Rolled back, still usable: not re-validated on an interval.
        Some(EditError | DeleteError | MigrateError) => [
            Err("AlreadyExists"),
            To(Editing),
            To(Deleting),
            To(Migrating),
            NO_OP,
            NO_OP,
            To(Disabled),
            NOT,
            NOT,
            NOT,
            NOT,
        ],
        Some(CreateError) => [
            Err("AlreadyExists"),
            To(Creating),
            To(Deleting),
            NOT,
            NO_OP,
            NO_OP,
            NOT,
            NOT,
            NOT,
            NOT,
            NOT,
        ],
        // Only enable and delete.
        Some(Disabled) => [
            Err("AlreadyExists"),
            NOT,
            To(Deleting),
            NOT,
            NO_OP,
            NO_OP,
            NOT,
            To(Enabled),
            To(Disabled),
            NOT,
            NOT,
        ],
        Some(Deleted) => [
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
            Err("Deleted"),
        ],
    }
}

#[test]
fn every_status_event_pair_matches_the_table() {
    let froms = std::iter::once(None).chain(Status::ALL.into_iter().map(Some));
    let mut pairs = 0;
    for from in froms {
        for (event, want) in Event::ALL.into_iter().zip(row(from)) {
            let got = transition(from, event);
            match (&want, &got) {
                (To(w), Ok(g)) => assert_eq!(w, g, "{from:?} + {event:?}"),
                (Err(w), Result::Err(e)) => assert_eq!(*w, kind(e), "{from:?} + {event:?}: {e}"),
                _ => panic!("{from:?} + {event:?}: got {got:?}"),
            }
            pairs += 1;
        }
    }
    // Every status and "not yet", times every event.
    assert_eq!(pairs, 13 * 11);
    assert_eq!((Status::ALL.len(), Event::ALL.len()), (12, 11));
}

#[test]
fn statuses_serialise_as_the_contract_spells_them() {
    let spelled: Vec<String> = Status::ALL
        .iter()
        .map(|s| {
            serde_json::to_value(s)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sorted = spelled.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "createError",
            "creating",
            "deleteError",
            "deleted",
            "deleting",
            "disabled",
            "editError",
            "editing",
            "enabled",
            "migrateError",
            "migrating",
            "recurringValidationError"
        ]
    );
    for s in Status::ALL {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        assert_eq!(Status::parse(s.as_str()), Some(s));
        let back: Status = serde_json::from_value(serde_json::json!(s.as_str())).unwrap();
        assert_eq!(back, s);
    }
}

#[test]
fn deleted_and_disabled_are_not_in_use_but_disabled_keeps_its_account() {
    for s in Status::ALL {
        assert_eq!(s.in_use(), !matches!(s, Deleted | Disabled), "{s}");
        assert_eq!(s.holds_account(), s != Deleted, "{s}");
        assert_eq!(
            s.revalidated(),
            matches!(s, Enabled | RecurringValidationError),
            "{s}"
        );
    }
}

#[test]
fn refusals_name_what_was_asked() {
    let err = transition(Some(Disabled), StartEdit).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot edit an integration whose status is disabled"
    );
    let err = transition(Some(Enabled), Enable).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot enable an integration whose status is enabled"
    );
    let err = transition(Some(Disabled), RevalidationPassed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot re-validate an integration whose status is disabled"
    );
    let err = transition(Some(Migrating), Disable).unwrap_err();
    assert!(err.to_string().contains("migrating"), "{err}");
}

#[test]
fn in_progress_errors_name_the_status() {
    let err = transition(Some(Editing), StartDelete).unwrap_err();
    assert!(err.to_string().contains("editing"), "{err}");
}
