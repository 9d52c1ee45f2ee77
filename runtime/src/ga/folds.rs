//! The data a job's backtests see: each file whole with its calendar (`Asset`), some bars
//! of one as a data set of their own (`Window`), and the folds validation cuts the files
//! into (`Fold`). Plain data, shared read-only by every island of a process.

use crate::backtest::Calendar;
use crate::data::Ohlcv;
use crate::windows;
use std::ops::Range;

/// One data file of a job, whole, with its calendar.
pub struct Asset {
    /// Its name in the job (`GOOG.csv`).
    pub name: String,
    pub data: Ohlcv,
    pub calendar: Calendar,
}

impl Asset {
    /// A file and its calendar.
    pub fn new(name: &str, data: Ohlcv) -> Asset {
        let calendar = Calendar::new(&data.time);
        Asset { name: name.to_string(), data, calendar }
    }
}

/// Some bars of one file as a data set of their own (`windows::slice`), with their own
/// calendar: what a window's backtests see.
pub struct Window {
    /// The file's name in the job.
    pub asset: String,
    /// Where the bars lie in the file.
    pub bars: Range<usize>,
    pub data: Ohlcv,
    pub calendar: Calendar,
}

impl Window {
    /// Bars `bars` of `asset`.
    pub fn of(asset: &Asset, bars: Range<usize>) -> Window {
        // A whole file keeps the calendar already computed for it.
        let (data, calendar) = if bars == (0..asset.data.len()) {
            (asset.data.clone(), asset.calendar.clone())
        } else {
            let data = windows::slice(&asset.data, bars.clone());
            let calendar = Calendar::new(&data.time);
            (data, calendar)
        };
        Window { asset: asset.name.clone(), bars, data, calendar }
    }
}

/// One fold: a window of every file to train on, in the job's file order, and the windows
/// that judge what was found there (none without validation).
pub struct Fold {
    pub train: Vec<Window>,
    pub test: Vec<Window>,
}
