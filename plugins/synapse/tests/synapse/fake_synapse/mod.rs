//! `fake_synapse`: a TDS server written for these tests — a fake, not
//! Synapse. It follows MS-TDS (§2.2.6 requests, §2.2.7 tokens, §4.7's
//! example): PRELOGIN with encryption negotiated (none, log-in only, or full
//! TLS with a test certificate), LOGIN7 with the password decoded and checked,
//! SQL batches and `sp_executesql` RPCs answered from an in-memory catalog
//! that really runs the statements, with SQL Server's error numbers.
//!
//! What it cannot prove: that Synapse accepts the same T-SQL (the fake is
//! ours), Azure AD logins, or anything of the real query engine.
//!
//! A connection that breaks the protocol is reported on the test's standard
//! error; `FAKE_SYNAPSE_DEBUG=1` also shows the TLS handshake's packets.

mod catalog;
mod engine;
mod handshake;
mod request;
mod sql;
mod wire;

pub use catalog::Catalog;
pub use handshake::Encryption;

use engine::{Outcome, Session};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wire::{DONE_COUNT, DONE_ERROR, DONE_MORE, Tokens};

/// The TDS version the fake speaks at most: 7.4.
const TDS_7_4: u32 = 0x7400_0004;

#[derive(Default)]
struct Knobs {
    /// Errors the next log-ins fail with, one each (Azure's 40613, 42108, 42109).
    transient: VecDeque<u32>,
    /// What each connection negotiated, in order.
    encryptions: Vec<Encryption>,
    /// Every SQL text run, in order, with the login that ran it.
    statements: Vec<(String, String)>,
}

struct Shared {
    catalog: Mutex<Catalog>,
    knobs: Mutex<Knobs>,
    tls: Option<Arc<rustls::ServerConfig>>,
    logins_attempted: AtomicUsize,
    stopped: AtomicBool,
}

/// A running fake server on 127.0.0.1.
pub struct FakeSynapse {
    pub port: u16,
    shared: Arc<Shared>,
}

/// The server admin every fake starts with (`dbo` everywhere).
pub const ADMIN: &str = "sqladmin";

impl FakeSynapse {
    /// A server with the admin login and the databases named; with a TLS
    /// configuration it offers encryption, without one it answers NOT_SUP.
    pub fn start(
        admin_password: &str,
        databases: &[&str],
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> FakeSynapse {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            catalog: Mutex::new(Catalog::new(ADMIN, admin_password, databases)),
            knobs: Mutex::new(Knobs::default()),
            tls,
            logins_attempted: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    // A client that hangs up or breaks the protocol ends its
                    // connection only; the reason goes to the test's output.
                    match serve(conn, &s) {
                        Err(e) if e.kind() != io::ErrorKind::UnexpectedEof => {
                            eprintln!("fake_synapse: connection ended: {e}");
                        }
                        _ => {}
                    }
                });
            }
        });
        FakeSynapse { port, shared }
    }

    /// The catalog as sorted lines (no passwords): equal before and after
    /// an operation that rolled back.
    pub fn snapshot(&self) -> Vec<String> {
        self.shared.catalog.lock().expect("catalog").snapshot()
    }

    fn with_catalog<T>(&self, f: impl FnOnce(&mut Catalog) -> T) -> T {
        f(&mut self.shared.catalog.lock().expect("catalog"))
    }

    /// Runs a batch as the admin in `database`, as a test's own set-up;
    /// returns the first error's number and text, if any.
    pub fn admin_batch(&self, database: &str, sql: &str) -> Result<(), (u32, String)> {
        let s = Session {
            login: ADMIN.into(),
            admin: true,
            database: catalog::key(database),
        };
        let mut cat = self.shared.catalog.lock().expect("catalog");
        let out = engine::run_batch(&mut cat, &s, sql, &Default::default());
        match out.into_iter().find_map(|o| match o {
            Outcome::Error(e) => Some(e),
            _ => None,
        }) {
            Some(e) => Err((e.number, e.text)),
            None => Ok(()),
        }
    }

    /// The next log-ins fail with these error numbers, one each.
    pub fn fail_next_logins(&self, numbers: &[u32]) {
        self.shared
            .knobs
            .lock()
            .expect("knobs")
            .transient
            .extend(numbers);
    }

    pub fn logins_attempted(&self) -> usize {
        self.shared.logins_attempted.load(Ordering::SeqCst)
    }

    pub fn encryptions(&self) -> Vec<Encryption> {
        self.shared.knobs.lock().expect("knobs").encryptions.clone()
    }

    /// Every SQL text run so far, with the login that ran it.
    pub fn statements(&self) -> Vec<(String, String)> {
        self.shared.knobs.lock().expect("knobs").statements.clone()
    }

    /// Whether `user` logs in with `password` (checked against the catalog).
    pub fn password_is(&self, user: &str, password: &str) -> bool {
        self.with_catalog(|c| {
            c.logins
                .get(&catalog::key(user))
                .is_some_and(|l| l.password == password)
        })
    }
}

