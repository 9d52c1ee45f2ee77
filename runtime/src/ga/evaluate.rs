//! Scoring a generation: each genome is backtested at most once per island (a cache keyed
//! by genome), on every training window of its fold (one per data file), its fitness the
//! aggregate of its fitness on each; indicators are computed once per (window, indicator,
//! period) for the whole run, and the backtests of a generation run in parallel on rayon's
//! pool.

use super::fitness::{judge, Aggregate, Constraint, Fitness, MAX_CONSTRAINTS};
use super::folds::Window;
use super::space::{Candidate, Genome, Space};
use crate::backtest::{self, orders, Costs, Keep};
use crate::rules::series::Series;
use crate::rules::signals::{bind, evaluate, Bound};
use crate::rules::Program;
use crate::strategy::{Indicators, Signals, Strategy};
use crate::telemetry::EvalTiming;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// What one island knows of the genomes it has met.
pub struct Evaluator<'d> {
    windows: &'d [Window],
    costs: Costs,
    space: &'d Space,
    fitness: &'d Fitness,
    /// What every file's backtest must meet.
    constraints: &'d [Constraint],
    aggregate: Aggregate,
    /// One per window (built-in strategies).
    indicators: Vec<Indicators<'d>>,
    /// One per window (a written strategy): every indicator and lag its genomes used.
    series: Vec<Series<'d>>,
    /// Fitness of every genome scored here or received with a score.
    known: HashMap<Genome, f64, Hashing>,
    /// Every genome this island has counted as an evaluation (kept across restarts, so the
    /// count of evaluations per generation does not depend on one).
    seen: HashSet<Genome, Hashing>,
    /// The same genomes in the order they were first counted: a checkpoint writes those
    /// counted since its island's last history segment (`checkpoint::Sealing`).
    order: Vec<Genome>,
    /// Where a generation's backtests run: rayon's global pool if `None`.
    pool: Option<&'d rayon::ThreadPool>,
    /// How long the backtests run since `take_timing` last asked: informative only.
    timing: EvalTiming,
}

