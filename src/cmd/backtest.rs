//! `gaform backtest DATA --strategy '...'`: one backtest, the figures a quant re-checks a
//! winner with (BACKTEST.md's conventions, backtesting.py's numbers).

use crate::cli::{BacktestArgs, Format};
use crate::failure::Failure;
use crate::render::diagnostics;
use gaform_compiler::source::SourceFile;
use gaform_runtime::backtest::{self, Calendar, Costs, Keep, Metrics, Position, Report, Signal, Trade};
use gaform_runtime::data::{format_timestamp, Ohlcv};
use gaform_runtime::rules::series::Series;
use gaform_runtime::rules::signals::signals;
use gaform_runtime::rules::{Choice, Domain};
use gaform_runtime::strategy::Strategy;
use serde::Serialize;
use std::process::ExitCode;

/// What a backtest starts with and pays when neither the command line nor a job says.
const DEFAULT_CASH: &str = "$10000";
const DEFAULT_COMMISSION: &str = "0.1%";

pub fn run(args: &BacktestArgs) -> Result<ExitCode, Failure> {
    let value = |name: &str, text: &str| SourceFile::new(format!("--{name}"), text);
    let (strategy_src, cash_src, commission_src) = (
        value("strategy", &args.strategy),
        value("cash", args.cash.as_deref().unwrap_or(DEFAULT_CASH)),
        value("commission", args.commission.as_deref().unwrap_or(DEFAULT_COMMISSION)),
    );
    // Loaded (and cut) first, so that the strategy is checked against the bars it gets
    // (W0004).
    let window = match args.bars.as_deref().map(parse_bars).transpose() {
        Ok(w) => w,
        Err(e) => {
            errln!("error: --bars: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let data = gaform_runtime::data::load(&args.data).map_err(|e| e.to_string()).and_then(|d| match window {
        None => Ok(d),
        Some((from, to)) if to <= d.len() => Ok(gaform_runtime::windows::slice(&d, from..to)),
        Some((_, to)) => Err(format!("--bars: the data has {} bars, so it ends before bar {to}", d.len())),
    });
    let data_name = match window {
        None => args.data.display().to_string(),
        Some((from, to)) => format!("{} rows {from}..{to}", args.data.display()),
    };
    if let Some(file) = &args.file {
        return written(args, file, &strategy_src, data, &data_name);
    }
    let bars = data.as_ref().ok().map(|d| (data_name.as_str(), d.len()));
    let strategy = gaform_compiler::args::strategy(&strategy_src, bars);
    let cash = gaform_compiler::args::money(&cash_src);
    let commission = gaform_compiler::args::percent(&commission_src);
    let colour = diagnostics::colour_wanted();
    let mut failed = false;
    for (source, found) in [
        (&strategy_src, strategy.as_ref().map_or_else(|e| e.as_slice(), |(_, warnings)| warnings.as_slice())),
        (&cash_src, cash.as_ref().err().map_or(&[][..], Vec::as_slice)),
        (&commission_src, commission.as_ref().err().map_or(&[][..], Vec::as_slice)),
    ] {
        if !found.is_empty() {
            err!("{}", diagnostics::human(source, found, colour));
            failed |= found.iter().any(|d| d.is_error());
        }
    }
    let (Ok((strategy, _)), Ok(cash), Ok(commission), false) = (strategy, cash, commission, failed) else {
        return Ok(ExitCode::FAILURE);
    };
    let fail = |message: String| {
        errln!("error: {message}");
        Ok(ExitCode::FAILURE)
    };
    let strategy = match crate::job::fixed_strategy(&strategy) {
        Ok(s) => s,
        Err(e) => return fail(format!("--strategy: {e}")),
    };
    if cash <= 0.0 || !(0.0..1.0).contains(&commission) {
        return fail("--cash must be above $0 and --commission in [0%, 100%)".into());
    }
    let data = match data {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let calendar = Calendar::new(&data.time);
    let costs = Costs { cash, commission };
    let keep = Keep { equity: false, trades: args.trades };
    let (report, position, signal) = backtest::run_with_stance(&data, &calendar, &strategy, costs, keep);
    print(
        args,
        &data,
        &data_name,
        (Called::Builtin(strategy), strategy.to_string()),
        (cash, commission),
        (report, position, signal),
    )
}

/// `--file FILE`: a strategy written in FILE, one gene assignment of it.
fn written(
    args: &BacktestArgs,
    file: &std::path::Path,
    strategy_src: &SourceFile,
    data: Result<Ohlcv, String>,
    data_name: &str,
) -> Result<ExitCode, Failure> {
    let options = gaform_compiler::CheckOptions { data_errors: false };
    let Some(checked) = crate::load::read_and_check(file, &options, crate::load::Report::OnError)? else {
        return Ok(ExitCode::FAILURE);
    };
    let strategies = gaform_compiler::prelude::with(&checked.program.strategies);
    let genome = gaform_compiler::args::genome(strategy_src, &strategies);
    let job = match &args.job {
        None => None,
        Some(name) => match checked.program.jobs.iter().find(|j| &j.name == name) {
            Some(job) => Some(job),
            None => {
                let jobs: Vec<&str> = checked.program.jobs.iter().map(|j| j.name.as_str()).collect();
                errln!(
                    "error: --job: {} has no job `{name}` (its jobs: {})",
                    file.display(),
                    jobs.join(", ")
                );
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let cash = match (&args.cash, job) {
        (None, Some(job)) => Ok(job.cash),
        (given, _) => {
            gaform_compiler::args::money(&SourceFile::new("--cash", given.as_deref().unwrap_or(DEFAULT_CASH)))
        }
    };
    let commission = match (&args.commission, job) {
        (None, Some(job)) => Ok(job.commission),
        (given, _) => gaform_compiler::args::percent(&SourceFile::new(
            "--commission",
            given.as_deref().unwrap_or(DEFAULT_COMMISSION),
        )),
    };
    let colour = diagnostics::colour_wanted();
    if let Err(found) = &genome {
        err!("{}", diagnostics::human(strategy_src, found, colour));
    }
    let (Ok(((which, genome), _)), Ok(cash), Ok(commission)) = (genome, cash, commission) else {
        return Ok(ExitCode::FAILURE);
    };
    let Some(def) = strategies.get(which) else { return Ok(ExitCode::FAILURE) };
    if cash <= 0.0 || !(0.0..1.0).contains(&commission) {
        errln!("error: --cash must be above $0 and --commission in [0%, 100%)");
        return Ok(ExitCode::FAILURE);
    }
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            errln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let program = crate::program::program(def);
    // A program of the prelude's runs on its built-in kernel, as its jobs do: the same
    // figures as `backtest` without `--file`, to the bit.
    let space = gaform_runtime::ga::Space::of(program.clone());
    let whole: Vec<i64> = genome.iter().map(|&v| v as i64).collect();
    if let Some(strategy) = space.decode(&whole).filter(|_| space.program().is_none()) {
        let calendar = Calendar::new(&data.time);
        let keep = Keep { equity: false, trades: args.trades };
        let costs = Costs { cash, commission };
        let outcome = backtest::run_with_stance(&data, &calendar, &strategy, costs, keep);
        let shown = strategy.to_string();
        return print(
            args,
            &data,
            data_name,
            (Called::Builtin(strategy), shown),
            (cash, commission),
            outcome,
        );
    }
    let mut series = Series::new(&data);
    let signals = signals(&program, &genome, &mut series).map_err(|e| e.to_string())?;
    let calendar = Calendar::new(&data.time);
    let keep = Keep { equity: false, trades: args.trades };
    let outcome = backtest::orders::simulate(&data, &calendar, &signals, Costs { cash, commission }, keep);
    let genes =
        program.genes.iter().zip(&genome).map(|(g, &v)| (g.name.clone(), gene_json(&g.domain, v))).collect();
    let called = Written { name: program.name.clone(), genes };
    let shown = program.show(&genome);
    print(args, &data, data_name, (Called::Written(called), shown), (cash, commission), outcome)
}

/// A gene value in JSON: a number (an integral one as an int, a percent as its fraction),
/// or a choice's word.
fn gene_json(domain: &Domain, value: f64) -> serde_json::Value {
    let number = |v: f64| if v.fract() == 0.0 && v.abs() < 1e15 { (v as i64).into() } else { v.into() };
    match domain {
        Domain::Choice(choices) => match choices.get(value as usize) {
            Some(Choice::Number(v)) => number(*v),
            Some(Choice::Percent(v)) => (*v).into(),
            Some(Choice::Indicator(w) | Choice::Word(w)) => w.clone().into(),
            None => serde_json::Value::Null,
        },
        Domain::Int { .. } => (value as i64).into(),
        Domain::Float { .. } => value.into(),
    }
}

/// The strategy a backtest ran, as JSON.
#[derive(Serialize)]
#[serde(untagged)]
enum Called {
    /// A built-in: `{"strategy": "sma_crossover", "fast": 10, "slow": 20}`.
    Builtin(Strategy),
    /// One written in a file.
    Written(Written),
}

/// `{"strategy": NAME, GENE: VALUE, ...}`, the genes in their declared order.
struct Written {
    name: String,
    genes: Vec<(String, serde_json::Value)>,
}

impl Serialize for Written {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.genes.len() + 1))?;
        map.serialize_entry("strategy", &self.name)?;
        for (gene, value) in &self.genes {
            map.serialize_entry(gene, value)?;
        }
        map.end()
    }
}

/// Prints one backtest's figures as `--format` asks.
fn print(
    args: &BacktestArgs,
    data: &Ohlcv,
    data_name: &str,
    (strategy, shown): (Called, String),
    (cash, commission): (f64, f64),
    (report, position, signal): (Report, Position, Signal),
) -> Result<ExitCode, Failure> {
    let out = Output {
        position,
        signal,
        data: data_name,
        bars: data.len(),
        strategy,
        shown,
        cash,
        commission,
        metrics: report.metrics,
        trades: args.trades.then(|| {
            let at = |bar: usize| data.time.get(bar).map_or_else(String::new, |&t| format_timestamp(t));
            report
                .trades
                .iter()
                .map(|trade| Dated { trade, entry: at(trade.entry_bar), exit: at(trade.exit_bar) })
                .collect()
        }),
    };
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string(&out).map_err(|e| e.to_string())?),
        Format::Human => out!("{}", human(&out)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `FROM..TO`, 0-based, `FROM < TO`.
pub(crate) fn parse_bars(text: &str) -> Result<(usize, usize), Failure> {
    let (from, to) = text.split_once("..").ok_or_else(|| format!("`{text}` is not FROM..TO"))?;
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("`{s}` is not a row number"));
    let (from, to) = (number(from)?, number(to)?);
    if from >= to {
        return Err(format!("`{text}` holds no row: FROM must be below TO").into());
    }
    Ok((from, to))
}

/// The JSON shape: `{"metrics": {...}, ...}`; an undefined metric is `null`.
#[derive(Serialize)]
struct Output<'a> {
    data: &'a str,
    bars: usize,
    /// `{"strategy": NAME, GENE: VALUE, ...}`.
    strategy: Called,
    /// The strategy as a call, for people.
    #[serde(skip)]
    shown: String,
    cash: f64,
    commission: f64,
    metrics: Metrics,
    /// Held at the close of the last bar (what `gaform serve` answers for the same bars).
    position: Position,
    /// The strategy's order at the close of the last bar.
    signal: Signal,
    #[serde(skip_serializing_if = "Option::is_none")]
    trades: Option<Vec<Dated<'a>>>,
}

/// A trade with the dates of its entry and exit bars beside their numbers.
#[derive(Serialize)]
struct Dated<'a> {
    #[serde(flatten)]
    trade: &'a Trade,
    /// The entry bar's time (`2016-03-01`, or with the time of day on intraday data).
    #[serde(rename = "entry_time")]
    entry: String,
    #[serde(rename = "exit_time")]
    exit: String,
}

