//! W0004 for a strategy written in the file: the first bar it decides on is one after the
//! last of its compared series (and stop distances) is first defined, which depends on its
//! genes' periods. With every gene at its shortest, a strategy that still cannot close a
//! trade in its data never trades; with every gene at its longest, one that cannot leaves
//! part of its search space dead.

use super::super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Choice, Distance, Domain, Node, StrategyDef, BARS_FOR_A_TRADE};
use crate::source::Span;

/// Which end of each gene's values to take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Shortest,
    Longest,
}

impl Checker<'_> {
    /// Warns when `def` (as a job narrowed it, at `span`) cannot close a trade on `bars` bars
    /// of `path`, for any genes or for its longest ones.
    pub(crate) fn written_room_to_trade(
        &mut self,
        def: &StrategyDef,
        span: Span,
        (path, bars): (&str, usize),
    ) {
        let bars = i64::try_from(bars).unwrap_or(i64::MAX);
        let (Some(least), Some(most)) =
            (first_decision(def, End::Shortest), first_decision(def, End::Longest))
        else {
            return;
        };
        if least + BARS_FOR_A_TRADE > bars {
            let d = Diagnostic::new(
                Code::W0004,
                format!(
                    "`{}` first decides at bar {least} even with its shortest periods, but {path} has {bars}: the strategy can never close a trade",
                    def.name
                ),
                span,
                format!("needs at least {} bars", least + BARS_FOR_A_TRADE),
            );
            self.report(d.with_help("shorten the genes' periods, or use a longer data file"));
        } else if most + BARS_FOR_A_TRADE > bars {
            let d = Diagnostic::new(
                Code::W0004,
                format!(
                    "with its longest periods `{}` first decides at bar {most}, past what the {bars} bars of {path} leave for a closed trade: part of the search space can never trade",
                    def.name
                ),
                span,
                format!("its longest periods need {} bars", most + BARS_FOR_A_TRADE),
            );
            self.report(d.with_help(
                "narrow the genes' periods in the job (`name(slow = 20..100)`), or use a longer data file",
            ));
        }
    }
}

/// The bars a written strategy needs for one closed trade with every gene at its
/// shortest: its first decision and `BARS_FOR_A_TRADE` after it.
pub(in crate::check) fn least_bars_for_a_trade(def: &StrategyDef) -> Option<i64> {
    first_decision(def, End::Shortest).map(|d| d + BARS_FOR_A_TRADE)
}

/// The first (0-based) bar `def` decides on with every gene at its shortest, as
/// backtesting.py starts `next()`; `None` when a period is not known.
pub fn earliest_decision(def: &StrategyDef) -> Option<i64> {
    first_decision(def, End::Shortest)
}

/// The first bar decided on with every gene at `end`: one after the last compared series
/// is first defined (backtesting.py's warm-up).
fn first_decision(def: &StrategyDef, end: End) -> Option<i64> {
    let mut latest = 0i64;
    let rules = [&def.entry, &def.exit, &def.entry_short, &def.exit_short];
    for rule in rules.into_iter().flatten() {
        latest = latest.max(compared(rule, def, end)?);
    }
    for distance in [&def.stop_loss, &def.take_profit, &def.trailing_stop].into_iter().flatten() {
        if let Distance::Price(n) = distance {
            latest = latest.max(defined_from(n, def, end)?);
        }
    }
    Some(latest + 1)
}

/// The latest first-defined bar among the series a condition compares.
fn compared(node: &Node, def: &StrategyDef, end: End) -> Option<i64> {
    Some(match node {
        Node::Compare(_, a, b) | Node::CrossesAbove(a, b) => {
            defined_from(a, def, end)?.max(defined_from(b, def, end)?)
        }
        Node::And(a, b) | Node::Or(a, b) => compared(a, def, end)?.max(compared(b, def, end)?),
        Node::Not(a) => compared(a, def, end)?,
        _ => 0,
    })
}

/// A number gene's value at `end`.
fn gene_at(def: &StrategyDef, i: usize, end: End) -> Option<f64> {
    let values: Vec<f64> = match &def.genes.get(i)?.domain {
        Domain::Int { lo, hi, .. } => vec![*lo as f64, *hi as f64],
        Domain::Float { lo, hi, .. } => vec![*lo, *hi],
        Domain::Choice(choices) => choices
            .iter()
            .filter_map(|c| match c {
                Choice::Int(v) => Some(*v as f64),
                Choice::Float(v) | Choice::Percent(v) => Some(*v),
                _ => None,
            })
            .collect(),
    };
    match end {
        End::Shortest => values.into_iter().reduce(f64::min),
        End::Longest => values.into_iter().reduce(f64::max),
    }
}

/// A period argument's bars at `end`.
fn period(node: Option<&Node>, def: &StrategyDef, end: End) -> Option<i64> {
    match node? {
        Node::Const(v) => Some(*v as i64),
        Node::Gene(i) => gene_at(def, *i, end).map(|v| v as i64),
        _ => None,
    }
}

/// The first bar a number or series is defined on, with every gene at `end`.
fn defined_from(node: &Node, def: &StrategyDef, end: End) -> Option<i64> {
    Some(match node {
        Node::Price(_) | Node::Const(_) | Node::Gene(_) | Node::Bool(_) => 0,
        Node::Neg(x) => defined_from(x, def, end)?,
        Node::Arith(_, a, b) => defined_from(a, def, end)?.max(defined_from(b, def, end)?),
        Node::Lag(x, n) => defined_from(x, def, end)? + period(Some(n), def, end)?,
        Node::Indicator { callee, args, output } => {
            let names: Vec<&str> = match callee {
                crate::ir::Callee::Fixed(name) => vec![name],
                crate::ir::Callee::Gene(i) => match &def.genes.get(*i)?.domain {
                    Domain::Choice(choices) => choices
                        .iter()
                        .filter_map(|c| if let Choice::Indicator(n) = c { Some(*n) } else { None })
                        .collect(),
                    _ => return None,
                },
            };
            let each = names.into_iter().map(|name| lookback(name, args, *output, def, end));
            let each: Option<Vec<i64>> = each.collect();
            match end {
                End::Shortest => each?.into_iter().min()?,
                End::Longest => each?.into_iter().max()?,
            }
        }
        _ => 0,
    })
}

/// The first defined bar of indicator `name` on `args` (its `output`).
fn lookback(name: &str, args: &[Node], output: usize, def: &StrategyDef, end: End) -> Option<i64> {
    let input = |k: usize| args.get(k).map_or(Some(0), |a| defined_from(a, def, end));
    let n = |k: usize| period(args.get(k), def, end);
    Some(match name {
        "sma" | "ema" | "wma" | "highest" | "lowest" => input(0)? + n(1)? - 1,
        "rsi" | "roc" => input(0)? + n(1)?,
        "bollinger" => input(0)? + n(1)? - 1,
        "macd" => {
            let line = input(0)? + n(1)?.max(n(2)?) - 1;
            if output == 0 {
                line
            } else {
                line + n(3)? - 1
            }
        }
        "atr" | "cci" | "vwap" => n(0)? - 1,
        "adx" => 2 * n(0)? - 2,
        "stochastic" => {
            let k = n(0)? - 1;
            if output == 0 {
                k
            } else {
                k + n(1)? - 1
            }
        }
        _ => 0,
    })
}
