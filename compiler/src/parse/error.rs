//! Syntax errors (E0001) and invalid literals (E0009), converted from pest with our own
//! byte positions and human rule names (not pest's `into_miette`, which loses the file).

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use gaform_grammar::{human_name, Rule};
use pest::error::{ErrorVariant, InputLocation};

/// What went wrong while parsing, as data.
#[derive(Debug)]
pub enum ParseError {
    /// pest could not match; `expected` holds rule names at the failure point.
    Unexpected { at: usize, expected: Vec<Rule> },
    /// Brackets nested deeper than the parser allows.
    TooDeep { at: usize, limit: usize },
    /// An expression with more operators than the parser allows.
    TooLong { span: Span, limit: usize },
    /// Parsing stopped after this many syntax errors.
    TooManyErrors { at: usize, limit: usize },
    /// A name with a character outside `[a-zA-Z0-9_-]`.
    NonAsciiName { span: Span },
    /// `a.b(...)`: only a bare name can be called.
    DottedCall { span: Span },
    /// A number that does not fit the type it was written as.
    NumberOutOfRange { span: Span, what: &'static str },
    /// The file is larger than spans can address.
    TooLarge { bytes: usize },
    /// The grammar produced a tree the AST builder did not expect: a bug.
    Internal { span: Span, what: &'static str },
}

impl ParseError {
    /// From a pest error in text that starts `base` bytes into the file.
    pub fn from_pest(error: &pest::error::Error<Rule>, base: usize) -> ParseError {
        let at = base
            + match error.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
        let expected = match &error.variant {
            ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            ErrorVariant::CustomError { .. } => Vec::new(),
        };
        ParseError::Unexpected { at, expected }
    }

    /// The user-facing diagnostic, with spans resolved against `text`.
    pub fn to_diagnostic(&self, text: &str) -> Diagnostic {
        match self {
            ParseError::Unexpected { at, expected } => unexpected(text, *at, expected),
            ParseError::TooDeep { at, limit } => Diagnostic::new(
                Code::E0001,
                format!("brackets nested deeper than {limit} levels"),
                Span::new(*at, at + 1),
                "too deep here",
            ),
            ParseError::TooLong { span, limit } => Diagnostic::new(
                Code::E0001,
                format!("expression has more than {limit} operators"),
                *span,
                "split this expression with `let`",
            ),
            ParseError::TooManyErrors { at, limit } => Diagnostic::new(
                Code::E0001,
                format!("too many syntax errors: stopped after {limit}"),
                Span::new(*at, *at),
                "parsing stopped here",
            )
            .with_help("fix the errors above and check again"),
            ParseError::NonAsciiName { span } => Diagnostic::new(
                Code::E0001,
                "names may use only ASCII letters, digits, `_` and `-`",
                *span,
                "not an ASCII name",
            )
            .with_help("rename it using `a-z`, `A-Z`, `0-9`, `_` and `-`"),
            ParseError::DottedCall { span } => Diagnostic::new(
                Code::E0001,
                "only a bare name can be called",
                *span,
                "a dotted path before `(`",
            )
            .with_help("strategies and operators are called by name: `sma_crossover(...)`"),
            ParseError::NumberOutOfRange { span, what } => Diagnostic::new(
                Code::E0009,
                format!("{what} out of range"),
                *span,
                "this number is too large",
            ),
            ParseError::TooLarge { bytes } => Diagnostic::new(
                Code::E0001,
                format!("file of {bytes} bytes is too large to check"),
                Span::default(),
                "",
            ),
            ParseError::Internal { span, what } => Diagnostic::new(
                Code::E0001,
                format!("internal error: unexpected parse tree ({what})"),
                *span,
                "the parser did not expect this",
            )
            .with_help("this is a bug in gaform; please report it with this file"),
        }
    }
}

fn unexpected(text: &str, at: usize, expected: &[Rule]) -> Diagnostic {
    let expected = describe_expected(expected);
    let (span, found) = found_at(text, at);
    let message = match &expected {
        Some(e) => format!("expected {e}, found {found}"),
        None => format!("unexpected {found}"),
    };
    let label = match &expected {
        Some(e) => format!("expected {e}"),
        None => "unexpected here".to_string(),
    };
    Diagnostic::new(Code::E0001, message, span, label)
}

/// Rules that can start a value; when any is expected, "a value" says it all.
const VALUE_STARTS: [Rule; 10] = [
    Rule::neg,
    Rule::range,
    Rule::money,
    Rule::percent,
    Rule::duration,
    Rule::number,
    Rule::string,
    Rule::list,
    Rule::paren,
    Rule::expr,
];

fn describe_expected(rules: &[Rule]) -> Option<String> {
    let mut names: Vec<&str> = if rules.iter().any(|r| VALUE_STARTS.contains(r)) {
        let mut names = vec!["a value"];
        names.extend(
            rules
                .iter()
                .filter(|r| !VALUE_STARTS.contains(r) && !matches!(r, Rule::ident | Rule::name))
                .map(|&r| human_name(r)),
        );
        names
    } else {
        rules.iter().map(|&r| human_name(r)).collect()
    };
    names.dedup();
    let mut seen = Vec::new();
    names.retain(|n| {
        let fresh = !seen.contains(n);
        seen.push(*n);
        fresh
    });
    match names.as_slice() {
        [] => None,
        [one] => Some((*one).to_string()),
        [init @ .., last] => Some(format!("{} or {last}", init.join(", "))),
    }
}

/// The token at `at` as the user sees it; at the end of input, the last token instead
/// (a label past the end of the file would point at nothing).
fn found_at(text: &str, at: usize) -> (Span, String) {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        let trimmed = text.trim_end();
        let last = trimmed.char_indices().last().map_or(0, |(i, _)| i);
        return (Span::new(last, trimmed.len()), "end of file".to_string());
    };
    let len = if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let word = rest.get(..len).unwrap_or("");
    let shown = match first {
        '\n' | '\r' => "end of line".to_string(),
        _ => format!("`{}`", word.escape_debug()),
    };
    (Span::new(at, at + len), shown)
}
