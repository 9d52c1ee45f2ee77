//! What a genome is: one integer per strategy parameter or gene, each within its range, and
//! how a genome becomes a strategy to backtest. A built-in's genes are its parameters'
//! values; a written strategy's are codes (`written::Coding`): an int gene's value, or the
//! index of a grid point or a choice.

use crate::strategy::Strategy;
use serde::{Deserialize, Serialize};

pub use super::genome::Genome;
pub use super::range::Range;
pub use super::written::{Candidate, Written};

/// The strategy family a job evolves, with each parameter's range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Space {
    SmaCrossover {
        fast: Range,
        slow: Range,
    },
    RsiReversion {
        period: Range,
        lower: Range,
        upper: Range,
    },
    Breakout {
        lookback: Range,
        exit: Range,
    },
    /// A strategy written in the file.
    Written(Box<Written>),
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
    #[error("strategy `{0}` has {1} genes; a job evolves at most {max}", max = super::genome::MAX_GENES)]
    TooManyGenes(String, usize),
}

impl Space {
    /// The parameters, named, in genome order.
    pub fn parameters(&self) -> Vec<(&str, Range)> {
        if let Space::Written(w) = self {
            return w.parameters();
        }
        match *self {
            Space::SmaCrossover { fast, slow } => vec![("fast", fast), ("slow", slow)],
            Space::RsiReversion { period, lower, upper } => {
                vec![("period", period), ("lower", lower), ("upper", upper)]
            }
            Space::Breakout { lookback, exit } => vec![("lookback", lookback), ("exit", exit)],
            Space::Written(_) => Vec::new(),
        }
    }

    /// The ranges, in genome order.
    pub fn ranges(&self) -> Vec<Range> {
        self.parameters().into_iter().map(|(_, r)| r).collect()
    }

    /// Checks that the space is searchable: ranges ordered, periods of at least one bar,
    /// and at least one genome that meets the strategy's constraint.
    pub fn validate(&self) -> Result<(), SpaceError> {
        if let Space::Written(w) = self {
            return w.validate().map_err(|genes| SpaceError::TooManyGenes(w.program.name.clone(), genes));
        }
        for (name, r) in self.parameters() {
            if r.lo > r.hi {
                return Err(SpaceError::Empty { name: static_name(name), lo: r.lo, hi: r.hi });
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
            Space::Written(_) => Ok(()),
        }
    }

    /// What `genome` encodes: a built-in strategy, or a written one's gene values; `None`
    /// when it breaks the strategy's constraint (`fast < slow`, a `where`).
    pub fn candidate(&self, genome: &[i64]) -> Option<Candidate> {
        match self {
            Space::Written(w) => w.decode(genome).map(Candidate::Written),
            _ => self.decode(genome).map(Candidate::Builtin),
        }
    }

    /// A written strategy's program.
    pub fn program(&self) -> Option<&crate::rules::Program> {
        match self {
            Space::Written(w) => Some(&w.program),
            _ => None,
        }
    }

    /// A gene of `genome` as results show it: a built-in's value, a written gene's value
    /// (a choice's word, a percent as its fraction).
    pub fn gene_cell(&self, index: usize, code: i64) -> String {
        match self {
            Space::Written(w) => w.cell(index, code),
            _ => code.to_string(),
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

/// The built-ins' parameter names, for errors that hold a `&'static str`.
fn static_name(name: &str) -> &'static str {
    ["fast", "slow", "period", "lower", "upper", "lookback", "exit"]
        .into_iter()
        .find(|n| *n == name)
        .unwrap_or("gene")
}
