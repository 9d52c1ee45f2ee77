//! The untyped syntax tree. Every node carries its byte span; literals keep their value
//! (the formatter re-reads their text through the span, so `1_000` stays as written).

use crate::source::Span;
use std::fmt::Write;

/// A parsed file: its top-level items in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Let(Let),
    Block(Block),
}

impl Item {
    /// Moves every span of the item `by` bytes: the same text found elsewhere in a new
    /// version of the file (the language server's reparse reuses it).
    pub(crate) fn shift(&mut self, by: i64) {
        match self {
            Item::Let(l) => {
                shift_ident(&mut l.name, by);
                shift_expr(&mut l.value, by);
                shift_span(&mut l.span, by);
            }
            Item::Block(b) => shift_block(b, by),
        }
    }

    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Let(l) => l.span,
            Item::Block(b) => b.span,
        }
    }
}

/// `let NAME = EXPR`.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `KIND [NAME] { ... }`, at top level or nested.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub kind: Ident,
    /// `NAME`: an identifier, or a string's text (`alert "low-utilisation"`), its span the
    /// quotes included.
    pub label: Option<Ident>,
    /// Whether the label was written as a string; only an alert's may be.
    pub quoted: bool,
    pub body: Vec<BodyItem>,
    pub span: Span,
    /// The `KIND [NAME]` part, where "missing attribute" errors point.
    pub header: Span,
}

/// What a block body holds.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyItem {
    Attribute(Attribute),
    Block(Block),
}

impl BodyItem {
    /// The item's name (attribute name or nested block kind).
    pub fn name(&self) -> &Ident {
        match self {
            BodyItem::Attribute(a) => &a.name,
            BodyItem::Block(b) => &b.kind,
        }
    }

    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            BodyItem::Attribute(a) => a.span,
            BodyItem::Block(b) => b.span,
        }
    }
}

/// `NAME = EXPR` inside a block.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// A name with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: Box<str>,
    pub span: Span,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A number as written: integers stay integers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// The unit of a fixed-length duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    /// Seven days.
    Weeks,
}

impl TimeUnit {
    /// Its length in seconds.
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3600.0,
            TimeUnit::Days => 86400.0,
            TimeUnit::Weeks => 7.0 * 86400.0,
        }
    }
}

/// Expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// US dollars.
    Money(f64),
    /// As written: `80%` is 80.0.
    Percent(f64),
    /// Seconds, and the unit written (`6m` is six minutes, which a window length on daily
    /// data rarely means).
    Duration(f64, TimeUnit),
    /// A calendar length in months (`6mo`; `2y` is 24): months have no fixed length.
    Months(f64),
    Str(String),
    Bool(bool),
    /// `lo..hi`, and `step` where written (`50.0..80.0 step 0.5`).
    Range(Number, Number, Option<Number>),
    List(Vec<Expr>),
    /// A bare name (`spot`, `aws_west`) or a dotted path (`evo.cpu`).
    Path(Vec<Ident>),
    Call(Call),
    /// One output of a call with several (`macd(close, 12, 26, 9).line`).
    Output(Box<Expr>, Ident),
    Neg(Box<Expr>),
    /// `not x`.
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Paren(Box<Expr>),
    /// A literal the parser already reported as invalid; later phases stay silent on it.
    Error,
}

/// `name(arg, key = value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub args: Vec<Argument>,
}

/// A call argument, positional (`name` is `None`) or named.
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Expr,
}

/// Binary operators, arithmetic and comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// True for `< <= > >= == !=`.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne)
    }

    /// True for `and` and `or`.
    pub fn is_logical(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or)
    }
}

/// The tree's structure without spans, as one line of S-expressions: two files with equal
/// shapes mean the same thing (what `fmt` must preserve).
pub fn shape(file: &File) -> String {
    let mut out = String::new();
    for item in &file.items {
        match item {
            Item::Let(l) => {
                let _ = write!(out, "(let {} ", l.name.name);
                expr_shape(&l.value, &mut out);
                out.push(')');
            }
            Item::Block(b) => block_shape(b, &mut out),
        }
    }
    out
}

fn block_shape(b: &Block, out: &mut String) {
    let _ = write!(out, "({} {:?}", b.kind.name, b.label.as_ref().map(|l| &*l.name));
    for item in &b.body {
        match item {
            BodyItem::Attribute(a) => {
                let _ = write!(out, " ({} ", a.name.name);
                expr_shape(&a.value, out);
                out.push(')');
            }
            BodyItem::Block(inner) => {
                out.push(' ');
                block_shape(inner, out);
            }
        }
    }
    out.push(')');
}

