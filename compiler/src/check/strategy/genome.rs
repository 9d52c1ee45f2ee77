//! One gene assignment of a strategy written in a file, given on the command line
//! (`gaform backtest --strategy 'ema_rsi(fast = 10, ma = ema, stop = 2%)'`): each gene once,
//! by name (or in declaration order), with one of its values.

use super::super::Checker;
use crate::ast::{Expr, ExprKind};
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::{Choice, Domain, StrategyDef};

impl Checker<'_> {
    /// The strategy of `strategies` that `expr` calls and a value per gene (a choice gene's
    /// index), or `None` after reporting why not.
    pub(crate) fn genome(&mut self, expr: &Expr, strategies: &[StrategyDef]) -> Option<(usize, Vec<f64>)> {
        let ExprKind::Call(call) = &expr.kind else {
            let d = Diagnostic::new(
                Code::E0007,
                "expected a strategy call such as `name(gene = 10)`",
                expr.span,
                "not a call",
            );
            self.report(d);
            return None;
        };
        let name = &*call.name.name;
        let Some(which) = strategies.iter().position(|s| s.name == name) else {
            let help = suggest::did_you_mean(name, strategies.iter().map(|s| s.name.as_str()))
                .unwrap_or_else(|| {
                    let names: Vec<&str> = strategies.iter().map(|s| s.name.as_str()).collect();
                    format!(
                        "the file's strategies: {}",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    )
                });
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown strategy `{name}`"),
                call.name.span,
                "not a strategy of the file",
            );
            self.report(d.with_help(help));
            return None;
        };
        let def = strategies.get(which)?;
        let mut values: Vec<Option<(f64, crate::source::Span)>> = vec![None; def.genes.len()];
        let mut ok = true;
        for (k, arg) in call.args.iter().enumerate() {
            let index = match &arg.name {
                Some(n) => match def.genes.iter().position(|g| g.name == *n.name) {
                    Some(i) => i,
                    None => {
                        let help = suggest::did_you_mean(&n.name, def.genes.iter().map(|g| g.name.as_str()))
                            .unwrap_or_else(|| format!("`{}` has the genes: {}", def.name, gene_list(def)));
                        let d = Diagnostic::new(
                            Code::E0003,
                            format!("`{}` has no gene `{}`", def.name, n.name),
                            n.span,
                            "no such gene",
                        );
                        self.report(d.with_help(help));
                        ok = false;
                        continue;
                    }
                },
                None => k,
            };
            let Some(gene) = def.genes.get(index) else {
                let d = Diagnostic::new(
                    Code::E0003,
                    format!("`{}` has {} gene(s)", def.name, def.genes.len()),
                    arg.value.span,
                    "one value too many",
                );
                self.report(d.with_help(format!("`{}` has the genes: {}", def.name, gene_list(def))));
                ok = false;
                continue;
            };
            if let Some(Some((_, first))) = values.get(index) {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("gene `{}` is given twice", gene.name),
                    arg.value.span,
                    "given again here",
                )
                .with_label(*first, "first given here");
                self.report(d);
                ok = false;
                continue;
            }
            match self.assigned_value(&gene.domain, &gene.name, &arg.value) {
                Some(v) => {
                    if let Some(slot) = values.get_mut(index) {
                        *slot = Some((v, arg.value.span));
                    }
                }
                None => ok = false,
            }
        }
        let mut genome = Vec::with_capacity(values.len());
        for (slot, gene) in values.iter().zip(&def.genes) {
            match slot {
                Some((v, _)) => genome.push(*v),
                None if ok => {
                    let d = Diagnostic::new(
                        Code::E0008,
                        format!("no value for gene `{}` of `{}`", gene.name, def.name),
                        call.name.span,
                        format!("`{}` needs a value", gene.name),
                    );
                    self.report(d.with_help(format!(
                        "add `{} = ...`: one of {}",
                        gene.name,
                        shown(&gene.domain)
                    )));
                    ok = false;
                }
                None => {}
            }
        }
        ok.then_some((which, genome))
    }

    /// One value of `domain` written as `expr`: a number, a percent or a word.
    fn assigned_value(&mut self, domain: &Domain, gene: &str, expr: &Expr) -> Option<f64> {
        let mut e = expr;
        while let ExprKind::Paren(inner) = &e.kind {
            e = inner;
        }
        let (number, percent, word) = match &e.kind {
            ExprKind::Int(v) => (Some(*v as f64), None, None),
            ExprKind::Float(v) => (Some(*v), None, None),
            ExprKind::Percent(v) => (None, Some(v / 100.0), None),
            ExprKind::Neg(inner) => match inner.kind {
                ExprKind::Int(v) => (Some(-(v as f64)), None, None),
                ExprKind::Float(v) => (Some(-v), None, None),
                ExprKind::Percent(v) => (None, Some(-v / 100.0), None),
                _ => (None, None, None),
            },
            ExprKind::Path(parts) if parts.len() == 1 => {
                (None, None, parts.first().map(|p| p.name.to_string()))
            }
            _ => (None, None, None),
        };
        let found = match domain {
            Domain::Int { lo, hi, step } => number.filter(|v| {
                v.fract() == 0.0
                    && *v >= *lo as f64
                    && *v <= *hi as f64
                    && (*v as i64 - lo) % (*step).max(1) == 0
            }),
            Domain::Float { lo, hi, step } => number.filter(|v| {
                *v >= *lo
                    && *v <= *hi
                    && step.is_none_or(|s| ((v - lo) / s - ((v - lo) / s).round()).abs() <= 1e-9)
            }),
            Domain::Choice(choices) => choices
                .iter()
                .position(|c| match c {
                    Choice::Int(x) => number == Some(*x as f64),
                    Choice::Float(x) => number == Some(*x),
                    Choice::Percent(x) => percent.is_some_and(|p| (p - x).abs() <= 1e-12),
                    Choice::Indicator(n) => word.as_deref() == Some(*n),
                    Choice::Word(w) => word.as_deref() == Some(w.as_str()),
                })
                .map(|i| i as f64),
        };
        if found.is_none() {
            let d = Diagnostic::new(
                Code::E0009,
                format!("gene `{gene}` takes {}", shown(domain)),
                expr.span,
                "not one of its values",
            );
            self.report(d.with_help("a backtest takes one value per gene, from the gene's declaration"));
        }
        found
    }
}

fn gene_list(def: &StrategyDef) -> String {
    def.genes.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// A domain as declared.
fn shown(domain: &Domain) -> String {
    let number = |v: f64| format!("{v}");
    match domain {
        Domain::Int { lo, hi, step: 1 } => format!("an int in {lo}..{hi}"),
        Domain::Int { lo, hi, step } => format!("an int in {lo}..{hi} step {step}"),
        Domain::Float { lo, hi, step: None } => format!("a number in {}..{}", number(*lo), number(*hi)),
        Domain::Float { lo, hi, step: Some(s) } => {
            format!("a number in {}..{} step {}", number(*lo), number(*hi), number(*s))
        }
        Domain::Choice(choices) => {
            let shown: Vec<String> = choices
                .iter()
                .map(|c| match c {
                    Choice::Int(v) => v.to_string(),
                    Choice::Float(v) => number(*v),
                    Choice::Percent(v) => format!("{}%", v * 100.0),
                    Choice::Indicator(n) => n.to_string(),
                    Choice::Word(w) => w.clone(),
                })
                .collect();
            format!("one of [{}]", shown.join(", "))
        }
    }
}
