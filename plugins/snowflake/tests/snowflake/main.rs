//! The Snowflake plugin's tests: against fakesnow (the stand-in started by
//! `cargo xtask stand-ins up fakesnow`) where it can express the case, and
//! against `fake_snowflake`, a connector-protocol server in this crate, for
//! roles, grants, users, key-pair JWTs and expired tokens. Test names say
//! which server they use. One test binary; modules by theme.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod contract;
mod fake_snowflake;
mod fakesnow;
mod lifecycle;
mod protocol;
mod remedies;
mod secrets;
mod support;
mod validate;
