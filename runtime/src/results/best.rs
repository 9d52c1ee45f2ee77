//! `best.json`: the job, the best strategy with its figures per file and window, every
//! walk-forward fold's winner, and, with validation, the stitched out-of-sample figures
//! first.

use crate::data::format_timestamp;
use crate::ga::Called;
use crate::ga::{exact, AssetResult, Outcome};
use crate::windows::Validation;
use serde::Serialize;

/// `best.json`'s text; `status` says why a run stopped before its end.
pub(super) fn text(outcome: &Outcome, status: Option<&str>) -> Result<String, String> {
    let config = &outcome.config;
    let best = outcome.best().ok_or("the run has no best genome")?;
    let several = config.data.len() > 1;
    let out_of_sample = best.out_of_sample.map(|fitness| OutOfSample {
        stitched: outcome
            .stitched
            .iter()
            .map(|s| StitchedJson {
                data: &s.data,
                from: s.time.first().map_or_else(String::new, |&t| format_timestamp(t)),
                to: s.time.last().map_or_else(String::new, |&t| format_timestamp(t)),
                windows: s.starts.len(),
                bars: s.equity.len(),
                figures: Figures::of(&s.metrics),
            })
            .collect(),
        mean: outcome.stitched_mean().filter(|_| outcome.stitched.len() > 1).map(|m| Figures::of(&m)),
        fitness,
        walk_forward_efficiency: outcome.efficiency(),
    });
    let json = Best {
        job: &config.name,
        status,
        data: config.data.join(", "),
        aggregate: several.then(|| config.aggregate.name()),
        validation: &config.validation,
        seed: config.seed,
        islands: config.islands,
        folds: config.folds,
        population: config.population,
        generations: config.generations,
        evaluations: outcome.evaluations(),
        constraints: config
            .constraints
            .iter()
            .zip(outcome.broken())
            .map(|(c, broken)| ConstraintJson { constraint: &c.text, broken })
            .collect(),
        strategy: best.strategy.called(config.space.program()),
        call: best.strategy.show(config.space.program()),
        genome: &best.genome,
        program: config.space.program(),
        fitness: best.fitness,
        metrics: best.metrics().filter(|_| !several).copied(),
        out_of_sample,
        assets: assets_json(&best.assets),
        walk_forward: outcome
            .folds
            .iter()
            .map(|f| FoldJson {
                fold: f.fold,
                strategy: f.winner.strategy.called(config.space.program()),
                call: f.winner.strategy.show(config.space.program()),
                genome: &f.winner.genome,
                fitness: f.winner.fitness,
                out_of_sample_fitness: f.winner.out_of_sample.unwrap_or(f64::NAN),
                assets: assets_json(&f.winner.assets),
            })
            .collect(),
        costs: config.costs,
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// A constraint in `best.json`.
#[derive(Serialize)]
struct ConstraintJson<'a> {
    constraint: &'a str,
    broken: u64,
}

/// `best.json`.
#[derive(Serialize)]
struct Best<'a> {
    job: &'a str,
    /// Only for a run stopped before its end: why (`stopped: budget ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    /// The data files' names, joined by `, `.
    data: String,
    /// How per-file fitness was combined (several files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregate: Option<&'static str>,
    #[serde(skip_serializing_if = "is_in_sample")]
    validation: &'a Validation,
    seed: u64,
    islands: u64,
    #[serde(skip_serializing_if = "is_one")]
    folds: u64,
    population: u64,
    generations: u64,
    evaluations: u64,
    /// Each of the job's constraints and how many backtested genomes broke it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    constraints: Vec<ConstraintJson<'a>>,
    /// With validation, first: how the strategies did on data they were not trained on.
    #[serde(skip_serializing_if = "Option::is_none")]
    out_of_sample: Option<OutOfSample<'a>>,
    strategy: Called,
    /// The strategy as the language writes a call: `sma_crossover(fast = 10, slow = 19)`.
    call: String,
    genome: &'a [i64],
    /// A strategy written in the file: its whole program, so that the best can be served
    /// and re-checked from this file alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    program: Option<&'a crate::rules::Program>,
    /// In sample: what the GA ranked by.
    #[serde(with = "exact")]
    fitness: f64,
    /// In sample, one file only (per-file figures are in `assets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<crate::backtest::Metrics>,
    /// Per file: the windows the best strategy was trained and judged on.
    assets: Vec<AssetJson<'a>>,
    /// Walk-forward: every fold's winner, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    walk_forward: Vec<FoldJson<'a>>,
    /// What the backtests started with and paid: a served strategy decides with the same.
    costs: crate::backtest::Costs,
}

fn is_in_sample(v: &&Validation) -> bool {
    matches!(v, Validation::InSample)
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// The out-of-sample summary, ahead of the in-sample figures.
#[derive(Serialize)]
struct OutOfSample<'a> {
    /// Per file, its stitched out-of-sample equity (`out_of_sample.csv`): every fold's winner
    /// on the test window after its training, one after another (a hold-out's one window).
    stitched: Vec<StitchedJson<'a>>,
    /// Several files: each figure's mean over them, trades summed.
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Figures>,
    /// The best strategy's (with walk-forward, the last fold's winner's), aggregated.
    #[serde(with = "exact")]
    fitness: f64,
    /// Walk-forward only, and only where defined (`Outcome::efficiency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    walk_forward_efficiency: Option<f64>,
}

#[derive(Serialize)]
struct StitchedJson<'a> {
    data: &'a str,
    /// The first and last stitched bars' timestamps.
    from: String,
    to: String,
    /// Test windows stitched, and their bars.
    windows: usize,
    bars: usize,
    #[serde(flatten)]
    figures: Figures,
}

/// BACKTEST.md's figures of a stitched curve (those a curve alone defines, and its trades).
#[derive(Serialize)]
struct Figures {
    final_equity: f64,
    total_return: f64,
    annual_return: f64,
    annual_volatility: f64,
    sharpe: f64,
    sortino: f64,
    calmar: f64,
    max_drawdown: f64,
    trades: u64,
}

impl Figures {
    fn of(m: &crate::backtest::Metrics) -> Figures {
        Figures {
            final_equity: m.final_equity,
            total_return: m.total_return,
            annual_return: m.annual_return,
            annual_volatility: m.annual_volatility,
            sharpe: m.sharpe,
            sortino: m.sortino,
            calmar: m.calmar,
            max_drawdown: m.max_drawdown,
            trades: m.trades,
        }
    }
}

#[derive(Serialize)]
struct WindowJson<'a> {
    from: String,
    to: String,
    #[serde(flatten)]
    result: &'a crate::ga::WindowResult,
}

#[derive(Serialize)]
struct AssetJson<'a> {
    data: &'a str,
    in_sample: WindowJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out_of_sample: Option<WindowJson<'a>>,
}

#[derive(Serialize)]
struct FoldJson<'a> {
    fold: u64,
    strategy: Called,
    call: String,
    genome: &'a [i64],
    #[serde(with = "exact")]
    fitness: f64,
    #[serde(with = "exact")]
    out_of_sample_fitness: f64,
    assets: Vec<AssetJson<'a>>,
}

fn window_json(result: &crate::ga::WindowResult) -> WindowJson<'_> {
    WindowJson { from: format_timestamp(result.first_time), to: format_timestamp(result.last_time), result }
}

fn assets_json(assets: &[AssetResult]) -> Vec<AssetJson<'_>> {
    assets
        .iter()
        .map(|a| AssetJson {
            data: &a.data,
            in_sample: window_json(&a.in_sample),
            out_of_sample: a.out_of_sample.as_ref().map(window_json),
        })
        .collect()
}
