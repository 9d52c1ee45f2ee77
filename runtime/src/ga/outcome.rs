//! A finished run, gathered from every island's final checkpoint: the same whether the
//! islands ran as threads of one process or as workers on many machines. Each fold's hall of
//! fame is re-backtested on the fold's windows: in sample (what it was trained on) and out
//! of sample (what was held out from it).

use super::checkpoint::{final_checkpoints, latest_checkpoints, Checkpoint};
use super::config::JobConfig;
use super::error::RunError;
use super::exact;
use super::folds::{Asset, Fold, Window};
use super::hall::{HallOfFame, Scored};
use super::run::Loaded;
use super::space::Candidate;
use super::space::Genome;
use super::stats::GenerationStats;
use crate::backtest::{Keep, Metrics, Trade};
use crate::store::Store;
use serde::Serialize;

/// A genome worth reporting, re-backtested for all its metrics on every window of its
/// fold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Champion {
    pub genome: Genome,
    pub strategy: Candidate,
    /// What the GA ranked it by: its in-sample fitness, aggregated over the files.
    #[serde(with = "exact")]
    pub fitness: f64,
    /// Its out-of-sample fitness, aggregated over the files; `None` without validation.
    pub out_of_sample: Option<f64>,
    /// Per file, in the job's order: how it did on the windows it was trained and judged on.
    pub assets: Vec<AssetResult>,
}

impl Champion {
    /// The first file's in-sample metrics (with one file, simply its metrics).
    pub fn metrics(&self) -> Option<&Metrics> {
        self.assets.first().map(|a| &a.in_sample.metrics)
    }
}

/// One champion on one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetResult {
    pub data: String,
    pub in_sample: WindowResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_sample: Option<WindowResult>,
}

/// One backtest of one window: the bars it covered and what came of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowResult {
    /// Row indices in the file, 0-based, `to` excluded.
    pub from_bar: usize,
    pub to_bar: usize,
    /// The first and last bars' timestamps, naive seconds since 1970 (results write them
    /// as the data files do).
    #[serde(skip)]
    pub first_time: i64,
    #[serde(skip)]
    pub last_time: i64,
    #[serde(with = "exact")]
    pub fitness: f64,
    pub metrics: Metrics,
}

/// A walk-forward fold's winner, judged on the fold's test windows.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldOutcome {
    pub fold: u64,
    pub winner: Champion,
}

/// The out-of-sample equity of one file, stitched across its test windows: each window's
/// curve starts where the previous one ended (window 0 with the job's cash).
#[derive(Clone, Debug, PartialEq)]
pub struct Stitched {
    pub data: String,
    pub time: Vec<i64>,
    pub equity: Vec<f64>,
    /// Buying at each test window's first close and holding to its last, stitched the same
    /// way: what the stitched equity is measured against, over the same bars.
    pub buy_and_hold: Vec<f64>,
    /// BACKTEST.md's metrics of `equity` (`backtest::of_equity`); `trades` is the closed
    /// trades of every test window's backtest, summed.
    pub metrics: Metrics,
    /// Where each stitched test window starts, as an index into `time`.
    pub starts: Vec<usize>,
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
    /// The hall of fame, best first; never empty. With walk-forward, the last fold's: the
    /// strategies found on the most recent data.
    pub hall: Vec<Champion>,
    /// With walk-forward, every fold's winner, oldest fold first; empty otherwise.
    pub folds: Vec<FoldOutcome>,
    /// Per file, the out-of-sample equity of the winners (empty without validation).
    pub stitched: Vec<Stitched>,
    /// One row per generation, islands (and walk-forward folds) combined.
    pub generations: Vec<GenerationStats>,
    /// With walk-forward, each fold's rows (its islands combined), oldest fold first; empty
    /// otherwise. A fold's generation 3 has nothing to do with another's.
    pub fold_generations: Vec<Vec<GenerationStats>>,
    pub timings: Vec<Timing>,
    /// The best genome's equity at each bar's close of the first file's training window
    /// (its whole data without validation), with the bars' timestamps.
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

    /// Per constraint of the job, how many of the genomes backtested broke it (a genome
    /// new to two islands counts twice, as it does in `evaluations`).
    pub fn broken(&self) -> Vec<u64> {
        let mut total = vec![0u64; self.config.constraints.len()];
        for g in &self.generations {
            for (t, n) in total.iter_mut().zip(&g.broken) {
                *t += n;
            }
        }
        total
    }

