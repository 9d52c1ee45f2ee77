//! The run in words: what `gaform run` prints and a head records as the job's summary.

use super::written;
use crate::data::format_timestamp;
use crate::ga::Outcome;
use std::path::Path;

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
