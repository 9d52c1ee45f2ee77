//! A strategy's expressions, typed: which names are genes, series, lets or indicators, which
//! values are numbers or conditions, and how often each can change (once, per genome, per
//! bar). Periods must be ints fixed per genome; rules must be conditions. Every mistake is
//! a coded diagnostic on its exact span.

use super::super::value::Value;
use super::super::Checker;
use crate::ast::{Argument, BinOp, Call, Expr, ExprKind, Ident};
use crate::diag::{suggest, Code, Diagnostic};
use crate::indicators::{self, Param, FUNCTIONS, INDICATORS, SERIES};
use crate::ir::{Arith, Callee, Choice, Compare, Domain, Gene, Node, Price};

/// How often a value can change: the order matters (`max` of two is the pair's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Varies {
    /// A constant of the file.
    Never,
    /// A gene, or arithmetic over genes: fixed for one genome.
    PerGenome,
    /// A series: a value per bar.
    PerBar,
}

/// The type of a checked expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ty {
    /// A number or series. `int`: an int constant or gene (a period may be one); `percent`:
    /// a percent written as one (`2%`, a percent gene), which a stop reads as a fraction.
    Number { varies: Varies, int: bool, percent: bool },
    /// A condition.
    Bool { varies: Varies },
}

impl Ty {
    fn varies(self) -> Varies {
        match self {
            Ty::Number { varies, .. } | Ty::Bool { varies } => varies,
        }
    }
}

/// A checked expression.
#[derive(Clone, Debug)]
pub(super) struct Typed {
    pub node: Node,
    pub ty: Ty,
}

const fn number(varies: Varies, int: bool, percent: bool) -> Ty {
    Ty::Number { varies, int, percent }
}

/// What a name in a rule may be, for "did you mean".
fn every_name<'a>(
    genes: &'a [Gene],
    lets: impl Iterator<Item = &'a str> + 'a,
) -> impl Iterator<Item = &'a str> + 'a {
    genes.iter().map(|g| g.name.as_str()).chain(SERIES.iter().copied()).chain(lets)
}

