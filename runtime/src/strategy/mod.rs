//! The strategies a GA evolves, as integer parameters, and the signals each gives on a bar.
//! Long only: an entry signal while long and an exit signal while flat are ignored.

use crate::data::Ohlcv;
use crate::indicators;
use serde::Serialize;

/// A strategy with concrete parameters (one genome, decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Strategy {
    /// Enter when the `fast`-bar SMA of Close crosses above the `slow` one, exit on the
    /// cross back (both strict, on consecutive bars).
    SmaCrossover { fast: usize, slow: usize },
    /// Enter when Wilder's `period`-bar RSI crosses up through `lower`, exit when it crosses
    /// down through `upper` (strict).
    RsiReversion { period: usize, lower: i64, upper: i64 },
    /// Enter on a Close above the highest High of the `lookback` bars before, exit on a Close
    /// below the lowest Low of the `exit` bars before.
    Breakout { lookback: usize, exit: usize },
}

/// What a strategy says at the close of one bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal {
    pub enter: bool,
    pub exit: bool,
}

/// A strategy bound to its indicator series: answers per bar in O(1).
pub struct Signals {
    kind: Kind,
    /// The first bar the strategy decides on: one after every indicator is defined, as
    /// backtesting.py starts `next()`.
    pub first_decision: usize,
}

enum Kind {
    Cross { fast: Vec<f64>, slow: Vec<f64> },
    Rsi { rsi: Vec<f64>, lower: f64, upper: f64 },
    Channel { close: Vec<f64>, top: Vec<f64>, bottom: Vec<f64> },
}

impl Strategy {
    /// Computes the strategy's indicators on `data`.
    pub fn signals(&self, data: &Ohlcv) -> Signals {
        match *self {
            Strategy::SmaCrossover { fast, slow } => {
                let (f, s) = (indicators::sma(&data.close, fast), indicators::sma(&data.close, slow));
                Signals::new(
                    Kind::Cross { fast: f, slow: s },
                    &[fast.saturating_sub(1), slow.saturating_sub(1)],
                )
            }
            Strategy::RsiReversion { period, lower, upper } => {
                let rsi = indicators::rsi(&data.close, period);
                Signals::new(Kind::Rsi { rsi, lower: lower as f64, upper: upper as f64 }, &[period])
            }
            Strategy::Breakout { lookback, exit } => {
                let top = indicators::highest_before(&data.high, lookback);
                let bottom = indicators::lowest_before(&data.low, exit);
                Signals::new(Kind::Channel { close: data.close.clone(), top, bottom }, &[lookback, exit])
            }
        }
    }
}

impl Signals {
    /// `first_defined`: the index where each indicator first has a value.
    fn new(kind: Kind, first_defined: &[usize]) -> Signals {
        Signals { kind, first_decision: first_defined.iter().max().map_or(1, |m| m + 1) }
    }

    /// The signal at the close of bar `i` (`i >= 1`).
    #[inline]
    pub fn at(&self, i: usize) -> Signal {
        let get = |v: &[f64], j: usize| v.get(j).copied().unwrap_or(f64::NAN);
        match &self.kind {
            Kind::Cross { fast, slow } => {
                let (f0, f1, s0, s1) = (get(fast, i - 1), get(fast, i), get(slow, i - 1), get(slow, i));
                Signal { enter: f0 < s0 && f1 > s1, exit: s0 < f0 && s1 > f1 }
            }
            Kind::Rsi { rsi, lower, upper } => {
                let (r0, r1) = (get(rsi, i - 1), get(rsi, i));
                Signal { enter: r0 < *lower && *lower < r1, exit: r0 > *upper && *upper > r1 }
            }
            Kind::Channel { close, top, bottom } => {
                let c = get(close, i);
                Signal { enter: c > get(top, i), exit: c < get(bottom, i) }
            }
        }
    }
}
