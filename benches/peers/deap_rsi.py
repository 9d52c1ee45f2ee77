"""Peer for `cargo bench -p gaform-runtime --bench ga_run`: the same GA in DEAP with a numpy
fitness, as our users write it today. Not part of the build or the tests.

    python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install deap numpy
    /tmp/peer-venv/bin/python benches/peers/deap_rsi.py examples/data/GOOG_wiki.csv

Population 100, 50 generations, rsi_reversion(period 2..50, lower 5..45, upper 55..95),
Sharpe fitness; tournament(3), uniform crossover at 0.9, 20% mutation; RSI per period
computed once and cached (as gaform does). The backtest is vectorised numpy (position from
the signal state machine, close-to-close returns): faster than, and not identical to,
BACKTEST.md's conventions; it stands for the fitness a DEAP user would write.
"""
import sys

import numpy as np

from deap_common import evolve, load, sharpe_of

RANGES = [(2, 50), (5, 45), (55, 95)]


def wilder_rsi(close, period):
    delta = np.diff(close, prepend=np.nan)
    gain, loss = np.clip(delta, 0, None), np.clip(-delta, 0, None)
    rsi = np.full(len(close), np.nan)
    if len(close) <= period:
        return rsi
    avg_gain, avg_loss = gain[1 : period + 1].mean(), loss[1 : period + 1].mean()
    alpha = 1.0 / period
    for i in range(period, len(close)):
        if i > period:
            avg_gain += alpha * (gain[i] - avg_gain)
            avg_loss += alpha * (loss[i] - avg_loss)
        rsi[i] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return rsi


def main():
    close = load(sys.argv[1])
    returns = np.diff(close, prepend=close[0]) / close
    cache = {}
    evaluations = [0]

    def sharpe(ind):
        evaluations[0] += 1
        period, lower, upper = ind
        if lower >= upper:
            return (-np.inf,)
        rsi = cache.get(period)
        if rsi is None:
            rsi = cache[period] = wilder_rsi(close, period)
        prev = np.roll(rsi, 1)
        entry = (prev < lower) & (rsi > lower)
        exit_ = (prev > upper) & (rsi < upper)
        return sharpe_of(entry, exit_, returns)

    def reset():
        cache.clear()
        evaluations[0] = 0
        return evaluations

    evolve(RANGES, sharpe, 100, 5, reset, lambda s, n: f"{s * 1e3:.1f} ms, {n} evaluations, {n / s:.0f}/s")


if __name__ == "__main__":
    main()
