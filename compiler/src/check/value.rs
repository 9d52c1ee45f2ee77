//! Constant values and their types: evaluating expressions with units (money, percent,
//! duration), context-typed names (enumeration member or reference), and coercion to the
//! type an attribute wants (E0005, E0006, E0007, E0013).

use super::Checker;
use crate::ast::{BinOp, Expr, ExprKind, Ident, Number};
use crate::diag::{suggest, Code, Diagnostic};
use crate::resolve::Kind;
use crate::source::Span;
use std::fmt;

/// A constant value. Percentages are fractions (`80%` is 0.8), durations are seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Money(f64),
    Percent(f64),
    Duration(f64),
    /// A calendar length in months (`6mo`, `2y`): for window lengths only.
    Months(f64),
    Str(String),
    Bool(bool),
    RangeInt(i64, i64),
    RangeFloat(f64, f64),
    List(Vec<(Value, Span)>),
    /// A top-level block: its kind and index within that kind.
    Ref(Kind, usize),
    /// A member of the wanted enumeration, as written.
    Keyword(&'static str),
}

impl Value {
    /// The type's name in messages.
    pub fn type_name(&self) -> String {
        match self {
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Money(_) => "money".into(),
            Value::Percent(_) => "percent".into(),
            Value::Duration(_) => "duration".into(),
            Value::Months(_) => "calendar duration".into(),
            Value::Str(_) => "string".into(),
            Value::Bool(_) => "bool".into(),
            Value::RangeInt(..) => "range<int>".into(),
            Value::RangeFloat(..) => "range<float>".into(),
            Value::List(items) => match items.first() {
                Some((v, _)) => format!("list<{}>", v.type_name()),
                None => "list".into(),
            },
            Value::Ref(kind, _) => format!("a reference to a {}", kind.keyword()),
            Value::Keyword(k) => format!("`{k}`"),
        }
    }
}

/// The type an attribute or argument wants.
#[derive(Clone, Debug)]
pub enum Want {
    Int,
    /// Also accepts an int.
    Float,
    Money,
    Percent,
    Duration,
    Str,
    Bool,
    /// Also accepts an int `n` as `n..n`.
    RangeInt,
    Keyword {
        what: &'static str,
        members: &'static [&'static str],
    },
    Ref(Kind),
    List(Box<Want>),
    MoneyOrPercent,
    /// A duration, or the keyword `never`.
    DurationOrNever,
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Want::Int => f.write_str("int"),
            Want::Float => f.write_str("float"),
            Want::Money => f.write_str("money"),
            Want::Percent => f.write_str("percent"),
            Want::Duration => f.write_str("duration"),
            Want::Str => f.write_str("string"),
            Want::Bool => f.write_str("bool"),
            Want::RangeInt => f.write_str("range<int>"),
            Want::Keyword { what, .. } => write!(f, "a {what}"),
            Want::Ref(kind) => write!(f, "a reference to a {}", kind.keyword()),
            Want::List(inner) => write!(f, "list<{inner}>"),
            Want::MoneyOrPercent => f.write_str("money or percent"),
            Want::DurationOrNever => f.write_str("duration or `never`"),
        }
    }
}

/// State of a let's value during checking.
#[derive(Clone, Debug)]
pub(super) enum LetState {
    Pending,
    Evaluating,
    Done(Option<Value>),
}

