//! A program's rules for one genome on one data set, evaluated a whole series at a time (no
//! tree walked per bar): the entry and exit conditions of each side, the stop, target and
//! trailing distances, the order size, and the first bar the strategy decides on.

use super::bits::Bits;
use super::series::{BindError, Binder, Cond, Key, Operand, Series};
use super::{Compare, Distance, Expr, Program, Side};

/// A stop, target or trailing distance, bound.
#[derive(Clone, Debug, PartialEq)]
pub enum Level {
    /// A fraction of the deciding bar's close.
    Fraction(f64),
    /// A price distance, per bar.
    Price(Operand),
}

/// What the backtester needs from one genome of a strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// The first bar decided on: one after the last of the compared series is first
    /// defined, as backtesting.py starts `next()`.
    pub start: usize,
    /// Per bar: the long entry and exit, the short entry and exit (`None`: never).
    pub entry: Option<Bits>,
    pub exit: Option<Bits>,
    pub entry_short: Option<Bits>,
    pub exit_short: Option<Bits>,
    pub stop_loss: Option<Level>,
    pub take_profit: Option<Level>,
    pub trailing_stop: Option<Level>,
    /// The order size: a fraction of equity in (0, 1), backtesting.py's `1 - eps` for all.
    pub size: f64,
    /// Some compared series (or stop distance) has no value on any bar: the data is shorter
    /// than its warm-up (backtesting.py then counts no warm-up for it, and it never fires).
    pub never_defined: bool,
}

/// A program's rules and risk bound to one genome: conditions and series keys, before any
/// series is computed. Small (no bar-sized vectors), so a generation's genomes are all bound
/// first, their missing series computed once (`Series::prepare`, one thread), and their
/// signals evaluated and backtested in parallel against the shared series (`evaluate`).
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub entry: Option<Cond>,
    pub exit: Option<Cond>,
    pub entry_short: Option<Cond>,
    pub exit_short: Option<Cond>,
    pub stop_loss: Option<BoundDistance>,
    pub take_profit: Option<BoundDistance>,
    pub trailing_stop: Option<BoundDistance>,
    pub size: Key,
}

/// A stop, target or trailing distance, bound.
#[derive(Clone, Debug, PartialEq)]
pub enum BoundDistance {
    Fraction(Key),
    Price(Key),
}

impl Bound {
    /// Every series key the rules and distances read.
    pub fn keys(&self) -> Vec<&Key> {
        let mut keys = Vec::new();
        for cond in [&self.entry, &self.exit, &self.entry_short, &self.exit_short].into_iter().flatten() {
            cond.keys(&mut keys);
        }
        for d in [&self.stop_loss, &self.take_profit, &self.trailing_stop].into_iter().flatten() {
            keys.push(match d {
                BoundDistance::Fraction(k) | BoundDistance::Price(k) => k,
            });
        }
        keys.push(&self.size);
        keys
    }
}

/// Binds `program`'s rules, for the sides it trades, and its risk to `genome`.
pub fn bind(program: &Program, genome: &[f64]) -> Result<Bound, BindError> {
    let binder = Binder { program, genome };
    let long = program.side != Side::Short;
    let short = program.side != Side::Long;
    let rule = |expr: &Option<Expr>, wanted: bool| -> Result<Option<Cond>, BindError> {
        expr.as_ref().filter(|_| wanted).map(|e| binder.condition(e)).transpose()
    };
    let distance = |d: &Option<Distance>| -> Result<Option<BoundDistance>, BindError> {
        Ok(match d {
            None => None,
            Some(Distance::Fraction(e)) => Some(BoundDistance::Fraction(binder.number(e)?)),
            Some(Distance::Price(e)) => Some(BoundDistance::Price(binder.number(e)?)),
        })
    };
    Ok(Bound {
        entry: rule(&program.entry, long)?,
        exit: rule(&program.exit, long)?,
        entry_short: rule(&program.entry_short, short)?,
        exit_short: rule(&program.exit_short, short)?,
        stop_loss: distance(&program.stop_loss)?,
        take_profit: distance(&program.take_profit)?,
        trailing_stop: distance(&program.trailing_stop)?,
        size: binder.number(&program.size)?,
    })
}

/// Evaluates `program`'s rules for `genome` on the data of `series` (which keeps every
/// indicator it computes, for the next genome).
pub fn signals(program: &Program, genome: &[f64], series: &mut Series<'_>) -> Result<Signals, BindError> {
    let bound = bind(program, genome)?;
    series.prepare(bound.keys());
    evaluate(program, &bound, series)
}

