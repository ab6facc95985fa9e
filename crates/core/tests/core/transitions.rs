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

// Columns: StartCreate, StartEdit, StartDelete, StartMigrate, Succeeded, Failed.
fn row(from: Option<Status>) -> [Want; 6] {
    match from {
        None => [
            To(Creating),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
            Err("NotFound"),
        ],
        Some(Creating) => [
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            To(Enabled),
            To(CreateError),
        ],
        Some(Editing) => [
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            To(Enabled),
            To(EditError),
        ],
        Some(Deleting) => [
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            To(Deleted),
            To(DeleteError),
        ],
        Some(Migrating) => [
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            Err("InProgress"),
            To(Enabled),
            To(MigrateError),
        ],
        Some(s @ (Enabled | EditError | DeleteError | MigrateError)) => {
            let _ = s;
            [
                Err("AlreadyExists"),
                To(Editing),
                To(Deleting),
                To(Migrating),
                Err("NoOperation"),
                Err("NoOperation"),
            ]
        }
        Some(CreateError) => [
            Err("AlreadyExists"),
            To(Creating),
            To(Deleting),
            Err("NotAllowed"),
            Err("NoOperation"),
            Err("NoOperation"),
        ],
        Some(Deleted) => [
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
    assert_eq!(pairs, 11 * 6);
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
            "editError",
            "editing",
            "enabled",
            "migrateError",
            "migrating"
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
fn only_deleted_is_not_in_use() {
    for s in Status::ALL {
        assert_eq!(s.in_use(), s != Deleted, "{s}");
    }
}

#[test]
fn in_progress_errors_name_the_status() {
    let err = transition(Some(Editing), StartDelete).unwrap_err();
    assert!(err.to_string().contains("editing"), "{err}");
}
