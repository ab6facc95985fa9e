//! The BigQuery plugin against bqemulator (the stand-in started by `cargo
//! xtask stand-ins up bqemulator`) and against the fakes of this crate: a
//! token endpoint that checks the signed JWT, and Resource Manager's
//! `testIamPermissions`. One test binary; modules by theme.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod auth;
mod config;
mod conformance;
mod contract;
mod fake_google;
mod jwt;
mod keys;
mod lifecycle;
mod logs;
mod remedies;
mod scripts;
mod support;
mod validate;
