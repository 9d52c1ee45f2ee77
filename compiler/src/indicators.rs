//! The indicator library a strategy's rules may call (STRATEGIES.md): each indicator's
//! parameters, outputs and definition. The checker types calls by this table; an editor
//! completes and explains from it, so the two cannot disagree.

use serde::Serialize;

/// What an indicator parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Param {
    /// A series (`close`, another indicator, arithmetic over them).
    Series,
    /// A period in bars: an int, or an int gene; at least 1.
    Period,
    /// A number that may be a float (bollinger's width `k`), constant or a gene.
    Number,
}

/// One indicator of the library.
#[derive(Debug)]
pub struct Indicator {
    /// As called: `sma`.
    pub name: &'static str,
    /// Parameter names (as a call may name them) and kinds, in call order.
    pub params: &'static [(&'static str, Param)],
    /// The outputs a call must pick one of (`.line`); empty for a single series.
    pub outputs: &'static [&'static str],
    /// The reference definition, in pandas (hovers show it).
    pub pandas: &'static str,
}

impl Indicator {
    /// `sma(x, n)`: the call's shape, for help lines and completions.
    pub fn shape(&self) -> String {
        let params: Vec<&str> = self.params.iter().map(|p| p.0).collect();
        format!("{}({})", self.name, params.join(", "))
    }
}

use Param::{Number, Period, Series};

/// Every indicator, in STRATEGIES.md's order.
pub const INDICATORS: &[Indicator] = &[
    Indicator {
        name: "sma",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "x.rolling(n).mean()",
    },
    Indicator {
        name: "ema",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "x.ewm(span=n, adjust=False, min_periods=n).mean()",
    },
    Indicator {
        name: "wma",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "x.rolling(n).apply(lambda w: (w * np.arange(1, n + 1)).sum() / (n * (n + 1) / 2), raw=True)",
    },
    Indicator {
        name: "rsi",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "Wilder's RSI: the first value at index n from the plain means of the first n gains and losses, then (avg * (n - 1) + g) / n; 100 with only gains, 50 when flat",
    },
    Indicator {
        name: "macd",
        params: &[("x", Series), ("f", Period), ("s", Period), ("k", Period)],
        outputs: &["line", "signal", "hist"],
        pandas: ".line = ema(x, f) - ema(x, s); .signal = .line.ewm(span=k, adjust=False, min_periods=k).mean(); .hist = .line - .signal",
    },
    Indicator {
        name: "bollinger",
        params: &[("x", Series), ("n", Period), ("k", Number)],
        outputs: &["middle", "upper", "lower"],
        pandas: ".middle = sma(x, n); .upper/.lower = .middle ± k * x.rolling(n).std(ddof=0)",
    },
    Indicator {
        name: "atr",
        params: &[("n", Period)],
        outputs: &[],
        pandas: "tr = max(h - l, |h - c.shift()|, |l - c.shift()|); tr.ewm(alpha=1/n, adjust=False, min_periods=n).mean()",
    },
    Indicator {
        name: "adx",
        params: &[("n", Period)],
        outputs: &[],
        pandas: "Wilder's ADX: W(dx) with dx = 100 * |pdi - mdi| / (pdi + mdi), pdi/mdi = 100 * W(±dm) / atr(n), W(s) = s.ewm(alpha=1/n, adjust=False, min_periods=n).mean()",
    },
    Indicator {
        name: "stochastic",
        params: &[("n", Period), ("d", Period)],
        outputs: &["k", "d"],
        pandas: ".k = 100 * (c - l.rolling(n).min()) / (h.rolling(n).max() - l.rolling(n).min()); .d = .k.rolling(d).mean()",
    },
    Indicator {
        name: "cci",
        params: &[("n", Period)],
        outputs: &[],
        pandas: "tp = (h + l + c) / 3; (tp - tp.rolling(n).mean()) / (0.015 * mean absolute deviation of tp over n)",
    },
    Indicator {
        name: "obv",
        params: &[],
        outputs: &[],
        pandas: "(np.sign(c.diff()).fillna(0) * v).cumsum()",
    },
    Indicator {
        name: "roc",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "100 * (x / x.shift(n) - 1)",
    },
    Indicator {
        name: "highest",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "x.rolling(n).max() (this bar included)",
    },
    Indicator {
        name: "lowest",
        params: &[("x", Series), ("n", Period)],
        outputs: &[],
        pandas: "x.rolling(n).min() (this bar included)",
    },
    Indicator {
        name: "vwap",
        params: &[("n", Period)],
        outputs: &[],
        pandas: "tp = (h + l + c) / 3; (tp * v).rolling(n).sum() / v.rolling(n).sum()",
    },
];

/// The rule functions besides indicators: their names and shapes.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("crosses_above", "crosses_above(a, b): a[i-1] < b[i-1] and a[i] > b[i]"),
    ("crosses_below", "crosses_below(a, b): crosses_above(b, a)"),
    ("lag", "lag(x, n): x n bars earlier (pandas shift(n))"),
];

/// The price series a rule may name.
pub const SERIES: &[&str] = &["open", "high", "low", "close", "volume"];

/// The indicator called `name`.
pub fn indicator(name: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.name == name)
}
