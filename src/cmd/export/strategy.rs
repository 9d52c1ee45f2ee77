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
    if args.file.is_dir() {
        return from_results(args);
    }
    let options = CheckOptions { data_errors: false };
    let Some(checked) = read_and_check(&args.file, &options, Report::OnError)? else {
        return Ok(ExitCode::FAILURE);
    };
    let (Some(call), Some(data)) = (&args.strategy, &args.data) else {
        if args.strategy.is_some() || args.data.is_some() {
            errln!(
                "error: `export strategy` takes --strategy and --data together, or neither (the job's best)"
            );
            return Ok(ExitCode::FAILURE);
        }
        return best_of_job(args, &checked);
    };
    let source = SourceFile::new("--strategy", call.as_str());
    let cash = gaform_compiler::args::money(&SourceFile::new("--cash", args.cash.as_str()));
    let commission =
        gaform_compiler::args::percent(&SourceFile::new("--commission", args.commission.as_str()));
    let strategies = gaform_compiler::prelude::with(&checked.program.strategies);
    let genome = gaform_compiler::args::genome(&source, &strategies);
    let colour = diagnostics::colour_wanted();
    if let Err(found) = &genome {
        err!("{}", diagnostics::human(&source, found, colour));
    }
    let (Ok(((which, genome), _)), Ok(cash), Ok(commission)) = (genome, cash, commission) else {
        return Ok(ExitCode::FAILURE);
    };
    let Some(def) = strategies.get(which) else { return Ok(ExitCode::FAILURE) };
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
    write(args, &text, &program.show(&genome), (from, to), &path)
}

/// `export strategy RESULTS_DIR`: the best of the job whose results the directory holds; its
/// `.owner.json` names the file and the job that wrote them.
fn from_results(args: &ExportArgs) -> Result<ExitCode, Failure> {
    let dir = &args.file;
    if args.strategy.is_some() || args.data.is_some() || args.results.is_some() {
        return Err(format!(
            "{} is a results directory: its job's best is exported (--strategy, --data and --results take a .gaf file)",
            dir.display()
        )
        .into());
    }
    let owner = gaform_runtime::results::owner::read(dir).ok_or_else(|| {
        format!(
            "{} names no owner ({} is missing): export from the file instead, `gaform export strategy FILE --job J --results {}`",
            dir.display(),
            gaform_runtime::results::owner::FILE,
            dir.display()
        )
    })?;
    if let Some(job) = args.job.as_ref().filter(|j| **j != owner.job) {
        return Err(format!("{} holds the results of job `{}`, not `{job}`", dir.display(), owner.job).into());
    }
    let file = std::path::PathBuf::from(&owner.file);
    if !file.exists() {
        return Err(format!(
            "{}, whose job `{}` wrote {}, is gone: its strategy cannot be read back",
            owner.file,
            owner.job,
            dir.display()
        )
        .into());
    }
    let args = ExportArgs { file, job: Some(owner.job), results: Some(dir.clone()), ..args.clone() };
    let Some(checked) = read_and_check(&args.file, &CheckOptions { data_errors: false }, Report::OnError)?
    else {
        return Ok(ExitCode::FAILURE);
    };
    best_of_job(&args, &checked)
}

/// The best genome of a job that evolves a strategy written in the file, from its
/// `best.json`, on the rows of the data it was judged on in sample.
fn best_of_job(args: &ExportArgs, checked: &crate::load::Checked) -> Result<ExitCode, Failure> {
    let jobs = &checked.program.jobs;
    let job = match (&args.job, jobs.as_slice()) {
        (Some(name), _) => jobs
            .iter()
            .find(|j| &j.name == name)
            .ok_or_else(|| format!("no job `{name}` in {}", args.file.display()))?,
        (None, [one]) => one,
        (None, _) => {
            return Err(format!("{} has {} jobs: name one with --job", args.file.display(), jobs.len()).into())
        }
    };
    let def = &job.strategy;
    let results = args.results.clone().unwrap_or_else(|| std::path::Path::new("results").join(&job.name));
    let best_path = results.join("best.json");
    let text = std::fs::read_to_string(&best_path)
        .map_err(|e| format!("cannot read {}: {e} (run the job first)", best_path.display()))?;
    let best: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", best_path.display()))?;
    let genome: Vec<i64> = best["genome"]
        .as_array()
        .map(|g| g.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default();
    let program = crate::program::program(def);
    same_strategy(&best, &program, &best_path)?;
    let space = gaform_runtime::ga::Written { program };
    let chosen = space.decode(&genome).ok_or_else(|| {
        format!(
            "{}: its genome {genome:?} is not one of `{}`'s (the file changed since the run?)",
            best_path.display(),
            def.name
        )
    })?;
    let asset = &best["assets"][0];
    let name = asset["data"].as_str().unwrap_or_default();
    let names = crate::job::data_names(&job.data);
    let written = names
        .iter()
        .zip(&job.data)
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, p)| p)
        .ok_or_else(|| format!("{}: no data `{name}` in job `{}`", best_path.display(), job.name))?;
    let path = std::fs::canonicalize(checked.base.join(written))
        .map_err(|e| format!("cannot read {written}: {e}"))?;
    let bar = |key: &str| asset["in_sample"][key].as_u64().map(|b| b as usize);
    let (Some(from), Some(to)) = (bar("from_bar"), bar("to_bar")) else {
        return Err(format!("{}: no in-sample window", best_path.display()).into());
    };
    let path = path.display().to_string();
    let text =
        script(&space.program, &chosen.values, &Rows { path: &path, from, to }, job.cash, job.commission)?;
    write(args, &text, &space.program.show(&chosen.values), (from, to), &path)
}

/// Writes the script to `--out` (atomically) or standard output.
fn write(
    args: &ExportArgs,
    text: &str,
    shown: &str,
    (from, to): (usize, usize),
    path: &str,
) -> Result<ExitCode, Failure> {
    match &args.out {
        Some(out) => {
            write_atomically(out, text.as_bytes()).map_err(|e| e.to_string())?;
            outln!("wrote {}: {shown} on rows {from}..{to} of {path}", out.display());
        }
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a `best.json` of another strategy than the file's job has now: a genome read
/// against changed genes or rules would export something that never ran.
fn same_strategy(
    best: &serde_json::Value,
    program: &gaform_runtime::rules::Program,
    best_path: &std::path::Path,
) -> Result<(), Failure> {
    let changed = match best.get("program") {
        Some(ran) => serde_json::to_value(program).ok().as_ref() != Some(ran),
        None => best["strategy"]["strategy"].as_str() != Some(program.name.as_str()),
    };
    if changed {
        return Err(format!(
            "{}: the job's strategy `{}` has changed since these results were written: run the job again, or export any genes with --strategy CALL --data CSV",
            best_path.display(),
            program.name
        )
        .into());
    }
    Ok(())
}
