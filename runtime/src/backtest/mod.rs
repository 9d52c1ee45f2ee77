//! The backtester: one pass over the bars per backtest, following backtesting.py 0.6.6 with
//! its defaults (BACKTEST.md): long only, market orders filled at the next bar's open, all
//! cash in whole units, commission on entry and on exit, trades still open at the end left
//! open. The arithmetic mirrors backtesting.py's expression by expression, so results agree
//! to the last digit the float operations allow.

mod calendar;
mod metrics;

pub use calendar::Calendar;
pub use metrics::Metrics;

use crate::data::Ohlcv;
use crate::strategy::{Signals, Strategy};
use serde::Serialize;

/// Starting cash and the commission per side, as a fraction of the traded value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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
}

/// The outcome of one backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub metrics: Metrics,
    /// Equity at each bar's close (empty unless asked for).
    pub equity: Vec<f64>,
    /// Closed trades (empty unless asked for).
    pub trades: Vec<Trade>,
}

/// backtesting.py's default order size: "all of the available cash, less a hair".
const ALL_CASH: f64 = 1.0 - f64::EPSILON;

/// Backtests `strategy` on `data` (whose calendar is `calendar`).
pub fn run(data: &Ohlcv, calendar: &Calendar, strategy: &Strategy, costs: Costs, keep: Keep) -> Report {
    simulate(data, calendar, &strategy.signals(data), costs, keep)
}

enum Order {
    Buy,
    Sell,
}

/// Backtests already-computed signals: what the GA calls, with indicators shared.
pub fn simulate(data: &Ohlcv, calendar: &Calendar, signals: &Signals, costs: Costs, keep: Keep) -> Report {
    let c = costs.commission;
    let bars = data.len();
    // The broker's cash: the entry commission leaves it at entry, the trade's P&L and the
    // exit commission arrive at exit (backtesting.py's `_Broker._cash`).
    let mut cash = costs.cash;
    let (mut units, mut entry_price, mut entry_bar) = (0.0f64, 0.0f64, 0usize);
    let mut pending: Option<Order> = None;
    let mut trades = Vec::new();
    let mut closed = metrics::ClosedTrades::default();
    let mut curve = metrics::Curve::new(costs.cash, calendar, keep.equity.then(|| Vec::with_capacity(bars)));
    let start = signals.first_decision;
    for i in 0..bars {
        let open = data.open.get(i).copied().unwrap_or(f64::NAN);
        match pending.take() {
            Some(Order::Buy) => {
                let adjusted = open + ALL_CASH * open * c / ALL_CASH;
                let size = python_floor_div(cash * 1.0 * ALL_CASH, adjusted);
                if size >= 1.0 {
                    units = size;
                    entry_price = open;
                    entry_bar = i;
                    cash -= units * open * c;
                }
            }
            Some(Order::Sell) => {
                let exit_commission = units * open * c;
                let gross = units * (open - entry_price);
                cash += gross - exit_commission;
                let commissions = exit_commission + units * entry_price * c;
                let pnl = gross - commissions;
                let return_pct = (open / entry_price - 1.0) - commissions / (units * entry_price);
                closed.add(pnl, return_pct);
                if keep.trades {
                    trades.push(Trade {
                        entry_bar,
                        exit_bar: i,
                        units,
                        entry_price,
                        exit_price: open,
                        pnl,
                        return_pct,
                    });
                }
                units = 0.0;
            }
            None => {}
        }
        let close = data.close.get(i).copied().unwrap_or(f64::NAN);
        let equity = if units > 0.0 { cash + units * (close - entry_price) } else { cash + 0.0 };
        curve.bar(i, equity);
        // An order placed on the last bar would never fill.
        if i >= start && i + 1 < bars {
            let signal = signals.at(i);
            if signal.enter {
                if units == 0.0 {
                    pending = Some(Order::Buy);
                }
            } else if signal.exit && units > 0.0 {
                pending = Some(Order::Sell);
            }
        }
    }
    let (metrics, equity) = curve.finish(&closed, calendar.periods_per_year);
    Report { metrics, equity, trades }
}

/// Python's `float.__floordiv__` (CPython's `float_floor_div`), which is not always
/// `floor(a / b)`: the order size must round exactly as backtesting.py's does.
fn python_floor_div(a: f64, b: f64) -> f64 {
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
