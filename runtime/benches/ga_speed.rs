//! `cargo bench -p gaform-runtime --bench ga_speed`: issue 15's question, in one process on
//! one thread: how many backtests a second the GA loop runs against the sweep under it.
//!
//! The speed job: population 1,000 × 50 generations, `sma_crossover(fast = 2..50, slow =
//! 10..200)`, Sharpe, one island, on GOOG (the job of `benches/peers/speed.gaf`, which `gaform
//! run` and DEAP run whole). The engine alone (in memory, as DEAP runs) is timed, and so is
//! every backtest inside it; the sweep of every 2 <= fast < slow <= 200 gives the backtests a
//! second of the same backtester with nothing around it. Prints medians of the runs.
//!
//! The sweep's strategies are not the GA's: its space (fast 2..50) trades more often than the
//! sweep's average pair, and a backtest costs more the more it trades. So the GA's own
//! strategies are also timed alone, in a bare loop like the sweep's: against that, the GA
//! loop's rate is the share of its time that is backtesting, the engine's overhead apart.

use gaform_runtime::backtest::{simulate, Calendar, Costs, Keep};
use gaform_runtime::data::{self, Ohlcv};
use gaform_runtime::ga::{
    Aggregate, Crossover, Fitness, JobConfig, Metric, Migration, Mutation, Range, Selection, Space,
};
use gaform_runtime::strategy::{Indicators, Strategy};
use gaform_runtime::windows::Validation;
use std::time::Instant;

mod common;

/// The speed job (as `benches/peers/speed.gaf` writes it).
fn speed_job() -> JobConfig {
    JobConfig {
        name: "speed".into(),
        data: vec!["GOOG_wiki.csv".into()],
        aggregate: Aggregate::Mean,
        validation: Validation::InSample,
        folds: 1,
        space: Space::SmaCrossover {
            fast: Range { lo: 2, hi: 50, categorical: false },
            slow: Range { lo: 10, hi: 200, categorical: false },
        },
        fitness: Fitness::Metric(Metric::Sharpe),
        constraints: Vec::new(),
        population: 1000,
        generations: 50,
        selection: Selection::Tournament { size: 3 },
        crossover: Crossover::Uniform { rate: 0.9 },
        mutation: Mutation::Gaussian { sigma: 0.1, rate: 0.2 },
        elitism: 1,
        islands: 1,
        migration: Migration { every: 10, count: 2 },
        seed: 1,
        costs: Costs::default(),
        hall_of_fame: 10,
    }
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv");
    let data = data::load(&path).unwrap_or_else(|e| fail(e));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap_or_else(|e| fail(e));
    let runs = std::env::var("GAFORM_SPEED_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(21);
    let mut sweep = Vec::new();
    let mut ga = Vec::new();
    let mut inside = Vec::new();
    let mut own = Vec::new();
    let (_, _, _, own_strategies) = common::evolve_in_memory(&speed_job(), &data, &pool);
    let mut backtests = 0;
    // `GAFORM_SPEED=ga` runs the engine alone, `sweep` the sweep alone (for a profiler).
    let only = std::env::var("GAFORM_SPEED").unwrap_or_default();
    let (ga_only, sweep_only) = (only == "ga", only == "sweep");
    // Interleaved, so that both see the same machine (this VM's speed drifts).
    for _ in 0..runs {
        if !ga_only {
            sweep.push(pool.install(|| sweep_rate(&data)));
            own.push(pool.install(|| bare_rate(&data, &own_strategies)));
        }
        if sweep_only {
            continue;
        }
        let (wall, in_backtests, n, _) = common::evolve_in_memory(&speed_job(), &data, &pool);
        ga.push(n as f64 / wall);
        inside.push(in_backtests / wall);
        backtests = n;
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    println!("speed job (1,000 × 50, SMA on GOOG), engine alone on one thread: {backtests} backtests");
    println!(
        "  GA loop: median {:>7.0} best {:>7.0} backtests/s ({:.0}% of its wall time in backtests)",
        median(ga.clone()),
        best(&ga),
        median(inside) * 100.0
    );
    println!("  sweep:   median {:>7.0} best {:>7.0} backtests/s", median(sweep.clone()), best(&sweep));
    println!(
        "  the GA's own {} strategies in a bare loop: median {:>7.0} best {:>7.0} backtests/s",
        own_strategies.len(),
        median(own.clone()),
        best(&own)
    );
    println!(
        "  GA / sweep: median {:.1}%, best {:.1}%  ({runs} interleaved runs)",
        median(ga.clone()) / median(sweep.clone()) * 100.0,
        best(&ga) / best(&sweep) * 100.0
    );
    println!(
        "  GA / its own strategies alone: median {:.1}%, best {:.1}%",
        median(ga.clone()) / median(own.clone()) * 100.0,
        best(&ga) / best(&own) * 100.0
    );
}

/// Backtests a second of `strategies` in a bare loop, one thread, indicators prepared
/// before the clock starts.
fn bare_rate(data: &Ohlcv, strategies: &[Strategy]) -> f64 {
    let calendar = Calendar::new(&data.time);
    let mut indicators = Indicators::new(data);
    indicators.prepare_all(strategies);
    let started = Instant::now();
    let mut best = f64::NEG_INFINITY;
    for s in strategies {
        if let Some(signals) = indicators.signals(s) {
            best = best
                .max(simulate(data, &calendar, &signals, Costs::default(), Keep::default()).metrics.sharpe);
        }
    }
    std::hint::black_box(best);
    strategies.len() as f64 / started.elapsed().as_secs_f64()
}

/// Backtests a second of the full sweep, one thread, indicators shared.
fn sweep_rate(data: &Ohlcv) -> f64 {
    let pairs: Vec<Strategy> = (2..=200)
        .flat_map(|fast| (fast + 1..=200).map(move |slow| Strategy::SmaCrossover { fast, slow }))
        .collect();
    bare_rate(data, &pairs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("{e}");
    std::process::exit(1)
}
