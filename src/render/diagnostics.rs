//! Diagnostics rendered as miette's graphical report or as one JSON object per file.

use gaform_compiler::diag::{Diagnostic, Severity};
use gaform_compiler::source::SourceFile;
use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use serde::Serialize;
use std::io::IsTerminal;

/// Colour only on a terminal, and never when `NO_COLOR` is set.
pub fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// miette's renderer as every diagnostic and failure is printed: 100 columns, colour or not.
pub fn handler(colour: bool) -> GraphicalReportHandler {
    let theme = if colour { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    GraphicalReportHandler::new_themed(theme).with_width(100)
}

/// Every diagnostic as miette renders it, then a summary line; empty when there are none.
pub fn human(source: &SourceFile, found: &[Diagnostic], colour: bool) -> String {
    let handler = handler(colour);
    let mut out = String::new();
    for d in found {
        let report = miette::Report::new(d.clone()).with_source_code(
            NamedSource::new(source.name.clone(), source.text.clone()).with_language("gaf"),
        );
        let _ = handler.render_report(&mut out, report.as_ref());
        out.push('\n');
    }
    let errors = found.iter().filter(|d| d.is_error()).count();
    let warnings = found.len() - errors;
    if !found.is_empty() {
        out.push_str(&format!("{}: {} error(s), {} warning(s)\n", source.name, errors, warnings));
    }
    out
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    /// Set when the file could not be read (then there are no diagnostics).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    primary: bool,
    offset: u32,
    length: usize,
    line: usize,
    column: usize,
}

/// `{"file", "diagnostics": [...]}` on one line: 1-based line and column (characters),
/// byte offset and length.
pub fn json(source: &SourceFile, found: &[Diagnostic]) -> String {
    let diagnostics = found
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity,
            message: &d.message,
            help: d.help.as_deref(),
            labels: d
                .labels
                .iter()
                .map(|l| {
                    let (line, column) = source.line_col(l.span.start as usize);
                    JsonLabel {
                        message: &l.message,
                        primary: l.primary,
                        offset: l.span.start,
                        length: l.span.len(),
                        line,
                        column,
                    }
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&JsonFile { file: &source.name, error: None, diagnostics })
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The JSON line for a file that could not be read.
pub fn json_unreadable(file: &str, error: &str) -> String {
    serde_json::to_string(&JsonFile { file, error: Some(error), diagnostics: Vec::new() })
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
