//! A run's results as files: `best.json`, `hall_of_fame.csv`, `windows.csv` (every judged
//! champion on every window of every file), `out_of_sample.csv` (the stitched out-of-sample
//! equity, with validation), `generations.csv`, `timings.csv`, `fitness.svg`, `equity.svg`
//! and, with validation, `out_of_sample.svg`. Everything but `timings.csv` is a function of
//! the job alone, so two runs of one job write the same bytes.

pub mod owner;
mod plot;
mod ticks;

pub use plot::lines as line_chart;

use crate::data::format_timestamp;
use crate::ga::Called;
use crate::ga::{exact, AssetResult, Outcome};
use crate::store::{write_atomically, StoreError};
use crate::windows::Validation;
use serde::Serialize;
use std::path::Path;

/// The files written into a results directory, in the order they are written.
pub const FILES: [&str; 9] = [
    "best.json",
    "hall_of_fame.csv",
    "windows.csv",
    "out_of_sample.csv",
    "generations.csv",
    "timings.csv",
    "fitness.svg",
    "equity.svg",
    "out_of_sample.svg",
];

/// The files `write` writes for `outcome`: `FILES`, less `out_of_sample.svg` without
/// validation.
pub fn written(outcome: &Outcome) -> Vec<&'static str> {
    FILES.into_iter().filter(|f| *f != "out_of_sample.svg" || !outcome.stitched.is_empty()).collect()
}

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error(transparent)]
    Write(#[from] StoreError),
    #[error("{path}: {message}")]
    Render { path: String, message: String },
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

/// Makes one results file's text, or says why it could not.
type Render<'a> = Box<dyn FnOnce() -> Result<String, String> + Send + 'a>;

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
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| render("best.json", e.to_string()))?;
    text.push('\n');
    let files: Vec<(&str, Render<'_>)> = vec![
        ("best.json", Box::new(move || Ok(text))),
        ("hall_of_fame.csv", Box::new(|| Ok(hall_of_fame(outcome)))),
        ("windows.csv", Box::new(|| Ok(windows(outcome)))),
        ("out_of_sample.csv", Box::new(|| Ok(stitched_csv(outcome)))),
        ("generations.csv", Box::new(|| Ok(generations(outcome)))),
        ("timings.csv", Box::new(|| Ok(timings(outcome)))),
        ("fitness.svg", Box::new(|| plot::fitness(outcome))),
        ("equity.svg", Box::new(|| plot::equity(outcome, best))),
        ("out_of_sample.svg", Box::new(|| plot::out_of_sample(outcome))),
    ];
    let written = written(outcome);
    // Each file rendered and written on a thread of its own: their syncs then share the
    // file system's journal commits (one sync after another waited for each in turn, a
    // fifth of a short run's time), and the charts render side by side.
    let results: Vec<Result<(), ResultsError>> = std::thread::scope(|scope| {
        let writers: Vec<_> = files
            .into_iter()
            .filter(|(name, _)| written.contains(name))
            .map(|(name, make)| {
                let path = dir.join(name);
                let writer = scope.spawn(move || {
                    let text = make().map_err(|message| ResultsError::Render {
                        path: path.display().to_string(),
                        message,
                    })?;
                    Ok(write_atomically(&path, text.as_bytes())?)
                });
                (name, writer)
            })
            .collect();
        writers
            .into_iter()
            .map(|(name, w)| w.join().unwrap_or_else(|_| Err(render(name, "its writer panicked".into()))))
            .collect()
    });
    results.into_iter().collect()
}

/// A float for CSV: shortest round-trip form, `inf`/`-inf`, and an empty cell for NaN.
fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// One row per champion: its genes, its fitness in and (with validation) out of sample,
/// and, with one file, its metrics in sample and then out of sample (`oos_` columns).
fn hall_of_fame(outcome: &Outcome) -> String {
    let names: Vec<&str> = outcome.config.space.parameters().into_iter().map(|(n, _)| n).collect();
    let validated = outcome.hall.iter().any(|c| c.out_of_sample.is_some());
    let single = outcome.config.data.len() == 1;
    let mut header = format!("rank,{},fitness", names.join(","));
    if validated {
        header.push_str(",out_of_sample_fitness");
    }
    if single {
        header.push_str(&format!(",{}", crate::backtest::Metrics::NAMES.join(",")));
        if validated {
            let oos: Vec<String> =
                crate::backtest::Metrics::NAMES.iter().map(|n| format!("oos_{n}")).collect();
            header.push_str(&format!(",{}", oos.join(",")));
        }
    }
    let mut out = header + "\n";
    for (rank, c) in outcome.hall.iter().enumerate() {
        let genes: Vec<String> =
            c.genome.iter().enumerate().map(|(i, &g)| outcome.config.space.gene_cell(i, g)).collect();
        out.push_str(&format!("{},{},{}", rank + 1, genes.join(","), cell(c.fitness)));
        if validated {
            out.push_str(&format!(",{}", cell(c.out_of_sample.unwrap_or(f64::NAN))));
        }
        if let (true, Some(asset)) = (single, c.assets.first()) {
            out.push_str(&format!(",{}", metric_cells(&asset.in_sample.metrics)));
            if let (true, Some(oos)) = (validated, &asset.out_of_sample) {
                out.push_str(&format!(",{}", metric_cells(&oos.metrics)));
            }
        }
        out.push('\n');
    }
    out
}

