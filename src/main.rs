//! The `gaform` command line: wiring only. Parsing, checking and formatting live in
//! `gaform-compiler`; this crate reads files, renders results and sets exit codes.

mod cli;
mod cmd;
mod host;
mod job;
mod progress;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Check(args) => cmd::check::run(&args),
        cli::Command::Fmt(args) => cmd::fmt::run(&args),
        cli::Command::Backtest(args) => cmd::backtest::run(&args),
        cli::Command::Run(args) => cmd::run::run(&args),
        cli::Command::Worker(args) => cmd::worker::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
