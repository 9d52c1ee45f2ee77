//! One gene assignment of a strategy written in a file, as a self-contained backtesting.py
//! 0.6.6 script (pandas, numpy and backtesting.py only) that loads the same rows of the same
//! data as gaform, backtests them with the same cash and commission, and prints the metrics
//! (gaform's names) and trades as one JSON line: a result anyone can re-check without gaform.
//!
//! Every series a rule compares, and every stop distance, is one `self.I` indicator kept as
//! an attribute, so backtesting.py's warm-up is gaform's (STRATEGIES.md, Orders).

use gaform_runtime::rules::series::{Binder, Cond, Key};
use gaform_runtime::rules::{Arith, Compare, Distance, Price, Program, Side};
use std::fmt::Write;

/// Where the data comes from: the CSV's path and the rows backtested.
pub struct Rows<'a> {
    pub path: &'a str,
    pub from: usize,
    pub to: usize,
}

/// The script for `program` with `genome` on `rows`.
pub fn script(
    program: &Program,
    genome: &[f64],
    rows: &Rows<'_>,
    cash: f64,
    commission: f64,
) -> Result<String, String> {
    let binder = Binder { program, genome };
    let mut series = Registry::default();
    let long = program.side != Side::Short;
    let short = program.side != Side::Long;
    let mut condition =
        |rule: &Option<gaform_runtime::rules::Expr>, wanted: bool| -> Result<Option<String>, String> {
            match rule.as_ref().filter(|_| wanted) {
                Some(e) => Ok(Some(series.condition(&binder.condition(e).map_err(|e| e.to_string())?))),
                None => Ok(None),
            }
        };
    let entry = condition(&program.entry, long)?;
    let exit = condition(&program.exit, long)?;
    let entry_short = condition(&program.entry_short, short)?;
    let exit_short = condition(&program.exit_short, short)?;
    let mut level = |d: &Option<Distance>| -> Result<Option<(bool, String)>, String> {
        Ok(match d {
            None => None,
            Some(Distance::Fraction(e)) => {
                Some((true, series.value(&binder.number(e).map_err(|e| e.to_string())?, 1)))
            }
            Some(Distance::Price(e)) => {
                Some((false, series.value(&binder.number(e).map_err(|e| e.to_string())?, 1)))
            }
        })
    };
    let stop_loss = level(&program.stop_loss)?;
    let take_profit = level(&program.take_profit)?;
    let trailing = level(&program.trailing_stop)?;
    let size = match binder.number(&program.size).map_err(|e| e.to_string())? {
        Key::Const(bits) if f64::from_bits(bits) > 0.0 && f64::from_bits(bits) < 1.0 => {
            format!("size={}, ", float(f64::from_bits(bits)))
        }
        _ => String::new(),
    };

    let mut s = String::new();
    let called = program.show(genome);
    let _ = writeln!(s, "\"\"\"{called}, exported by gaform: a backtesting.py 0.6.6 re-check.");
    let _ = writeln!(
        s,
        "\nRuns on rows {}..{} of {} with ${cash} cash and {commission} commission per side, and",
        rows.from, rows.to, rows.path
    );
    s.push_str("prints the metrics (gaform's names) and the closed trades as one JSON line.\n\"\"\"\n");
    s.push_str(PRELUDE);
    let _ = writeln!(
        s,
        "\nDATA = {}\nROWS = ({}, {})\nCASH = {}\nCOMMISSION = {}\n",
        string(rows.path),
        rows.from,
        rows.to,
        float(cash),
        float(commission)
    );
    s.push_str("\nclass Exported(Strategy):\n    def init(self):\n");
    s.push_str("        o, h, l, c, v = (pd.Series(np.asarray(x, dtype=float)) for x in (self.data.Open, self.data.High, self.data.Low, self.data.Close, self.data.Volume))\n");
    for (k, expr) in series.python.iter().enumerate() {
        let _ = writeln!(
            s,
            "        self.s{k} = self.I(lambda: np.asarray({expr}, dtype=float), name=\"s{k}\", plot=False)"
        );
    }
    if series.python.is_empty() {
        s.push_str("        pass\n");
    }
    s.push_str(
        "\n    def next(self):\n        close = float(self.data.Close[-1])\n        if self.position:\n",
    );
    let _ = writeln!(
        s,
        "            if self.position.is_long and ({}):\n                self.position.close()",
        exit.as_deref().unwrap_or("False")
    );
    let _ = writeln!(
        s,
        "            elif self.position.is_short and ({}):\n                self.position.close()",
        exit_short.as_deref().unwrap_or("False")
    );
    if let Some((fraction, d)) = &trailing {
        let (below, above) = offsets(*fraction, d);
        let _ = writeln!(s, "            for trade in self.trades:");
        let _ = writeln!(s, "                if trade.is_long:\n                    candidate = {below}\n                    if math.isfinite(candidate) and candidate > 0:\n                        trade.sl = max(trade.sl or -math.inf, candidate)");
        let _ = writeln!(s, "                else:\n                    candidate = {above}\n                    if math.isfinite(candidate) and candidate > 0:\n                        trade.sl = min(trade.sl or math.inf, candidate)");
    }
    s.push_str("        else:\n");
    let (long_stop, short_stop) = stops(stop_loss.as_ref());
    let (short_target, long_target) = stops(take_profit.as_ref());
    let _ = writeln!(s, "            if {}:", entry.as_deref().unwrap_or("False"));
    let _ = writeln!(s, "                sl, tp = {long_stop}, {long_target}");
    s.push_str("                sl = sl if sl is not None and 0 < sl < close else None\n");
    s.push_str("                tp = tp if tp is not None and tp > close else None\n");
    let _ = writeln!(s, "                self.buy({size}sl=sl, tp=tp)");
    let _ = writeln!(s, "            elif {}:", entry_short.as_deref().unwrap_or("False"));
    let _ = writeln!(s, "                sl, tp = {short_stop}, {short_target}");
    s.push_str("                sl = sl if sl is not None and sl > close else None\n");
    s.push_str("                tp = tp if tp is not None and 0 < tp < close else None\n");
    let _ = writeln!(s, "                self.sell({size}sl=sl, tp=tp)");
    s.push_str(MAIN);
    Ok(s)
}

