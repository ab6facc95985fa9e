//! Each platform's config parsing, through the host's platform table (the first byte picks the platform).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction_host::fuzzing::config(data));
