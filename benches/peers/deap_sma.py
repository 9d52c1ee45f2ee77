"""Peer for issue 15's speed job (`benches/peers/speed.gaf`, `cargo bench -p gaform-runtime
--bench ga_speed`): the same GA budget in DEAP with a numpy fitness, as our users write it
today. Not part of the build or the tests.

    python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install deap numpy
    /tmp/peer-venv/bin/python benches/peers/deap_sma.py examples/data/GOOG_wiki.csv

Population 1,000, 50 generations, sma_crossover(fast 2..50, slow 10..200), Sharpe fitness;
tournament(3), uniform crossover at 0.9, 20% mutation (DEAP's eaSimple: the same budget of
1,000 × 51 individuals scored). SMAs computed once per period and cached (as gaform does);
individuals DEAP has already scored are not re-evaluated (eaSimple re-scores only
invalidated ones). The backtest is vectorised numpy (position from crossings, close-to-close
returns): faster than, and not identical to, BACKTEST.md's conventions.
"""
import sys

import numpy as np

from deap_common import evolve, load, sharpe_of

RANGES = [(2, 50), (10, 200)]


def main():
    close = load(sys.argv[1])
    returns = np.diff(close, prepend=close[0]) / close
    cache = {}
    evaluations = [0]

    def sma(n):
        s = cache.get(n)
        if s is None:
            c = np.cumsum(np.insert(close, 0, 0.0))
            s = np.full(len(close), np.nan)
            s[n - 1 :] = (c[n:] - c[:-n]) / n
            cache[n] = s
        return s

    def sharpe(ind):
        evaluations[0] += 1
        fast, slow = ind
        if fast >= slow:
            return (-np.inf,)
        above = sma(fast) > sma(slow)
        prev = np.roll(above, 1)
        prev[0] = False
        return sharpe_of(above & ~prev, ~above & prev, returns)

    def reset():
        cache.clear()
        evaluations[0] = 0
        return evaluations

    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    evolve(RANGES, sharpe, 1000, runs, reset, lambda s, n: f"{s:.2f} s, {n} evaluations, {n / s:.0f}/s")


if __name__ == "__main__":
    main()
