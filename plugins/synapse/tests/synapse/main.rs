//! The Synapse plugin against TDS servers: `fake_synapse` (ours, in this
//! crate), pysqlbridge (a stand-in we did not write, `cargo xtask stand-ins up
//! pysqlbridge`) and FreeTDS's `tsql` as an independent client of the fake.
//! One test binary; modules by theme.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod contract;
mod fake_synapse;
mod fake_tests;
mod lifecycle;
mod manual;
mod pysqlbridge;
mod remedies;
mod secrets;
mod support;
mod validate;