impl Drop for FakeSynapse {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Azure's transient errors, with their texts.
fn transient_text(number: u32, database: &str) -> String {
    match number {
        42108 => "Can not connect to the SQL pool since it is paused. Please resume the SQL pool and try again.".into(),
        42109 => "The SQL pool is warming up. Please try again.".into(),
        _ => format!("Database '{database}' on server 'fake_synapse' is not currently available. Please retry the connection later. If the problem persists, contact customer support, and provide them the session tracing ID of '00000000-0000-0000-0000-000000000000'."),
    }
}

fn login_failed(t: &mut impl Write, tokens: &mut Tokens, user: &str) -> io::Result<()> {
    tokens.error(18456, 14, &format!("Login failed for user '{user}'."));
    tokens.done(wire::TOKEN_DONE, DONE_ERROR, 0, 0);
    wire::write_message(t, wire::PT_REPLY, &tokens.0)
}

fn serve(tcp: TcpStream, s: &Shared) -> io::Result<()> {
    let (mut t, login, encryption) = handshake::open(tcp, s.tls.clone())?;
    s.logins_attempted.fetch_add(1, Ordering::SeqCst);
    s.knobs.lock().expect("knobs").encryptions.push(encryption);
    let mut tokens = Tokens::default();
    let database = if login.database.is_empty() {
        "master".to_owned()
    } else {
        login.database.clone()
    };
    let transient = s.knobs.lock().expect("knobs").transient.pop_front();
    if let Some(number) = transient {
        tokens.error(number, 20, &transient_text(number, &database));
        tokens.done(wire::TOKEN_DONE, DONE_ERROR, 0, 0);
        return wire::write_message(&mut t, wire::PT_REPLY, &tokens.0);
    }
    let admin = {
        let cat = s.catalog.lock().expect("catalog");
        let Some(l) = cat
            .logins
            .get(&catalog::key(&login.user))
            .filter(|l| l.password == login.password)
        else {
            drop(cat);
            return login_failed(&mut t, &mut tokens, &login.user);
        };
        let admin = l.admin;
        let db = cat.databases.get(&catalog::key(&database));
        let usable =
            db.is_some_and(|d| admin || d.name == "master" || d.user_of(&l.name).is_some());
        if !usable {
            drop(cat);
            tokens.error(
                4060,
                11,
                &format!(
                    "Cannot open database \"{database}\" requested by the login. The login failed."
                ),
            );
            return login_failed(&mut t, &mut tokens, &login.user);
        }
        admin
    };
    let session = Session {
        login: login.user.clone(),
        admin,
        database: catalog::key(&database),
    };
    tokens.env_change(1, &database, "master");
    tokens.info(5701, &format!("Changed database context to '{database}'."));
    tokens.env_collation();
    tokens.login_ack(login.tds_version.min(TDS_7_4));
    tokens.env_change(
        4,
        &wire::PACKET_SIZE.to_string(),
        &wire::PACKET_SIZE.to_string(),
    );
    tokens.done(wire::TOKEN_DONE, 0, 0, 0);
    wire::write_message(&mut t, wire::PT_REPLY, &tokens.0)?;

    loop {
        let (kind, payload) = match wire::read_message(&mut t) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let req = match kind {
            wire::PT_SQL_BATCH => request::sql_batch(&payload)?,
            wire::PT_RPC => request::rpc(&payload)?,
            wire::PT_ATTENTION => {
                let mut tk = Tokens::default();
                tk.done(wire::TOKEN_DONE, 0x20, 0, 0);
                wire::write_message(&mut t, wire::PT_REPLY, &tk.0)?;
                continue;
            }
            wire::PT_TRANSACTION => {
                let mut tk = Tokens::default();
                tk.done(wire::TOKEN_DONE, 0, 0, 0);
                wire::write_message(&mut t, wire::PT_REPLY, &tk.0)?;
                continue;
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("packet type {other:#04x} not served by the fake"),
                ));
            }
        };
        s.knobs
            .lock()
            .expect("knobs")
            .statements
            .push((session.login.clone(), req.sql.clone()));
        let outcomes = {
            let mut cat = s.catalog.lock().expect("catalog");
            engine::run_batch(&mut cat, &session, &req.sql, &req.params)
        };
        let tk = respond(&outcomes, req.rpc);
        wire::write_message(&mut t, wire::PT_REPLY, &tk.0)?;
    }
}

/// The tokens of a batch's or an RPC's outcomes.
fn respond(outcomes: &[Outcome], rpc: bool) -> Tokens {
    let mut tk = Tokens::default();
    let done = if rpc {
        wire::TOKEN_DONEINPROC
    } else {
        wire::TOKEN_DONE
    };
    let last = outcomes.len().saturating_sub(1);
    let mut failed = false;
    for (i, o) in outcomes.iter().enumerate() {
        let more = if rpc || i < last { DONE_MORE } else { 0 };
        match o {
            Outcome::Rows { columns, rows } => {
                tk.col_metadata(columns);
                let types: Vec<_> = columns.iter().map(|(_, t)| *t).collect();
                for r in rows {
                    tk.row(&types, r);
                }
                tk.done(done, more | DONE_COUNT, 0xC1, rows.len() as u64);
            }
            Outcome::Done { count } => match count {
                Some(n) => tk.done(done, more | DONE_COUNT, 0xC3, *n),
                None => tk.done(done, more, 0xC6, 0),
            },
            Outcome::Error(e) => {
                failed = true;
                tk.error(e.number, e.class, &e.text);
                tk.done(done, more | DONE_ERROR, 0, 0);
            }
        }
    }
    if rpc {
        tk.return_status(if failed { 1 } else { 0 });
        tk.done(
            wire::TOKEN_DONEPROC,
            if failed { DONE_ERROR } else { 0 },
            0xE0,
            0,
        );
    }
    tk
}
