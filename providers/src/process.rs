//! Processes the local cloud starts and stops, known by pid *and* start time: a pid the
//! kernel has handed to another program since is not our worker, and is never signalled.
//! Linux only (the start time comes from /proc).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A process that cannot be confused with a later one of the same pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: u32,
    /// Clock ticks from boot to the process's start (field 22 of /proc/PID/stat).
    pub start_ticks: u64,
}

impl ProcessId {
    /// This process.
    pub fn current() -> Option<ProcessId> {
        ProcessId::of(std::process::id())
    }

    /// The process running now as `pid`, if any.
    pub fn of(pid: u32) -> Option<ProcessId> {
        stat(pid).map(|(_, start_ticks)| ProcessId { pid, start_ticks })
    }

    /// True while this very process runs (a zombie has stopped running).
    pub fn is_alive(&self) -> bool {
        stat(self.pid).is_some_and(|(state, start)| start == self.start_ticks && !matches!(state, 'Z' | 'X'))
    }

    /// Asks the process to stop (SIGTERM), waits up to `grace`, then kills it (SIGKILL).
    /// True once it is gone; a process that is not ours any more is left alone.
    pub fn terminate(&self, grace: Duration) -> bool {
        self.ask_to_stop();
        self.finish_stopping(grace)
    }

    /// Asks the process to stop (SIGTERM) without waiting: several asked together stop
    /// together (a worker saves its islands first, and islands wait on each other).
    pub fn ask_to_stop(&self) {
        if self.is_alive() {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        }
    }

    /// After [`Self::ask_to_stop`]: waits up to `grace`, then kills it (SIGKILL). True once it
    /// is gone. It is asked once only: a second SIGTERM tells a worker to stop at once.
    pub fn finish_stopping(&self, grace: Duration) -> bool {
        if self.wait_gone(grace) {
            return true;
        }
        if self.is_alive() {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
        self.wait_gone(Duration::from_secs(5))
    }

    /// Waits up to `limit` for the process to end.
    pub fn wait_gone(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while self.is_alive() {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// State letter and start time of `pid`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Starts `command` in its own process group, detached from the terminal (a Ctrl-C or a
/// SIGKILL of the parent does not reach it), with stdout and stderr appended to `log`.
/// A thread reaps it, so that a child that ends before its parent leaves no zombie.
pub fn spawn_detached(command: &mut Command, log: &Path) -> std::io::Result<ProcessId> {
    use std::os::unix::process::CommandExt;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    let mut child = command.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0).spawn()?;
    let pid = child.id();
    let id = ProcessId::of(pid);
    std::thread::spawn(move || child.wait());
    // A child that already ended has no start time to read; it is reported as not started.
    id.ok_or_else(|| {
        std::io::Error::other(format!("process {pid} ended as soon as it started; see {}", log.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_itself_and_not_a_reused_pid() {
        let me = ProcessId::current().unwrap();
        assert!(me.is_alive());
        let impostor = ProcessId { pid: me.pid, start_ticks: me.start_ticks + 1 };
        assert!(!impostor.is_alive());
    }

    #[test]
    fn terminates_a_detached_child() {
        let dir = tempfile::tempdir().unwrap();
        let id = spawn_detached(Command::new("sleep").arg("30"), &dir.path().join("log")).unwrap();
        assert!(id.is_alive());
        assert!(id.terminate(Duration::from_secs(5)));
        assert!(!id.is_alive());
    }
}
