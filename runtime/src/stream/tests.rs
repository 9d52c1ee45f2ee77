//! A stream against the batch it follows: every indicator bar by bar equals its batch series
//! to the bit, and a stream's stance after every bar equals a backtest of the bars so far.

use super::graph::Graph;
use super::indicator::Prices;
use super::*;
use crate::backtest::orders;
use crate::data;
use crate::rules::series::{Key, Series};
use crate::rules::{Arith, Callee, Compare, Distance as Risk, Domain, Expr, Gene, Price, Side};
use crate::windows::slice;
use std::path::Path;

const FILES: [&str; 4] = ["GOOG_wiki.csv", "IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"];

fn load(file: &str) -> Ohlcv {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data").join(file);
    data::load(&path).expect("a bundled file loads")
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn num(v: f64) -> Key {
    Key::Const(v.to_bits())
}

fn close() -> Key {
    Key::Price(Price::Close)
}

fn indicator(name: &str, args: Vec<Key>, output: usize) -> Key {
    Key::Indicator { name: name.into(), args, output }
}

/// Every indicator of the library, on prices and on series with gaps and infinities.
fn keys() -> Vec<Key> {
    // Undefined at the start (a lag), infinite where the close equals the open.
    let ragged = Key::Arith(
        Arith::Div,
        Box::new(Key::Lag(Box::new(close()), 3)),
        Box::new(Key::Arith(Arith::Sub, Box::new(close()), Box::new(Key::Price(Price::Open)))),
    );
    let mut keys = Vec::new();
    for x in [close(), ragged, Key::Price(Price::Volume)] {
        for (name, n) in [
            ("sma", 1.0),
            ("sma", 10.0),
            ("sma", 50.0),
            ("ema", 1.0),
            ("ema", 12.0),
            ("wma", 1.0),
            ("wma", 10.0),
            ("rsi", 2.0),
            ("rsi", 14.0),
            ("roc", 1.0),
            ("roc", 10.0),
            ("highest", 1.0),
            ("highest", 20.0),
            ("lowest", 20.0),
            ("sma", 0.0),
            ("ema", 2.5),
        ] {
            keys.push(indicator(name, vec![x.clone(), num(n)], 0));
        }
        for k in 0..3 {
            keys.push(indicator("macd", vec![x.clone(), num(12.0), num(26.0), num(9.0)], k));
            keys.push(indicator("macd", vec![x.clone(), num(3.0), num(5.0), num(2.0)], k));
            keys.push(indicator("bollinger", vec![x.clone(), num(20.0), num(2.0)], k));
            keys.push(indicator("bollinger", vec![x.clone(), num(5.0), num(1.5)], k));
        }
        keys.push(Key::Lag(Box::new(x.clone()), 0));
        keys.push(Key::Lag(Box::new(x), 7));
    }
    for n in [1.0, 14.0] {
        for name in ["atr", "adx", "cci", "vwap"] {
            keys.push(indicator(name, vec![num(n)], 0));
        }
    }
    keys.push(indicator("stochastic", vec![num(14.0), num(3.0)], 0));
    keys.push(indicator("stochastic", vec![num(14.0), num(3.0)], 1));
    keys.push(indicator("stochastic", vec![num(1.0), num(1.0)], 1));
    keys.push(indicator("obv", vec![], 0));
    keys.push(indicator("no_such_indicator", vec![close(), num(5.0)], 0));
    keys
}

#[test]
fn every_indicator_bar_by_bar_is_its_batch_series_to_the_bit() {
    let keys = keys();
    for file in FILES {
        let data = load(file);
        let mut series = Series::new(&data);
        let mut graph = Graph::default();
        let nodes: Vec<_> = keys.iter().map(|k| graph.add(k)).collect();
        let batch: Vec<_> = keys.iter().map(|k| series.get(k)).collect();
        for i in 0..data.len() {
            graph.next(&prices(&data, i));
            for ((key, &node), whole) in keys.iter().zip(&nodes).zip(&batch) {
                let (ours, theirs) = (graph.now(node), whole.at(i));
                assert!(
                    same(ours, theirs),
                    "{file}, bar {i}, {key:?}: {ours} bar by bar, {theirs} in a batch"
                );
            }
        }
    }
}

#[test]
fn a_window_takes_only_its_period() {
    let mut sma = running::Sma::new(3);
    let values: Vec<f64> = (0..1000).map(f64::from).map(|v| sma.next(v)).collect();
    assert_eq!(values[999], 998.0);
    assert!(format!("{sma:?}").len() < 400, "a 3-bar window keeps 3 values: {sma:?}");
    let bar = Prices { open: 1.0, high: 2.0, low: 0.5, close: 1.5, volume: 10.0 };
    let mut atr = indicator::Indicator::new("atr", &[14.0]);
    assert!(atr.next(f64::NAN, &bar)[0].is_nan());
}

fn gene(name: &str, lo: i64, hi: i64) -> Gene {
    Gene { name: name.into(), domain: Domain::Int { lo, hi, step: 1 } }
}

fn call(name: &str, args: Vec<Expr>) -> Box<Expr> {
    Box::new(Expr::Indicator { callee: Callee::Fixed(name.into()), args, output: 0 })
}

fn output(name: &str, args: Vec<Expr>, output: usize) -> Box<Expr> {
    Box::new(Expr::Indicator { callee: Callee::Fixed(name.into()), args, output })
}

fn price(p: Price) -> Expr {
    Expr::Price(p)
}

fn program(name: &str, genes: Vec<Gene>, side: Side) -> Program {
    Program {
        name: name.into(),
        genes,
        constraint: None,
        side,
        entry: None,
        exit: None,
        entry_short: None,
        exit_short: None,
        stop_loss: None,
        take_profit: None,
        trailing_stop: None,
        size: Expr::Const(1.0),
    }
}

/// Strategies that use every order feature: stops and targets as fractions and as price
/// distances, a trailing stop, a fractional size, shorts and both sides.
fn strategies() -> Vec<(Program, Vec<f64>)> {
    let b = Box::new;
    let close = || price(Price::Close);
    let g = |i| Expr::Gene(i);
    let mut ema_rsi = program("ema_rsi", vec![gene("fast", 2, 50), gene("slow", 3, 200)], Side::Long);
    let (fast, slow) = (call("ema", vec![close(), g(0)]), call("ema", vec![close(), g(1)]));
    ema_rsi.entry = Some(Expr::And(
        b(Expr::CrossesAbove(fast.clone(), slow.clone())),
        b(Expr::Compare(Compare::Lt, call("rsi", vec![close(), Expr::Const(14.0)]), b(Expr::Const(70.0)))),
    ));
    ema_rsi.exit = Some(Expr::CrossesAbove(slow, fast));
    ema_rsi.stop_loss = Some(Risk::Fraction(Expr::Const(0.02)));
    ema_rsi.take_profit = Some(Risk::Fraction(Expr::Const(0.06)));
    ema_rsi.trailing_stop =
        Some(Risk::Price(Expr::Arith(Arith::Mul, b(Expr::Const(3.0)), call("atr", vec![Expr::Const(14.0)]))));
    ema_rsi.size = Expr::Const(0.5);

    let mut macd = program("macd_both", vec![gene("k", 2, 13)], Side::Both);
    let m = |k| output("macd", vec![close(), Expr::Const(12.0), Expr::Const(26.0), g(0)], k);
    macd.entry = Some(Expr::CrossesAbove(m(0), m(1)));
    macd.exit = Some(Expr::Compare(Compare::Lt, m(2), b(Expr::Const(0.0))));
    macd.entry_short = Some(Expr::CrossesAbove(m(1), m(0)));
    macd.exit_short = Some(Expr::Not(b(Expr::Compare(Compare::Lt, m(2), b(Expr::Const(0.0))))));

    let mut bands = program("bands_short", vec![gene("n", 5, 40)], Side::Short);
    let band = |k| output("bollinger", vec![close(), g(0), Expr::Const(2.0)], k);
    bands.entry_short = Some(Expr::And(
        b(Expr::Compare(Compare::Gt, b(close()), band(1))),
        b(Expr::Or(
            b(Expr::Compare(Compare::Gt, call("adx", vec![Expr::Const(14.0)]), b(Expr::Const(20.0)))),
            b(Expr::Compare(
                Compare::Gt,
                output("stochastic", vec![Expr::Const(14.0), Expr::Const(3.0)], 0),
                b(Expr::Const(80.0)),
            )),
        )),
    ));
    bands.exit_short = Some(Expr::Compare(Compare::Lt, b(close()), band(0)));
    bands.stop_loss =
        Some(Risk::Price(Expr::Arith(Arith::Mul, b(Expr::Const(2.0)), call("atr", vec![Expr::Const(14.0)]))));
    bands.take_profit = Some(Risk::Price(Expr::Arith(Arith::Sub, band(1), band(0))));

    let mut flow = program("flow", vec![gene("n", 2, 30)], Side::Long);
    flow.entry = Some(Expr::And(
        b(Expr::Compare(Compare::Gt, call("obv", vec![]), b(Expr::Lag(call("obv", vec![]), b(g(0)))))),
        b(Expr::Compare(Compare::Gt, b(close()), call("vwap", vec![g(0)]))),
    ));
    flow.exit = Some(Expr::Or(
        b(Expr::Compare(Compare::Lt, call("cci", vec![Expr::Const(20.0)]), b(Expr::Const(-100.0)))),
        b(Expr::Compare(Compare::Le, b(close()), call("lowest", vec![price(Price::Low), g(0)]))),
    ));
    flow.trailing_stop = Some(Risk::Fraction(Expr::Const(0.05)));
    vec![(ema_rsi, vec![10.0, 30.0]), (macd, vec![9.0]), (bands, vec![20.0]), (flow, vec![10.0])]
}

/// A backtest of `data`'s bars: the stance after the last, or `None` when too few to decide.
fn backtest(program: &Program, genome: &[f64], data: &Ohlcv) -> Option<(Position, Signal)> {
    orders::stance(program, genome, data, Costs::default()).expect("the program binds")
}

#[test]
fn a_stream_after_every_bar_is_a_backtest_of_the_bars_so_far() {
    for (program, genome) in strategies() {
        // Every corpus strategy on every bundled file: `tests/it/streams.rs`.
        for file in ["GOOG_wiki.csv"] {
            let data = load(file);
            // Refused while too few, as the backtest is; seeded with the first bars it takes.
            let mut seeded = None;
            for k in 1..data.len() {
                let stream = Stream::seed(&program, &genome, Costs::default(), &slice(&data, 0..k));
                let batch = backtest(&program, &genome, &slice(&data, 0..k));
                match stream {
                    Err(StreamError::TooFew { .. }) => {
                        assert_eq!(batch, None, "{} {file}: {k} bars", program.name)
                    }
                    Err(e) => panic!("{e}"),
                    Ok(s) => {
                        assert_eq!(Some(s.stance()), batch, "{} {file}: seeded with {k} bars", program.name);
                        seeded = Some((s, k));
                        break;
                    }
                }
            }
            let (mut stream, mut k) = seeded.expect("a seed");
            let (mut positions, mut signals) =
                (std::collections::HashSet::new(), std::collections::HashSet::new());
            // One bar a push, then a few at once now and then.
            while k < data.len() {
                let take = if k % 97 == 0 { 5.min(data.len() - k) } else { 1 };
                stream.push(&slice(&data, k..k + take)).expect("bars in order");
                k += take;
                let batch = backtest(&program, &genome, &slice(&data, 0..k));
                assert_eq!(Some(stream.stance()), batch, "{} {file}: after {k} bars", program.name);
                assert_eq!(stream.bars(), k);
                positions.insert(format!("{:?}", stream.stance().0));
                signals.insert(format!("{:?}", stream.stance().1));
            }
            assert!(
                positions.len() >= 2 && signals.len() >= 2,
                "{}: {positions:?} {signals:?}",
                program.name
            );
        }
    }
}

#[test]
fn bars_out_of_order_leave_the_stream_as_it_was() {
    let data = load("GOOG_wiki.csv");
    let (program, genome) = strategies().remove(0);
    let mut stream = Stream::seed(&program, &genome, Costs::default(), &slice(&data, 0..300)).expect("seeds");
    let before = format!("{stream:?}");
    assert_eq!(stream.push(&slice(&data, 299..301)), Err(StreamError::OutOfOrder { bar: 0 }));
    assert_eq!(format!("{stream:?}"), before);
    stream.push(&slice(&data, 300..301)).expect("the next bar");
    assert_eq!(Some(stream.stance()), backtest(&program, &genome, &slice(&data, 0..301)));
}
