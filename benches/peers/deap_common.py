"""What the DEAP peers share: the data, the position a crossing strategy holds, a
vectorised Sharpe ratio, and DEAP's eaSimple run several times with its median."""
import random
import time

import numpy as np
from deap import algorithms, base, creator, tools


def load(path):
    """The Close column of an OHLCV CSV."""
    close = []
    with open(path) as f:
        header = [c.strip().lower() for c in f.readline().split(",")]
        at = header.index("close")
        for line in f:
            close.append(float(line.split(",")[at]))
    return np.array(close)


def sharpe_of(entry, exit_, returns):
    """The annualised Sharpe ratio of holding from each entry signal to the next exit
    signal, filled at the next bar, on close-to-close returns (one-tuple, DEAP's fitness)."""
    event = np.where(entry, 1.0, np.where(exit_, 0.0, np.nan))
    idx = np.where(~np.isnan(event), np.arange(len(event)), 0)
    np.maximum.accumulate(idx, out=idx)
    state = np.nan_to_num(event[idx])
    held = np.roll(state, 1)  # filled at the next bar
    held[0] = 0
    r = held * returns
    sd = r.std()
    return ((r.mean() / sd * np.sqrt(252)) if sd > 0 else -np.inf,)


def evolve(ranges, evaluate, population, runs, reset, report):
    """`runs` runs of eaSimple (tournament(3), uniform crossover at 0.9, 20% uniform
    mutation, 50 generations) seeded 0, 1, ...; `reset()` clears the caller's caches and
    returns its evaluation counter (a one-element list); `report(seconds, evaluations)`
    formats a run. Prints each run and the median."""
    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", list, fitness=creator.FitnessMax)
    tb = base.Toolbox()
    tb.register("individual", lambda: creator.Individual(random.randint(lo, hi) for lo, hi in ranges))
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", evaluate)
    tb.register("mate", tools.cxUniform, indpb=0.5)
    tb.register("mutate", tools.mutUniformInt, low=[r[0] for r in ranges], up=[r[1] for r in ranges], indpb=0.2)
    tb.register("select", tools.selTournament, tournsize=3)
    times = []
    for seed in range(runs):
        random.seed(seed)
        evaluations = reset()
        pop = tb.population(n=population)
        started = time.perf_counter()
        algorithms.eaSimple(pop, tb, cxpb=0.9, mutpb=0.2, ngen=50, verbose=False)
        took = time.perf_counter() - started
        times.append((took, evaluations[0]))
        print(f"run {seed}: {report(took, evaluations[0])}")
    took, n = sorted(times)[len(times) // 2]
    print(f"median: {report(took, n)}, {population * 51 / took:.0f} individuals/s")
