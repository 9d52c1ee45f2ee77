//! One apply (or destroy) at a time per stack: a lock file made with `create_new`, naming
//! its holder by pid and start time. A lock whose holder is gone is reported, with how to
//! clear it, rather than silently taken: the dead apply may have left work half-done that
//! the user should see in the next plan first.

use super::records::{now, timestamp, StackDir};
use crate::process::ProcessId;
use crate::state::read_json;
use crate::CloudError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

/// Held while it lives; the file is removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Holder {
    process: ProcessId,
    command: String,
    since: f64,
}

impl Lock {
    /// Takes the stack's lock for `command` (`apply`, `destroy`).
    pub fn acquire(stack: &StackDir, command: &str) -> Result<Lock, CloudError> {
        let path = stack.lock_file();
        std::fs::create_dir_all(stack.root())
            .map_err(|e| CloudError::io(&format!("cannot create {}", stack.root().display()), &e))?;
        let me = ProcessId::current().ok_or("cannot read this process's start time from /proc")?;
        let holder = Holder { process: me, command: command.to_string(), since: now() };
        let bytes = serde_json::to_vec(&holder).map_err(|e| e.to_string())?;
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(&bytes)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| CloudError::io(&format!("cannot write {}", path.display()), &e))?;
                Ok(Lock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(held(&path)),
            Err(e) => Err(CloudError::io(&format!("cannot create {}", path.display()), &e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why the lock cannot be had: busy while its holder runs; a stale lock is no one's to
/// wait for, and its message says what to do.
fn held(path: &std::path::Path) -> CloudError {
    match read_json::<Holder>(path) {
        Ok(Some(h)) if h.process.is_alive() => CloudError::busy(format!(
            "the stack is locked by `gaform {}` (pid {}, since {}); wait for it to finish",
            h.command,
            h.process.pid,
            timestamp(h.since)
        )),
        Ok(Some(h)) => CloudError::from(format!(
            "stale lock: `gaform {}` (pid {}, since {}) holds {} but is no longer running; \
             check `gaform plan` for what it left, then clear the lock with `gaform unlock FILE`",
            h.command,
            h.process.pid,
            timestamp(h.since),
            path.display()
        )),
        _ => CloudError::from(format!(
            "{} exists but names no holder (written by a process killed as it took the lock); \
             clear it with `gaform unlock FILE`",
            path.display()
        )),
    }
}

/// Removes a stale lock; refuses while its holder runs. Says what it removed.
pub fn clear_stale(stack: &StackDir) -> Result<String, CloudError> {
    let path = stack.lock_file();
    match read_json::<Holder>(&path) {
        Ok(None) => Ok(format!("{} is not locked", stack.root().display())),
        Ok(Some(h)) if h.process.is_alive() => Err(held(&path)),
        Ok(Some(h)) => {
            super::records::remove_file(&path)?;
            Ok(format!(
                "removed the lock of `gaform {}` (pid {}, no longer running)",
                h.command, h.process.pid
            ))
        }
        Err(_) => {
            super::records::remove_file(&path)?;
            Ok(format!("removed the unreadable lock {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_dead_holder_is_reported_stale() {
        let dir = tempfile::tempdir().unwrap();
        let stack = StackDir::new(dir.path());
        let lock = Lock::acquire(&stack, "apply").unwrap();
        let again = Lock::acquire(&stack, "apply").unwrap_err();
        assert!(again.is_busy() && again.to_string().contains("locked by `gaform apply`"), "{again}");
        assert!(clear_stale(&stack).is_err());
        std::mem::forget(lock);
        // A holder that is not running any more: this pid with another start time.
        let me = ProcessId::current().unwrap();
        let dead = Holder {
            process: ProcessId { pid: me.pid, start_ticks: me.start_ticks + 7 },
            command: "apply".into(),
            since: 0.0,
        };
        std::fs::write(stack.lock_file(), serde_json::to_vec(&dead).unwrap()).unwrap();
        let stale = Lock::acquire(&stack, "apply").unwrap_err();
        let (kind, stale) = (stale.kind(), stale.to_string());
        assert_eq!(kind, "invalid", "a stale lock is no one's to wait for");
        assert!(stale.contains("stale lock") && stale.contains("gaform unlock"), "{stale}");
        assert!(clear_stale(&stack).unwrap().contains("removed"));
        drop(Lock::acquire(&stack, "apply").unwrap());
        assert!(!stack.lock_file().exists());
    }
}
