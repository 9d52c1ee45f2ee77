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
import random
import sys
import time

import numpy as np
from deap import algorithms, base, creator, tools

RANGES = [(2, 50), (10, 200)]


def load(path):
    close = []
    with open(path) as f:
        header = [c.strip().lower() for c in f.readline().split(",")]
        at = header.index("close")
        for line in f:
            close.append(float(line.split(",")[at]))
    return np.array(close)


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
        entry = above & ~prev
        exit_ = ~above & prev
        event = np.where(entry, 1.0, np.where(exit_, 0.0, np.nan))
        idx = np.where(~np.isnan(event), np.arange(len(event)), 0)
        np.maximum.accumulate(idx, out=idx)
        state = np.nan_to_num(event[idx])
        held = np.roll(state, 1)  # filled at the next bar
        held[0] = 0
        r = held * returns
        sd = r.std()
        return ((r.mean() / sd * np.sqrt(252)) if sd > 0 else -np.inf,)

    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", list, fitness=creator.FitnessMax)
    tb = base.Toolbox()
    tb.register("individual", lambda: creator.Individual(random.randint(lo, hi) for lo, hi in RANGES))
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", sharpe)
    tb.register("mate", tools.cxUniform, indpb=0.5)
    tb.register("mutate", tools.mutUniformInt, low=[r[0] for r in RANGES], up=[r[1] for r in RANGES], indpb=0.2)
    tb.register("select", tools.selTournament, tournsize=3)
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times = []
    for seed in range(runs):
        random.seed(seed)
        cache.clear()
        evaluations[0] = 0
        pop = tb.population(n=1000)
        started = time.perf_counter()
        algorithms.eaSimple(pop, tb, cxpb=0.9, mutpb=0.2, ngen=50, verbose=False)
        took = time.perf_counter() - started
        times.append((took, evaluations[0]))
        print(f"run {seed}: {took:.2f} s, {evaluations[0]} evaluations, {evaluations[0] / took:.0f}/s")
    took, n = sorted(times)[len(times) // 2]
    print(f"median: {took:.2f} s for {n} evaluations = {n / took:.0f} evaluations/s, "
          f"{1000 * 51 / took:.0f} individuals/s")


if __name__ == "__main__":
    main()
