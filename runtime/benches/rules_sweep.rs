//! `cargo bench -p gaform-runtime --bench rules_sweep`: a strategy written in the file
//! through the general evaluator, on one thread: an EMA cross filtered by RSI with a 2%
//! stop (issue 25's three-indicator strategy), swept over fast 5..=40 × slow 20..=120 ×
//! level 50..=80 step 5 on GOOG (2,148 bars). Prints backtests per second, the distinct
//! indicator series kept, and the evaluation's share of the time (the rest is the orders'
//! simulation).

use gaform_runtime::backtest::{orders, Calendar, Costs, Keep};
use gaform_runtime::data;
use gaform_runtime::rules::series::Series;
use gaform_runtime::rules::signals::signals;
use gaform_runtime::rules::{Compare, Distance, Domain, Expr, Gene, Price, Program, Side};
use std::time::Instant;

fn ema(n: Expr) -> Expr {
    Expr::Indicator {
        callee: gaform_runtime::rules::Callee::Fixed("ema".into()),
        args: vec![Expr::Price(Price::Close), n],
        output: 0,
    }
}

fn program() -> Program {
    let rsi = Expr::Indicator {
        callee: gaform_runtime::rules::Callee::Fixed("rsi".into()),
        args: vec![Expr::Price(Price::Close), Expr::Const(14.0)],
        output: 0,
    };
    let gene = |name: &str, domain| Gene { name: name.into(), domain };
    Program {
        name: "ema_rsi".into(),
        genes: vec![
            gene("fast", Domain::Int { lo: 5, hi: 40, step: 1 }),
            gene("slow", Domain::Int { lo: 20, hi: 120, step: 1 }),
            gene("level", Domain::Float { lo: 50.0, hi: 80.0, step: Some(5.0) }),
        ],
        constraint: None,
        side: Side::Long,
        entry: Some(Expr::And(
            Box::new(Expr::CrossesAbove(Box::new(ema(Expr::Gene(0))), Box::new(ema(Expr::Gene(1))))),
            Box::new(Expr::Compare(Compare::Lt, Box::new(rsi), Box::new(Expr::Gene(2)))),
        )),
        exit: Some(Expr::CrossesAbove(Box::new(ema(Expr::Gene(1))), Box::new(ema(Expr::Gene(0))))),
        entry_short: None,
        exit_short: None,
        stop_loss: Some(Distance::Fraction(Expr::Const(0.02))),
        take_profit: None,
        trailing_stop: None,
        size: Expr::Const(1.0),
    }
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
    let program = program();
    let genomes: Vec<Vec<f64>> = (5..=40)
        .flat_map(|f| (20..=120).filter(move |s| *s > f).map(move |s| (f, s)))
        .flat_map(|(f, s)| (0..=6).map(move |k| vec![f as f64, s as f64, 50.0 + 5.0 * k as f64]))
        .collect();
    println!("{} backtests × {} bars, one thread", genomes.len(), data.len());
    let mut best_rate = 0.0f64;
    for _ in 0..5 {
        let mut series = Series::new(&data);
        let (mut evaluating, mut simulating) = (0.0, 0.0);
        let mut best = f64::NEG_INFINITY;
        let started = Instant::now();
        for genome in &genomes {
            let t = Instant::now();
            let Ok(s) = signals(&program, genome, &mut series) else { continue };
            evaluating += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (report, ..) = orders::simulate(&data, &calendar, &s, Costs::default(), Keep::default());
            simulating += t.elapsed().as_secs_f64();
            best = best.max(report.metrics.sharpe);
        }
        let took = started.elapsed().as_secs_f64();
        let rate = genomes.len() as f64 / took;
        best_rate = best_rate.max(rate);
        println!(
            "sweep: {took:.3} s, {rate:.0} backtests/s; rules {:.0}%, orders {:.0}%; {} series kept; best Sharpe {best:.6}",
            100.0 * evaluating / took,
            100.0 * simulating / took,
            series.kept()
        );
    }
    println!("best of 5: {best_rate:.0} backtests/s on one core");
}
