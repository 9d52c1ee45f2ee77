//! W0004: a strategy's indicators must leave room for a trade in its data. A period of
//! 10,000 bars on 2,148 bars of data backtests to zero trades without saying why; this says
//! why, with the numbers, wherever the data's length is known (`check`, `run`, `backtest`).

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Strategy, BARS_FOR_A_TRADE};
use crate::source::Span;

impl Checker<'_> {
    /// Warns when no genome of `strategy` can close a trade on `bars` bars of `path` (as
    /// messages name it: `` `GOOG.csv` ``, or a window of it), or
    /// when part of a parameter's range cannot. `spans` locate each parameter's value.
    pub(super) fn room_to_trade(
        &mut self,
        strategy: &Strategy,
        spans: &[(&str, Span)],
        (path, bars): (&str, usize),
    ) {
        let span_of = |name: &str| spans.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
        let bars_i = i64::try_from(bars).unwrap_or(i64::MAX);
        let needed = |value: i64, offset: i64| value.saturating_add(offset).saturating_add(BARS_FOR_A_TRADE);
        let params = strategy.warm_up();
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
