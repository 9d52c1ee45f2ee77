//! A strategy written in a file, from the compiler's typed IR into the runtime's program
//! (the runtime knows no `.gaf`; this is the one place the two meet for strategies).

use gaform_compiler::ir;
use gaform_runtime::rules::{self, Program};

/// The runtime's program for `def`.
pub fn program(def: &ir::StrategyDef) -> Program {
    Program {
        name: def.name.clone(),
        genes: def.genes.iter().map(gene).collect(),
        constraint: def.constraint.as_ref().map(expr),
        side: match def.side {
            ir::Side::Long => rules::Side::Long,
            ir::Side::Short => rules::Side::Short,
            ir::Side::Both => rules::Side::Both,
        },
        entry: def.entry.as_ref().map(expr),
        exit: def.exit.as_ref().map(expr),
        entry_short: def.entry_short.as_ref().map(expr),
        exit_short: def.exit_short.as_ref().map(expr),
        stop_loss: def.stop_loss.as_ref().map(distance),
        take_profit: def.take_profit.as_ref().map(distance),
        trailing_stop: def.trailing_stop.as_ref().map(distance),
        size: expr(&def.size),
    }
}

fn gene(gene: &ir::Gene) -> rules::Gene {
    let domain = match &gene.domain {
        ir::Domain::Int { lo, hi, step } => rules::Domain::Int { lo: *lo, hi: *hi, step: *step },
        ir::Domain::Float { lo, hi, step } => rules::Domain::Float { lo: *lo, hi: *hi, step: *step },
        ir::Domain::Choice(choices) => rules::Domain::Choice(
            choices
                .iter()
                .map(|c| match c {
                    ir::Choice::Indicator(name) => rules::Choice::Indicator((*name).to_string()),
                    ir::Choice::Int(v) => rules::Choice::Number(*v as f64),
                    ir::Choice::Float(v) => rules::Choice::Number(*v),
                    ir::Choice::Percent(v) => rules::Choice::Percent(*v),
                    ir::Choice::Word(w) => rules::Choice::Word(w.clone()),
                })
                .collect(),
        ),
    };
    rules::Gene { name: gene.name.clone(), domain }
}

fn distance(d: &ir::Distance) -> rules::Distance {
    match d {
        ir::Distance::Fraction(e) => rules::Distance::Fraction(expr(e)),
        ir::Distance::Price(e) => rules::Distance::Price(expr(e)),
    }
}

fn boxed(e: &ir::Node) -> Box<rules::Expr> {
    Box::new(expr(e))
}

fn expr(node: &ir::Node) -> rules::Expr {
    use rules::Expr as E;
    match node {
        ir::Node::Price(p) => E::Price(match p {
            ir::Price::Open => rules::Price::Open,
            ir::Price::High => rules::Price::High,
            ir::Price::Low => rules::Price::Low,
            ir::Price::Close => rules::Price::Close,
            ir::Price::Volume => rules::Price::Volume,
        }),
        ir::Node::Const(v) => E::Const(*v),
        ir::Node::Gene(i) => E::Gene(*i),
        ir::Node::Indicator { callee, args, output } => E::Indicator {
            callee: match callee {
                ir::Callee::Fixed(name) => rules::Callee::Fixed((*name).to_string()),
                ir::Callee::Gene(i) => rules::Callee::Gene(*i),
            },
            args: args.iter().map(expr).collect(),
            output: *output,
        },
        ir::Node::Lag(x, n) => E::Lag(boxed(x), boxed(n)),
        ir::Node::Neg(x) => E::Neg(boxed(x)),
        ir::Node::Arith(op, a, b) => E::Arith(
            match op {
                ir::Arith::Add => rules::Arith::Add,
                ir::Arith::Sub => rules::Arith::Sub,
                ir::Arith::Mul => rules::Arith::Mul,
                ir::Arith::Div => rules::Arith::Div,
            },
            boxed(a),
            boxed(b),
        ),
        ir::Node::Compare(op, a, b) => E::Compare(
            match op {
                ir::Compare::Lt => rules::Compare::Lt,
                ir::Compare::Le => rules::Compare::Le,
                ir::Compare::Gt => rules::Compare::Gt,
                ir::Compare::Ge => rules::Compare::Ge,
                ir::Compare::Eq => rules::Compare::Eq,
                ir::Compare::Ne => rules::Compare::Ne,
            },
            boxed(a),
            boxed(b),
        ),
        ir::Node::CrossesAbove(a, b) => E::CrossesAbove(boxed(a), boxed(b)),
        ir::Node::And(a, b) => E::And(boxed(a), boxed(b)),
        ir::Node::Or(a, b) => E::Or(boxed(a), boxed(b)),
        ir::Node::Not(a) => E::Not(boxed(a)),
        ir::Node::Bool(b) => E::Bool(*b),
    }
}
