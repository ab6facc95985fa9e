//! `Secret<T>`: a value that prints and serialises as a redaction.
//!
//! Reading the value is an explicit call ([`Secret::expose`]). Serialising it
//! with the real value is only possible inside [`with_secrets_exposed`], which
//! the `DynPlatform` of every `Platform` uses to write a typed configuration
//! as full JSON for the host, and nothing else. (The host never calls it: it
//! splits that JSON at the secret paths and seals them with its own key.)

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::Cell;
use std::fmt;

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[redacted]";

thread_local! {
    static EXPOSE: Cell<bool> = const { Cell::new(false) };
}

/// A value that must never leave the host in a response, log, error or panic.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The real value. Every call site is a place a secret is used: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if EXPOSE.with(Cell::get) {
            self.0.serialize(serializer)
        } else {
            serializer.serialize_str(REDACTED)
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Secret<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = T::json_schema(generator);
        // Marks the field for clients and for the host's secret-path discovery.
        schema.insert("writeOnly".into(), true.into());
        schema
    }

    fn inline_schema() -> bool {
        true
    }
}

/// Runs `f` with every [`Secret`] serialising its real value on this thread.
/// For the full JSON a platform hands the host (which seals its secrets at
/// once) only: never for a response or a log.
pub fn with_secrets_exposed<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPOSE.with(|e| e.set(self.0));
        }
    }
    let _reset = Reset(EXPOSE.with(|e| e.replace(true)));
    f()
}
