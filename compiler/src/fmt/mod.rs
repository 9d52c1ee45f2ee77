//! `gaform fmt`: canonical layout. Two-space indent, `=` aligned within runs of
//! attributes (a blank line or nested block ends a run, as in `terraform fmt`), one blank
//! line between top-level blocks, comments kept. Literals are printed as written; a value
//! with a comment inside is printed verbatim, so formatting never drops text or changes
//! meaning (the AST's `shape` is unchanged).

mod expr;

use crate::ast::{Block, BodyItem, File, Item};
use crate::diag::{Diagnostic, Problems};
use crate::parse;
use crate::source::{SourceFile, Span};
use crate::trivia;

/// The file in canonical layout, or its syntax errors (a broken file is left alone).
pub fn format(source: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let mut problems = Problems::default();
    let file = parse::parse(source, &mut problems);
    if problems.has_errors() {
        return Err(problems.finish(source.text.len()));
    }
    let mut printer =
        Printer { text: &source.text, comments: trivia::comments(&source.text), next: 0, out: String::new() };
    printer.file(&file);
    Ok(printer.out)
}

struct Printer<'a> {
    text: &'a str,
    /// Every comment, in order; `next` is the first not yet printed.
    comments: Vec<Span>,
    next: usize,
    out: String,
}

