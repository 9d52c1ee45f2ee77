//! Results a quant can trust (issue 15): every window's figures in `best.json` are `gaform
//! backtest` of the same parameters on that window's rows cut into a CSV of their own; a
//! job over several files scores a genome by the aggregate of its per-file fitness; and all
//! of it is the same bytes on 1 or 2 threads and with islands as worker processes.

use crate::support::{ok, root, Workspace};
use serde_json::Value;

/// A date hold-out over one daily file and the same prices resampled to weeks: two
/// calendars, each cut at its own first bar of 2011.
const HOLDOUT: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 2 }
}
job held {
  compute     = box
  data        = ["GOOG_wiki.csv", "GOOG_weekly.csv"]
  holdout     = "2011-01-03"
  strategy    = sma_crossover(fast = 2..20, slow = 10..60)
  population  = 30
  generations = 6
  seed        = 5
}
"#;

/// Rolling two-year windows judged on the half year after each, over two daily files (a
/// pattern), two islands per fold.
const WALK_FORWARD: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 2 }
}
job walk {
  compute     = box
  data        = "*_wiki.csv"
  strategy    = breakout(lookback = 5..60, exit = 3..30)
  fitness     = total_return
  population  = 24
  generations = 6
  migration { every = 3  count = 2 }
  seed        = 17
  walk_forward {
    train = 730d
    test  = 180d
  }
}
"#;

/// Four files, judged by the worst.
const EVERYWHERE: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 2 }
}
job everywhere {
  compute     = box
  data        = ["GOOG_wiki.csv", "IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"]
  aggregate   = min
  strategy    = sma_crossover(fast = 2..30, slow = 10..120)
  fitness     = total_return
  population  = 30
  generations = 5
  seed        = 8
}
"#;

fn workspace(name: &str, gaf: &str) -> Workspace {
    let w = Workspace::new(name, gaf);
    for file in ["IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"] {
        std::fs::copy(root().join("examples/data").join(file), w.0.join(file)).unwrap();
    }
    std::fs::write(w.0.join("GOOG_weekly.csv"), weekly(&w.read("GOOG_wiki.csv"))).unwrap();
    w
}

/// GOOG's daily bars resampled to weeks (Monday-based; first open, highest high, lowest low,
/// last close, summed volume), dated by each week's first trading day.
fn weekly(daily: &str) -> String {
    let mut out = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut week: Option<(i64, String, [f64; 5])> = None;
    let flush = |w: &Option<(i64, String, [f64; 5])>, out: &mut String| {
        if let Some((_, date, [o, h, l, c, v])) = w {
            out.push_str(&format!("{date},{o},{h},{l},{c},{v}\n"));
        }
    };
    for line in daily.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let date = cells[1].to_string();
        let days = gaform_runtime::data::parse_timestamp(&date).unwrap() / 86_400;
        let monday = days - (days + 3).rem_euclid(7);
        let bar: Vec<f64> = cells[2..7].iter().map(|c| c.parse().unwrap()).collect();
        match &mut week {
            Some((m, _, agg)) if *m == monday => {
                agg[1] = agg[1].max(bar[1]);
                agg[2] = agg[2].min(bar[2]);
                agg[3] = bar[3];
                agg[4] += bar[4];
            }
            _ => {
                flush(&week, &mut out);
                week = Some((monday, date, [bar[0], bar[1], bar[2], bar[3], bar[4]]));
            }
        }
    }
    flush(&week, &mut out);
    out
}

fn best(w: &Workspace, out: &str) -> Value {
    serde_json::from_str(&w.read(&format!("{out}/best.json"))).unwrap()
}

/// The strategy as `gaform backtest --strategy` takes it.
fn strategy_arg(strategy: &Value) -> String {
    let o = strategy.as_object().unwrap();
    let params: Vec<String> =
        o.iter().filter(|(k, _)| *k != "strategy").map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{}({})", o["strategy"].as_str().unwrap(), params.join(", "))
}

