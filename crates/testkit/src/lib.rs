//! Test support for Junction: the conformance suite every platform runs, a
//! synthetic platform for the core's and the host's tests (never shipped),
//! helpers that find the local stand-ins started by `cargo xtask stand-ins up`,
//! and helpers that start and drive the real `junction` binary.

pub mod bench;
pub mod binary;
pub mod conformance;
pub mod proxy;
pub mod schema;
pub mod stand_ins;
pub mod synthetic;

/// A value no real configuration contains: tests put it in secret fields and
/// then search every output for it.
pub const SENTINEL: &str = "SENTINEL-5f2c9e-do-not-leak";

#[cfg(feature = "register-synthetic")]
junction_core::register_platform!(synthetic::Synthetic);

/// A name no other test (nor an earlier run) uses, built from `tag` with
/// `sep` between its parts: tests share one stand-in and run in parallel.
pub fn unique_name(tag: &str, sep: char) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 100_000)
        .unwrap_or(0);
    format!("jt{sep}{tag}{sep}{}{sep}{n}{sep}{salt}", std::process::id())
}

/// An operation on integration 1 at the given set-up version.
pub fn op_context(auto_bootstrap: bool, bootstrap_version: u32) -> junction_core::OpContext {
    junction_core::OpContext {
        integration_id: Some(1),
        auto_bootstrap,
        bootstrap_version,
        fault: None,
    }
}

/// The same operation, made to fail when it reaches the step `step`.
pub fn op_context_failing_at(
    auto_bootstrap: bool,
    bootstrap_version: u32,
    step: &str,
) -> junction_core::OpContext {
    junction_core::OpContext {
        fault: Some(junction_core::FaultInjection::at(step)),
        ..op_context(auto_bootstrap, bootstrap_version)
    }
}
