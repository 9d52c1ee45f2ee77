//! The fitness expression: metrics, numbers and lets joined by `+ - * /`, typed into the
//! IR's `Fitness` tree that the runtime evaluates per backtest.

use super::value::Value;
use super::Checker;
use crate::ast::{BinOp, Expr, ExprKind};
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::{ArithOp, Bound, Constraint, Fitness, Keyword, Metric};

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
            ExprKind::Call(call) => self.fitness_call(call, expr),
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

    /// `abs(x)`, `min(a, b, ...)`, `max(a, b, ...)` over fitness expressions.
    fn fitness_call(&mut self, call: &crate::ast::Call, expr: &Expr) -> Option<Fitness> {
        let name = &*call.name.name;
        if !FUNCTIONS.contains(&name) {
            let help = suggest::did_you_mean(name, FUNCTIONS.iter().copied())
                .unwrap_or_else(|| format!("fitness functions: {}", FUNCTIONS.join(", ")));
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown fitness function `{name}`"),
                call.name.span,
                "not a function",
            );
            self.report(d.with_help(help));
            return None;
        }
        if let Some(named) = call.args.iter().find_map(|a| a.name.as_ref()) {
            let d = Diagnostic::new(
                Code::E0003,
                format!("`{name}` takes its arguments by position"),
                named.span,
                "named argument",
            );
            self.report(d.with_help(format!("write `{name}(sharpe, 1)`")));
            return None;
        }
        let wanted = if name == "abs" { "one argument" } else { "at least two arguments" };
        let count_ok = if name == "abs" { call.args.len() == 1 } else { call.args.len() >= 2 };
        if !count_ok {
            let d = Diagnostic::new(
                Code::E0008,
                format!("`{name}` takes {wanted}, found {}", call.args.len()),
                expr.span,
                wanted.to_string(),
            );
            self.report(d.with_help(format!(
                "for example `{name}({})`",
                if name == "abs" { "total_return" } else { "sharpe, sortino" }
            )));
            return None;
        }
        let mut args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            args.push(self.fitness(&arg.value));
        }
        let args: Vec<Fitness> = args.into_iter().collect::<Option<_>>()?;
        Some(match name {
            "abs" => Fitness::Abs(Box::new(args.into_iter().next()?)),
            "min" => Fitness::Min(args),
            _ => Fitness::Max(args),
        })
    }

    /// E0007 for a constraint that compares nothing; `more` ends its help.
    fn not_a_comparison(&mut self, span: crate::source::Span, more: &str) {
        let d = Diagnostic::new(
            Code::E0007,
            "a constraint compares a metric with a bound",
            span,
            "not a comparison",
        );
        self.report(d.with_help(format!("write `trades >= 20` or `max_drawdown < 25%`{more}")));
    }

    /// `constraints = [trades >= 20, max_drawdown < 25%]`: comparisons of fitness
    /// expressions (a percent is its fraction).
    pub(super) fn constraints(&mut self, expr: &Expr) -> Vec<Constraint> {
        let items: Vec<&Expr> = match &expr.kind {
            ExprKind::List(items) => items.iter().collect(),
            _ => vec![expr],
        };
        let mut out = Vec::new();
        for item in items {
            let mut e = item;
            while let ExprKind::Paren(inner) = &e.kind {
                e = inner;
            }
            let ExprKind::Binary(op, left, right) = &e.kind else {
                self.not_a_comparison(item.span, "");
                continue;
            };
            let op = match op {
                BinOp::Lt => Bound::Lt,
                BinOp::Le => Bound::Le,
                BinOp::Gt => Bound::Gt,
                BinOp::Ge => Bound::Ge,
                BinOp::Eq | BinOp::Ne => {
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("a constraint is a bound: `{}` is not one", op.symbol()),
                        item.span,
                        "equality",
                    );
                    self.report(
                        d.with_help("metrics are real numbers: bound them with `<`, `<=`, `>` or `>=`"),
                    );
                    continue;
                }
                _ => {
                    self.not_a_comparison(item.span, "; list several instead of joining them with `and`");
                    continue;
                }
            };
            let (left, right) = (self.fitness(left), self.fitness(right));
            if let (Some(left), Some(right)) = (left, right) {
                out.push(Constraint { left, op, right });
            }
        }
        if out.len() > MAX_CONSTRAINTS {
            self.bounds(
                expr.span,
                format!("a job has at most {MAX_CONSTRAINTS} constraints, found {}", out.len()),
                "too many constraints",
            );
            out.truncate(MAX_CONSTRAINTS);
        }
        out
    }
}

/// The most constraints a job has: the runtime marks a genome's broken ones as bits of a
/// `u32` (`gaform_runtime::ga::MAX_CONSTRAINTS`; a test keeps the two equal).
pub const MAX_CONSTRAINTS: usize = 32;

/// The functions a fitness expression may call.
const FUNCTIONS: &[&str] = &["abs", "min", "max"];
