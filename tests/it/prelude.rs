//! The prelude (`compiler/src/prelude.gaf`) is the built-ins' definition. Run through the
//! general evaluator, as a file's own strategies (renamed, or they would get the built-ins'
//! kernels, as a job of them does), every built-in gives the backtest of the
//! fused kernel the built-in runs on: the same trades, position and signal exactly, every
//! metric within 1e-12 relative (the kernel sums the equity curve in another order, which
//! moves a Sortino in its last bits). The example jobs' best, exported as backtesting.py
//! scripts, are checked in `strategies`.

use crate::support::gaform;
use serde_json::Value;

/// Within the genes' declared ranges (a file's strategy takes no value outside them).
const CALLS: &[&str] = &[
    "sma_crossover(fast = 10, slow = 20)",
    "sma_crossover(fast = 3, slow = 150)",
    "sma_crossover(fast = 2, slow = 10)",
    "rsi_reversion(period = 14, lower = 30, upper = 70)",
    "rsi_reversion(period = 5, lower = 10, upper = 90)",
    "rsi_reversion(period = 30, lower = 40, upper = 60)",
    "breakout(lookback = 20, exit = 10)",
    "breakout(lookback = 10, exit = 5)",
    "breakout(lookback = 100, exit = 50)",
];

const FILES: &[&str] = &["GOOG_wiki.csv", "IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"];

fn backtest(args: &[&str]) -> Value {
    let out = gaform(args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("backtest JSON")
}

#[test]
fn the_preludes_text_backtests_as_the_built_in_kernels_do() {
    let prelude = std::env::temp_dir().join(format!("gaform-prelude-{}.gaf", std::process::id()));
    // `strategy sma_crossover {` → `strategy sma_crossover_text {`: the same rules, a name
    // `Space::of` does not give a kernel to.
    let renamed = gaform_compiler::prelude::SOURCE.replace(" {\n  genes", "_text {\n  genes");
    assert_eq!(renamed.matches("_text {").count(), 3, "the prelude's three strategies renamed");
    std::fs::write(&prelude, renamed).expect("scratch file");
    let prelude_arg = prelude.display().to_string();
    let mut trades = 0;
    for call in CALLS {
        for file in FILES {
            let data = format!("examples/data/{file}");
            let common = ["backtest", &data, "--strategy", call, "--format", "json", "--trades"];
            let kernel = backtest(&common);
            let text_call = call.replacen('(', "_text(", 1);
            let written = backtest(&[
                "backtest",
                &data,
                "--strategy",
                &text_call,
                "--format",
                "json",
                "--trades",
                "--file",
                &prelude_arg,
            ]);
            for key in ["bars", "trades", "position", "signal"] {
                assert_eq!(kernel[key], written[key], "{call} on {file}: {key}");
            }
            let mut genes = written["strategy"].clone();
            genes["strategy"] = kernel["strategy"]["strategy"].clone();
            assert_eq!(kernel["strategy"], genes, "{call} on {file}: the same genes");
            let metrics = kernel["metrics"].as_object().expect("metrics");
            for (name, k) in metrics {
                let w = &written["metrics"][name];
                let same = match (k.as_f64(), w.as_f64()) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                    _ => k == w,
                };
                assert!(same, "{call} on {file}: {name}: kernel {k}, prelude {w}");
            }
            trades += kernel["trades"].as_array().map_or(0, Vec::len);
        }
    }
    let _ = std::fs::remove_file(&prelude);
    // Every assignment trades somewhere: the comparison is of real trades, not empty lists.
    assert!(trades > 1000, "{trades} trades in all");
}
