//! The built-ins' kernels for the prelude's programs. `sma_crossover`, `rsi_reversion`
//! and `breakout` are written in the language like any strategy; a program that is one of
//! them, rule for rule, runs on the fused kernel made for it (`strategy::Strategy`: one pass
//! over the bars, no signal vectors) and is coded, mutated and reported as the built-in
//! always was, so that its results stay the same to the byte. Any other program runs on
//! the general evaluator (`rules`).

use super::space::{Range, Space};
use crate::rules::{Callee, Compare, Domain, Expr, Gene, Price, Program, Side};
use crate::strategy::Strategy;

impl Space {
    /// The space `program`'s genes span: a built-in's when the program is one of the
    /// prelude's, otherwise the written strategy's.
    pub fn of(program: Program) -> Space {
        built_in(&program).unwrap_or_else(|| Space::Written(Box::new(super::Written { program })))
    }
}

/// The built-in `program` is, with its genes' ranges.
fn built_in(program: &Program) -> Option<Space> {
    let ranges: Vec<Range> = program.genes.iter().map(int_range).collect::<Option<_>>()?;
    let genes: Vec<(&str, Range)> = program.genes.iter().map(|g| g.name.as_str()).zip(ranges).collect();
    let space = match (program.name.as_str(), genes.as_slice()) {
        ("sma_crossover", &[("fast", fast), ("slow", slow)]) => Space::SmaCrossover { fast, slow },
        ("rsi_reversion", &[("period", period), ("lower", lower), ("upper", upper)]) => {
            Space::RsiReversion { period, lower, upper }
        }
        ("breakout", &[("lookback", lookback), ("exit", exit)]) => Space::Breakout { lookback, exit },
        _ => return None,
    };
    (*program == prelude_program(program.name.as_str(), &program.genes)?).then_some(space)
}

/// A built-in with its parameters as the prelude's program and its genome (each gene's
/// range the one value): what runs a built-in where only programs run (a stream).
pub fn program_of(strategy: &Strategy) -> Option<(Program, Vec<f64>)> {
    let (name, genes): (&str, Vec<(&str, f64)>) = match *strategy {
        Strategy::SmaCrossover { fast, slow } => {
            ("sma_crossover", vec![("fast", fast as f64), ("slow", slow as f64)])
        }
        Strategy::RsiReversion { period, lower, upper } => (
            "rsi_reversion",
            vec![("period", period as f64), ("lower", lower as f64), ("upper", upper as f64)],
        ),
        Strategy::Breakout { lookback, exit } => {
            ("breakout", vec![("lookback", lookback as f64), ("exit", exit as f64)])
        }
    };
    let values: Vec<f64> = genes.iter().map(|(_, v)| *v).collect();
    let genes: Vec<Gene> = genes
        .into_iter()
        .map(|(name, v)| Gene {
            name: name.to_string(),
            domain: Domain::Int { lo: v as i64, hi: v as i64, step: 1 },
        })
        .collect();
    Some((prelude_program(name, &genes)?, values))
}

/// An int gene of step 1's range.
fn int_range(gene: &Gene) -> Option<Range> {
    match gene.domain {
        Domain::Int { lo, hi, step: 1 } => Some(Range { lo, hi, categorical: false }),
        _ => None,
    }
}

/// The prelude's program `name` (its rules as `prelude.gaf` writes them and the compiler
/// emits them), with `genes`: what `Space::of` runs on a built-in's kernel.
pub fn prelude_program(name: &str, genes: &[Gene]) -> Option<Program> {
    let b = Box::new;
    let gene = |i| b(Expr::Gene(i));
    let of = |indicator: &str, price, i| {
        b(Expr::Indicator {
            callee: Callee::Fixed(indicator.to_string()),
            args: vec![Expr::Price(price), Expr::Gene(i)],
            output: 0,
        })
    };
    let before = |x| b(Expr::Lag(x, b(Expr::Const(1.0))));
    let close = || b(Expr::Price(Price::Close));
    let (constraint, entry, exit) = match name {
        "sma_crossover" => (
            Some(Expr::Compare(Compare::Lt, gene(0), gene(1))),
            Expr::CrossesAbove(of("sma", Price::Close, 0), of("sma", Price::Close, 1)),
            Expr::CrossesAbove(of("sma", Price::Close, 1), of("sma", Price::Close, 0)),
        ),
        "rsi_reversion" => (
            Some(Expr::Compare(Compare::Lt, gene(1), gene(2))),
            Expr::CrossesAbove(of("rsi", Price::Close, 0), gene(1)),
            Expr::CrossesAbove(gene(2), of("rsi", Price::Close, 0)),
        ),
        "breakout" => (
            None,
            Expr::Compare(Compare::Gt, close(), before(of("highest", Price::High, 0))),
            Expr::Compare(Compare::Lt, close(), before(of("lowest", Price::Low, 1))),
        ),
        _ => return None,
    };
    Some(Program {
        name: name.to_string(),
        genes: genes.to_vec(),
        constraint,
        side: Side::Long,
        entry: Some(entry),
        exit: Some(exit),
        entry_short: None,
        exit_short: None,
        stop_loss: None,
        take_profit: None,
        trailing_stop: None,
        size: Expr::Const(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: &str, lo: i64, hi: i64) -> Gene {
        Gene { name: name.to_string(), domain: Domain::Int { lo, hi, step: 1 } }
    }

    #[test]
    fn the_prelude_shapes_get_their_kernels_and_nothing_else_does() {
        let genes = [int("fast", 2, 50), int("slow", 10, 200)];
        let Some(program) = prelude_program("sma_crossover", &genes) else { panic!("a prelude name") };
        let range = |lo, hi| Range { lo, hi, categorical: false };
        assert_eq!(
            Space::of(program.clone()),
            Space::SmaCrossover { fast: range(2, 50), slow: range(10, 200) }
        );
        // The same rules under another name, a stop added, or a stepped gene: written.
        for changed in [
            Program { name: "my_cross".into(), ..program.clone() },
            Program {
                stop_loss: Some(crate::rules::Distance::Fraction(Expr::Const(0.02))),
                ..program.clone()
            },
            Program {
                genes: vec![
                    int("fast", 2, 50),
                    Gene { name: "slow".into(), domain: Domain::Int { lo: 10, hi: 200, step: 5 } },
                ],
                ..program.clone()
            },
            Program { constraint: None, ..program },
        ] {
            assert!(matches!(Space::of(changed), Space::Written(_)));
        }
    }
}
