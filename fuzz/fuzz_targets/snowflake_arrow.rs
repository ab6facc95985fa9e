//! The Snowflake plugin's Arrow rowset reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction_snowflake::fuzzing::arrow(data));
