//! The S3 plugin against moto (STS and S3, started by `cargo xtask stand-ins up
//! moto`) and against a fake S3 Control server in this crate for Access Grants,
//! which moto lacks. One test binary; modules by theme (in `tests/s3/`).
//! Every test uses its own bucket and path names: they run in parallel
//! against one moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access_grants;
mod auth;
mod conformance;
mod contract;
mod endpoints;
mod fake_s3control;
mod lifecycle;
mod logs;
mod moto;
mod remedies;
mod static_checks;
mod support;
