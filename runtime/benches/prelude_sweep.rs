//! `cargo bench -p gaform-runtime --bench prelude_sweep`: the SMA sweep of `sma_sweep`
//! (every 2 <= fast < slow <= 200 on GOOG, 19,701 backtests × 2,148 bars, one thread)
//! three ways, interleaved, median of 5: the built-in `Strategy` as before the prelude; the
//! prelude's `sma_crossover` program through `Space::of` (what a job runs: the kernel, each
//! genome decoded from the space); and the same program on the general evaluator (signal
//! series, then the orders' simulation), which any other written strategy runs on.

use gaform_runtime::backtest::{orders, simulate, Calendar, Costs, Keep};
use gaform_runtime::data;
use gaform_runtime::ga::{prelude_program, Space};
use gaform_runtime::rules::series::Series;
use gaform_runtime::rules::signals::signals;
use gaform_runtime::rules::{Domain, Gene};
use gaform_runtime::strategy::{Indicators, Strategy};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

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
    let genomes: Vec<[i64; 2]> = (2..=200).flat_map(|f| (f + 1..=200).map(move |s| [f, s])).collect();
    let int = |name: &str| Gene { name: name.into(), domain: Domain::Int { lo: 2, hi: 200, step: 1 } };
    let Some(program) = prelude_program("sma_crossover", &[int("fast"), int("slow")]) else {
        eprintln!("sma_crossover is in the prelude");
        std::process::exit(1);
    };
    let started = Instant::now();
    let space = Space::of(program.clone());
    let recognised = started.elapsed().as_secs_f64();
    if !matches!(space, Space::SmaCrossover { .. }) {
        eprintln!("the prelude's sma_crossover did not get its kernel");
        std::process::exit(1);
    }
    let builtins: Vec<Strategy> = genomes
        .iter()
        .map(|&[fast, slow]| Strategy::SmaCrossover { fast: fast as usize, slow: slow as usize })
        .collect();
    let mut indicators = Indicators::new(&data);
    indicators.prepare_all(&builtins);
    println!(
        "{} backtests × {} bars, one thread; Space::of recognised the prelude's program in {:.1} µs",
        genomes.len(),
        data.len(),
        recognised * 1e6
    );
    let kernel = |strategy: &Strategy| {
        let signals = indicators.signals(strategy)?;
        Some(simulate(&data, &calendar, &signals, Costs::default(), Keep::default()).metrics.sharpe)
    };
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    let mut best = [f64::NEG_INFINITY; 3];
    for _ in 0..5 {
        let t = Instant::now();
        for s in &builtins {
            best[0] = best[0].max(kernel(s).unwrap_or(f64::NEG_INFINITY));
        }
        times[0].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for genome in &genomes {
            let Some(s) = space.decode(genome) else { continue };
            best[1] = best[1].max(kernel(&s).unwrap_or(f64::NEG_INFINITY));
        }
        times[1].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut series = Series::new(&data);
        for &[f, s] in &genomes {
            let Ok(sig) = signals(&program, &[f as f64, s as f64], &mut series) else { continue };
            let (report, ..) = orders::simulate(&data, &calendar, &sig, Costs::default(), Keep::default());
            best[2] = best[2].max(report.metrics.sharpe);
        }
        times[2].push(t.elapsed().as_secs_f64());
    }
    let n = genomes.len() as f64;
    for (i, what) in
        ["built-in Strategy", "prelude via Space::of (kernel)", "prelude on the general evaluator"]
            .iter()
            .enumerate()
    {
        let m = median(times[i].clone());
        println!("{what:<34} median {m:.3} s = {:>7.0} backtests/s; best Sharpe {:.6}", n / m, best[i]);
    }
    println!(
        "prelude (kernel) / built-in: {:.3}; general evaluator / built-in: {:.2}",
        median(times[1].clone()) / median(times[0].clone()),
        median(times[2].clone()) / median(times[0].clone())
    );
}
