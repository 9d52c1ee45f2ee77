//! Helpers shared by the topics: running the built binary and reading fixture headers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The project root (tests run with it as the working directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `gaform ARGS` from the project root, without colour, with `stdin` as input.
pub fn gaform(args: &[&str], stdin: Option<&str>) -> Output {
    gaform_in(&root(), args, stdin)
}

/// Runs `gaform ARGS` in `dir`, without colour, with `stdin` as input.
pub fn gaform_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    crate::provision::prefetch();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gaform"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1").stdin(Stdio::piped());
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("gaform starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    within_limit(child, args)
}

/// The longest any one gaform command of the tests may take: one that hangs (a job whose
/// island nobody claims) fails its test with what it said, instead of holding up the suite.
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// `child`'s output, killing it first if it runs past `COMMAND_LIMIT`.
fn within_limit(child: std::process::Child, args: &[&str]) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let timed_out =
            finished.recv_timeout(COMMAND_LIMIT) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
        if timed_out {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        timed_out
    });
    let out = child.wait_with_output().expect("gaform finishes");
    drop(done);
    if watchdog.join().unwrap_or(false) {
        panic!(
            "gaform {} ran past {COMMAND_LIMIT:?} and was killed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// The `.gaf` files directly in `dir` (relative to the root), sorted.
pub fn gaf_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gaf"))
        .collect();
    files.sort();
    files
}

/// A path relative to the root, as a string for command lines.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// `# expect: CODE line L[,L2...] [help WORD]`.
#[derive(Debug)]
pub struct Expectation {
    pub code: String,
    pub lines: Vec<u64>,
    pub help: Option<String>,
}

/// Reads the expectation on a fixture's first line.
pub fn expectation(text: &str) -> Expectation {
    let first = text.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("# expect: ").unwrap_or_else(|| panic!("no expect line: {first}"));
    let words: Vec<&str> = rest.split_whitespace().collect();
    let code = words[0].to_string();
    assert_eq!(words[1], "line", "{first}");
    let lines = words[2].split(',').map(|l| l.parse().expect("line number")).collect();
    let help = match words.get(3) {
        Some(&"help") => Some(words[4].to_string()),
        _ => None,
    };
    Expectation { code, lines, help }
}

/// A scratch directory holding `job.gaf` and its data, removed when dropped.
pub struct Workspace(pub PathBuf);

impl Workspace {
    pub fn new(name: &str, gaf: &str) -> Workspace {
        crate::provision::prefetch();
        let dir = std::env::temp_dir().join(format!("gaform-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(root().join("examples/data/GOOG_wiki.csv"), dir.join("GOOG_wiki.csv")).unwrap();
        std::fs::write(dir.join("job.gaf"), gaf).unwrap();
        Workspace(dir)
    }

    pub fn gaform(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args, env);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = command.spawn().unwrap();
        within_limit(child, args)
    }

    /// Starts `gaform ARGS` here on a thread of its own: a reference run the test compares
    /// with at its end, done meanwhile on a core its waits leave idle.
    #[cfg(feature = "aws")]
    pub fn gaform_in_background(&self, args: &[&str]) -> Background {
        let (dir, args): (PathBuf, Vec<String>) =
            (self.0.clone(), args.iter().map(|a| a.to_string()).collect());
        Background(std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            gaform_in(&dir, &args, None)
        }))
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gaform"));
        cmd.args(args).current_dir(&self.0).env("NO_COLOR", "1").envs(env.iter().copied());
        cmd
    }

    pub fn path(&self, path: &str) -> PathBuf {
        self.0.join(path)
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.0.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gaform command running beside the test (`Workspace::gaform_in_background`).
#[cfg(feature = "aws")]
pub struct Background(std::thread::JoinHandle<Output>);

#[cfg(feature = "aws")]
impl Background {
    /// What it printed, once it is done.
    pub fn output(self) -> Output {
        self.0.join().expect("the command's thread")
    }
}

/// A process a test started, killed and reaped when the test ends, failed or not (a failed
/// assertion would otherwise leave it running past the suite).
#[cfg(feature = "aws")]
pub struct KillOnDrop(pub std::process::Child);

#[cfg(feature = "aws")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port nothing listens on now (the OS's pick), for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One JSON value per line (`events --json`).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}
