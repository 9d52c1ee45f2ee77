//! `strategy NAME`: genes, a `where` over them, entry and exit rules per side, stops,
//! targets, trailing stops and size (STRATEGIES.md), typed into `ir::StrategyDef`.

mod genes;
mod genome;
mod lookback;
pub use lookback::earliest_decision;
pub(super) use lookback::least_bars_for_a_trade;
mod narrow;
mod rules;
mod satisfy;

use super::Checker;
use crate::ast::{Attribute, Block};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Distance, Gene, Node, Side, StrategyDef};
use crate::schema;
use rules::{Ty, Varies};

impl Checker<'_> {
    /// Checks a strategy block; what could not be checked is left out of the result.
    pub(super) fn strategy_block(&mut self, block: &Block, name: String) -> StrategyDef {
        let f = self.fields(block, &schema::STRATEGY);
        let genes = match f.blocks("genes").next() {
            Some(g) => {
                self.expect_label(g, false);
                self.genes(g)
            }
            None => {
                self.failed_genes.clear();
                Vec::new()
            }
        };
        let side = self.keyword::<Side>(f.attr("side")).map_or(Side::Long, |s| s.value);
        let constraint = f.attr("where").and_then(|a| self.constraint(&genes, a));
        if let (Some(constraint), Some(attr)) = (&constraint, f.attr("where")) {
            self.satisfiable(&genes, constraint, attr);
        }
        let rule = |this: &mut Self, attr: &str| f.attr(attr).and_then(|a| this.rule(&genes, a));
        let (long, short) = (side != Side::Short, side != Side::Long);
        for (attr, needs) in [("entry", long), ("exit", long), ("entry_short", short), ("exit_short", short)]
        {
            if let Some(a) = f.attr(attr).filter(|_| !needs) {
                self.wrong_side(a, side);
            }
        }
        if long {
            self.required(&f, "entry", "crosses_above(sma(close, fast), sma(close, slow))");
        }
        if short {
            self.required(&f, "entry_short", "crosses_below(sma(close, fast), sma(close, slow))");
        }
        let entry = if long { rule(self, "entry") } else { None };
        let exit = if long { rule(self, "exit") } else { None };
        let entry_short = if short { rule(self, "entry_short") } else { None };
        let exit_short = if short { rule(self, "exit_short") } else { None };
        let stop_loss = f.attr("stop_loss").and_then(|a| self.distance(&genes, a));
        let take_profit = f.attr("take_profit").and_then(|a| self.distance(&genes, a));
        let trailing_stop = f.attr("trailing_stop").and_then(|a| self.distance(&genes, a));
        let size = f.attr("size").and_then(|a| self.size(&genes, a)).unwrap_or(Node::Const(1.0));
        StrategyDef {
            name,
            span: block.span,
            genes,
            constraint,
            side,
            entry,
            exit,
            entry_short,
            exit_short,
            stop_loss,
            take_profit,
            trailing_stop,
            size,
            prelude: false,
        }
    }

    /// An entry or exit rule: a condition.
    fn rule(&mut self, genes: &[Gene], attr: &Attribute) -> Option<Node> {
        let what = format!("`{}`", attr.name.name);
        self.rule_condition(genes, &attr.value, &what).map(|t| t.node)
    }

    /// `where`: a condition over genes alone.
    fn constraint(&mut self, genes: &[Gene], attr: &Attribute) -> Option<Node> {
        let t = self.rule_condition(genes, &attr.value, "`where`")?;
        if t.ty == (Ty::Bool { varies: Varies::PerBar }) {
            let d = Diagnostic::new(
                Code::E0007,
                "`where` constrains genes, but this depends on the bars",
                attr.value.span,
                "uses a series",
            );
            self.report(d.with_help("write the bar-by-bar condition into `entry` instead; `where` is over genes alone (`fast < slow`)"));
            return None;
        }
        Some(t.node)
    }

    /// A rule for a side the strategy does not take (E0019).
    fn wrong_side(&mut self, attr: &Attribute, side: Side) {
        let name = &*attr.name.name;
        let (wanted, help) = if name.ends_with("_short") {
            (
                "`side = short` or `side = both`",
                format!("add `side = both` to trade both ways, or remove `{name}`"),
            )
        } else {
            (
                "`side = long` or `side = both`",
                format!("this strategy only goes short: use `{name}_short`, or `side = both`"),
            )
        };
        let d = Diagnostic::new(
            Code::E0019,
            format!(
                "`{name}` needs {wanted}, but the strategy has `side = {}`",
                crate::ir::Keyword::keyword(side)
            ),
            attr.name.span,
            "a rule for a side this strategy does not trade",
        );
        self.report(d.with_help(help));
    }

    /// A stop, target or trailing distance: a percent (of the signal bar's close) or a
    /// price distance.
    fn distance(&mut self, genes: &[Gene], attr: &Attribute) -> Option<Distance> {
        let name = format!("`{}`", attr.name.name);
        let t = self.typed(genes, &attr.value)?;
        match t.ty {
            Ty::Bool { .. } => self.rule_mismatch(
                attr.value.span,
                &format!("a percent or a price distance for {name}"),
                "a condition",
                "write `2%`, or a price distance such as `2 * atr(14)`",
            ),
            Ty::Number { percent: true, .. } => {
                if let Node::Const(p) = t.node {
                    let most = if &*attr.name.name == "take_profit" { f64::INFINITY } else { 1.0 };
                    if p <= 0.0 || p >= most {
                        let range = if most.is_finite() { "between 0% and 100%" } else { "above 0%" };
                        self.bounds(
                            attr.value.span,
                            format!("{name} must be {range}, found {}%", p * 100.0),
                            format!("not {range}"),
                        );
                        return None;
                    }
                }
                Some(Distance::Fraction(t.node))
            }
            Ty::Number { .. } => {
                if let Node::Const(d) = t.node {
                    if d <= 0.0 {
                        self.bounds(
                            attr.value.span,
                            format!("{name} must be a distance above 0, found {d}"),
                            "not above 0",
                        );
                        return None;
                    }
                }
                Some(Distance::Price(t.node))
            }
        }
    }

    /// `size`: a percent of equity in (0%, 100%], fixed per genome.
    fn size(&mut self, genes: &[Gene], attr: &Attribute) -> Option<Node> {
        let t = self.typed(genes, &attr.value)?;
        match t.ty {
            Ty::Number { percent: true, varies, .. } if varies < Varies::PerBar => {
                if let Node::Const(p) = t.node {
                    if p <= 0.0 || p > 1.0 {
                        self.bounds(
                            attr.value.span,
                            format!("`size` is a share of equity in (0%, 100%], found {}%", p * 100.0),
                            "outside (0%, 100%]",
                        );
                        return None;
                    }
                }
                Some(t.node)
            }
            ty => {
                let found = match ty {
                    Ty::Bool { .. } => "a condition",
                    Ty::Number { varies: Varies::PerBar, .. } => "a series",
                    Ty::Number { .. } => "a number",
                };
                self.rule_mismatch(
                    attr.value.span,
                    "a percent of equity for `size`",
                    found,
                    "write a percent such as `50%` (100%, the default, buys with all cash)",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
