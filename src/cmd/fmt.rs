//! `gaform fmt FILE...`: rewrites files in canonical layout (atomically: a crash never
//! leaves a half-written file); `--check` only lists what would change; `-` is a filter
//! from standard input to standard output.

use crate::cli::FmtArgs;
use crate::failure::Failure;
use crate::render::diagnostics;
use gaform_compiler::source::SourceFile;
use gaform_runtime::atomic::write_atomically;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: &FmtArgs) -> Result<ExitCode, Failure> {
    let mut failed = false;
    for path in &args.files {
        let outcome =
            if path.as_os_str() == "-" { stdin_to_stdout(args.check) } else { file(path, args.check) };
        match outcome {
            Ok(Outcome::Unchanged) => {}
            Ok(Outcome::WouldChange) => {
                outln!("{}", path.display());
                failed = true;
            }
            Err(message) => {
                err!("{message}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

enum Outcome {
    Unchanged,
    /// Only with `--check`.
    WouldChange,
}

fn formatted(name: &str, text: String) -> Result<(String, String), Failure> {
    let source = SourceFile::new(name, text);
    match gaform_compiler::fmt::format(&source) {
        Ok(out) => Ok((source.text.to_string(), out)),
        Err(found) => Err(diagnostics::human(&source, &found, diagnostics::colour_wanted()).into()),
    }
}

fn file(path: &Path, check: bool) -> Result<Outcome, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("error: cannot read {}: {e}\n", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("error: {} is not UTF-8\n", path.display()))?;
    let (before, after) = formatted(&path.display().to_string(), text)?;
    if before == after {
        return Ok(Outcome::Unchanged);
    }
    if check {
        return Ok(Outcome::WouldChange);
    }
    write_atomically(path, after.as_bytes())
        .map_err(|e| format!("error: cannot write {}: {e}\n", path.display()))?;
    Ok(Outcome::Unchanged)
}

fn stdin_to_stdout(check: bool) -> Result<Outcome, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("error: cannot read standard input: {e}\n"))?;
    let (before, after) = formatted("<stdin>", text)?;
    if check {
        return Ok(if before == after { Outcome::Unchanged } else { Outcome::WouldChange });
    }
    out!("{after}");
    Ok(Outcome::Unchanged)
}
