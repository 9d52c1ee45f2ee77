//! Diagnostics as data: every phase reports `Diagnostic`s into `Problems`; rendering
//! (miette's graphical handler, JSON) happens only in the CLI.

pub mod codes;
pub mod suggest;

pub use codes::Code;

use crate::source::Span;
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A label on a span: the primary one says what is wrong there, secondary ones point at
/// the other places that matter (the first definition of a duplicate).
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One finding, with a stable code. Messages are lowercase with no final period and name
/// what was expected and what was found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Invariant: at most one label is primary, and it comes first.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the severity its code implies and a primary label.
    pub fn new(code: Code, message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        let severity = if code.is_warning() { Severity::Warning } else { Severity::Error };
        Diagnostic {
            code,
            severity,
            message: message.into(),
            labels: vec![Label { span, message: label.into(), primary: true }],
            help: None,
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: false });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help.or(self.help);
        self
    }

    /// The same finding as a warning (E0014 while checking, where the data may come later).
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// The primary label's span (or an empty span at 0 if it has none).
    pub fn primary_span(&self) -> Span {
        self.labels.iter().find(|l| l.primary).map(|l| l.span).unwrap_or_default()
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().map(|l| {
            let span = miette::SourceSpan::new((l.span.start as usize).into(), l.span.len());
            let text = Some(l.message.clone()).filter(|m| !m.is_empty());
            if l.primary {
                miette::LabeledSpan::new_primary_with_span(text, span)
            } else {
                miette::LabeledSpan::new_with_span(text, span)
            }
        })))
    }
}

/// Everything a run found, errors and warnings together.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    items: Vec<Diagnostic>,
    errors: usize,
}

impl Problems {
    /// Records one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.errors += usize::from(diagnostic.is_error());
        self.items.push(diagnostic);
    }

    /// How many errors (not warnings) were recorded.
    pub fn error_count(&self) -> usize {
        self.errors
    }

    /// True when any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// Sorted by position, then code; labels clamped to the source so that a label at the
    /// end of the file still renders (miette hides or panics on a span past the end).
    pub fn finish(mut self, source_len: usize) -> Vec<Diagnostic> {
        let len = u32::try_from(source_len).unwrap_or(u32::MAX);
        for d in &mut self.items {
            for l in &mut d.labels {
                l.span.end = l.span.end.min(len);
                l.span.start = l.span.start.min(l.span.end);
            }
        }
        self.items.sort_by_key(|d| (d.primary_span().start, d.code, d.primary_span().end));
        self.items.dedup();
        self.items
    }
}
