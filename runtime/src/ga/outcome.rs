//! A finished run, gathered from every island's final checkpoint: the same whether the
//! islands ran as threads of one process or as workers on many machines.

use super::config::JobConfig;
use super::exact;
use super::hall::HallOfFame;
use super::run::{final_checkpoints, latest_checkpoints, Checkpoint, Loaded, RunError};
use super::space::Genome;
use super::stats::GenerationStats;
use crate::backtest::{self, Keep, Metrics, Trade};
use crate::store::Store;
use crate::strategy::Strategy;
use serde::Serialize;

/// A genome worth reporting, re-backtested for all its metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Champion {
    pub genome: Genome,
    pub strategy: Strategy,
    #[serde(with = "exact")]
    pub fitness: f64,
    pub metrics: Metrics,
}

/// Seconds one island spent on one generation (varies from run to run).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timing {
    pub island: u64,
    pub generation: u64,
    pub evaluations: u64,
    pub seconds: f64,
}

/// Everything a run's results are written from.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub config: JobConfig,
    /// The hall of fame, best first; never empty.
    pub hall: Vec<Champion>,
    /// One row per generation, islands combined.
    pub generations: Vec<GenerationStats>,
    pub timings: Vec<Timing>,
    /// The best genome's equity at each bar's close, with the bars' timestamps.
    pub equity: Vec<f64>,
    pub time: Vec<i64>,
    /// The best genome's closed trades.
    pub trades: Vec<Trade>,
    /// Buying at the first bar's close with the job's cash and holding: the equity the best
    /// genome is measured against (backtesting.py's "Buy & Hold Return").
    pub buy_and_hold: Vec<f64>,
}

impl Outcome {
    /// The best genome.
    pub fn best(&self) -> Option<&Champion> {
        self.hall.first()
    }

    /// Backtests run over the whole job, all islands.
    pub fn evaluations(&self) -> u64 {
        self.generations.iter().map(|g| g.evaluations).sum()
    }
}

/// Gathers a finished run from `store`.
pub fn gather(store: &dyn Store) -> Result<Outcome, RunError> {
    let loaded = Loaded::from(store)?;
    let checkpoints = final_checkpoints(store, &loaded.config)?;
    gather_from(loaded, &checkpoints)
}

/// Gathers a run stopped before its end from each island's latest checkpoint.
pub fn gather_so_far(store: &dyn Store) -> Result<Outcome, RunError> {
    let loaded = Loaded::from(store)?;
    let checkpoints = latest_checkpoints(store, &loaded.config)?;
    gather_from(loaded, &checkpoints)
}

fn gather_from(
    Loaded { config, data, calendar }: Loaded,
    checkpoints: &[Checkpoint],
) -> Result<Outcome, RunError> {
    let mut hall = HallOfFame::new(usize::try_from(config.hall_of_fame).unwrap_or(usize::MAX));
    let mut generations: Vec<GenerationStats> = Vec::new();
    let mut timings = Vec::new();
    for c in checkpoints {
        hall.offer(&c.state.hall.entries);
        for (i, stats) in c.state.history.iter().enumerate() {
            match generations.get_mut(i) {
                Some(row) => *row = row.combine(stats),
                None => generations.push(stats.clone()),
            }
            let seconds = c.seconds.get(i).copied().unwrap_or(0.0);
            timings.push(Timing {
                island: c.state.index,
                generation: stats.generation,
                evaluations: stats.evaluations,
                seconds,
            });
        }
    }
    let mut champions = Vec::new();
    let (mut equity, mut trades) = (Vec::new(), Vec::new());
    for entry in &hall.entries {
        let Some(strategy) = config.space.decode(&entry.genome) else { continue };
        // Metrics from the very code path the run scored with (keeping the curve takes
        // another loop, whose sums may differ in the last bit); the curve from a second run.
        let metrics = backtest::run(&data, &calendar, &strategy, config.costs, Keep::default()).metrics;
        if champions.is_empty() {
            let keep = Keep { equity: true, trades: true };
            let report = backtest::run(&data, &calendar, &strategy, config.costs, keep);
            (equity, trades) = (report.equity, report.trades);
        }
        champions.push(Champion { genome: entry.genome.clone(), strategy, fitness: entry.fitness, metrics });
    }
    if champions.is_empty() {
        return Err(RunError::NoChampion);
    }
    let first_close = data.close.first().copied().unwrap_or(f64::NAN);
    let buy_and_hold = data.close.iter().map(|c| config.costs.cash * c / first_close).collect();
    Ok(Outcome {
        config,
        hall: champions,
        generations,
        timings,
        equity,
        time: data.time,
        trades,
        buy_and_hold,
    })
}
