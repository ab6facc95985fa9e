//! The Databricks plugin against minilake (the stand-in started by
//! `cargo xtask stand-ins up minilake`) and against `fake_databricks`, a
//! server in this crate for what minilake cannot express. One test binary;
//! modules by theme. Each test names the server it proves something on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod contract;
mod fake_databricks;
mod lifecycle;
mod oauth;
mod remedies;
mod secrets;
mod statements;
mod support;
mod validate;
