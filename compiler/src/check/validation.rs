//! A job's data files (one, a list, or a pattern), how their fitness combines, and what is
//! held out of them (`holdout`, `walk_forward { ... }`), with E0017 when the windows do not
//! fit a file or leave a test window too short for the strategy to close a trade.

use super::fields::Fields;
use super::value::Value;
use super::Checker;
use crate::ast::{Attribute, ExprKind, TimeUnit};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Aggregate, StrategyDef, Validation, WindowLength, BARS_FOR_A_TRADE};
use crate::schema::WALK_FORWARD;
use crate::source::Span;
use crate::WindowBars;

/// A job's data files, each with the span that names it.
pub(super) type Files = Vec<(String, Span)>;

/// Where a job's validation is written: all of it (the `holdout` value, the
/// `walk_forward` header) and its test length.
#[derive(Clone, Copy)]
pub(super) struct Where {
    whole: Span,
    test: Span,
    /// A window length written in minutes (`6m`), which on daily data is rarely meant.
    minutes: Option<Span>,
}

impl Where {
    /// The help for windows that do not fit: with a length in minutes, that `m` is minutes.
    fn help(&self, otherwise: &str) -> String {
        match self.minutes {
            Some(_) => format!(
                "a length in `m` is minutes: for months write `mo` (`6mo`), for years `y`; or {otherwise}"
            ),
            None => otherwise.to_string(),
        }
    }
}

/// What the host's windows come to for the checks: the folds (1 when unknown) and the
/// shortest train and test windows, with their files.
pub(super) struct Windows {
    pub folds: u64,
    pub shortest_train: Option<(String, usize)>,
    pub shortest_test: Option<(String, usize)>,
}

impl Windows {
    /// Nothing known: the data could not be read (the checks wait for plan and apply).
    pub(super) const UNKNOWN: Windows = Windows { folds: 1, shortest_train: None, shortest_test: None };
}

/// A day in seconds.
const DAY: f64 = 86_400.0;

/// Characters that make a `data` string a pattern.
const PATTERN: &[char] = &['*', '?', '['];

