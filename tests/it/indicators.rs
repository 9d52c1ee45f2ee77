//! Every indicator of the library against its pandas definition (STRATEGIES.md), on every
//! bundled data file: the same undefined bars, and values within 1e-9 of the larger of the
//! value and the series' largest magnitude. The second term covers near-cancellations close
//! to zero (a MACD histogram, a rate of change) and pandas' running variance, which on a
//! few flat windows of MSFT's penny-priced years keeps a residue of about 1e-8 of the price
//! where gaform's, which follows pandas' algorithm elsewhere bit for bit, is exactly 0.

use gaform_runtime::data::{self, Ohlcv};
use gaform_runtime::indicators::{self as ind, ewm, library, rolling};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// The calls compared: every indicator and output, short and long periods, and indicators
/// of indicators (whose inputs start undefined).
fn calls() -> Vec<Value> {
    let mut calls = Vec::new();
    for n in [2, 20, 200] {
        calls.push(json!(["sma", "close", n]));
    }
    for n in [2, 12, 50] {
        calls.push(json!(["ema", "close", n]));
    }
    for n in [5, 30] {
        calls.push(json!(["wma", "close", n]));
        calls.push(json!(["cci", n]));
        calls.push(json!(["vwap", n]));
    }
    for n in [2, 14] {
        calls.push(json!(["rsi", "close", n]));
    }
    for (f, s, k) in [(12, 26, 9), (5, 35, 5)] {
        for output in ["line", "signal", "hist"] {
            calls.push(json!(["macd", "close", f, s, k, output]));
        }
    }
    for (n, k) in [(20, 2.0), (10, 1.5)] {
        for output in ["middle", "upper", "lower"] {
            calls.push(json!(["bollinger", "close", n, k, output]));
        }
    }
    for n in [1, 14] {
        calls.push(json!(["atr", n]));
    }
    for n in [5, 14] {
        calls.push(json!(["adx", n]));
    }
    for output in ["k", "d"] {
        calls.push(json!(["stochastic", 14, 3, output]));
    }
    calls.push(json!(["obv"]));
    for n in [1, 10] {
        calls.push(json!(["roc", "close", n]));
    }
    calls.push(json!(["highest", "high", 20]));
    calls.push(json!(["lowest", "low", 20]));
    calls.push(json!(["lag", "close", 3]));
    calls.push(json!(["sma", ["rsi", "close", 14], 5]));
    calls.push(json!(["ema", ["sma", "close", 5], 10]));
    calls.push(json!(["rsi", ["ema", "close", 10], 14]));
    calls.push(json!(["highest", ["roc", "volume", 1], 7]));
    calls
}

fn key(call: &Value) -> String {
    match call {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let name = parts[0].as_str().unwrap_or_default();
            let args: Vec<String> = parts[1..]
                .iter()
                .map(|a| match a {
                    Value::Number(n) if n.is_f64() => format!("{:?}", n.as_f64().unwrap_or_default()),
                    Value::Number(n) => n.to_string(),
                    other => key(other),
                })
                .collect();
            format!("{name}({})", args.join(","))
        }
        _ => String::new(),
    }
}

/// gaform's values for `call`.
fn compute(data: &Ohlcv, call: &Value) -> Vec<f64> {
    let series = |v: &Value| -> Vec<f64> {
        match v.as_str() {
            Some("open") => data.open.clone(),
            Some("high") => data.high.clone(),
            Some("low") => data.low.clone(),
            Some("close") => data.close.clone(),
            Some("volume") => data.volume.clone(),
            _ => compute(data, v),
        }
    };
    let p = call.as_array().expect("a call");
    let int = |i: usize| p[i].as_u64().expect("a period") as usize;
    let (h, l, c, v) = (&data.high, &data.low, &data.close, &data.volume);
    let output = |i: usize| p[i].as_str().expect("an output").to_string();
    match p[0].as_str().expect("a name") {
        "sma" => ind::sma(&series(&p[1]), int(2)),
        "ema" => ewm::ema(&series(&p[1]), int(2)),
        "wma" => library::wma(&series(&p[1]), int(2)),
        "rsi" => ind::rsi_of(&series(&p[1]), int(2)),
        "macd" => {
            let m = library::macd(&series(&p[1]), int(2), int(3), int(4));
            match output(5).as_str() {
                "line" => m.line,
                "signal" => m.signal,
                _ => m.hist,
            }
        }
        "bollinger" => {
            let b = library::bollinger(&series(&p[1]), int(2), p[3].as_f64().expect("k"));
            match output(4).as_str() {
                "middle" => b.middle,
                "upper" => b.upper,
                _ => b.lower,
            }
        }
        "atr" => library::atr(h, l, c, int(1)),
        "adx" => library::adx(h, l, c, int(1)),
        "stochastic" => {
            let s = library::stochastic(h, l, c, int(1), int(2));
            if output(3) == "k" {
                s.k
            } else {
                s.d
            }
        }
        "cci" => library::cci(h, l, c, int(1)),
        "obv" => library::obv(c, v),
        "roc" => library::roc(&series(&p[1]), int(2)),
        "highest" => rolling::max(&series(&p[1]), int(2)),
        "lowest" => rolling::min(&series(&p[1]), int(2)),
        "vwap" => library::vwap(h, l, c, v, int(1)),
        "lag" => rolling::shift(&series(&p[1]), int(2)),
        other => panic!("no indicator {other}"),
    }
}

#[test]
fn every_indicator_equals_its_pandas_definition_on_every_bundled_file() {
    let python = crate::quant::python();
    let script = crate::support::root().join("tests/python/indicators.py");
    let calls = calls();
    let mut compared = 0usize;
    let mut worst = 0.0f64;
    for file in ["GOOG_wiki.csv", "IBM_wiki.csv", "MSFT_pmdarima.csv", "SP500_arch.csv"] {
        let path = crate::support::root().join("examples/data").join(file);
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(Value::Array(calls.clone()).to_string().as_bytes())
            .expect("calls sent");
        let out = child.wait_with_output().expect("python ends");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let reference: serde_json::Map<String, Value> = serde_json::from_slice(&out.stdout).expect("JSON");
        let data = data::load(&path).expect("data");
        for call in &calls {
            let name = key(call);
            let want: Vec<Option<f64>> =
                reference[&name].as_array().expect("values").iter().map(Value::as_f64).collect();
            let got = compute(&data, call);
            assert_eq!(got.len(), want.len(), "{file} {name}");
            let scale = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                match w {
                    None => assert!(g.is_nan(), "{file} {name}[{i}]: pandas has no value, gaform {g}"),
                    Some(w) => {
                        let tolerance = 1e-9 * w.abs().max(g.abs()).max(scale);
                        assert!((g - w).abs() <= tolerance, "{file} {name}[{i}]: gaform {g}, pandas {w}");
                        worst =
                            worst.max((g - w).abs() / w.abs().max(g.abs()).max(scale).max(f64::MIN_POSITIVE));
                        compared += 1;
                    }
                }
            }
        }
    }
    eprintln!("indicators: {compared} values equal pandas', the largest difference {worst:e} of the scale");
}
