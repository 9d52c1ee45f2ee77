//! Agreement with backtesting.py 0.6.6 (fixtures from `tests/reference/generate.py`),
//! including BACKTEST.md's four reference rows.

use super::*;
use crate::data;
use serde_json::Value;
use std::path::Path;

fn reference() -> Value {
    serde_json::from_str(include_str!("../../tests/reference/backtests.json")).expect("fixture parses")
}

fn strategy_of(case: &Value) -> Strategy {
    let p = &case["params"];
    let int = |k: &str| p[k].as_i64().expect("integer parameter");
    match case["strategy"].as_str() {
        Some("sma_crossover") => {
            Strategy::SmaCrossover { fast: int("fast") as usize, slow: int("slow") as usize }
        }
        Some("rsi_reversion") => Strategy::RsiReversion {
            period: int("period") as usize,
            lower: int("lower"),
            upper: int("upper"),
        },
        _ => Strategy::Breakout { lookback: int("lookback") as usize, exit: int("exit") as usize },
    }
}

/// Equal to 1e-9 relative, both undefined, or both exactly zero.
fn agrees(ours: f64, theirs: &Value) -> bool {
    match theirs.as_f64() {
        None => ours.is_nan(),
        Some(t) => (ours - t).abs() <= 1e-9 * t.abs().max(1e-12),
    }
}

#[test]
fn agrees_with_backtesting_py() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let mut loaded = std::collections::HashMap::new();
    let mut worst = 0.0f64;
    for case in reference()["cases"].as_array().expect("cases") {
        let file = case["data"].as_str().expect("data");
        let (bars, calendar) = loaded.entry(file.to_string()).or_insert_with(|| {
            let d = data::load(&dir.join(file)).expect("data loads");
            let c = Calendar::new(&d.time);
            (d, c)
        });
        let costs = Costs {
            cash: case["cash"].as_f64().expect("cash"),
            commission: case["commission"].as_f64().expect("commission"),
        };
        let strategy = strategy_of(case);
        let report = run(bars, calendar, &strategy, costs, Keep { equity: true, trades: true });
        let label = format!("{file} {strategy:?}");
        let m = &case["metrics"];
        // Keeping the curve and not keeping it take different loops (the GA keeps none).
        let metrics_only = run(bars, calendar, &strategy, costs, Keep::default()).metrics;
        for metrics in [report.metrics, metrics_only] {
            let ours = serde_json::to_value(metrics).expect("metrics serialise");
            for key in Metrics::NAMES.into_iter().filter(|k| *k != "trades") {
                let value = ours[key].as_f64().unwrap_or(f64::NAN);
                assert!(agrees(value, &m[key]), "{label}: {key} = {value}, backtesting.py says {}", m[key]);
                if let Some(t) = m[key].as_f64() {
                    worst = worst.max((value - t).abs() / t.abs().max(1e-300));
                }
            }
        }
        assert_eq!(report.metrics.trades, m["trades"].as_u64().expect("trades"), "{label}");
        let theirs = case["trade_list"].as_array().expect("trades");
        assert_eq!(report.trades.len(), theirs.len(), "{label}");
        for (t, r) in report.trades.iter().zip(theirs) {
            assert_eq!(
                (t.entry_bar as u64, t.exit_bar as u64, t.units as i64),
                (
                    r["entry_bar"].as_u64().unwrap_or(0),
                    r["exit_bar"].as_u64().unwrap_or(0),
                    r["units"].as_i64().unwrap_or(0)
                ),
                "{label}"
            );
            assert!(agrees(t.pnl, &r["pnl"]), "{label}: pnl {} vs {}", t.pnl, r["pnl"]);
        }
        for (k, e) in case["equity_every_100"].as_array().expect("equity").iter().enumerate() {
            assert!(agrees(report.equity[k * 100], e), "{label}: equity at bar {}", k * 100);
        }
        // A curve alone (a stitched one) has the curve's metrics of a backtest, not its trades'.
        let curve = super::of_equity(&report.equity, calendar);
        let (ours, curves) = (report.metrics.values(), curve.values());
        for (k, name) in Metrics::NAMES.iter().enumerate() {
            let expected = match *name {
                "trades" => 0.0,
                "win_rate" | "profit_factor" => f64::NAN,
                _ => ours[k],
            };
            let equal = (expected.is_nan() && curves[k].is_nan())
                || (curves[k] - expected).abs() <= 1e-12 * expected.abs().max(1.0);
            assert!(equal, "{label}: the curve's {name} = {}, the backtest's {expected}", curves[k]);
        }
    }
    eprintln!("largest relative difference from backtesting.py over all metrics: {worst:e}");
}

#[test]
fn sma_is_bit_identical_to_pandas() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let checks = reference()["sma_checksums"].as_object().expect("checksums").clone();
    assert_eq!(checks.len(), 32);
    for (key, want) in checks {
        let (file, n) = key.split_once(':').expect("file:n");
        let close = data::load(&dir.join(file)).expect("data loads").close;
        let sma = crate::indicators::sma(&close, n.parse().expect("window"));
        let bits = sma.iter().filter(|v| !v.is_nan()).fold(0u64, |s, v| s.wrapping_add(v.to_bits()));
        let undefined = sma.iter().filter(|v| v.is_nan()).count() as u64;
        assert_eq!(bits.to_string(), want["bits_sum"].as_str().expect("bits"), "{key}");
        assert_eq!(undefined, want["undefined"].as_u64().expect("count"), "{key}");
    }
}

#[test]
fn python_floor_division_edge_cases() {
    assert_eq!(python_floor_div(7.0, 2.0), 3.0);
    assert_eq!(python_floor_div(0.3, 0.1), 2.0);
    assert_eq!(python_floor_div(1.0, 3.0), 0.0);
}

#[test]
fn the_floor_division_fast_path_agrees_with_cpythons_steps() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    for _ in 0..200_000 {
        // Order sizes as a backtest makes them: cash over a commission-adjusted price,
        // with whole multiples (where the fast path must step aside) among them.
        let b: f64 = rng.random_range(0.01..5_000.0);
        let a = if rng.random::<bool>() {
            b * f64::from(rng.random_range(1u32..100_000))
        } else {
            rng.random_range(1.0..1e8)
        };
        assert_eq!(python_floor_div(a, b).to_bits(), python_floor_div_exact(a, b).to_bits(), "{a} // {b}");
    }
}

#[test]
fn metric_names_are_the_serialised_fields() {
    let data =
        crate::data::parse("t", "Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,0.5,1.5\n")
            .expect("data");
    let report = run(
        &data,
        &Calendar::new(&data.time),
        &Strategy::SmaCrossover { fast: 1, slow: 2 },
        Costs::default(),
        Keep::default(),
    );
    let json = serde_json::to_value(report.metrics).expect("serialises");
    let fields: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
    let mut names = Metrics::NAMES.to_vec();
    names.sort_unstable();
    let mut fields = fields;
    fields.sort_unstable();
    assert_eq!(fields, names);
    // `values` follows `NAMES`, field by field.
    for (name, value) in Metrics::NAMES.iter().zip(report.metrics.values()) {
        let serialised = json[name].as_f64().unwrap_or(f64::NAN);
        assert!(serialised == value || (serialised.is_nan() && value.is_nan()), "{name}");
    }
}
