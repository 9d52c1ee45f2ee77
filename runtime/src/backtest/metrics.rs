//! The metrics of BACKTEST.md, computed as backtesting.py's `compute_stats` does, from an
//! equity curve seen one bar at a time and the closed trades.

use super::Calendar;
use serde::Serialize;

/// Every metric a fitness expression or a report may use. Fractions, not percent; `NaN`
/// where undefined (no trades, no volatility, no losing period).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub final_equity: f64,
    pub total_return: f64,
    pub trades: u64,
    /// A positive fraction.
    pub max_drawdown: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub calmar: f64,
    pub win_rate: f64,
    pub profit_factor: f64,
    pub annual_return: f64,
    pub annual_volatility: f64,
}

impl Metrics {
    /// Every metric's name, as in JSON output and fitness expressions.
    pub const NAMES: [&'static str; 11] = [
        "final_equity",
        "total_return",
        "trades",
        "max_drawdown",
        "sharpe",
        "sortino",
        "calmar",
        "win_rate",
        "profit_factor",
        "annual_return",
        "annual_volatility",
    ];

    /// Every metric's value, in the order of `NAMES` (`trades` as a float).
    pub fn values(&self) -> [f64; 11] {
        [
            self.final_equity,
            self.total_return,
            self.trades as f64,
            self.max_drawdown,
            self.sharpe,
            self.sortino,
            self.calmar,
            self.win_rate,
            self.profit_factor,
            self.annual_return,
            self.annual_volatility,
        ]
    }
}

/// Running sums over closed trades.
#[derive(Default)]
pub(super) struct ClosedTrades {
    count: u64,
    winners: u64,
    gains: f64,
    losses: f64,
}

impl ClosedTrades {
    pub(super) fn add(&mut self, pnl: f64, return_pct: f64) {
        self.count += 1;
        self.winners += u64::from(pnl > 0.0);
        if return_pct > 0.0 {
            self.gains += return_pct;
        } else if return_pct < 0.0 {
            self.losses += return_pct;
        }
    }
}

/// The equity curve's running figures: drawdown as it goes, and sums over the returns
/// between calendar periods' last equities. Plain scalars, `Copy`, so the backtest's hot
/// loop can keep them in registers (`Curve::scalars`, `Curve::restore`).
#[derive(Clone, Copy)]
pub(super) struct Running {
    first: f64,
    last: f64,
    seen_any: bool,
    peak: f64,
    max_drawdown: f64,
    /// The lowest equity since `peak` was set.
    trough: f64,
    previous_close: f64,
    has_previous_close: bool,
    count: usize,
    sum: f64,
    sum_sq: f64,
    downside_sq: f64,
    /// The first period's close: the product of every `1 + r` telescopes to the last close
    /// over this one (to ~1e-13 of multiplying them out, without a multiply per bar).
    first_close: f64,
    wiped_out: bool,
}

impl Running {
    /// Bar closed with `equity`; `starts_period` if it opens a new calendar period.
    #[inline(always)]
    pub(super) fn bar(&mut self, starts_period: bool, equity: f64) {
        self.next_bar(starts_period, equity);
        self.drawdown(equity);
    }

    /// `bar` for any bar but the first (which the flat prefix before the first decision
    /// always records): the backtest's hot loop.
    #[inline(always)]
    pub(super) fn later_bar(&mut self, starts_period: bool, equity: f64) {
        if starts_period {
            self.close_period(self.last);
        }
        self.last = equity;
        self.drawdown(equity);
    }

