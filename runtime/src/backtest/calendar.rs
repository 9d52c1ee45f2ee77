//! How backtesting.py turns an equity curve into periodic returns: the data's periods per
//! year, and which calendar period (day, week, month, year) each bar's equity closes.

use crate::data::civil_from_days;

/// The calendar of a data set: computed once, shared by every backtest on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    /// `A`: 252 (daily, no weekends), 365 (daily with weekends), 52, 12 or 1.
    pub periods_per_year: f64,
    /// For each bar, the index of the period it falls in; non-decreasing.
    pub period: Vec<u32>,
    /// For each bar, whether it opens a new period (bar 0 opens the first).
    pub starts: Vec<bool>,
}

impl Calendar {
    /// True when bar `i` starts a new period (bar 0 starts the first).
    #[inline(always)]
    pub fn starts_period(&self, i: usize) -> bool {
        self.starts.get(i).copied().unwrap_or(false)
    }

    /// How many of bars `from..to` start a new period, in O(1).
    pub fn starts_between(&self, from: usize, to: usize) -> usize {
        let index = |i: usize| self.period.get(i).map_or(0, |&p| p as usize);
        if from >= to {
            return 0;
        }
        let first_is_start = usize::from(self.starts_period(from));
        index(to - 1) - index(from) + first_is_start
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frequency {
    Day,
    Week,
    Month,
    Year,
}

const DAY: i64 = 86_400;

impl Calendar {
    /// backtesting.py's rules: the median spacing of the last 100 bars in whole days picks
    /// weekly (7), monthly (31) or yearly (365) periods, anything else is daily, with 365
    /// periods a year when more than 0.6 × 2/7 of the bars fall on weekends, else 252.
    pub fn new(time: &[i64]) -> Calendar {
        let tail = time.get(time.len().saturating_sub(100)..).unwrap_or(&[]);
        let mut gaps: Vec<i64> = tail.windows(2).filter_map(|w| Some(w.get(1)? - w.first()?)).collect();
        gaps.sort_unstable();
        let median = match gaps.len() {
            0 => 0.0,
            n if n % 2 == 1 => gaps.get(n / 2).copied().unwrap_or(0) as f64,
            n => {
                (gaps.get(n / 2 - 1).copied().unwrap_or(0) + gaps.get(n / 2).copied().unwrap_or(0)) as f64
                    / 2.0
            }
        };
        let days = (median / DAY as f64).floor() as i64;
        let weekend = time.iter().filter(|&&t| weekday(t.div_euclid(DAY)) >= 5).count();
        let have_weekends = !time.is_empty() && weekend as f64 / time.len() as f64 > 2.0 / 7.0 * 0.6;
        let (frequency, periods_per_year) = match days {
            7 => (Frequency::Week, 52.0),
            31 => (Frequency::Month, 12.0),
            365 => (Frequency::Year, 1.0),
            _ => (Frequency::Day, if have_weekends { 365.0 } else { 252.0 }),
        };
        let mut period = Vec::with_capacity(time.len());
        let mut current = 0u32;
        let mut last_key = None;
        for &t in time {
            let key = bin(frequency, t);
            if last_key.is_some_and(|k| k != key) {
                current += 1;
            }
            last_key = Some(key);
            period.push(current);
        }
        let starts = (0..period.len()).map(|i| i == 0 || period.get(i) != period.get(i - 1)).collect();
        Calendar { periods_per_year, period, starts }
    }
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

/// A key that is equal for bars pandas' `resample` puts in the same bin. Weeks end on
/// Sunday; pandas moves the right-closed edges of weekly, monthly and yearly bins to the end
/// of their last day, so the calendar day alone decides the bin.
fn bin(frequency: Frequency, t: i64) -> i64 {
    let day = t.div_euclid(DAY);
    match frequency {
        Frequency::Day => day,
        Frequency::Week => (day + (6 - weekday(day))).div_euclid(7),
        Frequency::Month => {
            let (y, m, _) = civil_from_days(day);
            y * 12 + m
        }
        Frequency::Year => civil_from_days(day).0,
    }
}
