//! A run's results as files: `best.json`, `hall_of_fame.csv`, `generations.csv`,
//! `timings.csv`, `fitness.svg` and `equity.svg`. Everything but `timings.csv` is a function
//! of the job alone, so two runs of one job write the same bytes.

mod plot;
mod ticks;

pub use plot::lines as line_chart;

use crate::ga::{exact, Champion, Outcome};
use crate::store::{write_atomically, StoreError};
use crate::strategy::Strategy;
use serde::Serialize;
use std::path::Path;

/// The files written into a results directory, in the order they are written.
pub const FILES: [&str; 6] =
    ["best.json", "hall_of_fame.csv", "generations.csv", "timings.csv", "fitness.svg", "equity.svg"];

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error(transparent)]
    Write(#[from] StoreError),
    #[error("{path}: {message}")]
    Render { path: String, message: String },
}

/// `best.json`.
#[derive(Serialize)]
struct Best<'a> {
    job: &'a str,
    /// Only for a run stopped before its end: why (`stopped: budget ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    data: &'a str,
    seed: u64,
    islands: u64,
    population: u64,
    generations: u64,
    evaluations: u64,
    strategy: Strategy,
    genome: &'a [i64],
    #[serde(with = "exact")]
    fitness: f64,
    metrics: crate::backtest::Metrics,
    /// What the backtests started with and paid: a served strategy decides with the same.
    costs: crate::backtest::Costs,
}

/// Writes every results file into `dir` (created if needed), each atomically.
pub fn write(dir: &Path, outcome: &Outcome) -> Result<(), ResultsError> {
    write_with_status(dir, outcome, None)
}

/// `write`, for a run stopped before its end: `best.json` says why in `status`.
pub fn write_with_status(dir: &Path, outcome: &Outcome, status: Option<&str>) -> Result<(), ResultsError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| StoreError::Io { path: dir.display().to_string(), source })?;
    let config = &outcome.config;
    let render = |name: &str, message: String| ResultsError::Render {
        path: dir.join(name).display().to_string(),
        message,
    };
    let best = outcome.best().ok_or_else(|| render("best.json", "the run has no best genome".into()))?;
    let json = Best {
        job: &config.name,
        status,
        data: &config.data,
        seed: config.seed,
        islands: config.islands,
        population: config.population,
        generations: config.generations,
        evaluations: outcome.evaluations(),
        strategy: best.strategy,
        genome: &best.genome,
        fitness: best.fitness,
        metrics: best.metrics,
        costs: config.costs,
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| render("best.json", e.to_string()))?;
    text.push('\n');
    write_atomically(&dir.join("best.json"), text.as_bytes())?;
    write_atomically(&dir.join("hall_of_fame.csv"), hall_of_fame(outcome).as_bytes())?;
    write_atomically(&dir.join("generations.csv"), generations(outcome).as_bytes())?;
    write_atomically(&dir.join("timings.csv"), timings(outcome).as_bytes())?;
    let fitness_svg = plot::fitness(outcome).map_err(|e| render("fitness.svg", e))?;
    write_atomically(&dir.join("fitness.svg"), fitness_svg.as_bytes())?;
    let equity_svg = plot::equity(outcome, best).map_err(|e| render("equity.svg", e))?;
    write_atomically(&dir.join("equity.svg"), equity_svg.as_bytes())?;
    Ok(())
}

/// A float for CSV: shortest round-trip form, `inf`/`-inf`, and an empty cell for NaN.
fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn hall_of_fame(outcome: &Outcome) -> String {
    let names: Vec<&str> = outcome.config.space.parameters().into_iter().map(|(n, _)| n).collect();
    let mut out = format!("rank,{},fitness,{}\n", names.join(","), crate::backtest::Metrics::NAMES.join(","));
    for (rank, c) in outcome.hall.iter().enumerate() {
        let genes: Vec<String> = c.genome.iter().map(i64::to_string).collect();
        out.push_str(&format!("{},{},{},{}\n", rank + 1, genes.join(","), cell(c.fitness), metric_cells(c)));
    }
    out
}

fn metric_cells(c: &Champion) -> String {
    c.metrics.values().map(cell).join(",")
}

fn generations(outcome: &Outcome) -> String {
    let mut out = String::from("generation,best,mean,std,evaluations\n");
    for g in &outcome.generations {
        let best = if g.best == f64::NEG_INFINITY { f64::NAN } else { g.best };
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            g.generation,
            cell(best),
            cell(g.mean()),
            cell(g.std()),
            g.evaluations
        ));
    }
    out
}

fn timings(outcome: &Outcome) -> String {
    let mut out = String::from("island,generation,evaluations,seconds,evaluations_per_s\n");
    for t in &outcome.timings {
        let rate = if t.seconds > 0.0 { t.evaluations as f64 / t.seconds } else { f64::NAN };
        out.push_str(&format!(
            "{},{},{},{:.6},{}\n",
            t.island,
            t.generation,
            t.evaluations,
            t.seconds,
            if rate.is_nan() { String::new() } else { format!("{rate:.0}") }
        ));
    }
    out
}