impl Checker<'_> {
    /// The files of `data = "F"`, `data = ["F", ...]` or `data = "dir/*.csv"`.
    pub(super) fn data_files(&mut self, attr: Option<&Attribute>) -> Files {
        let Some(attr) = attr else { return Vec::new() };
        let span = attr.value.span;
        let written: Vec<(String, Span)> = match self.eval(&attr.value, None) {
            Some(Value::Str(s)) => vec![(s, span)],
            Some(Value::List(items)) => {
                let mut out = Vec::new();
                for (item, item_span) in items {
                    match item {
                        Value::Str(s) => out.push((s, item_span)),
                        other => self.mismatch(item_span, "a data file's path (string)", &other),
                    }
                }
                if out.is_empty() {
                    self.bounds(span, "`data` names no file", "empty list");
                }
                out
            }
            Some(other) => {
                self.mismatch(span, "a data file's path, a list of them, or a pattern", &other);
                Vec::new()
            }
            None => Vec::new(),
        };
        let mut files = Vec::new();
        for (path, span) in written {
            if !path.contains(PATTERN) {
                files.push((path, span));
                continue;
            }
            match self.host.expand_data(&path) {
                Ok(matched) => files.extend(matched.into_iter().map(|m| (m, span))),
                Err(why) => {
                    let d = Diagnostic::new(
                        Code::E0014,
                        format!("data pattern `{path}` {why}"),
                        span,
                        "no files",
                    )
                    .with_help("patterns match file names in one directory, relative to the .gaf file");
                    let d = if self.options.data_errors { d } else { d.into_warning() };
                    self.report(d);
                }
            }
        }
        for (i, (path, span)) in files.iter().enumerate() {
            if let Some((_, first)) = files.iter().take(i).find(|(p, _)| p == path) {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("data file `{path}` is named twice"),
                    *span,
                    "again",
                )
                .with_label(*first, "first here");
                self.report(d);
            }
        }
        files
    }

    fn mismatch(&mut self, span: Span, expected: &str, found: &Value) {
        let d = Diagnostic::new(
            Code::E0007,
            format!("expected {expected}, found {}", found.type_name()),
            span,
            "wrong type",
        );
        self.report(d);
    }

    /// `aggregate = mean | median | min` (default `mean`).
    pub(super) fn aggregate(&mut self, f: &Fields<'_>) -> Aggregate {
        self.keyword::<Aggregate>(f.attr("aggregate")).map_or(Aggregate::Mean, |a| a.value)
    }

    /// `holdout = 20%` or `holdout = "2016-01-01"`, or `walk_forward { ... }` (not both),
    /// and where it is written.
    pub(super) fn validation(&mut self, f: &Fields<'_>) -> (Validation, Option<Where>) {
        let holdout = f.attr("holdout").and_then(|a| Some((self.holdout(a)?, a.value.span)));
        let walk = f.blocks("walk_forward").next();
        match (holdout, walk) {
            (Some((_, span)), Some(block)) => {
                let d = Diagnostic::new(
                    Code::E0009,
                    "a job validates with `holdout` or `walk_forward`, not both",
                    span,
                    "hold-out",
                )
                .with_label(block.header, "walk-forward");
                self.report(
                    d.with_help("the last walk-forward test window already holds out the latest bars"),
                );
                (Validation::InSample, None)
            }
            (Some((v, span)), None) => (v, Some(Where { whole: span, test: span, minutes: None })),
            (None, Some(block)) => {
                self.expect_label(block, false);
                match self.walk_forward(block) {
                    Some((v, test, minutes)) => (v, Some(Where { whole: block.header, test, minutes })),
                    None => (Validation::InSample, None),
                }
            }
            (None, None) => (Validation::InSample, None),
        }
    }

    fn holdout(&mut self, attr: &Attribute) -> Option<Validation> {
        let span = attr.value.span;
        match self.eval(&attr.value, None)? {
            Value::Percent(p) if p > 0.0 && p < 1.0 => Some(Validation::HoldoutFraction(p)),
            Value::Percent(_) => {
                self.bounds(span, "a hold-out fraction lies in (0%, 100%)", "outside (0%, 100%)");
                None
            }
            Value::Str(date) if is_date(&date) => Some(Validation::HoldoutFrom(date)),
            Value::Str(date) => {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("`{date}` is not a date"),
                    span,
                    "expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
                );
                self.report(d.with_help("write the first bar to hold out, as `holdout = \"2016-01-04\"`"));
                None
            }
            other => {
                self.mismatch(span, "a percent (`20%`) or a date (`\"2016-01-04\"`)", &other);
                None
            }
        }
    }

    /// The walk-forward, where its test length is written, and a length written in minutes.
    fn walk_forward(&mut self, block: &crate::ast::Block) -> Option<(Validation, Span, Option<Span>)> {
        let f = self.fields(block, &WALK_FORWARD);
        let train_attr = self.required(&f, "train", "504");
        let test_attr = self.required(&f, "test", "126");
        let train = train_attr.and_then(|a| self.window_length(a));
        let test = test_attr.and_then(|a| self.window_length(a));
        let step = match f.attr("step") {
            Some(a) => Some(self.window_length(a)?),
            None => test,
        };
        let anchored = self.boolean(f.attr("anchored")).unwrap_or(false);
        let ((train, train_span), (test, test_span), (step, step_span)) = (train?, test?, step?);
        let bars = |l: WindowLength| matches!(l, WindowLength::Bars(_));
        if let Some((other, span)) =
            [(test, test_span), (step, step_span)].into_iter().find(|(l, _)| bars(*l) != bars(train))
        {
            let (is, train_is) =
                if bars(other) { ("a number of bars", "a duration") } else { ("a duration", "bars") };
            let d = Diagnostic::new(
                Code::E0007,
                format!(
                    "walk-forward lengths are all bars or all durations: this is {is}, `train` is {train_is}"
                ),
                span,
                "another kind of length",
            )
            .with_label(train_span, "train");
            self.report(
                d.with_help("write `train`, `test` and `step` alike: `504`, `126` or `730d`, `180d`"),
            );
            return None;
        }
        let shorter = match (step, test) {
            (WindowLength::Bars(s), WindowLength::Bars(t)) => s < t,
            (WindowLength::Months(s), WindowLength::Months(t)) => s < t,
            // Months against fixed durations: at their shortest (28 days) and longest (31).
            (WindowLength::Seconds(s), WindowLength::Months(t)) => s < f64::from(t) * 31.0 * DAY,
            (WindowLength::Months(s), WindowLength::Seconds(t)) => f64::from(s) * 28.0 * DAY < t,
            (WindowLength::Seconds(s), WindowLength::Seconds(t)) => s < t,
            _ => false,
        };
        if shorter {
            let d = Diagnostic::new(
                Code::E0009,
                "`step` is shorter than `test`: test windows would overlap",
                step_span,
                "shorter than the test window",
            )
            .with_label(test_span, "test window");
            self.report(d.with_help("out-of-sample equity is stitched from test windows that do not overlap: make `step` at least `test`"));
            return None;
        }
        let minutes = [train_attr, test_attr, f.attr("step")]
            .into_iter()
            .flatten()
            .find(|a| matches!(a.value.kind, ExprKind::Duration(_, TimeUnit::Minutes)))
            .map(|a| a.value.span);
        Some((Validation::WalkForward { train, test, step, anchored }, test_span, minutes))
    }

    /// A window length: a positive number of bars or a positive duration.
    fn window_length(&mut self, attr: &Attribute) -> Option<(WindowLength, Span)> {
        let span = attr.value.span;
        let name = attr.name.name.to_string();
        match self.eval(&attr.value, None)? {
            Value::Int(n) if n >= 1 => Some((WindowLength::Bars(u64::try_from(n).ok()?), span)),
            Value::Duration(s) if s > 0.0 => Some((WindowLength::Seconds(s), span)),
            Value::Months(m) if m >= 1.0 && m.fract() == 0.0 && m <= f64::from(u32::MAX) => {
                Some((WindowLength::Months(m as u32), span))
            }
            Value::Months(m) => {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("`{name}` is {m} months: calendar lengths are whole months"),
                    span,
                    "not a whole number of months",
                );
                self.report(d.with_help("write whole months (`6mo`), years (`2y`), or days (`45d`)"));
                None
            }
            Value::Int(_) | Value::Duration(_) => {
                self.bounds(
                    span,
                    format!("`{name}` must be at least one bar or a positive duration"),
                    "empty window",
                );
                None
            }
            other => {
                self.mismatch(span, "a number of bars (`126`) or a duration (`180d`, `6mo`, `2y`)", &other);
                None
            }
        }
    }

    /// Asks the host for the windows (once) and reports those that do not fit (E0017).
    pub(super) fn windows(&mut self, files: &Files, validation: &Validation, at: Option<Where>) -> Windows {
        let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
        let Some(answer) = self.host.windows(&paths, validation) else { return Windows::UNKNOWN };
        let span = at.map(|w| w.whole).or(files.first().map(|(_, s)| *s));
        let folds = match answer {
            Ok(folds) => folds,
            Err(why) => {
                if let Some(span) = span {
                    let d = Diagnostic::new(
                        Code::E0017,
                        format!("the windows do not fit: {why}"),
                        span,
                        "windows",
                    );
                    let help = match validation {
                        Validation::HoldoutFrom(_) => {
                            "choose a date after the data's first bar and on or before its last".to_string()
                        }
                        _ => at.map_or_else(
                            || "shorten the windows or the hold-out, or use longer data".to_string(),
                            |w| w.help("shorten the windows or the hold-out, or use longer data"),
                        ),
                    };
                    self.report(d.with_help(help));
                }
                return Windows::UNKNOWN;
            }
        };
        let each = || folds.iter().flat_map(|fold| fold.iter().zip(&paths));
        Windows {
            folds: folds.len() as u64,
            shortest_train: each().min_by_key(|(w, _)| w.train).map(|(w, path)| (path.clone(), w.train)),
            shortest_test: each()
                .filter_map(|(w, path): (&WindowBars, &String)| Some((path.clone(), w.test?)))
                .min_by_key(|(_, bars)| *bars),
        }
    }

    /// E0017 when the shortest test window leaves no genome room for a closed trade.
    pub(super) fn test_windows_fit(&mut self, windows: &Windows, at: Option<Where>, strategy: &StrategyDef) {
        let (Some((path, bars)), Some(at)) = (&windows.shortest_test, at) else { return };
        let (bars, span) = (*bars, at.test);
        let (why, need) = if strategy.prelude {
            let need = super::warm_up::builtin_warm_up(strategy)
                .into_iter()
                .map(|(name, range, offset)| (name, range.lo + offset + BARS_FOR_A_TRADE));
            let Some((name, need)) = need.max_by_key(|(_, n)| *n) else { return };
            (format!("its `{name}` at its lower bound"), need)
        } else {
            let Some(need) = super::strategy::least_bars_for_a_trade(strategy) else { return };
            ("its genes at their shortest periods".to_string(), need)
        };
        if i64::try_from(bars).unwrap_or(i64::MAX) >= need {
            return;
        }
        let d = Diagnostic::new(
            Code::E0017,
            format!(
                "a test window of `{path}` holds {bars} bars, but the strategy needs at least {need} ({why}) for one closed trade"
            ),
            span,
            "test window too short",
        );
        self.report(d.with_help(
            at.help("lengthen the test windows (or the hold-out), or shorten the strategy's periods"),
        ));
    }
}

