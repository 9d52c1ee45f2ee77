//! The strategies a GA evolves, as integer parameters, and the signals each gives on a bar.
//! Long only: an entry signal while long and an exit signal while flat are ignored.

use crate::data::Ohlcv;
use crate::indicators;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use wide::f64x4;

/// A strategy with concrete parameters (one genome, decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl std::fmt::Display for Strategy {
    /// As a call: `sma_crossover(fast = 10, slow = 20)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Strategy::SmaCrossover { fast, slow } => write!(f, "sma_crossover(fast = {fast}, slow = {slow})"),
            Strategy::RsiReversion { period, lower, upper } => {
                write!(f, "rsi_reversion(period = {period}, lower = {lower}, upper = {upper})")
            }
            Strategy::Breakout { lookback, exit } => {
                write!(f, "breakout(lookback = {lookback}, exit = {exit})")
            }
        }
    }
}

impl Strategy {
    /// The first (0-based) bar the strategy decides on: one after every indicator is
    /// defined, as backtesting.py starts `next()`. The compiler's W0004 uses the same rule.
    pub fn first_decision(&self) -> usize {
        match *self {
            Strategy::SmaCrossover { fast, slow } => fast.max(slow).max(1),
            Strategy::RsiReversion { period, .. } => period + 1,
            Strategy::Breakout { lookback, exit } => lookback.max(exit) + 1,
        }
    }
}

/// Indicator series of one data set, computed once per (indicator, period) and shared by
/// every strategy evaluated on it: `prepare` what a batch of strategies needs (mutably,
/// once), then evaluate them from any number of threads through `signals` (shared).
pub struct Indicators<'d> {
    data: &'d Ohlcv,
    /// Every close is finite and positive (asked once, not per moving average).
    closes_are_prices: bool,
    sma: HashMap<usize, Vec<f64>>,
    rsi: HashMap<usize, Vec<f64>>,
    highest: HashMap<usize, Vec<f64>>,
    lowest: HashMap<usize, Vec<f64>>,
}

