//! The gaform compiler: `.gaf` text → AST → resolved, type-checked IR, plus the formatter.
//! Pure: no IO (the one host need, probing data files, goes through `Host`), no async.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

pub mod args;
pub mod ast;
pub mod catalog;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod indicators;
pub mod ir;
pub mod parse;
pub mod plan;
pub mod prelude;
pub mod resolve;
pub mod schema;
pub mod source;
pub mod trivia;

use diag::{Diagnostic, Problems};
use source::SourceFile;

/// What a host found in a job's data file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataFile {
    /// How many bars (rows) it holds, when the host counted them: a strategy that needs
    /// more can never trade (W0004).
    pub bars: Option<usize>,
}

/// What the compiler asks of its host: the only IO a check needs.
pub trait Host {
    /// What `path` (as written in a job, relative to the `.gaf` file) holds when it is a
    /// readable OHLCV CSV; otherwise why not, as a phrase (`is missing`, `has no Close column`).
    fn probe_data(&self, path: &str) -> Result<DataFile, String>;

    /// A digest of the data files' bytes (with one file, its SHA-256), so that a plan can
    /// tell new data from old; `None` when the host cannot read them (the job's attributes
    /// then name the paths only).
    fn data_digest(&self, _paths: &[String]) -> Option<String> {
        None
    }

    /// When `path` names no file: the CSV files in the directory it points into, written as
    /// a job would write them (`data/GOOG_wiki.csv`), for a "did you mean". Empty otherwise.
    fn data_beside(&self, _path: &str) -> Vec<String> {
        Vec::new()
    }

    /// The files a `data` pattern (`data/*.csv`: `*`, `?` and `[...]` in its file name)
    /// matches, sorted, relative to the `.gaf` file; why none if it matches none.
    fn expand_data(&self, pattern: &str) -> Result<Vec<String>, String> {
        Ok(vec![pattern.to_string()])
    }

    /// The windows `validation` cuts the files `paths` into: per fold, oldest first, per
    /// file, the bars of its train and test windows; `Err` why they do not fit; `None` when
    /// the host cannot read the files (the checks wait for plan and apply).
    fn windows(
        &self,
        _paths: &[String],
        _validation: &ir::Validation,
    ) -> Option<Result<Vec<Vec<WindowBars>>, String>> {
        None
    }
}

/// How many bars one file's windows of one fold hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowBars {
    pub train: usize,
    pub test: Option<usize>,
}

/// A host that accepts every data path: for checks that must not touch the disk.
pub struct NoHost;

impl Host for NoHost {
    fn probe_data(&self, _path: &str) -> Result<DataFile, String> {
        Ok(DataFile::default())
    }
}

/// How strict a check is.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// A missing or malformed data file is an error (plan, apply) rather than a warning
    /// (`check`, where the data may arrive later).
    pub data_errors: bool,
}

/// The result of checking one file.
pub struct Checked {
    /// The typed program, present only when there were no errors.
    pub program: Option<ir::Program>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses, resolves and type-checks one file.
pub fn check(source: &SourceFile, host: &dyn Host, options: &CheckOptions) -> Checked {
    let mut problems = Problems::default();
    let file = parse::parse(source, &mut problems);
    check_parsed(source, &file, problems, host, options)
}

/// `check` of a new version of a file, reparsing only what changed since `previous` (the
/// last version's parse, which this replaces): the language server's check per keystroke.
/// The same result as `check`.
pub fn check_again(
    source: &SourceFile,
    host: &dyn Host,
    options: &CheckOptions,
    previous: &mut Option<parse::Parsed>,
) -> Checked {
    let mut problems = Problems::default();
    let parsed = parse::reparse(source, &mut problems, previous.take());
    let checked = check_parsed(source, parsed.file(), problems, host, options);
    *previous = Some(parsed);
    checked
}

fn check_parsed(
    source: &SourceFile,
    file: &ast::File,
    mut problems: Problems,
    host: &dyn Host,
    options: &CheckOptions,
) -> Checked {
    let syntax_ok = !problems.has_errors();
    let symbols = resolve::resolve(file, &mut problems);
    // After a syntax error, missing items would make every reference to them look
    // unresolved: report only what parsing and resolution found.
    let program = if syntax_ok { Some(check::check(&symbols, host, options, &mut problems)) } else { None };
    let ok = !problems.has_errors();
    Checked { program: program.filter(|_| ok), diagnostics: problems.finish(source.text.len()) }
}
