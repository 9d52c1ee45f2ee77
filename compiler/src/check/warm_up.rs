//! W0004: a strategy's indicators must leave room for a trade in its data. A period of
//! 10,000 bars on 2,148 bars of data backtests to zero trades without saying why; this says
//! why, with the numbers, wherever the data's length is known (`check`, `run`, `backtest`).

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Domain, ParamRange, StrategyDef, BARS_FOR_A_TRADE};
use crate::source::Span;

impl Checker<'_> {
    /// Warns when no genome of `strategy` can close a trade on `bars` bars of `path` (as
    /// messages name it: `` `GOOG.csv` ``, or a window of it), or
    /// when part of a parameter's range cannot. `spans` locate each parameter's value.
    pub(super) fn room_to_trade(
        &mut self,
        strategy: &StrategyDef,
        spans: &[(&str, Span)],
        (path, bars): (&str, usize),
    ) {
        let span_of = |name: &str| spans.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
        let bars_i = i64::try_from(bars).unwrap_or(i64::MAX);
        let needed = |value: i64, offset: i64| value.saturating_add(offset).saturating_add(BARS_FOR_A_TRADE);
        let params = builtin_warm_up(strategy);
        // The fewest bars any genome needs: every parameter at its lower bound.
        let least = params.iter().max_by_key(|(_, range, offset)| needed(range.lo, *offset));
        if let Some(&(name, range, offset)) = least.filter(|(_, r, o)| needed(r.lo, *o) > bars_i) {
            let Some(span) = span_of(name) else { return };
            let value = if range.lo == range.hi {
                format!("{}", range.lo)
            } else {
                format!("{}..{}", range.lo, range.hi)
            };
            let least = needed(range.lo, offset);
            let d = Diagnostic::new(
                Code::W0004,
                format!(
                    "`{name} = {value}` needs at least {least} bars for one closed trade, but {path} has {bars}: the strategy can never trade"
                ),
                span,
                format!("its first decision comes after {} bars", range.lo.saturating_add(offset)),
            );
            let limit = bars_i - BARS_FOR_A_TRADE - offset;
            let help = if limit >= 1 {
                format!("keep `{name}` at or below {limit} on this data, or use a longer data file")
            } else {
                format!("{path} is too short for any `{name}`: use a longer data file")
            };
            self.report(d.with_help(help));
            return;
        }
        for (name, range, offset) in params {
            let limit = bars_i - BARS_FOR_A_TRADE - offset;
            let Some(span) = span_of(name).filter(|_| range.hi > limit) else { continue };
            let d = Diagnostic::new(
                Code::W0004,
                format!(
                    "`{name}` above {limit} leaves no room for a closed trade in the {bars} bars of {path}: part of the search space can never trade"
                ),
                span,
                format!("{}..{} cannot trade", limit + 1, range.hi),
            );
            self.report(
                d.with_help(format!("narrow it to `{}..{limit}`, or use a longer data file", range.lo)),
            );
        }
    }
}

/// A built-in's parameters that delay its first decision, each with an offset: it first
/// decides on (0-based) bar `max(value + offset)`, once every indicator is defined, as
/// backtesting.py starts `next()`. The same rule as the written strategies' lookback (a
/// test keeps the two in step), per parameter so that W0004 and E0017 name the one at
/// fault in today's words. Empty for a strategy not of the prelude.
pub(super) fn builtin_warm_up(def: &StrategyDef) -> Vec<(&str, ParamRange, i64)> {
    let offsets: &[(&str, i64)] = match (def.prelude, def.name.as_str()) {
        (true, "sma_crossover") => &[("fast", 0), ("slow", 0)],
        (true, "rsi_reversion") => &[("period", 1)],
        (true, "breakout") => &[("lookback", 1), ("exit", 1)],
        _ => &[],
    };
    offsets
        .iter()
        .filter_map(|&(name, offset)| {
            let gene = def.genes.iter().find(|g| g.name == name)?;
            let Domain::Int { lo, hi, .. } = gene.domain else { return None };
            Some((gene.name.as_str(), ParamRange { lo, hi }, offset))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_ins_warm_up_is_its_prelude_texts_lookback() {
        for name in ["sma_crossover", "rsi_reversion", "breakout"] {
            for (a, b) in [(1, 2), (2, 5), (7, 40), (20, 200), (199, 3)] {
                let r = |v| ParamRange { lo: v, hi: v };
                let genes =
                    [("fast", r(a)), ("slow", r(b)), ("period", r(a)), ("lookback", r(a)), ("exit", r(b))];
                let Some(def) = crate::prelude::instantiate(name, &genes, Span::default()) else {
                    panic!("{name} is in the prelude");
                };
                let table = builtin_warm_up(&def).iter().map(|(_, r, offset)| r.lo + offset).max();
                let written =
                    super::super::strategy::least_bars_for_a_trade(&def).map(|n| n - BARS_FOR_A_TRADE);
                assert_eq!(table, written, "{name}({a}, {b})");
            }
        }
    }
}