fn expr_shape(e: &Expr, out: &mut String) {
    let _ = match &e.kind {
        ExprKind::Int(v) => write!(out, "{v}"),
        ExprKind::Float(v) => write!(out, "{v:?}f"),
        ExprKind::Money(v) => write!(out, "${v:?}"),
        ExprKind::Percent(v) => write!(out, "{v:?}%"),
        ExprKind::Duration(v, unit) => write!(out, "{v:?}s{unit:?}"),
        ExprKind::Months(v) => write!(out, "{v:?}mo"),
        ExprKind::Str(s) => write!(out, "{s:?}"),
        ExprKind::Bool(b) => write!(out, "{b}"),
        ExprKind::Range(a, b, None) => write!(out, "{a:?}..{b:?}"),
        ExprKind::Range(a, b, Some(step)) => write!(out, "{a:?}..{b:?}step{step:?}"),
        ExprKind::Error => write!(out, "<error>"),
        ExprKind::Path(parts) => {
            let names: Vec<&str> = parts.iter().map(|p| &*p.name).collect();
            write!(out, "{}", names.join("."))
        }
        ExprKind::List(items) => {
            out.push('[');
            for i in items {
                expr_shape(i, out);
                out.push(',');
            }
            write!(out, "]")
        }
        ExprKind::Call(c) => {
            let _ = write!(out, "{}(", c.name.name);
            for a in &c.args {
                if let Some(n) = &a.name {
                    let _ = write!(out, "{}=", n.name);
                }
                expr_shape(&a.value, out);
                out.push(',');
            }
            write!(out, ")")
        }
        ExprKind::Neg(inner) => {
            out.push_str("(- ");
            expr_shape(inner, out);
            write!(out, ")")
        }
        ExprKind::Not(inner) => {
            out.push_str("(not ");
            expr_shape(inner, out);
            write!(out, ")")
        }
        ExprKind::Output(call, output) => {
            out.push_str("(output ");
            expr_shape(call, out);
            write!(out, " {})", output.name)
        }
        ExprKind::Binary(op, l, r) => {
            let _ = write!(out, "({} ", op.symbol());
            expr_shape(l, out);
            out.push(' ');
            expr_shape(r, out);
            write!(out, ")")
        }
        ExprKind::Paren(inner) => {
            out.push_str("(paren ");
            expr_shape(inner, out);
            write!(out, ")")
        }
    };
}

fn shift_span(span: &mut Span, by: i64) {
    let moved = |at: u32| u32::try_from(i64::from(at) + by).unwrap_or(0);
    *span = Span { start: moved(span.start), end: moved(span.end) };
}

fn shift_ident(ident: &mut Ident, by: i64) {
    shift_span(&mut ident.span, by);
}

fn shift_block(block: &mut Block, by: i64) {
    shift_ident(&mut block.kind, by);
    if let Some(label) = &mut block.label {
        shift_ident(label, by);
    }
    for item in &mut block.body {
        match item {
            BodyItem::Attribute(a) => {
                shift_ident(&mut a.name, by);
                shift_expr(&mut a.value, by);
                shift_span(&mut a.span, by);
            }
            BodyItem::Block(b) => shift_block(b, by),
        }
    }
    shift_span(&mut block.span, by);
    shift_span(&mut block.header, by);
}

fn shift_expr(expr: &mut Expr, by: i64) {
    shift_span(&mut expr.span, by);
    match &mut expr.kind {
        ExprKind::List(items) => items.iter_mut().for_each(|e| shift_expr(e, by)),
        ExprKind::Path(parts) => parts.iter_mut().for_each(|p| shift_ident(p, by)),
        ExprKind::Call(call) => {
            shift_ident(&mut call.name, by);
            for arg in &mut call.args {
                if let Some(name) = &mut arg.name {
                    shift_ident(name, by);
                }
                shift_expr(&mut arg.value, by);
            }
        }
        ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Paren(e) => shift_expr(e, by),
        ExprKind::Output(call, output) => {
            shift_expr(call, by);
            shift_ident(output, by);
        }
        ExprKind::Binary(_, a, b) => {
            shift_expr(a, by);
            shift_expr(b, by);
        }
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Money(_)
        | ExprKind::Percent(_)
        | ExprKind::Duration(..)
        | ExprKind::Months(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Range(..)
        | ExprKind::Error => {}
    }
}
