//! Rolling windows of `n` values as pandas' `rolling(n)` sees them: a window holding an
//! undefined value (NaN) is undefined (its `min_periods` is `n`), and so is any window
//! before the `n`-th value.

use std::borrow::Cow;
use std::collections::VecDeque;

/// The values as pandas' windows see them (`BaseWindow._prep_values`): an infinity is
/// undefined, like NaN. Borrowed unchanged when there is none.
pub fn prep(values: &[f64]) -> Cow<'_, [f64]> {
    if values.iter().all(|v| !v.is_infinite()) {
        return Cow::Borrowed(values);
    }
    Cow::Owned(values.iter().map(|&v| if v.is_infinite() { f64::NAN } else { v }).collect())
}

/// `x.rolling(n).sum()`: pandas' compensated running sum (the departing value removed
/// before the arriving one is added, each with its own compensation); a window of equal
/// values sums to exactly `n` times the value.
pub fn sum(values: &[f64], n: usize) -> Vec<f64> {
    let values = &*prep(values);
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let (mut total, mut add_comp, mut remove_comp) = (0.0f64, 0.0f64, 0.0f64);
    let (mut nobs, mut same_run, mut previous) = (0usize, 0usize, f64::NAN);
    for (i, &value) in values.iter().enumerate() {
        if i >= n {
            let old = values.get(i - n).copied().unwrap_or(f64::NAN);
            if !old.is_nan() {
                nobs -= 1;
                let y = -old - remove_comp;
                let t = total + y;
                remove_comp = t - total - y;
                total = t;
            }
        }
        if !value.is_nan() {
            nobs += 1;
            let y = value - add_comp;
            let t = total + y;
            add_comp = t - total - y;
            total = t;
            same_run = if value == previous { same_run + 1 } else { 1 };
            previous = value;
        }
        if i + 1 >= n && nobs >= n {
            let sum = if same_run >= nobs { previous * nobs as f64 } else { total };
            if let Some(o) = out.get_mut(i) {
                *o = sum;
            }
        }
    }
    out
}

/// Calls `f` with each full window of `n` defined values and writes what it returns at the
/// window's last index: pandas' `rolling(n).apply(f, raw=True)`.
pub fn apply(values: &[f64], n: usize, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let values = &*prep(values);
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let mut undefined = 0usize;
    for i in 0..values.len() {
        undefined += usize::from(values[i].is_nan());
        if i >= n {
            undefined -= usize::from(values[i - n].is_nan());
        }
        if i + 1 >= n && undefined == 0 {
            out[i] = f(&values[i + 1 - n..=i]);
        }
    }
    out
}

/// numpy's `sum` of a short array: pairwise below eight values is a plain loop; above, its
/// eight running partial sums, added in numpy's order (`pairwise_sum` in numpy's
/// `loops_utils.h`). Windows longer than 128 are summed in halves, as there.
pub fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(-0.0, |s, v| s + v);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for (k, slot) in r.iter_mut().enumerate() {
                *slot += values[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[i..] {
            res += v;
        }
        return res;
    }
    let half = (n / 2) & !7;
    numpy_sum(&values[..half]) + numpy_sum(&values[half..])
}

