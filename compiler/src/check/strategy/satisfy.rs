//! E0018: a `where` that no gene assignment satisfies leaves the GA nothing to evolve. The
//! genes it names are enumerated when they are discrete and few enough (a million
//! assignments); a continuous float gene could satisfy it between any two grid points, so
//! such a `where` is not judged.

use super::super::Checker;
use crate::ast::Attribute;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Arith, Choice, Compare, Domain, Gene, Node};

/// Assignments tried at most.
const MOST: u64 = 1_000_000;

impl Checker<'_> {
    /// Reports E0018 when `constraint` (the checked `where` of `attr`) holds for no genes.
    pub(super) fn satisfiable(&mut self, genes: &[Gene], constraint: &Node, attr: &Attribute) {
        let mut named = Vec::new();
        genes_in(constraint, &mut named);
        named.sort_unstable();
        named.dedup();
        let Some(values) =
            named.iter().map(|&i| genes.get(i).and_then(|g| values(&g.domain))).collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let count = values.iter().try_fold(1u64, |n, v| n.checked_mul(v.len() as u64).filter(|&n| n <= MOST));
        if count.is_none() || values.iter().any(|v| v.is_empty()) {
            return;
        }
        let mut assignment = vec![f64::NAN; genes.len()];
        let mut digits = vec![0usize; values.len()];
        loop {
            for ((&gene, &digit), options) in named.iter().zip(&digits).zip(&values) {
                if let (Some(slot), Some(&v)) = (assignment.get_mut(gene), options.get(digit)) {
                    *slot = v;
                }
            }
            if holds(constraint, &assignment) {
                return;
            }
            // The next assignment, as an odometer.
            let mut k = 0;
            loop {
                let Some(d) = digits.get_mut(k) else {
                    let names: Vec<String> =
                        named.iter().filter_map(|&i| genes.get(i)).map(|g| format!("`{}`", g.name)).collect();
                    let d = Diagnostic::new(
                        Code::E0018,
                        format!(
                            "`where` holds for no values of {}: the GA would have nothing to evolve",
                            names.join(", ")
                        ),
                        attr.value.span,
                        "never true over the genes' ranges",
                    );
                    self.report(d.with_help("widen the genes' ranges, or loosen `where`"));
                    return;
                };
                *d += 1;
                if *d < values.get(k).map_or(0, Vec::len) {
                    break;
                }
                *d = 0;
                k += 1;
            }
        }
    }
}

/// Every value of a discrete domain; `None` for a continuous one or a non-number choice.
fn values(domain: &Domain) -> Option<Vec<f64>> {
    match *domain {
        Domain::Int { lo, hi, step } => {
            let count =
                u64::try_from((i128::from(hi) - i128::from(lo)) / i128::from(step.max(1)) + 1).ok()?;
            (count <= MOST).then(|| (0..count as i64).map(|k| (lo + k * step) as f64).collect())
        }
        Domain::Float { lo, hi, step: Some(step) } => {
            let count = ((hi - lo) / step).floor();
            (count.is_finite() && count < MOST as f64)
                .then(|| (0..=count as u64).map(|k| lo + k as f64 * step).collect())
        }
        Domain::Float { step: None, lo, hi } => (lo == hi).then(|| vec![lo]),
        Domain::Choice(ref choices) => choices
            .iter()
            .map(|c| match c {
                Choice::Int(v) => Some(*v as f64),
                Choice::Float(v) | Choice::Percent(v) => Some(*v),
                Choice::Indicator(_) | Choice::Word(_) => None,
            })
            .collect(),
    }
}

fn genes_in(node: &Node, out: &mut Vec<usize>) {
    match node {
        Node::Gene(i) => out.push(*i),
        Node::Neg(a) | Node::Not(a) => genes_in(a, out),
        Node::Arith(_, a, b)
        | Node::Compare(_, a, b)
        | Node::And(a, b)
        | Node::Or(a, b)
        | Node::CrossesAbove(a, b)
        | Node::Lag(a, b) => {
            genes_in(a, out);
            genes_in(b, out);
        }
        Node::Indicator { args, .. } => args.iter().for_each(|a| genes_in(a, out)),
        Node::Price(_) | Node::Const(_) | Node::Bool(_) => {}
    }
}

/// A gene-only number under `genes`' values (NaN where undefined).
fn value(node: &Node, genes: &[f64]) -> f64 {
    match node {
        Node::Const(v) => *v,
        Node::Gene(i) => genes.get(*i).copied().unwrap_or(f64::NAN),
        Node::Neg(a) => -value(a, genes),
        Node::Arith(op, a, b) => {
            let (a, b) = (value(a, genes), value(b, genes));
            match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div => a / b,
            }
        }
        _ => f64::NAN,
    }
}

/// A gene-only condition under `genes`' values; comparisons with NaN are false.
fn holds(node: &Node, genes: &[f64]) -> bool {
    match node {
        Node::Bool(b) => *b,
        Node::Not(a) => !holds(a, genes),
        Node::And(a, b) => holds(a, genes) && holds(b, genes),
        Node::Or(a, b) => holds(a, genes) || holds(b, genes),
        Node::Compare(op, a, b) => {
            let (a, b) = (value(a, genes), value(b, genes));
            match op {
                Compare::Lt => a < b,
                Compare::Le => a <= b,
                Compare::Gt => a > b,
                Compare::Ge => a >= b,
                Compare::Eq => a == b,
                Compare::Ne => a != b,
            }
        }
        _ => false,
    }
}
