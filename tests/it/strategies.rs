//! Strategies written in the file against backtesting.py 0.6.6 itself: a corpus covering
//! every indicator and every order feature (stops and targets as percents and as price
//! distances, trailing stops, fractional sizes, shorts, both sides), on every bundled data
//! file. gaform's backtest and the script `gaform export strategy` writes must agree: the
//! same trades (entry and exit bars and units exactly, prices to 1e-12 relative), and every
//! metric within 1e-6 relative.

use crate::support::{gaform, root};
use serde_json::Value;
use std::path::PathBuf;

pub(super) const CORPUS: &str = "tests/fixtures/strategies/corpus.gaf";

/// One or more gene assignments of every strategy of the corpus.
pub(super) const CALLS: &[&str] = &[
    "sma_cross(fast = 10, slow = 30)",
    "ema_rsi(fast = 10, slow = 30, level = 70, ma = ema, stop = 2%)",
    "ema_rsi(fast = 8, slow = 40, level = 65.5, ma = wma, stop = 1%)",
    "ema_rsi(fast = 20, slow = 50, level = 80, ma = sma, stop = 4%)",
    "wma_trend(n = 20)",
    "macd_both(k = 9)",
    "bollinger_band(n = 20, k = 2.0)",
    "adx_stochastic(trend = 20, n = 14)",
    "cci_short(level = 100)",
    "obv_momentum(n = 10, part = 50%)",
    "obv_momentum(n = 20, part = 25%)",
    "channel(lookback = 20, out = 10)",
    "vwap_logic(n = 20)",
    "gap_volume(jump = 1%)",
];

pub(super) const FILES: &[&str] = &["GOOG_wiki.csv", "IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"];

/// gaform's figures and trades for `call` on `file`, and the exported script that has
/// backtesting.py run the same.
fn ours_and_script(call: &str, file: &str) -> (Value, PathBuf) {
    let data = format!("examples/data/{file}");
    let out = gaform(
        &["backtest", &data, "--file", CORPUS, "--strategy", call, "--format", "json", "--trades"],
        None,
    );
    assert!(out.status.success(), "{call} on {file}: {}", String::from_utf8_lossy(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let script = std::env::temp_dir().join(format!(
        "gaform-export-{}-{}.py",
        std::process::id(),
        rand_name(call, file)
    ));
    let script_arg = script.display().to_string();
    let out = gaform(
        &["export", "strategy", CORPUS, "--strategy", call, "--data", &data, "--out", &script_arg],
        None,
    );
    assert!(out.status.success(), "export {call}: {}", String::from_utf8_lossy(&out.stderr));
    (ours, script)
}

/// gaform's figures and trades, and backtesting.py's for the exported script, for each pair.
fn both(pairs: &[(&str, &str)]) -> Vec<(Value, Value)> {
    let (ours, scripts): (Vec<Value>, Vec<PathBuf>) =
        pairs.iter().map(|&(c, f)| ours_and_script(c, f)).unzip();
    let answers = crate::quant::run_scripts(&scripts);
    for script in &scripts {
        let _ = std::fs::remove_file(script);
    }
    ours.into_iter()
        .zip(answers)
        .zip(pairs)
        .map(|((ours, answer), (call, file))| {
            let stdout = answer.unwrap_or_else(|e| panic!("{call} on {file} in backtesting.py: {e}"));
            (ours, serde_json::from_str(&stdout).expect("the script prints JSON"))
        })
        .collect()
}

fn rand_name(call: &str, file: &str) -> String {
    let name: String = format!("{call}{file}").chars().filter(char::is_ascii_alphanumeric).collect();
    name
}

fn close(a: &Value, b: &Value, tolerance: f64) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= tolerance * x.abs().max(y.abs()).max(1e-12),
        _ => a.is_null() && b.is_null(),
    }
}

