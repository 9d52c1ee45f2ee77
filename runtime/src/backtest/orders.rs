//! Orders as backtesting.py 0.6.6 places them for a strategy written in the file: market
//! entries filled at the next open, long or short, sized as a fraction of equity; stops and
//! targets as contingent orders (a stop filled at the worse of the open and its price, a
//! target at the better), checked on the entry's own bar too; a trailing stop moved at every
//! close; an exit rule closing at the next open; out of money, everything closed and the run
//! over. The order in which one bar's orders are tried is backtesting.py's (`_Broker.orders`):
//! a stop set this bar by the trailing rule before an exit order, an exit order before an
//! untouched stop, a target last.

use super::metrics::{ClosedTrades, Curve};
use super::{python_floor_div, Calendar, Costs, Exit, Keep, Position, Report, Signal, Trade};
use crate::data::Ohlcv;
use crate::rules::signals::{Level, Signals};

/// A trade while it is open.
struct Open {
    /// Signed: negative for a short.
    units: f64,
    entry_price: f64,
    entry_bar: usize,
    stop: Option<f64>,
    target: Option<f64>,
    /// The exit rule fired at the last close: a market order to close at this open.
    closing: bool,
    /// The trailing rule has moved the stop.
    trailed: bool,
    /// The stop order was placed after the exit order (the trailing rule runs last), so it
    /// is tried first.
    stop_first: bool,
}

/// An entry placed at a close, filled at the next open.
struct Entry {
    long: bool,
    stop: Option<f64>,
    target: Option<f64>,
}

/// Backtests `signals` on `data`: the report, and the stance after the last bar.
pub fn simulate(
    data: &Ohlcv,
    calendar: &Calendar,
    signals: &Signals,
    costs: Costs,
    keep: Keep,
) -> (Report, Position, Signal) {
    let bars = data.len().min(calendar.starts.len());
    let (open, high, low, close) = (&data.open, &data.high, &data.low, &data.close);
    let c = costs.commission;
    let mut cash = costs.cash;
    let mut closed = ClosedTrades::default();
    let mut trades = Vec::new();
    let mut curve = Curve::new(costs.cash, calendar, keep.equity.then(|| Vec::with_capacity(bars)));
    let start = signals.start.min(bars);
    curve.flat(0, start, cash);
    let mut position: Option<Open> = None;
    let mut pending: Option<Entry> = None;
    let mut last_signal = Signal::Hold;
    let fires = |rule: &Option<Vec<bool>>, j: usize| {
        rule.as_ref().is_some_and(|r| r.get(j).copied().unwrap_or(false))
    };
    let mut next = start;
    while next < bars {
        let mut j = next;
        next += 1;
        if position.is_none() && pending.is_none() && cash > 0.0 {
            // Flat with nothing to fill: every bar until an entry fires closes at the cash,
            // recorded in one step (the figures are the same as bar by bar).
            let entry = |k: usize| fires(&signals.entry, k) || fires(&signals.entry_short, k);
            let fired = (j..bars).find(|&k| entry(k)).unwrap_or(bars);
            if fired > j {
                curve.flat(j, fired, cash);
                if fired == bars {
                    last_signal = Signal::Hold;
                    break;
                }
                j = fired;
                next = fired + 1;
            }
        }
        let bar = Bar { open: open[j], high: high[j], low: low[j], index: j };
        // The broker: this bar's orders.
        if let Some(entry) = pending.take() {
            position = fill_entry(entry, &bar, signals.size, c, &mut cash);
        }
        if let Some(done) = position.as_ref().and_then(|t| exit_at(t, &bar)) {
            if let Some(t) = position.take() {
                settle(t, done, c, &mut cash, &mut closed, keep.trades.then_some(&mut trades));
            }
        }
        let equity = position.as_ref().map_or(cash, |t| cash + t.units * (close[j] - t.entry_price));
        if equity <= 0.0 {
            // Out of money: every trade closed at this close, and nothing more happens.
            if let Some(t) = position.take() {
                settle(
                    t,
                    (close[j], j, Exit::OutOfMoney),
                    c,
                    &mut cash,
                    &mut closed,
                    keep.trades.then_some(&mut trades),
                );
            }
            curve.flat(j, bars, 0.0);
            last_signal = Signal::Hold;
            break;
        }
        let mut running = curve.scalars();
        running.later_bar(calendar.starts_period(j), equity);
        curve.restore(running);
        if let Some(kept) = curve.kept() {
            kept.push(equity);
        }
        // The strategy, at this close.
        last_signal = Signal::Hold;
        if let Some(t) = position.as_mut() {
            let long = t.units > 0.0;
            if fires(if long { &signals.exit } else { &signals.exit_short }, j) {
                t.closing = true;
                t.stop_first = false;
                last_signal = if long { Signal::Sell } else { Signal::Buy };
            }
            if let Some(level) = &signals.trailing_stop {
                let candidate = if long { below(close[j], level, j) } else { above(close[j], level, j) };
                if let Some(candidate) = candidate.filter(|p| p.is_finite() && *p > 0.0) {
                    let moved = match (t.stop, long) {
                        (Some(s), true) => s.max(candidate),
                        (Some(s), false) => s.min(candidate),
                        (None, _) => candidate,
                    };
                    // What closes the trade is a trailing stop once the rule has moved it.
                    t.trailed |= t.stop != Some(moved);
                    t.stop = Some(moved);
                    t.stop_first = true;
                }
            }
        } else {
            let long = fires(&signals.entry, j);
            if long || fires(&signals.entry_short, j) {
                let px = close[j];
                let (stop, target) = if long {
                    (
                        signals
                            .stop_loss
                            .as_ref()
                            .and_then(|l| below(px, l, j))
                            .filter(|s| *s > 0.0 && *s < px),
                        signals.take_profit.as_ref().and_then(|l| above(px, l, j)).filter(|t| *t > px),
                    )
                } else {
                    (
                        signals.stop_loss.as_ref().and_then(|l| above(px, l, j)).filter(|s| *s > px),
                        signals
                            .take_profit
                            .as_ref()
                            .and_then(|l| below(px, l, j))
                            .filter(|t| *t > 0.0 && *t < px),
                    )
                };
                pending = Some(Entry { long, stop, target });
                last_signal = if long { Signal::Buy } else { Signal::Sell };
            }
        }
    }
    let stance = match &position {
        Some(t) if t.units > 0.0 => Position::Long,
        Some(_) => Position::Short,
        None => Position::Flat,
    };
    let open_since = position.as_ref().map(|t| t.entry_bar);
    let (metrics, equity) = curve.finish(&closed, calendar.periods_per_year);
    (Report { metrics, equity, trades, open_since }, stance, last_signal)
}

