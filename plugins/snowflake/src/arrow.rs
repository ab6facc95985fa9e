//! A small reader for the Arrow IPC *stream* format, for the `rowsetBase64`
//! of Snowflake query results.
//!
//! Why hand-written: the arrow crates (arrow-ipc, arrow-array, arrow-data,
//! arrow-schema, arrow-buffer, flatbuffers, half, chrono, …) would more than
//! double this plugin's cold build for the few column types a control plane
//! reads back (names, flags, counts, versions). This reader covers what
//! Snowflake and fakesnow send for them: null, signed integers, floats,
//! decimals (128-bit), booleans, UTF-8 and binary (32- and 64-bit offsets),
//! dates, times, timestamps, and structs (Snowflake's `TIMESTAMP_TZ`/`LTZ`/`NTZ`
//! with `epoch`/`fraction`/`timezone` children). Anything else, compressed
//! bodies and dictionary batches are refused with a clear error rather than
//! misread. Every read is bounds-checked: a malformed stream is an error, never
//! a panic.
//!
//! Values come out as Snowflake's JSON rowsets give them: text, or `None` for
//! NULL, so that the rest of the plugin sees one shape whatever the format.

use std::fmt;

/// Why a rowset could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable Arrow rowset: {0}")]
pub struct ArrowError(pub String);

fn err<T>(m: impl fmt::Display) -> Result<T, ArrowError> {
    Err(ArrowError(m.to_string()))
}

/// The column types this reader understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrowType {
    Null,
    Int { bits: u32, signed: bool },
    Float { precision: i16 },
    Binary { large: bool },
    Utf8 { large: bool },
    Bool,
    Decimal { scale: i32, bits: u32 },
    Date { millis: bool },
    Time { bits: u32 },
    Timestamp,
    Struct,
}

/// A field of the schema, with its children (structs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub data_type: ArrowType,
    pub children: Vec<Field>,
}

/// Every row of a stream, each value as text (`None` for NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    pub fields: Vec<Field>,
    pub rows: Vec<Vec<Option<String>>>,
}

// ---------------------------------------------------------------- flatbuffers

/// A flatbuffer table: its buffer and position.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// `N` bytes at `at`. Offsets come from the input, so every sum is checked:
/// an offset near `usize::MAX` is out of bounds, not an overflow.
fn array<const N: usize>(buf: &[u8], at: usize) -> Result<[u8; N], ArrowError> {
    let mut out = [0u8; N];
    match at.checked_add(N).and_then(|end| buf.get(at..end)) {
        Some(b) => {
            out.copy_from_slice(b);
            Ok(out)
        }
        None => err("flatbuffer read out of bounds"),
    }
}

/// `at + by`, or an error when it overflows.
fn add(at: usize, by: usize) -> Result<usize, ArrowError> {
    at.checked_add(by)
        .ok_or_else(|| ArrowError("offset out of bounds".into()))
}

/// `len` bytes at `at`, or `what` as the error.
fn slice<'a>(buf: &'a [u8], at: usize, len: usize, what: &str) -> Result<&'a [u8], ArrowError> {
    match at.checked_add(len).and_then(|end| buf.get(at..end)) {
        Some(b) => Ok(b),
        None => err(what),
    }
}

fn read_u32(buf: &[u8], at: usize) -> Result<u32, ArrowError> {
    array::<4>(buf, at).map(u32::from_le_bytes)
}

fn read_i32(buf: &[u8], at: usize) -> Result<i32, ArrowError> {
    read_u32(buf, at).map(|v| v as i32)
}

fn read_u16(buf: &[u8], at: usize) -> Result<u16, ArrowError> {
    array::<2>(buf, at).map(u16::from_le_bytes)
}

fn read_i64(buf: &[u8], at: usize) -> Result<i64, ArrowError> {
    array::<8>(buf, at).map(i64::from_le_bytes)
}

impl<'a> Table<'a> {
    fn root(buf: &'a [u8]) -> Result<Self, ArrowError> {
        let pos = read_u32(buf, 0)? as usize;
        Ok(Table { buf, pos })
    }