impl<'d> Evaluator<'d> {
    /// An evaluator with nothing cached, scoring on `windows` (one per data file).
    pub fn new(
        windows: &'d [Window],
        costs: Costs,
        space: &'d Space,
        fitness: &'d Fitness,
        aggregate: Aggregate,
    ) -> Evaluator<'d> {
        Evaluator {
            windows,
            costs,
            space,
            fitness,
            constraints: &[],
            aggregate,
            indicators: windows.iter().map(|w| Indicators::new(&w.data)).collect(),
            series: match space {
                Space::Written(_) => windows.iter().map(|w| Series::new(&w.data)).collect(),
                _ => Vec::new(),
            },
            known: HashMap::default(),
            seen: HashSet::default(),
            order: Vec::new(),
            pool: None,
            timing: EvalTiming::default(),
        }
    }

    /// Runs backtests on `pool` instead of rayon's global pool. Only the backtests: an
    /// island that waits for its neighbour must not hold one of the pool's threads.
    pub fn with_pool(mut self, pool: Option<&'d rayon::ThreadPool>) -> Evaluator<'d> {
        self.pool = pool;
        self
    }

    /// Records a genome's score learnt elsewhere (a migrant, a checkpoint).
    pub fn remember(&mut self, genome: &[i64], fitness: f64) {
        let genome: Genome = genome.iter().copied().collect();
        self.count(genome);
        self.known.insert(genome, fitness);
    }

    /// Marks genomes as already counted (from a checkpoint), in the order given.
    pub fn mark_seen(&mut self, genomes: impl IntoIterator<Item = Genome>) {
        for genome in genomes {
            self.count(genome);
        }
    }

    /// Counts `genome` as seen; true when it is new.
    /// Scores with `constraints`: a genome breaking one on any file scores negative
    /// infinity, and each generation counts who broke which.
    pub fn with_constraints(mut self, constraints: &'d [Constraint]) -> Self {
        self.constraints = constraints;
        self
    }

    fn count(&mut self, genome: Genome) -> bool {
        let new = self.seen.insert(genome);
        if new {
            self.order.push(genome);
        }
        new
    }

    /// How many genomes have been counted.
    pub fn seen_count(&self) -> usize {
        self.order.len()
    }

    /// The genomes counted from the `from`th up to the `to`th, sorted.
    pub fn seen_between(&self, from: usize, to: usize) -> Vec<Genome> {
        let mut some = self.order.get(from..to.min(self.order.len())).unwrap_or_default().to_vec();
        some.sort_unstable();
        some
    }

    /// The backtests' timing since the last call, and a fresh start.
    pub fn take_timing(&mut self) -> EvalTiming {
        std::mem::take(&mut self.timing)
    }

    /// Every genome counted so far, sorted (for checkpoints).
    pub fn seen_sorted(&self) -> Vec<Genome> {
        let mut all: Vec<Genome> = self.seen.iter().copied().collect();
        all.sort_unstable();
        all
    }

    /// The fitness of each genome, in order, and how many genomes were new to this island
    /// and had to be backtested (the generation's evaluations).
    pub fn score(&mut self, genomes: &[Genome]) -> Scoring {
        let mut new = 0;
        let mut fitness = Vec::with_capacity(genomes.len());
        // Genomes not scored before, by position, and the distinct ones to backtest.
        let mut pending = Vec::new();
        // Each with whether this call counted it as an evaluation (its first time here).
        let mut to_run: Vec<(&Genome, Candidate, bool)> = Vec::new();
        let mut queued = GenomeSet::default();
        for (i, g) in genomes.iter().enumerate() {
            // The usual case once a run has converged: one look-up.
            if let Some(&f) = self.known.get(g) {
                fitness.push(f);
                continue;
            }
            fitness.push(f64::NEG_INFINITY);
            pending.push(i);
            let candidate = self.space.candidate(g);
            // Only a genome's first occurrence in a generation can be counted, and only it
            // is queued: the flag travels with the one backtest.
            let counted = self.count(*g) && candidate.is_some();
            new += u64::from(counted);
            if let Some(candidate) = candidate {
                if queued.insert(g) {
                    to_run.push((g, candidate, counted));
                }
            }
        }
        // Backtests of neighbouring genomes read the same indicator series: in genome order
        // a batch keeps them in cache (the order of a batch changes no result).
        to_run.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let scores = match self.space {
            Space::Written(written) => self.run_written(&written.program, &to_run),
            _ => self.run_builtins(&to_run),
        };
        let mut broken = vec![0u64; self.constraints.len().min(MAX_CONSTRAINTS)];
        for ((g, _, counted), (s, seconds, mask)) in to_run.iter().zip(scores) {
            self.timing.record(seconds);
            self.known.insert(**g, s);
            if *counted {
                for (k, n) in broken.iter_mut().enumerate() {
                    *n += u64::from(mask >> k & 1);
                }
            }
        }
        for i in pending {
            if let (Some(slot), Some(g)) = (fitness.get_mut(i), genomes.get(i)) {
                *slot = self.known.get(g).copied().unwrap_or(f64::NEG_INFINITY);
            }
        }
        Scoring { fitness, evaluations: new, broken }
    }

    /// Runs `jobs` on the pool (or here, for one or on one thread), in order.
    fn in_parallel<T: Sync, R: Send>(&self, jobs: &[T], run: impl Fn(&T) -> R + Sync) -> Vec<R> {
        let threads = self.pool.map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
        // Handing a batch to the pool costs a wake-up and a wait: not worth it for one
        // backtest, nor with one thread to hand it to.
        if threads <= 1 || jobs.len() <= 1 {
            return jobs.iter().map(run).collect();
        }
        let all = || jobs.par_iter().map(&run).collect();
        match self.pool {
            Some(pool) => pool.install(all),
            None => all(),
        }
    }

    /// The fitness, seconds and broken constraints of each built-in strategy of `to_run`.
    fn run_builtins(&mut self, to_run: &[(&Genome, Candidate, bool)]) -> Vec<(f64, f64, u32)> {
        let strategies: Vec<Strategy> = to_run
            .iter()
            .filter_map(|(_, c, _)| match c {
                Candidate::Builtin(s) => Some(*s),
                Candidate::Written(_) => None,
            })
            .collect();
        for indicators in &mut self.indicators {
            indicators.prepare_all(strategies.iter());
        }
        let (indicators, windows, costs, score, constraints, aggregate) =
            (&self.indicators, self.windows, self.costs, self.fitness, self.constraints, self.aggregate);
        // Each genome is timed on the thread that runs its backtests (two clock reads
        // against tens of microseconds of work): the workers' utilisation and
        // evaluation-time metrics.
        let backtest = |strategy: &Strategy| -> (f64, f64, u32) {
            let started = Instant::now();
            let score_on = |window: &Window, indicators: &Indicators<'_>| {
                let signals = indicators.signals(strategy).unwrap_or_else(Signals::never);
                let report =
                    backtest::simulate(&window.data, &window.calendar, &signals, costs, Keep::default());
                judge(score, constraints, &report.metrics)
            };
            let (value, broken) = match (windows, indicators.as_slice()) {
                ([window], [indicators]) => score_on(window, indicators),
                _ => combined(aggregate, windows.iter().zip(indicators).map(|(w, i)| score_on(w, i))),
            };
            (value, started.elapsed().as_secs_f64(), broken)
        };
        self.in_parallel(&strategies, backtest)
    }

    /// The fitness, seconds and broken constraints of each written strategy's genes in
    /// `to_run`.
    fn run_written(
        &mut self,
        program: &Program,
        to_run: &[(&Genome, Candidate, bool)],
    ) -> Vec<(f64, f64, u32)> {
        // One thread binds each genome and computes the series the generation lacks (kept
        // for the next); then every genome's signals and backtests run in parallel against
        // the shared series. Only bound rules (no bar-sized vectors) wait between the two,
        // so memory grows with the distinct series, not with the population.
        let mut bound: Vec<(Option<Bound>, f64)> = Vec::with_capacity(to_run.len());
        for (_, candidate, _) in to_run {
            let Candidate::Written(chosen) = candidate else { continue };
            let started = Instant::now();
            let one = bind(program, &chosen.values).ok();
            if let Some(one) = &one {
                let keys = one.keys();
                for series in &mut self.series {
                    series.prepare(keys.iter().copied());
                }
            }
            bound.push((one, started.elapsed().as_secs_f64()));
        }
        let (windows, costs, score, constraints, aggregate) =
            (self.windows, self.costs, self.fitness, self.constraints, self.aggregate);
        let all_series = &self.series;
        let backtest = |(one, seconds): &(Option<Bound>, f64)| -> (f64, f64, u32) {
            let started = Instant::now();
            let each = windows.iter().zip(all_series).map(|(window, series)| {
                match one.as_ref().map(|b| evaluate(program, b, series)) {
                    Some(Ok(signals)) => {
                        let (report, ..) = orders::simulate(
                            &window.data,
                            &window.calendar,
                            &signals,
                            costs,
                            Keep::default(),
                        );
                        judge(score, constraints, &report.metrics)
                    }
                    _ => (f64::NEG_INFINITY, 0),
                }
            });
            let (value, broken) = combined(aggregate, each);
            (value, seconds + started.elapsed().as_secs_f64(), broken)
        };
        self.in_parallel(&bound, backtest)
    }
}