/// The price below and above the close by a level: `close * (1 - p)` or `close - d`.
fn offsets(fraction: bool, d: &str) -> (String, String) {
    if fraction {
        (format!("close * (1 - {d})"), format!("close * (1 + {d})"))
    } else {
        (format!("close - {d}"), format!("close + {d}"))
    }
}

/// A level's prices below and above the close (`None` in Python when there is none),
/// each defined only where the level is.
fn stops(level: Option<&(bool, String)>) -> (String, String) {
    match level {
        None => ("None".into(), "None".into()),
        Some((fraction, d)) => {
            let (below, above) = offsets(*fraction, d);
            let guard = |p: String| format!("(lambda p: p if math.isfinite(p) else None)({p})");
            (guard(below), guard(above))
        }
    }
}

/// The series registered as indicators, each once, and how rules read them.
#[derive(Default)]
struct Registry {
    keys: Vec<Key>,
    python: Vec<String>,
}

impl Registry {
    /// A number or series as the strategy's `next` reads it `back` bars ago (1: this bar):
    /// a literal, or an indicator attribute.
    fn value(&mut self, key: &Key, back: usize) -> String {
        if let Some(v) = key.constant() {
            return float(v);
        }
        let k = match self.keys.iter().position(|k| k == key) {
            Some(k) => k,
            None => {
                self.keys.push(key.clone());
                self.python.push(pandas(key));
                self.keys.len() - 1
            }
        };
        format!("self.s{k}[-{back}]")
    }

    fn condition(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::Bool(b) => if *b { "True" } else { "False" }.into(),
            Cond::Compare(op, a, b) => {
                let op = match op {
                    Compare::Lt => "<",
                    Compare::Le => "<=",
                    Compare::Gt => ">",
                    Compare::Ge => ">=",
                    Compare::Eq => "==",
                    Compare::Ne => "!=",
                };
                format!("({} {op} {})", self.value(a, 1), self.value(b, 1))
            }
            Cond::CrossesAbove(a, b) => {
                let (a1, b1, a2, b2) =
                    (self.value(a, 1), self.value(b, 1), self.value(a, 2), self.value(b, 2));
                format!("(len(self.data) >= 2 and {a2} < {b2} and {a1} > {b1})")
            }
            Cond::And(a, b) => format!("({} and {})", self.condition(a), self.condition(b)),
            Cond::Or(a, b) => format!("({} or {})", self.condition(a), self.condition(b)),
            Cond::Not(a) => format!("(not {})", self.condition(a)),
        }
    }
}

