//! The `gaform` command line: wiring only. Parsing, checking and formatting live in
//! `gaform-compiler`; this crate reads files, renders results and sets exit codes.

// Every line goes through `output`, which ends quietly on a closed pipe; `println!` panics.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
extern crate gaform_agent;

mod cli;
mod cmd;
mod failure;
mod host;
mod interrupt;
mod job;
mod load;
mod program;
mod progress;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Terraform's single-dash `-out=FILE` / `-out FILE`, which clap would read as `-o ut`.
    let args = std::env::args_os().map(|a| match a.to_str() {
        Some("-out") => "--out".into(),
        Some(s) if s.starts_with("-out=") => format!("-{s}").into(),
        _ => a,
    });
    let cli = cli::Cli::parse_from(args);
    interrupt::inherit_nothing();
    match cli.command {
        cli::Command::Apply(_) | cli::Command::Destroy(_) => interrupt::install(),
        cli::Command::Run(_) | cli::Command::Worker(_) => interrupt::install_saving(),
        _ => {}
    }
    // Plan-like commands follow Terraform: 1 on error (2 means "changes" to `plan`).
    let error_code = match cli.command {
        cli::Command::Plan(_) | cli::Command::Apply(_) | cli::Command::Destroy(_) => 1,
        _ => 2,
    };
    let result = match cli.command {
        cli::Command::Check(args) => cmd::check::run(&args),
        cli::Command::Fmt(args) => cmd::fmt::run(&args),
        cli::Command::Backtest(args) => cmd::backtest::run(&args),
        cli::Command::Run(args) => cmd::run::run(&args),
        cli::Command::Worker(args) => cmd::worker::run(&args),
        cli::Command::Plan(args) => cmd::plan::run(&args),
        cli::Command::Apply(args) => cmd::apply::apply(&args),
        cli::Command::Destroy(args) => cmd::apply::destroy(&args),
        cli::Command::Status(args) => cmd::status::status(&args),
        cli::Command::Logs(args) => cmd::status::logs(&args),
        cli::Command::Events(args) => cmd::status::events(&args),
        cli::Command::Export(args) => cmd::export::run(&args),
        cli::Command::Lsp => cmd::lsp::run(),
        cli::Command::Serve(args) => cmd::serve::run(&args),
        cli::Command::Unlock(args) => cmd::status::unlock(&args),
        cli::Command::Head(args) => cmd::head(&args),
    };
    match result.and_then(|code| gaform_agent::output::failure().map_or(Ok(code), |e| Err(e.into()))) {
        Ok(code) => code,
        Err(e) => {
            use std::io::IsTerminal;
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            err!("{}", e.render(colour));
            ExitCode::from(error_code)
        }
    }
}
