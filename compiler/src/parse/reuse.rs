//! Parsing a new version of a file by reusing the previous version's items where the text
//! around them did not change: the language server reparses only what an edit touched.
//! The result is exactly `parse`'s for the new text, errors included (the fuzz test compares
//! the two): an item is reused only when it parsed cleanly and the parse loop meets the
//! same text from the same state, and a nesting limit crossed falls back to a whole parse.

use super::{parse_steps, trivia, Items, Step, MAX_DEPTH};
use crate::ast::File;
use crate::diag::Problems;
use crate::source::{SourceFile, MAX_SOURCE_BYTES};
use std::sync::Arc;

/// A parse kept for the next version of its file.
#[derive(Debug, Default)]
pub struct Parsed {
    text: Arc<str>,
    file: File,
    steps: Vec<Step>,
    /// How many of the items came from the previous parse.
    reused: usize,
}

impl Parsed {
    /// The parsed file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// How many of the file's items were taken from the previous parse rather than parsed.
    pub fn reused(&self) -> usize {
        self.reused
    }
}

/// Parses `source`, reusing what of `previous` its text allows: the same file, and the
/// same errors into `problems`, as `parse(source)`.
pub fn reparse(source: &SourceFile, problems: &mut Problems, previous: Option<Parsed>) -> Parsed {
    let text: &str = &source.text;
    let Some(old) = previous.filter(|p| !p.steps.is_empty() && text.len() <= MAX_SOURCE_BYTES) else {
        return whole(source, problems);
    };
    let old_len = old.text.len();
    let prefix = common_prefix(&old.text, text);
    let suffix = common_suffix(&old.text, text, prefix);
    let delta = text.len() as i64 - old_len as i64;
    let Parsed { file, steps: old, .. } = old;

    // Items before the edit, reused while the item after each is wholly before it too, so
    // that no look-ahead of the parser can have seen the edit. They are balanced, so the
    // edited stretch starts at depth zero.
    let reused =
        old.windows(2).take_while(|w| matches!(w, [s, next] if s.clean && next.end <= prefix)).count();
    // The old parse from step `j` on can be taken whole when every step from `j` is clean
    // (no error to count or lose) and its items, entered at the depth there, stay in bounds.
    let clean_from = old.iter().rposition(|s| !s.clean).map_or(0, |i| i + 1);
    let mut deepest_after: Vec<usize> = old
        .iter()
        .rev()
        .scan(0, |deepest, s| {
            *deepest = s.depth.max(*deepest);
            Some(*deepest)
        })
        .collect();
    deepest_after.reverse();
    let suffix_start = (old_len - suffix) as i64;
    let jump = |offset: usize, depth: usize| {
        let old_at = offset as i64 - delta;
        if old_at < suffix_start {
            return None;
        }
        let j = old.binary_search_by_key(&old_at, |s| s.start as i64).ok()?;
        (j >= clean_from && depth + deepest_after.get(j)? <= MAX_DEPTH).then_some(j)
    };

    let mut old_items = file.items.into_iter();
    let mut items = Items::new(text, true);
    items.depths = true;
    items.items.extend(old_items.by_ref().take(reused));
    items.steps.extend(old.iter().take(reused));
    let mut offset = reused.checked_sub(1).and_then(|i| old.get(i)).map_or(0, |s| s.end);
    let mut depth = 0;
    loop {
        offset = trivia::skip(text, offset);
        if let Some(j) = jump(offset, depth) {
            let skipped = old.iter().take(j).filter(|s| s.item).count() - reused;
            let parsed_here = items.items.len() - reused;
            for mut item in old_items.skip(skipped) {
                item.shift(delta);
                items.items.push(item);
            }
            let moved = |at: usize| (at as i64 + delta) as usize;
            items.steps.extend(old.iter().skip(j).map(|s| Step {
                start: moved(s.start),
                end: moved(s.end),
                ..*s
            }));
            let reused = items.items.len() - parsed_here;
            return finish(source, problems, items, reused);
        }
        let before = items.steps.len();
        let next = items.step(offset);
        // The nesting limit, as `parse` checks it over the whole text: a clean item is
        // balanced and its own depth is known; anything else is scanned from the depth here.
        let clean = match items.steps.get(before..) {
            Some([s]) if s.clean => Some(s.depth),
            _ => None,
        };
        match clean {
            Some(inside) if depth + inside <= MAX_DEPTH => {}
            Some(_) => return whole(source, problems),
            None => {
                let (after, deepest) = trivia::depth_over(text, offset, next.unwrap_or(text.len()), depth);
                if deepest > MAX_DEPTH {
                    return whole(source, problems);
                }
                depth = after;
            }
        }
        match next {
            Some(next) => offset = next,
            None => return finish(source, problems, items, reused),
        }
    }
}

/// A parse from scratch, kept for reuse.
fn whole(source: &SourceFile, problems: &mut Problems) -> Parsed {
    let (file, steps) = parse_steps(&source.text, problems, true, true);
    Parsed { text: source.text.clone(), file, steps, reused: 0 }
}

fn finish(source: &SourceFile, problems: &mut Problems, items: Items<'_>, reused: usize) -> Parsed {
    let (file, steps) = items.finish(problems);
    Parsed { text: source.text.clone(), file, steps, reused }
}

/// The length of the longest common prefix, on a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    (0..=n).rev().find(|&i| a.is_char_boundary(i) && b.is_char_boundary(i)).unwrap_or(0)
}

/// The length of the longest common suffix that does not reach into the common prefix.
fn common_suffix(a: &str, b: &str, prefix: usize) -> usize {
    let limit = a.len().min(b.len()) - prefix;
    a.bytes().rev().zip(b.bytes().rev()).take(limit).take_while(|(x, y)| x == y).count()
}
