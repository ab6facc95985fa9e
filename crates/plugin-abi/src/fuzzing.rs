//! The `abi_wire` fuzz target's body (`fuzz/` calls it; this crate's unit
//! tests run it over the committed corpus and regressions). Not part of the
//! ABI.
//!
//! The first byte picks one of the messages that cross the boundary (the
//! host's requests a plugin decodes, the plugin's answers the host decodes);
//! the rest is its JSON. What decodes must encode, decode again to the same
//! message, and survive the trip through its core type unchanged: the wire
//! is the ABI's promise, so a field dropped or changed on the way is a
//! finding, as is a panic.

// A harness: its assertions are the findings.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::wire::{
    CreateIn, DeleteCredentialsIn, DeleteIn, EditIn, OpOut, ParseIn, ParseOut, ScriptIn,
    ValidateIn, WireCheckDescriptor, WireDescriptor, WireError, WireFieldErrors, WireOpContext,
    WireRunOptions, WireScript, WireValidationResults, WireValidationTest,
};
use junction_core::{
    CheckContext, CheckDescriptor, ConfigErrors, DynOutput, OpContext, OpError, ParsedConfig,
    PlatformDescriptor, RunOptions, Script, ScriptKind, ValidationResults, ValidationTest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One input: a message kind, then its JSON.
pub fn wire(data: &[u8]) {
    decoded(data);
}

/// Whether the input decoded as the message it names.
fn decoded(data: &[u8]) -> bool {
    let Some((&pick, json)) = data.split_first() else {
        return false;
    };
    match pick % 16 {
        // The plugin's answers, as the host's loader reads them.
        0 => through_core::<WireDescriptor, PlatformDescriptor>(json),
        1 => through_core::<WireCheckDescriptor, CheckDescriptor>(json),
        2 => through_core::<ParseOut, ParsedConfig>(json),
        3 => through_core::<WireValidationResults, ValidationResults>(json),
        4 => through_core::<WireValidationTest, ValidationTest>(json),
        5 => through_core::<WireScript, Script>(json),
        6 => through_core::<OpOut, DynOutput>(json),
        7 => error(json),
        // The host's requests, as a plugin's export reads them.
        8 => request::<ParseIn<'_>>(json, |_| {}),
        9 => request::<DeleteCredentialsIn<'_>>(json, |_| {}),
        10 => request::<ScriptIn<'_>>(json, |i| {
            let kind: ScriptKind = i.kind.into();
            same(&i.kind, &crate::wire::WireScriptKind::from(kind));
        }),
        11 => request::<ValidateIn<'_>>(json, |i| {
            let (ctx_before, options_before) = (encode(&i.ctx), encode(&i.options));
            let ctx: CheckContext = i.ctx.into();
            let options: RunOptions = i.options.into();
            assert_eq!(
                encode(&crate::wire::WireCheckContext::from(&ctx)),
                ctx_before,
                "the trip through CheckContext changed it"
            );
            assert_eq!(
                encode(&WireRunOptions::from(&options)),
                options_before,
                "the trip through RunOptions changed it"
            );
        }),
        12 => request::<CreateIn<'_>>(json, |i| op_context(i.op)),
        13 => request::<EditIn<'_>>(json, |i| op_context(i.op)),
        14 => request::<DeleteIn<'_>>(json, |i| op_context(i.op)),
        _ => through_core::<WireFieldErrors, ConfigErrors>(json),
    }
}

/// Decodes `W`, and checks it encodes and decodes to itself, and comes back
/// from its core type `C` unchanged.
fn through_core<W, C>(json: &[u8]) -> bool
where
    W: DeserializeOwned + Serialize + Into<C>,
    C: Into<W>,
{
    let Ok(message) = serde_json::from_slice::<W>(json) else {
        return false;
    };
    let encoded = reencoded(&message);
    let core: C = message.into();
    let back: W = core.into();
    assert_eq!(
        serde_json::to_value(&back).expect("a message encodes"),
        encoded,
        "the trip through the core type changed the message"
    );
    true
}

/// A request: decodes, encodes and decodes to itself; `check` looks at its
/// parts' core types.
fn request<T>(json: &[u8], check: impl FnOnce(T)) -> bool
where
    T: DeserializeOwned + Serialize,
{
    let Ok(message) = serde_json::from_slice::<T>(json) else {
        return false;
    };
    reencoded(&message);
    check(message);
    true
}

/// A refusal, and what the loader makes of it: field errors or an `OpError`.
fn error(json: &[u8]) -> bool {
    let Ok(e) = serde_json::from_slice::<WireError>(json) else {
        return false;
    };
    let encoded = reencoded(&e);
    let back = match e {
        WireError::Config { errors } => WireError::config(ConfigErrors::from(errors)),
        WireError::Invalid { errors } => {
            WireError::from(OpError::Invalid(ConfigErrors::from(errors)))
        }
        WireError::Unsupported { message } => WireError::from(OpError::Unsupported(message)),
        WireError::Failed { message } => WireError::from(OpError::Failed(message)),
        other @ WireError::BadRequest { .. } => other,
    };
    assert_eq!(
        serde_json::to_value(&back).expect("a refusal encodes"),
        encoded,
        "the trip through the core error changed the refusal"
    );
    true
}

fn op_context(op: WireOpContext) {
    let core: OpContext = op.clone().into();
    same(&op, &WireOpContext::from(&core));
}

/// `message` encoded, and decoded again to the same JSON.
fn reencoded<T: Serialize + DeserializeOwned>(message: &T) -> Value {
    let bytes = serde_json::to_vec(message).expect("a decoded message encodes");
    let again: T = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("an encoded message does not decode: {e}"));
    let (a, b) = (
        serde_json::to_value(message).expect("a decoded message encodes"),
        serde_json::to_value(&again).expect("a decoded message encodes"),
    );
    assert_eq!(a, b, "a message is not the same once encoded and decoded");
    a
}

fn encode<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("a decoded message encodes")
}

fn same<T: Serialize>(a: &T, b: &T) {
    assert_eq!(
        serde_json::to_value(a).expect("encodes"),
        serde_json::to_value(b).expect("encodes"),
        "the trip through the core type changed a part"
    );
}

#[cfg(test)]
mod tests {
    //! The smoke run of the normal test build: the target's body over its
    //! committed seed corpus and every regression input found by fuzzing.

    #[test]
    fn fuzz_abi_wire_corpus_and_regressions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut n = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join("abi_wire")) else {
                continue;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                eprintln!("{}", path.display());
                let data = std::fs::read(&path).unwrap();
                // Every seed is a message of its kind, so fuzzing starts inside each decoder.
                let decoded = super::decoded(&data);
                assert!(
                    dir != "corpus" || decoded,
                    "{} does not decode",
                    path.display()
                );
                n += 1;
            }
        }
        assert!(n >= 8, "the abi_wire corpus is missing ({n} inputs)");
    }
}
