//! The indicator primitives one value at a time: each keeps only what its window needs (at
//! most its period's values), takes the next value and gives the output at it. Each is the
//! batch loop of `indicators` (pandas' own steps) cut at the bar: the same operations in
//! the same order, so a stream's values are the batch's to the bit (`stream/tests.rs` holds
//! every one to its batch twin on every bundled file).

use crate::indicators::ewm;
use std::collections::VecDeque;

/// A value as pandas' windows see it: an infinity is undefined, like NaN.
fn clean(v: f64) -> f64 {
    if v.is_infinite() {
        f64::NAN
    } else {
        v
    }
}

/// The last `n` values taken: which one leaves the window when the next arrives.
#[derive(Clone, Debug)]
struct Window {
    values: VecDeque<f64>,
    n: usize,
}

impl Window {
    fn new(n: usize) -> Window {
        Window { values: VecDeque::with_capacity(n + 1), n }
    }

    /// Takes `v`; the value taken `n` values ago, which leaves now.
    fn take(&mut self, v: f64) -> Option<f64> {
        self.values.push_back(v);
        if self.values.len() > self.n {
            self.values.pop_front()
        } else {
            None
        }
    }
}

/// pandas' compensated running sum of a window: the departing value removed and the
/// arriving one added, each with a compensation of its own.
#[derive(Clone, Debug, Default)]
struct Compensated {
    total: f64,
    add_comp: f64,
    remove_comp: f64,
}

impl Compensated {
    fn remove(&mut self, old: f64) {
        let y = -old - self.remove_comp;
        let t = self.total + y;
        self.remove_comp = t - self.total - y;
        self.total = t;
    }

    fn add(&mut self, value: f64) {
        let y = value - self.add_comp;
        let t = self.total + y;
        self.add_comp = t - self.total - y;
        self.total = t;
    }
}

/// A window's defined values counted and summed (compensated), and the run of equal values
/// ending at the last: what `sum` and `sma` both keep.
#[derive(Clone, Debug)]
struct Summed {
    window: Window,
    seen: usize,
    total: Compensated,
    nobs: usize,
    same_run: usize,
    previous: f64,
}

impl Summed {
    fn new(n: usize) -> Summed {
        Summed {
            window: Window::new(n),
            seen: 0,
            total: Compensated::default(),
            nobs: 0,
            same_run: 0,
            previous: f64::NAN,
        }
    }

    /// Takes `value` (clean); the defined value that left the window, if one did.
    fn take(&mut self, value: f64) -> Option<f64> {
        let old = self.window.take(value).filter(|o| !o.is_nan());
        if let Some(old) = old {
            self.nobs -= 1;
            self.total.remove(old);
        }
        if !value.is_nan() {
            self.nobs += 1;
            self.total.add(value);
            self.same_run = if value == self.previous { self.same_run + 1 } else { 1 };
            self.previous = value;
        }
        self.seen += 1;
        old
    }

    /// `n` values seen and all of the window's defined.
    fn full(&self) -> bool {
        self.seen >= self.window.n && self.nobs >= self.window.n
    }
}

/// `sma(x, n)` (`indicators::sma`'s general path, which its path for prices equals to the bit).
#[derive(Clone, Debug)]
pub struct Sma {
    summed: Summed,
    negatives: usize,
}

impl Sma {
    pub fn new(n: usize) -> Sma {
        Sma { summed: Summed::new(n), negatives: 0 }
    }

    pub fn next(&mut self, value: f64) -> f64 {
        if self.summed.window.n == 0 {
            return f64::NAN;
        }
        let value = clean(value);
        if let Some(old) = self.summed.take(value) {
            self.negatives -= usize::from(old.is_sign_negative());
        }
        if !value.is_nan() {
            self.negatives += usize::from(value.is_sign_negative());
        }
        let s = &self.summed;
        if !s.full() {
            return f64::NAN;
        }
        let mut mean = s.total.total / s.nobs as f64;
        if s.same_run >= s.nobs {
            mean = s.previous;
        } else if self.negatives == 0 && mean < 0.0 || self.negatives == s.nobs && mean > 0.0 {
            mean = 0.0;
        }
        mean
    }
}

/// `x.rolling(n).sum()` (`rolling::sum`).
#[derive(Clone, Debug)]
pub struct Sum {
    summed: Summed,
}

impl Sum {
    pub fn new(n: usize) -> Sum {
        Sum { summed: Summed::new(n) }
    }

    pub fn next(&mut self, value: f64) -> f64 {
        if self.summed.window.n == 0 {
            return f64::NAN;
        }
        self.summed.take(clean(value));
        let s = &self.summed;
        if !s.full() {
            return f64::NAN;
        }
        if s.same_run >= s.nobs {
            s.previous * s.nobs as f64
        } else {
            s.total.total
        }
    }
}