fn human(out: &Output<'_>) -> String {
    let m = &out.metrics;
    let pct = |x: f64| if x.is_nan() { "n/a".to_string() } else { format!("{:.4}%", x * 100.0) };
    let ratio = |x: f64| if x.is_nan() { "n/a".to_string() } else { format!("{x:.6}") };
    let mut s = format!(
        "{} · {} · {} bars · ${} cash · {}% commission per side\n\n",
        out.data,
        out.shown,
        out.bars,
        out.cash,
        out.commission * 100.0
    );
    let rows = [
        ("final equity", format!("${:.4}", m.final_equity)),
        ("total return", pct(m.total_return)),
        ("annual return", pct(m.annual_return)),
        ("annual volatility", pct(m.annual_volatility)),
        ("max drawdown", pct(m.max_drawdown)),
        ("sharpe", ratio(m.sharpe)),
        ("sortino", ratio(m.sortino)),
        ("calmar", ratio(m.calmar)),
        ("trades", m.trades.to_string()),
        ("win rate", pct(m.win_rate)),
        ("profit factor", ratio(m.profit_factor)),
    ];
    for (name, value) in rows {
        s.push_str(&format!("{name:<18} {value:>16}\n"));
    }
    let stance = format!("{}, {}", word(&out.position), word(&out.signal));
    s.push_str(&format!("{:<18} {stance:>16}\n", "last bar"));
    if let Some(trades) = &out.trades {
        let width = trades.iter().map(|d| d.entry.len().max(d.exit.len())).max().unwrap_or(10).max(10);
        s.push_str(&format!(
            "\n{:>9} {:<width$} {:>9} {:<width$} {:>10} {:>11} {:>11} {:>12}\n",
            "entry bar", "entry date", "exit bar", "exit date", "units", "entry", "exit", "P&L"
        ));
        for Dated { trade: t, entry, exit } in trades {
            s.push_str(&format!(
                "{:>9} {entry:<width$} {:>9} {exit:<width$} {:>10} {:>11.4} {:>11.4} {:>12.4}\n",
                t.entry_bar, t.exit_bar, t.units, t.entry_price, t.exit_price, t.pnl
            ));
        }
    }
    s
}

/// How a unit enum serialises (`long`, `buy`).
fn word(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}