/// What `Evaluator::score` found for a generation's genomes.
pub struct Scoring {
    /// Per genome, in order.
    pub fitness: Vec<f64>,
    /// Genomes new to this island, backtested.
    pub evaluations: u64,
    /// Of those, how many broke each constraint.
    pub broken: Vec<u64>,
}

/// Per-file judgements as one: the aggregate of the scores, or negative infinity when any
/// file broke a constraint (whatever the aggregate: a median would otherwise rank it above
/// genomes that meet every constraint), with every file's broken ones.
fn combined(aggregate: Aggregate, each: impl Iterator<Item = (f64, u32)>) -> (f64, u32) {
    let mut broken = 0;
    let scores: Vec<f64> = each
        .map(|(score, b)| {
            broken |= b;
            score
        })
        .collect();
    let value = match scores.as_slice() {
        _ if broken != 0 => f64::NEG_INFINITY,
        [one] => *one,
        _ => aggregate.of(&scores),
    };
    (value, broken)
}

/// Genomes are hashed several times per individual per generation: foldhash's fast
/// hasher, with a fixed seed (nothing iterates these in an order that reaches results).
type Hashing = foldhash::fast::FixedState;
type GenomeSet<'a> = HashSet<&'a Genome, Hashing>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_genome_that_breaks_a_constraint_on_one_file_ranks_below_all_that_do_not() {
        // A median of three files would keep the middle score; a broken file sinks it.
        let each = [(1.0, 0), (f64::NEG_INFINITY, 0b10), (3.0, 0)];
        assert_eq!(combined(Aggregate::Median, each.into_iter()), (f64::NEG_INFINITY, 0b10));
        assert_eq!(combined(Aggregate::Median, [(1.0, 0), (2.0, 0), (3.0, 0)].into_iter()), (2.0, 0));
        assert_eq!(combined(Aggregate::Mean, [(4.0, 0)].into_iter()), (4.0, 0));
    }
}
