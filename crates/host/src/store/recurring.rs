//! What recurring validation, `disable` and `enable` need from a store: an
//! integration's own interval, the schedule of its next run, and the
//! transactions that take, end and release a re-validation's lease.
//! [`RecurringStore`] is a part of every [`crate::store::Store`].
//!
//! A re-validation (recurring, or an enable's) holds the integration's
//! operation lease, with the kind `validate` or `enable` and no status of
//! its own, so no operation's lease is ever taken by it and two hosts never
//! run the same one. An operation started by a caller takes the lease from a
//! running re-validation instead of waiting for it: the re-validation only
//! reads, and its end is fenced out (`LeaseLost`), so it never lands after
//! the operation began.

use crate::store::{IntegrationRow, OpLease, StoreError};
use async_trait::async_trait;
use junction_core::{Event, Status};
use serde_json::Value;
use std::time::Duration;

/// The lease kind of a recurring run.
pub const VALIDATE: &str = "validate";
/// The lease kind of an enable's validation.
pub const ENABLE: &str = "enable";
/// The shortest interval accepted: a platform is not to be polled harder.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// SQL: the lease kinds of re-validations, which recovery does not take
/// over (they only read: an expired one is released and runs again).
pub const REVALIDATION_KINDS_SQL: &str = "('validate', 'enable')";

/// SQL: the statuses that are re-validated on an interval, from the core.
pub fn revalidated_statuses_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let list: Vec<String> = Status::ALL
            .into_iter()
            .filter(|s| s.revalidated())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("({})", list.join(", "))
    });
    &SQL
}

/// An integration's own re-validation interval: its `revalidateEvery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Revalidate {
    /// None of its own: the server's `--revalidate-every`.
    #[default]
    ServerDefault,
    /// Never re-validated on an interval (`"off"`).
    Off,
    /// Every this long (at least [`MIN_INTERVAL`]).
    Every(Duration),
}