    /// Walk-forward efficiency: the mean annualised return out of sample over the mean in
    /// sample, across every fold's winner on every file (Pardo's ratio). `None` where it is
    /// not defined: without walk-forward (one hold-out window is no walk), or when the mean
    /// in-sample return is not positive or either mean is undefined (the ratio then ranks
    /// nothing).
    pub fn efficiency(&self) -> Option<f64> {
        let (mut ins, mut outs) = (Vec::new(), Vec::new());
        for asset in self.folds.iter().flat_map(|f| &f.winner.assets) {
            ins.push(asset.in_sample.metrics.annual_return);
            outs.push(asset.out_of_sample.as_ref()?.metrics.annual_return);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let positive = mean(&ins).partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
        if outs.is_empty() || !positive {
            return None;
        }
        Some(mean(&outs) / mean(&ins)).filter(|e| e.is_finite())
    }

    /// The stitched out-of-sample figures of every file, as one: the mean of each file's
    /// (trades summed). `None` without validation.
    pub fn stitched_mean(&self) -> Option<Metrics> {
        if self.stitched.is_empty() {
            return None;
        }
        let n = self.stitched.len() as f64;
        let mut sums = [0.0; 11];
        for s in &self.stitched {
            for (sum, v) in sums.iter_mut().zip(s.metrics.values()) {
                *sum += v;
            }
        }
        let [final_equity, total_return, _, max_drawdown, sharpe, sortino, calmar, win_rate, profit_factor, annual_return, annual_volatility] =
            sums.map(|x| x / n);
        Some(Metrics {
            final_equity,
            total_return,
            trades: self.stitched.iter().map(|s| s.metrics.trades).sum(),
            max_drawdown,
            sharpe,
            sortino,
            calmar,
            win_rate,
            profit_factor,
            annual_return,
            annual_volatility,
        })
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
    Loaded { config, assets, folds }: Loaded,
    checkpoints: &[Checkpoint],
) -> Result<Outcome, RunError> {
    let size = usize::try_from(config.hall_of_fame).unwrap_or(usize::MAX);
    let mut halls: Vec<HallOfFame> = folds.iter().map(|_| HallOfFame::new(size)).collect();
    let mut generations: Vec<GenerationStats> = Vec::new();
    let mut fold_generations: Vec<Vec<GenerationStats>> = folds.iter().map(|_| Vec::new()).collect();
    let mut timings = Vec::new();
    let combine = |rows: &mut Vec<GenerationStats>, i: usize, stats: &GenerationStats| match rows.get_mut(i) {
        Some(row) => *row = row.combine(stats),
        None => rows.push(stats.clone()),
    };
    for c in checkpoints {
        let fold = usize::try_from(c.state.index / config.islands.max(1)).unwrap_or(usize::MAX);
        if let Some(hall) = halls.get_mut(fold) {
            hall.offer(&c.state.hall.entries);
        }
        for (i, stats) in c.state.history.iter().enumerate() {
            combine(&mut generations, i, stats);
            if let Some(rows) = fold_generations.get_mut(fold) {
                combine(rows, i, stats);
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
    let judge = |fold: &Fold, entry: &Scored| -> Option<Champion> {
        let strategy = config.space.candidate(&entry.genome)?;
        let result = |window: &Window| {
            // Metrics from the very code path the run scored with (keeping the curve takes
            // another loop, whose sums may differ in the last bit).
            let metrics = strategy
                .backtest(
                    config.space.program(),
                    &window.data,
                    &window.calendar,
                    config.costs,
                    Keep::default(),
                )
                .metrics;
            WindowResult {
                from_bar: window.bars.start,
                to_bar: window.bars.end,
                first_time: window.data.time.first().copied().unwrap_or(0),
                last_time: window.data.time.last().copied().unwrap_or(0),
                fitness: config.fitness.score(&metrics),
                metrics,
            }
        };
        let assets: Vec<AssetResult> = fold
            .train
            .iter()
            .map(|train| AssetResult {
                data: train.asset.clone(),
                in_sample: result(train),
                out_of_sample: fold.test.iter().find(|t| t.asset == train.asset).map(result),
            })
            .collect();
        let outs: Option<Vec<f64>> = assets.iter().map(|a| Some(a.out_of_sample.as_ref()?.fitness)).collect();
        Some(Champion {
            genome: entry.genome,
            strategy,
            fitness: entry.fitness,
            out_of_sample: outs.filter(|o| !o.is_empty()).map(|o| config.aggregate.of(&o)),
            assets,
        })
    };
    // The last fold's whole hall is the run's; every earlier fold reports its winner alone.
    let last = folds.len().saturating_sub(1);
    let hall: Vec<Champion> = folds
        .get(last)
        .zip(halls.get(last))
        .map(|(fold, hall)| hall.entries.iter().filter_map(|e| judge(fold, e)).collect())
        .unwrap_or_default();
    let mut fold_outcomes = Vec::new();
    for (index, (fold, fold_hall)) in folds.iter().zip(&halls).enumerate() {
        let winner = if index == last {
            hall.first().cloned()
        } else {
            fold_hall.entries.iter().find_map(|e| judge(fold, e))
        };
        if let Some(winner) = winner {
            fold_outcomes.push(FoldOutcome { fold: index as u64, winner });
        }
    }
    let (Some(best), Some(fold)) = (hall.first(), folds.last()) else {
        let evaluations: u64 = generations.iter().map(|g| g.evaluations).sum();
        let counts: Vec<String> = config
            .constraints
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let n: u64 = generations.iter().map(|g| g.broken.get(k).copied().unwrap_or(0)).sum();
                format!("{n} broke `{}`", c.text)
            })
            .collect();
        let broken = if counts.is_empty() {
            String::new()
        } else {
            format!(
                "; of {evaluations} genomes backtested, {}: loosen the constraints or search other genes",
                counts.join(", ")
            )
        };
        return Err(RunError::NoChampion { broken });
    };
    let mut equity = Vec::new();
    let mut trades = Vec::new();
    let mut time = Vec::new();
    let mut buy_and_hold = Vec::new();
    if let Some(window) = fold.train.first() {
        let keep = Keep { equity: true, trades: true };
        let report = best.strategy.backtest(
            config.space.program(),
            &window.data,
            &window.calendar,
            config.costs,
            keep,
        );
        (equity, trades) = (report.equity, report.trades);
        let first_close = window.data.close.first().copied().unwrap_or(f64::NAN);
        buy_and_hold = window.data.close.iter().map(|c| config.costs.cash * c / first_close).collect();
        time = window.data.time.clone();
    }
    let winners: Vec<(&Fold, &Champion)> = if folds.len() > 1 {
        fold_outcomes
            .iter()
            .filter_map(|f| Some((folds.get(usize::try_from(f.fold).ok()?)?, &f.winner)))
            .collect()
    } else {
        vec![(fold, best)]
    };
    let stitched = stitch(&config, &assets, &winners);
    Ok(Outcome {
        hall,
        folds: if folds.len() > 1 { fold_outcomes } else { Vec::new() },
        stitched,
        generations,
        fold_generations: if folds.len() > 1 { fold_generations } else { Vec::new() },
        timings,
        equity,
        time,
        trades,
        buy_and_hold,
        config,
    })
}

/// Each file's out-of-sample equity: the winner of each fold on that fold's test window,
/// one window after another, each scaled to start with what the one before ended with.
fn stitch(config: &JobConfig, assets: &[Asset], winners: &[(&Fold, &Champion)]) -> Vec<Stitched> {
    let mut out = Vec::new();
    for asset in assets {
        let (mut time, mut equity, mut buy_and_hold) = (Vec::new(), Vec::new(), Vec::new());
        let (mut trades, mut starts) = (0, Vec::new());
        let (mut start, mut held) = (config.costs.cash, config.costs.cash);
        for (fold, winner) in winners {
            let Some(window) = fold.test.iter().find(|w| w.asset == asset.name) else { continue };
            let keep = Keep { equity: true, trades: false };
            let report = winner.strategy.backtest(
                config.space.program(),
                &window.data,
                &window.calendar,
                config.costs,
                keep,
            );
            let scale = start / config.costs.cash;
            starts.push(time.len());
            time.extend_from_slice(&window.data.time);
            equity.extend(report.equity.iter().map(|e| e * scale));
            start = equity.last().copied().unwrap_or(start);
            let first_close = window.data.close.first().copied().unwrap_or(f64::NAN);
            buy_and_hold.extend(window.data.close.iter().map(|c| held * c / first_close));
            held = buy_and_hold.last().copied().unwrap_or(held);
            trades += report.metrics.trades;
        }
        if equity.is_empty() {
            continue;
        }
        let mut metrics = crate::backtest::of_equity(&equity, &crate::backtest::Calendar::new(&time));
        metrics.trades = trades;
        out.push(Stitched { data: asset.name.clone(), time, equity, buy_and_hold, metrics, starts });
    }
    out
}
