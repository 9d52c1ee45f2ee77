//! Calls that pick a strategy or an operator (signatures in `schema`): the checks of a call's
//! name (E0013), argument names (E0003), repeats (E0004), missing arguments (E0008) and
//! argument types and bounds.

use super::value::{Value, Want};
use super::Checker;
use crate::ast::{Attribute, Expr, ExprKind};
use crate::diag::{suggest, Code, Diagnostic};
use crate::schema::{Arg, Signature};
use crate::source::Span;

/// A checked argument: its value and where it was written (the call itself for defaults).
pub(super) type Args = Vec<(Value, Span)>;

impl Checker<'_> {
    pub(super) fn operator(
        &mut self,
        attr: Option<&Attribute>,
        what: &str,
        signatures: &[Signature],
        example: &str,
    ) -> Option<(usize, Args)> {
        self.call(&attr?.value, what, signatures, example)
    }

    /// Checks a call against the signatures: name (E0013), argument names (E0003),
    /// repeats (E0004), missing arguments (E0008) and types. Bare `rank` means `rank()`.
    pub(super) fn call(
        &mut self,
        expr: &Expr,
        what: &str,
        signatures: &[Signature],
        example: &str,
    ) -> Option<(usize, Args)> {
        let mut expr = expr;
        while let ExprKind::Paren(inner) = &expr.kind {
            expr = inner;
        }
        let (name, args) = match &expr.kind {
            ExprKind::Call(call) => (&call.name, call.args.as_slice()),
            ExprKind::Path(parts) if parts.len() == 1 => (parts.first()?, &[][..]),
            _ => {
                let d = Diagnostic::new(
                    Code::E0007,
                    format!("expected a {what} such as `{example}`"),
                    expr.span,
                    format!("not a {what}"),
                );
                self.report(d);
                return None;
            }
        };
        let names = signatures.iter().map(|s| s.name);
        let Some(which) = signatures.iter().position(|s| s.name == &*name.name) else {
            let help = suggest::did_you_mean(&name.name, names.clone())
                .unwrap_or_else(|| format!("expected one of: {}", names.collect::<Vec<_>>().join(", ")));
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown {what} `{}`", name.name),
                name.span,
                format!("not a {what}"),
            );
            self.report(d.with_help(help));
            return None;
        };
        let signature = signatures.get(which)?;
        let mut slots: Vec<Option<(Value, Span)>> = vec![None; signature.params.len()];
        let mut next_positional = 0;
        let mut ok = true;
        for arg in args {
            let index = match &arg.name {
                Some(n) => match signature.params.iter().position(|p| p.0 == &*n.name) {
                    Some(i) => i,
                    None => {
                        let help = suggest::did_you_mean(&n.name, signature.params.iter().map(|p| p.0))
                            .unwrap_or_else(|| parameter_list(signature));
                        let d = Diagnostic::new(
                            Code::E0003,
                            format!("unknown parameter `{}` for `{}`", n.name, signature.name),
                            n.span,
                            "no such parameter",
                        );
                        self.report(d.with_help(help));
                        ok = false;
                        continue;
                    }
                },
                None => {
                    next_positional += 1;
                    next_positional - 1
                }
            };
            let Some((param, kind, _)) = signature.params.get(index) else {
                let d = Diagnostic::new(
                    Code::E0003,
                    format!("`{}` takes {} argument(s)", signature.name, signature.params.len()),
                    arg.value.span,
                    "one argument too many",
                );
                self.report(d.with_help(parameter_list(signature)));
                ok = false;
                continue;
            };
            if let Some(Some((_, first))) = slots.get(index) {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("`{param}` is given twice"),
                    arg.value.span,
                    "given again here",
                )
                .with_label(*first, "first given here");
                self.report(d);
                ok = false;
                continue;
            }
            let want = match kind {
                Arg::Range => Want::RangeInt,
                Arg::Int(_) => Want::Int,
                Arg::Float(_) => Want::Float,
            };
            match self.value(&arg.value, &want) {
                Some(v) => {
                    if let Some(slot) = slots.get_mut(index) {
                        *slot = Some((v, arg.value.span));
                    }
                }
                None => ok = false,
            }
        }
        let mut out = Vec::with_capacity(slots.len());
        for (slot, (param, kind, optional)) in slots.into_iter().zip(signature.params) {
            match (slot, kind) {
                (Some(v), _) => out.push(v),
                (None, Arg::Int(d)) if *optional => out.push((Value::Int(*d), expr.span)),
                (None, Arg::Float(d)) if *optional => out.push((Value::Float(*d), expr.span)),
                (None, Arg::Range) if *optional => {
                    match crate::schema::prelude_range(signature.name, param) {
                        Some((lo, hi)) => out.push((Value::RangeInt(lo, hi), expr.span)),
                        None => ok = false,
                    }
                }
                (None, _) => {
                    let d = Diagnostic::new(
                        Code::E0008,
                        format!("missing argument `{param}` for `{}`", signature.name),
                        expr.span,
                        format!("`{param}` is required"),
                    );
                    self.report(d.with_help(parameter_list(signature)));
                    ok = false;
                }
            }
        }
        ok.then_some((which, out))
    }

    pub(super) fn positive(&mut self, arg: Option<&(Value, Span)>, name: &str) -> Option<u64> {
        match arg? {
            (Value::Int(v), span) if *v < 1 => {
                self.bounds(*span, format!("`{name}` must be at least 1, found {v}"), "below 1");
                None
            }
            (Value::Int(v), _) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    pub(super) fn arg_rate(&mut self, arg: Option<&(Value, Span)>, name: &str) -> Option<f64> {
        match arg? {
            (Value::Float(v), span) => self.rate(Some((*v, *span)), name),
            _ => None,
        }
    }
}

fn parameter_list(signature: &Signature) -> String {
    if signature.params.is_empty() {
        return format!("`{}` takes no arguments: write `{}()`", signature.name, signature.name);
    }
    let params: Vec<&str> = signature.params.iter().map(|p| p.0).collect();
    format!("`{}` takes: {}", signature.name, params.join(", "))
}
