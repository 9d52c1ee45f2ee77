//! W0004: a strategy whose warm-up leaves no room for a trade in its data is reported, with
//! its numbers, by `backtest`, `check` and `run`; and the compiler's rule is the backtester's.

use crate::support::{gaform, Workspace};
use gaform_compiler::ir::{self, ParamRange, BARS_FOR_A_TRADE};
use gaform_runtime::backtest::{self, Calendar, Costs, Keep};
use gaform_runtime::strategy::Strategy;

/// The compiler's view of one genome: the prelude's strategy with every gene one value.
fn ir_of(strategy: Strategy) -> ir::StrategyDef {
    let one = |v: i64| ParamRange { lo: v, hi: v };
    let genes = match strategy {
        Strategy::SmaCrossover { fast, slow } => vec![("fast", one(fast as i64)), ("slow", one(slow as i64))],
        Strategy::RsiReversion { period, lower, upper } => {
            vec![("period", one(period as i64)), ("lower", one(lower)), ("upper", one(upper))]
        }
        Strategy::Breakout { lookback, exit } => {
            vec![("lookback", one(lookback as i64)), ("exit", one(exit as i64))]
        }
    };
    let name = strategy.to_string();
    let name = name.split('(').next().unwrap_or_default();
    gaform_compiler::prelude::instantiate(name, &genes, Default::default())
        .expect("a built-in is in the prelude")
}

#[test]
fn the_compilers_warm_up_is_the_backtesters_first_decision() {
    for a in [1, 2, 3, 7, 20, 199] {
        for b in [1, 2, 5, 40, 200] {
            for strategy in [
                Strategy::SmaCrossover { fast: a, slow: b },
                Strategy::RsiReversion { period: a, lower: 30, upper: 70 },
                Strategy::Breakout { lookback: a, exit: b },
            ] {
                let compiler = gaform_compiler::check::earliest_decision(&ir_of(strategy));
                assert_eq!(compiler, Some(strategy.first_decision() as i64), "{strategy}");
            }
        }
    }
}

/// Closes that make `sma_crossover(fast = 1, slow = 2)` (first decision on bar 2) cross up on
/// bar 2 and back down on bar 3: the earliest closed trade there is.
const EARLIEST_TRADE: [f64; 5] = [10.0, 9.0, 11.0, 10.0, 10.0];

fn closed_trades(bars: usize) -> usize {
    let mut csv = String::from("Date,Open,High,Low,Close\n");
    for (day, close) in EARLIEST_TRADE.iter().take(bars).enumerate() {
        csv.push_str(&format!("2020-01-{:02},{close},{close},{close},{close}\n", day + 1));
    }
    let data = gaform_runtime::data::parse("synthetic", &csv).expect("data");
    let strategy = Strategy::SmaCrossover { fast: 1, slow: 2 };
    let keep = Keep { equity: false, trades: true };
    backtest::run(&data, &Calendar::new(&data.time), &strategy, Costs::default(), keep).trades.len()
}

#[test]
fn one_closed_trade_takes_the_first_decision_plus_bars_for_a_trade() {
    let first = Strategy::SmaCrossover { fast: 1, slow: 2 }.first_decision();
    let enough = first + BARS_FOR_A_TRADE as usize;
    assert_eq!(enough, EARLIEST_TRADE.len());
    assert_eq!(closed_trades(enough), 1);
    assert_eq!(closed_trades(enough - 1), 0, "one bar fewer leaves the exit unfilled");
}

#[test]
fn backtest_says_why_a_strategy_cannot_trade() {
    let data = "examples/data/GOOG_wiki.csv";
    let out = gaform(&["backtest", data, "--strategy", "sma_crossover(fast = 5000, slow = 10000)"], None);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("W0004") && err.contains("needs at least 10003 bars"), "{err}");
    assert!(err.contains("has 2148") && err.contains("at or below 2145"), "{err}");
    let out = gaform(&["backtest", data, "--strategy", "sma_crossover(fast = 10, slow = 2145)"], None);
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn run_warns_before_it_evolves_a_space_that_cannot_trade() {
    let gaf = r#"cloud c {
  provider = local
}
compute x {
  cloud = c
  head { instance_type = "m5.large" }
  workers w {
    instance_type = "c5.large"
    max = 1
  }
}
job j {
  compute = x
  strategy = sma_crossover(fast = 5000..5001, slow = 10000..10001)
  data = "GOOG_wiki.csv"
  population = 4
  generations = 1
}
"#;
    let ws = Workspace::new("warm-up-run", gaf);
    let out = crate::support::gaform_in(&ws.0, &["run", "job.gaf"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("W0004") && err.contains("can never trade"), "{err}");
}
