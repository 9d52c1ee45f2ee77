//! `cargo bench -p gaform-runtime --bench sma_sweep`: the full SMA-crossover sweep of issue 3
//! (every 2 <= fast < slow <= 200 on GOOG, 19,701 backtests × 2,148 bars) on one thread,
//! indicators computed once per period and shared; prints bar-evaluations per second, on
//! one thread and then spread over every core (rayon) for the parallel efficiency.

use gaform_runtime::backtest::{simulate, Calendar, Costs, Keep};
use gaform_runtime::data;
use gaform_runtime::strategy::{Indicators, Strategy};
use std::time::Instant;

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv");
    let data = match data::load(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let calendar = Calendar::new(&data.time);
    let pairs: Vec<Strategy> = (2..=200)
        .flat_map(|fast| (fast + 1..=200).map(move |slow| Strategy::SmaCrossover { fast, slow }))
        .collect();
    let started = Instant::now();
    let mut indicators = Indicators::new(&data);
    indicators.prepare_all(&pairs);
    let prepare = started.elapsed().as_secs_f64();
    let evaluations = (pairs.len() * data.len()) as f64;
    println!("{} backtests × {} bars; indicators (199 SMAs) in {:.4} s", pairs.len(), data.len(), prepare);
    let mut best_time = f64::INFINITY;
    for _ in 0..5 {
        let started = Instant::now();
        let mut best = (f64::NEG_INFINITY, pairs[0]);
        for p in &pairs {
            if let Some(signals) = indicators.signals(p) {
                let sharpe =
                    simulate(&data, &calendar, &signals, Costs::default(), Keep::default()).metrics.sharpe;
                if sharpe > best.0 {
                    best = (sharpe, *p);
                }
            }
        }
        let took = started.elapsed().as_secs_f64();
        best_time = best_time.min(took);
        println!(
            "sweep: {took:.3} s, {:.3e} bar-evaluations/s; best Sharpe {:.6} for {:?}",
            evaluations / took,
            best.0,
            best.1
        );
    }
    println!("best of 5: {best_time:.3} s = {:.3e} bar-evaluations/s on one core", evaluations / best_time);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut one_thread = f64::NAN;
    for threads in [1, cores] {
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let started = Instant::now();
            let top = pool.install(|| {
                use rayon::prelude::*;
                pairs
                    .par_iter()
                    .filter_map(|p| {
                        let signals = indicators.signals(p)?;
                        Some(
                            simulate(&data, &calendar, &signals, Costs::default(), Keep::default())
                                .metrics
                                .sharpe,
                        )
                    })
                    .reduce(|| f64::NEG_INFINITY, f64::max)
            });
            best = best.min(started.elapsed().as_secs_f64());
            assert!(top.is_finite());
        }
        if threads == 1 {
            one_thread = best;
        }
        println!(
            "rayon, {threads} thread(s): best of 5 {best:.3} s = {:.3e} bar-evaluations/s; parallel efficiency {:.0}%",
            evaluations / best,
            100.0 * one_thread / (best * threads as f64)
        );
    }
}
