//! Test support for Junction: the conformance suite every platform runs, a
//! synthetic platform for the core's and the host's tests (never shipped), and
//! helpers that find the local stand-ins started by `cargo xtask stand-ins up`.

pub mod conformance;
pub mod schema;
pub mod stand_ins;
pub mod synthetic;

/// A value no real configuration contains: tests put it in secret fields and
/// then search every output for it.
pub const SENTINEL: &str = "SENTINEL-5f2c9e-do-not-leak";

#[cfg(feature = "register-synthetic")]
junction_core::register_platform!(synthetic::Synthetic);
