//! A job's `strategy = NAME` or `NAME(gene = RANGE, ...)` naming a strategy written in the
//! file: every gene over its declared values, or narrowed (a range within the declared one,
//! a single value, a sub-list of a choice).

use super::super::value::Value;
use super::super::Checker;
use crate::ast::{Expr, ExprKind, Ident};
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::{Choice, Domain, StrategyDef};
use crate::resolve::Kind;

impl Checker<'_> {
    /// `Some` when `expr` names a strategy block: the job's strategy, or `None` inside
    /// after reporting why not. `None` when it names no block (a built-in, or a mistake the
    /// built-ins' check reports).
    pub(crate) fn written_strategy(&mut self, expr: &Expr) -> Option<Option<Box<StrategyDef>>> {
        let mut e = expr;
        while let ExprKind::Paren(inner) = &e.kind {
            e = inner;
        }
        let (name, args): (&Ident, &[crate::ast::Argument]) = match &e.kind {
            ExprKind::Path(parts) if parts.len() == 1 => (parts.first()?, &[]),
            ExprKind::Call(call) => (&call.name, call.args.as_slice()),
            _ => return None,
        };
        let builtin = crate::schema::STRATEGIES.iter().any(|s| s.name == &*name.name);
        let Some(index) = self.symbols.block(Kind::Strategy, &name.name) else {
            if builtin {
                return None;
            }
            let written = self
                .symbols
                .blocks
                .get(Kind::Strategy)
                .iter()
                .filter_map(|b| b.label.as_ref())
                .map(|l| &*l.name);
            let every: Vec<&str> = crate::schema::STRATEGIES.iter().map(|s| s.name).chain(written).collect();
            let help = suggest::did_you_mean(&name.name, every.iter().copied())
                .unwrap_or_else(|| format!("expected one of: {}", every.join(", ")));
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown strategy `{}`", name.name),
                name.span,
                "not a strategy",
            );
            self.report(d.with_help(help));
            return Some(None);
        };
        self.mark_used(Kind::Strategy, index);
        if !self.is_clean(Kind::Strategy, index) {
            // Its own errors are reported at the block.
            return Some(None);
        }
        let def = self.program.strategies.get(index)?.clone();
        Some(self.narrowed(def, args, expr))
    }

    fn narrowed(
        &mut self,
        mut def: StrategyDef,
        args: &[crate::ast::Argument],
        expr: &Expr,
    ) -> Option<Box<StrategyDef>> {
        let mut ok = true;
        let mut seen: Vec<(&str, crate::source::Span)> = Vec::new();
        for arg in args {
            let Some(name) = &arg.name else {
                let d = Diagnostic::new(
                    Code::E0003,
                    "name the gene a job narrows",
                    arg.value.span,
                    "no gene named",
                );
                self.report(d.with_help(format!("write `{}(gene = range)`", def.name)));
                ok = false;
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == &*name.name) {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("gene `{}` is narrowed twice", name.name),
                    name.span,
                    "again here",
                )
                .with_label(*first, "first here");
                self.report(d);
                ok = false;
                continue;
            }
            seen.push((&name.name, name.span));
            let Some(gene) = def.genes.iter_mut().find(|g| g.name == *name.name) else {
                let genes: Vec<&str> = def.genes.iter().map(|g| g.name.as_str()).collect();
                let help = suggest::did_you_mean(&name.name, genes.iter().copied())
                    .unwrap_or_else(|| format!("`{}` has the genes: {}", def.name, genes.join(", ")));
                let d = Diagnostic::new(
                    Code::E0003,
                    format!("`{}` has no gene `{}`", def.name, name.name),
                    name.span,
                    "no such gene",
                );
                self.report(d.with_help(help));
                ok = false;
                continue;
            };
            match self.within(&gene.domain, &arg.value) {
                Some(narrower) => gene.domain = narrower,
                None => {
                    let d = Diagnostic::new(
                        Code::E0009,
                        format!(
                            "gene `{}` is declared as {}: a job may only narrow it",
                            gene.name,
                            crate::plan::describe::domain(&gene.domain)
                        ),
                        arg.value.span,
                        "outside the declared values",
                    );
                    self.report(d.with_help(
                        "a range inside the declared one, one of its values, or a sub-list of its choices",
                    ));
                    ok = false;
                }
            }
        }
        let most = crate::ir::MAX_GENES;
        if def.genes.len() > most {
            let d = Diagnostic::new(
                Code::E0009,
                format!("`{}` has {} genes; a job evolves at most {most}", def.name, def.genes.len()),
                expr.span,
                "too many genes",
            );
            self.report(d.with_help("fix some genes to one value in the job: `name(gene = 10)`"));
            ok = false;
        }
        ok.then(|| Box::new(def))
    }

    /// The part of `domain` that `value` keeps, if it lies within.
    fn within(&mut self, domain: &Domain, value: &Expr) -> Option<Domain> {
        if let Domain::Choice(choices) = domain {
            let items = match &value.kind {
                ExprKind::List(items) => items.iter().collect(),
                _ => vec![value],
            };
            let kept: Option<Vec<Choice>> =
                items.iter().map(|item| choices.iter().find(|c| written_as(c, item)).cloned()).collect();
            return kept.filter(|k| !k.is_empty()).map(Domain::Choice);
        }
        let v = self.eval(value, None)?;
        let int_in = |x: i64, lo: i64, hi: i64, step: i64| x >= lo && x <= hi && (x - lo) % step.max(1) == 0;
        match (domain, v) {
            (Domain::Int { lo, hi, step }, Value::Int(x)) if int_in(x, *lo, *hi, *step) => {
                Some(Domain::Int { lo: x, hi: x, step: 1 })
            }
            (Domain::Int { lo, hi, step }, Value::RangeInt(a, b))
                if a <= b && int_in(a, *lo, *hi, *step) && b <= *hi =>
            {
                Some(Domain::Int { lo: a, hi: b, step: *step })
            }
            (Domain::Float { lo, hi, step }, Value::Float(x)) if x >= *lo && x <= *hi => {
                Some(Domain::Float { lo: x, hi: x, step: *step })
            }
            (Domain::Float { lo, hi, step }, Value::Int(x)) if x as f64 >= *lo && x as f64 <= *hi => {
                Some(Domain::Float { lo: x as f64, hi: x as f64, step: *step })
            }
            (Domain::Float { lo, hi, step }, Value::RangeFloat(a, b)) if a <= b && a >= *lo && b <= *hi => {
                Some(Domain::Float { lo: a, hi: b, step: *step })
            }
            (Domain::Float { lo, hi, step }, Value::RangeInt(a, b))
                if a <= b && a as f64 >= *lo && b as f64 <= *hi =>
            {
                Some(Domain::Float { lo: a as f64, hi: b as f64, step: *step })
            }
            _ => None,
        }
    }
}

/// Whether a choice is the value written as `item`.
fn written_as(choice: &Choice, item: &Expr) -> bool {
    let (negative, literal) = match &item.kind {
        ExprKind::Neg(inner) => (true, &inner.kind),
        other => (false, other),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    match (choice, literal) {
        (Choice::Int(c), ExprKind::Int(v)) => *c as f64 == sign * *v as f64,
        (Choice::Float(c), ExprKind::Float(v)) => *c == sign * v,
        (Choice::Float(c), ExprKind::Int(v)) => *c == sign * *v as f64,
        (Choice::Percent(c), ExprKind::Percent(v)) => (c - sign * v / 100.0).abs() <= 1e-12,
        (Choice::Indicator(c), ExprKind::Path(parts)) if !negative => {
            parts.len() == 1 && parts.first().is_some_and(|p| &*p.name == *c)
        }
        (Choice::Word(c), ExprKind::Path(parts)) if !negative => {
            parts.len() == 1 && parts.first().is_some_and(|p| *p.name == **c)
        }
        _ => false,
    }
}
