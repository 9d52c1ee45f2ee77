//! What the GA benches share.

use gaform_runtime::data::Ohlcv;
use gaform_runtime::ga::{Asset, Evaluator, Island, JobConfig, Window};
use gaform_runtime::strategy::Strategy;
use std::time::Instant;

/// One evolution of `config`'s island 0 on `data` in memory (no store, no checkpoints), as
/// DEAP runs: its wall seconds, the seconds spent inside its backtests, its backtests, and
/// the strategies it backtested (in genome order).
pub fn evolve_in_memory(
    config: &JobConfig,
    data: &Ohlcv,
    pool: &rayon::ThreadPool,
) -> (f64, f64, u64, Vec<Strategy>) {
    let asset = Asset::new("GOOG_wiki.csv", data.clone());
    let windows = [Window::of(&asset, 0..data.len())];
    let started = Instant::now();
    let mut evaluator =
        Evaluator::new(&windows, config.costs, &config.space, &config.fitness, config.aggregate)
            .with_pool(Some(pool));
    let mut island = Island::initial(config, 0, &mut evaluator);
    for _ in 0..config.generations {
        island.step(config, &mut evaluator);
    }
    let wall = started.elapsed().as_secs_f64();
    let backtests = island.history.iter().map(|g| g.evaluations).sum();
    let backtested = evaluator.seen_sorted().iter().filter_map(|g| config.space.decode(g)).collect();
    (wall, evaluator.take_timing().seconds, backtests, backtested)
}
