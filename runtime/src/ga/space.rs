//! What a genome is: one integer per strategy parameter, each within its range, and how a
//! genome becomes a strategy to backtest.

use crate::strategy::Strategy;
use serde::{Deserialize, Serialize};

pub use super::genome::Genome;

/// An inclusive integer range; `lo <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub lo: i64,
    pub hi: i64,
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

/// The strategy family a job evolves, with each parameter's range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Space {
    SmaCrossover { fast: Range, slow: Range },
    RsiReversion { period: Range, lower: Range, upper: Range },
    Breakout { lookback: Range, exit: Range },
}

/// Why a space cannot be searched.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpaceError {
    #[error("parameter `{name}` has an empty range {lo}..{hi}")]
    Empty { name: &'static str, lo: i64, hi: i64 },
    #[error("parameter `{name}` is a number of bars and must be at least 1, found {lo}")]
    NotBars { name: &'static str, lo: i64 },
    #[error("no genome satisfies `{first} < {second}`: {first} starts at {lo}, {second} ends at {hi}")]
    NoValidGenome { first: &'static str, second: &'static str, lo: i64, hi: i64 },
}

impl Space {
    /// The parameters, named, in genome order.
    pub fn parameters(&self) -> Vec<(&'static str, Range)> {
        match *self {
            Space::SmaCrossover { fast, slow } => vec![("fast", fast), ("slow", slow)],
            Space::RsiReversion { period, lower, upper } => {
                vec![("period", period), ("lower", lower), ("upper", upper)]
            }
            Space::Breakout { lookback, exit } => vec![("lookback", lookback), ("exit", exit)],
        }
    }

    /// The ranges, in genome order.
    pub fn ranges(&self) -> Vec<Range> {
        self.parameters().into_iter().map(|(_, r)| r).collect()
    }

    /// Checks that the space is searchable: ranges ordered, periods of at least one bar,
    /// and at least one genome that meets the strategy's constraint.
    pub fn validate(&self) -> Result<(), SpaceError> {
        for (name, r) in self.parameters() {
            if r.lo > r.hi {
                return Err(SpaceError::Empty { name, lo: r.lo, hi: r.hi });
            }
        }
        let bars =
            |name, r: Range| if r.lo < 1 { Err(SpaceError::NotBars { name, lo: r.lo }) } else { Ok(()) };
        let ordered = |first, a: Range, second, b: Range| {
            if a.lo < b.hi {
                Ok(())
            } else {
                Err(SpaceError::NoValidGenome { first, second, lo: a.lo, hi: b.hi })
            }
        };
        match *self {
            Space::SmaCrossover { fast, slow } => {
                bars("fast", fast)?;
                bars("slow", slow)?;
                ordered("fast", fast, "slow", slow)
            }
            Space::RsiReversion { period, lower, upper } => {
                bars("period", period)?;
                ordered("lower", lower, "upper", upper)
            }
            Space::Breakout { lookback, exit } => {
                bars("lookback", lookback)?;
                bars("exit", exit)
            }
        }
    }

    /// The strategy `genome` encodes, or `None` when it breaks the strategy's constraint
    /// (`fast < slow`, `lower < upper`). Such genomes are not repaired: they are scored
    /// worst (fitness negative infinity) without a backtest, so selection drops them and
    /// every run treats them the same way.
    pub fn decode(&self, genome: &[i64]) -> Option<Strategy> {
        let bars = |v: i64| usize::try_from(v).ok().filter(|&b| b >= 1);
        match (self, genome) {
            (Space::SmaCrossover { .. }, &[fast, slow]) if fast < slow => {
                Some(Strategy::SmaCrossover { fast: bars(fast)?, slow: bars(slow)? })
            }
            (Space::RsiReversion { .. }, &[period, lower, upper]) if lower < upper => {
                Some(Strategy::RsiReversion { period: bars(period)?, lower, upper })
            }
            (Space::Breakout { .. }, &[lookback, exit]) => {
                Some(Strategy::Breakout { lookback: bars(lookback)?, exit: bars(exit)? })
            }
            _ => None,
        }
    }
}
