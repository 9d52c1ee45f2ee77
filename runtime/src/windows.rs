//! Windows of a data file: which bars a GA trains on and which it is judged on. A backtest
//! over a window is, by definition, the backtest of that slice alone (`slice`): as if the
//! file held only those bars, so indicators warm up inside the window, the first decision
//! comes `first_decision` bars into it, and an open trade is closed at its last bar. Every
//! window's result can therefore be re-checked with `gaform backtest` on the slice cut into
//! its own CSV (or with backtesting.py on the same rows).

use crate::data::Ohlcv;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How a job validates what it finds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// Train on every bar; nothing is held out.
    #[default]
    InSample,
    /// Train on the bars before the cut; judge the hall of fame on the bars after it.
    Holdout(Cut),
    /// Train on one window, judge on the window after it, again and again.
    WalkForward(WalkForward),
}

/// Where a hold-out starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cut {
    /// The last fraction of the bars (in (0, 1)): the first ⌊n·(1 − f)⌋ bars are trained on.
    Fraction(f64),
    /// Every bar at or after this timestamp (naive seconds since 1970).
    From(i64),
}

/// A length of window: a number of bars, or a span of time on the data's own calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    Bars(u64),
    Seconds(i64),
    /// Calendar months (`crate::data::months_before`).
    Months(u32),
}

/// Walk-forward windows, laid back from the end of the data: the last test window ends
/// with the last bar, each earlier one `step` before the next, and every train window ends
/// where its test window starts. Rolling windows train on `train` before it; anchored ones
/// on everything before it (at least `train`). As many folds as fit, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    pub train: Length,
    pub test: Length,
    pub step: Length,
    pub anchored: bool,
}

/// One fold of one data file: the bars trained on and the bars judged on (none when
/// nothing is held out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train: Range<usize>,
    pub test: Option<Range<usize>>,
}

/// Why a file cannot be cut as asked.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WindowError {
    #[error("{name}: {message}")]
    Impossible { name: String, message: String },
}

impl Validation {
    /// The folds of the files whose timestamps are `times` (named `names`): for each fold,
    /// one split per file. Walk-forward takes as many folds as fit in every file, so that
    /// each fold judges every file on its own latest bars.
    pub fn folds(&self, files: &[(&str, &[i64])]) -> Result<Vec<Vec<Split>>, WindowError> {
        let per_file: Vec<Vec<Split>> = files
            .iter()
            .map(|(name, time)| {
                self.splits(time)
                    .map_err(|message| WindowError::Impossible { name: name.to_string(), message })
            })
            .collect::<Result<_, _>>()?;
        let folds = per_file.iter().map(Vec::len).min().unwrap_or(0);
        Ok((0..folds)
            .map(|f| per_file.iter().filter_map(|s| s.get(s.len() - folds + f).cloned()).collect())
            .collect())
    }

    /// One file's splits, oldest first.
    fn splits(&self, time: &[i64]) -> Result<Vec<Split>, String> {
        let n = time.len();
        match *self {
            Validation::InSample => Ok(vec![Split { train: 0..n, test: None }]),
            Validation::Holdout(cut) => {
                let at = match cut {
                    Cut::Fraction(f) => ((n as f64) * (1.0 - f)).floor() as usize,
                    Cut::From(t) => time.partition_point(|&x| x < t),
                };
                let at = at.min(n);
                // A date outside the data says where the data starts or ends.
                let refuse = |what: &str, edge: &str, bar: Option<&i64>| match (cut, bar) {
                    (Cut::From(t), Some(&bar)) => {
                        let date = crate::data::format_timestamp;
                        format!("the hold-out from {} {what}: the data {edge} on {}", date(t), date(bar))
                    }
                    _ => format!("the hold-out {what}"),
                };
                if at == 0 {
                    return Err(refuse("leaves no bar to train on", "starts", time.first()));
                }
                if at == n {
                    return Err(refuse("holds out no bar", "ends", time.last()));
                }
                Ok(vec![Split { train: 0..at, test: Some(at..n) }])
            }
            Validation::WalkForward(w) => walk_forward(time, w),
        }
    }
}

