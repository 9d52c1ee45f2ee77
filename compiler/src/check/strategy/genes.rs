//! `genes { ... }`: each attribute declares a gene, as an int range, a float range (with an
//! optional `step`) or a choice of values of one kind.

use super::super::Checker;
use crate::ast::{Block, BodyItem, Expr, ExprKind, Number};
use crate::diag::{Code, Diagnostic};
use crate::indicators::{self, FUNCTIONS, SERIES};
use crate::ir::{Choice, Domain, Gene};

const GENE_FORMS: &str =
    "a gene is an int range (`5..50`), a float range (`0.5..2.0`, optionally `step 0.1`) or a choice (`[sma, ema]`)";

impl Checker<'_> {
    /// The genes a `genes` block declares, in order; bad ones are reported and left out.
    pub(super) fn genes(&mut self, block: &Block) -> Vec<Gene> {
        let mut genes: Vec<Gene> = Vec::new();
        self.failed_genes.clear();
        for item in &block.body {
            let BodyItem::Attribute(attr) = item else {
                let d = Diagnostic::new(
                    Code::E0003,
                    format!("unknown block `{}` in `genes`", item.name().name),
                    item.name().span,
                    "genes are attributes",
                );
                self.report(d.with_help(format!("write `{} = 5..50`", item.name().name)));
                continue;
            };
            let name = &*attr.name.name;
            if let Some(first) = genes.iter().find(|g| g.name == name) {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("gene `{name}` is declared twice"),
                    attr.name.span,
                    "declared again here",
                )
                .with_label(first.span, "first declared here");
                self.report(d.with_help(format!("remove one of the `{name}`s")));
                continue;
            }
            let taken = if SERIES.contains(&name) {
                Some("a price series")
            } else if indicators::indicator(name).is_some() || FUNCTIONS.iter().any(|f| f.0 == name) {
                Some("an indicator")
            } else {
                None
            };
            if let Some(taken) = taken {
                let d = Diagnostic::new(
                    Code::E0004,
                    format!("gene `{name}` has the name of {taken}"),
                    attr.name.span,
                    "name already taken",
                );
                self.report(d.with_help(format!("rename the gene (`{name}_n`)")));
                continue;
            }
            match self.domain(&attr.value) {
                Some(domain) => genes.push(Gene { name: name.to_string(), span: attr.name.span, domain }),
                None => self.failed_genes.push(name.to_string()),
            }
        }
        genes
    }

    fn domain(&mut self, expr: &Expr) -> Option<Domain> {
        match &expr.kind {
            ExprKind::Paren(inner) => self.domain(inner),
            ExprKind::Range(lo, hi, step) => self.range(expr, *lo, *hi, *step),
            // `-100..-50` reads as `-(100..-50)`: the minus belongs to the lower bound.
            ExprKind::Neg(inner) => match &inner.kind {
                ExprKind::Range(lo, hi, step) => self.range(expr, negate(*lo), *hi, *step),
                ExprKind::Int(v) => Some(Domain::Int { lo: -v, hi: -v, step: 1 }),
                ExprKind::Float(v) => Some(Domain::Float { lo: -v, hi: -v, step: None }),
                _ => self.not_a_gene(expr),
            },
            ExprKind::Int(v) => Some(Domain::Int { lo: *v, hi: *v, step: 1 }),
            ExprKind::Float(v) => Some(Domain::Float { lo: *v, hi: *v, step: None }),
            ExprKind::Percent(v) => Some(Domain::Choice(vec![Choice::Percent(v / 100.0)])),
            ExprKind::List(items) => self.choices(expr, items),
            ExprKind::Error => None,
            _ => self.not_a_gene(expr),
        }
    }

    fn not_a_gene<T>(&mut self, expr: &Expr) -> Option<T> {
        let d = Diagnostic::new(
            Code::E0007,
            "expected a range or a choice for a gene",
            expr.span,
            "not a range or a list",
        );
        self.report(d.with_help(GENE_FORMS));
        None
    }

    fn range(&mut self, expr: &Expr, lo: Number, hi: Number, step: Option<Number>) -> Option<Domain> {
        if as_f64(lo) > as_f64(hi) {
            let d = Diagnostic::new(
                Code::E0009,
                format!(
                    "the range `{}..{}` is empty: its lower bound is above its upper one",
                    show(lo),
                    show(hi)
                ),
                expr.span,
                "no value lies in it",
            );
            self.report(d.with_help(format!("write `{}..{}`", show(hi), show(lo))));
            return None;
        }
        if let Some(step) = step.filter(|s| as_f64(*s) <= 0.0) {
            self.bounds(
                expr.span,
                format!("a gene's step must be above 0, found {}", show(step)),
                "step not above 0",
            );
            return None;
        }
        Some(match (lo, hi, step) {
            (Number::Int(lo), Number::Int(hi), None) => Domain::Int { lo, hi, step: 1 },
            (Number::Int(lo), Number::Int(hi), Some(Number::Int(step))) => Domain::Int { lo, hi, step },
            _ => Domain::Float { lo: as_f64(lo), hi: as_f64(hi), step: step.map(as_f64) },
        })
    }

    /// `[a, b, ...]`: indicators, numbers, percents or words, all of one kind.
    fn choices(&mut self, expr: &Expr, items: &[Expr]) -> Option<Domain> {
        if items.is_empty() {
            self.bounds(expr.span, "a choice gene needs at least one value", "empty choice");
            return None;
        }
        let mut out: Vec<Choice> = Vec::with_capacity(items.len());
        let mut first_kind: Option<(&'static str, crate::source::Span)> = None;
        for item in items {
            let choice = match &item.kind {
                ExprKind::Int(v) => Choice::Int(*v),
                ExprKind::Float(v) => Choice::Float(*v),
                ExprKind::Percent(v) => Choice::Percent(v / 100.0),
                ExprKind::Neg(inner) => match inner.kind {
                    ExprKind::Int(v) => Choice::Int(-v),
                    ExprKind::Float(v) => Choice::Float(-v),
                    ExprKind::Percent(v) => Choice::Percent(-v / 100.0),
                    _ => return self.not_a_choice(item),
                },
                ExprKind::Path(parts) if parts.len() == 1 => {
                    let word = parts.first().map_or("", |p| &*p.name);
                    match indicators::indicator(word) {
                        Some(ind) => Choice::Indicator(ind.name),
                        None => Choice::Word(word.to_string()),
                    }
                }
                ExprKind::Error => return None,
                _ => return self.not_a_choice(item),
            };
            let kind = choice_kind(&choice);
            match first_kind {
                None => first_kind = Some((kind, item.span)),
                // Ints and floats mix into floats.
                Some((first, _)) if first == kind || (is_number(first) && is_number(kind)) => {}
                Some((first, span)) => {
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("a choice mixes {first}s and {kind}s"),
                        item.span,
                        format!("{kind}, not {first}"),
                    )
                    .with_label(span, format!("the first value is {first}"));
                    self.report(d.with_help("every value of a choice gene is of one kind"));
                    return None;
                }
            }
            if out.contains(&choice) {
                let d = Diagnostic::new(
                    Code::E0004,
                    "a value is listed twice in a choice",
                    item.span,
                    "listed again here",
                );
                self.report(d.with_help("remove the repeat"));
                return None;
            }
            out.push(choice);
        }
        // Indicators chosen between must be called the same way.
        let indicators: Vec<&indicators::Indicator> = out
            .iter()
            .filter_map(|c| if let Choice::Indicator(n) = c { indicators::indicator(n) } else { None })
            .collect();
        if let Some(first) = indicators.first() {
            for (other, item) in indicators.iter().zip(items).skip(1) {
                if other.params != first.params || other.outputs != first.outputs {
                    let d = Diagnostic::new(
                        Code::E0007,
                        format!("`{}` and `{}` take different parameters", first.name, other.name),
                        item.span,
                        format!("`{}`", other.shape()),
                    )
                    .with_label(expr.span, format!("the choice starts with `{}`", first.shape()));
                    self.report(
                        d.with_help("a gene picks among indicators called alike (`[sma, ema, wma]`)"),
                    );
                    return None;
                }
            }
        }
        if out.iter().any(|c| matches!(c, Choice::Float(_))) {
            out = out
                .into_iter()
                .map(|c| if let Choice::Int(v) = c { Choice::Float(v as f64) } else { c })
                .collect();
        }
        Some(Domain::Choice(out))
    }

    fn not_a_choice<T>(&mut self, item: &Expr) -> Option<T> {
        let d = Diagnostic::new(
            Code::E0007,
            "expected an indicator, number, percent or word in a choice",
            item.span,
            "not a choice value",
        );
        self.report(d.with_help(GENE_FORMS));
        None
    }
}

fn choice_kind(choice: &Choice) -> &'static str {
    match choice {
        Choice::Indicator(_) => "indicator",
        Choice::Int(_) => "int",
        Choice::Float(_) => "float",
        Choice::Percent(_) => "percent",
        Choice::Word(_) => "word",
    }
}

fn is_number(kind: &str) -> bool {
    matches!(kind, "int" | "float")
}

fn negate(n: Number) -> Number {
    match n {
        Number::Int(v) => Number::Int(-v),
        Number::Float(v) => Number::Float(-v),
    }
}

fn as_f64(n: Number) -> f64 {
    match n {
        Number::Int(v) => v as f64,
        Number::Float(v) => v,
    }
}

fn show(n: Number) -> String {
    match n {
        Number::Int(v) => v.to_string(),
        Number::Float(v) => format!("{v:?}"),
    }
}
