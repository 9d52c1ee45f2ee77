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
