//! The Redshift plugin against a real PostgreSQL server (the stand-in started
//! by `cargo xtask stand-ins up postgres`). One test binary; modules by theme.
//! Every test uses its own database and role names: they run in parallel
//! against one cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod contract;
mod faults;
mod lifecycle;
mod manual;
mod support;
mod tls;
mod validate;