fn metric_cells(m: &crate::backtest::Metrics) -> String {
    m.values().map(cell).join(",")
}

/// Every judged champion on every window: each fold's winner (with walk-forward) and the
/// hall of fame of the last fold, per file, in sample and out of sample. Each row's figures
/// are `gaform backtest` of its parameters on rows `from_bar..to_bar` of its file alone.
fn windows(outcome: &Outcome) -> String {
    let names: Vec<&str> = outcome.config.space.parameters().into_iter().map(|(n, _)| n).collect();
    let mut out = format!(
        "fold,rank,{},data,window,from_bar,to_bar,from,to,fitness,{}\n",
        names.join(","),
        crate::backtest::Metrics::NAMES.join(",")
    );
    let last = outcome.config.folds.saturating_sub(1);
    let earlier = outcome.folds.iter().filter(|f| f.fold < last).map(|f| (f.fold, 0, &f.winner));
    let rows = earlier.chain(outcome.hall.iter().enumerate().map(|(rank, c)| (last, rank, c)));
    for (fold, rank, c) in rows {
        let genes: Vec<String> =
            c.genome.iter().enumerate().map(|(i, &g)| outcome.config.space.gene_cell(i, g)).collect();
        for asset in &c.assets {
            let windows =
                [("in_sample", Some(&asset.in_sample)), ("out_of_sample", asset.out_of_sample.as_ref())];
            for (which, w) in windows {
                let Some(w) = w else { continue };
                out.push_str(&format!(
                    "{fold},{},{},{},{which},{},{},{},{},{},{}\n",
                    rank + 1,
                    genes.join(","),
                    asset.data,
                    w.from_bar,
                    w.to_bar,
                    format_timestamp(w.first_time),
                    format_timestamp(w.last_time),
                    cell(w.fitness),
                    metric_cells(&w.metrics)
                ));
            }
        }
    }
    out
}

/// The stitched out-of-sample equity of each file beside buying and holding over the same
/// bars (`Outcome::stitched`); a header alone without validation.
fn stitched_csv(outcome: &Outcome) -> String {
    let mut out = String::from("data,time,equity,buy_and_hold\n");
    for line in &outcome.stitched {
        for ((t, e), h) in line.time.iter().zip(&line.equity).zip(&line.buy_and_hold) {
            out.push_str(&format!("{},{},{},{}\n", line.data, format_timestamp(*t), cell(*e), cell(*h)));
        }
    }
    out
}

