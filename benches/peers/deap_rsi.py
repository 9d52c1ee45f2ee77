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
import random
import sys
import time

import numpy as np
from deap import algorithms, base, creator, tools

RANGES = [(2, 50), (5, 45), (55, 95)]


def load(path):
    close = []
    with open(path) as f:
        header = [c.strip().lower() for c in f.readline().split(",")]
        at = header.index("close")
        for line in f:
            close.append(float(line.split(",")[at]))
    return np.array(close)


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
    times = []
    for seed in range(5):
        random.seed(seed)
        cache.clear()
        evaluations[0] = 0
        pop = tb.population(n=100)
        started = time.perf_counter()
        algorithms.eaSimple(pop, tb, cxpb=0.9, mutpb=0.2, ngen=50, verbose=False)
        took = time.perf_counter() - started
        times.append((took, evaluations[0]))
        print(f"run {seed}: {took * 1e3:.1f} ms, {evaluations[0]} evaluations, {evaluations[0] / took:.0f}/s")
    took, n = sorted(times)[len(times) // 2]
    print(f"median: {took * 1e3:.1f} ms for {n} evaluations = {n / took:.0f} evaluations/s, "
          f"{100 * 51 / took:.0f} individuals/s")


if __name__ == "__main__":
    main()
