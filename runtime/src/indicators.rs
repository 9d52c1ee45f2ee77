//! Indicators on price series, each `NaN` where undefined (a comparison with `NaN` is false,
//! which is what the strategies rely on). Computed once per (indicator, period) and shared.

/// The simple moving average of the last `n` values, computed exactly as pandas'
/// `rolling(n).mean()` does (Kahan-compensated running sum, removing the departing value
/// before adding the arriving one, each with its own compensation; a window whose values
/// all equal the newest one averages to exactly that value), so that crossovers tie where
/// backtesting.py's tie: bit-identical to pandas 3.1 on every bundled file.
pub fn sma(values: &[f64], n: usize) -> Vec<f64> {
    if n > 0 && all_prices(values) {
        return sma_of_prices(values, n);
    }
    sma_of_any(values, n)
}

/// True when every value is finite and positive (without a branch per value: a caller
/// asks once per data set, `sma` once per call).
pub fn all_prices(values: &[f64]) -> bool {
    values.iter().fold(true, |ok, v| ok & (v.is_finite() & (*v > 0.0)))
}

/// `sma` of values that are all finite and positive (`all_prices`), with
/// the same operations in the same order, less the bookkeeping such values cannot need:
/// every value counts, none is negative, a full window always holds `n`.
pub fn sma_of_prices(values: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    let (mut sum, mut add_comp, mut remove_comp) = (0.0f64, 0.0f64, 0.0f64);
    let (mut same_run, mut previous) = (0usize, f64::NAN);
    let mut add = |value: f64, sum: &mut f64| {
        let y = value - add_comp;
        let t = *sum + y;
        add_comp = t - *sum - y;
        *sum = t;
        same_run = if value == previous { same_run + 1 } else { 1 };
        previous = value;
        (same_run, previous)
    };
    let head = n.min(values.len());
    for (i, &value) in values.iter().enumerate().take(head) {
        let (run, last) = add(value, &mut sum);
        if i + 1 == n {
            let mean = sum / n as f64;
            if let Some(o) = out.get_mut(i) {
                *o = if run >= n {
                    last
                } else if mean < 0.0 {
                    0.0
                } else {
                    mean
                };
            }
        }
    }
    let (arriving, departing) = (values.get(n..).unwrap_or_default(), values);
    for ((&value, &old), o) in arriving.iter().zip(departing).zip(out.iter_mut().skip(n)) {
        let y = -old - remove_comp;
        let t = sum + y;
        remove_comp = t - sum - y;
        sum = t;
        let (run, last) = add(value, &mut sum);
        let mean = sum / n as f64;
        *o = if run >= n {
            last
        } else if mean < 0.0 {
            0.0
        } else {
            mean
        };
    }
    out
}

/// `sma` of any values, NaN and negatives included: pandas' algorithm as it stands.
fn sma_of_any(values: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let (mut sum, mut add_comp, mut remove_comp) = (0.0f64, 0.0f64, 0.0f64);
    let (mut nobs, mut negatives) = (0usize, 0usize);
    let (mut same_run, mut previous) = (0usize, f64::NAN);
    for (i, &value) in values.iter().enumerate() {
        if i >= n {
            let old = values.get(i - n).copied().unwrap_or(f64::NAN);
            if !old.is_nan() {
                nobs -= 1;
                let y = -old - remove_comp;
                let t = sum + y;
                remove_comp = t - sum - y;
                sum = t;
                negatives -= usize::from(old.is_sign_negative());
            }
        }
        if !value.is_nan() {
            nobs += 1;
            let y = value - add_comp;
            let t = sum + y;
            add_comp = t - sum - y;
            sum = t;
            negatives += usize::from(value.is_sign_negative());
            same_run = if value == previous { same_run + 1 } else { 1 };
            previous = value;
        }
        if i + 1 >= n && nobs >= n {
            let mut mean = sum / nobs as f64;
            if same_run >= nobs {
                mean = previous;
            } else if negatives == 0 && mean < 0.0 || negatives == nobs && mean > 0.0 {
                mean = 0.0;
            }
            if let Some(o) = out.get_mut(i) {
                *o = mean;
            }
        }
    }
    out
}

