//! `gaform lsp`: the language server (`gaform-lsp`) on stdin and stdout, with the same
//! file-system host as `check`, so an editor shows exactly what `check` prints.

use crate::failure::Failure;
use crate::host::FileHost;
use gaform_compiler::Host;
use std::path::Path;
use std::process::ExitCode;

pub fn run() -> Result<ExitCode, Failure> {
    let hosts = |base: &Path| -> Box<dyn Host> { Box::new(FileHost::new(base.to_path_buf())) };
    gaform_lsp::serve_stdio(&hosts)?;
    Ok(ExitCode::SUCCESS)
}
