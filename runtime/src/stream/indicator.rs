//! The library's indicators (STRATEGIES.md) one bar at a time, composed from the running
//! primitives as `indicators::library` composes the batch ones, step for step.

use super::running::{Apply, Ewm, Extreme, Rsi, Shift, Sma, Std, Sum};
use crate::indicators::library::{direction, true_range_at};
use crate::indicators::rolling::numpy_sum;

/// One bar's prices.
#[derive(Clone, Copy, Debug)]
pub struct Prices {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// An indicator with its periods, and what it keeps between bars.
#[derive(Clone, Debug)]
pub struct Indicator {
    kind: Kind,
    /// The previous bar's high, low and close (the true range, ADX and OBV look back one).
    before: Option<(f64, f64, f64)>,
}

#[derive(Clone, Debug)]
enum Kind {
    Sma(Sma),
    Ema(Ewm),
    Wma {
        window: Apply,
        weights: Vec<f64>,
        total: f64,
        products: Vec<f64>,
    },
    Rsi(Rsi),
    Roc(Shift),
    Highest(Extreme),
    Lowest(Extreme),
    Macd {
        fast: Ewm,
        slow: Ewm,
        signal: Ewm,
    },
    Bollinger {
        middle: Sma,
        std: Std,
        k: f64,
    },
    Stochastic {
        top: Extreme,
        bottom: Extreme,
        d: Sma,
    },
    Atr(Ewm),
    Adx {
        atr: Ewm,
        plus: Ewm,
        minus: Ewm,
        dx: Ewm,
    },
    Cci {
        mean: Sma,
        window: Apply,
        deviations: Vec<f64>,
    },
    Vwap {
        top: Sum,
        bottom: Sum,
    },
    Obv {
        total: f64,
    },
    /// An unknown name or a period that is not one: undefined on every bar, as in a backtest.
    Undefined,
}

impl Indicator {
    /// Indicator `name` with `numbers`, its arguments' values where they are numbers (NaN
    /// where one is a series or missing), laid out as `rules::series` reads them: the input
    /// series first for those that take one.
    pub fn new(name: &str, numbers: &[f64]) -> Indicator {
        // A period: a whole number of bars, at least 1 (the checker's rule); else undefined.
        let n = |i: usize| {
            let x = numbers.get(i).copied().unwrap_or(f64::NAN);
            (x.is_finite() && x >= 1.0).then_some(x as usize)
        };
        let kind = match name {
            "sma" | "ema" | "wma" | "rsi" | "roc" | "highest" | "lowest" => match n(1) {
                None => Kind::Undefined,
                Some(n) => match name {
                    "sma" => Kind::Sma(Sma::new(n)),
                    "ema" => Ewm::ema(n).map_or(Kind::Undefined, Kind::Ema),
                    "wma" => Kind::Wma {
                        window: Apply::new(n),
                        weights: (1..=n).map(|w| w as f64).collect(),
                        total: (n * (n + 1)) as f64 / 2.0,
                        products: vec![0.0; n],
                    },
                    "rsi" => Kind::Rsi(Rsi::new(n)),
                    "roc" => Kind::Roc(Shift::new(n)),
                    "highest" => Kind::Highest(Extreme::new(n, true)),
                    _ => Kind::Lowest(Extreme::new(n, false)),
                },
            },
            "macd" => match (n(1).and_then(Ewm::ema), n(2).and_then(Ewm::ema), n(3).and_then(Ewm::ema)) {
                (Some(fast), Some(slow), Some(signal)) => Kind::Macd { fast, slow, signal },
                _ => Kind::Undefined,
            },
            "bollinger" => match n(1) {
                Some(n) => Kind::Bollinger {
                    middle: Sma::new(n),
                    std: Std::new(n),
                    k: numbers.get(2).copied().unwrap_or(f64::NAN),
                },
                None => Kind::Undefined,
            },
            "stochastic" => match (n(0), n(1)) {
                (Some(n), Some(d)) => Kind::Stochastic {
                    top: Extreme::new(n, true),
                    bottom: Extreme::new(n, false),
                    d: Sma::new(d),
                },
                _ => Kind::Undefined,
            },
            "atr" => n(0).and_then(Ewm::wilder).map_or(Kind::Undefined, Kind::Atr),
            "adx" => match n(0).and_then(Ewm::wilder) {
                Some(w) => Kind::Adx { atr: w.clone(), plus: w.clone(), minus: w.clone(), dx: w },
                None => Kind::Undefined,
            },
            "cci" => match n(0) {
                Some(n) => Kind::Cci { mean: Sma::new(n), window: Apply::new(n), deviations: vec![0.0; n] },
                None => Kind::Undefined,
            },
            "vwap" => match n(0) {
                Some(n) => Kind::Vwap { top: Sum::new(n), bottom: Sum::new(n) },
                None => Kind::Undefined,
            },
            "obv" => Kind::Obv { total: 0.0 },
            _ => Kind::Undefined,
        };
        Indicator { kind, before: None }
    }

