"""STRATEGIES.md's indicator definitions, in pandas, as the reference gaform is held to.

Reads one OHLCV CSV and a JSON list of indicator calls on stdin
(`[["sma", "close", 20], ["macd", "close", 12, 26, 9, "line"], ...]`), and prints one JSON
object: each call's key (`"sma(close,20)"`) and its values (null where undefined).
"""
import json
import sys

import numpy as np
import pandas as pd

df = pd.read_csv(sys.argv[1])
h, l, c, v = df["High"].astype(float), df["Low"].astype(float), df["Close"].astype(float), df["Volume"].astype(float)
PRICES = {"open": df["Open"].astype(float), "high": h, "low": l, "close": c, "volume": v}


def ewm(x, n):
    return x.ewm(span=n, adjust=False, min_periods=n).mean()


def wilder_smooth(s, n):
    return s.ewm(alpha=1 / n, adjust=False, min_periods=n).mean()


def atr(n):
    tr = pd.concat([h - l, (h - c.shift()).abs(), (l - c.shift()).abs()], axis=1).max(axis=1)
    return tr.ewm(alpha=1 / n, adjust=False, min_periods=n).mean()


def rsi(x, n):
    # Wilder's, from the series' first defined value (STRATEGIES.md: as today's rsi_reversion).
    values = x.to_numpy()
    out = np.full(len(values), np.nan)
    first = int(np.argmax(~np.isnan(values))) if (~np.isnan(values)).any() else len(values)
    rest = values[first:]
    gaps = np.isnan(rest)
    end = int(np.argmax(gaps)) if gaps.any() else len(rest)
    rest = rest[:end]
    if len(rest) <= n:
        return pd.Series(out)
    gain = loss = 0.0
    for i in range(1, n + 1):
        d = rest[i] - rest[i - 1]
        gain += max(d, 0.0)
        loss += max(-d, 0.0)
    gain /= n
    loss /= n

    def value(g, lo):
        if lo == 0.0:
            return 100.0 if g > 0.0 else 50.0
        return 100.0 - 100.0 / (1.0 + g / lo)

    for i in range(n, len(rest)):
        if i > n:
            d = rest[i] - rest[i - 1]
            gain = (gain * (n - 1) + max(d, 0.0)) / n
            loss = (loss * (n - 1) + max(-d, 0.0)) / n
        out[first + i] = value(gain, loss)
    return pd.Series(out)


def series(spec):
    """A series argument: a price name, or a nested call."""
    if isinstance(spec, str):
        return PRICES[spec]
    return compute(spec)


def compute(call):
    name, *args = call
    if name == "sma":
        return series(args[0]).rolling(args[1]).mean()
    if name == "ema":
        return ewm(series(args[0]), args[1])
    if name == "wma":
        n = args[1]
        return series(args[0]).rolling(n).apply(lambda w: (w * np.arange(1, n + 1)).sum() / (n * (n + 1) / 2), raw=True)
    if name == "rsi":
        return rsi(series(args[0]), args[1])
    if name == "macd":
        x, f, s, k, output = series(args[0]), args[1], args[2], args[3], args[4]
        line = ewm(x, f) - ewm(x, s)
        signal = line.ewm(span=k, adjust=False, min_periods=k).mean()
        return {"line": line, "signal": signal, "hist": line - signal}[output]
    if name == "bollinger":
        x, n, k, output = series(args[0]), args[1], args[2], args[3]
        middle = x.rolling(n).mean()
        std = x.rolling(n).std(ddof=0)
        return {"middle": middle, "upper": middle + k * std, "lower": middle - k * std}[output]
    if name == "atr":
        return atr(args[0])
    if name == "adx":
        n = args[0]
        up, dn = h.diff(), -l.diff()
        pdm = up.where((up > dn) & (up > 0), 0)
        mdm = dn.where((dn > up) & (dn > 0), 0)
        pdi = 100 * wilder_smooth(pdm, n) / atr(n)
        mdi = 100 * wilder_smooth(mdm, n) / atr(n)
        dx = 100 * (pdi - mdi).abs() / (pdi + mdi)
        return wilder_smooth(dx, n)
    if name == "stochastic":
        n, d, output = args
        k = 100 * (c - l.rolling(n).min()) / (h.rolling(n).max() - l.rolling(n).min())
        return {"k": k, "d": k.rolling(d).mean()}[output]
    if name == "cci":
        n = args[0]
        tp = (h + l + c) / 3
        mad = tp.rolling(n).apply(lambda w: abs(w - w.mean()).mean(), raw=True)
        return (tp - tp.rolling(n).mean()) / (0.015 * mad)
    if name == "obv":
        return (np.sign(c.diff()).fillna(0) * v).cumsum()
    if name == "roc":
        x, n = series(args[0]), args[1]
        return 100 * (x / x.shift(n) - 1)
    if name == "highest":
        return series(args[0]).rolling(args[1]).max()
    if name == "lowest":
        return series(args[0]).rolling(args[1]).min()
    if name == "vwap":
        n = args[0]
        tp = (h + l + c) / 3
        return (tp * v).rolling(n).sum() / v.rolling(n).sum()
    if name == "lag":
        return series(args[0]).shift(args[1])
    raise ValueError(f"unknown indicator {name}")


def key(call):
    if isinstance(call, str):
        return call
    name, *args = call
    return f"{name}({','.join(key(a) if isinstance(a, (str, list)) else repr(a) for a in args)})"


calls = json.load(sys.stdin)
out = {}
for call in calls:
    values = compute(call).to_numpy(dtype=float)
    out[key(call)] = [None if np.isnan(x) else float(x) for x in values]
json.dump(out, sys.stdout)
