//! A program's rules for one genome on one data set, evaluated a whole series at a time (no
//! tree walked per bar): the entry and exit conditions of each side, the stop, target and
//! trailing distances, the order size, and the first bar the strategy decides on.

use super::series::{BindError, Binder, Cond, Key, Operand, Series};
use super::{Distance, Expr, Program, Side};

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
    pub entry: Option<Vec<bool>>,
    pub exit: Option<Vec<bool>>,
    pub entry_short: Option<Vec<bool>>,
    pub exit_short: Option<Vec<bool>>,
    pub stop_loss: Option<Level>,
    pub take_profit: Option<Level>,
    pub trailing_stop: Option<Level>,
    /// The order size: a fraction of equity in (0, 1), backtesting.py's `1 - eps` for all.
    pub size: f64,
    /// Some compared series (or stop distance) has no value on any bar: the data is shorter
    /// than its warm-up (backtesting.py then counts no warm-up for it, and it never fires).
    pub never_defined: bool,
}

/// Evaluates `program`'s rules for `genome` on the data of `series` (which keeps every
/// indicator it computes, for the next genome).
pub fn signals(program: &Program, genome: &[f64], series: &mut Series<'_>) -> Result<Signals, BindError> {
    let binder = Binder { program, genome };
    let mut warm_up = Warm::default();
    let long = program.side != Side::Short;
    let short = program.side != Side::Long;
    let mut rule =
        |expr: &Option<Expr>, wanted: bool, warm_up: &mut Warm| -> Result<Option<Vec<bool>>, BindError> {
            match expr.as_ref().filter(|_| wanted) {
                Some(e) => {
                    let cond = binder.condition(e)?;
                    Ok(Some(evaluate(&cond, series, warm_up)))
                }
                None => Ok(None),
            }
        };
    let entry = rule(&program.entry, long, &mut warm_up)?;
    let exit = rule(&program.exit, long, &mut warm_up)?;
    let entry_short = rule(&program.entry_short, short, &mut warm_up)?;
    let exit_short = rule(&program.exit_short, short, &mut warm_up)?;
    let mut level = |distance: &Option<Distance>, warm_up: &mut Warm| -> Result<Option<Level>, BindError> {
        Ok(match distance {
            None => None,
            Some(Distance::Fraction(e)) => match series.get(&binder.number(e)?) {
                Operand::Scalar(v) => Some(Level::Fraction(v)),
                Operand::Series(_) => {
                    return Err(BindError {
                        strategy: program.name.clone(),
                        what: "a percent distance varies per bar".into(),
                    })
                }
            },
            Some(Distance::Price(e)) => {
                let value = series.get(&binder.number(e)?);
                warm_up.see(&value);
                Some(Level::Price(value))
            }
        })
    };
    let stop_loss = level(&program.stop_loss, &mut warm_up)?;
    let take_profit = level(&program.take_profit, &mut warm_up)?;
    let trailing_stop = level(&program.trailing_stop, &mut warm_up)?;
    let size = match series.get(&binder.number(&program.size)?) {
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
fn evaluate(cond: &Cond, series: &mut Series<'_>, warm_up: &mut Warm) -> Vec<bool> {
    let bars = series.len();
    let mut operand = |key: &Key, warm_up: &mut Warm| {
        let value = series.get(key);
        warm_up.see(&value);
        value
    };
    match cond {
        Cond::Bool(b) => vec![*b; bars],
        Cond::Compare(op, a, b) => {
            let (a, b) = (operand(a, warm_up), operand(b, warm_up));
            let test = |x: f64, y: f64| op.test(x, y);
            // One loop per operand shape, over slices: no dispatch per bar.
            match (&a, &b) {
                (Operand::Series(x), Operand::Series(y)) => {
                    x.iter().zip(y.iter()).map(|(x, y)| test(*x, *y)).collect()
                }
                (Operand::Series(x), Operand::Scalar(y)) => x.iter().map(|x| test(*x, *y)).collect(),
                (Operand::Scalar(x), Operand::Series(y)) => y.iter().map(|y| test(*x, *y)).collect(),
                (Operand::Scalar(x), Operand::Scalar(y)) => vec![test(*x, *y); bars],
            }
        }
        Cond::CrossesAbove(a, b) => {
            let (a, b) = (operand(a, warm_up), operand(b, warm_up));
            // backtesting.py's `crossover`: a[-2] < b[-2] and a[-1] > b[-1].
            let (a, b) = (spread(&a, bars), spread(&b, bars));
            let mut out = vec![false; bars];
            for (i, o) in out.iter_mut().enumerate().skip(1) {
                *o = a[i - 1] < b[i - 1] && a[i] > b[i];
            }
            out
        }
        // Into the left side's vector: no third allocation per genome.
        Cond::And(a, b) => {
            let (mut a, b) = (evaluate(a, series, warm_up), evaluate(b, series, warm_up));
            a.iter_mut().zip(&b).for_each(|(x, y)| *x &= *y);
            a
        }
        Cond::Or(a, b) => {
            let (mut a, b) = (evaluate(a, series, warm_up), evaluate(b, series, warm_up));
            a.iter_mut().zip(&b).for_each(|(x, y)| *x |= *y);
            a
        }
        Cond::Not(a) => evaluate(a, series, warm_up).into_iter().map(|x| !x).collect(),
    }
}

/// A series' values, a scalar spread over every bar.
fn spread(value: &Operand, bars: usize) -> std::borrow::Cow<'_, [f64]> {
    match value {
        Operand::Series(s) if s.len() >= bars => std::borrow::Cow::Borrowed(&s[..bars]),
        other => std::borrow::Cow::Owned((0..bars).map(|i| other.at(i)).collect()),
    }
}
