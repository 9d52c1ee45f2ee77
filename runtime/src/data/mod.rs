//! OHLCV bars loaded from CSV, once, then shared read-only. Accepts the layouts of
//! `examples/data/`: a first column that is an unnamed or `Date` timestamp (or a `Date`
//! column anywhere, after a `Ticker`), `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `M/D/YYYY`
//! dates, optional `Ticker`, `Adj Close`, `OpenInt` columns (ignored), LF or CRLF.

mod dates;

pub use dates::{civil_from_days, days_from_civil, format_timestamp, months_before, parse_timestamp};

use std::path::Path;

/// A series of bars, oldest first. Invariants: timestamps strictly increase; every bar has
/// `low <= min(open, close)`, `high >= max(open, close)`, finite positive prices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ohlcv {
    /// Where the data came from, for messages.
    pub name: String,
    /// Seconds since 1970-01-01, naive (no time zone), as written in the file.
    pub time: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// Zero where the file has no volume column.
    pub volume: Vec<f64>,
}

impl Ohlcv {
    /// No bars yet, room for `bars`.
    pub fn with_capacity(name: &str, bars: usize) -> Ohlcv {
        Ohlcv {
            name: name.to_string(),
            time: Vec::with_capacity(bars),
            open: Vec::with_capacity(bars),
            high: Vec::with_capacity(bars),
            low: Vec::with_capacity(bars),
            close: Vec::with_capacity(bars),
            volume: Vec::with_capacity(bars),
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Appends one bar (the caller has checked it: `check_bar`, times increasing).
    pub fn push(&mut self, time: i64, [open, high, low, close, volume]: [f64; 5]) {
        self.time.push(time);
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
        self.volume.push(volume);
    }
}

/// How a bar breaks `Ohlcv`'s invariants: what the loader and the strategy service refuse.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BarProblem {
    /// A price that is not finite and above zero.
    Price,
    /// High below max(open, close).
    High,
    /// Low above min(open, close).
    Low,
}

/// The first way the bar's prices break `Ohlcv`'s invariants, with its message.
pub fn check_bar(open: f64, high: f64, low: f64, close: f64) -> Result<(), (BarProblem, String)> {
    if [open, high, low, close].iter().any(|p| !(p.is_finite() && *p > 0.0)) {
        return Err((BarProblem::Price, "prices must be positive".into()));
    }
    if high < open.max(close) {
        return Err((
            BarProblem::High,
            format!("High {high} is below max(Open, Close) = {}", open.max(close)),
        ));
    }
    if low > open.min(close) {
        return Err((BarProblem::Low, format!("Low {low} is above min(Open, Close) = {}", open.min(close))));
    }
    Ok(())
}

/// A problem in a data file, with where it is (1-based line and column).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DataError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Reads and parses the CSV at `path`.
pub fn load(path: &Path) -> Result<Ohlcv, DataError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| DataError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("not UTF-8 text: {e}"),
    })?;
    parse(&name, &text)
}

/// Which field of a row holds what.
struct Layout {
    columns: usize,
    time: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: Option<usize>,
}

fn layout(name: &str, header: &str) -> Result<Layout, DataError> {
    let columns: Vec<String> =
        header.split(',').map(|c| c.trim().trim_matches('"').to_ascii_lowercase()).collect();
    let find = |wanted: &str| columns.iter().position(|c| c == wanted);
    let missing = |what: &str| DataError {
        file: name.to_string(),
        line: 1,
        column: 1,
        message: format!("the header has no {what} column (found: {})", header.trim()),
    };
    let time = ["date", "datetime", "time", "timestamp"]
        .iter()
        .find_map(|c| find(c))
        .or_else(|| columns.first().filter(|c| c.is_empty()).map(|_| 0))
        .ok_or_else(|| missing("date (an unnamed first column or `Date`)"))?;
    Ok(Layout {
        columns: columns.len(),
        time,
        open: find("open").ok_or_else(|| missing("Open"))?,
        high: find("high").ok_or_else(|| missing("High"))?,
        low: find("low").ok_or_else(|| missing("Low"))?,
        close: find("close").ok_or_else(|| missing("Close"))?,
        volume: find("volume"),
    })
}