    /// `later_bar` for the bars of a long stretch in which every bar opens a new period
    /// (daily data): equity `cash + units * (close - entry)`. Two bars a turn with a
    /// second set of sums, so that the three sums' add latencies overlap instead of
    /// chaining; the order of additions changes (by ~1e-16 relative), the run's
    /// determinism does not.
    #[inline(always)]
    pub(super) fn long_stretch_of_periods(&mut self, close: &[f64], cash: f64, units: f64, entry: f64) {
        let Some((&first, rest)) = close.split_first() else { return };
        self.later_bar(true, cash + units * (first - entry));
        let (mut sum, mut sum_sq, mut downside_sq) = (0.0, 0.0, 0.0);
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            let [a, b] = [pair.first().copied().unwrap_or(entry), pair.get(1).copied().unwrap_or(entry)];
            let (ea, eb) = (cash + units * (a - entry), cash + units * (b - entry));
            // Bar `a` closes the period of `self.last`; bar `b` closes the one of `ea`.
            let r0 = self.last / self.previous_close - 1.0;
            let r1 = ea / self.last - 1.0;
            self.sum += r0;
            sum += r1;
            self.sum_sq += r0 * r0;
            sum_sq += r1 * r1;
            let (l0, l1) = (r0.min(0.0), r1.min(0.0));
            self.downside_sq += l0 * l0;
            downside_sq += l1 * l1;
            self.wiped_out |= (self.last <= 0.0) | (ea <= 0.0);
            self.count += 2;
            self.previous_close = ea;
            self.drawdown(ea);
            self.drawdown(eb);
            self.last = eb;
        }
        self.sum += sum;
        self.sum_sq += sum_sq;
        self.downside_sq += downside_sq;
        for &c in pairs.remainder() {
            self.later_bar(true, cash + units * (c - entry));
        }
    }

    /// The deepest `1 - equity / peak` is `1 - trough / peak` for the lowest equity since
    /// each peak (rounded division is monotonic, so this is exact): a division per new
    /// peak rather than per bar, and a branch-free minimum otherwise.
    #[inline(always)]
    fn drawdown(&mut self, equity: f64) {
        if equity > self.peak {
            self.settle_drawdown();
            self.peak = equity;
            self.trough = equity;
        } else {
            // Not `f64::min`: its NaN rule costs a blend after the `minsd`, on the chain
            // every bar of a long stretch waits on (it was the loop's bottleneck). The
            // trough is never NaN (it starts infinite and only takes an equity above the
            // peak), so a NaN equity leaves it as `min` would.
            self.trough = if equity < self.trough { equity } else { self.trough };
        }
    }

    fn settle_drawdown(&mut self) {
        if self.trough < self.peak {
            let drawdown = 1.0 - self.trough / self.peak;
            if drawdown > self.max_drawdown {
                self.max_drawdown = drawdown;
            }
        }
    }

    #[inline(always)]
    fn next_bar(&mut self, starts_period: bool, equity: f64) {
        if !self.seen_any {
            self.first = equity;
            self.seen_any = true;
        } else if starts_period {
            self.close_period(self.last);
        }
        self.last = equity;
    }

    #[inline(always)]
    fn close_period(&mut self, close: f64) {
        if self.has_previous_close {
            // pandas' `pct_change`: `close / previous - 1` (exactly 0 when nothing moved:
            // `x / x` is exactly 1 in IEEE arithmetic).
            let r = close / self.previous_close - 1.0;
            self.count += 1;
            self.sum += r;
            self.sum_sq += r * r;
            // Branch-free: a gain or a loss is a coin toss for the branch predictor.
            let loss = r.min(0.0);
            self.downside_sq += loss * loss;
            self.wiped_out |= close <= 0.0;
        } else {
            self.first_close = close;
        }
        self.previous_close = close;
        self.has_previous_close = true;
    }
}

/// The equity curve: running figures, and the curve itself when asked for.
pub(super) struct Curve<'c> {
    running: Running,
    calendar: &'c Calendar,
    keep: Option<Vec<f64>>,
}

