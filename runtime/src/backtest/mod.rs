//! The backtester: one pass over the bars per backtest, following backtesting.py 0.6.6 with
//! its defaults (BACKTEST.md): long only, market orders filled at the next bar's open, all
//! cash in whole units, commission on entry and on exit, trades still open at the end left
//! open. The arithmetic mirrors backtesting.py's expression by expression, so results agree
//! to the last digit the float operations allow.

mod calendar;
mod metrics;
pub mod orders;

pub use calendar::Calendar;
pub use metrics::{of_equity, Metrics};

use crate::data::Ohlcv;
use crate::strategy::{Indicators, SignalSource, Signals, Strategy, WithSource};
use serde::Serialize;

/// Starting cash and the commission per side, as a fraction of the traded value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Costs {
    pub cash: f64,
    pub commission: f64,
}

impl Default for Costs {
    /// $10,000 and 0.1%, as BACKTEST.md fixes.
    fn default() -> Costs {
        Costs { cash: 10_000.0, commission: 0.001 }
    }
}

/// What to keep besides the metrics (the GA keeps neither; a re-check keeps both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    pub equity: bool,
    pub trades: bool,
}

/// One closed trade.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trade {
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub units: f64,
    pub entry_price: f64,
    pub exit_price: f64,
    /// `units * (exit - entry)` less both commissions.
    pub pnl: f64,
    /// `(exit - entry) / entry` less both commissions as a fraction of the entry value.
    pub return_pct: f64,
    /// What closed it (left out of JSON for the usual case, an exit rule).
    #[serde(skip_serializing_if = "Exit::is_rule")]
    pub exit: Exit,
}

/// What closed a trade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// The strategy's exit rule (filled at the next open).
    #[default]
    Rule,
    StopLoss,
    /// The stop, after the trailing rule had moved it.
    TrailingStop,
    TakeProfit,
    /// Equity reached zero: closed at that bar's close, the run over.
    OutOfMoney,
}

impl Exit {
    /// True for the exit rule.
    pub fn is_rule(&self) -> bool {
        *self == Exit::Rule
    }
}

/// The outcome of one backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub metrics: Metrics,
    /// Equity at each bar's close (empty unless asked for).
    pub equity: Vec<f64>,
    /// Closed trades (empty unless asked for).
    pub trades: Vec<Trade>,
    /// The entry bar of the trade still open after the last bar, if one is.
    pub open_since: Option<usize>,
}

/// What a strategy holds at the close of a window's last bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Long,
    Short,
    Flat,
}

/// The order a strategy places at the close of the last bar (filled at the next open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Flat, and the entry signal fires on the last bar; or short, and its exit fires.
    Buy,
    /// Long, and the exit signal fires on the last bar; or flat, and the short entry fires.
    Sell,
    Hold,
}

/// Where a strategy stands after the last bar of `data`: the backtest's own position (the
/// same simulation, so a dropped order or an open trade counts as it does there), and the
/// strategy's signal on that last bar, which the backtest never acts on (no bar is left to
/// fill it).
pub fn stance(data: &Ohlcv, calendar: &Calendar, strategy: &Strategy, costs: Costs) -> (Position, Signal) {
    let (_, position, signal) = run_with_stance(data, calendar, strategy, costs, Keep::default());
    (position, signal)
}

/// `run` and `stance` from one simulation: what `gaform backtest` reports.
pub fn run_with_stance(
    data: &Ohlcv,
    calendar: &Calendar,
    strategy: &Strategy,
    costs: Costs,
    keep: Keep,
) -> (Report, Position, Signal) {
    let mut indicators = Indicators::new(data);
    indicators.prepare(strategy);
    let signals = indicators.signals(strategy).unwrap_or_else(Signals::never);
    let report = simulate(data, calendar, &signals, costs, keep);
    let position = if report.open_since.is_some() { Position::Long } else { Position::Flat };
    let last = data.len().checked_sub(1).filter(|&l| l >= signals.first_decision.max(1));
    let signal = last.map_or(Signal::Hold, |l| signals.with(LastBar { bar: l, position }));
    (report, position, signal)
}

struct LastBar {
    bar: usize,
    position: Position,
}

impl WithSource<Signal> for LastBar {
    fn call<S: SignalSource>(self, source: &S) -> Signal {
        let range = (self.bar, self.bar + 1);
        match self.position {
            Position::Flat if source.next_entry(range.0, range.1).is_some() => Signal::Buy,
            Position::Long if source.next_exit(range.0, range.1).is_some() => Signal::Sell,
            _ => Signal::Hold,
        }
    }
}

/// backtesting.py's default order size: "all of the available cash, less a hair".
const ALL_CASH: f64 = 1.0 - f64::EPSILON;

/// Backtests `strategy` on `data` (whose calendar is `calendar`), computing its indicators.
pub fn run(data: &Ohlcv, calendar: &Calendar, strategy: &Strategy, costs: Costs, keep: Keep) -> Report {
    let mut indicators = Indicators::new(data);
    indicators.prepare(strategy);
    let signals = indicators.signals(strategy);
    // `prepare` computed everything `signals` needs, so this is always `Some`.
    let signals = signals.unwrap_or_else(Signals::never);
    simulate(data, calendar, &signals, costs, keep)
}

/// Backtests already-computed signals: what the GA calls, with indicators shared.
pub fn simulate(
    data: &Ohlcv,
    calendar: &Calendar,
    signals: &Signals<'_>,
    costs: Costs,
    keep: Keep,
) -> Report {
    signals.with(Simulation { data, calendar, start: signals.first_decision, costs, keep })
}

