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
use crate::rules::bits::Bits;
use crate::rules::series::{BindError, Series};
use crate::rules::signals::{signals, Level, Signals};
use crate::rules::Program;

/// A trade while it is open.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
struct Entry {
    long: bool,
    stop: Option<f64>,
    target: Option<f64>,
}

/// A stop, target or trailing distance at one bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LevelAt {
    /// A fraction of the deciding bar's close.
    Fraction(f64),
    /// A price distance.
    Distance(f64),
}

/// Which of the risk levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    StopLoss,
    TakeProfit,
    TrailingStop,
}

/// What a strategy's rules say at bar `j`'s close: the backtest reads its signal vectors,
/// a stream the values it has just computed.
pub trait Rules {
    fn entry(&self, j: usize) -> bool;
    fn exit(&self, j: usize) -> bool;
    fn entry_short(&self, j: usize) -> bool;
    fn exit_short(&self, j: usize) -> bool;
    /// The level at bar `j`, if the strategy has one (a distance may be undefined: NaN).
    fn level(&self, which: Risk, j: usize) -> Option<LevelAt>;
}

impl Rules for Signals {
    #[inline(always)]
    fn entry(&self, j: usize) -> bool {
        fires(&self.entry, j)
    }
    #[inline(always)]
    fn exit(&self, j: usize) -> bool {
        fires(&self.exit, j)
    }
    #[inline(always)]
    fn entry_short(&self, j: usize) -> bool {
        fires(&self.entry_short, j)
    }
    #[inline(always)]
    fn exit_short(&self, j: usize) -> bool {
        fires(&self.exit_short, j)
    }
    #[inline(always)]
    fn level(&self, which: Risk, j: usize) -> Option<LevelAt> {
        let level = match which {
            Risk::StopLoss => &self.stop_loss,
            Risk::TakeProfit => &self.take_profit,
            Risk::TrailingStop => &self.trailing_stop,
        };
        level.as_ref().map(|l| match l {
            Level::Fraction(f) => LevelAt::Fraction(*f),
            Level::Price(d) => LevelAt::Distance(d.at(j)),
        })
    }
}

#[inline(always)]
fn fires(rule: &Option<Bits>, j: usize) -> bool {
    rule.as_ref().is_some_and(|r| r.get(j))
}

/// The first bar at or after `from` on which `rule` fires.
fn next_fire(rule: &Option<Bits>, from: usize) -> Option<usize> {
    rule.as_ref()?.next_set(from)
}

/// The broker and the strategy's orders between two bars: all a backtest carries from one
/// bar to the next besides its figures, and all a stream keeps of its orders. The backtest
/// and the stream step it with the same code, so they cannot disagree.
#[derive(Clone, Debug)]
pub struct Broker {
    cash: f64,
    position: Option<Open>,
    pending: Option<Entry>,
    last_signal: Signal,
    /// Equity reached zero: every trade closed, nothing more happens.
    out_of_money: bool,
}

impl Broker {
    /// A broker holding `cash` and nothing else.
    pub fn new(cash: f64) -> Broker {
        Broker { cash, position: None, pending: None, last_signal: Signal::Hold, out_of_money: false }
    }

    /// Flat with nothing to fill and money left: only an entry can change anything.
    fn idle(&self) -> bool {
        self.position.is_none() && self.pending.is_none() && self.cash > 0.0
    }

    /// The position held and the signal of the last bar decided on.
    pub fn stance(&self) -> (Position, Signal) {
        let position = match &self.position {
            Some(t) if t.units > 0.0 => Position::Long,
            Some(_) => Position::Short,
            None => Position::Flat,
        };
        (position, self.last_signal)
    }

    /// One bar of a stream: the broker's orders at bar `j` (`[open, high, low, close]`),
    /// then the strategy at its close. `j` is a bar the strategy decides on (at or past its
    /// warm-up).
    pub fn step(&mut self, j: usize, prices: [f64; 4], size: f64, costs: Costs, rules: &impl Rules) {
        if self.out_of_money {
            return;
        }
        let [open, high, low, close] = prices;
        let bar = Bar { open, high, low, index: j };
        let mut closed = ClosedTrades::default();
        if self.orders(&bar, close, size, costs.commission, &mut closed, None).is_some() {
            self.decide(j, close, rules);
        }
    }

    /// The broker's orders on `bar`: the pending entry filled at its open, then a stop, the
    /// exit or a target closing the trade. The equity at the bar's `close`, or `None` when it
    /// is out of money (every trade closed at this close, and nothing more happens).
    #[inline(always)]
    fn orders(
        &mut self,
        bar: &Bar,
        close: f64,
        size: f64,
        c: f64,
        closed: &mut ClosedTrades,
        mut trades: Option<&mut Vec<Trade>>,
    ) -> Option<f64> {
        if let Some(entry) = self.pending.take() {
            self.position = fill_entry(entry, bar, size, c, &mut self.cash);
        }
        if let Some(done) = self.position.as_ref().and_then(|t| exit_at(t, bar)) {
            if let Some(t) = self.position.take() {
                settle(t, done, c, &mut self.cash, closed, trades.as_deref_mut());
            }
        }
        let equity =
            self.position.as_ref().map_or(self.cash, |t| self.cash + t.units * (close - t.entry_price));
        if equity <= 0.0 {
            if let Some(t) = self.position.take() {
                settle(t, (close, bar.index, Exit::OutOfMoney), c, &mut self.cash, closed, trades);
            }
            self.last_signal = Signal::Hold;
            self.out_of_money = true;
            return None;
        }
        Some(equity)
    }