/// Rows `from..to` of `file` (0-based bars after the header) in a CSV of their own.
fn cut(w: &Workspace, file: &str, from: u64, to: u64, name: &str) -> String {
    let text = w.read(file);
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines.skip(from as usize).take((to - from) as usize) {
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(w.0.join(name), out).unwrap();
    name.to_string()
}

fn close(a: &Value, b: &Value, what: &str) {
    let (x, y) = (a.as_f64(), b.as_f64());
    match (x, y) {
        (Some(x), Some(y)) => {
            let scale = x.abs().max(y.abs()).max(1e-300);
            assert!((x - y).abs() / scale <= 1e-9 || x == y, "{what}: {x} vs {y}");
        }
        // NaN and infinities are written as strings.
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Backtests `window` (a `best.json` window of `file`) on its own slice and compares every
/// metric, trades exactly; then the same rows with `--bars`.
fn check_window(w: &Workspace, strategy: &Value, file: &str, window: &Value, fitness: &str) {
    let (from, to) = (window["from_bar"].as_u64().unwrap(), window["to_bar"].as_u64().unwrap());
    let slice = cut(w, file, from, to, "slice.csv");
    let out =
        ok(&w.gaform(&["backtest", &slice, "--strategy", &strategy_arg(strategy), "--format", "json"], &[]));
    let alone: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(alone["bars"].as_u64(), Some(to - from));
    let what = format!("{file} {from}..{to}");
    assert_eq!(alone["metrics"]["trades"], window["metrics"]["trades"], "{what}: trades");
    for (name, value) in window["metrics"].as_object().unwrap() {
        close(value, &alone["metrics"][name], &format!("{what}: {name}"));
    }
    close(&window["fitness"], &alone["metrics"][fitness], &format!("{what}: fitness"));
    // `--bars` backtests the same rows without cutting them out: the very same figures.
    let rows = format!("{from}..{to}");
    let out = ok(&w.gaform(
        &["backtest", file, "--bars", &rows, "--strategy", &strategy_arg(strategy), "--format", "json"],
        &[],
    ));
    let in_place: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(in_place["metrics"], alone["metrics"], "{what}: --bars");
}

#[test]
fn holdout_windows_are_the_backtests_of_their_slices_on_two_calendars() {
    let w = workspace("holdout", HOLDOUT);
    let stdout = ok(&w.gaform(&["run", "job.gaf", "--out", "out"], &[]));
    assert!(stdout.contains("in sample") && stdout.contains("out of sample"), "{stdout}");
    let best = best(&w, "out");
    let assets = best["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 2);
    for asset in assets {
        let file = asset["data"].as_str().unwrap();
        assert_eq!(asset["out_of_sample"]["from"], "2011-01-03", "{file}: the first bar of 2011");
        assert_eq!(asset["in_sample"]["to_bar"], asset["out_of_sample"]["from_bar"]);
        for window in ["in_sample", "out_of_sample"] {
            check_window(&w, &best["strategy"], file, &asset[window], "sharpe");
        }
    }
    // The in-sample fitness is the mean of the files', what the GA ranked by; the
    // out-of-sample one likewise.
    let mean = |window: &str| {
        let f: Vec<f64> = assets.iter().map(|a| a[window]["fitness"].as_f64().unwrap()).collect();
        f.iter().sum::<f64>() / f.len() as f64
    };
    assert_eq!(best["fitness"].as_f64(), Some(mean("in_sample")));
    assert_eq!(best["out_of_sample"]["fitness"].as_f64(), Some(mean("out_of_sample")));
    let hall = w.read("out/hall_of_fame.csv");
    assert!(hall.starts_with("rank,fast,slow,fitness,out_of_sample_fitness\n"), "{hall}");
    // A hold-out's stitched equity is its one window: the same figures, the summary's lead.
    for (asset, stitched) in assets.iter().zip(best["out_of_sample"]["stitched"].as_array().unwrap()) {
        assert_eq!(stitched["data"], asset["data"]);
        assert_eq!(stitched["windows"], 1);
        for figure in ["total_return", "sharpe", "max_drawdown", "annual_return", "trades"] {
            let (a, b) = (&stitched[figure], &asset["out_of_sample"]["metrics"][figure]);
            close(a, b, &format!("{}: the stitched {figure}", asset["data"]));
        }
    }
    assert!(best["out_of_sample"].get("walk_forward_efficiency").is_none(), "no walk, no efficiency");
    assert!(!stdout.contains("efficiency"), "{stdout}");
    let lead = stdout.find("out of sample, stitched over the hold-out window").expect("the stitched lead");
    assert!(lead < stdout.find("in sample, the window it was trained on").unwrap(), "{stdout}");
}

/// BACKTEST.md's figures of a daily equity curve on weekdays (each bar its own period,
/// `A` = 252), written out here from the definitions: total return, max drawdown, Sharpe.
fn daily_figures(equity: &[f64]) -> [f64; 3] {
    let total = equity[equity.len() - 1] / equity[0] - 1.0;
    let mut peak = f64::MIN;
    let drawdown = equity.iter().fold(0.0_f64, |worst, &e| {
        peak = peak.max(e);
        worst.max(1.0 - e / peak)
    });
    let r: Vec<f64> = equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let n = r.len() as f64;
    let g = (equity[equity.len() - 1] / equity[0]).powf(1.0 / n) - 1.0;
    let mean = r.iter().sum::<f64>() / n;
    let variance = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let a = 252.0;
    let annual_return = (1.0 + g).powf(a) - 1.0;
    let annual_volatility = ((variance + (1.0 + g).powi(2)).powf(a) - (1.0 + g).powf(2.0 * a)).sqrt();
    [total, drawdown, annual_return / annual_volatility]
}

#[test]
fn walk_forward_windows_are_the_backtests_of_their_slices_and_the_equity_is_stitched() {
    let w = workspace("walk", WALK_FORWARD);
    let stdout = ok(&w.gaform(&["run", "job.gaf", "--out", "one"], &[("RAYON_NUM_THREADS", "1")]));
    let best = best(&w, "one");
    assert_eq!(best["data"], "GOOG_wiki.csv, IBM_wiki.csv", "the pattern's files, sorted");
    let folds = best["walk_forward"].as_array().unwrap();
    assert!(folds.len() >= 10, "{} folds", folds.len());
    assert_eq!(best["folds"].as_u64(), Some(folds.len() as u64));
    let mut previous_end: Option<String> = None;
    for fold in folds {
        for asset in fold["assets"].as_array().unwrap() {
            let file = asset["data"].as_str().unwrap();
            let (train, test) = (&asset["in_sample"], &asset["out_of_sample"]);
            assert_eq!(train["to_bar"], test["from_bar"], "each test window follows its train window");
            check_window(&w, &fold["strategy"], file, test, "total_return");
            if file == "GOOG_wiki.csv" {
                check_window(&w, &fold["strategy"], file, train, "total_return");
                if let Some(end) = &previous_end {
                    assert!(test["from"].as_str().unwrap() > end.as_str(), "test windows do not overlap");
                }
                previous_end = Some(test["to"].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(previous_end.as_deref(), Some("2013-03-01"), "the last test window ends with the data");
    // The stitched equity compounds the test windows' returns.
    for (i, file) in ["GOOG_wiki.csv", "IBM_wiki.csv"].into_iter().enumerate() {
        let product: f64 = folds
            .iter()
            .map(|f| {
                let a = f["assets"].as_array().unwrap().iter().find(|a| a["data"] == file).unwrap();
                1.0 + a["out_of_sample"]["metrics"]["total_return"].as_f64().unwrap()
            })
            .product();
        let stitched = best["out_of_sample"]["stitched"][i]["total_return"].as_f64().unwrap();
        assert!((stitched - (product - 1.0)).abs() < 1e-9, "{file}: {stitched} vs {}", product - 1.0);
    }
    let csv = w.read("one/out_of_sample.csv");
    assert!(csv.lines().count() > 2 * 10 * 100, "{} rows", csv.lines().count());
    assert_eq!(csv.lines().next(), Some("data,time,equity,buy_and_hold"));
    // The stitched figures are those of out_of_sample.csv's curve by BACKTEST.md's
    // definitions; its trades are the test windows'; their mean leads the files'.
    let stitched = best["out_of_sample"]["stitched"].as_array().unwrap();
    for (i, file) in ["GOOG_wiki.csv", "IBM_wiki.csv"].into_iter().enumerate() {
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .filter(|c: &Vec<&str>| c[0] == file)
            .collect();
        for row in &rows {
            let days = gaform_runtime::data::parse_timestamp(row[1]).unwrap() / 86_400;
            assert!((days + 3).rem_euclid(7) < 5, "{file}: {} is a weekend day: A is not 252", row[1]);
        }
        let equity: Vec<f64> = rows.iter().map(|c| c[2].parse().unwrap()).collect();
        let held: Vec<f64> = rows.iter().map(|c| c[3].parse().unwrap()).collect();
        assert_eq!((equity[0], held[0]), (10_000.0, 10_000.0), "{file}: both start with the cash");
        let [total, drawdown, sharpe] = daily_figures(&equity);
        let figures = &stitched[i];
        assert_eq!(figures["data"], file);
        assert_eq!(figures["bars"].as_u64(), Some(equity.len() as u64));
        assert_eq!(figures["from"].as_str(), Some(rows[0][1]));
        for (name, expected) in [("total_return", total), ("max_drawdown", drawdown), ("sharpe", sharpe)] {
            let got = figures[name].as_f64().unwrap();
            assert!(
                (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                "{file} {name}: {got} vs {expected}"
            );
        }
        let trades: u64 = folds
            .iter()
            .map(|f| {
                let a = f["assets"].as_array().unwrap().iter().find(|a| a["data"] == file).unwrap();
                a["out_of_sample"]["metrics"]["trades"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(figures["trades"].as_u64(), Some(trades), "{file}: every test window's trades");
    }
    let mean = &best["out_of_sample"]["mean"];
    let of = |i: usize, k: &str| stitched[i][k].as_f64().unwrap();
    assert_eq!(mean["total_return"].as_f64(), Some((of(0, "total_return") + of(1, "total_return")) / 2.0));
    assert_eq!(mean["trades"].as_f64(), Some(of(0, "trades") + of(1, "trades")));
    // Walk-forward efficiency: the mean annual return out of sample over in sample, where
    // the in-sample mean is positive.
    let returns = |window: &str| -> f64 {
        let all: Vec<f64> = folds
            .iter()
            .flat_map(|f| f["assets"].as_array().unwrap())
            .map(|a| a[window]["metrics"]["annual_return"].as_f64().unwrap())
            .collect();
        all.iter().sum::<f64>() / all.len() as f64
    };
    let efficiency = best["out_of_sample"]["walk_forward_efficiency"].as_f64();
    if returns("in_sample") > 0.0 {
        let expected = returns("out_of_sample") / returns("in_sample");
        assert!((efficiency.unwrap() - expected).abs() < 1e-12, "{efficiency:?} vs {expected}");
        assert!(stdout.contains(&format!("walk-forward efficiency {expected:.3}")), "{stdout}");
    } else {
        assert_eq!(efficiency, None, "undefined over a losing in-sample mean");
    }
    let lead = stdout.find("out of sample, stitched over").expect("the stitched lead");
    assert!(lead < stdout.find("the best strategy (the last fold's winner)").unwrap(), "{stdout}");
    // The charts say what they show: the last fold's train window, every fold's generations.
    let equity = w.read("one/equity.svg");
    assert!(equity.contains("the last fold&apos;s train window"), "equity.svg's window");
    let folds = best["folds"].as_u64().unwrap();
    let fitness = w.read("one/fitness.svg");
    assert!(fitness.contains(&format!("best fitness per generation in each of {folds} walk-forward folds")));
    assert!(fitness.contains("fold 0 (oldest)") && fitness.contains(&format!("fold {} (latest)", folds - 1)));
    let chart = w.read("one/out_of_sample.svg");
    assert!(
        chart.contains("GOOG_wiki.csv buy &amp; hold")
            && chart.contains(&format!("{folds} walk-forward test windows"))
    );
    // One generations.csv row per fold and generation, told apart by the fold.
    let generations = w.read("one/generations.csv");
    assert_eq!(generations.lines().next(), Some("fold,generation,best,mean,std,evaluations"));
    assert_eq!(generations.lines().count() as u64, 1 + folds * 7, "{generations}");
    assert!(generations.contains(&format!("\n{},6,", folds - 1)));

    ok(&w.gaform(&["run", "job.gaf", "--out", "two"], &[("RAYON_NUM_THREADS", "2")]));
    ok(&w.gaform(&["run", "job.gaf", "--out", "procs", "--islands-as", "processes"], &[]));
    for file in ["best.json", "hall_of_fame.csv", "windows.csv", "out_of_sample.csv", "generations.csv"] {
        let one = w.read(&format!("one/{file}"));
        assert_eq!(one, w.read(&format!("two/{file}")), "{file}: 1 vs 2 threads");
        assert_eq!(one, w.read(&format!("procs/{file}")), "{file}: threads vs processes");
    }
}

#[test]
fn min_aggregation_scores_a_genome_by_its_worst_file() {
    let w = workspace("everywhere", EVERYWHERE);
    ok(&w.gaform(&["run", "job.gaf", "--out", "one"], &[("RAYON_NUM_THREADS", "1")]));
    let best = best(&w, "one");
    assert_eq!(best["aggregate"], "min");
    assert!(best.get("metrics").is_none(), "per-file metrics only, in `assets`");
    let assets = best["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 4);
    let each: Vec<f64> = assets.iter().map(|a| a["in_sample"]["fitness"].as_f64().unwrap()).collect();
    let worst = each.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(best["fitness"].as_f64(), Some(worst), "{each:?}");
    for asset in assets {
        let file = asset["data"].as_str().unwrap();
        assert_eq!(asset["in_sample"]["from_bar"], 0);
        check_window(&w, &best["strategy"], file, &asset["in_sample"], "total_return");
    }
    // Every champion of the hall: the minimum of its rows in windows.csv.
    let windows = w.read("one/windows.csv");
    let hall = w.read("one/hall_of_fame.csv");
    for row in hall.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        let rank = cells[0];
        let fitness: f64 = cells[3].parse().unwrap();
        let per_file: Vec<f64> = windows
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|c| c[1] == rank)
            .map(|c| c[10].parse().unwrap())
            .collect();
        assert_eq!(per_file.len(), 4, "rank {rank}");
        assert_eq!(fitness, per_file.iter().copied().fold(f64::INFINITY, f64::min), "rank {rank}");
    }
    ok(&w.gaform(&["run", "job.gaf", "--out", "procs", "--islands-as", "processes"], &[]));
    for file in ["best.json", "hall_of_fame.csv", "windows.csv", "generations.csv"] {
        assert_eq!(w.read(&format!("one/{file}")), w.read(&format!("procs/{file}")), "{file}");
    }
}

#[test]
fn a_walk_forward_job_applied_on_the_local_cloud_deals_its_folds_to_workers_and_gives_the_same_bytes() {
    let w = workspace("walkapply", WALK_FORWARD);
    ok(&w.gaform(&["run", "job.gaf", "--out", "alone"], &[]));
    let folds = best(&w, "alone")["folds"].as_u64().unwrap();
    let plan = ok(&w.gaform(&["plan", "job.gaf"], &[]));
    assert!(plan.contains(&format!("folds       = {folds}")), "{plan}");
    assert!(plan.contains("walk_forward(train = 730d, test = 180d, step = 180d, rolling)"), "{plan}");
    assert!(plan.contains("data        = \"GOOG_wiki.csv, IBM_wiki.csv\""), "the pattern, expanded: {plan}");
    let apply = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    assert!(apply.contains(&format!("{} island(s) on", 2 * folds)), "two islands per fold: {apply}");
    for file in ["best.json", "hall_of_fame.csv", "windows.csv", "out_of_sample.csv", "generations.csv"] {
        assert_eq!(w.read(&format!("alone/{file}")), w.read(&format!("results/walk/{file}")), "{file}");
    }
    let report = w.read("results/walk/report.html");
    assert!(report.contains("out of sample"), "the report sets the two side by side");
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
}

#[test]
fn backtest_bars_outside_the_data_or_empty_are_refused_with_why() {
    let w = Workspace::new("bars", "");
    for (bars, why) in [
        ("20..10", "FROM must be below TO"),
        ("0..99999", "the data has 2148 bars"),
        ("a..3", "not a row number"),
    ] {
        let out = w.gaform(
            &[
                "backtest",
                "GOOG_wiki.csv",
                "--bars",
                bars,
                "--strategy",
                "sma_crossover(fast = 5, slow = 20)",
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{bars}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{bars}: {stderr}");
    }
}
