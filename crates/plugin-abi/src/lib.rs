//! The C ABI of Junction's shared-library plugins.
//!
//! Rust trait objects cannot cross a `.so` boundary soundly (their layout is
//! tied to one compiler build), and neither can tokio. So a plugin library
//! exports one symbol, `junction_plugin_entry`, returning a `#[repr(C)]` table
//! ([`ffi::PluginVTable`]) that starts with the ABI major/minor and its own
//! size. Only C types cross: UTF-8 JSON in byte buffers, an opaque handle,
//! status codes. The library that allocates a buffer frees it. Asynchronous
//! work is a start call plus a completion callback, run on the plugin's own
//! tokio runtime. Every export catches panics. Libraries are never unloaded.
//!
//! - Plugin authors write an ordinary [`junction_core::Platform`] and add
//!   [`export_platform!`]; the crate is built as a `cdylib`.
//! - The host enables the `loader` feature and calls [`loader::load_dir`].
//!
//! A plugin must be built with `panic = "unwind"` (the default): with
//! `panic = "abort"` a panic ends the host process.

// Calling across a C ABI needs `unsafe`; every block says why it holds.
#![allow(unsafe_code)]

pub mod export;
pub mod ffi;
/// The fuzz target's body (`fuzz/`), run over its corpus by the unit tests.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "loader")]
pub mod loader;
pub mod wire;

pub use ffi::{ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL};

#[doc(hidden)]
pub mod __private {
    pub use junction_core::DynPlatform;
}

/// Exports a [`Platform`](junction_core::Platform) value as this library's
/// plugin. Call it once in the crate root of a crate built with
/// `crate-type = ["cdylib"]` (add `"rlib"` to also link it or test it):
///
/// ```ignore
/// junction_plugin_abi::export_platform!(MyPlatform::new());
/// ```
///
/// The expression is evaluated once, when the host initialises the library.
#[macro_export]
macro_rules! export_platform {
    ($platform:expr) => {
        const _: () = {
            fn __junction_make_platform() -> ::std::boxed::Box<dyn $crate::__private::DynPlatform> {
                ::std::boxed::Box::new($platform)
            }

            /// The plugin's entry symbol: returns its ABI table.
            // The host finds the table by this exact, unmangled name.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            pub extern "C" fn junction_plugin_entry() -> *const $crate::ffi::VTableHeader {
                $crate::export::entry(__junction_make_platform)
            }
        };
    };
}
