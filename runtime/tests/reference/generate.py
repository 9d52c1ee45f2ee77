"""Reference backtests from backtesting.py 0.6.6, for the runtime's tests.

Not part of the build or of CI: run it by hand when the strategies' conventions change,
in a scratch virtual environment (`python3 -m venv v && v/bin/pip install backtesting==0.6.6`):

    v/bin/python runtime/tests/reference/generate.py > runtime/tests/reference/backtests.json

Each strategy here is the backtesting.py twin of one in runtime/src/strategy/: long only,
market orders at the next open, all cash in whole units, commission per side, open trades
left open at the end (backtesting.py's defaults, which BACKTEST.md fixes).
"""
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

warnings.filterwarnings("ignore")
DATA = Path(__file__).resolve().parents[3] / "examples" / "data"


def load(name):
    df = pd.read_csv(DATA / name)
    date_col = "Date" if "Date" in df.columns else df.columns[0]
    fmt = "%m/%d/%Y" if "arch" in name else None
    df.index = pd.to_datetime(df[date_col], format=fmt)
    return df[["Open", "High", "Low", "Close", "Volume"]]


def sma(values, n):
    return pd.Series(values).rolling(n).mean().values


def wilder_rsi(close, n):
    """RSI seeded with the simple mean of the first n changes, then Wilder's smoothing."""
    close = np.asarray(close, dtype=float)
    out = np.full(len(close), np.nan)
    if len(close) <= n:
        return out
    delta = np.diff(close)
    gains, losses = np.clip(delta, 0, None), np.clip(-delta, 0, None)
    # A plain left-to-right sum (numpy's mean sums pairwise), as the runtime does.
    avg_gain, avg_loss = 0.0, 0.0
    for g, l in zip(gains[:n], losses[:n]):
        avg_gain += g
        avg_loss += l
    avg_gain, avg_loss = avg_gain / n, avg_loss / n

    def rsi(g, l):
        if l == 0:
            return 100.0 if g > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + g / l)

    out[n] = rsi(avg_gain, avg_loss)
    for i in range(n + 1, len(close)):
        avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
        avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = rsi(avg_gain, avg_loss)
    return out


def highest_before(values, n):
    return pd.Series(values).rolling(n).max().shift(1).values


def lowest_before(values, n):
    return pd.Series(values).rolling(n).min().shift(1).values