impl<'d> Indicators<'d> {
    /// An empty cache over `data`.
    pub fn new(data: &'d Ohlcv) -> Indicators<'d> {
        Indicators {
            data,
            closes_are_prices: indicators::all_prices(&data.close),
            sma: HashMap::new(),
            rsi: HashMap::new(),
            highest: HashMap::new(),
            lowest: HashMap::new(),
        }
    }

    /// Computes whatever `strategy` needs that is not cached yet.
    pub fn prepare(&mut self, strategy: &Strategy) {
        self.prepare_all([strategy]);
    }

    /// `prepare` for each of `strategies`, computing the moving averages of prices that are
    /// missing two in one pass (`indicators::sma_of_prices_pair`): a GA generation's new
    /// genomes ask for several at once.
    pub fn prepare_all<'s>(&mut self, strategies: impl IntoIterator<Item = &'s Strategy>) {
        let data = self.data;
        let mut missing = Vec::new();
        for strategy in strategies {
            match *strategy {
                Strategy::SmaCrossover { fast, slow } => {
                    missing.extend([fast, slow].into_iter().filter(|n| !self.sma.contains_key(n)));
                }
                Strategy::RsiReversion { period, .. } => {
                    self.rsi.entry(period).or_insert_with(|| indicators::rsi(&data.close, period));
                }
                Strategy::Breakout { lookback, exit } => {
                    self.highest
                        .entry(lookback)
                        .or_insert_with(|| indicators::highest_before(&data.high, lookback));
                    self.lowest.entry(exit).or_insert_with(|| indicators::lowest_before(&data.low, exit));
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        let close = &data.close;
        // Prices take the fast path, two at a time; anything else `sma`'s general one.
        let (of_prices, general): (Vec<usize>, Vec<usize>) =
            missing.into_iter().partition(|&n| self.closes_are_prices && n > 0);
        let mut pairs = of_prices.chunks_exact(2);
        for pair in &mut pairs {
            let ([a, b], [a_values, b_values]) =
                ([pair[0], pair[1]], indicators::sma_of_prices_pair(close, [pair[0], pair[1]]));
            self.sma.insert(a, a_values);
            self.sma.insert(b, b_values);
        }
        for &n in pairs.remainder() {
            self.sma.insert(n, indicators::sma_of_prices(close, n));
        }
        for n in general {
            self.sma.insert(n, indicators::sma(close, n));
        }
    }

    /// `strategy`'s signals, if `prepare` has computed its indicators.
    pub fn signals(&self, strategy: &Strategy) -> Option<Signals<'_>> {
        let kind = match *strategy {
            Strategy::SmaCrossover { fast, slow } => {
                Kind::Cross(Cross { fast: self.sma.get(&fast)?, slow: self.sma.get(&slow)? })
            }
            Strategy::RsiReversion { period, lower, upper } => {
                Kind::Rsi(Rsi { rsi: self.rsi.get(&period)?, lower: lower as f64, upper: upper as f64 })
            }
            Strategy::Breakout { lookback, exit } => Kind::Channel(Channel {
                close: &self.data.close,
                top: self.highest.get(&lookback)?,
                bottom: self.lowest.get(&exit)?,
            }),
        };
        Some(Signals { kind, first_decision: strategy.first_decision() })
    }
}

/// A strategy bound to its indicator series: answers per bar in O(1).
pub struct Signals<'a> {
    kind: Kind<'a>,
    /// The first bar the strategy decides on: one after every indicator is defined, as
    /// backtesting.py starts `next()`.
    pub first_decision: usize,
}

enum Kind<'a> {
    Cross(Cross<'a>),
    Rsi(Rsi<'a>),
    Channel(Channel<'a>),
}

/// Entry and exit tests, as scans over a range of bars: each is a tight loop specialised
/// per strategy (monomorphised into the backtester, no dispatch per bar).
/// Invariant: no strategy signals both on the same bar (the backtester relies on it).
pub trait SignalSource {
    /// The first bar in `from..to` (`from >= 1`) whose close gives an entry signal.
    fn next_entry(&self, from: usize, to: usize) -> Option<usize>;
    /// The first bar in `from..to` (`from >= 1`) whose close gives an exit signal.
    fn next_exit(&self, from: usize, to: usize) -> Option<usize>;
}

/// SMA crossover: strict crossings on consecutive bars.
pub struct Cross<'a> {
    fast: &'a [f64],
    slow: &'a [f64],
}

/// RSI through its levels, strictly.
pub struct Rsi<'a> {
    rsi: &'a [f64],
    lower: f64,
    upper: f64,
}

/// Close against the prior bars' channel.
pub struct Channel<'a> {
    close: &'a [f64],
    top: &'a [f64],
    bottom: &'a [f64],
}

/// The first `j` in `from..to` where `was(j - 1) && now(j)`: a crossing between consecutive
/// bars, carrying the previous bar's test instead of recomputing it. Comparisons with `NaN`
/// (an indicator not yet defined) are false, as in backtesting.py.
#[inline(always)]
fn first_crossing(
    from: usize,
    to: usize,
    was: impl Fn(usize) -> bool,
    now: impl Fn(usize) -> bool,
) -> Option<usize> {
    if from == 0 || from >= to {
        return None;
    }
    let mut before = was(from - 1);
    for j in from..to {
        if before && now(j) {
            return Some(j);
        }
        before = was(j);
    }
    None
}