impl<'c> Curve<'c> {
    pub(super) fn new(cash: f64, calendar: &'c Calendar, keep: Option<Vec<f64>>) -> Curve<'c> {
        let running = Running {
            first: cash,
            last: cash,
            seen_any: false,
            peak: f64::NEG_INFINITY,
            max_drawdown: 0.0,
            trough: f64::INFINITY,
            previous_close: f64::NAN,
            has_previous_close: false,
            count: 0,
            sum: 0.0,
            sum_sq: 0.0,
            downside_sq: 0.0,
            first_close: f64::NAN,
            wiped_out: false,
        };
        Curve { running, calendar, keep }
    }

    /// The running figures, to be updated in a local and put back with `restore`.
    pub(super) fn scalars(&self) -> Running {
        self.running
    }

    pub(super) fn restore(&mut self, running: Running) {
        self.running = running;
    }

    /// Where the curve is kept, if it is.
    pub(super) fn kept(&mut self) -> Option<&mut Vec<f64>> {
        self.keep.as_mut()
    }

    /// Bars `from..to` all closed with the same `equity` (flat: the cash), in O(1): the
    /// first period to close inside the stretch may have moved, every later one returned 0.
    pub(super) fn flat(&mut self, from: usize, to: usize, equity: f64) {
        if from >= to {
            return;
        }
        self.running.bar(self.calendar.starts_period(from), equity);
        let closes = self.calendar.starts_between(from + 1, to);
        if closes > 0 {
            self.running.close_period(equity);
            self.running.count += closes - 1;
        }
        if let Some(k) = self.keep.as_mut() {
            k.extend(std::iter::repeat_n(equity, to - from));
        }
    }

    pub(super) fn finish(mut self, trades: &ClosedTrades, periods_per_year: f64) -> (Metrics, Vec<f64>) {
        let last = self.running.last;
        self.running.close_period(last);
        self.running.settle_drawdown();
        let r = &self.running;
        let n = r.count as f64;
        // backtesting.py's `geometric_mean`: 0 if a period lost everything, `NaN` if none.
        let g = match r.count {
            0 => f64::NAN,
            _ if r.wiped_out => 0.0,
            _ => ((r.previous_close / r.first_close).ln() / n).exp() - 1.0,
        };
        // Sample variance (ddof = 1); `NaN` under two returns.
        let variance = if r.count < 2 { f64::NAN } else { (r.sum_sq - r.sum * r.sum / n) / (n - 1.0) };
        let downside = if r.count == 0 { f64::NAN } else { r.downside_sq / n };
        let a = periods_per_year;
        let annual_return = (1.0 + g).powf(a) - 1.0;
        let annual_volatility = ((variance + (1.0 + g).powi(2)).powf(a) - (1.0 + g).powf(2.0 * a)).sqrt();
        let (return_pct, volatility_pct) = (annual_return * 100.0, annual_volatility * 100.0);
        let sharpe = if volatility_pct == 0.0 { f64::NAN } else { return_pct / volatility_pct };
        let sortino = annual_return / (downside.sqrt() * a.sqrt());
        let calmar = if r.max_drawdown == 0.0 { f64::NAN } else { annual_return / r.max_drawdown };
        let metrics = Metrics {
            final_equity: r.last,
            total_return: (r.last - r.first) / r.first,
            trades: trades.count,
            max_drawdown: r.max_drawdown,
            sharpe: defined(sharpe),
            sortino: defined(sortino),
            calmar: defined(calmar),
            win_rate: if trades.count == 0 { f64::NAN } else { trades.winners as f64 / trades.count as f64 },
            profit_factor: if trades.losses == 0.0 { f64::NAN } else { trades.gains / trades.losses.abs() },
            annual_return: defined(annual_return),
            annual_volatility: defined(annual_volatility),
        };
        (metrics, self.keep.unwrap_or_default())
    }
}

/// The metrics of an equity curve alone, one value per bar of `calendar`: a curve stitched
/// from several backtests, whose trades were counted where they were made. `trades` is 0 and
/// the trade metrics (win rate, profit factor) are undefined; the rest are BACKTEST.md's.
pub fn of_equity(equity: &[f64], calendar: &Calendar) -> Metrics {
    let mut curve = Curve::new(equity.first().copied().unwrap_or(f64::NAN), calendar, None);
    for (i, &e) in equity.iter().enumerate() {
        curve.running.bar(calendar.starts_period(i), e);
    }
    curve.finish(&ClosedTrades::default(), calendar.periods_per_year).0
}

/// Infinities (a ratio over zero) are as undefined as `NaN` for ranking and reporting.
fn defined(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}
