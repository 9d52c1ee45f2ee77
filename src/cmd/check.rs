//! `gaform check FILE...`: every error and warning of every file; exit 1 on any error
//! (or any warning with `--deny-warnings`).

use crate::cli::{CheckArgs, Format};
use crate::failure::Failure;
use crate::host::FileHost;
use crate::render::diagnostics;
use gaform_compiler::diag::Severity;
use gaform_compiler::source::SourceFile;
use gaform_compiler::CheckOptions;
use std::process::ExitCode;

pub fn run(args: &CheckArgs) -> Result<ExitCode, Failure> {
    let mut failed = false;
    for path in &args.files {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let message = format!("cannot read {}: {e}", path.display());
                match args.format {
                    // Still one object per file: tools count on it.
                    Format::Json => {
                        outln!("{}", diagnostics::json_unreadable(&path.display().to_string(), &message))
                    }
                    Format::Human => errln!("error: {message}"),
                }
                failed = true;
                continue;
            }
        };
        let source = SourceFile::new(path.display().to_string(), text);
        let base = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        let checked = gaform_compiler::check(&source, &FileHost::new(base), &CheckOptions::default());
        let mut found = checked.diagnostics;
        if args.deny_warnings {
            for d in &mut found {
                d.severity = Severity::Error;
            }
        }
        failed |= found.iter().any(|d| d.is_error());
        match args.format {
            Format::Json => outln!("{}", diagnostics::json(&source, &found)),
            Format::Human => out!("{}", diagnostics::human(&source, &found, diagnostics::colour_wanted())),
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
