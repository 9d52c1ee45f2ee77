//! An open document's text and the one conversion every feature needs: byte offsets (the
//! compiler's spans) to and from LSP positions, counted in UTF-8 or UTF-16 code units as
//! negotiated. A line ends at `\n`; a `\r` before it belongs to the line break, so ranges on
//! CRLF files land where the client expects them.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// How positions count characters within a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// A document's text with the byte offset of each line's start.
#[derive(Clone, Debug)]
pub struct Text {
    text: String,
    line_starts: Vec<usize>,
}

impl Text {
    /// Indexes `text`.
    pub fn new(text: String) -> Text {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Text { text, line_starts }
    }

    /// The whole text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The LSP position of byte `offset` (clamped into the text, onto a char boundary).
    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let before = &self.text[start..offset];
        let character = match encoding {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.encode_utf16().count(),
        };
        Position { line: line as u32, character: character as u32 }
    }

    /// The range of bytes `start..end`.
    pub fn range(&self, start: usize, end: usize, encoding: Encoding) -> Range {
        Range { start: self.position(start, encoding), end: self.position(end, encoding) }
    }

    /// The byte offset of `position`: past the line's end it is the line's end (before its
    /// break), past the last line the text's end; inside a character, that character's start.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let Some(&start) = self.line_starts.get(position.line as usize) else { return self.text.len() };
        let end = self.line_starts.get(position.line as usize + 1).map_or(self.text.len(), |&e| e);
        let line = &self.text[start..end];
        let content = line.strip_suffix('\n').map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
        let wanted = position.character as usize;
        let mut units = 0;
        for (i, c) in content.char_indices() {
            if units >= wanted {
                return start + i;
            }
            units += match encoding {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            if units > wanted {
                return start + i;
            }
        }
        start + content.len()
    }

    /// Applies one change from `didChange`: a range replaced, or (no range) the whole text.
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent, encoding: Encoding) {
        match change.range {
            None => *self = Text::new(change.text.clone()),
            Some(range) => {
                let start = self.offset(range.start, encoding);
                let end = self.offset(range.end, encoding).max(start);
                let mut text = std::mem::take(&mut self.text);
                text.replace_range(start..end, &change.text);
                *self = Text::new(text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn positions_count_the_negotiated_units_on_non_ascii_and_crlf_lines() {
        let t = Text::new("a = \"é😊\"\r\nb = 1\n".into());
        // `"` after the emoji: byte 11, UTF-16 unit 8, UTF-8 unit 11.
        let quote = t.as_str().rfind('"').unwrap();
        assert_eq!(t.position(quote, Encoding::Utf16), pos(0, 8));
        assert_eq!(t.position(quote, Encoding::Utf8), pos(0, 11));
        assert_eq!(t.offset(pos(0, 8), Encoding::Utf16), quote);
        assert_eq!(t.offset(pos(0, 11), Encoding::Utf8), quote);
        // The second line starts after the CRLF; past a line's end is its end, before the break.
        assert_eq!(t.position(t.as_str().find('b').unwrap(), Encoding::Utf16), pos(1, 0));
        assert_eq!(t.offset(pos(0, 99), Encoding::Utf16), quote + 1);
        assert_eq!(t.offset(pos(9, 0), Encoding::Utf16), t.as_str().len());
        // Inside the emoji's surrogate pair: its start.
        assert_eq!(t.offset(pos(0, 6), Encoding::Utf16), t.as_str().find('😊').unwrap());
    }

    #[test]
    fn incremental_changes_replace_their_range() {
        let mut t = Text::new("cloud c {\n  provider = local\n}\n".into());
        let change = TextDocumentContentChangeEvent {
            range: Some(Range { start: pos(1, 13), end: pos(1, 18) }),
            range_length: None,
            text: "aws".into(),
        };
        t.apply(&change, Encoding::Utf16);
        assert_eq!(t.as_str(), "cloud c {\n  provider = aws\n}\n");
        t.apply(
            &TextDocumentContentChangeEvent { range: None, range_length: None, text: "x".into() },
            Encoding::Utf8,
        );
        assert_eq!(t.as_str(), "x");
    }
}
