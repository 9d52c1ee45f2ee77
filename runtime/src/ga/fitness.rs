//! The fitness expression: arithmetic over a backtest's metrics, built by the caller (the
//! compiler's typed expression, mapped by the CLI) and evaluated here once per genome.

use crate::backtest::Metrics;
use serde::{Deserialize, Serialize};

/// A metric a fitness expression reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    FinalEquity,
    TotalReturn,
    Trades,
    MaxDrawdown,
    Sharpe,
    Sortino,
    Calmar,
    WinRate,
    ProfitFactor,
    AnnualReturn,
    AnnualVolatility,
}

impl Metric {
    fn of(self, m: &Metrics) -> f64 {
        match self {
            Metric::FinalEquity => m.final_equity,
            Metric::TotalReturn => m.total_return,
            Metric::Trades => m.trades as f64,
            Metric::MaxDrawdown => m.max_drawdown,
            Metric::Sharpe => m.sharpe,
            Metric::Sortino => m.sortino,
            Metric::Calmar => m.calmar,
            Metric::WinRate => m.win_rate,
            Metric::ProfitFactor => m.profit_factor,
            Metric::AnnualReturn => m.annual_return,
            Metric::AnnualVolatility => m.annual_volatility,
        }
    }
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A fitness expression; higher is better.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fitness {
    Metric(Metric),
    Const(f64),
    Neg(Box<Fitness>),
    Binary(Op, Box<Fitness>, Box<Fitness>),
    Abs(Box<Fitness>),
    /// The least of two or more (NaN if any is).
    Min(Vec<Fitness>),
    /// The greatest of two or more (NaN if any is).
    Max(Vec<Fitness>),
}

/// How a constraint bounds its left side by its right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A job's requirement on a genome's backtest (`trades >= 20`): one that breaks any scores
/// negative infinity, below every genome that meets them all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub left: Fitness,
    pub op: Bound,
    pub right: Fitness,
    /// As the file writes it, for results.
    pub text: String,
}

/// The most constraints a job has (a genome's broken ones are bits of a `u32`).
pub const MAX_CONSTRAINTS: usize = 32;

impl Constraint {
    /// Whether `metrics` meet it; an undefined side (a Sharpe with no trades) does not.
    pub fn holds(&self, metrics: &Metrics) -> bool {
        let (l, r) = (self.left.value(metrics), self.right.value(metrics));
        match self.op {
            Bound::Lt => l < r,
            Bound::Le => l <= r,
            Bound::Gt => l > r,
            Bound::Ge => l >= r,
        }
    }
}

/// A backtest judged: its score (`Fitness::score`, or negative infinity when it breaks a
/// constraint) and which of `constraints` it breaks (bit `k` for constraint `k`).
pub fn judge(fitness: &Fitness, constraints: &[Constraint], metrics: &Metrics) -> (f64, u32) {
    let mut broken = 0u32;
    for (k, c) in constraints.iter().enumerate().take(MAX_CONSTRAINTS) {
        if !c.holds(metrics) {
            broken |= 1 << k;
        }
    }
    let score = if broken == 0 { fitness.score(metrics) } else { f64::NEG_INFINITY };
    (score, broken)
}

impl Fitness {
    /// The expression's value for `metrics`, with IEEE arithmetic (a metric that is
    /// undefined, NaN, makes the whole value NaN).
    pub fn value(&self, metrics: &Metrics) -> f64 {
        match self {
            Fitness::Metric(m) => m.of(metrics),
            Fitness::Const(c) => *c,
            Fitness::Neg(e) => -e.value(metrics),
            Fitness::Binary(op, a, b) => {
                let (a, b) = (a.value(metrics), b.value(metrics));
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div => a / b,
                }
            }
            Fitness::Abs(e) => e.value(metrics).abs(),
            // f64::min would drop a NaN; an undefined metric keeps the whole value undefined.
            Fitness::Min(args) => extreme(args, metrics, f64::min),
            Fitness::Max(args) => extreme(args, metrics, f64::max),
        }
    }

    /// What selection ranks by: the value, with NaN (an undefined metric, say the Sharpe
    /// ratio of a strategy that never trades) counted as the worst possible score.
    pub fn score(&self, metrics: &Metrics) -> f64 {
        let v = self.value(metrics);
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    }
}

