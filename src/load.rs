//! Reading a `.gaf` file and checking it against the files beside it: the one place
//! commands do it, so that each reports an unreadable file and the file's diagnostics the
//! same way.

use crate::host::FileHost;
use crate::render::diagnostics;
use gaform_compiler::ir::Program;
use gaform_compiler::source::SourceFile;
use gaform_compiler::CheckOptions;
use std::path::{Path, PathBuf};

/// A file that checked without errors.
pub struct Checked {
    pub program: Program,
    /// The directory its data paths are relative to, and the host that read them.
    pub base: PathBuf,
    pub host: FileHost,
    /// The file as read.
    pub source: SourceFile,
}

/// Which diagnostics to print.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Every one, warnings too.
    All,
    /// Every one, but only when one is an error (a command that goes on has nothing to say
    /// about warnings).
    OnError,
    /// None (the caller only needs to know whether the file checks).
    Nothing,
}

/// Reads and checks `file`; `None` when it has errors (printed as `report` says).
pub fn read_and_check(
    file: &Path,
    options: &CheckOptions,
    report: Report,
) -> Result<Option<Checked>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let source = SourceFile::new(file.display().to_string(), text);
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let host = FileHost::new(base.clone());
    let checked = gaform_compiler::check(&source, &host, options);
    let failed = checked.diagnostics.iter().any(|d| d.is_error());
    let say = match report {
        Report::All => !checked.diagnostics.is_empty(),
        Report::OnError => failed,
        Report::Nothing => false,
    };
    if say {
        err!("{}", diagnostics::human(&source, &checked.diagnostics, diagnostics::colour_wanted()));
    }
    Ok(checked.program.filter(|_| !failed).map(|program| Checked { program, base, host, source }))
}
