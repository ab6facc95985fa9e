//! The `synapse_tds` fuzz target's body (`fuzz/` calls it; this crate's unit
//! tests run it over the committed corpus and regressions). Not part of the
//! platform's surface.
//!
//! What the plugin reads from a server, driven through its own client: the
//! plugin's tiberius configuration connects over an in-memory stream to a
//! scripted server, which answers correctly up to one stage and then with
//! the fuzz bytes, and the plugin asks what its checks ask ([`facts`],
//! [`recorded_version`]). The first byte picks:
//! - bits 0-1, the stage answered with fuzz bytes: PRELOGIN's answer (0),
//!   LOGIN7's (1: the LOGINACK and ENVCHANGE tokens), the query's (2, 3: the
//!   result's token stream, what the checks read most);
//! - bit 2, whether the bytes are already TDS packets (framing fuzzed too) or
//!   the payload of one reply message the server frames;
//! - bit 3, which question: the checks' facts, or the recorded version.
//!
//! The one difference from a real connection is encryption: not supported
//! (no TLS), so the bytes reach the token reader instead of a TLS handshake.
//! A bad answer must be a `DbError`, never a panic or a hang.

// A harness: its assertions are the findings.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::client::{self, DbError, Questions, facts, recorded_version};
use crate::config::SynapseConfig;
use std::io;
use tiberius::EncryptionLevel;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const PT_REPLY: u8 = 0x04;
const PT_PRELOGIN: u8 = 0x12;
const HEADER_LEN: usize = 8;
const PACKET_SIZE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Prelogin,
    Login,
    Query,
}

/// Once, before fuzzing (the target's `init`). libFuzzer's panic hook aborts
/// on every panic, even one caught: a panic inside tiberius that the
/// plugin's handshake task turns into an error (by design, see
/// `client::handshake`) would end the run. This hook lets tiberius's panics
/// unwind; one that nothing catches still ends the run, as libfuzzer-sys
/// aborts on any panic leaving the target.
pub fn init() {
    let libfuzzer = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_tiberius = info
            .location()
            .is_some_and(|l| l.file().contains("/tiberius-"));
        if !in_tiberius {
            libfuzzer(info);
        }
    }));
}

pub fn tds(data: &[u8]) {
    match run(data) {
        Ok(()) | Err(DbError::Statement(_) | DbError::Connect { .. }) => {}
        Err(other) => panic!("an answer read as {other:?}"),
    }
}

/// One conversation; what the plugin made of it.
fn run(data: &[u8]) -> Result<(), DbError> {
    let Some((&pick, reply)) = data.split_first() else {
        return Ok(());
    };
    let stage = match pick & 0x03 {
        0 => Stage::Prelogin,
        1 => Stage::Login,
        _ => Stage::Query,
    };
    let framed_by_server = pick & 0x04 == 0;
    let ask_version = pick & 0x08 != 0;
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let (client_io, mut server_io) = tokio::io::duplex(1 << 16);
            let server = async move {
                // The server's own errors (the client hung up) end the script.
                let _ = serve(&mut server_io, stage, framed_by_server, reply).await;
            };
            let (_, outcome) = tokio::join!(server, ask(client_io, ask_version));
            outcome
        })
    })
}

/// The plugin's side: its tiberius configuration, the log-in, one question.
async fn ask(io: DuplexStream, version: bool) -> Result<(), DbError> {
    let config = config();
    let creds = client::credentials_of(&config);
    let mut c = client::tiberius_config(&config, &config.database, &creds);
    c.encryption(EncryptionLevel::NotSupported);
    let mut client = client::handshake(c, io)
        .await
        .map_err(|e| DbError::Connect {
            host: config.host.clone(),
            port: config.port,
            database: config.database.clone(),
            cause: client::describe(&e),
        })?;
    if version {
        recorded_version(&mut client).await.map(|_| ())
    } else {
        let q = Questions {
            principal: Some("immuta_system"),
            schemas: vec!["immuta", "dbo"],
            schema_permissions: &["ALTER", "SELECT"],
        };
        facts(&mut client, &q).await.map(|_| ())
    }
}

fn config() -> SynapseConfig {
    let example = serde_json::json!({
        "host": "synapse.fuzz.invalid",
        "port": 1433,
        "database": "immuta_pool",
        "schema": "immuta",
        "username": "sqladminuser",
        "password": "fuzz-password",
        "encrypt": "disable",
    });
    junction_core::config::from_json_at(&example, "config").expect("the fuzz configuration")
}

