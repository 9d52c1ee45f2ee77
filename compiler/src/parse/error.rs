//! Syntax errors (E0001) and invalid literals (E0009), converted from pest with our own
//! byte positions and human rule names (not pest's `into_miette`, which loses the file).

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use gaform_grammar::{human_name, Rule};
use pest::error::{ErrorVariant, InputLocation};

/// What went wrong while parsing, as data.
#[derive(Debug)]
pub enum ParseError {
    /// pest could not match; `expected` holds rule names at the failure point, `item` is
    /// where the top-level item being parsed starts.
    Unexpected { at: usize, expected: Vec<Rule>, item: usize },
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
    /// From a pest error in the item that starts `base` bytes into the file.
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
        ParseError::Unexpected { at, expected, item: base }
    }

    /// The user-facing diagnostic, with spans resolved against `text`.
    pub fn to_diagnostic(&self, text: &str) -> Diagnostic {
        match self {
            ParseError::Unexpected { at, expected, item } => unexpected(text, *at, expected, *item),
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

fn unexpected(text: &str, at: usize, expected: &[Rule], item: usize) -> Diagnostic {
    let rest = text.get(at..).unwrap_or("");
    if expected.contains(&Rule::escape) {
        if rest.starts_with('\\') {
            let len = rest.chars().take(2).map(char::len_utf8).sum();
            let escape = rest.get(..len).unwrap_or("\\");
            return Diagnostic::new(
                Code::E0001,
                format!("unknown escape `{escape}` in a string"),
                Span::new(at, at + len),
                "not an escape",
            )
            .with_help("strings allow the escapes `\\\"`, `\\\\` and `\\n`");
        }
        if rest.is_empty() || rest.starts_with(['\n', '\r']) {
            return Diagnostic::new(
                Code::E0001,
                "unterminated string",
                Span::new(at, at),
                "no closing `\"` before the end of the line",
            )
            .with_help("close the string with `\"`; a string cannot span lines (write `\\n` for a newline)");
        }
    }
    if let Some(d) = missing_assign(text, at, expected) {
        return d;
    }
    let expected_text = describe_expected(expected);
    let (span, found) = found_at(text, at);
    let message = match &expected_text {
        Some(e) => format!("expected {e}, found {found}"),
        None => format!("unexpected {found}"),
    };
    let label = match &expected_text {
        Some(e) => format!("expected {e}"),
        None => "unexpected here".to_string(),
    };
    let mut d = Diagnostic::new(Code::E0001, message, span, label);
    if let Some(help) = likely_meant(text, at, span) {
        d = d.with_help(help);
    }
    if rest.trim().is_empty() {
        if let Some(open) = unclosed_bracket(text, item, at) {
            let ch = text.get(open..open + 1).unwrap_or("{");
            d = d.with_label(Span::new(open, open + 1), format!("this `{ch}` is never closed"));
        }
    }
    d
}

/// What a writer most likely meant where the parser stopped: a date not in quotes
/// (`holdout = 2016-01-01`), or two conditions joined in an alert's `when`.
fn likely_meant(text: &str, at: usize, span: Span) -> Option<String> {
    let found = text.get(span.start as usize..span.end as usize).unwrap_or_default();
    let date_like = found.len() >= 8
        && found.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && found.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && found.bytes().filter(|&b| b == b'-').count() == 2;
    if date_like {
        return Some(format!("a date is a string: write `\"{found}\"`"));
    }
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..at)?;
    let words: Vec<&str> =
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '&' || c == '|')).collect();
    let joined = words.iter().any(|w| matches!(*w, "and" | "or" | "&&" | "||"));
    if joined && words.contains(&"when") {
        return Some(
            "`when` takes one comparison (`generation > 3`): give each condition an `alert` block of its own"
                .into(),
        );
    }
    None
}

/// `provider local`: the parser, having read two names, wants a block's `{` on a later
/// line, but the writer meant `provider = local`. Points at the value.
fn missing_assign(text: &str, at: usize, expected: &[Rule]) -> Option<Diagnostic> {
    if expected != [Rule::open_brace] {
        return None;
    }
    let before = text.get(..at)?;
    let trimmed = before.trim_end();
    if !before.get(trimmed.len()..)?.contains('\n') {
        return None;
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let value_start = trimmed.trim_end_matches(is_name).len();
    let between = trimmed.get(..value_start)?;
    let name_end = between.trim_end_matches([' ', '\t']).len();
    if name_end == value_start || name_end == 0 {
        return None;
    }
    let name_start = between.get(..name_end)?.trim_end_matches(is_name).len();
    let name = text.get(name_start..name_end)?;
    let value = text.get(value_start..trimmed.len())?;
    if name.is_empty() || value.is_empty() {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::E0001,
            format!("expected `=` between `{name}` and `{value}`"),
            Span::new(value_start, trimmed.len()),
            "expected `=` before this value",
        )
        .with_help(format!("write `{name} = {value}`; a block would be `{name} {value} {{ ... }}`")),
    )
}

/// The innermost bracket opened in the item before `at` and not closed by then.
fn unclosed_bracket(text: &str, item: usize, at: usize) -> Option<usize> {
    let mut open = Vec::new();
    crate::trivia::scan(text, item, |t| {
        match t {
            crate::trivia::Token::Open(i) if i < at => open.push(i),
            crate::trivia::Token::Close(i) if i < at => {
                open.pop();
            }
            crate::trivia::Token::Open(_) | crate::trivia::Token::Close(_) => return false,
            _ => {}
        }
        true
    });
    open.last().copied()
}

/// Rules that can start a value; when any is expected, "a value" says it all.
const VALUE_STARTS: [Rule; 11] = [
    Rule::neg,
    Rule::kw_not,
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
    // Several rules share a human name; keep the first of each, in order.
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
    let len = if first == '"' {
        rest.get(1..).and_then(|r| r.find(['"', '\n'])).map_or(rest.len(), |n| n + 2).min(rest.len())
    } else if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let word = rest.get(..len).unwrap_or("");
    let shown = match first {
        '\n' | '\r' => "end of line".to_string(),
        _ => {
            let shown: String = word
                .chars()
                .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
                .collect();
            format!("`{shown}`")
        }
    };
    (Span::new(at, at + len), shown)
}
