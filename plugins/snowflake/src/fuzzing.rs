//! The `snowflake_arrow` fuzz target's body (`fuzz/` calls it; this crate's
//! unit tests run it over the committed corpus and regressions). Not part of
//! the platform's surface.
//!
//! An input is the scale of the row type (its first byte, or with the high
//! bit set the next eight bytes as an `i64`, the JSON number a server could
//! send) and then an Arrow IPC stream. It goes through what a query answer's
//! `rowsetBase64` goes through: base64, the stream reader, the row type's
//! scale. A malformed stream must be an error, never a panic, a hang or an
//! allocation out of proportion to the input.

// A harness: its assertions are the findings.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::arrow::{self, MAX_ROWS};
use crate::client::{SfError, decode_result};
use base64::Engine as _;
use serde_json::json;

pub fn arrow(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (scale, stream) = match (pick & 0x80 != 0, rest.split_first_chunk::<8>()) {
        (true, Some((scale, stream))) => (i64::from_le_bytes(*scale), stream),
        _ => (i64::from(pick & 0x7f), rest),
    };
    // The reader alone: a result it gives is well-formed.
    if let Ok(decoded) = arrow::decode_stream(stream) {
        assert!(decoded.rows.len() <= MAX_ROWS, "more rows than the limit");
        for row in &decoded.rows {
            assert_eq!(
                row.len(),
                decoded.fields.len(),
                "a row is not as wide as the schema"
            );
        }
    }
    // The plugin's path, with every column a scaled NUMBER.
    let rowtype: Vec<_> = (0..8)
        .map(|i| json!({"name": format!("C{i}"), "type": "fixed", "scale": scale}))
        .collect();
    let answer = json!({
        "rowtype": rowtype,
        "queryResultFormat": "arrow",
        "rowsetBase64": base64::engine::general_purpose::STANDARD.encode(stream),
    });
    match decode_result(&answer) {
        Ok(result) => assert_eq!(result.format, "arrow"),
        Err(SfError::Protocol(_)) => {}
        Err(other) => panic!("a rowset is refused as something else than the protocol: {other}"),
    }
}

#[cfg(test)]
mod tests {
    //! The smoke run of the normal test build: the target's body over its
    //! committed seed corpus and every regression input found by fuzzing.

    #[test]
    fn fuzz_snowflake_arrow_corpus_and_regressions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut n = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join("snowflake_arrow")) else {
                continue;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                eprintln!("{}", path.display());
                super::arrow(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
        assert!(n >= 2, "the snowflake_arrow corpus is missing ({n} inputs)");
    }

    /// The recorded streams read, so fuzzing them starts inside the reader.
    #[test]
    fn fuzz_snowflake_arrow_seeds_decode() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/snowflake_arrow");
        for seed in ["select_types", "show_warehouses-scale2"] {
            let data = std::fs::read(root.join(seed)).unwrap();
            let decoded = crate::arrow::decode_stream(&data[1..]).unwrap();
            assert!(!decoded.rows.is_empty(), "{seed}");
        }
    }
}
