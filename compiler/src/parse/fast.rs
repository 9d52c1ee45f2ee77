//! A hand-written recursive-descent parser for the grammar in `gaf.pest`, tried first on
//! each top-level item because pest tops out at ~16 MB/s on this grammar (BENCHMARKS.md).
//!
//! It accepts only what it is sure of. On anything else (a syntax error, a literal that does
//! not fit, a non-ASCII name, a dotted call) it gives up on the item and returns `None`; pest,
//! which stays the grammar's reference, then parses that item and reports what is wrong.
//! So this parser never reports errors, and for every item it accepts it must build exactly
//! the tree pest builds, spans included: the fuzz test (`tests/it/fuzz.rs`) compares the two
//! on every input. Keep each function in step with the pest rule named in its doc line.

use super::{number, unit_value, MAX_OPERATORS};
use crate::ast::*;
use crate::source::Span;

/// The top-level item starting at `at` (no leading trivia) and the offset just past it.
pub fn item(text: &str, at: usize) -> Option<(Item, usize)> {
    let mut p = Parser { text, s: text.as_bytes(), i: at };
    let item = p.item()?;
    Some((item, p.i))
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

/// pest's `ident_char`: ASCII only.
fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.s.get(at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.i += 1;
        }
        found
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.i)
    }

    /// `WHITESPACE`: spaces, tabs, newlines, carriage returns and comments.
    fn ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'#' => self.comment(),
                b'/' if self.byte(self.i + 1) == Some(b'/') => self.comment(),
                _ => return,
            }
        }
    }

    fn comment(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                return;
            }
            self.i += 1;
        }
    }

    /// `ident`. pest's XID classes could continue a name past ASCII: give up there.
    fn ident(&mut self) -> Option<Ident> {
        let start = self.i;
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        self.i += 1;
        while self.peek().is_some_and(is_ident_char) {
            self.i += 1;
        }
        if self.peek().is_some_and(|b| !b.is_ascii()) {
            return None;
        }
        Some(Ident { name: self.text.get(start..self.i)?.into(), span: self.span_from(start) })
    }

    /// `let_decl | block`.
    fn item(&mut self) -> Option<Item> {
        let start = self.i;
        let after_let = self.byte(start + 3);
        if self.s.get(start..start + 3) == Some(b"let")
            && !after_let.is_some_and(|b| is_ident_char(b) || !b.is_ascii())
        {
            self.i += 3;
            self.ws();
            let name = self.ident()?;
            self.ws();
            if !self.eat(b'=') {
                return None;
            }
            self.ws();
            let value = self.expr()?;
            let span = Span::new(start, value.span.end as usize);
            return Some(Item::Let(Let { name, value, span }));
        }
        Some(Item::Block(self.block()?))
    }

    /// `block`, with `body_item = attribute | block`.
    fn block(&mut self) -> Option<Block> {
        let start = self.i;
        let kind = self.ident()?;
        self.ws();
        let quoted = self.peek() == Some(b'"');
        let label = if self.peek().is_some_and(is_ident_start) {
            let label = self.ident()?;
            self.ws();
            Some(label)
        } else if quoted {
            let from = self.i;
            let text = self.string()?;
            let label = Ident { name: text.into(), span: self.span_from(from) };
            self.ws();
            Some(label)
        } else {
            None
        };
        if !self.eat(b'{') {
            return None;
        }
        let mut body = Vec::new();
        loop {
            self.ws();
            if self.eat(b'}') {
                break;
            }
            let item_start = self.i;
            let name = self.ident()?;
            self.ws();
            if self.eat(b'=') {
                self.ws();
                let value = self.expr()?;
                let span = name.span.to(value.span);
                body.push(BodyItem::Attribute(Attribute { name, value, span }));
            } else {
                self.i = item_start;
                body.push(BodyItem::Block(self.block()?));
            }
        }
        let header = kind.span.to(label.as_ref().map_or(kind.span, |l| l.span));
        Some(Block { kind, label, quoted, body, span: self.span_from(start), header })
    }

    /// `expr = operand ~ (infix ~ operand)*`, with the Pratt parser's precedence.
    fn expr(&mut self) -> Option<Expr> {
        let mut operators = 0;
        self.pratt(0, &mut operators)
    }

    /// pest's Pratt loop (`pratt_parser.rs`), step for step, so the trees agree: an operand,
    /// then every infix operator that binds tighter than `floor`, each with its right side
    /// parsed at the operator's own strength (left-associative). `operators` counts infix
    /// operators and `not`s, as the AST builder's `MAX_OPERATORS` check does.
    fn pratt(&mut self, floor: u8, operators: &mut usize) -> Option<Expr> {
        let mut lhs = self.operand(operators)?;
        loop {
            let before = self.i;
            self.ws();
            let Some((op, len)) = self.infix()? else {
                self.i = before;
                break;
            };
            if binds(op) <= floor {
                self.i = before;
                break;
            }
            self.i += len;
            *operators += 1;
            if *operators > MAX_OPERATORS {
                return None;
            }
            self.ws();
            let rhs = self.pratt(binds(op), operators)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span };
        }
        Some(lhs)
    }

    /// `infix`, not consumed: the operator and its length. The two-character operators
    /// first, as in the grammar. `None` to give up (a non-ASCII letter after a keyword).
    fn infix(&self) -> Option<Option<(BinOp, usize)>> {
        let Some(b) = self.peek() else { return Some(None) };
        let found = match (b, self.byte(self.i + 1)) {
            (b'<', Some(b'=')) => (BinOp::Le, 2),
            (b'>', Some(b'=')) => (BinOp::Ge, 2),
            (b'=', Some(b'=')) => (BinOp::Eq, 2),
            (b'!', Some(b'=')) => (BinOp::Ne, 2),
            (b'<', _) => (BinOp::Lt, 1),
            (b'>', _) => (BinOp::Gt, 1),
            (b'+', _) => (BinOp::Add, 1),
            (b'-', _) => (BinOp::Sub, 1),
            (b'*', _) => (BinOp::Mul, 1),
            (b'/', _) => (BinOp::Div, 1),
            (b'a', _) if self.keyword(self.i, b"and")? => (BinOp::And, 3),
            (b'o', _) if self.keyword(self.i, b"or")? => (BinOp::Or, 2),
            _ => return Some(None),
        };
        Some(Some(found))
    }

    /// Whether `word` is at `at` as a keyword (`@{ word ~ !ident_char }`); `None` to give up
    /// where a non-ASCII character follows (pest's classes decide there).
    fn keyword(&self, at: usize, word: &[u8]) -> Option<bool> {
        if self.s.get(at..at + word.len()) != Some(word) {
            return Some(false);
        }
        match self.byte(at + word.len()) {
            Some(b) if !b.is_ascii() => None,
            Some(b) => Some(!is_ident_char(b)),
            None => Some(true),
        }
    }

    /// `operand = kw_not* ~ (neg ~ primary | primary)`; each `not` takes what binds tighter
    /// than `and`, as its Pratt prefix does.
    fn operand(&mut self, operators: &mut usize) -> Option<Expr> {
        let start = self.i;
        if self.keyword(start, b"not")? {
            self.i += 3;
            *operators += 1;
            if *operators > MAX_OPERATORS {
                return None;
            }
            self.ws();
            let inner = self.pratt(NOT, operators)?;
            let span = Span::new(start, inner.span.end as usize);
            return Some(Expr { kind: ExprKind::Not(Box::new(inner)), span });
        }
        if self.peek() != Some(b'-') {
            return self.primary();
        }
        self.i += 1;
        self.ws();
        let inner = self.primary()?;
        let span = Span::new(start, inner.span.end as usize);
        Some(Expr { kind: ExprKind::Neg(Box::new(inner)), span })
    }

    /// `primary`, dispatched on the first character as the grammar does.
    fn primary(&mut self) -> Option<Expr> {
        let start = self.i;
        let kind = match self.peek()? {
            b'0'..=b'9' => self.numeric()?,
            b'"' => ExprKind::Str(self.string()?),
            b'$' => {
                let end = self.digits_and_fraction(start + 1)?;
                if self.byte(end).is_some_and(is_ident_char) {
                    return None;
                }
                self.i = end;
                ExprKind::Money(unit_value(self.text.get(start + 1..end)?)?)
            }
            b'[' => ExprKind::List(self.list()?),
            b'(' => {
                self.i += 1;
                self.ws();
                let inner = self.expr()?;
                self.ws();
                if !self.eat(b')') {
                    return None;
                }
                ExprKind::Paren(Box::new(inner))
            }
            b if is_ident_start(b) => return self.name(),
            _ => return None,
        };
        Some(Expr { kind, span: self.span_from(start) })
    }

    /// `digits ~ ("." ~ ASCII_DIGIT ~ (ASCII_DIGIT | "_")*)?` from `from`; the end offset.
    fn digits_and_fraction(&self, from: usize) -> Option<usize> {
        if !self.byte(from)?.is_ascii_digit() {
            return None;
        }
        let mut i = from + 1;
        while self.byte(i).is_some_and(is_digit_or_underscore) {
            i += 1;
        }
        if self.byte(i) == Some(b'.') && self.byte(i + 1).is_some_and(|b| b.is_ascii_digit()) {
            i += 2;
            while self.byte(i).is_some_and(is_digit_or_underscore) {
                i += 1;
            }
        }
        Some(i)
    }

    /// `bound = "-"? ~ digits ~ fraction? ~ !ident_char`.
    fn bound(&self, from: usize) -> Option<usize> {
        let from = if self.byte(from) == Some(b'-') { from + 1 } else { from };
        let end = self.digits_and_fraction(from)?;
        (!self.byte(end).is_some_and(is_ident_char)).then_some(end)
    }

    /// `range | percent | duration | number`, tried in that order.
    fn numeric(&mut self) -> Option<ExprKind> {
        let start = self.i;
        let text = self.text;
        if let Some(lo_end) = self.bound(start) {
            if self.s.get(lo_end..lo_end + 2) == Some(b"..") {
                if let Some(hi_end) = self.bound(lo_end + 2) {
                    self.i = hi_end;
                    let lo = number(text.get(start..lo_end)?)?;
                    let hi = number(text.get(lo_end + 2..hi_end)?)?;
                    let step = self.step()?;
                    return Some(ExprKind::Range(lo, hi, step));
                }
            }
        }
        let body_end = self.digits_and_fraction(start)?;
        let body = text.get(start..body_end)?;
        match self.byte(body_end) {
            Some(b'%') => {
                self.i = body_end + 1;
                return Some(ExprKind::Percent(unit_value(body)?));
            }
            Some(b's' | b'm' | b'h' | b'd' | b'w' | b'y') => {
                let unit_end = if self.s.get(body_end..body_end + 2) == Some(b"mo") {
                    body_end + 2
                } else {
                    body_end + 1
                };
                if !self.byte(unit_end).is_some_and(is_ident_char) {
                    let value = unit_value(body)?;
                    self.i = unit_end;
                    return match super::duration_unit(text.get(body_end..unit_end)?) {
                        Ok(unit) => {
                            let seconds = value * unit.seconds();
                            seconds.is_finite().then_some(ExprKind::Duration(seconds, unit))
                        }
                        Err(months) => {
                            (value * months).is_finite().then_some(ExprKind::Months(value * months))
                        }
                    };
                }
            }
            _ => {}
        }
        let mut end = body_end;
        if let Some(exp_end) = self.exponent(end) {
            if !self.byte(exp_end).is_some_and(is_ident_char) {
                end = exp_end;
            }
        }
        let after = self.byte(end);
        if after.is_some_and(is_ident_char)
            || (after == Some(b'.') && self.byte(end + 1).is_some_and(|b| b.is_ascii_digit()))
        {
            return None;
        }
        self.i = end;
        match number(text.get(start..end)?)? {
            Number::Int(v) => Some(ExprKind::Int(v)),
            Number::Float(v) => Some(ExprKind::Float(v)),
        }
    }

    /// A range's `(WHITESPACE? ~ kw_step ~ WHITESPACE? ~ bound)?`, from just past its upper
    /// bound: the step, if one follows (consumed), else nothing (nothing consumed).
    fn step(&mut self) -> Option<Option<Number>> {
        let end = self.i;
        self.ws();
        if !self.keyword(self.i, b"step")? {
            self.i = end;
            return Some(None);
        }
        self.i += 4;
        self.ws();
        let Some(step_end) = self.bound(self.i) else {
            self.i = end;
            return Some(None);
        };
        let step = number(self.text.get(self.i..step_end)?)?;
        self.i = step_end;
        Some(Some(step))
    }

    /// `exponent = ("e" | "E") ~ ("+" | "-")? ~ digits`; the end offset.
    fn exponent(&self, from: usize) -> Option<usize> {
        if !matches!(self.byte(from)?, b'e' | b'E') {
            return None;
        }
        let mut i = from + 1;
        if matches!(self.byte(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !self.byte(i)?.is_ascii_digit() {
            return None;
        }
        i += 1;
        while self.byte(i).is_some_and(is_digit_or_underscore) {
            i += 1;
        }
        Some(i)
    }

    /// `string`: the escapes `\"`, `\\` and `\n`; no newline inside.
    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    out.push(match self.byte(self.i + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'n' => '\n',
                        _ => return None,
                    });
                    self.i += 2;
                }
                b'\n' => return None,
                _ => {
                    let start = self.i;
                    while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b != b'\n') {
                        self.i += 1;
                    }
                    out.push_str(self.text.get(start..self.i)?);
                }
            }
        }
    }

    /// `list = lbracket ~ (expr ~ (comma ~ expr)* ~ comma?)? ~ rbracket`.
    fn list(&mut self) -> Option<Vec<Expr>> {
        self.comma_separated(b']', Self::expr)
    }

    /// After an opening bracket: `(item ~ (comma ~ item)* ~ comma?)? ~ close`.
    fn comma_separated<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.i += 1;
        self.ws();
        let mut items = Vec::new();
        if self.eat(close) {
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            self.ws();
            if self.eat(b',') {
                self.ws();
                if self.eat(close) {
                    return Some(items);
                }
            } else if self.eat(close) {
                return Some(items);
            } else {
                return None;
            }
        }
    }

    /// `name = ident ~ ("." ~ ident)* ~ (WHITESPACE? ~ args)?`; `true` and `false` are
    /// booleans, as the AST builder reads them.
    fn name(&mut self) -> Option<Expr> {
        let start = self.i;
        let mut parts = vec![self.ident()?];
        while self.peek() == Some(b'.') {
            match self.byte(self.i + 1) {
                Some(b) if is_ident_start(b) => {
                    self.i += 1;
                    parts.push(self.ident()?);
                }
                // pest's XID classes would read `.é…` as part of the path.
                Some(b) if !b.is_ascii() => return None,
                _ => break,
            }
        }
        let before_args = self.i;
        self.ws();
        if self.peek() == Some(b'(') {
            let args = self.args()?;
            let [name] = <[Ident; 1]>::try_from(parts).ok()?;
            let call = Expr { kind: ExprKind::Call(Call { name, args }), span: self.span_from(start) };
            if self.peek() != Some(b'.') {
                return Some(call);
            }
            return match self.byte(self.i + 1) {
                Some(b) if is_ident_start(b) => {
                    self.i += 1;
                    let output = self.ident()?;
                    Some(Expr { kind: ExprKind::Output(Box::new(call), output), span: self.span_from(start) })
                }
                Some(b) if !b.is_ascii() => None,
                _ => Some(call),
            };
        }
        self.i = before_args;
        let kind = match parts.as_slice() {
            [one] if &*one.name == "true" => ExprKind::Bool(true),
            [one] if &*one.name == "false" => ExprKind::Bool(false),
            _ => ExprKind::Path(parts),
        };
        Some(Expr { kind, span: self.span_from(start) })
    }

    /// `args = lparen ~ (argument ~ (comma ~ argument)* ~ comma?)? ~ rparen`.
    fn args(&mut self) -> Option<Vec<Argument>> {
        self.comma_separated(b')', Self::argument)
    }

    /// `argument = named_arg | expr`.
    fn argument(&mut self) -> Option<Argument> {
        let start = self.i;
        if let Some(name) = self.ident() {
            self.ws();
            if self.eat(b'=') {
                self.ws();
                if let Some(value) = self.expr() {
                    return Some(Argument { name: Some(name), value });
                }
            }
        }
        self.i = start;
        Some(Argument { name: None, value: self.expr()? })
    }
}

/// How tightly `not` binds: its operand takes every operator above it (`parse::pratt`'s
/// table, where each level is 10 above the one before).
const NOT: u8 = 30;

/// How tightly an infix operator binds, as in `parse::pratt`'s table.
fn binds(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 10,
        BinOp::And => 20,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 40,
        BinOp::Add | BinOp::Sub => 50,
        BinOp::Mul | BinOp::Div => 60,
    }
}