fn extreme(args: &[Fitness], metrics: &Metrics, pick: fn(f64, f64) -> f64) -> f64 {
    let values: Vec<f64> = args.iter().map(|a| a.value(metrics)).collect();
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    values.into_iter().reduce(pick).unwrap_or(f64::NAN)
}

/// How a genome's fitness on each data file makes its fitness on all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    #[default]
    Mean,
    Median,
    /// The worst file's: what finds strategies that work everywhere.
    Min,
}

impl Aggregate {
    /// The aggregate of `scores` (one per file, each already a `Fitness::score`); a single
    /// file's score is returned as it is, and an undefined mean (+∞ beside −∞) is −∞.
    pub fn of(self, scores: &[f64]) -> f64 {
        let value = match (self, scores) {
            (_, []) => f64::NEG_INFINITY,
            (_, [one]) => *one,
            (Aggregate::Mean, all) => all.iter().sum::<f64>() / all.len() as f64,
            (Aggregate::Min, all) => all.iter().copied().fold(f64::INFINITY, f64::min),
            (Aggregate::Median, all) => {
                let mut sorted = all.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                let upper = sorted.get(mid).copied().unwrap_or(f64::NEG_INFINITY);
                if sorted.len() % 2 == 1 {
                    upper
                } else {
                    let lower = sorted.get(mid - 1).copied().unwrap_or(f64::NEG_INFINITY);
                    lower / 2.0 + upper / 2.0
                }
            }
        };
        if value.is_nan() {
            f64::NEG_INFINITY
        } else {
            value
        }
    }

    /// Its name in the language and in results.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Median => "median",
            Aggregate::Min => "min",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(trades: u64, sharpe: f64, max_drawdown: f64) -> Metrics {
        Metrics {
            final_equity: 12_000.0,
            total_return: 0.2,
            trades,
            max_drawdown,
            sharpe,
            sortino: 1.5,
            calmar: 0.8,
            win_rate: 0.5,
            profit_factor: 1.2,
            annual_return: 0.1,
            annual_volatility: 0.2,
        }
    }

    fn at_least(metric: Metric, op: Bound, bound: f64) -> Constraint {
        Constraint { left: Fitness::Metric(metric), op, right: Fitness::Const(bound), text: String::new() }
    }

    #[test]
    fn a_broken_constraint_scores_below_everything_and_says_which() {
        let sharpe = Fitness::Metric(Metric::Sharpe);
        let constraints =
            [at_least(Metric::Trades, Bound::Ge, 20.0), at_least(Metric::MaxDrawdown, Bound::Lt, 0.25)];
        assert_eq!(judge(&sharpe, &constraints, &metrics(25, 1.1, 0.2)), (1.1, 0));
        assert_eq!(judge(&sharpe, &constraints, &metrics(5, 3.0, 0.2)), (f64::NEG_INFINITY, 0b01));
        assert_eq!(judge(&sharpe, &constraints, &metrics(5, 3.0, 0.3)), (f64::NEG_INFINITY, 0b11));
        // An undefined side breaks it.
        let positive = [at_least(Metric::Sharpe, Bound::Gt, 0.0)];
        assert_eq!(judge(&sharpe, &positive, &metrics(0, f64::NAN, 0.0)).1, 1);
    }

    #[test]
    fn abs_min_and_max_keep_an_undefined_metric_undefined() {
        let m = metrics(10, -0.5, 0.3);
        let of = |f: Fitness| f.value(&m);
        let sharpe = || Fitness::Metric(Metric::Sharpe);
        assert_eq!(of(Fitness::Abs(Box::new(sharpe()))), 0.5);
        assert_eq!(of(Fitness::Min(vec![sharpe(), Fitness::Const(1.0)])), -0.5);
        assert_eq!(of(Fitness::Max(vec![sharpe(), Fitness::Metric(Metric::MaxDrawdown)])), 0.3);
        let undefined = metrics(0, f64::NAN, 0.0);
        assert!(Fitness::Max(vec![sharpe(), Fitness::Const(1.0)]).value(&undefined).is_nan());
    }
}
