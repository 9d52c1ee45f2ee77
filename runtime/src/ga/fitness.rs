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
