//! Indicators on price series, each `NaN` where undefined (a comparison with `NaN` is false,
//! which is what the strategies rely on). Computed once per (indicator, period) and shared.

pub mod ewm;
pub mod library;
pub mod rolling;

/// The simple moving average of the last `n` values, computed exactly as pandas'
/// `rolling(n).mean()` does (Kahan-compensated running sum, removing the departing value
/// before adding the arriving one, each with its own compensation; a window whose values
/// all equal the newest one averages to exactly that value), so that crossovers tie where
/// backtesting.py's tie: bit-identical to pandas 3.1 on every bundled file.
pub fn sma(values: &[f64], n: usize) -> Vec<f64> {
    if n > 0 && all_prices(values) {
        return sma_of_prices(values, n);
    }
    sma_of_any(&rolling::prep(values), n)
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
    let mut average = Running::new(n);
    for (i, o) in out.iter_mut().enumerate() {
        if let Some(mean) = average.step(values, i) {
            *o = mean;
        }
    }
    out
}

/// `sma_of_prices` for two periods in one pass. Each average's compensated sum is a chain
/// of dependent additions that keeps the core waiting; two independent chains side by
/// side take little longer than one. Each lane's operations are `sma_of_prices`'s.
pub fn sma_of_prices_pair(values: &[f64], n: [usize; 2]) -> [Vec<f64>; 2] {
    let (mut a_out, mut b_out) = (vec![f64::NAN; values.len()], vec![f64::NAN; values.len()]);
    let (mut a, mut b) = (Running::new(n[0]), Running::new(n[1]));
    for (i, (a_o, b_o)) in a_out.iter_mut().zip(b_out.iter_mut()).enumerate() {
        if let Some(mean) = a.step(values, i) {
            *a_o = mean;
        }
        if let Some(mean) = b.step(values, i) {
            *b_o = mean;
        }
    }
    [a_out, b_out]
}

/// One moving average of prices as it moves along the values: pandas' compensated sum
/// (the departing value removed before the arriving one is added, each with its own
/// compensation) and the run of equal values that makes a flat window average exactly.
struct Running {
    n: usize,
    sum: f64,
    add_comp: f64,
    remove_comp: f64,
    same_run: usize,
    previous: f64,
}

impl Running {
    fn new(n: usize) -> Running {
        Running { n, sum: 0.0, add_comp: 0.0, remove_comp: 0.0, same_run: 0, previous: f64::NAN }
    }

    /// Takes in `values[i]` (after `values[..i]`): the average of the window ending there,
    /// once `n` values are in.
    #[inline(always)]
    fn step(&mut self, values: &[f64], i: usize) -> Option<f64> {
        let value = values.get(i).copied().unwrap_or(f64::NAN);
        if let Some(&old) = i.checked_sub(self.n).and_then(|k| values.get(k)) {
            let y = -old - self.remove_comp;
            let t = self.sum + y;
            self.remove_comp = t - self.sum - y;
            self.sum = t;
        }
        let y = value - self.add_comp;
        let t = self.sum + y;
        self.add_comp = t - self.sum - y;
        self.sum = t;
        self.same_run = if value == self.previous { self.same_run + 1 } else { 1 };
        self.previous = value;
        if i + 1 < self.n {
            return None;
        }
        let mean = self.sum / self.n as f64;
        Some(if self.same_run >= self.n {
            value
        } else if mean < 0.0 {
            0.0
        } else {
            mean
        })
    }
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
    let value = rsi_of_averages;
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

/// The RSI of Wilder's average gain and loss: 100 with gains and no loss, 50 with neither.
pub(crate) fn rsi_of_averages(gain: f64, loss: f64) -> f64 {
    if loss == 0.0 {
        if gain > 0.0 {
            100.0
        } else {
            50.0
        }
    } else {
        100.0 - 100.0 / (1.0 + gain / loss)
    }
}

/// `rsi` of any series: from its first defined value (a series that is itself an
/// indicator starts undefined), and undefined from any later undefined value on.
pub fn rsi_of(values: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    let Some(first) = values.iter().position(|v| !v.is_nan()) else { return out };
    let rest = &values[first..];
    let gap = rest.iter().position(|v| v.is_nan()).unwrap_or(rest.len());
    let defined = rsi(&rest[..gap], n);
    out[first..first + gap].copy_from_slice(&defined);
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
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let periods = [1, 2, 3, 5, 17, 50, len.max(1), len + 3];
            for n in periods {
                let (fast, general) = (sma_of_prices(&values, n), sma_of_any(&values, n));
                assert_eq!(bits(&fast), bits(&general), "case {case}, n {n}");
            }
            for pair in periods.windows(2).chain([[7, 7].as_slice(), [40, 3].as_slice()]) {
                let [a, b] = sma_of_prices_pair(&values, [pair[0], pair[1]]);
                assert_eq!(bits(&a), bits(&sma_of_any(&values, pair[0])), "case {case}, pair {pair:?}");
                assert_eq!(bits(&b), bits(&sma_of_any(&values, pair[1])), "case {case}, pair {pair:?}");
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