/// Wilder's RSI over `n` changes: the first value (at index `n`) uses the plain mean of the
/// first `n` gains and losses, later ones Wilder's smoothing `(avg * (n - 1) + x) / n`.
/// 100 when there were only gains, 50 when prices did not move at all.
pub fn rsi(close: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    if n == 0 || close.len() <= n {
        return out;
    }
    let change =
        |i: usize| close.get(i).copied().unwrap_or(f64::NAN) - close.get(i - 1).copied().unwrap_or(f64::NAN);
    let value = |gain: f64, loss: f64| {
        if loss == 0.0 {
            if gain > 0.0 {
                100.0
            } else {
                50.0
            }
        } else {
            100.0 - 100.0 / (1.0 + gain / loss)
        }
    };
    let (mut gain, mut loss) = (0.0f64, 0.0f64);
    for i in 1..=n {
        let d = change(i);
        gain += d.max(0.0);
        loss += (-d).max(0.0);
    }
    gain /= n as f64;
    loss /= n as f64;
    let n_f = n as f64;
    for (i, o) in out.iter_mut().enumerate().skip(n) {
        if i > n {
            let d = change(i);
            gain = (gain * (n_f - 1.0) + d.max(0.0)) / n_f;
            loss = (loss * (n_f - 1.0) + (-d).max(0.0)) / n_f;
        }
        *o = value(gain, loss);
    }
    out
}

/// The highest of the `n` values before each index (not including it): a channel's top.
pub fn highest_before(values: &[f64], n: usize) -> Vec<f64> {
    extreme_before(values, n, |a, b| a >= b)
}

/// The lowest of the `n` values before each index (not including it): a channel's bottom.
pub fn lowest_before(values: &[f64], n: usize) -> Vec<f64> {
    extreme_before(values, n, |a, b| a <= b)
}

/// Sliding-window extreme in O(len) with a monotonic deque of indices.
fn extreme_before(values: &[f64], n: usize, keeps: impl Fn(f64, f64) -> bool) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if n == 0 {
        return out;
    }
    let mut window: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let at = |i: usize| values.get(i).copied().unwrap_or(f64::NAN);
    for i in 0..values.len() {
        // `window` holds candidates among values[i - n .. i], best first.
        if i >= n {
            if let Some(&best) = window.front() {
                if let Some(o) = out.get_mut(i) {
                    *o = at(best);
                }
            }
        }
        while window.back().is_some_and(|&j| keeps(at(i), at(j))) {
            window.pop_back();
        }
        window.push_back(i);
        while window.front().is_some_and(|&j| j + n <= i) {
            window.pop_front();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_matches_definition() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        let s = sma(&v, 2);
        assert!(s[0].is_nan());
        assert_eq!(&s[1..], &[1.5, 2.5, 3.5, 4.5]);
        assert_eq!(sma(&[0.1, 0.1, 0.1, 0.1], 3)[3], 0.1);
    }

    #[test]
    fn the_price_path_is_the_general_path_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for case in 0..300 {
            let len = rng.random_range(0..400);
            // Random walks with runs of repeated values (flat prices), tiny and huge levels.
            let scale: f64 = [1e-3, 1.0, 1e6][case % 3];
            let mut price = scale;
            let values: Vec<f64> = (0..len)
                .map(|_| {
                    if rng.random::<f64>() < 0.8 {
                        price = (price * (1.0 + rng.random_range(-0.05f64..0.05))).max(scale * 1e-3);
                    }
                    price
                })
                .collect();
            for n in [1, 2, 3, 5, 17, 50, len.max(1), len + 3] {
                let (fast, general) = (sma_of_prices(&values, n), sma_of_any(&values, n));
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&general), "case {case}, n {n}");
            }
        }
    }

    #[test]
    fn channels_exclude_the_current_bar() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
        let hh = highest_before(&v, 3);
        let ll = lowest_before(&v, 3);
        assert!(hh[2].is_nan());
        assert_eq!(&hh[3..], &[4.0, 4.0, 5.0, 9.0]);
        assert_eq!(&ll[3..], &[1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn rsi_extremes() {
        let up: Vec<f64> = (1..30).map(f64::from).collect();
        assert_eq!(rsi(&up, 14)[20], 100.0);
        assert_eq!(rsi(&[5.0; 20], 14)[15], 50.0);
        assert!(rsi(&up, 14)[13].is_nan());
    }
}