/// `key` as a pandas expression over the series `o h l c v`.
fn pandas(key: &Key) -> String {
    if let Some(v) = key.constant() {
        return float(v);
    }
    match key {
        Key::Price(p) => match p {
            Price::Open => "o",
            Price::High => "h",
            Price::Low => "l",
            Price::Close => "c",
            Price::Volume => "v",
        }
        .into(),
        Key::Const(bits) => float(f64::from_bits(*bits)),
        Key::Neg(x) => format!("(-{})", pandas(x)),
        Key::Arith(op, a, b) => {
            let op = match op {
                Arith::Add => "+",
                Arith::Sub => "-",
                Arith::Mul => "*",
                Arith::Div => "/",
            };
            format!("({} {op} {})", pandas(a), pandas(b))
        }
        Key::Lag(x, n) => format!("{}.shift({n})", series(x)),
        Key::Indicator { name, args, output } => {
            let args: Vec<String> = args
                .iter()
                .enumerate()
                .map(|(i, a)| match a.constant() {
                    // Periods are ints in pandas' windows; bollinger's width `k` is a float.
                    Some(v) if v.fract() == 0.0 && !(name == "bollinger" && i == 2) => {
                        format!("{}", v as i64)
                    }
                    Some(v) => float(v),
                    None => series(a),
                })
                .collect();
            let call = format!("{name}({})", args.join(", "));
            match name.as_str() {
                "macd" | "bollinger" | "stochastic" => format!("{call}[{output}]"),
                _ => call,
            }
        }
    }
}

/// A series argument: a number is spread over every bar, as gaform does.
fn series(key: &Key) -> String {
    match key.constant() {
        Some(v) => format!("pd.Series({}, index=c.index)", float(v)),
        None => pandas(key),
    }
}

/// A float literal Python reads back to the same bits.
fn float(v: f64) -> String {
    if v.is_nan() {
        "math.nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "math.inf" } else { "-math.inf" }.into()
    } else {
        format!("{v:?}")
    }
}

fn string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// The indicator library, as STRATEGIES.md defines it, and the data loader.
const PRELUDE: &str = r#"import json
import math

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy


def ewm(x, n):
    return x.ewm(span=n, adjust=False, min_periods=n).mean()


def wilder(x, n):
    return x.ewm(alpha=1 / n, adjust=False, min_periods=n).mean()


def sma(x, n):
    return x.rolling(n).mean()


def ema(x, n):
    return ewm(x, n)


def wma(x, n):
    return x.rolling(n).apply(lambda w: (w * np.arange(1, n + 1)).sum() / (n * (n + 1) / 2), raw=True)


def rsi(x, n):
    # Wilder's: from the series' first value, the plain means of the first n gains and
    # losses, then (avg * (n - 1) + g) / n; 100 with only gains, 50 when flat.
    values = x.to_numpy(dtype=float)
    out = np.full(len(values), np.nan)
    defined = ~np.isnan(values)
    if not defined.any():
        return pd.Series(out)
    first = int(np.argmax(defined))
    rest = values[first:]
    gaps = np.isnan(rest)
    rest = rest[: int(np.argmax(gaps)) if gaps.any() else len(rest)]
    if len(rest) <= n:
        return pd.Series(out)
    gain = loss = 0.0
    for i in range(1, n + 1):
        d = rest[i] - rest[i - 1]
        gain += max(d, 0.0)
        loss += max(-d, 0.0)
    gain /= n
    loss /= n
    for i in range(n, len(rest)):
        if i > n:
            d = rest[i] - rest[i - 1]
            gain = (gain * (n - 1) + max(d, 0.0)) / n
            loss = (loss * (n - 1) + max(-d, 0.0)) / n
        out[first + i] = (100.0 if gain > 0.0 else 50.0) if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)
    return pd.Series(out)


