//! The plugin ABI's JSON messages, both directions.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction_plugin_abi::fuzzing::wire(data));