/// The first `j` in `from..to` where `a[j - 1] < b[j - 1] && a[j] > b[j]`: `first_crossing`
/// for two series, eight bars a turn. Each turn compares eight pairs into two bit masks with
/// vector compares and finds the first crossing among them with one bit operation, instead
/// of a branch per bar. The same comparisons, so the same answer, `NaN` included.
#[inline(always)]
fn first_cross_above(a: &[f64], b: &[f64], from: usize, to: usize) -> Option<usize> {
    let to = to.min(a.len()).min(b.len());
    if from == 0 || from >= to {
        return None;
    }
    let (Some(&a0), Some(&b0)) = (a.get(from - 1), b.get(from - 1)) else { return None };
    let mut before = a0 < b0;
    let (a, b) = (a.get(from..to).unwrap_or_default(), b.get(from..to).unwrap_or_default());
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut at = from;
    for (x, y) in (&mut a8).zip(&mut b8) {
        let (below, above) = below_and_above(x, y);
        let hit = above & ((below << 1) | u32::from(before));
        if hit != 0 {
            return Some(at + hit.trailing_zeros() as usize);
        }
        before = below & 0x80 != 0;
        at += 8;
    }
    for (k, (x, y)) in a8.remainder().iter().zip(b8.remainder()).enumerate() {
        if before && x > y {
            return Some(at + k);
        }
        before = x < y;
    }
    None
}

/// Bit `k` of the first mask: `x[k] < y[k]`; of the second: `x[k] > y[k]` (false with `NaN`),
/// for eight pairs, four a compare (SSE2 pairs on baseline x86-64): the scalar compares
/// were a third of the sweep's time.
#[inline(always)]
fn below_and_above(x: &[f64], y: &[f64]) -> (u32, u32) {
    let (mut below, mut above) = (0u32, 0u32);
    for (k, (x, y)) in x.chunks_exact(4).zip(y.chunks_exact(4)).enumerate() {
        let lanes = |v: &[f64]| f64x4::new([v[0], v[1], v[2], v[3]]);
        let (x, y) = (lanes(x), lanes(y));
        // Ordered compares (false on NaN), as Rust's `<` and `>` are.
        below |= x.simd_lt(y).to_bitmask() << (4 * k);
        above |= x.simd_gt(y).to_bitmask() << (4 * k);
    }
    (below, above)
}

impl SignalSource for Cross<'_> {
    fn next_entry(&self, from: usize, to: usize) -> Option<usize> {
        first_cross_above(self.fast, self.slow, from, to)
    }
    fn next_exit(&self, from: usize, to: usize) -> Option<usize> {
        first_cross_above(self.slow, self.fast, from, to)
    }
}

impl SignalSource for Rsi<'_> {
    fn next_entry(&self, from: usize, to: usize) -> Option<usize> {
        let r = &self.rsi[..to.min(self.rsi.len())];
        let lower = self.lower;
        first_crossing(from, r.len(), |j| r[j] < lower, |j| lower < r[j])
    }
    fn next_exit(&self, from: usize, to: usize) -> Option<usize> {
        let r = &self.rsi[..to.min(self.rsi.len())];
        let upper = self.upper;
        first_crossing(from, r.len(), |j| r[j] > upper, |j| upper > r[j])
    }
}

impl SignalSource for Channel<'_> {
    fn next_entry(&self, from: usize, to: usize) -> Option<usize> {
        let to = to.min(self.close.len()).min(self.top.len());
        let (c, t) = (&self.close[..to], &self.top[..to]);
        (from..to).find(|&j| c[j] > t[j])
    }
    fn next_exit(&self, from: usize, to: usize) -> Option<usize> {
        let to = to.min(self.close.len()).min(self.bottom.len());
        let (c, b) = (&self.close[..to], &self.bottom[..to]);
        (from..to).find(|&j| c[j] < b[j])
    }
}

/// Something that runs generic code on a concrete `SignalSource`.
pub trait WithSource<R> {
    /// Called with the strategy's signal source.
    fn call<S: SignalSource>(self, source: &S) -> R;
}

