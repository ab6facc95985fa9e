//! The start of a connection: PRELOGIN (MS-TDS §2.2.6.5) with encryption
//! negotiated, the TLS handshake carried in PRELOGIN packets, and LOGIN7
//! (§2.2.6.4) with its password decoded.

use super::wire::{self, PT_PRELOGIN, PT_REPLY};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// PRELOGIN ENCRYPTION values.
pub const ENCRYPT_OFF: u8 = 0x00;
pub const ENCRYPT_ON: u8 = 0x01;
pub const ENCRYPT_NOT_SUP: u8 = 0x02;

/// What the negotiation settled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// No TLS at all.
    None,
    /// TLS for the LOGIN7 message only; plain text after it.
    LoginOnly,
    /// TLS for the rest of the connection.
    Full,
}

/// The client's ENCRYPTION option, from its PRELOGIN payload.
pub fn client_encryption(payload: &[u8]) -> io::Result<u8> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed PRELOGIN");
    let mut i = 0;
    while i < payload.len() {
        let token = payload[i];
        if token == 0xFF {
            break;
        }
        let option = payload.get(i..i + 5).ok_or_else(bad)?;
        let offset = usize::from(u16::from_be_bytes([option[1], option[2]]));
        if token == 0x01 {
            return payload.get(offset).copied().ok_or_else(bad);
        }
        i += 5;
    }
    // A client that sends no ENCRYPTION option does not support it.
    Ok(ENCRYPT_NOT_SUP)
}

/// The server's answer to the client's ENCRYPTION value (§2.2.6.5's table),
/// for a server that has a certificate (`can_tls`) or not.
pub fn negotiate(client: u8, can_tls: bool) -> (u8, Encryption) {
    match (client, can_tls) {
        (_, false) => (ENCRYPT_NOT_SUP, Encryption::None),
        (ENCRYPT_NOT_SUP, true) => (ENCRYPT_NOT_SUP, Encryption::None),
        (ENCRYPT_OFF, true) => (ENCRYPT_OFF, Encryption::LoginOnly),
        (_, true) => (ENCRYPT_ON, Encryption::Full),
    }
}

/// The PRELOGIN response: VERSION, ENCRYPTION, INSTOPT, THREADID, MARS.
pub fn prelogin_response(encryption: u8) -> Vec<u8> {
    let data: [&[u8]; 5] = [&[16, 0, 0x10, 0x00, 0, 0], &[encryption], &[0], &[], &[0]];
    let table_len = data.len() * 5 + 1;
    let mut out = Vec::new();
    let mut offset = table_len;
    for (token, d) in data.iter().enumerate() {
        out.push(token as u8);
        out.extend((offset as u16).to_be_bytes());
        out.extend((d.len() as u16).to_be_bytes());
        offset += d.len();
    }
    out.push(0xFF);
    for d in data {
        out.extend_from_slice(d);
    }
    out
}

/// Runs the server side of the TLS handshake, whose records travel inside
/// PRELOGIN packets until it completes (§3.3.5.2 of MS-TDS).
pub fn tls_handshake(
    tcp: &mut TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<rustls::ServerConnection> {
    let tls_err = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
    let mut conn = rustls::ServerConnection::new(config).map_err(tls_err)?;
    loop {
        if conn.wants_write() {
            let mut flight = Vec::new();
            while conn.wants_write() {
                conn.write_tls(&mut flight)?;
            }
            wire::write_message(tcp, PT_PRELOGIN, &flight)?;
            continue;
        }
        if !conn.is_handshaking() {
            return Ok(conn);
        }
        let (kind, payload) = wire::read_message(tcp)?;
        if std::env::var_os("FAKE_SYNAPSE_DEBUG").is_some() {
            eprintln!(
                "fake_synapse: handshake packet type {kind:#04x}, {} bytes",
                payload.len()
            );
        }
        if kind != PT_PRELOGIN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("packet type {kind:#04x} during the TLS handshake"),
            ));
        }
        let mut rest = &payload[..];
        while !rest.is_empty() {
            conn.read_tls(&mut rest)?;
            conn.process_new_packets().map_err(tls_err)?;
        }
    }
}

/// The parts of a LOGIN7 message the fake uses.
#[derive(Debug, Clone)]
pub struct Login7 {
    pub tds_version: u32,
    pub user: String,
    pub password: String,
    pub database: String,
}

/// A LOGIN7 password on the wire: each byte's nibbles swapped, then XORed
/// with 0xA5 (§2.2.6.4). Undone in the reverse order.
pub fn decode_password(bytes: &[u8]) -> String {
    let plain: Vec<u8> = bytes
        .iter()
        .map(|b| {
            let x = b ^ 0xA5;
            x.rotate_left(4)
        })
        .collect();
    wire::from_utf16(&plain)
}

pub fn parse_login7(p: &[u8]) -> io::Result<Login7> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("LOGIN7: {what}"));
    if p.len() < 94 {
        return Err(bad("shorter than its fixed part"));
    }
    let u32_at = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([p[i], p[i + 1]]));
    // (offset, length in characters) pairs of the variable part.
    let field = |at: usize| -> io::Result<&[u8]> {
        let (offset, chars) = (u16_at(at), u16_at(at + 2));
        p.get(offset..offset + chars * 2)
            .ok_or_else(|| bad("a field lies outside the message"))
    };
    Ok(Login7 {
        tds_version: u32_at(4),
        user: wire::from_utf16(field(40)?),
        password: decode_password(field(44)?),
        database: wire::from_utf16(field(68)?),
    })
}

/// Reads whatever the connection carries: plain TCP, or TLS over it.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
        }
    }
}

/// The PRELOGIN exchange, the TLS handshake if one was negotiated, and the
/// LOGIN7 message; returns the transport for the rest of the connection.
pub fn open(
    mut tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<(Transport, Login7, Encryption)> {
    let (kind, payload) = wire::read_message(&mut tcp)?;
    if kind != PT_PRELOGIN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected PRELOGIN, got packet type {kind:#04x}"),
        ));
    }
    let (answer, encryption) = negotiate(client_encryption(&payload)?, tls.is_some());
    wire::write_message(&mut tcp, PT_REPLY, &prelogin_response(answer))?;
    let (mut transport, login) = match (encryption, tls) {
        (Encryption::None, _) | (_, None) => {
            let mut t = Transport::Plain(tcp);
            let login = read_login(&mut t)?;
            (t, login)
        }
        (Encryption::LoginOnly, Some(config)) => {
            let conn = tls_handshake(&mut tcp, config)?;
            if std::env::var_os("FAKE_SYNAPSE_DEBUG").is_some() {
                eprintln!("fake_synapse: handshake done (log-in only)");
            }
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let login = read_login(&mut stream)?;
            // Everything after the log-in goes in plain text (§2.2.6.5).
            (Transport::Plain(stream.sock), login)
        }
        (Encryption::Full, Some(config)) => {
            let conn = tls_handshake(&mut tcp, config)?;
            let mut t = Transport::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
            let login = read_login(&mut t)?;
            (t, login)
        }
    };
    transport.flush()?;
    Ok((transport, login, encryption))
}

fn read_login(r: &mut impl Read) -> io::Result<Login7> {
    let (kind, payload) = wire::read_message(r)?;
    if kind != wire::PT_LOGIN7 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected LOGIN7, got packet type {kind:#04x}"),
        ));
    }
    parse_login7(&payload)
}
