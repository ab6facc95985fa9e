//! The core's integration tests: one binary, a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod plan;
mod registry;
mod runner;
mod secret;
mod transitions;
mod validation;