struct Simulation<'a> {
    data: &'a Ohlcv,
    calendar: &'a Calendar,
    start: usize,
    costs: Costs,
    keep: Keep,
}

impl WithSource<Report> for Simulation<'_> {
    fn call<S: SignalSource>(self, source: &S) -> Report {
        // Two copies of the loop: keeping the curve calls out (to grow a Vec), and on
        // x86-64 no float register survives a call, so the common loop must have none.
        if self.keep.equity {
            self.bars::<S, true>(source)
        } else {
            self.bars::<S, false>(source)
        }
    }
}

impl Simulation<'_> {
    /// The bar loop, specialised per strategy. It alternates two stretches: flat, where
    /// equity is the cash and only entry signals are looked at, and long, where equity
    /// moves with the close and only exit signals matter.
    #[inline(always)]
    fn bars<S: SignalSource, const KEEP_EQUITY: bool>(self, source: &S) -> Report {
        let Simulation { data, calendar, start, costs, keep } = self;
        let c = costs.commission;
        let bars = data.len().min(data.open.len()).min(data.close.len());
        let bars = bars.min(calendar.starts.len());
        let (open, close, starts) = (&data.open[..bars], &data.close[..bars], &calendar.starts[..bars]);
        // The broker's cash: the entry commission leaves it at entry, the trade's P&L and
        // the exit commission arrive at exit (backtesting.py's `_Broker._cash`).
        let mut cash = costs.cash;
        let mut trades = Vec::new();
        let mut closed = metrics::ClosedTrades::default();
        let mut curve =
            metrics::Curve::new(costs.cash, calendar, keep.equity.then(|| Vec::with_capacity(bars)));
        // Orders are placed at a bar's close and fill at the next open: none on the last bar.
        let last_decision = bars.saturating_sub(1);
        let mut i = start.min(bars);
        let mut open_since = None;
        curve.flat(0, i, cash);
        while i < bars {
            let Some(signal_bar) = source.next_entry(i, last_decision) else {
                curve.flat(i, bars, cash);
                break;
            };
            curve.flat(i, signal_bar + 1, cash);
            let entry_bar = signal_bar + 1;
            let entry_price = open[entry_bar];
            let adjusted = entry_price + ALL_CASH * entry_price * c / ALL_CASH;
            let units = python_floor_div(cash * 1.0 * ALL_CASH, adjusted);
            if units < 1.0 {
                // Not even one unit: the order is dropped and the bar stays flat.
                i = entry_bar;
                continue;
            }
            cash -= units * entry_price * c;
            // backtesting.py checks entry first (`if ... elif`); no strategy signals both on
            // one bar, so while long only the exit can act.
            let exit_signal = source.next_exit(entry_bar, last_decision);
            let long_until = exit_signal.map_or(bars, |x| x + 1);
            let mut running = curve.scalars();
            if !KEEP_EQUITY && calendar.starts_between(entry_bar, long_until) == long_until - entry_bar {
                running.long_stretch_of_periods(&close[entry_bar..long_until], cash, units, entry_price);
            } else {
                for k in entry_bar..long_until {
                    let equity = cash + units * (close[k] - entry_price);
                    running.later_bar(starts[k], equity);
                    if KEEP_EQUITY {
                        if let Some(kept) = curve.kept() {
                            kept.push(equity);
                        }
                    }
                }
            }
            curve.restore(running);
            let Some(signal_bar) = exit_signal else {
                open_since = Some(entry_bar);
                break;
            };
            let exit_bar = signal_bar + 1;
            let exit_price = open[exit_bar];
            let exit_commission = units * exit_price * c;
            let gross = units * (exit_price - entry_price);
            cash += gross - exit_commission;
            let commissions = exit_commission + units * entry_price * c;
            let pnl = gross - commissions;
            let return_pct = (exit_price / entry_price - 1.0) - commissions / (units * entry_price);
            closed.add(pnl, return_pct);
            if keep.trades {
                trades.push(Trade {
                    entry_bar,
                    exit_bar,
                    units,
                    entry_price,
                    exit_price,
                    pnl,
                    return_pct,
                    exit: Exit::Rule,
                });
            }
            i = exit_bar;
        }
        let (metrics, equity) = curve.finish(&closed, calendar.periods_per_year);
        Report { metrics, equity, trades, open_since }
    }
}

/// Python's `float.__floordiv__` (CPython's `float_floor_div`), which is not always
/// `floor(a / b)`: the order size must round exactly as backtesting.py's does.
///
/// Its `fmod` is a software loop (a few percent of a GA run, one per trade). Where the
/// quotient is far from an integer the answer is certain without it: for positive `a`, `b`
/// and a quotient below 2^30, the rounded `a / b` is within 2^-22 of the exact one, so a
/// fraction more than 1e-6 away from 0 and 1 has the exact quotient's floor.
fn python_floor_div(a: f64, b: f64) -> f64 {
    let q = a / b;
    if a > 0.0 && b > 0.0 && q < (1u64 << 30) as f64 {
        let floor = q.floor();
        let fraction = q - floor;
        if fraction > 1e-6 && fraction < 1.0 - 1e-6 {
            return floor;
        }
    }
    python_floor_div_exact(a, b)
}

/// `python_floor_div` by CPython's own steps.
fn python_floor_div_exact(a: f64, b: f64) -> f64 {
    let modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 && ((b < 0.0) != (modulo < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let floor = div.floor();
        if div - floor > 0.5 {
            floor + 1.0
        } else {
            floor
        }
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
