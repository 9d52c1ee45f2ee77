//! The fitness expression: metrics, numbers and lets joined by `+ - * /`, typed into the
//! IR's `Fitness` tree that the runtime evaluates per backtest.

use super::value::Value;
use super::Checker;
use crate::ast::{BinOp, Expr, ExprKind};
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::{ArithOp, Fitness, Keyword, Metric};

impl Checker<'_> {
    /// A fitness expression: metrics, numbers and lets joined by `+ - * /`.
    pub(super) fn fitness(&mut self, expr: &Expr) -> Option<Fitness> {
        match &expr.kind {
            ExprKind::Int(i) => Some(Fitness::Const(*i as f64)),
            ExprKind::Float(v) => Some(Fitness::Const(*v)),
            ExprKind::Percent(p) => Some(Fitness::Const(p / 100.0)),
            ExprKind::Paren(inner) => self.fitness(inner),
            ExprKind::Neg(inner) => Some(Fitness::Neg(Box::new(self.fitness(inner)?))),
            ExprKind::Binary(op, l, r) => {
                let op = match op {
                    BinOp::Add => ArithOp::Add,
                    BinOp::Sub => ArithOp::Sub,
                    BinOp::Mul => ArithOp::Mul,
                    BinOp::Div => ArithOp::Div,
                    cmp => {
                        let d = Diagnostic::new(
                            Code::E0007,
                            format!("expected a number, found a comparison `{}`", cmp.symbol()),
                            expr.span,
                            "fitness must be a number",
                        );
                        self.report(d);
                        return None;
                    }
                };
                let (l, r) = (self.fitness(l), self.fitness(r));
                Some(Fitness::Binary(op, Box::new(l?), Box::new(r?)))
            }
            ExprKind::Path(parts) if parts.len() == 1 => {
                let name = parts.first()?;
                if let Some(m) = Metric::from_keyword(&name.name) {
                    return Some(Fitness::Metric(m));
                }
                if let Some(i) = self.symbols.let_(&name.name) {
                    return match self.let_value(i)? {
                        Value::Int(v) => Some(Fitness::Const(v as f64)),
                        Value::Float(v) | Value::Percent(v) => Some(Fitness::Const(v)),
                        other => {
                            let d = Diagnostic::new(
                                Code::E0007,
                                format!("expected a number, found {}", other.type_name()),
                                expr.span,
                                "fitness must be a number",
                            );
                            self.report(d);
                            None
                        }
                    };
                }
                let help = suggest::did_you_mean(&name.name, Metric::MEMBERS.iter().copied())
                    .unwrap_or_else(|| format!("metrics: {}", Metric::MEMBERS.join(", ")));
                let d = Diagnostic::new(
                    Code::E0013,
                    format!("unknown metric `{}`", name.name),
                    name.span,
                    "not a metric",
                );
                self.report(d.with_help(help));
                None
            }
            ExprKind::Error => None,
            _ => {
                let shown = match self.eval(expr, None) {
                    Some(v) => v.type_name(),
                    None => return None,
                };
                let d = Diagnostic::new(
                    Code::E0007,
                    format!("expected a number or metric, found {shown}"),
                    expr.span,
                    "fitness must be a number",
                );
                self.report(d.with_help(format!("metrics: {}", Metric::MEMBERS.join(", "))));
                None
            }
        }
    }
}