    /// The position of field `index`'s value, when present.
    fn field(&self, index: usize) -> Result<Option<usize>, ArrowError> {
        let soffset = read_i32(self.buf, self.pos)?;
        let vtable = i64::try_from(self.pos)
            .ok()
            .and_then(|pos| pos.checked_sub(i64::from(soffset)))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| ArrowError("vtable out of bounds".into()))?;
        let vlen = usize::from(read_u16(self.buf, vtable)?);
        let slot = 4 + 2 * index;
        if slot + 2 > vlen {
            return Ok(None);
        }
        let off = usize::from(read_u16(self.buf, add(vtable, slot)?)?);
        if off == 0 {
            return Ok(None);
        }
        add(self.pos, off).map(Some)
    }

    fn u8_or(&self, index: usize, default: u8) -> Result<u8, ArrowError> {
        match self.field(index)? {
            Some(at) => self
                .buf
                .get(at)
                .copied()
                .ok_or_else(|| ArrowError("out of bounds".into())),
            None => Ok(default),
        }
    }

    fn i16_or(&self, index: usize, default: i16) -> Result<i16, ArrowError> {
        match self.field(index)? {
            Some(at) => read_u16(self.buf, at).map(|v| v as i16),
            None => Ok(default),
        }
    }

    fn i32_or(&self, index: usize, default: i32) -> Result<i32, ArrowError> {
        match self.field(index)? {
            Some(at) => read_i32(self.buf, at),
            None => Ok(default),
        }
    }

    fn i64_or(&self, index: usize, default: i64) -> Result<i64, ArrowError> {
        match self.field(index)? {
            Some(at) => read_i64(self.buf, at),
            None => Ok(default),
        }
    }

    /// Follows a uoffset stored at `at`.
    fn deref(&self, at: usize) -> Result<usize, ArrowError> {
        add(at, read_u32(self.buf, at)? as usize)
    }

    fn table(&self, index: usize) -> Result<Option<Table<'a>>, ArrowError> {
        match self.field(index)? {
            Some(at) => Ok(Some(Table {
                buf: self.buf,
                pos: self.deref(at)?,
            })),
            None => Ok(None),
        }
    }

    fn string(&self, index: usize) -> Result<String, ArrowError> {
        let Some(at) = self.field(index)? else {
            return Ok(String::new());
        };
        let start = self.deref(at)?;
        let len = read_u32(self.buf, start)? as usize;
        let b = slice(self.buf, add(start, 4)?, len, "string out of bounds")?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// A vector: the position of its first element and its length.
    fn vector(&self, index: usize) -> Result<(usize, usize), ArrowError> {
        let Some(at) = self.field(index)? else {
            return Ok((0, 0));
        };
        let start = self.deref(at)?;
        let len = read_u32(self.buf, start)? as usize;
        if len > self.buf.len() {
            return err("vector length out of bounds");
        }
        Ok((add(start, 4)?, len))
    }

    fn tables(&self, index: usize) -> Result<Vec<Table<'a>>, ArrowError> {
        let (first, len) = self.vector(index)?;
        (0..len)
            .map(|i| {
                let at = add(first, 4 * i)?;
                Ok(Table {
                    buf: self.buf,
                    pos: self.deref(at)?,
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------- schema

fn parse_field(t: Table<'_>, depth: usize) -> Result<Field, ArrowError> {
    if depth > 16 {
        return err("fields nested too deeply");
    }
    let name = t.string(0)?;
    if t.field(4)?.is_some() {
        return err(format!("column {name} is dictionary-encoded"));
    }
    let type_id = t.u8_or(2, 0)?;
    let ty = t.table(3)?;
    let int = |i: usize, d: i32| -> Result<i32, ArrowError> {
        match ty {
            Some(ty) => ty.i32_or(i, d),
            None => Ok(d),
        }
    };
    let data_type = match type_id {
        1 => ArrowType::Null,
        2 => ArrowType::Int {
            bits: int(0, 0)? as u32,
            signed: match ty {
                Some(ty) => ty.u8_or(1, 0)? != 0,
                None => false,
            },
        },
        3 => ArrowType::Float {
            precision: match ty {
                Some(ty) => ty.i16_or(0, 0)?,
                None => 0,
            },
        },
        4 => ArrowType::Binary { large: false },
        5 => ArrowType::Utf8 { large: false },
        6 => ArrowType::Bool,
        7 => ArrowType::Decimal {
            scale: int(1, 0)?,
            bits: int(2, 128)? as u32,
        },
        8 => ArrowType::Date {
            millis: match ty {
                Some(ty) => ty.i16_or(0, 1)? == 1,
                None => true,
            },
        },
        9 => ArrowType::Time {
            bits: int(1, 32)? as u32,
        },
        10 => ArrowType::Timestamp,
        13 => ArrowType::Struct,
        19 => ArrowType::Binary { large: true },
        20 => ArrowType::Utf8 { large: true },
        other => {
            return err(format!(
                "column {name} has Arrow type {other}, which is not supported"
            ));
        }
    };
    match &data_type {
        ArrowType::Int { bits, .. } if ![8, 16, 32, 64].contains(bits) => {
            return err(format!("column {name}: integer width {bits}"));
        }
        ArrowType::Float { precision } if !(1..=2).contains(precision) => {
            return err(format!("column {name}: half-precision floats"));
        }
        ArrowType::Decimal { bits, .. } if *bits != 128 => {
            return err(format!("column {name}: decimal width {bits}"));
        }
        // A 128-bit decimal has at most 38 digits (Snowflake's NUMBER too).
        ArrowType::Decimal { scale, .. } if *scale > MAX_SCALE => {
            return err(format!("column {name}: decimal scale {scale}"));
        }
        _ => {}
    }
    let children = t
        .tables(5)?
        .into_iter()
        .map(|c| parse_field(c, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Field {
        name,
        data_type,
        children,
    })
}

// ---------------------------------------------------------------- record batches

struct Batch<'a> {
    length: usize,
    nodes: Vec<(usize, usize)>,
    buffers: Vec<&'a [u8]>,
    node_at: usize,
    buffer_at: usize,
}

impl<'a> Batch<'a> {
    fn next_node(&mut self) -> Result<(usize, usize), ArrowError> {
        let n = self.nodes.get(self.node_at).copied();
        self.node_at += 1;
        n.ok_or_else(|| ArrowError("fewer field nodes than fields".into()))
    }

    fn next_buffer(&mut self) -> Result<&'a [u8], ArrowError> {
        let b = self.buffers.get(self.buffer_at).copied();
        self.buffer_at += 1;
        b.ok_or_else(|| ArrowError("fewer buffers than the fields need".into()))
    }
}

fn bit(bits: &[u8], i: usize) -> Result<bool, ArrowError> {
    match bits.get(i / 8) {
        Some(b) => Ok(b & (1 << (i % 8)) != 0),
        None => err("bitmap out of bounds"),
    }
}

fn fixed<const N: usize>(data: &[u8], i: usize) -> Result<[u8; N], ArrowError> {
    let mut out = [0u8; N];
    match data.get(i * N..i * N + N) {
        Some(b) => {
            out.copy_from_slice(b);
            Ok(out)
        }
        None => err("value out of bounds"),
    }
}

/// `digits` (an integer's decimal text) with `scale` digits after the point.
pub fn with_scale(value: i128, scale: i32) -> String {
    if scale <= 0 {
        return value.to_string();
    }
    let scale = scale as usize;
    let neg = value < 0;
    let digits = value.unsigned_abs().to_string();
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// The largest scale a 128-bit decimal (and Snowflake's `NUMBER(38, s)`) has.
pub const MAX_SCALE: i32 = 38;

/// More rows than one result of Junction's ever holds: a stream claiming more
/// is malformed (and must not make us allocate for it).
pub const MAX_ROWS: usize = 1_000_000;

/// One column's values, read from the batch's nodes and buffers in order.
fn read_column(field: &Field, batch: &mut Batch<'_>) -> Result<Vec<Option<String>>, ArrowError> {
    let (len, null_count) = batch.next_node()?;
    if len > batch.length || len > MAX_ROWS {
        return err(format!(
            "column {}: {len} values in a batch of {}",
            field.name, batch.length
        ));
    }
    if field.data_type == ArrowType::Null {
        // The null type has no buffers at all.
        return Ok(vec![None; len]);
    }
    let validity = batch.next_buffer()?;
    let valid = |i: usize| -> Result<bool, ArrowError> {
        if null_count == 0 || validity.is_empty() {
            Ok(true)
        } else {
            bit(validity, i)
        }
    };
    let mut out = Vec::with_capacity(len.min(1024));
    match &field.data_type {
        ArrowType::Null => {}
        ArrowType::Int { bits, signed } => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                    continue;
                }
                let v: i128 = match (bits, signed) {
                    (8, true) => i128::from(i8::from_le_bytes(fixed::<1>(data, i)?)),
                    (8, false) => i128::from(u8::from_le_bytes(fixed::<1>(data, i)?)),
                    (16, true) => i128::from(i16::from_le_bytes(fixed::<2>(data, i)?)),
                    (16, false) => i128::from(u16::from_le_bytes(fixed::<2>(data, i)?)),
                    (32, true) => i128::from(i32::from_le_bytes(fixed::<4>(data, i)?)),
                    (32, false) => i128::from(u32::from_le_bytes(fixed::<4>(data, i)?)),
                    (64, true) => i128::from(i64::from_le_bytes(fixed::<8>(data, i)?)),
                    _ => i128::from(u64::from_le_bytes(fixed::<8>(data, i)?)),
                };
                out.push(Some(v.to_string()));
            }
        }
        ArrowType::Float { precision } => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else if *precision == 1 {
                    out.push(Some(f32::from_le_bytes(fixed::<4>(data, i)?).to_string()));
                } else {
                    out.push(Some(f64::from_le_bytes(fixed::<8>(data, i)?).to_string()));
                }
            }
        }
        ArrowType::Decimal { scale, .. } => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else {
                    let v = i128::from_le_bytes(fixed::<16>(data, i)?);
                    out.push(Some(with_scale(v, *scale)));
                }
            }
        }
        ArrowType::Bool => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else {
                    out.push(Some(
                        if bit(data, i)? { "true" } else { "false" }.to_owned(),
                    ));
                }
            }
        }
        ArrowType::Utf8 { large } | ArrowType::Binary { large } => {
            let offsets = batch.next_buffer()?;
            let data = batch.next_buffer()?;
            let offset = |i: usize| -> Result<usize, ArrowError> {
                if *large {
                    Ok(i64::from_le_bytes(fixed::<8>(offsets, i)?) as usize)
                } else {
                    Ok(i32::from_le_bytes(fixed::<4>(offsets, i)?) as usize)
                }
            };
            let text = matches!(field.data_type, ArrowType::Utf8 { .. });
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                    continue;
                }
                let (a, b) = (offset(i)?, offset(i + 1)?);
                let Some(bytes) = data.get(a..b) else {
                    return err(format!("column {}: value out of bounds", field.name));
                };
                if text {
                    out.push(Some(String::from_utf8_lossy(bytes).into_owned()));
                } else {
                    // Snowflake's JSON rowsets give binary as hex.
                    out.push(Some(bytes.iter().map(|b| format!("{b:02X}")).collect()));
                }
            }
        }
        ArrowType::Date { millis } => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else if *millis {
                    let ms = i64::from_le_bytes(fixed::<8>(data, i)?);
                    out.push(Some((ms / 86_400_000).to_string()));
                } else {
                    out.push(Some(i32::from_le_bytes(fixed::<4>(data, i)?).to_string()));
                }
            }
        }
        ArrowType::Time { bits } => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else if *bits == 32 {
                    out.push(Some(i32::from_le_bytes(fixed::<4>(data, i)?).to_string()));
                } else {
                    out.push(Some(i64::from_le_bytes(fixed::<8>(data, i)?).to_string()));
                }
            }
        }
        ArrowType::Timestamp => {
            let data = batch.next_buffer()?;
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                } else {
                    out.push(Some(i64::from_le_bytes(fixed::<8>(data, i)?).to_string()));
                }
            }
        }
        ArrowType::Struct => {
            let mut children = Vec::with_capacity(field.children.len());
            for c in &field.children {
                children.push((c.name.as_str(), read_column(c, batch)?));
            }
            for i in 0..len {
                if !valid(i)? {
                    out.push(None);
                    continue;
                }
                out.push(Some(struct_text(&children, i)));
            }
        }
    }
    Ok(out)
}