/// The prices of one bar the broker looks at.
struct Bar {
    open: f64,
    high: f64,
    low: f64,
    index: usize,
}

/// `price` less a level (a fraction of it, or a distance at bar `j`); `None` if undefined.
fn below(price: f64, level: &Level, j: usize) -> Option<f64> {
    let p = match level {
        Level::Fraction(f) => price * (1.0 - f),
        Level::Price(d) => price - d.at(j),
    };
    (!p.is_nan()).then_some(p)
}

/// `price` plus a level.
fn above(price: f64, level: &Level, j: usize) -> Option<f64> {
    let p = match level {
        Level::Fraction(f) => price * (1.0 + f),
        Level::Price(d) => price + d.at(j),
    };
    (!p.is_nan()).then_some(p)
}

/// Fills `entry` at the bar's open with all the equity `size` buys in whole units, as
/// backtesting.py sizes a relative order; `None` when not one unit is affordable.
fn fill_entry(entry: Entry, bar: &Bar, size: f64, c: f64, cash: &mut f64) -> Option<Open> {
    let price = bar.open;
    let per_unit = price + size * price * c / size;
    let margin_available = cash.max(0.0);
    let units = python_floor_div(margin_available * 1.0 * size, per_unit);
    if units < 1.0 || units * per_unit > margin_available * 1.0 {
        return None;
    }
    *cash -= units * price * c;
    let units = if entry.long { units } else { -units };
    Some(Open {
        units,
        entry_price: price,
        entry_bar: bar.index,
        stop: entry.stop,
        target: entry.target,
        closing: false,
        trailed: false,
        stop_first: true,
    })
}

/// The price, bar and reason a trade closes at on `bar`, if one of its orders fills there.
fn exit_at(t: &Open, bar: &Bar) -> Option<(f64, usize, Exit)> {
    let long = t.units > 0.0;
    let stopped = if t.trailed { Exit::TrailingStop } else { Exit::StopLoss };
    let stop = || {
        let s = t.stop?;
        let price = if long {
            (bar.low <= s).then(|| bar.open.min(s))
        } else {
            (bar.high >= s).then(|| bar.open.max(s))
        };
        price.map(|p| (p, stopped))
    };
    let exit = || t.closing.then_some((bar.open, Exit::Rule));
    let target = || {
        let p = t.target?;
        let price = if long {
            (bar.high >= p).then(|| bar.open.max(p))
        } else {
            (bar.low <= p).then(|| bar.open.min(p))
        };
        price.map(|p| (p, Exit::TakeProfit))
    };
    let (price, why) =
        if t.stop_first { stop().or_else(exit) } else { exit().or_else(stop) }.or_else(target)?;
    Some((price, bar.index, why))
}

/// Closes `t` at `(price, bar)` for `why`: cash and the closed-trade figures, as
/// `_close_trade` does.
fn settle(
    t: Open,
    (price, bar, why): (f64, usize, Exit),
    c: f64,
    cash: &mut f64,
    closed: &mut ClosedTrades,
    trades: Option<&mut Vec<Trade>>,
) {
    let size = t.units.abs();
    let exit_commission = size * price * c;
    let gross = t.units * (price - t.entry_price);
    *cash += gross - exit_commission;
    let commissions = exit_commission + size * t.entry_price * c;
    let pnl = gross - commissions;
    let return_pct = t.units.signum() * (price / t.entry_price - 1.0) - commissions / (size * t.entry_price);
    closed.add(pnl, return_pct);
    if let Some(trades) = trades {
        trades.push(Trade {
            entry_bar: t.entry_bar,
            exit_bar: bar,
            units: t.units,
            entry_price: t.entry_price,
            exit_price: price,
            pnl,
            return_pct,
            exit: why,
        });
    }
}
