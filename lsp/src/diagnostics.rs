//! The compiler's diagnostics as LSP diagnostics, with nothing added or lost: the code, the
//! severity, the message, the help (appended to the message, and in `data.help`), the
//! primary label as the range (its text in `data.label`) and every other label as related
//! information. A did-you-mean help carries its fix in `data.suggestion`, which the quick
//! fix offers.

use crate::text::{Encoding, Text};
use gaform_compiler::diag::{Diagnostic, Severity};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri};
use serde::{Deserialize, Serialize};

/// What a diagnostic carries besides the protocol's fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Data {
    /// The compiler's help line, if any.
    pub help: Option<String>,
    /// The primary label's text.
    pub label: String,
    /// The did-you-mean fix: the range to replace and its new text.
    pub suggestion: Option<(Range, String)>,
}

/// `found` (the compiler's, for `text`) as the LSP diagnostics of the document at `uri`.
pub fn convert(
    found: &[Diagnostic],
    text: &Text,
    uri: &Uri,
    encoding: Encoding,
) -> Vec<lsp_types::Diagnostic> {
    found.iter().map(|d| one(d, text, uri, encoding)).collect()
}

fn one(d: &Diagnostic, text: &Text, uri: &Uri, encoding: Encoding) -> lsp_types::Diagnostic {
    let primary = d.labels.iter().find(|l| l.primary).or(d.labels.first());
    let span = primary.map_or((0, 0), |l| (l.span.start as usize, l.span.end as usize));
    let range = text.range(span.0, span.1, encoding);
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: text.range(l.span.start as usize, l.span.end as usize, encoding),
            },
            message: l.message.clone(),
        })
        .collect();
    let suggestion = d.help.as_deref().and_then(suggested).map(|name| {
        // A quoted value keeps its quotes (`region = "us-wset-2"`).
        let under = text.as_str().get(span.0..span.1).unwrap_or("");
        let new_text = if under.starts_with('"') { format!("\"{name}\"") } else { name.to_string() };
        (range, new_text)
    });
    let data = Data {
        help: d.help.clone(),
        label: primary.map(|l| l.message.clone()).unwrap_or_default(),
        suggestion,
    };
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("gaform".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: serde_json::to_value(data).ok(),
    }
}

/// The name in a help line's "did you mean `NAME`?", the compiler's one wording for it.
fn suggested(help: &str) -> Option<&str> {
    let rest = help.split("did you mean `").nth(1)?;
    rest.split('`').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_did_you_mean_name_is_read_from_the_help_line() {
        assert_eq!(suggested("did you mean `us-west-2`?"), Some("us-west-2"));
        assert_eq!(suggested("use an AWS region code such as `us-east-1`"), None);
    }
}