/// Snowflake's timestamps as structs (`epoch`, `fraction`, `timezone`) read
/// as its JSON rowsets give them: `epoch.fraction` (nine digits) and, for
/// `TIMESTAMP_TZ`, the offset index after a space. Other structs: `a=…, b=…`.
fn struct_text(children: &[(&str, Vec<Option<String>>)], i: usize) -> String {
    let get = |name: &str| {
        children
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.get(i).cloned().flatten())
    };
    if let Some(epoch) = get("epoch") {
        let fraction = get("fraction").unwrap_or_default();
        let mut s = format!("{epoch}.{:0>9}", fraction);
        if let Some(tz) = get("timezone") {
            s.push(' ');
            s.push_str(&tz);
        }
        return s;
    }
    children
        .iter()
        .map(|(n, v)| {
            let value = v.get(i).cloned().flatten().unwrap_or_else(|| "NULL".into());
            format!("{n}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- the stream

/// Reads a whole IPC stream (schema message, record batches, end marker).
pub fn decode_stream(bytes: &[u8]) -> Result<Decoded, ArrowError> {
    let mut pos = 0usize;
    let mut fields: Option<Vec<Field>> = None;
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    while pos + 4 <= bytes.len() {
        let mut len = read_u32(bytes, pos)?;
        pos += 4;
        if len == 0xFFFF_FFFF {
            // The continuation marker of the current format; the length follows.
            len = read_u32(bytes, pos)?;
            pos += 4;
        }
        if len == 0 {
            break;
        }
        let len = len as usize;
        let meta = slice(bytes, pos, len, "message metadata out of bounds")?;
        pos += len;
        let message = Table::root(meta)?;
        let header_type = message.u8_or(1, 0)?;
        let body_len = message.i64_or(3, 0)?;
        let body_len =
            usize::try_from(body_len).map_err(|_| ArrowError("negative body length".into()))?;
        let body = slice(bytes, pos, body_len, "message body out of bounds")?;
        pos += body_len;
        let Some(header) = message.table(2)? else {
            return err("message without header");
        };
        match header_type {
            1 => {
                let parsed = header
                    .tables(1)?
                    .into_iter()
                    .map(|f| parse_field(f, 0))
                    .collect::<Result<Vec<_>, _>>()?;
                fields = Some(parsed);
            }
            3 => {
                let Some(fields) = fields.as_ref() else {
                    return err("record batch before the schema");
                };
                if header.field(3)?.is_some() {
                    return err("compressed record batches are not supported");
                }
                let length = header.i64_or(0, 0)?;
                let length =
                    usize::try_from(length).map_err(|_| ArrowError("negative length".into()))?;
                if length > MAX_ROWS || rows.len() + length > MAX_ROWS {
                    return err(format!("a batch of {length} rows"));
                }
                let (first, n) = header.vector(1)?;
                let mut nodes = Vec::with_capacity(n);
                for i in 0..n {
                    let at = add(first, 16 * i)?;
                    let l = read_i64(meta, at)?;
                    let nc = read_i64(meta, add(at, 8)?)?;
                    nodes.push((
                        usize::try_from(l)
                            .map_err(|_| ArrowError("negative node length".into()))?,
                        usize::try_from(nc)
                            .map_err(|_| ArrowError("negative null count".into()))?,
                    ));
                }
                let (first, n) = header.vector(2)?;
                let mut buffers = Vec::with_capacity(n);
                for i in 0..n {
                    let at = add(first, 16 * i)?;
                    let off = usize::try_from(read_i64(meta, at)?)
                        .map_err(|_| ArrowError("negative offset".into()))?;
                    let l = usize::try_from(read_i64(meta, add(at, 8)?)?)
                        .map_err(|_| ArrowError("negative buffer length".into()))?;
                    buffers.push(slice(body, off, l, "buffer out of bounds")?);
                }
                let mut batch = Batch {
                    length,
                    nodes,
                    buffers,
                    node_at: 0,
                    buffer_at: 0,
                };
                let mut columns = Vec::with_capacity(fields.len());
                for f in fields {
                    columns.push(read_column(f, &mut batch)?);
                }
                for i in 0..batch.length {
                    rows.push(
                        columns
                            .iter()
                            .map(|c| c.get(i).cloned().flatten())
                            .collect(),
                    );
                }
            }
            2 => return err("dictionary batches are not supported"),
            other => return err(format!("unexpected message type {other}")),
        }
    }
    Ok(Decoded {
        fields: fields.unwrap_or_default(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_applied_to_integers() {
        assert_eq!(with_scale(1234, 2), "12.34");
        assert_eq!(with_scale(-5, 3), "-0.005");
        assert_eq!(with_scale(7, 0), "7");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // An empty stream is a stream of no batches.
        let empty = decode_stream(b"").expect("an empty stream");
        assert!(empty.fields.is_empty() && empty.rows.is_empty());
        for (input, error) in [
            (
                &b"\xff\xff\xff\xff\x10\x00\x00\x00abc"[..],
                "message metadata out of bounds",
            ),
            (
                b"\x08\x00\x00\x00\xff\xff\xff\x7f\x00\x00\x00\x00",
                "flatbuffer read out of bounds",
            ),
            (
                b"\xff\xff\xff\xff\x40\x00\x00\x00",
                "message metadata out of bounds",
            ),
        ] {
            match decode_stream(input) {
                Err(ArrowError(m)) => assert_eq!(m, error, "{input:?}"),
                Ok(_) => panic!("garbage decoded: {input:?}"),
            }
        }
    }
}