#[test]
fn every_corpus_strategy_equals_backtesting_py_on_every_bundled_file() {
    let pairs: Vec<(&str, &str)> = CALLS.iter().flat_map(|c| FILES.iter().map(move |f| (*c, *f))).collect();
    let results: Vec<(&str, &str, Value, Value)> = std::thread::scope(|scope| {
        let halves: Vec<_> = pairs
            .chunks(pairs.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().zip(both(chunk)).map(|(&(c, f), (a, b))| (c, f, a, b)).collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("a half")).collect()
    });
    let mut trades = 0;
    let mut shorts = 0;
    for (call, file, ours, theirs) in &results {
        let (our_trades, their_trades) =
            (ours["trades"].as_array().expect("trades"), theirs["trades"].as_array().expect("trades"));
        assert_eq!(our_trades.len(), their_trades.len(), "{call} on {file}: trade counts");
        for (k, (a, b)) in our_trades.iter().zip(their_trades).enumerate() {
            for field in ["entry_bar", "exit_bar", "units"] {
                assert_eq!(
                    a[field].as_f64(),
                    b[field].as_f64(),
                    "{call} on {file}: trade {k} {field}: {a} vs {b}"
                );
            }
            // A price from a stop distance over a rolling deviation differs in the last
            // digits (pandas' running variance against each window's own), no more.
            for field in ["entry_price", "exit_price"] {
                assert!(
                    close(&a[field], &b[field], 1e-12),
                    "{call} on {file}: trade {k} {field}: {a} vs {b}"
                );
            }
            for field in ["pnl", "return_pct"] {
                assert!(close(&a[field], &b[field], 1e-9), "{call} on {file}: trade {k} {field}: {a} vs {b}");
            }
            shorts += usize::from(a["units"].as_f64().is_some_and(|u| u < 0.0));
        }
        trades += our_trades.len();
        let names = ours["metrics"].as_object().expect("metrics");
        for (name, value) in names {
            let other = &theirs["metrics"][name];
            assert!(
                close(value, other, 1e-6),
                "{call} on {file}: {name}: gaform {value}, backtesting.py {other}"
            );
        }
    }
    assert!(trades > 1000 && shorts > 100, "the corpus trades: {trades} trades, {shorts} short");
    eprintln!(
        "strategies: {} backtests equal backtesting.py's, {trades} trades ({shorts} short)",
        results.len()
    );
}

#[test]
fn the_export_runs_from_anywhere_and_says_what_it_checks() {
    let out = gaform(
        &[
            "export",
            "strategy",
            CORPUS,
            "--strategy",
            "sma_cross(fast = 10, slow = 30)",
            "--data",
            "examples/data/GOOG_wiki.csv",
            "--bars",
            "100..900",
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("sma_cross(fast = 10, slow = 30)"), "{text}");
    assert!(text.contains("ROWS = (100, 900)"));
    let data = root().join("examples/data/GOOG_wiki.csv").canonicalize().expect("data");
    assert!(text.contains(&format!("{:?}", data.display().to_string())), "the data by its full path");
    for import in text.lines().filter(|l| l.starts_with("import ") || l.starts_with("from ")) {
        assert!(
            [
                "import json",
                "import math",
                "import numpy as np",
                "import pandas as pd",
                "from backtesting import Backtest, Strategy"
            ]
            .contains(&import),
            "only pandas, numpy and backtesting.py: {import}"
        );
    }
    let bad = gaform(
        &[
            "export",
            "strategy",
            CORPUS,
            "--strategy",
            "sma_cross(fast = 10)",
            "--data",
            "examples/data/GOOG_wiki.csv",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("E0008") && said.contains("slow"), "{said}");
}

/// A job evolving a written strategy with every kind of gene: an int range, a stepped
/// float, a continuous float, a choice of indicators and a choice of percents.
const WRITTEN_JOB: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 2 }
}
strategy ema_rsi {
  genes {
    fast  = 5..50
    slow  = 20..200
    level = 50.0..80.0 step 0.5
    ma    = [sma, ema, wma]
    stop  = [1%, 2%, 4%]
    width = 1.0..4.0
  }
  where = fast < slow
  entry = crosses_above(ma(close, fast), ma(close, slow)) and rsi(close, 14) < level
  exit  = crosses_below(ma(close, fast), ma(close, slow))
  stop_loss     = stop
  trailing_stop = width * atr(14)
}
job evolve {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = ema_rsi(slow = 20..120, ma = [ema, wma])
  population  = 40
  generations = 8
  crossover   = blend(alpha = 0.3, rate = 0.8)
  seed        = 5
}
"#;

