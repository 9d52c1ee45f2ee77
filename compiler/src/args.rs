//! Values written on the command line rather than in a file (`gaform backtest --strategy
//! 'sma_crossover(fast = 10, slow = 20)' --cash $10000 --commission 0.1%`), checked with the
//! rules and diagnostics they would get in a `.gaf` file.

use crate::diag::{Diagnostic, Problems};
use crate::ir;
use crate::source::SourceFile;

/// A strategy call, such as `sma_crossover(fast = 10, slow = 20)`.
pub fn strategy(source: &SourceFile) -> Result<ir::Strategy, Vec<Diagnostic>> {
    standalone(source, |checker, expr| checker.strategy(expr))
}

/// An amount of money, such as `$10000`.
pub fn money(source: &SourceFile) -> Result<f64, Vec<Diagnostic>> {
    standalone(source, |checker, expr| checker.money_value(expr))
}

/// A percentage, such as `0.1%`, as a fraction.
pub fn percent(source: &SourceFile) -> Result<f64, Vec<Diagnostic>> {
    standalone(source, |checker, expr| checker.percent_value(expr))
}

fn standalone<T>(
    source: &SourceFile,
    check: impl FnOnce(&mut crate::check::Checker<'_>, &crate::ast::Expr) -> Option<T>,
) -> Result<T, Vec<Diagnostic>> {
    let mut problems = Problems::default();
    let value = crate::parse::expression(source, &mut problems)
        .and_then(|expr| crate::check::standalone(&mut problems, |checker| check(checker, &expr)));
    match value {
        Some(v) if !problems.has_errors() => Ok(v),
        _ => Err(problems.finish(source.text.len())),
    }
}