def macd(x, f, s, k):
    line = ewm(x, f) - ewm(x, s)
    signal = line.ewm(span=k, adjust=False, min_periods=k).mean()
    return line, signal, line - signal


def bollinger(x, n, k):
    middle = x.rolling(n).mean()
    std = x.rolling(n).std(ddof=0)
    return middle, middle + k * std, middle - k * std


def atr(n):
    tr = pd.concat([H - L, (H - C.shift()).abs(), (L - C.shift()).abs()], axis=1).max(axis=1)
    return tr.ewm(alpha=1 / n, adjust=False, min_periods=n).mean()


def adx(n):
    up, dn = H.diff(), -L.diff()
    pdm = up.where((up > dn) & (up > 0), 0)
    mdm = dn.where((dn > up) & (dn > 0), 0)
    pdi = 100 * wilder(pdm, n) / atr(n)
    mdi = 100 * wilder(mdm, n) / atr(n)
    dx = 100 * (pdi - mdi).abs() / (pdi + mdi)
    return wilder(dx, n)


def stochastic(n, d):
    k = 100 * (C - L.rolling(n).min()) / (H.rolling(n).max() - L.rolling(n).min())
    return k, k.rolling(d).mean()


def cci(n):
    tp = (H + L + C) / 3
    mad = tp.rolling(n).apply(lambda w: abs(w - w.mean()).mean(), raw=True)
    return (tp - tp.rolling(n).mean()) / (0.015 * mad)


def obv():
    return (np.sign(C.diff()).fillna(0) * V).cumsum()


def roc(x, n):
    return 100 * (x / x.shift(n) - 1)


def highest(x, n):
    return x.rolling(n).max()


def lowest(x, n):
    return x.rolling(n).min()


def vwap(n):
    tp = (H + L + C) / 3
    return (tp * V).rolling(n).sum() / V.rolling(n).sum()


def load(path, rows):
    """The CSV as gaform reads it: columns by name in any case, the time from a date,
    datetime, time or timestamp column (epoch seconds or a date), rows FROM..TO."""
    raw = pd.read_csv(path)
    columns = {str(c).strip().strip('"').lower(): c for c in raw.columns}
    time = next(columns[c] for c in ("date", "datetime", "time", "timestamp") if c in columns)
    stamps = raw[time]
    if pd.api.types.is_numeric_dtype(stamps):
        index = pd.to_datetime(stamps, unit="s")
    else:
        index = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    frame = pd.DataFrame(
        {name.capitalize(): raw[columns[name]].astype(float).to_numpy() for name in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex(index),
    )
    return frame.iloc[rows[0] : rows[1]]
"#;

/// Runs the backtest and prints the figures.
const MAIN: &str = r##"

def number(x):
    x = float(x)
    return x if math.isfinite(x) else None


if __name__ == "__main__":
    df = load(DATA, ROWS)
    # The indicators of one data set that take no series read the prices from here.
    H, L, C, V = (df[name].reset_index(drop=True) for name in ("High", "Low", "Close", "Volume"))
    stats = Backtest(df, Exported, cash=CASH, commission=COMMISSION).run()
    metrics = {
        "final_equity": number(stats["Equity Final [$]"]),
        "total_return": number(stats["Return [%]"] / 100),
        "trades": int(stats["# Trades"]),
        "max_drawdown": number(-stats["Max. Drawdown [%]"] / 100),
        "sharpe": number(stats["Sharpe Ratio"]),
        "sortino": number(stats["Sortino Ratio"]),
        "calmar": number(stats["Calmar Ratio"]),
        "win_rate": number(stats["Win Rate [%]"] / 100),
        "profit_factor": number(stats["Profit Factor"]),
        "annual_return": number(stats["Return (Ann.) [%]"] / 100),
        "annual_volatility": number(stats["Volatility (Ann.) [%]"] / 100),
    }
    trades = [
        {
            "entry_bar": int(t.EntryBar),
            "exit_bar": int(t.ExitBar),
            "units": float(t.Size),
            "entry_price": float(t.EntryPrice),
            "exit_price": float(t.ExitPrice),
            "pnl": float(t.PnL),
            "return_pct": float(t.ReturnPct),
        }
        for t in stats["_trades"].itertuples()
    ]
    print(json.dumps({"metrics": metrics, "trades": trades}))
"##;
