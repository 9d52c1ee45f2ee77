//! `cargo bench -p gaform-runtime --bench ga_run`: issue 3's GA benchmark (population 100,
//! 50 generations, a 3-parameter strategy, Sharpe fitness, on GOOG), both end to end through
//! the store (checkpoints written and synced, results gathered) and for the engine alone
//! (what a DEAP loop does); then one island of 5,000 on 1 thread and on every core for the
//! parallel efficiency. Prints wall times, backtests/s and individuals scored/s.

use gaform_runtime::backtest::Costs;
use gaform_runtime::data::{self, Ohlcv};
use gaform_runtime::ga::{
    self, Aggregate, Crossover, Fitness, JobConfig, Metric, Migration, Mutation, Patience, Range, Selection,
    Space,
};
use gaform_runtime::store::LocalDir;
use gaform_runtime::windows::Validation;
use std::time::{Duration, Instant};

mod common;

fn config(population: u64, islands: u64) -> JobConfig {
    JobConfig {
        name: "bench".into(),
        data: vec!["GOOG_wiki.csv".into()],
        aggregate: Aggregate::Mean,
        validation: Validation::InSample,
        folds: 1,
        space: Space::RsiReversion {
            period: Range { lo: 2, hi: 50, categorical: false },
            lower: Range { lo: 5, hi: 45, categorical: false },
            upper: Range { lo: 55, hi: 95, categorical: false },
        },
        fitness: Fitness::Metric(Metric::Sharpe),
        constraints: Vec::new(),
        population,
        generations: 50,
        selection: Selection::Tournament { size: 3 },
        crossover: Crossover::Uniform { rate: 0.9 },
        mutation: Mutation::Gaussian { sigma: 0.1, rate: 0.2 },
        elitism: 1,
        islands,
        migration: Migration { every: 10, count: 2 },
        seed: 1,
        costs: Costs::default(),
        hall_of_fame: 10,
    }
}

/// Median wall time of `runs` complete runs (prepare, islands, gather), and the run's
/// backtests and scored individuals.
fn through_store(config: &JobConfig, csv: &str, pool: &rayon::ThreadPool, runs: usize) -> (f64, u64) {
    let mut times = Vec::new();
    let mut evaluations = 0;
    for run in 0..runs {
        let dir = std::env::temp_dir().join(format!("gaform-bench-{}-{run}", std::process::id()));
        let store = LocalDir::new(&dir);
        let started = Instant::now();
        let outcome = ga::prepare(&store, config, &[("GOOG_wiki.csv", csv, "GOOG_wiki.csv")])
            .and_then(|()| {
                ga::run_islands_as_threads(&store, Patience(Duration::from_secs(60)), Some(pool), &|_| {})
            })
            .and_then(|()| ga::gather(&store));
        times.push(started.elapsed().as_secs_f64());
        let _ = std::fs::remove_dir_all(&dir);
        match outcome {
            Ok(o) => evaluations = o.evaluations(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    (median(times), evaluations)
}

/// Median wall time of `runs` evolutions of one island in memory (no store, no
/// checkpoints), and its backtests.
fn engine_only(config: &JobConfig, data: &Ohlcv, pool: &rayon::ThreadPool, runs: usize) -> (f64, u64) {
    let mut times = Vec::new();
    let mut backtests = 0;
    for _ in 0..runs {
        let (wall, _, n, _) = common::evolve_in_memory(config, data, pool);
        times.push(wall);
        backtests = n;
    }
    (median(times), backtests)
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn line(what: &str, seconds: f64, backtests: u64, scored: u64) {
    println!(
        "  {what}: median {:.2} ms; {backtests} backtests ({:.0}/s), {scored} individuals scored ({:.0}/s)",
        seconds * 1e3,
        backtests as f64 / seconds,
        scored as f64 / seconds
    );
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv");
    let (csv, data) = match std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|csv| {
        let data = data::parse("GOOG_wiki.csv", &csv).map_err(|e| e.to_string())?;
        Ok((csv, data))
    }) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let one = pool(1);
    let small = config(100, 1);
    let scored = small.population * (small.generations + 1);
    println!("population 100 × 50 generations, 1 island, 1 thread (rsi_reversion, Sharpe, GOOG 2,148 bars):");
    let (seconds, backtests) = through_store(&small, &csv, &one, 21);
    line("end to end (store, 5 synced checkpoints, results gathered)", seconds, backtests, scored);
    let (seconds, backtests) = engine_only(&small, &data, &one, 21);
    line("engine alone (in memory)", seconds, backtests, scored);

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let big = JobConfig { generations: 20, mutation: Mutation::Reset { rate: 0.5 }, ..config(5000, 1) };
    let scored = big.population * (big.generations + 1);
    println!("population 5000 × 20 generations, 1 island, reset(rate = 0.5): 1 thread vs {cores}");
    let (t1, backtests) = engine_only(&big, &data, &one, 5);
    line("1 thread", t1, backtests, scored);
    let (tn, backtests) = engine_only(&big, &data, &pool(cores), 5);
    line(&format!("{cores} threads"), tn, backtests, scored);
    println!("  speed-up {:.2}x, parallel efficiency {:.0}%", t1 / tn, 100.0 * t1 / (tn * cores as f64));
}
