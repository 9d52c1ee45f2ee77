//! Expressions in canonical form: spaces around binary operators, `, ` between list
//! items and arguments, literals exactly as written.

use crate::ast::{Expr, ExprKind};

/// Appends `e` to `out`; `text` is the source the literals are copied from.
pub fn print(e: &Expr, text: &str, out: &mut String) {
    match &e.kind {
        ExprKind::Path(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&p.name);
            }
        }
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(item, text, out);
            }
            out.push(']');
        }
        ExprKind::Call(call) => {
            out.push_str(&call.name.name);
            out.push('(');
            for (i, arg) in call.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if let Some(name) = &arg.name {
                    out.push_str(&name.name);
                    out.push_str(" = ");
                }
                print(&arg.value, text, out);
            }
            out.push(')');
        }
        ExprKind::Neg(inner) => {
            out.push('-');
            print(inner, text, out);
        }
        ExprKind::Not(inner) => {
            out.push_str("not ");
            print(inner, text, out);
        }
        ExprKind::Output(call, output) => {
            print(call, text, out);
            out.push('.');
            out.push_str(&output.name);
        }
        ExprKind::Range(_, _, Some(_)) => {
            // `lo..hi step s`: three tokens (a comment inside is printed verbatim earlier).
            let written = text.get(e.span.start as usize..e.span.end as usize).unwrap_or("");
            out.push_str(&written.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        ExprKind::Binary(op, l, r) => {
            print(l, text, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            print(r, text, out);
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            print(inner, text, out);
            out.push(')');
        }
        _ => out.push_str(text.get(e.span.start as usize..e.span.end as usize).unwrap_or("")),
    }
}
