//! A byte scanner that knows only where strings, comments, brackets and newlines are.
//! The parser uses it to bound nesting depth and to resynchronise after a syntax error;
//! the formatter uses it to find comments, which the grammar skips.

use crate::source::Span;

/// What the scanner reports, in source order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A `#` or `//` comment, without its newline.
    Comment(Span),
    /// `(`, `[` or `{` at this offset.
    Open(usize),
    /// `)`, `]` or `}` at this offset.
    Close(usize),
    /// `\n` at this offset.
    Newline(usize),
}

/// Calls `visit` for each token from byte `from`; stops early when `visit` returns false.
pub fn scan(text: &str, from: usize, mut visit: impl FnMut(Token) -> bool) {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        let token = match b {
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'#' => Some(comment(bytes, i)),
            b'/' if bytes.get(i + 1) == Some(&b'/') => Some(comment(bytes, i)),
            b'(' | b'[' | b'{' => Some(Token::Open(i)),
            b')' | b']' | b'}' => Some(Token::Close(i)),
            b'\n' => Some(Token::Newline(i)),
            _ => None,
        };
        match token {
            Some(t) => {
                if let Token::Comment(span) = t {
                    i = span.end as usize;
                } else {
                    i += 1;
                }
                if !visit(t) {
                    return;
                }
            }
            None => i += 1,
        }
    }
}

fn comment(bytes: &[u8], start: usize) -> Token {
    let len = bytes.get(start..).and_then(|rest| rest.iter().position(|&b| b == b'\n'));
    let end = len.map_or(bytes.len(), |n| start + n);
    // A comment before `\r\n` ends before the `\r`.
    let end = if end > start && bytes.get(end - 1) == Some(&b'\r') { end - 1 } else { end };
    Token::Comment(Span::new(start, end))
}

/// Index just past the string that starts before `i` (unterminated strings end at the
/// newline, as the grammar rejects them there).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    i
}

/// The offset of the first byte at or after `from` that is neither whitespace nor part
/// of a comment (the text's length if there is none).
pub fn skip(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = comment_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = comment_end(bytes, i),
            _ => return i,
        }
    }
    i
}

fn comment_end(bytes: &[u8], start: usize) -> usize {
    bytes
        .get(start..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(bytes.len(), |n| start + n)
}

/// Every comment in the text.
pub fn comments(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    scan(text, 0, |t| {
        if let Token::Comment(span) = t {
            out.push(span);
        }
        true
    });
    out
}

/// The offset of the first bracket that opens deeper than `limit`, if any.
pub fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut found = None;
    scan(text, 0, |t| {
        match t {
            Token::Open(at) => {
                depth += 1;
                if depth > limit {
                    found = Some(at);
                    return false;
                }
            }
            Token::Close(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        true
    });
    found
}

/// Bracket depth over `from..to`, entered at depth `depth`: the depth at `to` and the
/// deepest reached, counted as `too_deep` counts (strings and comments skipped).
pub fn depth_over(text: &str, from: usize, to: usize, mut depth: usize) -> (usize, usize) {
    let mut deepest = depth;
    scan(text, from, |t| match t {
        Token::Open(at) if at < to => {
            depth += 1;
            deepest = deepest.max(depth);
            true
        }
        Token::Close(at) if at < to => {
            depth = depth.saturating_sub(1);
            true
        }
        Token::Newline(at) | Token::Open(at) | Token::Close(at) => at < to,
        Token::Comment(span) => (span.end as usize) < to,
    });
    (depth, deepest)
}

/// Where to resume parsing after a syntax error at `error` in the item starting at
/// `item_start`: the next line that starts with a name in column 0 once the item's
/// brackets are balanced, else any such line after the error.
pub fn resync(text: &str, item_start: usize, error: usize) -> Option<usize> {
    let starts_name =
        |at: usize| text.as_bytes().get(at).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let mut depth = 0i64;
    let mut balanced = None;
    let mut any = None;
    scan(text, item_start, |t| {
        match t {
            Token::Open(_) => depth += 1,
            Token::Close(_) => depth -= 1,
            Token::Newline(at) if at >= error && starts_name(at + 1) => {
                any.get_or_insert(at + 1);
                if depth <= 0 {
                    balanced = Some(at + 1);
                    return false;
                }
            }
            _ => {}
        }
        true
    });
    balanced.or(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_skip_strings() {
        let text = "a = \"#no\" # yes\n// also\r\nb";
        let found: Vec<&str> =
            comments(text).iter().map(|s| &text[s.start as usize..s.end as usize]).collect();
        assert_eq!(found, vec!["# yes", "// also"]);
    }

    #[test]
    fn resync_finds_next_top_level_item() {
        let text = "a {\n  b = = 1\n}\nc d {\n}\n";
        assert_eq!(resync(text, 0, 10), Some(16));
    }

    #[test]
    fn skip_passes_whitespace_and_comments() {
        assert_eq!(skip("  # c\n // d\n\tx", 0), 13);
        assert_eq!(skip("  # only", 0), 8);
        assert_eq!(skip("\"# not\"", 0), 0);
    }

    #[test]
    fn depth_limit() {
        assert_eq!(too_deep("((()))", 3), None);
        assert_eq!(too_deep("(((())))", 3), Some(3));
    }
}
