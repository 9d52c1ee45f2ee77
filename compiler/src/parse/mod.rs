//! Text → AST. Parses one top-level item at a time, so memory is bounded by the largest
//! item and a syntax error in one item still lets the others be parsed (and reported).

mod error;
mod fast;
mod reuse;

pub use error::ParseError;
pub use reuse::{reparse, Parsed};

use crate::ast::*;
use crate::diag::Problems;
use crate::source::{SourceFile, Span, MAX_SOURCE_BYTES};
use crate::trivia;
use gaform_grammar::{GafParser, Rule};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

/// Deepest bracket nesting accepted: the grammar and the checker recurse per level.
pub const MAX_DEPTH: usize = 64;
/// Syntax errors reported before parsing stops: each costs time proportional to the rest
/// of the file, and past this many the first ones are what needs fixing anyway.
pub const MAX_SYNTAX_ERRORS: usize = 50;
/// Most operators in one expression: the tree of a longer chain is too deep to walk.
pub const MAX_OPERATORS: usize = 256;

/// Parses a whole file. Syntax errors go to `problems`; the items that parsed are returned.
/// Each item is tried with the fast hand-written parser first and, where that gives up,
/// with pest, which also reports the errors.
pub fn parse(source: &SourceFile, problems: &mut Problems) -> File {
    parse_with(source, problems, true)
}

/// Parses with pest alone: the grammar's reference, which `parse` must agree with exactly
/// (the fuzz test compares them).
pub fn parse_reference(source: &SourceFile, problems: &mut Problems) -> File {
    parse_with(source, problems, false)
}

/// Parses `source` as one expression (a value given on the command line).
pub fn expression(source: &SourceFile, problems: &mut Problems) -> Option<Expr> {
    let text: &str = &source.text;
    let mut report = |e: ParseError| problems.push(e.to_diagnostic(text));
    if let Some(at) = trivia::too_deep(text, MAX_DEPTH) {
        report(ParseError::TooDeep { at, limit: MAX_DEPTH });
        return None;
    }
    let mut builder = Builder { errors: Vec::new() };
    let expr = match GafParser::parse(Rule::expr_at, text) {
        Ok(mut pairs) => {
            let inner = pairs.next().and_then(|p| p.into_inner().next());
            match inner.map(|e| builder.expr(e, 0)) {
                Some(Ok(expr)) => Some(expr),
                Some(Err(e)) => {
                    builder.errors.push(e);
                    None
                }
                None => None,
            }
        }
        Err(e) => {
            builder.errors.push(ParseError::from_pest(&e, 0));
            None
        }
    };
    let failed = !builder.errors.is_empty();
    for e in builder.errors {
        report(e);
    }
    expr.filter(|_| !failed)
}

fn parse_with(source: &SourceFile, problems: &mut Problems, fast_first: bool) -> File {
    parse_steps(&source.text, problems, fast_first, false).0
}

/// The parse of the whole text and the steps that made it (with depths when asked).
fn parse_steps(text: &str, problems: &mut Problems, fast_first: bool, depths: bool) -> (File, Vec<Step>) {
    if text.len() > MAX_SOURCE_BYTES {
        problems.push(ParseError::TooLarge { bytes: text.len() }.to_diagnostic(text));
        return (File::default(), Vec::new());
    }
    if let Some(at) = trivia::too_deep(text, MAX_DEPTH) {
        problems.push(ParseError::TooDeep { at, limit: MAX_DEPTH }.to_diagnostic(text));
        return (File::default(), Vec::new());
    }
    let mut items = Items::new(text, fast_first);
    items.depths = depths;
    items.run(0);
    items.finish(problems)
}

/// What one turn of the parse loop did: from `start` (past leading trivia) to `end`, where
/// the next turn begins. `clean` when it parsed an item with no error of any kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    start: usize,
    end: usize,
    clean: bool,
    /// It added an item to the file (an item with a literal error is added, not clean).
    item: bool,
    /// The deepest bracket nesting inside a clean item, from zero; recorded for reuse only.
    depth: usize,
}

/// The parse loop's state: one top-level item at a time, each tried with the fast
/// hand-written parser first and, where that gives up, with pest, which also reports the
/// errors; a syntax error resumes at the next line that can start an item.
struct Items<'t> {
    text: &'t str,
    fast_first: bool,
    builder: Builder,
    items: Vec<Item>,
    steps: Vec<Step>,
    syntax_errors: usize,
    /// Record each clean item's nesting depth (for `reparse`).
    depths: bool,
}