fn walk_forward(time: &[i64], w: WalkForward) -> Result<Vec<Split>, String> {
    let n = time.len();
    let (Some(&first), Some(&last)) = (time.first(), time.last()) else {
        return Err("it has no bars".into());
    };
    // Bar index of the position `back` before the end (bars) or the first bar at or after
    // time `end - back`, where `end` is just past the last bar.
    let back = |from: usize, len: Length| -> Option<usize> {
        match len {
            Length::Bars(b) => from.checked_sub(usize::try_from(b).ok()?),
            Length::Seconds(s) => {
                let end = if from == n { last.checked_add(1)? } else { *time.get(from)? };
                let t = end.checked_sub(s)?;
                (t >= first).then(|| time.partition_point(|&x| x < t))
            }
            Length::Months(m) => {
                let end = if from == n { last.checked_add(1)? } else { *time.get(from)? };
                let t = crate::data::months_before(end, m);
                (t >= first).then(|| time.partition_point(|&x| x < t))
            }
        }
    };
    let mut splits = Vec::new();
    let mut test_end = n;
    while let Some(test_start) = back(test_end, w.test).filter(|&s| s < test_end) {
        let Some(train_start) = back(test_start, w.train).filter(|&s| s < test_start) else { break };
        let train = if w.anchored { 0..test_start } else { train_start..test_start };
        splits.push(Split { train, test: Some(test_start..test_end) });
        match back(test_end, w.step).filter(|&s| s < test_end) {
            Some(next) => test_end = next,
            None => break,
        }
    }
    if splits.is_empty() {
        return Err(format!(
            "its {n} bars hold no train window followed by a test window of the lengths asked"
        ));
    }
    splits.reverse();
    Ok(splits)
}

