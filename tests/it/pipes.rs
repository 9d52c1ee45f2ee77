//! Output to a reader that went away (`gaform backtest … | head -1`) ends quietly, as Unix
//! tools do: no panic, no "Broken pipe" message, and the command's work is still done.

use crate::support::{root, Workspace};
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// Runs `gaform ARGS` in `dir` with its standard output (and, with `close_stderr`, its
/// standard error) already closed by the reader, so that every write meets a broken pipe.
/// Returns the exit status and what reached standard error.
fn with_reader_gone(dir: &Path, args: &[&str], close_stderr: bool) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gaform"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gaform starts");
    drop(child.stdout.take());
    let mut err = String::new();
    match child.stderr.take() {
        Some(stderr) if close_stderr => drop(stderr),
        Some(mut stderr) => {
            stderr.read_to_string(&mut err).expect("read stderr");
        }
        None => {}
    }
    (child.wait().expect("gaform finishes"), err)
}

fn assert_quiet((status, err): (ExitStatus, String), what: &str) {
    // A panic exits 101 and prints "panicked"; a SIGPIPE death has no exit code at all.
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{what}: {err}");
    assert!(status.code().is_some_and(|c| c != 101), "{what}: {status}");
}

#[test]
fn backtest_check_and_fmt_end_quietly_when_the_reader_goes() {
    let strategy = "sma_crossover(fast = 10, slow = 20)";
    for args in [
        &["backtest", "examples/data/GOOG_wiki.csv", "--strategy", strategy, "--trades"][..],
        &["backtest", "examples/data/GOOG_wiki.csv", "--strategy", strategy, "--format", "json"],
        &["check", "examples/seed-production.gaf", "tests/fixtures/invalid/e0005-unresolved.gaf"],
        &["check", "--format", "json", "examples/quickstart.gaf"],
        &["fmt", "--check", "tests/fixtures/fmt/messy.gaf"],
    ] {
        let what = args.join(" ");
        assert_quiet(with_reader_gone(&root(), args, false), &what);
        assert_quiet(with_reader_gone(&root(), args, true), &what);
    }
}

#[test]
fn run_finishes_its_work_when_both_readers_go() {
    let gaf = std::fs::read_to_string(root().join("examples/quickstart.gaf")).expect("quickstart");
    let ws = Workspace::new("pipes-run", &gaf.replace("data/GOOG_wiki.csv", "GOOG_wiki.csv"));
    let (status, _) = with_reader_gone(&ws.0, &["run", "job.gaf", "--out", "out"], true);
    assert!(status.success(), "{status}");
    assert!(ws.0.join("out/best.json").exists(), "the run's results are written all the same");
    // Progress lines on standard error, summary on standard output: both readers gone early.
    assert_quiet(with_reader_gone(&ws.0, &["run", "job.gaf", "--out", "again"], false), "run");
    for args in [&["plan", "job.gaf"][..], &["plan", "--json", "job.gaf"], &["status", "job.gaf"]] {
        assert_quiet(with_reader_gone(&ws.0, args, false), &args.join(" "));
    }
}