impl<'t> Items<'t> {
    fn new(text: &'t str, fast_first: bool) -> Items<'t> {
        Items {
            text,
            fast_first,
            builder: Builder { errors: Vec::new() },
            items: Vec::new(),
            steps: Vec::new(),
            syntax_errors: 0,
            depths: false,
        }
    }

    fn record(&mut self, start: usize, end: usize, clean: bool, item: bool) {
        let depth = if clean && self.depths { trivia::depth_over(self.text, start, end, 0).1 } else { 0 };
        self.steps.push(Step { start, end, clean, item, depth });
    }

    /// Parses the item at `offset` (past trivia); where to go on from, or `None` at the end.
    fn step(&mut self, offset: usize) -> Option<usize> {
        let text = self.text;
        // Our own scanner, not a pest probe: a failed pest parse costs time proportional to
        // the rest of the input (its error scans back from the end), which would make this
        // loop quadratic.
        let rest = text.get(offset..).filter(|r| !r.is_empty())?;
        if self.fast_first {
            if let Some((item, end)) = fast::item(text, offset) {
                self.items.push(item);
                self.record(offset, end, true, true);
                return Some(end);
            }
        }
        let errors_before = self.builder.errors.len();
        match GafParser::parse(Rule::item_at, rest) {
            Ok(mut pairs) => {
                let item_at = pairs.next()?;
                let end = item_at.as_span().end();
                let mut added = false;
                if let Some(item) = item_at.into_inner().next() {
                    match self.builder.item(item, offset) {
                        Ok(item) => {
                            self.items.push(item);
                            added = true;
                        }
                        Err(e) => self.builder.errors.push(e),
                    }
                }
                let clean = added && self.builder.errors.len() == errors_before;
                self.record(offset, offset + end, clean, added);
                (end != 0).then_some(offset + end)
            }
            Err(e) => {
                let error = ParseError::from_pest(&e, offset);
                let at = match error {
                    ParseError::Unexpected { at, .. } => at,
                    _ => offset,
                };
                self.builder.errors.push(error);
                self.syntax_errors += 1;
                if self.syntax_errors == MAX_SYNTAX_ERRORS {
                    self.builder.errors.push(ParseError::TooManyErrors { at, limit: MAX_SYNTAX_ERRORS });
                    self.record(offset, text.len(), false, false);
                    return None;
                }
                // Every error is a step, the last one too: a reparse must not lose it.
                let next = trivia::resync(text, offset, at).filter(|&next| next > offset);
                self.record(offset, next.unwrap_or(text.len()), false, false);
                next
            }
        }
    }

    /// Parses items from `offset` to the end of the text.
    fn run(&mut self, mut offset: usize) {
        while let Some(next) = self.step(trivia::skip(self.text, offset)) {
            offset = next;
        }
    }

    /// Reports the errors met; the file and the steps that made it.
    fn finish(self, problems: &mut Problems) -> (File, Vec<Step>) {
        for e in self.builder.errors {
            problems.push(e.to_diagnostic(self.text));
        }
        (File { items: self.items }, self.steps)
    }
}

/// The operator table, built once: `or` binds loosest, then `and`, then prefix `not`
/// (so `not a < b` is `not (a < b)`), comparisons, `+ -`, `* /`, and unary `-`.
fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: std::sync::OnceLock<PrattParser<Rule>> = std::sync::OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::kw_or, Assoc::Left))
            .op(Op::infix(Rule::kw_and, Assoc::Left))
            .op(Op::prefix(Rule::kw_not))
            .op(Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left)
                | Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::ne, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
    })
}

type Built<T> = Result<T, ParseError>;

/// Turns pest pairs into AST nodes; `base` is the item's offset in the file.
struct Builder {
    /// Literal errors: reported, while the item still parses (with `ExprKind::Error`).
    errors: Vec<ParseError>,
}

fn span(pair: &Pair<'_, Rule>, base: usize) -> Span {
    let s = pair.as_span();
    Span::new(s.start() + base, s.end() + base)
}

fn next<'i>(pairs: &mut Pairs<'i, Rule>, parent: Span, what: &'static str) -> Built<Pair<'i, Rule>> {
    pairs.next().ok_or(ParseError::Internal { span: parent, what })
}

