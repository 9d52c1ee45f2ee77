//! Ctrl-C (and SIGTERM) during `apply` and `destroy`, as Terraform handles it: the first
//! stops the walk from starting more changes (those under way finish and are recorded),
//! the second stops at once; either way the stack's lock is released. During `gaform run`
//! and in a worker (which a head's stop, a shed or `destroy` ends with SIGTERM), the first
//! has every island save where it is at its next generation, so a stop keeps the work so
//! far; the second stops at once. Signals are taken by one thread with `sigwait`, so no
//! handler runs inside arbitrary code.

use gaform_runtime::ga::Steer;
use nix::sys::signal::{SigSet, Signal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WALKING: AtomicBool = AtomicBool::new(false);
static LOCK: Mutex<Option<PathBuf>> = Mutex::new(None);

fn signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// Undoes a blocked mask inherited from the apply that started this process (heads and
/// workers must stop on SIGTERM).
pub fn inherit_nothing() {
    let _ = signals().thread_unblock();
}

/// Takes SIGINT and SIGTERM away from every thread made after this call and hands them to
/// a watcher. Call first thing, before any other thread exists.
pub fn install() {
    watch(|again| {
        if again || !WALKING.load(Ordering::SeqCst) {
            stop_now();
        }
        errln!(
            "\nInterrupted: finishing the changes under way and starting no more (again to stop at once)."
        );
    });
}

/// For a process whose islands save where they are when [`interrupted`] (a worker,
/// `gaform run`): the first signal asks them to, the second stops at once. Call first
/// thing, before any other thread exists.
pub fn install_saving() {
    watch(|again| {
        if again {
            errln!("\nStopped at once; the islands resume from their last saved generation.");
            std::process::exit(130);
        }
        errln!("\nInterrupted: each island saves at the end of its generation (again to stop at once).");
    });
}

/// Blocks SIGINT and SIGTERM here (and so in every thread made later) and calls `on_signal`
/// from one watcher thread for each, with whether one came before.
fn watch(on_signal: impl Fn(bool) + Send + 'static) {
    let set = signals();
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || loop {
        if set.wait().is_err() {
            continue;
        }
        on_signal(INTERRUPTED.swap(true, Ordering::SeqCst));
    });
}

fn stop_now() -> ! {
    let held = LOCK.lock().ok().and_then(|l| l.clone());
    match held {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            errln!("\nStopped. What was done is recorded; `gaform plan` shows what is left.");
        }
        None => errln!("\nDetached: what runs goes on; `gaform status` shows it."),
    }
    std::process::exit(130);
}

/// True once the user asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// What islands running under [`install_saving`] are told: save where they are once the
/// process was asked to stop, else go on.
pub fn steer() -> Steer {
    if interrupted() {
        Steer::SaveAndStop
    } else {
        Steer::Go
    }
}

/// The lock to release if the process is stopped at once.
pub fn holding(lock: Option<PathBuf>) {
    if let Ok(mut l) = LOCK.lock() {
        *l = lock;
    }
}

/// Whether a walk is under way (a first interrupt then lets it wind down).
pub fn walking(on: bool) {
    WALKING.store(on, Ordering::SeqCst);
}