/// `YYYY-MM-DD`, optionally followed by ` HH:MM:SS` (or `T`), a real calendar date.
fn is_date(text: &str) -> bool {
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let numbers = |s: &str, sep: char, widths: &[usize]| -> Option<Vec<u32>> {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != widths.len() || parts.iter().zip(widths).any(|(p, w)| p.len() != *w) {
            return None;
        }
        parts.iter().map(|p| p.parse::<u32>().ok()).collect()
    };
    let Some([y, m, d]) = numbers(date, '-', &[4, 2, 2]).and_then(|v| <[u32; 3]>::try_from(v).ok()) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let day_ok = (1..=12).contains(&m) && d >= 1 && days.get(m as usize - 1).is_some_and(|&n| d <= n);
    let time_ok = match time {
        None => true,
        Some(t) => numbers(t, ':', &[2, 2, 2])
            .is_some_and(|v| matches!(v.as_slice(), [h, m, s] if *h < 24 && *m < 60 && *s < 60)),
    };
    day_ok && time_ok
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_calendar_dates() {
        for ok in ["2016-01-04", "2000-02-29", "2016-01-04 09:30:00", "2016-01-04T23:59:59"] {
            assert!(super::is_date(ok), "{ok}");
        }
        for bad in
            ["2016-1-4", "1900-02-29", "2016-13-01", "2016-01-32", "2016-01-04 24:00:00", "20160104", ""]
        {
            assert!(!super::is_date(bad), "{bad}");
        }
    }
}
