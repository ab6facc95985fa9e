//! What the Synapse plugin reads from a TDS server (tiberius's token stream), from a scripted server.
#![no_main]

libfuzzer_sys::fuzz_target!(init: junction_synapse::fuzzing::init(), |data: &[u8]| {
    junction_synapse::fuzzing::tds(data)
});