impl Printer<'_> {
    fn file(&mut self, file: &File) {
        let mut previous: Option<&Item> = None;
        for item in &file.items {
            let start = item.span().start as usize;
            if let Some(prev) = previous {
                let blocks = matches!(prev, Item::Block(_)) || matches!(item, Item::Block(_));
                let gap_start = prev.span().end as usize;
                let blank = blocks || self.blank_between(gap_start, self.first_comment_or(start));
                if blank {
                    self.out.push('\n');
                }
            }
            self.leading_comments(start, 0);
            match item {
                Item::Let(l) => self.assignment("let ", &l.name.name, 0, &l.value, l.span),
                Item::Block(b) => self.block(b, 0),
            }
            self.trailing_comment(item.span().end as usize);
            self.out.push('\n');
            previous = Some(item);
        }
        if let Some(prev) = previous {
            if self.next < self.comments.len()
                && self.blank_between(prev.span().end as usize, self.first_comment_or(self.text.len()))
            {
                self.out.push('\n');
            }
        }
        self.leading_comments(self.text.len(), 0);
    }

    fn block(&mut self, block: &Block, depth: usize) {
        self.out.push_str(&block.kind.name);
        if let Some(label) = &block.label {
            self.out.push(' ');
            if block.quoted {
                // The label's text unescaped; the source's own spelling keeps its escapes.
                let start = label.span.start as usize;
                self.out.push_str(self.text.get(start..label.span.end as usize).unwrap_or(&label.name));
            } else {
                self.out.push_str(&label.name);
            }
        }
        let close = (block.span.end as usize).saturating_sub(1);
        let has_inner_comment = self.comments.get(self.next).is_some_and(|c| (c.start as usize) < close);
        if block.body.is_empty() && !has_inner_comment {
            self.out.push_str(" {}");
            return;
        }
        self.out.push_str(" {\n");
        let inner = depth + 1;
        let widths = self.run_widths(block);
        let mut previous: Option<&BodyItem> = None;
        for (item, width) in block.body.iter().zip(widths) {
            let start = item.span().start as usize;
            if let Some(prev) = previous {
                if self.blank_between(prev.span().end as usize, self.first_comment_or(start)) {
                    self.out.push('\n');
                }
            }
            self.leading_comments(start, inner);
            indent(&mut self.out, inner);
            match item {
                BodyItem::Attribute(a) => self.assignment("", &a.name.name, width, &a.value, a.span),
                BodyItem::Block(b) => self.block(b, inner),
            }
            self.trailing_comment(item.span().end as usize);
            self.out.push('\n');
            previous = Some(item);
        }
        if let Some(prev) = previous {
            if self.comments.get(self.next).is_some_and(|c| (c.start as usize) < close)
                && self.blank_between(prev.span().end as usize, self.first_comment_or(close))
            {
                self.out.push('\n');
            }
        }
        self.leading_comments(close, inner);
        indent(&mut self.out, depth);
        self.out.push('}');
    }

    /// For each body item, the name width its `=` is aligned to: the longest name in its
    /// run of attributes.
    fn run_widths(&self, block: &Block) -> Vec<usize> {
        let mut widths = vec![0; block.body.len()];
        let mut run_start = 0;
        let mut run_width = 0;
        let flush = |widths: &mut Vec<usize>, from: usize, to: usize, width: usize| {
            for w in widths.iter_mut().take(to).skip(from) {
                *w = width;
            }
        };
        for (i, item) in block.body.iter().enumerate() {
            let breaks = match (i.checked_sub(1).and_then(|p| block.body.get(p)), item) {
                (_, BodyItem::Block(_)) | (Some(BodyItem::Block(_)), _) => true,
                (Some(prev), _) => self.blank_between(prev.span().end as usize, item.span().start as usize),
                (None, _) => false,
            };
            if breaks {
                flush(&mut widths, run_start, i, run_width);
                run_start = i;
                run_width = 0;
            }
            if let BodyItem::Attribute(a) = item {
                run_width = run_width.max(a.name.name.chars().count());
            }
        }
        flush(&mut widths, run_start, block.body.len(), run_width);
        widths
    }

    /// `name<pad> = value`. An item with a comment anywhere inside it (even between the
    /// name and `=`) is copied exactly as written, so the comment keeps its place.
    fn assignment(&mut self, prefix: &str, name: &str, width: usize, value: &crate::ast::Expr, whole: Span) {
        let end = whole.end as usize;
        let inside = self.comments.get(self.next).is_some_and(|c| (c.start as usize) < end);
        if inside {
            self.out.push_str(self.text.get(whole.start as usize..end).unwrap_or(""));
            while self.comments.get(self.next).is_some_and(|c| (c.start as usize) < end) {
                self.next += 1;
            }
            return;
        }
        self.out.push_str(prefix);
        self.out.push_str(name);
        for _ in name.chars().count()..width {
            self.out.push(' ');
        }
        self.out.push_str(" = ");
        expr::print(value, self.text, &mut self.out);
    }

    /// Prints, each on its own line, the comments that start before `before`.
    fn leading_comments(&mut self, before: usize, depth: usize) {
        let mut last_end: Option<usize> = None;
        while let Some(&c) = self.comments.get(self.next).filter(|c| (c.start as usize) < before) {
            if let Some(end) = last_end {
                if self.blank_between(end, c.start as usize) {
                    self.out.push('\n');
                }
            }
            indent(&mut self.out, depth);
            self.out.push_str(self.text.get(c.start as usize..c.end as usize).unwrap_or("").trim_end());
            self.out.push('\n');
            last_end = Some(c.end as usize);
            self.next += 1;
        }
        if let Some(end) = last_end {
            if before < self.text.len() && self.blank_between(end, before) {
                self.out.push('\n');
            }
        }
    }

    /// A comment on the same line as the end of an item stays there.
    fn trailing_comment(&mut self, item_end: usize) {
        let Some(&c) = self.comments.get(self.next) else { return };
        // Only whitespace between: a comment after a later item on the same line is that
        // item's.
        let gap = self.text.get(item_end..c.start as usize).unwrap_or("\n");
        if (c.start as usize) >= item_end && gap.chars().all(|ch| ch == ' ' || ch == '\t') {
            self.out.push(' ');
            self.out.push_str(self.text.get(c.start as usize..c.end as usize).unwrap_or("").trim_end());
            self.next += 1;
        }
    }

    /// Where the next comment starts, if before `limit`; else `limit`.
    fn first_comment_or(&self, limit: usize) -> usize {
        self.comments.get(self.next).map_or(limit, |c| (c.start as usize).min(limit))
    }

    /// True when the source has an empty line between `from` and `to`.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let gap = self.text.get(from..to.max(from)).unwrap_or("");
        let mut newlines = 0;
        for ch in gap.chars() {
            match ch {
                '\n' => {
                    newlines += 1;
                    if newlines >= 2 {
                        return true;
                    }
                }
                c if c.is_whitespace() => {}
                _ => newlines = 0,
            }
        }
        false
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests;
