//! The indicators of STRATEGIES.md beyond the moving averages, each composed as its pandas
//! definition is written there (the same operations in the same order, so the values agree
//! to about 1e-12; `tests/it/indicators.rs` holds every one to pandas within 1e-9).

use super::ewm::{com_of_span, ema, ewm_mean, wilder};
use super::rolling::{self, numpy_sum};
use super::sma;

/// The three series of `macd(x, f, s, k)`.
pub struct Macd {
    pub line: Vec<f64>,
    pub signal: Vec<f64>,
    pub hist: Vec<f64>,
}

/// `.line = ema(x, f) - ema(x, s)`, `.signal` its `k`-span EWM (min_periods `k`),
/// `.hist = .line - .signal`.
pub fn macd(x: &[f64], f: usize, s: usize, k: usize) -> Macd {
    let line: Vec<f64> = ema(x, f).iter().zip(ema(x, s)).map(|(a, b)| a - b).collect();
    let signal = if k == 0 { vec![f64::NAN; x.len()] } else { ewm_mean(&line, com_of_span(k), k) };
    let hist = line.iter().zip(&signal).map(|(a, b)| a - b).collect();
    Macd { line, signal, hist }
}

/// The three series of `bollinger(x, n, k)`.
pub struct Bollinger {
    pub middle: Vec<f64>,
    pub upper: Vec<f64>,
    pub lower: Vec<f64>,
}

/// `.middle = sma(x, n)`, `.upper/.lower = .middle ± k * x.rolling(n).std(ddof=0)`.
pub fn bollinger(x: &[f64], n: usize, k: f64) -> Bollinger {
    let middle = sma(x, n);
    let std = rolling::std(x, n);
    let upper = middle.iter().zip(&std).map(|(m, s)| m + k * s).collect();
    let lower = middle.iter().zip(&std).map(|(m, s)| m - k * s).collect();
    Bollinger { middle, upper, lower }
}

/// `wma(x, n)`: weights 1..n, newest heaviest, over `n * (n + 1) / 2`.
pub fn wma(x: &[f64], n: usize) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|w| w as f64).collect();
    let total = (n * (n + 1)) as f64 / 2.0;
    let mut products = vec![0.0; n];
    rolling::apply(x, n, |w| {
        for ((p, v), weight) in products.iter_mut().zip(w).zip(&weights) {
            *p = v * weight;
        }
        numpy_sum(&products) / total
    })
}

/// The true range: `max(h - l, |h - c.shift()|, |l - c.shift()|)`, the undefined terms
/// skipped (so the first bar's is `h - l`).
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    (0..high.len())
        .map(|i| {
            let before = i.checked_sub(1).and_then(|p| close.get(p)).copied();
            true_range_at(high[i], low.get(i).copied().unwrap_or(f64::NAN), before)
        })
        .collect()
}

/// One bar's true range, after a bar that closed at `before` (none for the first bar).
pub(crate) fn true_range_at(h: f64, l: f64, before: Option<f64>) -> f64 {
    let range = h - l;
    let Some(before) = before else { return range };
    // pandas' `max(axis=1)` skips NaN: fold over the defined terms only.
    [range, (h - before).abs(), (l - before).abs()].into_iter().filter(|v| !v.is_nan()).fold(
        f64::NAN,
        |m, v| {
            if m.is_nan() || v > m {
                v
            } else {
                m
            }
        },
    )
}

/// `atr(n)`: Wilder's smoothing of the true range.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    wilder(&true_range(high, low, close), n)
}

/// `adx(n)`: Wilder's ADX, as STRATEGIES.md composes it.
pub fn adx(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    let len = high.len();
    let diff = |v: &[f64], i: usize| if i == 0 { f64::NAN } else { v[i] - v[i - 1] };
    let (mut pdm, mut mdm) = (vec![0.0; len], vec![0.0; len]);
    for i in 0..len {
        let up = diff(high, i);
        let dn = -diff(low, i);
        // `where(cond, 0)`: 0 where the condition fails (NaN comparisons fail).
        pdm[i] = if up > dn && up > 0.0 { up } else { 0.0 };
        mdm[i] = if dn > up && dn > 0.0 { dn } else { 0.0 };
    }
    let atr = atr(high, low, close, n);
    let pdi: Vec<f64> = wilder(&pdm, n).iter().zip(&atr).map(|(w, a)| 100.0 * w / a).collect();
    let mdi: Vec<f64> = wilder(&mdm, n).iter().zip(&atr).map(|(w, a)| 100.0 * w / a).collect();
    let dx: Vec<f64> = pdi.iter().zip(&mdi).map(|(p, m)| 100.0 * (p - m).abs() / (p + m)).collect();
    wilder(&dx, n)
}

