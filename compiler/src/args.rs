//! Values written on the command line rather than in a file (`gaform backtest --strategy
//! 'sma_crossover(fast = 10, slow = 20)' --cash $10000 --commission 0.1%`), checked with the
//! rules and diagnostics they would get in a `.gaf` file.

use crate::diag::{Diagnostic, Problems};
use crate::ir;
use crate::source::SourceFile;

/// What a value checked alone gives: the value and its warnings, or its errors.
pub type Checked<T> = Result<(T, Vec<Diagnostic>), Vec<Diagnostic>>;

/// A strategy call, such as `sma_crossover(fast = 10, slow = 20)`; with `data` (a name for
/// the data and its bars), W0004 when the strategy cannot trade on it.
pub fn strategy(source: &SourceFile, data: Option<(&str, usize)>) -> Checked<Box<ir::StrategyDef>> {
    let named = data.map(|(path, bars)| (format!("`{path}`"), bars));
    standalone(source, |checker, expr| checker.strategy(expr, named.as_ref().map(|(p, b)| (p.as_str(), *b))))
}

/// One gene assignment of one of `strategies` (a file's), such as `ema_rsi(fast = 10,
/// ma = ema)`: the strategy's index and a value per gene (a choice gene's index).
pub fn genome(source: &SourceFile, strategies: &[ir::StrategyDef]) -> Checked<(usize, Vec<f64>)> {
    standalone(source, |checker, expr| checker.genome(expr, strategies))
}

/// An amount of money, such as `$10000`.
pub fn money(source: &SourceFile) -> Result<f64, Vec<Diagnostic>> {
    standalone(source, |checker, expr| checker.money_value(expr)).map(|(v, _)| v)
}

/// A percentage, such as `0.1%`, as a fraction.
pub fn percent(source: &SourceFile) -> Result<f64, Vec<Diagnostic>> {
    standalone(source, |checker, expr| checker.percent_value(expr)).map(|(v, _)| v)
}

fn standalone<T>(
    source: &SourceFile,
    check: impl FnOnce(&mut crate::check::Checker<'_>, &crate::ast::Expr) -> Option<T>,
) -> Checked<T> {
    let mut problems = Problems::default();
    let value = crate::parse::expression(source, &mut problems)
        .and_then(|expr| crate::check::standalone(&mut problems, |checker| check(checker, &expr)));
    let errors = problems.has_errors();
    let diagnostics = problems.finish(source.text.len());
    match value {
        Some(v) if !errors => Ok((v, diagnostics)),
        _ => Err(diagnostics),
    }
}
