//! Keyword enumerations (`spot`, `on_demand`, `scale_down`) in files and events as the
//! `.gaf` file writes them, through the compiler's `Keyword` trait.

use gaform_compiler::ir::Keyword;
use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// Writes `value` as its keyword.
pub fn serialize<K: Keyword, S: Serializer>(value: &K, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.keyword())
}

/// Reads a keyword, naming the members on a bad one.
pub fn deserialize<'de, K: Keyword, D: Deserializer<'de>>(deserializer: D) -> Result<K, D::Error> {
    let word = String::deserialize(deserializer)?;
    K::from_keyword(&word)
        .ok_or_else(|| D::Error::custom(format!("`{word}` is no {}: {}", K::WHAT, K::MEMBERS.join(", "))))
}
