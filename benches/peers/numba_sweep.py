"""Peer for `cargo bench -p gaform-runtime --bench sma_sweep` (issue 15: "the sweep: 5x the
numba loop of the same conventions"): the full SMA-crossover sweep of GOOG (every 2 <= fast <
slow <= 200, 19,701 backtests) as a hand-written numba loop following BACKTEST.md: crossings
on strict comparisons, fills at the next open, whole units of all the cash less a hair,
commission on both sides, an open trade marked to market and not counted, and the metrics
from the daily equity (total return, max drawdown, annual return and volatility from the
geometric mean, Sharpe, Sortino, Calmar, win rate, profit factor). One thread, SMAs computed
once before the clock starts (as the Rust sweep does). Not part of the build or the tests.

    python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install numpy numba
    /tmp/peer-venv/bin/python benches/peers/numba_sweep.py examples/data/GOOG_wiki.csv

It first prints the four reference rows of BACKTEST.md (final equity, trades, Sharpe), to show
that it follows the same conventions, then the best of 5 sweeps.
"""
import math
import sys
import time

import numpy as np
from numba import njit

EPS = 2.220446049250313e-16
PERIODS = 252.0


def load(path):
    opens, closes = [], []
    with open(path) as f:
        header = [c.strip().lower() for c in f.readline().split(",")]
        o, c = header.index("open"), header.index("close")
        for line in f:
            cells = line.split(",")
            opens.append(float(cells[o]))
            closes.append(float(cells[c]))
    return np.array(opens), np.array(closes)


def smas(close, longest):
    out = np.full((longest + 1, len(close)), np.nan)
    for n in range(1, longest + 1):
        s = np.convolve(close, np.ones(n) / n, mode="valid")
        out[n, n - 1 :] = s
    return out


@njit(cache=True, fastmath=False)
def backtest(open_, close, fast, slow, start, cash0, commission, out):
    n = len(close)
    cash = cash0
    units = 0.0
    entry = 0.0
    long_ = False
    peak = cash0
    max_dd = 0.0
    prev_eq = cash0
    sum_r = 0.0
    sum_r2 = 0.0
    sum_down2 = 0.0
    count_r = 0
    trades = 0
    wins = 0
    gains = 0.0
    losses = 0.0
    pending = 0  # 1 buy, -1 sell at the next open
    for i in range(n):
        if pending == 1:
            price = open_[i]
            adjusted = price * (1.0 + commission)
            u = math.floor(cash * (1.0 - EPS) / adjusted)
            if u >= 1.0:
                units = u
                entry = price
                cash -= units * price * commission
                long_ = True
        elif pending == -1:
            price = open_[i]
            fee = units * price * commission
            gross = units * (price - entry)
            cash += gross - fee
            fees = fee + units * entry * commission
            pnl = gross - fees
            ret = (price / entry - 1.0) - fees / (units * entry)
            trades += 1
            if pnl > 0.0:
                wins += 1
            if ret > 0.0:
                gains += ret
            else:
                losses -= ret
            long_ = False
        pending = 0
        eq = cash + units * (close[i] - entry) if long_ else cash
        if eq > peak:
            peak = eq
        dd = 1.0 - eq / peak
        if dd > max_dd:
            max_dd = dd
        if i > 0:
            r = eq / prev_eq - 1.0
            sum_r += r
            sum_r2 += r * r
            if r < 0.0:
                sum_down2 += r * r
            count_r += 1
        prev_eq = eq
        if i >= start and i + 1 < n:
            up = fast[i - 1] < slow[i - 1] and fast[i] > slow[i]
            down = fast[i - 1] > slow[i - 1] and fast[i] < slow[i]
            if not long_ and up:
                pending = 1
            elif long_ and down:
                pending = -1
    g = (prev_eq / cash0) ** (1.0 / count_r) - 1.0
    mean = sum_r / count_r
    var = (sum_r2 - count_r * mean * mean) / (count_r - 1)
    annual = (1.0 + g) ** PERIODS - 1.0
    vol = math.sqrt((var + (1.0 + g) ** 2) ** PERIODS - (1.0 + g) ** (2.0 * PERIODS))
    out[0] = prev_eq
    out[1] = prev_eq / cash0 - 1.0
    out[2] = trades
    out[3] = max_dd
    out[4] = annual / vol if vol > 0 else np.nan
    out[5] = annual / (math.sqrt(sum_down2 / count_r) * math.sqrt(PERIODS))
    out[6] = annual / max_dd if max_dd > 0 else np.nan
    out[7] = wins / trades if trades > 0 else np.nan
    out[8] = gains / losses if losses > 0 else np.nan


@njit(cache=True)
def sweep(open_, close, table, cash0, commission):
    out = np.empty(9)
    best = -np.inf
    for fast in range(2, 201):
        for slow in range(fast + 1, 201):
            backtest(open_, close, table[fast], table[slow], slow, cash0, commission, out)
            if out[4] > best:
                best = out[4]
    return best


def main():
    open_, close = load(sys.argv[1])
    table = smas(close, 200)
    out = np.empty(9)
    for fast, slow in [(10, 20), (5, 50), (20, 100), (3, 7)]:
        backtest(open_, close, table[fast], table[slow], slow, 10_000.0, 0.001, out)
        print(f"sma({fast}, {slow}): final equity {out[0]:.4f}, {int(out[2])} trades, Sharpe {out[4]:.6f}")
    sweep(open_, close, table, 10_000.0, 0.001)  # compile
    times = []
    for _ in range(5):
        started = time.perf_counter()
        best = sweep(open_, close, table, 10_000.0, 0.001)
        times.append(time.perf_counter() - started)
    bars = 19_701 * len(close)
    print(f"sweep: best of 5 {min(times):.3f} s ({bars / min(times):.3e} bar-evaluations/s), "
          f"median {sorted(times)[2]:.3f} s; best Sharpe {best:.6f}")


if __name__ == "__main__":
    main()
