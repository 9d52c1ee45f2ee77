//! `gaform export strategy FILE --strategy CALL --data CSV [--bars FROM..TO] [--out F.py]`:
//! one gene assignment of a strategy written in FILE, as a backtesting.py script
//! (`python`) that re-checks gaform's backtest of the same rows without gaform.

use super::python::{script, Rows};
use crate::cli::ExportArgs;
use crate::failure::Failure;
use crate::load::{read_and_check, Report};
use crate::render::diagnostics;
use gaform_compiler::source::SourceFile;
use gaform_compiler::CheckOptions;
use gaform_runtime::store::write_atomically;
use std::process::ExitCode;

pub fn run(args: &ExportArgs) -> Result<ExitCode, Failure> {
    let (Some(call), Some(data)) = (&args.strategy, &args.data) else {
        errln!("error: `export strategy` needs --strategy 'NAME(gene = value, ...)' and --data CSV");
        return Ok(ExitCode::FAILURE);
    };
    let options = CheckOptions { data_errors: false };
    let Some(checked) = read_and_check(&args.file, &options, Report::OnError)? else {
        return Ok(ExitCode::FAILURE);
    };
    let source = SourceFile::new("--strategy", call.as_str());
    let cash = gaform_compiler::args::money(&SourceFile::new("--cash", args.cash.as_str()));
    let commission =
        gaform_compiler::args::percent(&SourceFile::new("--commission", args.commission.as_str()));
    let genome = gaform_compiler::args::genome(&source, &checked.program.strategies);
    let colour = diagnostics::colour_wanted();
    if let Err(found) = &genome {
        err!("{}", diagnostics::human(&source, found, colour));
    }
    let (Ok(((which, genome), _)), Ok(cash), Ok(commission)) = (genome, cash, commission) else {
        return Ok(ExitCode::FAILURE);
    };
    let Some(def) = checked.program.strategies.get(which) else { return Ok(ExitCode::FAILURE) };
    // The script names the data by its full path, so it runs from anywhere.
    let path = std::fs::canonicalize(data).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    let bars = gaform_runtime::data::load(&path).map_err(|e| e.to_string())?.len();
    let (from, to) = match args.bars.as_deref().map(super::super::backtest::parse_bars).transpose()? {
        Some((from, to)) if to <= bars => (from, to),
        Some((_, to)) => {
            return Err(format!("--bars: the data has {bars} bars, so it ends before bar {to}").into())
        }
        None => (0, bars),
    };
    let program = crate::program::program(def);
    let path = path.display().to_string();
    let text = script(&program, &genome, &Rows { path: &path, from, to }, cash, commission)?;
    match &args.out {
        Some(out) => {
            write_atomically(out, text.as_bytes()).map_err(|e| e.to_string())?;
            outln!("wrote {}: {} on rows {from}..{to} of {path}", out.display(), program.show(&genome));
        }
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
