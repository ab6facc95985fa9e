//! What the commands print, through writers that end quietly when the reader
//! goes away: `junction plugins | head` must not panic (as `println!` does on
//! a closed pipe), and a command keeps its exit status. Once stdout is
//! closed, nothing more is written to it and [`stdout_closed`] says so, so
//! that an endless command (`watch`) stops.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line (`args` and a newline) to stdout, unless it is closed.
pub fn line(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            err_line(format_args!("junction: cannot write to stdout: {e}"));
        }
    }
}

/// Writes one line to stderr; a closed stderr is ignored.
pub fn err_line(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Whether the reader of stdout went away.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Whether stdout is a terminal (a person reads it).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Colours only for a terminal, and not when `NO_COLOR` is set or the
/// terminal is dumb.
pub fn colour() -> bool {
    stdout_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// `println!`, ending quietly on a closed stdout.
macro_rules! outln {
    () => { $crate::commands::out::line(format_args!("")) };
    ($($t:tt)*) => { $crate::commands::out::line(format_args!($($t)*)) };
}

/// `eprintln!`, ignoring a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => { $crate::commands::out::err_line(format_args!($($t)*)) };
}

pub(crate) use {errln, outln};
