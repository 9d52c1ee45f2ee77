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
    child.wait_with_output().expect("gaform finishes")
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
        let dir = std::env::temp_dir().join(format!("gaform-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(root().join("examples/data/GOOG_wiki.csv"), dir.join("GOOG_wiki.csv")).unwrap();
        std::fs::write(dir.join("job.gaf"), gaf).unwrap();
        Workspace(dir)
    }

    pub fn gaform(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self.command(args, env).stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap();
        out
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

/// A process a test started, killed and reaped when the test ends, failed or not (a failed
/// assertion would otherwise leave it running past the suite).
pub struct KillOnDrop(pub std::process::Child);

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
