//! TDS framing (MS-TDS §2.2.3.1) and the tokens the fake answers with
//! (§2.2.7): LOGINACK, ENVCHANGE, ERROR, INFO, COLMETADATA, ROW, DONE,
//! DONEPROC, DONEINPROC, RETURNSTATUS.

use std::io::{self, Read, Write};

pub const PT_SQL_BATCH: u8 = 0x01;
pub const PT_RPC: u8 = 0x03;
pub const PT_REPLY: u8 = 0x04;
pub const PT_ATTENTION: u8 = 0x06;
pub const PT_TRANSACTION: u8 = 0x0E;
pub const PT_LOGIN7: u8 = 0x10;
pub const PT_PRELOGIN: u8 = 0x12;
const STATUS_EOM: u8 = 0x01;
pub const HEADER_LEN: usize = 8;
/// The packet size the fake announces and writes with.
pub const PACKET_SIZE: usize = 4096;

/// One message: its packet type and the payloads of its packets joined.
pub fn read_message(r: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER_LEN];
        r.read_exact(&mut header)?;
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let body = len.checked_sub(HEADER_LEN).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "packet shorter than its header")
        })?;
        let start = payload.len();
        payload.resize(start + body, 0);
        r.read_exact(&mut payload[start..])?;
        if header[1] & STATUS_EOM != 0 {
            return Ok((header[0], payload));
        }
    }
}

/// Writes `payload` as one message of packets of at most [`PACKET_SIZE`].
pub fn write_message(w: &mut impl Write, packet_type: u8, payload: &[u8]) -> io::Result<()> {
    let chunk = PACKET_SIZE - HEADER_LEN;
    let mut chunks: Vec<&[u8]> = payload.chunks(chunk).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN * chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let len = (c.len() + HEADER_LEN) as u16;
        let status = if i == last { STATUS_EOM } else { 0 };
        out.extend_from_slice(&[packet_type, status]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[0, 0x33, (i + 1) as u8, 0]);
        out.extend_from_slice(c);
    }
    w.write_all(&out)?;
    w.flush()
}

pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn from_utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A column's type in COLMETADATA and how its values are written in ROW.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// INTN(4)
    Int,
    /// NVARCHAR(4000)
    NVarChar,
}

/// A value in a result row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Null,
    Int(i64),
    Str(String),
}

impl Value {
    pub fn col_type(&self) -> ColType {
        match self {
            Value::Str(_) => ColType::NVarChar,
            _ => ColType::Int,
        }
    }
}

/// The collation of the fake's strings: Latin1_General_CI_AS (LCID 0x0409).
const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// DONE status bits.
pub const DONE_MORE: u16 = 0x01;
pub const DONE_ERROR: u16 = 0x02;
pub const DONE_COUNT: u16 = 0x10;

/// A response under construction.
#[derive(Default)]
pub struct Tokens(pub Vec<u8>);

impl Tokens {
    fn b_varchar(&mut self, s: &str) {
        let units = s.encode_utf16().count();
        self.0.push(units as u8);
        self.0.extend(utf16(s));
    }

    fn us_varchar(&mut self, s: &str) {
        let units = s.encode_utf16().count();
        self.0.extend((units as u16).to_le_bytes());
        self.0.extend(utf16(s));
    }

    /// A token with a 2-byte length before its body.
    fn with_length(&mut self, token: u8, body: impl FnOnce(&mut Tokens)) {
        let mut inner = Tokens::default();
        body(&mut inner);
        self.0.push(token);
        self.0.extend((inner.0.len() as u16).to_le_bytes());
        self.0.extend(inner.0);
    }

    pub fn login_ack(&mut self, tds_version: u32) {
        self.with_length(0xAD, |t| {
            t.0.push(1); // interface: SQL_TSQL
            t.0.extend(tds_version.to_be_bytes());
            t.b_varchar("Microsoft SQL Server");
            t.0.extend([16, 0, 0x10, 0x00]); // 16.0.4096.0
        });
    }

    /// ENVCHANGE of a string value (1 database, 2 language, 4 packet size).
    pub fn env_change(&mut self, kind: u8, new: &str, old: &str) {
        self.with_length(0xE3, |t| {
            t.0.push(kind);
            t.b_varchar(new);
            t.b_varchar(old);
        });
    }

    /// ENVCHANGE 7: the SQL collation.
    pub fn env_collation(&mut self) {
        self.with_length(0xE3, |t| {
            t.0.push(7);
            t.0.push(COLLATION.len() as u8);
            t.0.extend(COLLATION);
            t.0.push(0);
        });
    }

    fn message(&mut self, token: u8, number: u32, class: u8, text: &str, line: u32) {
        self.with_length(token, |t| {
            t.0.extend(number.to_le_bytes());
            t.0.push(1); // state
            t.0.push(class);
            t.us_varchar(text);
            t.b_varchar("fake_synapse");
            t.b_varchar("");
            t.0.extend(line.to_le_bytes());
        });
    }

    pub fn error(&mut self, number: u32, class: u8, text: &str) {
        self.message(0xAA, number, class, text, 1);
    }

    pub fn info(&mut self, number: u32, text: &str) {
        self.message(0xAB, number, 0, text, 1);
    }

    pub fn col_metadata(&mut self, columns: &[(String, ColType)]) {
        self.0.push(0x81);
        self.0.extend((columns.len() as u16).to_le_bytes());
        for (name, ty) in columns {
            self.0.extend(0u32.to_le_bytes()); // user type
            self.0.extend(0x0001u16.to_le_bytes()); // flags: nullable
            match ty {
                ColType::Int => self.0.extend([0x26, 4]),
                ColType::NVarChar => {
                    self.0.push(0xE7);
                    self.0.extend(8000u16.to_le_bytes());
                    self.0.extend(COLLATION);
                }
            }
            self.b_varchar(name);
        }
    }

    pub fn row(&mut self, types: &[ColType], values: &[Value]) {
        self.0.push(0xD1);
        for (ty, v) in types.iter().zip(values) {
            match (ty, v) {
                (ColType::Int, Value::Int(n)) => {
                    self.0.push(4);
                    self.0.extend((*n as i32).to_le_bytes());
                }
                (ColType::Int, _) => self.0.push(0),
                (ColType::NVarChar, Value::Str(s)) => {
                    let b = utf16(s);
                    self.0.extend((b.len() as u16).to_le_bytes());
                    self.0.extend(b);
                }
                (ColType::NVarChar, Value::Int(n)) => {
                    let b = utf16(&n.to_string());
                    self.0.extend((b.len() as u16).to_le_bytes());
                    self.0.extend(b);
                }
                (ColType::NVarChar, Value::Null) => self.0.extend(0xFFFFu16.to_le_bytes()),
            }
        }
    }

    /// DONE (0xFD), DONEPROC (0xFE) or DONEINPROC (0xFF).
    pub fn done(&mut self, token: u8, status: u16, cur_cmd: u16, rows: u64) {
        self.0.push(token);
        self.0.extend(status.to_le_bytes());
        self.0.extend(cur_cmd.to_le_bytes());
        self.0.extend(rows.to_le_bytes());
    }

    pub fn return_status(&mut self, value: i32) {
        self.0.push(0x79);
        self.0.extend(value.to_le_bytes());
    }
}

pub const TOKEN_DONE: u8 = 0xFD;
pub const TOKEN_DONEPROC: u8 = 0xFE;
pub const TOKEN_DONEINPROC: u8 = 0xFF;