/// `x.rolling(n).std(ddof=0)` (`rolling::std`).
#[derive(Clone, Debug)]
pub struct Std {
    window: Window,
    seen: usize,
    nobs: f64,
    mean: f64,
    ssq: f64,
    add_comp: f64,
    remove_comp: f64,
    same: usize,
    previous: f64,
}

impl Std {
    pub fn new(n: usize) -> Std {
        Std {
            window: Window::new(n),
            seen: 0,
            nobs: 0.0,
            mean: 0.0,
            ssq: 0.0,
            add_comp: 0.0,
            remove_comp: 0.0,
            same: 0,
            previous: f64::NAN,
        }
    }

    pub fn next(&mut self, value: f64) -> f64 {
        let n = self.window.n;
        if n == 0 {
            return f64::NAN;
        }
        let value = clean(value);
        if self.seen == 0 {
            // The batch loop starts its run of equal values at the first value.
            self.previous = value;
        }
        if let Some(old) = self.window.take(value).filter(|o| !o.is_nan()) {
            self.nobs -= 1.0;
            if self.nobs != 0.0 {
                let prev_mean = self.mean - self.remove_comp;
                let y = old - self.remove_comp;
                let t = y - self.mean;
                self.remove_comp = t + self.mean - y;
                self.mean -= t / self.nobs;
                self.ssq -= (old - prev_mean) * (old - self.mean);
            } else {
                self.mean = 0.0;
                self.ssq = 0.0;
            }
        }
        if !value.is_nan() {
            self.nobs += 1.0;
            self.same = if value == self.previous { self.same + 1 } else { 1 };
            self.previous = value;
            let prev_mean = self.mean - self.add_comp;
            let y = value - self.add_comp;
            let t = y - self.mean;
            self.add_comp = t + self.mean - y;
            self.mean += t / self.nobs;
            self.ssq += (value - prev_mean) * (value - self.mean);
            if self.same as f64 >= self.nobs {
                self.mean = value;
                self.ssq = 0.0;
                self.add_comp = 0.0;
                self.remove_comp = 0.0;
            }
        }
        self.seen += 1;
        if self.seen < n || self.nobs < n as f64 {
            return f64::NAN;
        }
        if self.nobs == 1.0 {
            0.0
        } else {
            (self.ssq / self.nobs).sqrt()
        }
    }
}

/// The window `rolling(n).apply(f, raw=True)` hands `f` (`rolling::apply`): the last `n`
/// values, when all are defined.
#[derive(Clone, Debug)]
pub struct Apply {
    window: VecDeque<f64>,
    n: usize,
    undefined: usize,
}

impl Apply {
    pub fn new(n: usize) -> Apply {
        Apply { window: VecDeque::with_capacity(n + 1), n, undefined: 0 }
    }

    /// Takes `value`; the full window of defined values ending at it, if there is one.
    pub fn next(&mut self, value: f64) -> Option<&[f64]> {
        if self.n == 0 {
            return None;
        }
        let value = clean(value);
        self.undefined += usize::from(value.is_nan());
        self.window.push_back(value);
        if self.window.len() > self.n {
            if let Some(old) = self.window.pop_front() {
                self.undefined -= usize::from(old.is_nan());
            }
        }
        (self.window.len() == self.n && self.undefined == 0).then(|| &*self.window.make_contiguous())
    }
}

/// `x.rolling(n).max()` or `.min()` (`rolling::max`, `rolling::min`): a monotonic deque of
/// the window's defined values.
#[derive(Clone, Debug)]
pub struct Extreme {
    n: usize,
    highest: bool,
    seen: usize,
    /// (index, value), best first.
    kept: VecDeque<(usize, f64)>,
    recent: Window,
    undefined: usize,
}

impl Extreme {
    pub fn new(n: usize, highest: bool) -> Extreme {
        Extreme { n, highest, seen: 0, kept: VecDeque::new(), recent: Window::new(n), undefined: 0 }
    }

    fn keeps(&self, a: f64, b: f64) -> bool {
        if self.highest {
            a >= b
        } else {
            a <= b
        }
    }

    pub fn next(&mut self, value: f64) -> f64 {
        let n = self.n;
        if n == 0 {
            return f64::NAN;
        }
        let value = clean(value);
        let i = self.seen;
        self.seen += 1;
        self.undefined += usize::from(value.is_nan());
        if let Some(old) = self.recent.take(value) {
            self.undefined -= usize::from(old.is_nan());
        }
        if !value.is_nan() {
            while self.kept.back().is_some_and(|&(_, v)| self.keeps(value, v)) {
                self.kept.pop_back();
            }
            self.kept.push_back((i, value));
        }
        while self.kept.front().is_some_and(|&(j, _)| j + n <= i) {
            self.kept.pop_front();
        }
        match self.kept.front() {
            Some(&(_, best)) if i + 1 >= n && self.undefined == 0 => best,
            _ => f64::NAN,
        }
    }
}