/// The scripted server: correct answers before `stage`, the fuzz bytes at it,
/// then it hangs up.
async fn serve(
    io: &mut DuplexStream,
    stage: Stage,
    framed_by_server: bool,
    reply: &[u8],
) -> io::Result<()> {
    let answer = |kind| {
        if framed_by_server {
            packets(kind, reply)
        } else {
            reply.to_vec()
        }
    };
    let (_, _prelogin) = read_message(io).await?;
    if stage == Stage::Prelogin {
        return io.write_all(&answer(PT_PRELOGIN)).await;
    }
    io.write_all(&packets(PT_REPLY, &prelogin_response()))
        .await?;
    let (_, login) = read_message(io).await?;
    if stage == Stage::Login {
        return io.write_all(&answer(PT_REPLY)).await;
    }
    let tds_version = login.get(4..8).map_or(0x7300_000B, |b| {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    });
    io.write_all(&packets(PT_REPLY, &login_response(tds_version)))
        .await?;
    let _query = read_message(io).await?;
    io.write_all(&answer(PT_REPLY)).await
}

/// One message of the client: its packet type and payload.
async fn read_message(io: &mut DuplexStream) -> io::Result<(u8, Vec<u8>)> {
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER_LEN];
        io.read_exact(&mut header).await?;
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let body = len
            .checked_sub(HEADER_LEN)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short packet"))?;
        let start = payload.len();
        payload.resize(start + body, 0);
        io.read_exact(&mut payload[start..]).await?;
        if header[1] & 0x01 != 0 {
            return Ok((header[0], payload));
        }
    }
}

/// `payload` as one message of packets of at most [`PACKET_SIZE`].
fn packets(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut chunks: Vec<&[u8]> = payload.chunks(PACKET_SIZE - HEADER_LEN).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN * chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let len = (c.len() + HEADER_LEN) as u16;
        out.extend_from_slice(&[kind, u8::from(i == last)]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[0, 0, (i + 1) as u8, 0]);
        out.extend_from_slice(c);
    }
    out
}

/// PRELOGIN's answer (MS-TDS §2.2.6.5): VERSION, ENCRYPTION (not supported),
/// INSTOPT, THREADID, MARS.
fn prelogin_response() -> Vec<u8> {
    let data: [&[u8]; 5] = [&[16, 0, 0x10, 0x00, 0, 0], &[0x02], &[0], &[], &[0]];
    let mut out = Vec::new();
    let mut offset = data.len() * 5 + 1;
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

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn b_varchar(out: &mut Vec<u8>, s: &str) {
    out.push(s.encode_utf16().count() as u8);
    out.extend(utf16(s));
}

fn with_length(out: &mut Vec<u8>, token: u8, body: Vec<u8>) {
    out.push(token);
    out.extend((body.len() as u16).to_le_bytes());
    out.extend(body);
}

/// LOGIN7's answer (§2.2.7): LOGINACK, ENVCHANGE (database, packet size), DONE.
pub fn login_response(tds_version: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ack = vec![1];
    ack.extend(tds_version.to_be_bytes());
    b_varchar(&mut ack, "Microsoft SQL Server");
    ack.extend([16, 0, 0x10, 0x00]);
    with_length(&mut out, 0xAD, ack);
    for (kind, new, old) in [(1u8, "immuta_pool", "master"), (4, "4096", "4096")] {
        let mut env = vec![kind];
        b_varchar(&mut env, new);
        b_varchar(&mut env, old);
        with_length(&mut out, 0xE3, env);
    }
    out.push(0xFD);
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    //! The smoke run of the normal test build: the target's body over its
    //! committed seed corpus and every regression input found by fuzzing.

    #[test]
    fn fuzz_synapse_tds_corpus_and_regressions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut n = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join("synapse_tds")) else {
                continue;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                eprintln!("{}", path.display());
                super::tds(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
        assert!(n >= 4, "the synapse_tds corpus is missing ({n} inputs)");
    }

    /// The scripted server is right: the seeds of the query stage log in and
    /// are read as answers, so fuzzing them reaches the result's token reader.
    #[test]
    fn fuzz_synapse_tds_seeds_reach_the_token_reader() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/synapse_tds");
        for ok in ["facts", "version", "facts-raw-packet"] {
            let data = std::fs::read(root.join(ok)).unwrap();
            assert_eq!(super::run(&data), Ok(()), "{ok}");
        }
        let data = std::fs::read(root.join("error")).unwrap();
        match super::run(&data) {
            Err(super::DbError::Statement(m)) => assert!(m.starts_with("Msg 229:"), "{m}"),
            other => panic!("{other:?}"),
        }
        let data = std::fs::read(root.join("login-error")).unwrap();
        match super::run(&data) {
            Err(super::DbError::Connect { cause, .. }) => {
                assert!(cause.starts_with("Msg 18456:"), "{cause}")
            }
            other => panic!("{other:?}"),
        }
    }
}
