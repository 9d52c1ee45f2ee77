//! `gaform backtest`: BACKTEST.md's reference rows from the command line, JSON shape, and
//! errors for bad arguments and bad data.

use crate::support::gaform;
use serde_json::Value;

fn json(strategy: &str, extra: &[&str]) -> Value {
    let mut args =
        vec!["backtest", "examples/data/GOOG_wiki.csv", "--strategy", strategy, "--format", "json"];
    args.extend_from_slice(extra);
    let out = gaform(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn reproduces_the_reference_rows() {
    // BACKTEST.md: final equity, return %, trades, max drawdown %, Sharpe, win rate %.
    let rows = [
        (10, 20, 69068.8282, 590.6883, 46, 19.6484, 0.899431, 63.0435),
        (5, 50, 39225.1276, 292.2513, 26, 27.7714, 0.693218, 46.1538),
        (20, 100, 23142.1362, 131.4214, 13, 46.7959, 0.429555, 53.8462),
        (3, 7, 56791.3412, 467.9134, 155, 29.3931, 0.775599, 48.3871),
    ];
    for (fast, slow, equity, ret, trades, dd, sharpe, win) in rows {
        let m = &json(&format!("sma_crossover(fast = {fast}, slow = {slow})"), &[])["metrics"];
        let near = |key: &str, scale: f64, want: f64, digits: i32| {
            let got = m[key].as_f64().expect(key) * scale;
            assert!((got - want).abs() <= 0.5 * 10f64.powi(-digits), "{fast}/{slow} {key}: {got} vs {want}");
        };
        near("final_equity", 1.0, equity, 4);
        near("total_return", 100.0, ret, 4);
        near("max_drawdown", 100.0, dd, 4);
        near("sharpe", 1.0, sharpe, 6);
        near("win_rate", 100.0, win, 4);
        assert_eq!(m["trades"], trades);
    }
}

#[test]
fn json_has_every_metric_and_null_for_undefined() {
    let out = json("breakout(lookback = 5000, exit = 10)", &["--cash", "$5_000", "--commission", "0%"]);
    let m = out["metrics"].as_object().expect("metrics");
    for key in gaform_runtime::backtest::Metrics::NAMES {
        assert!(m.contains_key(key), "{key}");
    }
    assert_eq!(m["trades"], 0);
    assert!(m["win_rate"].is_null() && m["sharpe"].is_null(), "no trades: undefined metrics are null: {out}");
    assert_eq!(m["final_equity"], 5000.0);
}

#[test]
fn trades_on_request() {
    let out = json("rsi_reversion(period = 14, lower = 30, upper = 70)", &["--trades"]);
    assert_eq!(out["trades"].as_array().map(Vec::len), Some(9));
}

#[test]
fn bad_arguments_are_diagnostics() {
    let out = gaform(
        &["backtest", "examples/data/GOOG_wiki.csv", "--strategy", "sma_crossover(fast = 2..9, slow = 20)"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`fast` is a range"));
    let out = gaform(
        &["backtest", "examples/data/GOOG_wiki.csv", "--strategy", "sma_crosover(fast = 9, slow = 20)"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("E0013") && err.contains("did you mean `sma_crossover`?"), "{err}");
}

#[test]
fn bad_data_names_file_line_and_column() {
    let dir = crate::support::root().join("target/backtest-test");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("bad.csv"),
        "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1\n2020-01-03,1,2,0.5,oops\n",
    )
    .expect("write");
    let out = gaform(
        &["backtest", "target/backtest-test/bad.csv", "--strategy", "sma_crossover(fast = 1, slow = 2)"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.csv:3:20: Close `oops` is not a number"));
}

#[test]
fn data_with_iso_z_times_or_epoch_seconds_backtests_as_plain_dates_do() {
    let csv = std::fs::read_to_string(crate::support::root().join("examples/data/GOOG_wiki.csv")).unwrap();
    let dir = std::env::temp_dir().join(format!("gaform-times-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The Date column (the second) rewritten: `2004-08-19T00:00:00Z`, then `1092873600`.
    let rewrite = |time: &dyn Fn(&str) -> String| -> String {
        let mut lines = csv.lines();
        let mut out = format!("{}\n", lines.next().unwrap());
        for line in lines {
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            cells[1] = time(&cells[1]);
            out.push_str(&(cells.join(",") + "\n"));
        }
        out
    };
    let epoch = |date: &str| {
        let days = gaform_runtime::data::parse_timestamp(date).unwrap() / 86_400;
        (days * 86_400).to_string()
    };
    std::fs::write(dir.join("iso.csv"), rewrite(&|d| format!("{d}T00:00:00Z"))).unwrap();
    std::fs::write(dir.join("epoch.csv"), rewrite(&epoch)).unwrap();
    let strategy = "sma_crossover(fast = 10, slow = 20)";
    let plain = json(strategy, &["--trades"]);
    for file in ["iso.csv", "epoch.csv"] {
        let path = dir.join(file).display().to_string();
        let args = ["backtest", &path, "--strategy", strategy, "--format", "json", "--trades"];
        let out = gaform(&args, None);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["metrics"], plain["metrics"], "{file}");
        assert_eq!(got["trades"], plain["trades"], "{file}: the same trades, on the same dates");
    }
    // Bar 75 is row 77 of the file (its header and row 0 before it).
    assert_eq!(
        (&plain["trades"][0]["entry_bar"], &plain["trades"][0]["entry_time"]),
        (&Value::from(75), &Value::from("2004-12-06"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A job with costs of its own, beside the file's strategies.
const JOB_COSTS: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 1 }
}
job costly {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover
  population  = 10
  generations = 1
  cash        = $50000
  commission  = 0.25%
}
"#;

#[test]
fn a_jobs_cash_and_commission_with_job_and_the_prelude_with_file() {
    let w = crate::support::Workspace::new("backtest-job", JOB_COSTS);
    let call = "sma_crossover(fast = 10, slow = 20)";
    let run = |extra: &[&str]| -> Value {
        let args = [&["backtest", "GOOG_wiki.csv", "--strategy", call, "--format", "json"], extra].concat();
        serde_json::from_str(&crate::support::ok(&w.gaform(&args, &[]))).expect("JSON")
    };
    let with_job = run(&["--file", "job.gaf", "--job", "costly"]);
    assert_eq!((with_job["cash"].as_f64(), with_job["commission"].as_f64()), (Some(50_000.0), Some(0.0025)));
    // The same figures, to the bit, as the built-in given those costs by hand: a prelude
    // strategy named with `--file` runs on the built-in's kernel.
    let by_hand = run(&["--cash", "$50000", "--commission", "0.25%"]);
    assert_eq!(with_job["metrics"], by_hand["metrics"]);
    assert_eq!(with_job["strategy"], by_hand["strategy"]);
    // What the command line says still wins.
    let cash_given = run(&["--file", "job.gaf", "--job", "costly", "--cash", "$20000"]);
    assert_eq!(
        (cash_given["cash"].as_f64(), cash_given["commission"].as_f64()),
        (Some(20_000.0), Some(0.0025))
    );
    // An unknown job names the file's jobs; --job needs --file.
    let out = w.gaform(
        &["backtest", "GOOG_wiki.csv", "--strategy", call, "--file", "job.gaf", "--job", "cheap"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no job `cheap`") && stderr.contains("costly"),
        "{stderr}"
    );
    let out = w.gaform(&["backtest", "GOOG_wiki.csv", "--strategy", call, "--job", "costly"], &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--file"));
}
