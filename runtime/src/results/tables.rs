//! The results' CSV files: `hall_of_fame.csv`, `windows.csv`, `out_of_sample.csv`,
//! `generations.csv` and `timings.csv`.

use crate::data::format_timestamp;
use crate::ga::Outcome;

/// A float for CSV: shortest round-trip form, `inf`/`-inf`, and an empty cell for NaN.
pub(super) fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// One row per champion: its genes, its fitness in and (with validation) out of sample,
/// and, with one file, its metrics in sample and then out of sample (`oos_` columns).
pub(super) fn hall_of_fame(outcome: &Outcome) -> String {
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
pub(super) fn windows(outcome: &Outcome) -> String {
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
pub(super) fn stitched_csv(outcome: &Outcome) -> String {
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
pub(super) fn generations(outcome: &Outcome) -> String {
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

pub(super) fn timings(outcome: &Outcome) -> String {
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