/// The two series of `stochastic(n, d)`.
pub struct Stochastic {
    pub k: Vec<f64>,
    pub d: Vec<f64>,
}

/// `.k = 100 * (c - lowest(l, n)) / (highest(h, n) - lowest(l, n))`, `.d = sma(.k, d)`.
pub fn stochastic(high: &[f64], low: &[f64], close: &[f64], n: usize, d: usize) -> Stochastic {
    let (top, bottom) = (rolling::max(high, n), rolling::min(low, n));
    let k: Vec<f64> =
        (0..close.len()).map(|i| 100.0 * (close[i] - bottom[i]) / (top[i] - bottom[i])).collect();
    let d = sma(&k, d);
    Stochastic { k, d }
}

/// The typical price `(h + l + c) / 3`.
fn typical(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    (0..close.len()).map(|i| (high[i] + low[i] + close[i]) / 3.0).collect()
}

/// `cci(n)`: the typical price's distance from its mean over 0.015 of its mean deviation.
pub fn cci(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    let tp = typical(high, low, close);
    let mean = sma(&tp, n);
    let mut deviations = vec![0.0; n];
    let mad = rolling::apply(&tp, n, |w| {
        let m = numpy_sum(w) / w.len() as f64;
        for (d, v) in deviations.iter_mut().zip(w) {
            *d = (v - m).abs();
        }
        numpy_sum(&deviations) / w.len() as f64
    });
    (0..tp.len()).map(|i| (tp[i] - mean[i]) / (0.015 * mad[i])).collect()
}

/// `obv()`: the running sum of volume signed by the close's move (0 on the first bar).
pub fn obv(close: &[f64], volume: &[f64]) -> Vec<f64> {
    let mut total = 0.0;
    (0..close.len())
        .map(|i| {
            let change = if i == 0 { f64::NAN } else { close[i] - close[i - 1] };
            total += direction(change) * volume[i];
            total
        })
        .collect()
}

/// The sign OBV gives a close's move: 1 up, -1 down, 0 flat or undefined.
pub(crate) fn direction(change: f64) -> f64 {
    if change.is_nan() {
        0.0
    } else if change > 0.0 {
        1.0
    } else if change < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `roc(x, n)`: `100 * (x / x.shift(n) - 1)`.
pub fn roc(x: &[f64], n: usize) -> Vec<f64> {
    let before = rolling::shift(x, n);
    x.iter().zip(&before).map(|(now, then)| 100.0 * (now / then - 1.0)).collect()
}

/// `vwap(n)`: `(tp * v).rolling(n).sum() / v.rolling(n).sum()`.
pub fn vwap(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], n: usize) -> Vec<f64> {
    let tp = typical(high, low, close);
    let weighted: Vec<f64> = tp.iter().zip(volume).map(|(p, v)| p * v).collect();
    let (top, bottom) = (rolling::sum(&weighted, n), rolling::sum(volume, n));
    top.iter().zip(&bottom).map(|(a, b)| a / b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases_by_hand() {
        assert_eq!(wma(&[1.0, 2.0, 3.0], 3)[2], (1.0 + 4.0 + 9.0) / 6.0);
        assert_eq!(obv(&[1.0, 2.0, 2.0, 1.0], &[5.0, 6.0, 7.0, 8.0]), vec![0.0, 6.0, 6.0, -2.0]);
        assert_eq!(roc(&[100.0, 110.0], 1)[1], 100.0 * (1.1 - 1.0));
        let tr = true_range(&[10.0, 12.0], &[9.0, 11.0], &[9.5, 11.5]);
        assert_eq!(tr, vec![1.0, 2.5]);
        let s = stochastic(&[2.0, 4.0], &[1.0, 1.0], &[1.5, 4.0], 2, 1);
        assert_eq!(s.k[1], 100.0);
    }
}