/// `x.shift(n)` (`rolling::shift`).
#[derive(Clone, Debug)]
pub struct Shift {
    window: Window,
}

impl Shift {
    pub fn new(n: usize) -> Shift {
        Shift { window: Window::new(n) }
    }

    pub fn next(&mut self, value: f64) -> f64 {
        self.window.take(value).unwrap_or(f64::NAN)
    }
}

/// pandas' `ewm(com, adjust=False, min_periods).mean()` (`ewm::ewm_mean`).
#[derive(Clone, Debug)]
pub struct Ewm {
    new_wt: f64,
    old_wt_factor: f64,
    min_periods: usize,
    /// `None` before the first value.
    weighted: Option<f64>,
    nobs: usize,
    old_wt: f64,
}

impl Ewm {
    pub fn new(com: f64, min_periods: usize) -> Ewm {
        let alpha = 1.0 / (1.0 + com);
        Ewm {
            new_wt: alpha,
            old_wt_factor: 1.0 - alpha,
            min_periods: min_periods.max(1),
            weighted: None,
            nobs: 0,
            old_wt: 1.0,
        }
    }

    /// `ema(x, n)`; `None` for a period of 0 (undefined everywhere).
    pub fn ema(n: usize) -> Option<Ewm> {
        (n > 0).then(|| Ewm::new(ewm::com_of_span(n), n))
    }

    /// Wilder's smoothing `W(s)` of period `n`; `None` for 0.
    pub fn wilder(n: usize) -> Option<Ewm> {
        (n > 0).then(|| Ewm::new(ewm::com_of_alpha(1.0 / n as f64), n))
    }

    pub fn next(&mut self, cur: f64) -> f64 {
        let cur = clean(cur);
        let is_observation = !cur.is_nan();
        self.nobs += usize::from(is_observation);
        let weighted = match self.weighted {
            None => cur,
            Some(weighted) if !weighted.is_nan() => {
                self.old_wt *= self.old_wt_factor;
                let mut weighted = weighted;
                if is_observation {
                    if weighted != cur {
                        weighted = self.old_wt * weighted + self.new_wt * cur;
                        weighted /= self.old_wt + self.new_wt;
                    }
                    self.old_wt = 1.0;
                }
                weighted
            }
            Some(weighted) => {
                if is_observation {
                    cur
                } else {
                    weighted
                }
            }
        };
        self.weighted = Some(weighted);
        if self.nobs >= self.min_periods {
            weighted
        } else {
            f64::NAN
        }
    }
}

/// Wilder's RSI of a series (`indicators::rsi_of`): over its first run of defined values,
/// undefined after a gap.
#[derive(Clone, Debug)]
pub struct Rsi {
    n: usize,
    phase: RsiPhase,
}

#[derive(Clone, Debug)]
enum RsiPhase {
    Before,
    Run { k: usize, previous: f64, gain: f64, loss: f64 },
    After,
}

impl Rsi {
    pub fn new(n: usize) -> Rsi {
        Rsi { n, phase: RsiPhase::Before }
    }

    pub fn next(&mut self, v: f64) -> f64 {
        let n = self.n;
        let value = crate::indicators::rsi_of_averages;
        match &mut self.phase {
            RsiPhase::Before if v.is_nan() => f64::NAN,
            RsiPhase::Before => {
                self.phase = RsiPhase::Run { k: 0, previous: v, gain: 0.0, loss: 0.0 };
                f64::NAN
            }
            RsiPhase::Run { .. } if v.is_nan() => {
                self.phase = RsiPhase::After;
                f64::NAN
            }
            RsiPhase::Run { k, previous, gain, loss } => {
                *k += 1;
                let d = v - *previous;
                *previous = v;
                if n == 0 {
                    return f64::NAN;
                }
                let n_f = n as f64;
                if *k <= n {
                    *gain += d.max(0.0);
                    *loss += (-d).max(0.0);
                    if *k < n {
                        return f64::NAN;
                    }
                    *gain /= n_f;
                    *loss /= n_f;
                } else {
                    *gain = (*gain * (n_f - 1.0) + d.max(0.0)) / n_f;
                    *loss = (*loss * (n_f - 1.0) + (-d).max(0.0)) / n_f;
                }
                value(*gain, *loss)
            }
            RsiPhase::After => f64::NAN,
        }
    }
}
