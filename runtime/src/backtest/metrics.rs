//! The metrics of BACKTEST.md, computed as backtesting.py's `compute_stats` does, from an
//! equity curve seen one bar at a time and the closed trades.

use super::Calendar;
use serde::Serialize;

/// Every metric a fitness expression or a report may use. Fractions, not percent; `NaN`
/// where undefined (no trades, no volatility, no losing period).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub final_equity: f64,
    pub total_return: f64,
    pub trades: u64,
    /// A positive fraction.
    pub max_drawdown: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub calmar: f64,
    pub win_rate: f64,
    pub profit_factor: f64,
    pub annual_return: f64,
    pub annual_volatility: f64,
}

/// Running sums over closed trades.
#[derive(Default)]
pub(super) struct ClosedTrades {
    count: u64,
    winners: u64,
    gains: f64,
    losses: f64,
}

impl ClosedTrades {
    pub(super) fn add(&mut self, pnl: f64, return_pct: f64) {
        self.count += 1;
        self.winners += u64::from(pnl > 0.0);
        if return_pct > 0.0 {
            self.gains += return_pct;
        } else if return_pct < 0.0 {
            self.losses += return_pct;
        }
    }
}

/// The equity curve, bar by bar: drawdown as it goes, and each calendar period's last
/// equity for the periodic returns.
pub(super) struct Curve<'c> {
    first: f64,
    last: f64,
    peak: f64,
    max_drawdown: f64,
    period: &'c [u32],
    period_closes: Vec<f64>,
    keep: Option<Vec<f64>>,
}

impl<'c> Curve<'c> {
    pub(super) fn new(cash: f64, calendar: &'c Calendar, keep: Option<Vec<f64>>) -> Curve<'c> {
        Curve {
            first: cash,
            last: cash,
            peak: f64::NEG_INFINITY,
            max_drawdown: 0.0,
            period: &calendar.period,
            period_closes: Vec::new(),
            keep,
        }
    }

    #[inline]
    pub(super) fn bar(&mut self, i: usize, equity: f64) {
        if i == 0 {
            self.first = equity;
        } else if self.period.get(i) != self.period.get(i - 1) {
            self.period_closes.push(self.last);
        }
        self.last = equity;
        self.peak = self.peak.max(equity);
        let drawdown = 1.0 - equity / self.peak;
        if drawdown > self.max_drawdown {
            self.max_drawdown = drawdown;
        }
        if let Some(k) = self.keep.as_mut() {
            k.push(equity);
        }
    }

    pub(super) fn finish(mut self, trades: &ClosedTrades, periods_per_year: f64) -> (Metrics, Vec<f64>) {
        self.period_closes.push(self.last);
        let returns: Vec<f64> =
            self.period_closes.windows(2).filter_map(|w| Some(w.get(1)? / w.first()? - 1.0)).collect();
        let g = geometric_mean(&returns);
        let a = periods_per_year;
        let annual_return = (1.0 + g).powf(a) - 1.0;
        let variance = variance(&returns);
        let annual_volatility = ((variance + (1.0 + g).powi(2)).powf(a) - (1.0 + g).powf(2.0 * a)).sqrt();
        let (return_pct, volatility_pct) = (annual_return * 100.0, annual_volatility * 100.0);
        let sharpe = if volatility_pct == 0.0 { f64::NAN } else { return_pct / volatility_pct };
        let downside = mean(returns.iter().map(|r| r.min(0.0).powi(2)));
        let sortino = annual_return / (downside.sqrt() * a.sqrt());
        let calmar = if self.max_drawdown == 0.0 { f64::NAN } else { annual_return / self.max_drawdown };
        let metrics = Metrics {
            final_equity: self.last,
            total_return: (self.last - self.first) / self.first,
            trades: trades.count,
            max_drawdown: self.max_drawdown,
            sharpe: defined(sharpe),
            sortino: defined(sortino),
            calmar: defined(calmar),
            win_rate: if trades.count == 0 { f64::NAN } else { trades.winners as f64 / trades.count as f64 },
            profit_factor: if trades.losses == 0.0 { f64::NAN } else { trades.gains / trades.losses.abs() },
            annual_return: defined(annual_return),
            annual_volatility: defined(annual_volatility),
        };
        (metrics, self.keep.unwrap_or_default())
    }
}

/// Infinities (a ratio over zero) are as undefined as `NaN` for ranking and reporting.
fn defined(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

/// backtesting.py's `geometric_mean`: 0 if any period lost everything, `NaN` if empty.
fn geometric_mean(returns: &[f64]) -> f64 {
    if returns.is_empty() {
        return f64::NAN;
    }
    if returns.iter().any(|r| r + 1.0 <= 0.0) {
        return 0.0;
    }
    let logs: f64 = returns.iter().map(|r| (r + 1.0).ln()).sum();
    (logs / returns.len() as f64).exp() - 1.0
}

/// Sample variance (ddof = 1), two-pass as pandas computes it; `NaN` under two values.
fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}
