//! Standard output and standard error for every command and agent. A reader that went away
//! (`gaform backtest … | head -1`) ends that stream quietly, as Unix tools do, where
//! `println!` would panic; the command itself carries on, so an apply still finishes its
//! changes and releases its lock. Any other write error (a full disk behind `> file`) also
//! ends the stream, and is kept so that the command exits non-zero instead of claiming a
//! success whose output was lost. `main` denies `print_stdout`/`print_stderr`: every line
//! goes through here.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Which of the two standard streams.
#[derive(Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Set once a stream can no longer be written: later writes are dropped.
static CLOSED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
/// The first standard-output error that was not a closed pipe.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Writes `args` to `stream` and flushes it (prompts end without a newline).
pub fn write(stream: Stream, args: std::fmt::Arguments<'_>) {
    let closed = &CLOSED[stream as usize];
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let result = match stream {
        Stream::Out => {
            let mut out = std::io::stdout().lock();
            out.write_fmt(args).and_then(|()| out.flush())
        }
        Stream::Err => {
            let mut err = std::io::stderr().lock();
            err.write_fmt(args).and_then(|()| err.flush())
        }
    };
    if let Err(e) = result {
        closed.store(true, Ordering::Relaxed);
        // Nothing can be said about a failing standard error; a closed pipe is no failure.
        if matches!(stream, Stream::Out) && e.kind() != std::io::ErrorKind::BrokenPipe {
            let mut failure = FAILURE.lock().unwrap_or_else(|p| p.into_inner());
            failure.get_or_insert_with(|| format!("cannot write output: {e}"));
        }
    }
}

/// Why standard output was lost, if it was for another reason than its reader leaving.
pub fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `print!` to standard output, ending quietly when its reader is gone.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write($crate::output::Stream::Out, format_args!($($arg)*)) };
}

/// `println!` to standard output, ending quietly when its reader is gone.
#[macro_export]
macro_rules! outln {
    () => { $crate::out!("\n") };
    ($($arg:tt)*) => { $crate::out!("{}\n", format_args!($($arg)*)) };
}

/// `eprint!` to standard error, ending quietly when its reader is gone.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::write($crate::output::Stream::Err, format_args!($($arg)*)) };
}

/// `eprintln!` to standard error, ending quietly when its reader is gone.
#[macro_export]
macro_rules! errln {
    () => { $crate::err!("\n") };
    ($($arg:tt)*) => { $crate::err!("{}\n", format_args!($($arg)*)) };
}
