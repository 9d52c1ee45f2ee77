//! The one place the language's IR meets the runtime's types: the compiler and the runtime
//! know nothing of each other. Adding a strategy forces these matches to be updated.

use gaform_compiler::ir::{self, ParamRange};
use gaform_runtime::strategy::Strategy;

/// The strategy with every parameter fixed (`fast = 10`, not `fast = 2..50`), for a single
/// backtest; the name of the first parameter that is still a range if not.
pub fn fixed_strategy(strategy: &ir::Strategy) -> Result<Strategy, String> {
    let one = |name: &str, r: ParamRange| {
        if r.lo == r.hi {
            Ok(r.lo)
        } else {
            Err(format!("`{name}` is a range ({}..{}): a backtest needs one value", r.lo, r.hi))
        }
    };
    let bars = |name: &str, r: ParamRange| one(name, r).map(|v| usize::try_from(v).unwrap_or(0));
    Ok(match *strategy {
        ir::Strategy::SmaCrossover { fast, slow } => {
            Strategy::SmaCrossover { fast: bars("fast", fast)?, slow: bars("slow", slow)? }
        }
        ir::Strategy::RsiReversion { period, lower, upper } => Strategy::RsiReversion {
            period: bars("period", period)?,
            lower: one("lower", lower)?,
            upper: one("upper", upper)?,
        },
        ir::Strategy::Breakout { lookback, exit } => {
            Strategy::Breakout { lookback: bars("lookback", lookback)?, exit: bars("exit", exit)? }
        }
    })
}

/// The strategy as a `.gaf` call: `sma_crossover(fast = 10, slow = 20)`.
pub fn describe(strategy: &Strategy) -> String {
    match *strategy {
        Strategy::SmaCrossover { fast, slow } => format!("sma_crossover(fast = {fast}, slow = {slow})"),
        Strategy::RsiReversion { period, lower, upper } => {
            format!("rsi_reversion(period = {period}, lower = {lower}, upper = {upper})")
        }
        Strategy::Breakout { lookback, exit } => format!("breakout(lookback = {lookback}, exit = {exit})"),
    }
}
