//! An inclusive range of gene codes.

use serde::{Deserialize, Serialize};

/// An inclusive integer range; `lo <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub lo: i64,
    pub hi: i64,
    /// The codes name unordered choices: mutation draws a new one, blending picks a parent's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub categorical: bool,
}

impl Range {
    /// Clamps `v` into the range.
    pub fn clamp(self, v: i64) -> i64 {
        v.clamp(self.lo, self.hi)
    }

    /// `hi - lo`, as a float (the scale of gaussian mutation).
    pub fn width(self) -> f64 {
        self.hi as f64 - self.lo as f64
    }
}
