//! Requests after the log-in: SQL batches (MS-TDS §2.2.6.7) and RPC calls of
//! `sp_executesql` (§2.2.6.6), which tiberius sends for parameterised queries.

use super::wire::{self, Value};
use std::collections::BTreeMap;
use std::io;

/// A request to run: SQL text and the values of its `@name` parameters.
#[derive(Debug, Clone)]
pub struct Request {
    pub sql: String,
    pub params: BTreeMap<String, Value>,
    /// An RPC answers with DONEINPROC/RETURNSTATUS/DONEPROC.
    pub rpc: bool,
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// ALL_HEADERS (§2.2.5.3): a total length, then the headers; skipped.
fn skip_all_headers(p: &[u8]) -> io::Result<&[u8]> {
    let total = p
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| bad("ALL_HEADERS truncated"))?;
    // A TDS 7.1 client may send no ALL_HEADERS; its text starts at once.
    if total < 4 || total > p.len() {
        return Ok(p);
    }
    Ok(&p[total..])
}

pub fn sql_batch(p: &[u8]) -> io::Result<Request> {
    Ok(Request {
        sql: wire::from_utf16(skip_all_headers(p)?),
        params: BTreeMap::new(),
        rpc: false,
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let s = self
            .b
            .get(self.i..self.i + n)
            .ok_or_else(|| bad("RPC request truncated"))?;
        self.i += n;
        Ok(s)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> io::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> io::Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn b_varchar(&mut self) -> io::Result<String> {
        let n = usize::from(self.u8()?);
        Ok(wire::from_utf16(self.take(n * 2)?))
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// One parameter's TYPE_INFO and value, for the types clients send for
/// strings and integers.
fn param_value(c: &mut Cursor<'_>) -> io::Result<Value> {
    let ty = c.u8()?;
    let int = |bytes: &[u8]| -> i64 {
        let mut a = [0u8; 8];
        a[..bytes.len()].copy_from_slice(bytes);
        let v = i64::from_le_bytes(a);
        let shift = 64 - 8 * bytes.len() as u32;
        if shift == 0 { v } else { (v << shift) >> shift }
    };
    match ty {
        // INT1, BIT (unsigned), INT2, INT4, INT8
        0x30 | 0x32 => Ok(Value::Int(i64::from(c.u8()?))),
        0x34 => Ok(Value::Int(int(c.take(2)?))),
        0x38 => Ok(Value::Int(int(c.take(4)?))),
        0x7F => Ok(Value::Int(int(c.take(8)?))),
        // INTN, BITN
        0x26 | 0x68 => {
            let _max = c.u8()?;
            let len = usize::from(c.u8()?);
            if len == 0 {
                return Ok(Value::Null);
            }
            let b = c.take(len)?;
            Ok(Value::Int(if ty == 0x68 {
                i64::from(b[0])
            } else {
                int(b)
            }))
        }
        // NVARCHAR, NCHAR, BIGVARCHAR, BIGCHAR
        0xE7 | 0xEF | 0xA7 | 0xAF => {
            let max = c.u16()?;
            c.take(5)?; // collation
            let wide = matches!(ty, 0xE7 | 0xEF);
            let bytes = if max == 0xFFFF {
                // PLP: total length, then chunks until a zero-length one.
                if c.u64()? == u64::MAX {
                    return Ok(Value::Null);
                }
                let mut out = Vec::new();
                loop {
                    let n = c.u32()? as usize;
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(c.take(n)?);
                }
                out
            } else {
                let n = c.u16()?;
                if n == 0xFFFF {
                    return Ok(Value::Null);
                }
                c.take(usize::from(n))?.to_vec()
            };
            Ok(Value::Str(if wide {
                wire::from_utf16(&bytes)
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }))
        }
        other => Err(bad(format!(
            "RPC parameter of type {other:#04x} not supported by the fake"
        ))),
    }
}

/// An RPC call; only `sp_executesql` (by id 10 or by name) is served.
pub fn rpc(p: &[u8]) -> io::Result<Request> {
    let mut c = Cursor {
        b: skip_all_headers(p)?,
        i: 0,
    };
    let name_len = c.u16()?;
    let proc = if name_len == 0xFFFF {
        match c.u16()? {
            10 => "sp_executesql".to_owned(),
            id => {
                return Err(bad(format!(
                    "RPC procedure id {id} not supported by the fake"
                )));
            }
        }
    } else {
        wire::from_utf16(c.take(usize::from(name_len) * 2)?)
    };
    if !proc.eq_ignore_ascii_case("sp_executesql") {
        return Err(bad(format!(
            "RPC procedure {proc} not supported by the fake"
        )));
    }
    let _options = c.u16()?;
    let mut positional = Vec::new();
    let mut params = BTreeMap::new();
    while !c.done() {
        let name = c.b_varchar()?;
        let _status = c.u8()?;
        let value = param_value(&mut c)?;
        if name.is_empty() {
            positional.push(value);
        } else {
            // With or without its `@` (tiberius sends `stmt`, `params`, `@P1`).
            let name = name.trim_start_matches('@').to_ascii_lowercase();
            params.insert(format!("@{name}"), value);
        }
    }
    // @stmt and @params may come by position.
    let mut positional = positional.into_iter();
    let stmt = params
        .remove("@stmt")
        .or_else(|| positional.next())
        .ok_or_else(|| bad("sp_executesql without @stmt"))?;
    let _declarations = params.remove("@params").or_else(|| positional.next());
    let Value::Str(sql) = stmt else {
        return Err(bad("sp_executesql's @stmt is not a string"));
    };
    Ok(Request {
        sql,
        params,
        rpc: true,
    })
}