    /// The outputs at the next bar, whose prices are `bar` and whose input series value is
    /// `x` (NaN for the indicators of prices alone); unused outputs are NaN.
    pub fn next(&mut self, x: f64, bar: &Prices) -> [f64; 3] {
        let before = self.before.replace((bar.high, bar.low, bar.close));
        let one = |v: f64| [v, f64::NAN, f64::NAN];
        match &mut self.kind {
            Kind::Sma(s) => one(s.next(x)),
            Kind::Ema(e) => one(e.next(x)),
            Kind::Wma { window, weights, total, products } => one(match window.next(x) {
                Some(w) => {
                    for ((p, v), weight) in products.iter_mut().zip(w).zip(weights.iter()) {
                        *p = v * weight;
                    }
                    numpy_sum(products) / *total
                }
                None => f64::NAN,
            }),
            Kind::Rsi(r) => one(r.next(x)),
            Kind::Roc(shift) => {
                let then = shift.next(x);
                one(100.0 * (x / then - 1.0))
            }
            Kind::Highest(e) | Kind::Lowest(e) => one(e.next(x)),
            Kind::Macd { fast, slow, signal } => {
                let line = fast.next(x) - slow.next(x);
                let signal = signal.next(line);
                [line, signal, line - signal]
            }
            Kind::Bollinger { middle, std, k } => {
                let (m, s) = (middle.next(x), std.next(x));
                [m, m + *k * s, m - *k * s]
            }
            Kind::Stochastic { top, bottom, d } => {
                let (top, bottom) = (top.next(bar.high), bottom.next(bar.low));
                let k = 100.0 * (bar.close - bottom) / (top - bottom);
                [k, d.next(k), f64::NAN]
            }
            Kind::Atr(smooth) => one(smooth.next(true_range(bar, before))),
            Kind::Adx { atr, plus, minus, dx } => {
                let diff = |now: f64, then: Option<f64>| then.map_or(f64::NAN, |t| now - t);
                let up = diff(bar.high, before.map(|b| b.0));
                let dn = -diff(bar.low, before.map(|b| b.1));
                // `where(cond, 0)`: 0 where the condition fails (NaN comparisons fail).
                let pdm = if up > dn && up > 0.0 { up } else { 0.0 };
                let mdm = if dn > up && dn > 0.0 { dn } else { 0.0 };
                let a = atr.next(true_range(bar, before));
                let pdi = 100.0 * plus.next(pdm) / a;
                let mdi = 100.0 * minus.next(mdm) / a;
                one(dx.next(100.0 * (pdi - mdi).abs() / (pdi + mdi)))
            }
            Kind::Cci { mean, window, deviations } => {
                let tp = typical(bar);
                let m = mean.next(tp);
                let mad = match window.next(tp) {
                    Some(w) => {
                        let centre = numpy_sum(w) / w.len() as f64;
                        for (d, v) in deviations.iter_mut().zip(w) {
                            *d = (v - centre).abs();
                        }
                        numpy_sum(deviations) / w.len() as f64
                    }
                    None => f64::NAN,
                };
                one((tp - m) / (0.015 * mad))
            }
            Kind::Vwap { top, bottom } => {
                let (a, b) = (top.next(typical(bar) * bar.volume), bottom.next(bar.volume));
                one(a / b)
            }
            Kind::Obv { total } => {
                let change = before.map_or(f64::NAN, |b| bar.close - b.2);
                *total += direction(change) * bar.volume;
                one(*total)
            }
            Kind::Undefined => [f64::NAN; 3],
        }
    }
}

/// The typical price `(h + l + c) / 3`.
fn typical(bar: &Prices) -> f64 {
    (bar.high + bar.low + bar.close) / 3.0
}

/// The true range (`library::true_range`).
fn true_range(bar: &Prices, before: Option<(f64, f64, f64)>) -> f64 {
    true_range_at(bar.high, bar.low, before.map(|b| b.2))
}
