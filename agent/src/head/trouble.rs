//! What a head could not do, by what it was doing: an error is logged when it first
//! appears or changes, not at every pass that meets it again.

use std::collections::BTreeMap;

/// The last error logged for each thing the head does.
#[derive(Debug, Default)]
pub struct Trouble {
    last: BTreeMap<String, String>,
}

impl Trouble {
    /// Whether `error` while `doing` is news (and remembers it).
    pub fn is_new(&mut self, doing: &str, error: &str) -> bool {
        if self.last.get(doing).is_some_and(|e| e == error) {
            return false;
        }
        self.last.insert(doing.to_string(), error.to_string());
        true
    }

    /// `doing` worked: its next error is news again.
    pub fn cleared(&mut self, doing: &str) {
        self.last.remove(doing);
    }
}
