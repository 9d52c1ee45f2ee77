//! `gaform fmt`.
use crate::cli::FmtArgs;
use std::process::ExitCode;
pub fn run(_args: &FmtArgs) -> Result<ExitCode, String> {
    Err("fmt: not built yet".into())
}
