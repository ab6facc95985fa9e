//! A request body (JSON or YAML, by its content type) into a payload, through the platform's parse.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction_host::fuzzing::body(data));