#[test]
fn a_job_evolves_a_written_strategy_the_same_whatever_the_threads_and_its_best_backtests_alike() {
    let w = crate::support::Workspace::new("written", WRITTEN_JOB);
    let stdout =
        crate::support::ok(&w.gaform(&["run", "job.gaf", "--out", "one"], &[("RAYON_NUM_THREADS", "1")]));
    assert!(stdout.contains("evolve: best ema_rsi(fast = "), "{stdout}");
    crate::support::ok(&w.gaform(&["run", "job.gaf", "--out", "two"], &[("RAYON_NUM_THREADS", "2")]));
    crate::support::ok(&w.gaform(&["run", "job.gaf", "--out", "procs", "--islands-as", "processes"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "windows.csv", "equity.svg"] {
        let one = w.read(&format!("one/{file}"));
        assert_eq!(one, w.read(&format!("two/{file}")), "{file}: 1 vs 2 threads");
        assert_eq!(one, w.read(&format!("procs/{file}")), "{file}: threads vs processes");
    }
    let best: Value = serde_json::from_str(&w.read("one/best.json")).expect("best.json");
    let s = &best["strategy"];
    assert_eq!(s["strategy"], "ema_rsi");
    assert!(s["fast"].as_i64().is_some_and(|f| (5..=50).contains(&f)), "{s}");
    assert!(s["slow"].as_i64().is_some_and(|v| (20..=120).contains(&v)), "narrowed by the job: {s}");
    assert!(["ema", "wma"].contains(&s["ma"].as_str().unwrap_or_default()), "narrowed by the job: {s}");
    assert!([0.01, 0.02, 0.04].contains(&s["stop"].as_f64().unwrap_or_default()), "{s}");
    let level = s["level"].as_f64().unwrap_or_default();
    assert!((50.0..=80.0).contains(&level) && (level * 2.0).fract() == 0.0, "a step of 0.5: {s}");
    let hall = w.read("one/hall_of_fame.csv");
    assert!(hall.starts_with("rank,fast,slow,level,ma,stop,width,fitness,"), "{hall}");
    // The best, backtested alone, scores what the run said it scored.
    let call = format!(
        "ema_rsi(fast = {}, slow = {}, level = {level}, ma = {}, stop = {}%, width = {})",
        s["fast"],
        s["slow"],
        s["ma"].as_str().unwrap_or_default(),
        s["stop"].as_f64().unwrap_or_default() * 100.0,
        s["width"]
    );
    let out = w.gaform(
        &["backtest", "GOOG_wiki.csv", "--file", "job.gaf", "--strategy", &call, "--format", "json"],
        &[],
    );
    let again: Value = serde_json::from_slice(&out.stdout).expect("backtest JSON");
    assert_eq!(again["metrics"]["sharpe"], best["fitness"], "{call}");
    // The results directory alone names its file and job: the same script as from the file.
    crate::support::ok(&w.gaform(&["export", "strategy", "one", "--out", "from_dir.py"], &[]));
    crate::support::ok(
        &w.gaform(&["export", "strategy", "job.gaf", "--results", "one", "--out", "from_file.py"], &[]),
    );
    assert_eq!(w.read("from_dir.py"), w.read("from_file.py"));
    // A strategy changed since the run is not read against the old best.
    let changed = WRITTEN_JOB.replace("rsi(close, 14) < level", "rsi(close, 10) < level");
    std::fs::write(w.path("job.gaf"), changed).expect("edit");
    let out = w.gaform(&["export", "strategy", "one", "--out", "stale.py"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("has changed since these results were written"),
        "{stderr}"
    );
    assert!(!w.path("stale.py").exists());
}

#[test]
fn every_example_jobs_best_exported_equals_its_in_sample_figures_in_backtesting_py() {
    let dir = std::env::temp_dir().join(format!("gaform-export-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("scratch");
    for entry in std::fs::read_dir(root().join("examples/data")).expect("data").flatten() {
        std::fs::copy(entry.path(), dir.join("data").join(entry.file_name())).expect("copy");
    }
    let jobs = [
        ("trend-following.gaf", "trend"),
        ("mean-reversion.gaf", "reversion"),
        ("long-short.gaf", "long_short"),
        // The built-ins, through their prelude text.
        ("quickstart.gaf", "quickstart"),
        ("rsi-reversion.gaf", "ibm-rsi"),
        ("breakout.gaf", "spx-breakout"),
        ("sma-crossover.gaf", "msft-sma"),
        ("seed-production.gaf", "momentum-search"),
        // Many files: the first file's in-sample rows of the last fold (or before the hold-out).
        ("walk-forward.gaf", "everywhere"),
        ("walk-forward.gaf", "holdout"),
    ];
    let scripts: Vec<PathBuf> = jobs
        .iter()
        .map(|&(file, job)| {
            std::fs::copy(root().join("examples").join(file), dir.join(file)).expect("copy");
            let run = crate::support::gaform_in(&dir, &["run", file, "--job", job], None);
            assert!(run.status.success(), "{file}: {}", String::from_utf8_lossy(&run.stderr));
            let script = format!("{job}.py");
            let export = crate::support::gaform_in(
                &dir,
                &["export", "strategy", file, "--job", job, "--out", &script],
                None,
            );
            assert!(export.status.success(), "{file}: {}", String::from_utf8_lossy(&export.stderr));
            dir.join(script)
        })
        .collect();
    for ((file, job), answer) in jobs.iter().zip(crate::quant::run_scripts(&scripts)) {
        let stdout = answer.unwrap_or_else(|e| panic!("{file} in backtesting.py: {e}"));
        let theirs: Value = serde_json::from_str(&stdout).expect("JSON");
        let best: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("results/{job}/best.json"))).expect("best"),
        )
        .expect("best.json");
        let ours = &best["assets"][0]["in_sample"]["metrics"];
        for (name, value) in ours.as_object().expect("metrics") {
            assert!(
                close(value, &theirs["metrics"][name], 1e-6),
                "{file}: {name}: gaform {value}, backtesting.py {}",
                theirs["metrics"][name]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_compiler_allows_the_genes_a_genome_holds() {
    assert_eq!(gaform_compiler::ir::MAX_GENES, gaform_runtime::ga::MAX_GENES);
}