/// One row per generation, islands combined; with walk-forward, one row per fold and
/// generation, the fold first (each fold's search starts afresh).
fn generations(outcome: &Outcome) -> String {
    let row = |g: &crate::ga::GenerationStats| {
        let best = if g.best == f64::NEG_INFINITY { f64::NAN } else { g.best };
        format!("{},{},{},{},{}\n", g.generation, cell(best), cell(g.mean()), cell(g.std()), g.evaluations)
    };
    const HEADER: &str = "generation,best,mean,std,evaluations\n";
    if outcome.fold_generations.is_empty() {
        return std::iter::once(HEADER.to_string()).chain(outcome.generations.iter().map(row)).collect();
    }
    let mut out = format!("fold,{HEADER}");
    for (fold, rows) in outcome.fold_generations.iter().enumerate() {
        for g in rows {
            out.push_str(&format!("{fold},{}", row(g)));
        }
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

/// The stitched out-of-sample figures, per file and their mean, that a validated run's
/// summary leads with (nothing without validation).
fn stitched_summary(outcome: &Outcome, figures: &dyn Fn(&crate::backtest::Metrics) -> String) -> String {
    let Some(first) = outcome.stitched.first() else { return String::new() };
    let same = outcome.stitched.iter().all(|s| s.starts.len() == first.starts.len());
    let source = match first.starts.len() {
        1 => "the hold-out window".to_string(),
        n if same => format!("{n} folds' test windows, each fold's winner on the window after its training"),
        _ => "the folds' test windows, each fold's winner on the window after its training".to_string(),
    };
    let mut text = format!("  out of sample, stitched over {source} (out_of_sample.csv):\n");
    let width = outcome.stitched.iter().map(|s| s.data.len()).max().unwrap_or(0).max("mean of files".len());
    for s in &outcome.stitched {
        let dates = match (s.time.first(), s.time.last()) {
            (Some(&a), Some(&b)) => format!("{}..{}", format_timestamp(a), format_timestamp(b)),
            _ => String::new(),
        };
        let held = s.buy_and_hold.last().zip(s.buy_and_hold.first()).map_or(f64::NAN, |(l, f)| l / f - 1.0);
        text.push_str(&format!(
            "    {:width$}  {} · buy & hold {:.2}% · {dates}\n",
            s.data,
            figures(&s.metrics),
            held * 100.0
        ));
    }
    if let (true, Some(mean)) = (outcome.stitched.len() > 1, outcome.stitched_mean()) {
        text.push_str(&format!("    {:width$}  {}\n", "mean of files", figures(&mean)));
    }
    if let Some(e) = outcome.efficiency() {
        text.push_str(&format!(
            "  walk-forward efficiency {e:.3} (mean annual return out of sample over in sample)\n"
        ));
    }
    text
}

/// The run in words, as `gaform run` prints it and a head records it as the job's summary:
/// the best strategy with its figures on each file, the work done, and where the results are.
pub fn summary(outcome: &Outcome, out: &Path, seconds: f64) -> String {
    let Some(best) = outcome.best() else { return String::new() };
    let config = &outcome.config;
    let evaluations = outcome.evaluations();
    let pct = |x: f64| if x.is_nan() { "n/a".into() } else { format!("{:.2}%", x * 100.0) };
    let figures = |m: &crate::backtest::Metrics| {
        format!(
            "final equity ${:.2} · total return {} · max drawdown {} · sharpe {:.4} · {} trades",
            m.final_equity,
            pct(m.total_return),
            pct(m.max_drawdown),
            m.sharpe,
            m.trades
        )
    };
    let shown = best.strategy.show(config.space.program());
    let whose = if outcome.folds.is_empty() { "" } else { " (the last fold's winner)" };
    let mut text = format!("{}: best {shown}{whose} · fitness {}", config.name, best.fitness);
    if let Some(oos) = best.out_of_sample {
        text.push_str(&format!(" in sample, {oos} out of sample"));
    }
    text.push('\n');
    text.push_str(&stitched_summary(outcome, &figures));
    let several = best.assets.len() > 1;
    // Under the stitched figures, the best strategy's own windows are a detail: indented.
    let indent = if outcome.stitched.is_empty() { "  " } else { "    " };
    // A hold-out's one window out of sample is the stitched line above: only in sample is new.
    let holdout = outcome.folds.is_empty() && !outcome.stitched.is_empty();
    if holdout {
        text.push_str("  in sample, the window it was trained on:\n");
    } else if !outcome.stitched.is_empty() {
        text.push_str(&format!(
            "  the best strategy{whose} on its own windows (every fold's in best.json `walk_forward`):\n"
        ));
    }
    let width = best.assets.iter().map(|a| a.data.len() + 2).max().unwrap_or(0);
    for asset in &best.assets {
        let name = if several { format!("{:width$}", format!("{}: ", asset.data)) } else { String::new() };
        match &asset.out_of_sample {
            Some(_) if holdout => {
                text.push_str(&format!("{indent}{name}{}\n", figures(&asset.in_sample.metrics)))
            }
            None => text.push_str(&format!("{indent}{name}{}\n", figures(&asset.in_sample.metrics))),
            Some(oos) => {
                text.push_str(&format!(
                    "{indent}{name}in sample      {}\n",
                    figures(&asset.in_sample.metrics)
                ));
                text.push_str(&format!("{indent}{name}out of sample  {}\n", figures(&oos.metrics)));
            }
        }
    }
    if !config.constraints.is_empty() {
        let each: Vec<String> = config
            .constraints
            .iter()
            .zip(outcome.broken())
            .map(|(c, n)| format!("{n} broke `{}`", c.text))
            .collect();
        text.push_str(&format!(
            "  constraints: of {evaluations} genomes backtested, {} (scored below every genome that met them)\n",
            each.join(", ")
        ));
    }
    let islands = if config.folds > 1 {
        format!("{} island(s) × {} folds", config.islands, config.folds)
    } else {
        format!("{} island(s)", config.islands)
    };
    // Each evaluation backtests the genome on every file.
    let backtests = evaluations * config.data.len() as u64;
    text.push_str(&format!(
        "  {} backtests on {islands} in {:.2} s ({:.0} backtests/s)\nresults in {}: {}\n",
        backtests,
        seconds,
        backtests as f64 / seconds.max(1e-9),
        out.display(),
        written(outcome).join(", ")
    ));
    text
}