impl Revalidate {
    /// The stored column: NULL for the server's default, 0 for off, else milliseconds.
    pub fn to_column(self) -> Option<i64> {
        match self {
            Revalidate::ServerDefault => None,
            Revalidate::Off => Some(0),
            Revalidate::Every(d) => Some(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    pub fn from_column(ms: Option<i64>) -> Self {
        match ms {
            None => Revalidate::ServerDefault,
            Some(ms) if ms <= 0 => Revalidate::Off,
            Some(ms) => Revalidate::Every(Duration::from_millis(ms.unsigned_abs())),
        }
    }

    /// How often it runs given the server's default (`None`: never).
    pub fn interval(self, server_default: Option<Duration>) -> Option<Duration> {
        match self {
            Revalidate::ServerDefault => server_default,
            Revalidate::Off => None,
            Revalidate::Every(d) => Some(d),
        }
    }

    /// A duration as the flag and the payload spell it: `off` or `0`
    /// (never), else `1h`, `30m`, `90s`, `1.5h` (see
    /// [`crate::util::parse_duration`]), at least one second.
    pub fn parse_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("off") {
            return Ok(Revalidate::Off);
        }
        let d = crate::util::parse_duration(t)?;
        if d.is_zero() {
            Ok(Revalidate::Off)
        } else if d < MIN_INTERVAL {
            Err(format!(
                "`{t}` is shorter than the shortest interval, 1s (or \"off\")"
            ))
        } else {
            Ok(Revalidate::Every(d))
        }
    }

    /// The payload's `revalidateEvery`: absent or null is the server's
    /// default, else a duration string. The message is for the field's path.
    pub fn from_payload(value: Option<&Value>) -> Result<Self, String> {
        match value {
            None | Some(Value::Null) => Ok(Revalidate::ServerDefault),
            Some(Value::String(s)) => Self::parse_str(s),
            Some(_) => Err(
                "must be a duration string such as \"6h\", \"30m\" or \"90s\", or \"off\"".into(),
            ),
        }
    }

    /// How GET shows it: `None` when it has none of its own. The largest
    /// unit that is exact: `6h`, `90m`, `45s`, `1500ms`.
    pub fn to_display(self) -> Option<String> {
        match self {
            Revalidate::ServerDefault => None,
            Revalidate::Off => Some("off".into()),
            Revalidate::Every(d) => Some(spell(d)),
        }
    }
}

/// A duration in the largest unit that is exact.
pub fn spell(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// What taking due re-validations needs.
#[derive(Debug, Clone)]
pub struct RevalidationClaim {
    pub now_ms: i64,
    /// Whether integrations without their own interval are re-validated
    /// (the server's default is not `off`).
    pub default_on: bool,
    pub owner: String,
    pub expires_ms: i64,
    /// Each claimed run's operation id is this prefix and the integration's id.
    pub op_prefix: String,
    pub limit: usize,
}

/// The end of a re-validation: its outcome's event, fenced by its operation id.
#[derive(Debug, Clone)]
pub struct RevalidationEnd {
    pub id: i64,
    pub op_id: String,
    /// `RevalidationPassed`/`RevalidationFailed` (recurring) or
    /// `Enable`/`EnableFailed` (an enable's).
    pub event: Event,
    /// `validationResults` as stored (with remedies).
    pub results: String,
    pub message: String,
    /// When the next recurring run is due (`None`: not scheduled).
    pub next_validation_at: Option<i64>,
}

/// The store's part of recurring validation, disable and enable.
#[async_trait]
pub trait RecurringStore: Send + Sync {
    /// Re-validated integrations with no next run scheduled (new, just out
    /// of an operation, or just enabled), each with its own interval; at most `limit`.
    async fn unscheduled(
        &self,
        default_on: bool,
        limit: usize,
    ) -> Result<Vec<(i64, Revalidate)>, StoreError>;
    /// Schedules each `(id, at_ms)` where it is still unscheduled and re-validated.
    async fn schedule(&self, runs: &[(i64, i64)]) -> Result<(), StoreError>;
    /// Takes the lease of due runs of integrations no operation holds;
    /// two hosts claiming at once never get the same one.
    async fn claim_revalidations(
        &self,
        claim: &RevalidationClaim,
    ) -> Result<Vec<IntegrationRow>, StoreError>;
    /// Ends a re-validation: its transition, results, history line and next
    /// run; `LeaseLost` when an operation took the lease meanwhile.
    async fn finish_revalidation(
        &self,
        end: &RevalidationEnd,
    ) -> Result<IntegrationRow, StoreError>;
    /// Releases re-validation leases that expired (their host stopped; not
    /// those in `except`, this host's own): the run is simply due again.
    async fn release_expired_revalidations(
        &self,
        now_ms: i64,
        except: &[String],
    ) -> Result<usize, StoreError>;
    /// Takes an enable's lease on a disabled integration read at `expected_version`.
    async fn begin_enable(
        &self,
        id: i64,
        expected_version: i64,
        lease: &OpLease,
    ) -> Result<IntegrationRow, StoreError>;
    /// Disables (no platform call): status, history, event; a running
    /// re-validation's lease is dropped and the next run unscheduled.
    async fn disable(
        &self,
        id: i64,
        expected_version: i64,
        key_id: Option<&str>,
    ) -> Result<IntegrationRow, StoreError>;
}

/// The history line of a disable.
pub const DISABLED_MESSAGE: &str = "Disabled: nothing on the platform was changed, and the integration is no longer re-validated. `POST /integrations/{id}/enable` re-validates it and brings it back.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intervals_parse_and_spell() {
        assert_eq!(Revalidate::parse_str("off"), Ok(Revalidate::Off));
        assert_eq!(Revalidate::parse_str("0"), Ok(Revalidate::Off));
        assert_eq!(
            Revalidate::parse_str("1h"),
            Ok(Revalidate::Every(Duration::from_secs(3600)))
        );
        assert!(Revalidate::parse_str("500ms").is_err());
        assert!(Revalidate::parse_str("soon").is_err());
        for (text, spelled) in [
            ("90m", "90m"),
            ("2h", "2h"),
            ("1.5s", "1500ms"),
            ("86400", "1d"),
        ] {
            let r = Revalidate::parse_str(text).unwrap();
            assert_eq!(r.to_display().as_deref(), Some(spelled));
            assert_eq!(Revalidate::from_column(r.to_column()), r);
        }
        assert_eq!(
            Revalidate::from_payload(None),
            Ok(Revalidate::ServerDefault)
        );
        assert_eq!(
            Revalidate::from_payload(Some(&json!(null))),
            Ok(Revalidate::ServerDefault)
        );
        assert!(Revalidate::from_payload(Some(&json!(3600))).is_err());
        assert_eq!(Revalidate::ServerDefault.to_display(), None);
        assert_eq!(
            Revalidate::from_column(Revalidate::ServerDefault.to_column()),
            Revalidate::ServerDefault
        );
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(Revalidate::ServerDefault.interval(hour), hour);
        assert_eq!(Revalidate::Off.interval(hour), None);
    }

    #[test]
    fn the_revalidated_statuses_come_from_the_core() {
        assert_eq!(
            revalidated_statuses_sql(),
            "('enabled', 'recurringValidationError')"
        );
    }
}