/// The signals of `bound` (one of `program`'s genomes) on `series`, which holds every series
/// it reads (`Series::prepare`): read-only, so genomes evaluate on many threads at once.
pub fn evaluate(program: &Program, bound: &Bound, series: &Series<'_>) -> Result<Signals, BindError> {
    let mut warm_up = Warm::default();
    let rule = |cond: &Option<Cond>, warm_up: &mut Warm| cond.as_ref().map(|c| condition(c, series, warm_up));
    let entry = rule(&bound.entry, &mut warm_up);
    let exit = rule(&bound.exit, &mut warm_up);
    let entry_short = rule(&bound.entry_short, &mut warm_up);
    let exit_short = rule(&bound.exit_short, &mut warm_up);
    let level = |distance: &Option<BoundDistance>, warm_up: &mut Warm| -> Result<Option<Level>, BindError> {
        Ok(match distance {
            None => None,
            Some(BoundDistance::Fraction(key)) => match series.value(key) {
                Operand::Scalar(v) => Some(Level::Fraction(v)),
                Operand::Series(_) => {
                    return Err(BindError {
                        strategy: program.name.clone(),
                        what: "a percent distance varies per bar".into(),
                    })
                }
            },
            Some(BoundDistance::Price(key)) => {
                let value = series.value(key);
                warm_up.see(&value);
                Some(Level::Price(value))
            }
        })
    };
    let stop_loss = level(&bound.stop_loss, &mut warm_up)?;
    let take_profit = level(&bound.take_profit, &mut warm_up)?;
    let trailing_stop = level(&bound.trailing_stop, &mut warm_up)?;
    let size = match series.value(&bound.size) {
        Operand::Scalar(v) if v > 0.0 && v < 1.0 => v,
        // All equity is backtesting.py's default size, a hair under 1.
        _ => 1.0 - f64::EPSILON,
    };
    Ok(Signals {
        start: warm_up.latest + 1,
        entry,
        exit,
        entry_short,
        exit_short,
        stop_loss,
        take_profit,
        trailing_stop,
        size,
        never_defined: warm_up.never_defined,
    })
}

/// Where the compared series are first defined.
#[derive(Default)]
struct Warm {
    latest: usize,
    never_defined: bool,
}

impl Warm {
    fn see(&mut self, value: &Operand) {
        self.latest = self.latest.max(value.first_defined());
        if let Operand::Series(s) = value {
            self.never_defined |= !s.is_empty() && s.iter().all(|v| v.is_nan());
        }
    }
}

/// A condition over every bar; `warm_up` learns where each compared series is defined.
fn condition(cond: &Cond, series: &Series<'_>, warm_up: &mut Warm) -> Bits {
    let bars = series.len();
    let operand = |key: &Key, warm_up: &mut Warm| {
        let value = series.value(key);
        warm_up.see(&value);
        value
    };
    match cond {
        Cond::Bool(b) => Bits::filled(bars, *b),
        Cond::Compare(op, a, b) => {
            let (a, b) = (operand(a, warm_up), operand(b, warm_up));
            compare(&a, &b, bars, *op)
        }
        Cond::CrossesAbove(a, b) => {
            let (a, b) = (operand(a, warm_up), operand(b, warm_up));
            // backtesting.py's `crossover`: a[-2] < b[-2] and a[-1] > b[-1]; never on bar 0.
            let (a, b) = (spread(&a, bars), spread(&b, bars));
            let below = Bits::compare(&a, &b, Compare::Lt);
            let mut crossed = Bits::compare(&a, &b, Compare::Gt);
            crossed.and_after(&below);
            crossed
        }
        Cond::And(a, b) => {
            let (mut a, b) = (condition(a, series, warm_up), condition(b, series, warm_up));
            a.and(&b);
            a
        }
        Cond::Or(a, b) => {
            let (mut a, b) = (condition(a, series, warm_up), condition(b, series, warm_up));
            a.or(&b);
            a
        }
        Cond::Not(a) => {
            let mut a = condition(a, series, warm_up);
            a.not();
            a
        }
    }
}

/// `a OP b` on every bar.
fn compare(a: &Operand, b: &Operand, bars: usize, op: Compare) -> Bits {
    match (a, b) {
        (Operand::Series(x), Operand::Series(y)) => Bits::compare(x, y, op),
        (Operand::Series(x), Operand::Scalar(y)) => Bits::compare_to(x, *y, op),
        // `x OP y` is `y OP' x` with the operator turned around.
        (Operand::Scalar(x), Operand::Series(y)) => Bits::compare_to(y, *x, op.flipped()),
        (Operand::Scalar(x), Operand::Scalar(y)) => Bits::filled(bars, op.test(*x, *y)),
    }
}

/// A series' values, a scalar spread over every bar.
fn spread(value: &Operand, bars: usize) -> std::borrow::Cow<'_, [f64]> {
    match value {
        Operand::Series(s) if s.len() >= bars => std::borrow::Cow::Borrowed(&s[..bars]),
        other => std::borrow::Cow::Owned((0..bars).map(|i| other.at(i)).collect()),
    }
}