/// `x.rolling(n).std(ddof=0)` as pandas computes it (`roll_var`): Welford's running mean
/// and sum of squared deviations with Kahan-compensated updates, the departing value
/// removed before the arriving one is added, and the running figures reset to the value
/// itself when a window holds one value repeated. Bit-identical to pandas 3.1 on three of the
/// bundled files and within 1e-12 of the price on the fourth, whose penny-priced early years
/// leave a residue pandas keeps and this does not (`tests/it/indicators.rs`).
pub fn std(values: &[f64], n: usize) -> Vec<f64> {
    let values = &*prep(values);
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let (mut nobs, mut mean, mut ssq) = (0.0f64, 0.0f64, 0.0f64);
    let (mut add_comp, mut remove_comp) = (0.0f64, 0.0f64);
    let (mut same, mut previous) = (0usize, values.first().copied().unwrap_or(f64::NAN));
    for (i, &value) in values.iter().enumerate() {
        if i >= n {
            let old = values[i - n];
            if !old.is_nan() {
                nobs -= 1.0;
                if nobs != 0.0 {
                    let prev_mean = mean - remove_comp;
                    let y = old - remove_comp;
                    let t = y - mean;
                    remove_comp = t + mean - y;
                    mean -= t / nobs;
                    ssq -= (old - prev_mean) * (old - mean);
                } else {
                    mean = 0.0;
                    ssq = 0.0;
                }
            }
        }
        if !value.is_nan() {
            nobs += 1.0;
            same = if value == previous { same + 1 } else { 1 };
            previous = value;
            let prev_mean = mean - add_comp;
            let y = value - add_comp;
            let t = y - mean;
            add_comp = t + mean - y;
            mean += t / nobs;
            ssq += (value - prev_mean) * (value - mean);
            if same as f64 >= nobs {
                mean = value;
                ssq = 0.0;
                add_comp = 0.0;
                remove_comp = 0.0;
            }
        }
        if i + 1 >= n && nobs >= n as f64 {
            out[i] = if nobs == 1.0 { 0.0 } else { (ssq / nobs).sqrt() };
        }
    }
    out
}

/// `x.rolling(n).max()` (the current value included).
pub fn max(values: &[f64], n: usize) -> Vec<f64> {
    extreme(values, n, |a, b| a >= b)
}

/// `x.rolling(n).min()` (the current value included).
pub fn min(values: &[f64], n: usize) -> Vec<f64> {
    extreme(values, n, |a, b| a <= b)
}

/// A sliding extreme in O(len) with a monotonic deque of the window's defined values.
fn extreme(values: &[f64], n: usize, keeps: impl Fn(f64, f64) -> bool) -> Vec<f64> {
    let values = &*prep(values);
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let mut window: VecDeque<usize> = VecDeque::new();
    let mut undefined = 0usize;
    for (i, &value) in values.iter().enumerate() {
        undefined += usize::from(value.is_nan());
        if i >= n {
            undefined -= usize::from(values[i - n].is_nan());
        }
        if !value.is_nan() {
            while window.back().is_some_and(|&j| keeps(value, values[j])) {
                window.pop_back();
            }
            window.push_back(i);
        }
        while window.front().is_some_and(|&j| j + n <= i) {
            window.pop_front();
        }
        if i + 1 >= n && undefined == 0 {
            if let Some(&best) = window.front() {
                out[i] = values[best];
            }
        }
    }
    out
}

/// `x.shift(n)`: each value `n` places later, undefined before.
pub fn shift(values: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if n < values.len() {
        out[n..].copy_from_slice(&values[..values.len() - n]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_with_a_gap_are_undefined() {
        let v = [1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0];
        let s = sum(&v, 2);
        assert!(s[1].is_nan() && s[2].is_nan());
        assert_eq!(&s[3..], &[7.0, 9.0, 11.0]);
        let m = max(&v, 3);
        assert!(m[3].is_nan());
        assert_eq!(&m[4..], &[5.0, 6.0]);
        assert_eq!(&min(&v, 2)[3..], &[3.0, 4.0, 5.0]);
    }

    #[test]
    fn std_is_the_population_deviation() {
        let s = std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8);
        assert_eq!(s[7], 2.0);
        assert_eq!(std(&[3.0; 5], 3)[4], 0.0);
    }

    #[test]
    fn numpy_sum_adds_in_numpy_order() {
        let v: Vec<f64> = (0..300).map(|i| 0.1 * f64::from(i)).collect();
        let plain: f64 = v.iter().sum();
        assert!((numpy_sum(&v) - plain).abs() < 1e-9);
        assert_eq!(numpy_sum(&[1.0, 2.0]), 3.0);
        assert_eq!(shift(&[1.0, 2.0, 3.0], 1)[1..], [1.0, 2.0]);
    }
}