/// Parses CSV text; `name` labels errors.
pub fn parse(name: &str, text: &str) -> Result<Ohlcv, DataError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let Some((_, header)) = lines.next() else {
        return Err(DataError {
            file: name.to_string(),
            line: 1,
            column: 1,
            message: "the file is empty".into(),
        });
    };
    let layout = layout(name, header)?;
    let mut data = Ohlcv::with_capacity(name, text.bytes().filter(|&b| b == b'\n').count());
    let mut previous_line = 0;
    let mut fields = Vec::with_capacity(layout.columns);
    for (line_no, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        split_fields(line, &mut fields);
        let error = |column: usize, message: String| DataError {
            file: name.to_string(),
            line: line_no,
            column,
            message,
        };
        if fields.len() < layout.columns {
            let message =
                format!("expected {} fields, as in the header, found {}", layout.columns, fields.len());
            return Err(error(line.chars().count() + 1, message));
        }
        let field = |i: usize| {
            fields
                .get(i)
                .copied()
                .ok_or_else(|| error(line.len() + 1, format!("expected at least {} fields", i + 1)))
        };
        let number = |i: usize, what: &str| -> Result<f64, DataError> {
            let (column, text) = field(i)?;
            let value: f64 =
                text.trim().parse().map_err(|_| error(column, format!("{what} `{text}` is not a number")))?;
            if value.is_finite() {
                Ok(value)
            } else {
                Err(error(column, format!("{what} `{text}` is not finite")))
            }
        };
        let (time_column, time_text) = field(layout.time)?;
        let time = parse_timestamp(time_text.trim()).map_err(|why| error(time_column, why))?;
        let (open, high, low, close) = (
            number(layout.open, "Open")?,
            number(layout.high, "High")?,
            number(layout.low, "Low")?,
            number(layout.close, "Close")?,
        );
        let volume = match layout.volume {
            Some(v) => number(v, "Volume")?,
            None => 0.0,
        };
        if let Err((problem, message)) = check_bar(open, high, low, close) {
            let column = match problem {
                BarProblem::Price => 1,
                BarProblem::High => field(layout.high)?.0,
                BarProblem::Low => field(layout.low)?.0,
            };
            return Err(error(column, message));
        }
        if let Some(&last) = data.time.last() {
            if time == last {
                return Err(error(
                    time_column,
                    format!("duplicate timestamp `{}` (also on line {previous_line})", time_text.trim()),
                ));
            }
            if time < last {
                return Err(error(
                    time_column,
                    format!(
                        "`{}` is earlier than line {previous_line}: rows must be sorted",
                        time_text.trim()
                    ),
                ));
            }
        }
        previous_line = line_no;
        data.push(time, [open, high, low, close, volume]);
    }
    if data.is_empty() {
        return Err(DataError {
            file: name.to_string(),
            line: 2,
            column: 1,
            message: "the file has no rows of data".into(),
        });
    }
    Ok(data)
}

/// A row's fields, each with its 1-based column (in characters), into `out`: one vector
/// for the whole file, not one per row.
fn split_fields<'t>(line: &'t str, out: &mut Vec<(usize, &'t str)>) {
    out.clear();
    let ascii = line.is_ascii();
    let mut column = 1;
    let mut field = |f: &'t str| {
        out.push((column, f.trim_matches('"')));
        column += if ascii { f.len() } else { f.chars().count() } + 1;
    };
    // Commas found by a plain scan: fields are a few bytes, and `split` called memchr
    // once per field (a quarter of the parse).
    let mut start = 0;
    for (i, _) in line.bytes().enumerate().filter(|&(_, b)| b == b',') {
        field(line.get(start..i).unwrap_or_default());
        start = i + 1;
    }
    field(line.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests;