impl<'a> Signals<'a> {
    /// Signals that never fire.
    pub fn never() -> Signals<'a> {
        Signals {
            kind: Kind::Rsi(Rsi { rsi: &[], lower: f64::NAN, upper: f64::NAN }),
            first_decision: usize::MAX,
        }
    }

    /// Runs `f` on the concrete signal source, so the caller's loop is specialised for it.
    pub fn with<R>(&self, f: impl WithSource<R>) -> R {
        match &self.kind {
            Kind::Cross(s) => f.call(s),
            Kind::Rsi(s) => f.call(s),
            Kind::Channel(s) => f.call(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn preparing_a_batch_gives_each_indicators_own_series_bit_for_bit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let mut data = Ohlcv::with_capacity("random", 500);
        let mut price = 100.0;
        for t in 0..500 {
            price *= 1.0 + rng.random_range(-0.03..0.03);
            data.push(t * 86_400, [price, price * 1.01, price * 0.99, price, 1.0]);
        }
        // Repeated and overlapping periods, period 0, and other strategies.
        let mut batch: Vec<Strategy> = (0..25)
            .map(|_| Strategy::SmaCrossover { fast: rng.random_range(0..30), slow: rng.random_range(2..60) })
            .collect();
        batch.push(Strategy::RsiReversion { period: 14, lower: 30, upper: 70 });
        batch.push(Strategy::Breakout { lookback: 20, exit: 10 });
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        // Every prefix: odd and even numbers of missing periods, some already there.
        for len in 1..=batch.len() {
            let batch = &batch[..len];
            let mut indicators = Indicators::new(&data);
            indicators.prepare(&batch[0]);
            indicators.prepare_all(batch);
            for strategy in batch {
                let expected: Vec<Vec<f64>> = match *strategy {
                    Strategy::SmaCrossover { fast, slow } => {
                        vec![indicators::sma(&data.close, fast), indicators::sma(&data.close, slow)]
                    }
                    Strategy::RsiReversion { period, .. } => vec![indicators::rsi(&data.close, period)],
                    Strategy::Breakout { lookback, exit } => vec![
                        indicators::highest_before(&data.high, lookback),
                        indicators::lowest_before(&data.low, exit),
                    ],
                };
                let prepared: Vec<&Vec<f64>> = match *strategy {
                    Strategy::SmaCrossover { fast, slow } => {
                        vec![&indicators.sma[&fast], &indicators.sma[&slow]]
                    }
                    Strategy::RsiReversion { period, .. } => vec![&indicators.rsi[&period]],
                    Strategy::Breakout { lookback, exit } => {
                        vec![&indicators.highest[&lookback], &indicators.lowest[&exit]]
                    }
                };
                for (got, want) in prepared.iter().zip(&expected) {
                    assert_eq!(bits(got), bits(want), "{strategy:?} in a batch of {len}");
                }
            }
            let periods: std::collections::BTreeSet<usize> = batch
                .iter()
                .filter_map(|s| match *s {
                    Strategy::SmaCrossover { fast, slow } => Some([fast, slow]),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(indicators.sma.len(), periods.len(), "only what the batch asks for");
        }
    }

    #[test]
    fn eight_bars_a_turn_finds_the_crossing_a_bar_at_a_time_finds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(15);
        for _ in 0..20_000 {
            let len = rng.random_range(0..60);
            // Few distinct values, so ties and repeated crossings are common; some NaN.
            let value = |rng: &mut rand::rngs::StdRng| {
                if rng.random::<f64>() < 0.1 {
                    f64::NAN
                } else {
                    f64::from(rng.random_range(0..4u8))
                }
            };
            let a: Vec<f64> = (0..len).map(|_| value(&mut rng)).collect();
            let b: Vec<f64> = (0..len).map(|_| value(&mut rng)).collect();
            let from = rng.random_range(0..len + 2);
            let to = rng.random_range(0..len + 2);
            let bars = to.min(len);
            let expected = first_crossing(from, bars, |j| a[j] < b[j], |j| a[j] > b[j]);
            assert_eq!(first_cross_above(&a, &b, from, to), expected, "{a:?} {b:?} {from}..{to}");
        }
    }
}