impl Checker<'_> {
    /// Types `expr` in a strategy whose genes are `genes`; `None` after reporting why not.
    pub(super) fn typed(&mut self, genes: &[Gene], expr: &Expr) -> Option<Typed> {
        match &expr.kind {
            ExprKind::Int(v) => {
                Some(Typed { node: Node::Const(*v as f64), ty: number(Varies::Never, true, false) })
            }
            ExprKind::Float(v) => {
                Some(Typed { node: Node::Const(*v), ty: number(Varies::Never, false, false) })
            }
            ExprKind::Percent(v) => {
                Some(Typed { node: Node::Const(*v / 100.0), ty: number(Varies::Never, false, true) })
            }
            ExprKind::Bool(b) => Some(Typed { node: Node::Bool(*b), ty: Ty::Bool { varies: Varies::Never } }),
            ExprKind::Paren(inner) => self.typed(genes, inner),
            ExprKind::Error => None,
            ExprKind::Neg(inner) => {
                let t = self.typed(genes, inner)?;
                match t.ty {
                    Ty::Number { .. } => Some(Typed { node: Node::Neg(Box::new(t.node)), ty: t.ty }),
                    Ty::Bool { .. } => self.rule_mismatch(
                        inner.span,
                        "a number to negate",
                        "a condition",
                        "use `not` to negate a condition",
                    ),
                }
            }
            ExprKind::Not(inner) => {
                let t = self.rule_condition(genes, inner, "`not`")?;
                Some(Typed { node: Node::Not(Box::new(t.node)), ty: t.ty })
            }
            ExprKind::Binary(op, l, r) if op.is_logical() => {
                let what = if *op == BinOp::And { "`and`" } else { "`or`" };
                let (a, b) = (self.rule_condition(genes, l, what), self.rule_condition(genes, r, what));
                let (a, b) = (a?, b?);
                let varies = a.ty.varies().max(b.ty.varies());
                let node = match op {
                    BinOp::And => Node::And(Box::new(a.node), Box::new(b.node)),
                    _ => Node::Or(Box::new(a.node), Box::new(b.node)),
                };
                Some(Typed { node, ty: Ty::Bool { varies } })
            }
            ExprKind::Binary(op, l, r) => {
                let what = format!("`{}`", op.symbol());
                let (a, b) = (self.numeric(genes, l, &what), self.numeric(genes, r, &what));
                let (a, b) = (a?, b?);
                let (Ty::Number { varies: va, int: ia, .. }, Ty::Number { varies: vb, int: ib, .. }) =
                    (a.ty, b.ty)
                else {
                    return None;
                };
                let varies = va.max(vb);
                let (l, r) = (Box::new(a.node), Box::new(b.node));
                let compare =
                    |c| Some(Typed { node: Node::Compare(c, l.clone(), r.clone()), ty: Ty::Bool { varies } });
                let arith = |op, int| {
                    Some(Typed {
                        node: Node::Arith(op, l.clone(), r.clone()),
                        ty: number(varies, int, false),
                    })
                };
                match op {
                    BinOp::Add => arith(Arith::Add, ia && ib),
                    BinOp::Sub => arith(Arith::Sub, ia && ib),
                    BinOp::Mul => arith(Arith::Mul, ia && ib),
                    BinOp::Div => arith(Arith::Div, false),
                    BinOp::Lt => compare(Compare::Lt),
                    BinOp::Le => compare(Compare::Le),
                    BinOp::Gt => compare(Compare::Gt),
                    BinOp::Ge => compare(Compare::Ge),
                    BinOp::Eq => compare(Compare::Eq),
                    BinOp::Ne => compare(Compare::Ne),
                    BinOp::And | BinOp::Or => None,
                }
            }
            ExprKind::Path(parts) => match parts.as_slice() {
                [name] => self.name_in_rule(genes, name),
                _ => self.rule_mismatch(
                    expr.span,
                    "a number, series or condition",
                    "a dotted path",
                    "a strategy's rules name genes, series and indicators",
                ),
            },
            ExprKind::Call(call) => self.rule_call(genes, call, None, expr),
            ExprKind::Output(inner, output) => match &inner.kind {
                ExprKind::Call(call) => self.rule_call(genes, call, Some(output), expr),
                _ => None,
            },
            ExprKind::Money(_) => self.rule_mismatch(
                expr.span,
                "a number, series or condition",
                "an amount of money",
                "prices are numbers: write `100`, not `$100`",
            ),
            ExprKind::Duration(..) | ExprKind::Months(_) => self.rule_mismatch(
                expr.span,
                "a number, series or condition",
                "a duration",
                "periods are in bars: write `20`, not `20d`",
            ),
            ExprKind::Str(_) => self.rule_mismatch(
                expr.span,
                "a number, series or condition",
                "a string",
                "names of series and genes are written without quotes",
            ),
            ExprKind::Range(..) => self.rule_mismatch(
                expr.span,
                "a number, series or condition",
                "a range",
                "ranges are genes: declare it in `genes { ... }` and use its name",
            ),
            ExprKind::List(_) => self.rule_mismatch(
                expr.span,
                "a number, series or condition",
                "a list",
                "choices are genes: declare it in `genes { ... }` and use its name",
            ),
        }
    }

    /// `expr` typed as a condition, for `what` (an operator or a rule).
    pub(super) fn rule_condition(&mut self, genes: &[Gene], expr: &Expr, what: &str) -> Option<Typed> {
        let t = self.typed(genes, expr)?;
        match t.ty {
            Ty::Bool { .. } => Some(t),
            Ty::Number { .. } => self.rule_mismatch(
                expr.span,
                &format!("a condition for {what}"),
                "a number",
                "compare it with something: `rsi(close, 14) < 30`",
            ),
        }
    }

    /// `expr` typed as a number or series, for `what`.
    fn numeric(&mut self, genes: &[Gene], expr: &Expr, what: &str) -> Option<Typed> {
        let t = self.typed(genes, expr)?;
        match t.ty {
            Ty::Number { .. } => Some(t),
            Ty::Bool { .. } => self.rule_mismatch(
                expr.span,
                &format!("a number or series for {what}"),
                "a condition",
                "conditions combine with `and`, `or` and `not`",
            ),
        }
    }

    /// Reports E0007 (expected `want`, found `found`) and gives up.
    pub(super) fn rule_mismatch<T>(
        &mut self,
        span: crate::source::Span,
        want: &str,
        found: &str,
        help: &str,
    ) -> Option<T> {
        let d = Diagnostic::new(
            Code::E0007,
            format!("expected {want}, found {found}"),
            span,
            format!("this is {found}"),
        );
        self.report(d.with_help(help));
        None
    }

    /// A bare name in a rule: a gene, a price series or a let.
    fn name_in_rule(&mut self, genes: &[Gene], name: &Ident) -> Option<Typed> {
        let text = &*name.name;
        if let Some(i) = genes.iter().position(|g| g.name == text) {
            return self.gene_value(genes, i, name);
        }
        if let Some(price) = Price::from_word(text) {
            return Some(Typed { node: Node::Price(price), ty: number(Varies::PerBar, false, false) });
        }
        if let Some(i) = self.symbols.let_(text) {
            let span = name.span;
            return match self.let_value(i)? {
                Value::Int(v) => {
                    Some(Typed { node: Node::Const(v as f64), ty: number(Varies::Never, true, false) })
                }
                Value::Float(v) => {
                    Some(Typed { node: Node::Const(v), ty: number(Varies::Never, false, false) })
                }
                Value::Percent(v) => {
                    Some(Typed { node: Node::Const(v), ty: number(Varies::Never, false, true) })
                }
                Value::Bool(b) => Some(Typed { node: Node::Bool(b), ty: Ty::Bool { varies: Varies::Never } }),
                other => self.rule_mismatch(
                    span,
                    "a number or condition",
                    &format!("a let holding {}", other.type_name()),
                    "a strategy may use lets that hold numbers, percents or booleans",
                ),
            };
        }
        if self.failed_genes.iter().any(|g| g == text) {
            return None;
        }
        if let Some(ind) = indicators::indicator(text) {
            let d = Diagnostic::new(
                Code::E0007,
                format!("`{text}` is an indicator: call it"),
                name.span,
                "not called",
            );
            self.report(d.with_help(format!("write `{}`", ind.shape())));
            return None;
        }
        let lets: Vec<&str> = self.symbols.lets.iter().map(|l| &*l.name.name).collect();
        let help = suggest::did_you_mean(text, every_name(genes, lets.into_iter()))
            .unwrap_or_else(|| format!("a rule may name a gene, a let or a series ({})", SERIES.join(", ")));
        let d = Diagnostic::new(
            Code::E0005,
            format!("unresolved reference `{text}`"),
            name.span,
            "no gene, series or let of this name",
        );
        self.report(d.with_help(help));
        None
    }

    /// Gene `i` used as a value.
    fn gene_value(&mut self, genes: &[Gene], i: usize, name: &Ident) -> Option<Typed> {
        let gene = genes.get(i)?;
        let ty = match &gene.domain {
            Domain::Int { .. } => number(Varies::PerGenome, true, false),
            Domain::Float { .. } => number(Varies::PerGenome, false, false),
            Domain::Choice(choices) => match choices.first() {
                Some(Choice::Int(_)) => number(Varies::PerGenome, true, false),
                Some(Choice::Float(_)) => number(Varies::PerGenome, false, false),
                Some(Choice::Percent(_)) => number(Varies::PerGenome, false, true),
                Some(Choice::Indicator(first)) => {
                    let shape = indicators::indicator(first).map(|i| i.shape()).unwrap_or_default();
                    let call = shape.replacen(first, &gene.name, 1);
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("gene `{}` picks an indicator: call it", gene.name),
                        name.span,
                        "not called",
                    );
                    self.report(d.with_help(format!("write `{call}`")));
                    return None;
                }
                Some(Choice::Word(_)) | None => {
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("gene `{}` picks a word, which a rule cannot compute with", gene.name),
                        name.span,
                        "a word, not a number",
                    );
                    self.report(d.with_help("a rule's genes are numbers, percents or indicators"));
                    return None;
                }
            },
        };
        Some(Typed { node: Node::Gene(i), ty })
    }

    /// A call in a rule: a rule function, an indicator, or a gene that picks one; `output`
    /// is the `.name` after it.
    fn rule_call(
        &mut self,
        genes: &[Gene],
        call: &Call,
        output: Option<&Ident>,
        whole: &Expr,
    ) -> Option<Typed> {
        let name = &*call.name.name;
        if output.is_none() {
            match name {
                "crosses_above" | "crosses_below" => {
                    return self.crossing(genes, call, name == "crosses_above")
                }
                "lag" => return self.lag(genes, call),
                _ => {}
            }
        }
        let (callee, indicator) = if let Some(ind) = indicators::indicator(name) {
            (Callee::Fixed(ind.name), ind)
        } else if let Some(i) = genes.iter().position(|g| g.name == name) {
            match genes.get(i).map(|g| &g.domain) {
                Some(Domain::Choice(choices)) => match choices.first() {
                    Some(Choice::Indicator(first)) => (Callee::Gene(i), indicators::indicator(first)?),
                    _ => {
                        let d = Diagnostic::new(
                            Code::E0007,
                            format!("gene `{name}` is not an indicator"),
                            call.name.span,
                            "called here",
                        );
                        self.report(
                            d.with_help("only a choice of indicators (`[sma, ema, wma]`) is called like one"),
                        );
                        return None;
                    }
                },
                _ => {
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("gene `{name}` is a number, not an indicator"),
                        call.name.span,
                        "called here",
                    );
                    self.report(
                        d.with_help("only a choice of indicators (`[sma, ema, wma]`) is called like one"),
                    );
                    return None;
                }
            }
        } else if self.failed_genes.iter().any(|g| g == name) {
            return None;
        } else {
            let candidates = INDICATORS.iter().map(|i| i.name).chain(FUNCTIONS.iter().map(|f| f.0));
            let help = suggest::did_you_mean(name, candidates.clone()).unwrap_or_else(|| {
                format!(
                    "the indicators: {}",
                    INDICATORS.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")
                )
            });
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown indicator `{name}`"),
                call.name.span,
                "not an indicator or rule function",
            );
            self.report(d.with_help(help));
            return None;
        };
        let which_output = match (indicator.outputs, output) {
            ([], None) => 0,
            ([], Some(o)) => {
                let d = Diagnostic::new(
                    Code::E0013,
                    format!("`{}` has one output, not `.{}`", indicator.name, o.name),
                    o.span,
                    "no such output",
                );
                self.report(d.with_help(format!("drop `.{}`", o.name)));
                return None;
            }
            (outputs, None) => {
                let d = Diagnostic::new(
                    Code::E0007,
                    format!("`{}` has several outputs: pick one", indicator.name),
                    whole.span,
                    "which output?",
                );
                self.report(d.with_help(format!(
                    "add one of: {}",
                    outputs.iter().map(|o| format!("`.{o}`")).collect::<Vec<_>>().join(", ")
                )));
                return None;
            }
            (outputs, Some(o)) => match outputs.iter().position(|x| *x == &*o.name) {
                Some(k) => k,
                None => {
                    let help = suggest::did_you_mean(&o.name, outputs.iter().copied())
                        .unwrap_or_else(|| format!("`{}` has: {}", indicator.name, outputs.join(", ")));
                    let d = Diagnostic::new(
                        Code::E0013,
                        format!("unknown output `.{}` of `{}`", o.name, indicator.name),
                        o.span,
                        "no such output",
                    );
                    self.report(d.with_help(help));
                    return None;
                }
            },
        };
        let params = indicator.params;
        let slots = self.bind_args(call, params.iter().map(|p| p.0).collect(), &indicator.shape())?;
        let mut args = Vec::with_capacity(params.len());
        let mut ok = true;
        for ((param, kind), arg) in params.iter().zip(slots) {
            let Some(arg) = arg else { continue };
            match self.argument(genes, arg, param, *kind, name) {
                Some(node) => args.push(node),
                None => ok = false,
            }
        }
        ok.then_some(Typed {
            node: Node::Indicator { callee, args, output: which_output },
            ty: number(Varies::PerBar, false, false),
        })
    }

    /// Matches `call`'s arguments to `params` by position or name: one slot per parameter.
    /// Reports unknown names and extra arguments (E0003), repeats (E0004) and missing ones
    /// (E0008).
    fn bind_args<'c>(
        &mut self,
        call: &'c Call,
        params: Vec<&str>,
        shape: &str,
    ) -> Option<Vec<Option<&'c Expr>>> {
        let mut slots: Vec<Option<&Expr>> = vec![None; params.len()];
        let mut next = 0;
        let mut ok = true;
        for Argument { name, value } in &call.args {
            let index = match name {
                Some(n) => match params.iter().position(|p| *p == &*n.name) {
                    Some(i) => i,
                    None => {
                        let help = suggest::did_you_mean(&n.name, params.iter().copied())
                            .unwrap_or_else(|| format!("write `{shape}`"));
                        let d = Diagnostic::new(
                            Code::E0003,
                            format!("unknown parameter `{}` for `{}`", n.name, call.name.name),
                            n.span,
                            "no such parameter",
                        );
                        self.report(d.with_help(help));
                        ok = false;
                        continue;
                    }
                },
                None => {
                    next += 1;
                    next - 1
                }
            };
            match slots.get_mut(index) {
                None => {
                    let d = Diagnostic::new(
                        Code::E0003,
                        format!("`{}` takes {} argument(s)", call.name.name, params.len()),
                        value.span,
                        "one argument too many",
                    );
                    self.report(d.with_help(format!("write `{shape}`")));
                    ok = false;
                }
                Some(Some(first)) => {
                    let d = Diagnostic::new(
                        Code::E0004,
                        format!("`{}` is given twice", params.get(index).unwrap_or(&"")),
                        value.span,
                        "given again here",
                    )
                    .with_label(first.span, "first given here");
                    self.report(d);
                    ok = false;
                }
                Some(slot) => *slot = Some(value),
            }
        }
        let call_span = call.name.span;
        for (param, slot) in params.iter().zip(&slots) {
            if slot.is_none() && ok {
                let d = Diagnostic::new(
                    Code::E0008,
                    format!("missing argument `{param}` for `{}`", call.name.name),
                    call_span,
                    format!("`{param}` is required"),
                );
                self.report(d.with_help(format!("write `{shape}`")));
                ok = false;
            }
        }
        ok.then_some(slots)
    }

    /// One argument of an indicator: a series, a period or a number.
    fn argument(
        &mut self,
        genes: &[Gene],
        arg: &Expr,
        param: &str,
        kind: Param,
        callee: &str,
    ) -> Option<Node> {
        let t = self.numeric(genes, arg, &format!("`{param}` of `{callee}`"))?;
        let Ty::Number { varies, int, .. } = t.ty else { return None };
        match kind {
            Param::Series if varies < Varies::PerBar => self.rule_mismatch(
                arg.span,
                &format!("a series for `{param}` of `{callee}`"),
                "a number",
                "pass a series such as `close`, or an indicator of one",
            ),
            Param::Series => Some(t.node),
            Param::Number if varies == Varies::PerBar => self.rule_mismatch(
                arg.span,
                &format!("a number for `{param}` of `{callee}`"),
                "a series",
                "this parameter is fixed for a whole backtest: a number or a gene",
            ),
            Param::Number => Some(t.node),
            Param::Period => self.period(genes, arg, t.node, varies, int, param, callee),
        }
    }

    /// A period: an int constant of at least 1, or an int gene whose values all are.
    #[allow(clippy::too_many_arguments)]
    fn period(
        &mut self,
        genes: &[Gene],
        arg: &Expr,
        node: Node,
        varies: Varies,
        int: bool,
        param: &str,
        callee: &str,
    ) -> Option<Node> {
        let want = format!("a period (an int) for `{param}` of `{callee}`");
        if varies == Varies::PerBar {
            return self.rule_mismatch(
                arg.span,
                &want,
                "a series",
                "a period is fixed for a whole backtest: an int or an int gene",
            );
        }
        if !int {
            if let Node::Gene(i) = node {
                let gene = genes.get(i).map(|g| g.name.as_str()).unwrap_or("");
                return self.rule_mismatch(
                    arg.span,
                    &want,
                    &format!("float gene `{gene}`"),
                    "declare the gene as an int range (`5..50`) to use it as a period",
                );
            }
            return self.rule_mismatch(arg.span, &want, "a float", "periods are whole numbers of bars");
        }
        let lowest = match &node {
            Node::Const(v) => Some(*v),
            Node::Gene(i) => match genes.get(*i).map(|g| &g.domain) {
                Some(Domain::Int { lo, .. }) => Some(*lo as f64),
                Some(Domain::Choice(c)) => c
                    .iter()
                    .filter_map(|c| if let Choice::Int(v) = c { Some(*v as f64) } else { None })
                    .reduce(f64::min),
                _ => None,
            },
            _ => None,
        };
        if let Some(lowest) = lowest.filter(|&v| v < 1.0) {
            self.bounds(
                arg.span,
                format!("a period must be at least 1 bar, but `{param}` of `{callee}` can be {lowest}"),
                "below 1",
            );
            return None;
        }
        Some(node)
    }

    /// `crosses_above(a, b)` / `crosses_below(a, b)`: two numbers, at least one a series.
    fn crossing(&mut self, genes: &[Gene], call: &Call, above: bool) -> Option<Typed> {
        let shape = if above { "crosses_above(a, b)" } else { "crosses_below(a, b)" };
        let slots = self.bind_args(call, vec!["a", "b"], shape)?;
        let (Some(Some(a)), Some(Some(b))) = (slots.first(), slots.get(1)) else { return None };
        let what = format!("`{}`", call.name.name);
        let (ta, tb) = (self.numeric(genes, a, &what), self.numeric(genes, b, &what));
        let (ta, tb) = (ta?, tb?);
        if ta.ty.varies() < Varies::PerBar && tb.ty.varies() < Varies::PerBar {
            return self.rule_mismatch(
                call.name.span,
                &format!("a series on one side of {what}"),
                "two numbers",
                "a crossing compares a series with a series or a level: `crosses_above(rsi(close, 14), 30)`",
            );
        }
        let (a, b) = if above { (ta.node, tb.node) } else { (tb.node, ta.node) };
        Some(Typed {
            node: Node::CrossesAbove(Box::new(a), Box::new(b)),
            ty: Ty::Bool { varies: Varies::PerBar },
        })
    }

    /// `lag(x, n)`.
    fn lag(&mut self, genes: &[Gene], call: &Call) -> Option<Typed> {
        let slots = self.bind_args(call, vec!["x", "n"], "lag(x, n)")?;
        let (Some(Some(x)), Some(Some(n))) = (slots.first(), slots.get(1)) else { return None };
        let x = self.argument(genes, x, "x", Param::Series, "lag");
        let n = self.argument(genes, n, "n", Param::Period, "lag");
        let (x, n) = (x?, n?);
        Some(Typed { node: Node::Lag(Box::new(x), Box::new(n)), ty: number(Varies::PerBar, false, false) })
    }
}