class SmaCrossover(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.f = self.I(sma, self.data.Close, self.fast)
        self.s = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            if not self.position:
                self.buy()
        elif crossover(self.s, self.f):
            if self.position:
                self.position.close()


class RsiReversion(Strategy):
    period = 14
    lower = 30
    upper = 70

    def init(self):
        self.r = self.I(wilder_rsi, self.data.Close, self.period)

    def next(self):
        prev, now = self.r[-2], self.r[-1]
        if prev < self.lower < now:
            if not self.position:
                self.buy()
        elif prev > self.upper > now:
            if self.position:
                self.position.close()


class Breakout(Strategy):
    lookback = 20
    exit = 10

    def init(self):
        self.hh = self.I(highest_before, self.data.High, self.lookback)
        self.ll = self.I(lowest_before, self.data.Low, self.exit)

    def next(self):
        close = self.data.Close[-1]
        if close > self.hh[-1]:
            if not self.position:
                self.buy()
        elif close < self.ll[-1]:
            if self.position:
                self.position.close()


CASES = [
    # The four rows of BACKTEST.md, then others of every strategy and data layout.
    ("GOOG_wiki.csv", "sma_crossover", {"fast": 10, "slow": 20}, 10_000, 0.001),
    ("GOOG_wiki.csv", "sma_crossover", {"fast": 5, "slow": 50}, 10_000, 0.001),
    ("GOOG_wiki.csv", "sma_crossover", {"fast": 20, "slow": 100}, 10_000, 0.001),
    ("GOOG_wiki.csv", "sma_crossover", {"fast": 3, "slow": 7}, 10_000, 0.001),
    ("GOOG_wiki.csv", "sma_crossover", {"fast": 30, "slow": 10}, 10_000, 0.001),
    ("GOOG_wiki.csv", "rsi_reversion", {"period": 14, "lower": 30, "upper": 70}, 10_000, 0.001),
    ("GOOG_wiki.csv", "breakout", {"lookback": 20, "exit": 10}, 10_000, 0.001),
    ("IBM_wiki.csv", "sma_crossover", {"fast": 12, "slow": 40}, 10_000, 0.001),
    ("IBM_wiki.csv", "rsi_reversion", {"period": 7, "lower": 25, "upper": 65}, 10_000, 0.0),
    ("IBM_wiki.csv", "breakout", {"lookback": 55, "exit": 20}, 50_000, 0.002),
    ("SP500_arch.csv", "sma_crossover", {"fast": 50, "slow": 200}, 1_000_000, 0.001),
    ("SP500_arch.csv", "rsi_reversion", {"period": 2, "lower": 10, "upper": 90}, 1_000_000, 0.0005),
    ("SP500_arch.csv", "breakout", {"lookback": 100, "exit": 50}, 10_000, 0.001),
    ("MSFT_pmdarima.csv", "sma_crossover", {"fast": 8, "slow": 30}, 10_000, 0.001),
    ("MSFT_pmdarima.csv", "breakout", {"lookback": 30, "exit": 15}, 10_000, 0.001),
    # Price above the cash: no trade can open.
    ("SP500_arch.csv", "sma_crossover", {"fast": 5, "slow": 20}, 1_000, 0.001),
]
STRATEGIES = {"sma_crossover": SmaCrossover, "rsi_reversion": RsiReversion, "breakout": Breakout}


def number(x):
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def run(data, strategy, params, cash, commission):
    bt = Backtest(load(data), STRATEGIES[strategy], cash=cash, commission=commission)
    s = bt.run(**params)
    trades = s["_trades"]
    return {
        "data": data,
        "strategy": strategy,
        "params": params,
        "cash": cash,
        "commission": commission,
        "metrics": {
            "final_equity": number(s["Equity Final [$]"]),
            "total_return": number(s["Return [%]"] / 100),
            "trades": int(s["# Trades"]),
            "max_drawdown": number(-s["Max. Drawdown [%]"] / 100),
            "sharpe": number(s["Sharpe Ratio"]),
            "sortino": number(s["Sortino Ratio"]),
            "calmar": number(s["Calmar Ratio"]),
            "win_rate": number(s["Win Rate [%]"] / 100),
            "profit_factor": number(s["Profit Factor"]),
            "annual_return": number(s["Return (Ann.) [%]"] / 100),
            "annual_volatility": number(s["Volatility (Ann.) [%]"] / 100),
        },
        "trade_list": [
            {"entry_bar": int(t.EntryBar), "exit_bar": int(t.ExitBar), "units": int(t.Size),
             "entry": float(t.EntryPrice), "exit": float(t.ExitPrice), "pnl": float(t.PnL)}
            for t in trades.itertuples()
        ],
        "equity_every_100": [float(x) for x in s["_equity_curve"]["Equity"].values[::100]],
    }


def sma_checksums():
    """pandas' rolling mean of Close, summarised exactly: the sum of the float64 bit
    patterns (mod 2**64) of the defined values, and how many are undefined."""
    out = {}
    for name in ["GOOG_wiki.csv", "IBM_wiki.csv", "SP500_arch.csv", "MSFT_pmdarima.csv"]:
        close = load(name)["Close"].values.astype(float)
        for n in [2, 3, 7, 10, 20, 50, 100, 200]:
            sma_values = pd.Series(close).rolling(n).mean().values
            defined = sma_values[~np.isnan(sma_values)]
            bits = int(defined.view(np.uint64).astype(object).sum()) % 2**64
            out[f"{name}:{n}"] = {"bits_sum": str(bits), "undefined": int(np.isnan(sma_values).sum())}
    return out


if __name__ == "__main__":
    out = [run(*case) for case in CASES]
    json.dump({"generator": "backtesting.py 0.6.6 (pandas " + pd.__version__ + ") via runtime/tests/reference/generate.py",
               "cases": out, "sma_checksums": sma_checksums()},
              sys.stdout, indent=1)
    sys.stdout.write("\n")