impl Builder {
    fn item(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Item> {
        let whole = span(&pair, base);
        match pair.as_rule() {
            Rule::let_decl => {
                let mut inner = pair.into_inner();
                let _kw = next(&mut inner, whole, "let keyword")?;
                let name = self.ident(next(&mut inner, whole, "let name")?, base);
                let _eq = next(&mut inner, whole, "let =")?;
                let value = self.expr(next(&mut inner, whole, "let value")?, base)?;
                // The pair's own span runs on over trailing whitespace and comments.
                let span = Span::new(whole.start as usize, value.span.end as usize);
                Ok(Item::Let(Let { name, value, span }))
            }
            Rule::block => Ok(Item::Block(self.block(pair, base)?)),
            _ => Err(ParseError::Internal { span: whole, what: "top-level item" }),
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Block> {
        let whole = span(&pair, base);
        let mut kind = None;
        let mut label = None;
        let mut quoted = false;
        let mut body = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::ident if kind.is_none() => kind = Some(self.ident(child, base)),
                Rule::ident => label = Some(self.ident(child, base)),
                Rule::string => {
                    let at = span(&child, base);
                    label = Some(Ident { name: string(child).into(), span: at });
                    quoted = true;
                }
                Rule::attribute => body.push(BodyItem::Attribute(self.attribute(child, base)?)),
                Rule::block => body.push(BodyItem::Block(self.block(child, base)?)),
                _ => {}
            }
        }
        let kind = kind.ok_or(ParseError::Internal { span: whole, what: "block kind" })?;
        let header = kind.span.to(label.as_ref().map_or(kind.span, |l| l.span));
        Ok(Block { kind, label, quoted, body, span: whole, header })
    }

    fn attribute(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Attribute> {
        let whole = span(&pair, base);
        let mut inner = pair.into_inner();
        let name = self.ident(next(&mut inner, whole, "attribute name")?, base);
        let _eq = next(&mut inner, whole, "attribute =")?;
        let value = self.expr(next(&mut inner, whole, "attribute value")?, base)?;
        let span = name.span.to(value.span);
        Ok(Attribute { name, value, span })
    }

    fn expr(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Expr> {
        let inner = pair.clone().into_inner();
        // From the first token to the last: the pair's own span includes trailing trivia.
        let whole = match (inner.clone().next(), inner.clone().last()) {
            (Some(first), Some(last)) => span(&first, base).to(span(&last, base)),
            _ => span(&pair, base),
        };
        // Operands and infix operators alternate; each `not` nests one level more too.
        let nots = inner.clone().filter(|p| p.as_rule() == Rule::kw_not).count();
        let infixes = inner.clone().filter(|p| !matches!(p.as_rule(), Rule::neg | Rule::kw_not)).count() / 2;
        if infixes + nots > MAX_OPERATORS {
            return Err(ParseError::TooLong { span: whole, limit: MAX_OPERATORS });
        }
        pratt()
            .map_primary(|p| self.primary(p, base))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = span(&op, base).to(rhs.span);
                let kind = match op.as_rule() {
                    Rule::kw_not => ExprKind::Not(Box::new(rhs)),
                    _ => ExprKind::Neg(Box::new(rhs)),
                };
                Ok(Expr { kind, span })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    Rule::mul => BinOp::Mul,
                    Rule::div => BinOp::Div,
                    Rule::lt => BinOp::Lt,
                    Rule::le => BinOp::Le,
                    Rule::gt => BinOp::Gt,
                    Rule::ge => BinOp::Ge,
                    Rule::eq => BinOp::Eq,
                    Rule::kw_and => BinOp::And,
                    Rule::kw_or => BinOp::Or,
                    _ => BinOp::Ne,
                };
                let span = lhs.span.to(rhs.span);
                Ok(Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span })
            })
            .parse(inner)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Expr> {
        let whole = span(&pair, base);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::number => match number(text) {
                Some(Number::Int(v)) => ExprKind::Int(v),
                Some(Number::Float(v)) => ExprKind::Float(v),
                None => self.out_of_range(whole, "number"),
            },
            Rule::money => match unit_value(text.trim_start_matches('$')) {
                Some(v) => ExprKind::Money(v),
                None => self.out_of_range(whole, "amount"),
            },
            Rule::percent => match unit_value(text.trim_end_matches('%')) {
                Some(v) => ExprKind::Percent(v),
                None => self.out_of_range(whole, "percentage"),
            },
            Rule::duration => {
                let unit_len = if text.ends_with("mo") { 2 } else { 1 };
                let (digits, unit) = text.split_at(text.len().saturating_sub(unit_len));
                match (unit_value(digits), duration_unit(unit)) {
                    (Some(v), Ok(unit)) if (v * unit.seconds()).is_finite() => {
                        ExprKind::Duration(v * unit.seconds(), unit)
                    }
                    (Some(v), Err(months)) if (v * months).is_finite() => ExprKind::Months(v * months),
                    _ => self.out_of_range(whole, "duration"),
                }
            }
            Rule::string => ExprKind::Str(string(pair)),
            Rule::range => {
                let mut bounds =
                    pair.into_inner().filter(|b| b.as_rule() == Rule::bound).map(|b| number(b.as_str()));
                match (bounds.next().flatten(), bounds.next().flatten(), bounds.next()) {
                    (Some(lo), Some(hi), None) => ExprKind::Range(lo, hi, None),
                    (Some(lo), Some(hi), Some(Some(step))) => ExprKind::Range(lo, hi, Some(step)),
                    _ => self.out_of_range(whole, "range bound"),
                }
            }
            Rule::list => {
                let items = pair
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::expr)
                    .map(|e| self.expr(e, base))
                    .collect::<Built<Vec<_>>>()?;
                ExprKind::List(items)
            }
            Rule::paren => {
                let mut inner = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let inner =
                    inner.next().ok_or(ParseError::Internal { span: whole, what: "parenthesised value" })?;
                ExprKind::Paren(Box::new(self.expr(inner, base)?))
            }
            Rule::name => {
                let mut parts = Vec::new();
                let mut args = None;
                let mut output = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::args => args = Some(p),
                        _ if args.is_some() => output = Some(self.ident(p, base)),
                        _ => parts.push(self.ident(p, base)),
                    }
                }
                match (args, parts.as_slice()) {
                    (Some(args), [name]) => {
                        let args_span = span(&args, base);
                        let args = args
                            .into_inner()
                            .filter(|p| p.as_rule() == Rule::argument)
                            .map(|a| self.argument(a, base))
                            .collect::<Built<Vec<_>>>()?;
                        let call = ExprKind::Call(Call { name: name.clone(), args });
                        match output {
                            None => call,
                            Some(output) => {
                                let call = Expr {
                                    kind: call,
                                    span: Span::new(whole.start as usize, args_span.end as usize),
                                };
                                ExprKind::Output(Box::new(call), output)
                            }
                        }
                    }
                    (Some(_), _) => {
                        self.errors.push(ParseError::DottedCall { span: whole });
                        ExprKind::Error
                    }
                    (None, [one]) if &*one.name == "true" => ExprKind::Bool(true),
                    (None, [one]) if &*one.name == "false" => ExprKind::Bool(false),
                    (None, _) => ExprKind::Path(parts),
                }
            }
            _ => return Err(ParseError::Internal { span: whole, what: "value" }),
        };
        Ok(Expr { kind, span: whole })
    }

    fn argument(&mut self, pair: Pair<'_, Rule>, base: usize) -> Built<Argument> {
        let whole = span(&pair, base);
        let mut inner = pair.into_inner();
        let arg = next(&mut inner, whole, "argument")?;
        if arg.as_rule() == Rule::named_arg {
            let mut parts = arg.into_inner();
            let name = self.ident(next(&mut parts, whole, "argument name")?, base);
            let _eq = next(&mut parts, whole, "argument =")?;
            let value = self.expr(next(&mut parts, whole, "argument value")?, base)?;
            Ok(Argument { name: Some(name), value })
        } else {
            Ok(Argument { name: None, value: self.expr(arg, base)? })
        }
    }

    /// A name; the grammar lets Unicode identifier characters through (see `ident` in
    /// gaf.pest), the language allows only ASCII.
    fn ident(&mut self, pair: Pair<'_, Rule>, base: usize) -> Ident {
        let ident = Ident { name: pair.as_str().into(), span: span(&pair, base) };
        if !ident.name.is_ascii() {
            self.errors.push(ParseError::NonAsciiName { span: ident.span });
        }
        ident
    }

    fn out_of_range(&mut self, span: Span, what: &'static str) -> ExprKind {
        self.errors.push(ParseError::NumberOutOfRange { span, what });
        ExprKind::Error
    }
}