impl Checker<'_> {
    /// Evaluates `expr` and converts it to `want`; `None` after reporting why not.
    pub(super) fn value(&mut self, expr: &Expr, want: &Want) -> Option<Value> {
        let value = self.eval(expr, Some(want))?;
        self.coerce(value, want, expr.span)
    }

    /// Evaluates a constant expression; `want` only steers how bare names are read.
    pub(super) fn eval(&mut self, expr: &Expr, want: Option<&Want>) -> Option<Value> {
        let numeric_want = want.filter(|w| !matches!(w, Want::List(_)));
        match &expr.kind {
            ExprKind::Int(v) => Some(Value::Int(*v)),
            ExprKind::Float(v) => Some(Value::Float(*v)),
            ExprKind::Money(v) => Some(Value::Money(*v)),
            ExprKind::Percent(v) => Some(Value::Percent(*v / 100.0)),
            ExprKind::Duration(v, _) => Some(Value::Duration(*v)),
            ExprKind::Months(v) => Some(Value::Months(*v)),
            ExprKind::Str(s) => Some(Value::Str(s.clone())),
            ExprKind::Bool(b) => Some(Value::Bool(*b)),
            ExprKind::Range(lo, hi, None) => Some(match (lo, hi) {
                (Number::Int(a), Number::Int(b)) => Value::RangeInt(*a, *b),
                _ => Value::RangeFloat(as_f64(*lo), as_f64(*hi)),
            }),
            ExprKind::Range(_, _, Some(_)) => {
                let d = Diagnostic::new(
                    Code::E0007,
                    "a range with a `step` is a strategy's gene",
                    expr.span,
                    "`step` is not allowed here",
                );
                self.report(d.with_help("declare it in a strategy's `genes` block, or drop the `step`"));
                None
            }
            ExprKind::Error => None,
            ExprKind::Paren(inner) => self.eval(inner, want),
            ExprKind::List(items) => {
                let inner = match want {
                    Some(Want::List(inner)) => Some(&**inner),
                    _ => None,
                };
                let mut values = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.eval(item, inner) {
                        Some(v) => values.push((v, item.span)),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(values))
            }
            ExprKind::Path(parts) => match parts.as_slice() {
                [name] => self.name_value(name, want),
                _ => {
                    let shown = want.map_or("a value".to_string(), |w| w.to_string());
                    self.report(Diagnostic::new(
                        Code::E0007,
                        format!("expected {shown}, found a worker group path"),
                        expr.span,
                        "a dotted path names a worker group",
                    ));
                    None
                }
            },
            ExprKind::Not(_) | ExprKind::Binary(BinOp::And | BinOp::Or, ..) => {
                self.report(Diagnostic::new(
                    Code::E0007,
                    "`and`, `or` and `not` are only allowed in a strategy's rules",
                    expr.span,
                    "not a value here",
                ));
                None
            }
            ExprKind::Output(call, _) => self.eval(call, want),
            ExprKind::Call(call) => {
                let shown = want.map_or("a value".to_string(), |w| w.to_string());
                self.report(Diagnostic::new(
                    Code::E0007,
                    format!("expected {shown}, found a call to `{}`", call.name.name),
                    expr.span,
                    "calls pick a strategy or an operator",
                ));
                None
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(inner, numeric_want)?;
                self.negate(v, expr.span)
            }
            ExprKind::Binary(op, ..) if op.is_comparison() => {
                self.report(Diagnostic::new(
                    Code::E0007,
                    format!("comparison `{}` is only allowed in a monitor alert's `when`", op.symbol()),
                    expr.span,
                    "not a value here",
                ));
                None
            }
            ExprKind::Binary(op, l, r) => {
                let (a, b) = (self.eval(l, numeric_want), self.eval(r, numeric_want));
                self.arith(*op, a?, b?, expr.span)
            }
        }
    }

    /// A bare name: an enumeration member or block reference if `want` says so, else a let.
    fn name_value(&mut self, name: &Ident, want: Option<&Want>) -> Option<Value> {
        let text = &*name.name;
        match want {
            Some(Want::Keyword { members, .. }) => {
                if let Some(m) = members.iter().find(|m| **m == text) {
                    return Some(Value::Keyword(m));
                }
            }
            Some(Want::Ref(kind)) => {
                if let Some(i) = self.symbols.block(*kind, text) {
                    self.mark_used(*kind, i);
                    return Some(Value::Ref(*kind, i));
                }
            }
            Some(Want::DurationOrNever) if text == "never" => return Some(Value::Keyword("never")),
            _ => {}
        }
        if let Some(i) = self.symbols.let_(text) {
            return self.let_value(i);
        }
        match want {
            Some(Want::Keyword { what, members }) => {
                let help = suggest::did_you_mean(text, members.iter().copied())
                    .unwrap_or_else(|| format!("expected one of: {}", members.join(", ")));
                self.report(
                    Diagnostic::new(
                        Code::E0013,
                        format!("unknown {what} `{text}`"),
                        name.span,
                        format!("not a {what}"),
                    )
                    .with_help(help),
                );
            }
            Some(Want::Ref(kind)) => self.unresolved_ref(name, *kind),
            Some(Want::DurationOrNever) => self.report(
                Diagnostic::new(
                    Code::E0007,
                    format!("expected a duration or `never`, found `{text}`"),
                    name.span,
                    "not a duration, nor `never`",
                )
                .with_help(
                    suggest::did_you_mean(text, ["never"])
                        .unwrap_or_else(|| "write a duration (`60m`) or `never`".to_string()),
                ),
            ),
            _ => {
                if let Some(&kind) = self.symbols.kinds_named(text).first() {
                    if let Some(i) = self.symbols.block(kind, text) {
                        self.mark_used(kind, i);
                        return Some(Value::Ref(kind, i));
                    }
                }
                let lets: Vec<&str> = self.symbols.let_names().collect();
                let help =
                    suggest::did_you_mean(text, lets).unwrap_or_else(|| "define it with `let`".to_string());
                self.report(
                    Diagnostic::new(
                        Code::E0005,
                        format!("unresolved name `{text}`"),
                        name.span,
                        "no let with this name",
                    )
                    .with_help(help),
                );
            }
        }
        None
    }

    /// E0006 when `name` is a block of another kind, else E0005.
    pub(super) fn unresolved_ref(&mut self, name: &Ident, kind: Kind) {
        let text = &*name.name;
        let want = kind.keyword();
        let names: Vec<&str> = self.symbols.names(kind).collect();
        let help = suggest::did_you_mean(text, names.iter().copied()).or_else(|| match names.as_slice() {
            [] => Some(format!("define a `{want}` block first")),
            some => Some(format!("{want} blocks: {}", some.join(", "))),
        });
        if let Some(other) = self.symbols.kinds_named(text).first() {
            let d = Diagnostic::new(
                Code::E0006,
                format!("`{text}` is a {}, not a {want}", other.keyword()),
                name.span,
                format!("expected a {want}"),
            );
            self.report(d.with_help_opt(help));
        } else {
            let d = Diagnostic::new(
                Code::E0005,
                format!("unresolved reference `{text}`"),
                name.span,
                format!("no {want} named `{text}`"),
            );
            self.report(d.with_help_opt(help));
        }
    }

    pub(super) fn let_value(&mut self, i: usize) -> Option<Value> {
        if let Some(used) = self.let_used.get_mut(i) {
            *used = true;
        }
        if self.symbols.cyclic.get(i).copied().unwrap_or(true) {
            return None;
        }
        match self.let_states.get(i) {
            Some(LetState::Done(v)) => return v.clone(),
            Some(LetState::Evaluating) | None => return None,
            Some(LetState::Pending) => {}
        }
        if let Some(s) = self.let_states.get_mut(i) {
            *s = LetState::Evaluating;
        }
        let value = self.symbols.lets.get(i).and_then(|l| self.eval(&l.value, None));
        if let Some(s) = self.let_states.get_mut(i) {
            *s = LetState::Done(value.clone());
        }
        value
    }

    /// Converts `value` to what `want` asks for, or reports E0007 (E0006 for references).
    pub(super) fn coerce(&mut self, value: Value, want: &Want, span: Span) -> Option<Value> {
        let ok = match (want, &value) {
            (Want::Float, Value::Int(i)) => return Some(Value::Float(*i as f64)),
            (Want::RangeInt, Value::Int(i)) => return Some(Value::RangeInt(*i, *i)),
            (Want::List(inner), Value::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (item, item_span) in items.iter().cloned() {
                    out.push((self.coerce(item, inner, item_span)?, item_span));
                }
                return Some(Value::List(out));
            }
            (Want::Ref(k), Value::Ref(found, _)) if k != found => {
                self.report(Diagnostic::new(
                    Code::E0006,
                    format!("expected a {}, found a reference to a {}", k.keyword(), found.keyword()),
                    span,
                    format!("expected a {}", k.keyword()),
                ));
                return None;
            }
            (Want::Int, Value::Int(_))
            | (Want::Float, Value::Float(_))
            | (Want::Money, Value::Money(_))
            | (Want::Percent, Value::Percent(_))
            | (Want::Duration, Value::Duration(_))
            | (Want::Str, Value::Str(_))
            | (Want::Bool, Value::Bool(_))
            | (Want::RangeInt, Value::RangeInt(..))
            | (Want::Keyword { .. }, Value::Keyword(_))
            | (Want::Ref(_), Value::Ref(..))
            | (Want::MoneyOrPercent, Value::Money(_) | Value::Percent(_))
            | (Want::DurationOrNever, Value::Duration(_) | Value::Keyword("never")) => true,
            _ => false,
        };
        if ok {
            return Some(value);
        }
        let help = match (want, &value) {
            (Want::Keyword { members, .. }, _) => Some(format!("expected one of: {}", members.join(", "))),
            (Want::Int, Value::Float(_)) => Some("write a whole number".to_string()),
            (Want::Duration | Want::DurationOrNever, Value::Int(_)) => {
                Some("add a unit: `s`, `m`, `h`, `d` or `w` (`30m`)".to_string())
            }
            (Want::Duration | Want::DurationOrNever, Value::Months(m)) => Some(format!(
                "months and years have no fixed length: they measure walk-forward windows only; here write days (`{}d`)",
                (m * 30.4375).round()
            )),
            (Want::Money, Value::Int(_) | Value::Float(_)) => {
                Some("write an amount with `$` (`$100`)".to_string())
            }
            (Want::Percent, Value::Int(_) | Value::Float(_)) => {
                Some("write a percentage with `%` (`80%`)".to_string())
            }
            (Want::Float, Value::Percent(p)) => Some(format!("write it as a fraction, without `%`: `{p}`")),
            _ => None,
        };
        let d = Diagnostic::new(
            Code::E0007,
            format!("expected {want}, found {}", value.type_name()),
            span,
            format!("expected {want}"),
        );
        self.report(d.with_help_opt(help));
        None
    }

    fn negate(&mut self, v: Value, span: Span) -> Option<Value> {
        let negated = match v {
            Value::Int(i) => i.checked_neg().map(Value::Int),
            Value::Float(f) => Some(Value::Float(-f)),
            Value::Money(f) => Some(Value::Money(-f)),
            Value::Percent(f) => Some(Value::Percent(-f)),
            Value::Duration(f) => Some(Value::Duration(-f)),
            other => {
                self.report(Diagnostic::new(
                    Code::E0007,
                    format!("cannot negate {}", other.type_name()),
                    span,
                    "not a number",
                ));
                return None;
            }
        };
        if negated.is_none() {
            self.out_of_range(span);
        }
        negated
    }

    /// Unit-checked arithmetic: money and durations scale by numbers, percentages scale
    /// money and durations, and like units add; anything else is E0007.
    fn arith(&mut self, op: BinOp, a: Value, b: Value, span: Span) -> Option<Value> {
        use Value::*;
        let result = match (op, &a, &b) {
            (BinOp::Div, _, Int(0)) => Err(ArithError::DivideByZero),
            (BinOp::Div, _, Float(z) | Money(z) | Percent(z) | Duration(z)) if *z == 0.0 => {
                Err(ArithError::DivideByZero)
            }
            (BinOp::Add, Int(x), Int(y)) => x.checked_add(*y).map(Int).ok_or(ArithError::Overflow),
            (BinOp::Sub, Int(x), Int(y)) => x.checked_sub(*y).map(Int).ok_or(ArithError::Overflow),
            (BinOp::Mul, Int(x), Int(y)) => x.checked_mul(*y).map(Int).ok_or(ArithError::Overflow),
            (_, Int(_) | Float(_), Int(_) | Float(_)) => Ok(Float(apply(op, number(&a), number(&b)))),
            (BinOp::Add | BinOp::Sub, Money(x), Money(y)) => Ok(Money(apply(op, *x, *y))),
            (BinOp::Add | BinOp::Sub, Duration(x), Duration(y)) => Ok(Duration(apply(op, *x, *y))),
            (BinOp::Add | BinOp::Sub, Percent(x), Percent(y)) => Ok(Percent(apply(op, *x, *y))),
            (BinOp::Div, Money(x), Money(y)) | (BinOp::Div, Duration(x), Duration(y)) => Ok(Float(x / y)),
            (BinOp::Mul | BinOp::Div, Money(x), Int(_) | Float(_)) => Ok(Money(apply(op, *x, number(&b)))),
            (BinOp::Mul | BinOp::Div, Duration(x), Int(_) | Float(_)) => {
                Ok(Duration(apply(op, *x, number(&b))))
            }
            (BinOp::Mul | BinOp::Div, Percent(x), Int(_) | Float(_)) => {
                Ok(Percent(apply(op, *x, number(&b))))
            }
            (BinOp::Mul, Int(_) | Float(_), Money(y)) => Ok(Money(number(&a) * y)),
            (BinOp::Mul, Int(_) | Float(_), Duration(y)) => Ok(Duration(number(&a) * y)),
            (BinOp::Mul, Int(_) | Float(_), Percent(y)) => Ok(Percent(number(&a) * y)),
            (BinOp::Mul, Percent(x), Money(y)) | (BinOp::Mul, Money(y), Percent(x)) => Ok(Money(x * y)),
            (BinOp::Mul, Percent(x), Duration(y)) | (BinOp::Mul, Duration(y), Percent(x)) => {
                Ok(Duration(x * y))
            }
            _ => Err(ArithError::Mismatch),
        };
        match result {
            Ok(v) if is_finite(&v) => Some(v),
            Ok(_) | Err(ArithError::Overflow) => {
                self.out_of_range(span);
                None
            }
            Err(ArithError::DivideByZero) => {
                self.report(Diagnostic::new(Code::E0009, "division by zero", span, "divides by zero"));
                None
            }
            Err(ArithError::Mismatch) => {
                let verb = match op {
                    BinOp::Add => "add",
                    BinOp::Sub => "subtract",
                    BinOp::Mul => "multiply",
                    _ => "divide",
                };
                let quantities = [&a, &b]
                    .iter()
                    .all(|v| matches!(v, Int(_) | Float(_) | Money(_) | Percent(_) | Duration(_)));
                let help = quantities.then(|| {
                    "units combine as: money ± money, money × number, money ÷ number, money ÷ money, \
                     duration × number, percent × money"
                        .to_string()
                });
                self.report(
                    Diagnostic::new(
                        Code::E0007,
                        format!("cannot {verb} {} and {}", a.type_name(), b.type_name()),
                        span,
                        format!("{} {} {}", a.type_name(), op.symbol(), b.type_name()),
                    )
                    .with_help_opt(help),
                );
                None
            }
        }
    }

    fn out_of_range(&mut self, span: Span) {
        self.report(Diagnostic::new(Code::E0009, "value out of range", span, "this overflows"));
    }
}

enum ArithError {
    Mismatch,
    Overflow,
    DivideByZero,
}

fn as_f64(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn apply(op: BinOp, x: f64, y: f64) -> f64 {
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        _ => x / y,
    }
}

fn is_finite(v: &Value) -> bool {
    match v {
        Value::Float(f) | Value::Money(f) | Value::Percent(f) | Value::Duration(f) => f.is_finite(),
        _ => true,
    }
}