    /// The strategy at bar `j`'s close: an exit or a trailing stop while in a trade, an
    /// entry (with its stop and target) while flat.
    #[inline(always)]
    fn decide(&mut self, j: usize, close: f64, rules: &impl Rules) {
        self.last_signal = Signal::Hold;
        if let Some(t) = self.position.as_mut() {
            let long = t.units > 0.0;
            if if long { rules.exit(j) } else { rules.exit_short(j) } {
                t.closing = true;
                t.stop_first = false;
                self.last_signal = if long { Signal::Sell } else { Signal::Buy };
            }
            if let Some(level) = rules.level(Risk::TrailingStop, j) {
                let candidate = if long { below(close, level) } else { above(close, level) };
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
            let long = rules.entry(j);
            if long || rules.entry_short(j) {
                let px = close;
                let stop_loss = rules.level(Risk::StopLoss, j);
                let take_profit = rules.level(Risk::TakeProfit, j);
                let (stop, target) = if long {
                    (
                        stop_loss.and_then(|l| below(px, l)).filter(|s| *s > 0.0 && *s < px),
                        take_profit.and_then(|l| above(px, l)).filter(|t| *t > px),
                    )
                } else {
                    (
                        stop_loss.and_then(|l| above(px, l)).filter(|s| *s > px),
                        take_profit.and_then(|l| below(px, l)).filter(|t| *t > 0.0 && *t < px),
                    )
                };
                self.pending = Some(Entry { long, stop, target });
                self.last_signal = if long { Signal::Buy } else { Signal::Sell };
            }
        }
    }
}

/// `program` with `genome` backtested on `data`: the position and signal after the last bar,
/// as `gaform serve` answers them; `None` when the bars are too few for some compared series
/// to be defined and the strategy to decide on the last bar.
pub fn stance(
    program: &Program,
    genome: &[f64],
    data: &Ohlcv,
    costs: Costs,
) -> Result<Option<(Position, Signal)>, BindError> {
    let signals = signals(program, genome, &mut Series::new(data))?;
    if signals.never_defined || signals.start >= data.len() {
        return Ok(None);
    }
    let calendar = Calendar::new(&data.time);
    let (_, position, signal) = simulate(data, &calendar, &signals, costs, Keep::default());
    Ok(Some((position, signal)))
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
    let mut broker = Broker::new(costs.cash);
    let mut closed = ClosedTrades::default();
    let mut trades = Vec::new();
    let mut curve = Curve::new(costs.cash, calendar, keep.equity.then(|| Vec::with_capacity(bars)));
    let start = signals.start.min(bars);
    curve.flat(0, start, broker.cash);
    let mut next = start;
    while next < bars {
        let mut j = next;
        next += 1;
        if broker.idle() {
            // Flat with nothing to fill: every bar until an entry fires closes at the cash,
            // recorded in one step (the figures are the same as bar by bar).
            let long = next_fire(&signals.entry, j);
            let short = next_fire(&signals.entry_short, j);
            let fired = long.into_iter().chain(short).min().unwrap_or(bars).min(bars);
            if fired > j {
                curve.flat(j, fired, broker.cash);
                if fired == bars {
                    broker.last_signal = Signal::Hold;
                    break;
                }
                j = fired;
                next = fired + 1;
            }
        }
        let bar = Bar { open: open[j], high: high[j], low: low[j], index: j };
        let kept = keep.trades.then_some(&mut trades);
        let Some(equity) = broker.orders(&bar, close[j], signals.size, c, &mut closed, kept) else {
            curve.flat(j, bars, 0.0);
            break;
        };
        let mut running = curve.scalars();
        running.later_bar(calendar.starts_period(j), equity);
        curve.restore(running);
        if let Some(kept) = curve.kept() {
            kept.push(equity);
        }
        broker.decide(j, close[j], signals);
    }
    let (stance, last_signal) = broker.stance();
    let open_since = broker.position.as_ref().map(|t| t.entry_bar);
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

/// `price` less a level (a fraction of it, or a distance); `None` if undefined.
fn below(price: f64, level: LevelAt) -> Option<f64> {
    let p = match level {
        LevelAt::Fraction(f) => price * (1.0 - f),
        LevelAt::Distance(d) => price - d,
    };
    (!p.is_nan()).then_some(p)
}

/// `price` plus a level.
fn above(price: f64, level: LevelAt) -> Option<f64> {
    let p = match level {
        LevelAt::Fraction(f) => price * (1.0 + f),
        LevelAt::Distance(d) => price + d,
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