/// An integer if written as one (and it fits), else a finite float.
fn number(text: &str) -> Option<Number> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if clean.contains(['.', 'e', 'E']) {
        clean.parse::<f64>().ok().filter(|v| v.is_finite()).map(Number::Float)
    } else {
        clean.parse::<i64>().ok().map(Number::Int)
    }
}

fn unit_value(text: &str) -> Option<f64> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn string(pair: Pair<'_, Rule>) -> String {
    let mut out = String::new();
    for part in pair.into_inner() {
        match (part.as_rule(), part.as_str()) {
            (Rule::escape, "\\n") => out.push('\n'),
            (Rule::escape, "\\\\") => out.push('\\'),
            (Rule::escape, _) => out.push('"'),
            (_, text) => out.push_str(text),
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// A duration's unit as written: a fixed one, or `Err(months)` for a calendar one (`mo`: 1,
/// `y`: 12).
pub(crate) fn duration_unit(unit: &str) -> Result<crate::ast::TimeUnit, f64> {
    use crate::ast::TimeUnit;
    Ok(match unit {
        "s" => TimeUnit::Seconds,
        "m" => TimeUnit::Minutes,
        "h" => TimeUnit::Hours,
        "d" => TimeUnit::Days,
        "w" => TimeUnit::Weeks,
        "mo" => return Err(1.0),
        _ => return Err(12.0),
    })
}