/// The bars `range` of `data` as a data set of their own (what a window's backtest sees).
pub fn slice(data: &Ohlcv, range: Range<usize>) -> Ohlcv {
    let part = |v: &[f64]| v.get(range.clone()).unwrap_or_default().to_vec();
    Ohlcv {
        name: data.name.clone(),
        time: data.time.get(range.clone()).unwrap_or_default().to_vec(),
        open: part(&data.open),
        high: part(&data.high),
        low: part(&data.low),
        close: part(&data.close),
        volume: part(&data.volume),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn days(n: i64) -> Vec<i64> {
        (0..n).map(|d| d * DAY).collect()
    }

    fn one(v: &Validation, time: &[i64]) -> Vec<Split> {
        let folds = v.folds(&[("f", time)]).unwrap_or_default();
        folds.into_iter().flatten().collect()
    }

    #[test]
    fn a_fraction_holds_out_the_last_bars() {
        let v = Validation::Holdout(Cut::Fraction(0.2));
        assert_eq!(one(&v, &days(10)), [Split { train: 0..8, test: Some(8..10) }]);
        assert_eq!(one(&v, &days(11)), [Split { train: 0..8, test: Some(8..11) }]);
    }

    #[test]
    fn a_date_holds_out_every_bar_from_it() {
        let v = Validation::Holdout(Cut::From(6 * DAY + 5));
        assert_eq!(one(&v, &days(10)), [Split { train: 0..7, test: Some(7..10) }]);
        let past = Validation::Holdout(Cut::From(20 * DAY));
        assert!(past.folds(&[("f", &days(10))]).is_err());
        let before = Validation::Holdout(Cut::From(-DAY));
        assert!(before.folds(&[("f", &days(10))]).is_err());
    }

    #[test]
    fn rolling_windows_in_bars_end_with_the_data() {
        let w = WalkForward {
            train: Length::Bars(4),
            test: Length::Bars(2),
            step: Length::Bars(2),
            anchored: false,
        };
        let splits = one(&Validation::WalkForward(w), &days(11));
        assert_eq!(
            splits,
            [
                Split { train: 1..5, test: Some(5..7) },
                Split { train: 3..7, test: Some(7..9) },
                Split { train: 5..9, test: Some(9..11) },
            ]
        );
        let anchored = one(&Validation::WalkForward(WalkForward { anchored: true, ..w }), &days(11));
        assert_eq!(anchored.iter().map(|s| s.train.clone()).collect::<Vec<_>>(), [0..5, 0..7, 0..9]);
    }

    #[test]
    fn windows_in_time_follow_the_calendar() {
        // Weekdays only: a 7-day window holds five bars.
        let time: Vec<i64> = (0..40).filter(|d| d % 7 < 5).map(|d| d * DAY).collect();
        let w = WalkForward {
            train: Length::Seconds(14 * DAY),
            test: Length::Seconds(7 * DAY),
            step: Length::Seconds(7 * DAY),
            anchored: false,
        };
        let splits = one(&Validation::WalkForward(w), &time);
        for s in &splits {
            let test = s.test.clone().unwrap_or_default();
            assert_eq!(test.len(), 5, "{s:?}");
            assert_eq!(s.train.len(), 10, "{s:?}");
            assert_eq!(s.train.end, test.start);
        }
        assert_eq!(splits.last().and_then(|s| s.test.clone()).map(|t| t.end), Some(time.len()));
    }

    #[test]
    fn windows_in_months_cut_at_the_same_day_of_earlier_months() {
        // Every day of 2019 and 2020: each test window is one calendar quarter back from the
        // end, each train window the year before it.
        let first = crate::data::days_from_civil(2019, 1, 1);
        let time: Vec<i64> = (first..first + 731).map(|d| d * DAY).collect();
        let w = WalkForward {
            train: Length::Months(12),
            test: Length::Months(3),
            step: Length::Months(3),
            anchored: false,
        };
        let splits = one(&Validation::WalkForward(w), &time);
        let date = |i: usize| crate::data::format_timestamp(time[i]);
        let shown: Vec<(String, String, String)> = splits
            .iter()
            .map(|s| {
                let test = s.test.clone().unwrap_or_default();
                (date(s.train.start), date(test.start), date(test.end - 1))
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("2019-01-01".into(), "2020-01-01".into(), "2020-03-31".into()),
                ("2019-04-01".into(), "2020-04-01".into(), "2020-06-30".into()),
                ("2019-07-01".into(), "2020-07-01".into(), "2020-09-30".into()),
                ("2019-10-01".into(), "2020-10-01".into(), "2020-12-31".into()),
            ]
        );
    }

    #[test]
    fn files_of_different_lengths_share_the_latest_folds() {
        let w = WalkForward {
            train: Length::Bars(4),
            test: Length::Bars(2),
            step: Length::Bars(2),
            anchored: false,
        };
        let (short, long) = (days(9), days(15));
        let folds = Validation::WalkForward(w).folds(&[("short", &short), ("long", &long)]);
        let folds = folds.unwrap_or_default();
        assert_eq!(folds.len(), 2);
        assert_eq!(folds.iter().map(|f| f.len()).collect::<Vec<_>>(), [2, 2]);
        assert_eq!(folds[1][0].test, Some(7..9));
        assert_eq!(folds[1][1].test, Some(13..15));
    }

    #[test]
    fn windows_that_do_not_fit_are_an_error_naming_the_file() {
        let w = WalkForward {
            train: Length::Bars(40),
            test: Length::Bars(20),
            step: Length::Bars(20),
            anchored: false,
        };
        let e = Validation::WalkForward(w).folds(&[("GOOG.csv", &days(50))]);
        assert!(matches!(e, Err(WindowError::Impossible { ref name, .. }) if name == "GOOG.csv"));
    }

    #[test]
    fn a_slice_is_its_bars_alone() {
        let mut data = Ohlcv::default();
        for i in 0..5 {
            let p = 10.0 + i as f64;
            data.push(i * DAY, [p, p + 1.0, p - 1.0, p, 100.0]);
        }
        let part = slice(&data, 1..3);
        assert_eq!(part.time, [DAY, 2 * DAY]);
        assert_eq!(part.close, [11.0, 12.0]);
        assert_eq!(part.len(), 2);
    }
}
