//! Type checking: resolved AST → typed IR. Every attribute is checked against its block's
//! table and its wanted type; all errors are collected. Blocks are checked in dependency
//! order (clouds … monitors) so a block can look at the IR of the blocks it names.

mod blocks;
mod calls;
mod capacity;
mod compute;
mod fields;
mod fitness;
mod job;
mod notify;
mod serving;
mod strategy;
pub use fitness::MAX_CONSTRAINTS;
pub use strategy::earliest_decision;
mod validation;
mod value;
mod warm_up;

use crate::ast::{Attribute, Block};
use crate::diag::{Code, Diagnostic, Problems};
use crate::ir::{self, Keyword, Spanned};
use crate::resolve::{Kind, PerKind, Symbols};
use crate::source::Span;
use crate::{CheckOptions, Host};
use value::{LetState, Value, Want};

/// Checks every block and returns the program (complete only when no error was reported).
pub fn check(
    symbols: &Symbols<'_>,
    host: &dyn Host,
    options: &CheckOptions,
    problems: &mut Problems,
) -> ir::Program {
    let mut checker = Checker {
        symbols,
        host,
        options,
        problems,
        let_states: vec![LetState::Pending; symbols.lets.len()],
        let_used: vec![false; symbols.lets.len()],
        used: PerKind::from_fn(|k| vec![false; symbols.blocks.get(k).len()]),
        clean: PerKind::from_fn(|k| vec![true; symbols.blocks.get(k).len()]),
        program: ir::Program::default(),
        failed_genes: Vec::new(),
    };
    for kind in Kind::ALL {
        for (i, block) in symbols.blocks.get(kind).iter().enumerate() {
            let before = checker.error_count();
            checker.block(kind, block);
            if checker.error_count() > before {
                if let Some(clean) = checker.clean.get_mut(kind).get_mut(i) {
                    *clean = false;
                }
            }
        }
    }
    // Lets nothing reads are still checked.
    for i in 0..symbols.lets.len() {
        if !checker.let_used.get(i).copied().unwrap_or(true) {
            let _ = checker.let_value(i);
            if let Some(u) = checker.let_used.get_mut(i) {
                *u = false;
            }
        }
    }
    checker.capacity();
    checker.serving();
    checker.unused();
    checker.program
}

/// Runs `f` with a checker that knows no blocks and no lets: for values written on the
/// command line (the `args` module).
pub(crate) fn standalone<T>(
    problems: &mut Problems,
    f: impl FnOnce(&mut Checker<'_>) -> Option<T>,
) -> Option<T> {
    let symbols = Symbols::default();
    let mut checker = Checker {
        symbols: &symbols,
        host: &crate::NoHost,
        options: &CheckOptions { data_errors: false },
        problems,
        let_states: Vec::new(),
        let_used: Vec::new(),
        used: PerKind::default(),
        clean: PerKind::default(),
        program: ir::Program::default(),
        failed_genes: Vec::new(),
    };
    f(&mut checker)
}

/// The checker's state while walking one file.
pub(crate) struct Checker<'s> {
    symbols: &'s Symbols<'s>,
    host: &'s dyn Host,
    options: &'s CheckOptions,
    problems: &'s mut Problems,
    let_states: Vec<LetState>,
    let_used: Vec<bool>,
    /// Per kind, per block: referenced by something (W0003).
    used: PerKind<Vec<bool>>,
    /// Per kind, per block: checked without errors (cross-block checks use only these).
    clean: PerKind<Vec<bool>>,
    program: ir::Program,
    /// The genes of the strategy being checked whose declarations were errors: rules that
    /// name them are not reported again.
    failed_genes: Vec<String>,
}

impl Checker<'_> {
    fn report(&mut self, d: Diagnostic) {
        self.problems.push(d);
    }

    fn error_count(&self) -> usize {
        self.problems.error_count()
    }

    fn mark_used(&mut self, kind: Kind, i: usize) {
        if let Some(u) = self.used.get_mut(kind).get_mut(i) {
            *u = true;
        }
    }

    fn is_clean(&self, kind: Kind, i: usize) -> bool {
        self.clean.get(kind).get(i).copied().unwrap_or(false)
    }

    fn block(&mut self, kind: Kind, block: &Block) {
        let name = block.label.as_ref().map(|l| l.name.to_string()).unwrap_or_default();
        match kind {
            Kind::Cloud => {
                let cloud = self.cloud(block, name);
                self.program.clouds.push(cloud);
            }
            Kind::Quota => {
                let quota = self.quota(block, name);
                self.program.quotas.push(quota);
            }
            Kind::Budget => {
                let budget = self.budget(block, name);
                self.program.budgets.push(budget);
            }
            Kind::SpotPolicy => {
                let policy = self.spot_policy(block, name);
                self.program.spot_policies.push(policy);
            }
            Kind::Strategy => {
                let strategy = self.strategy_block(block, name);
                self.program.strategies.push(strategy);
            }
            Kind::Compute => {
                let compute = self.compute(block, name);
                self.program.computes.push(compute);
            }
            Kind::Job => {
                let job = self.job(block, name);
                self.program.jobs.push(job);
            }
            Kind::Service => {
                let service = self.service(block, name);
                self.program.services.push(service);
            }
            Kind::Monitor => {
                let monitor = self.monitor(block, name);
                self.program.monitors.push(monitor);
            }
        }
    }

    // Typed getters: `None` when the attribute is absent or already reported as invalid.

    fn get(&mut self, attr: Option<&Attribute>, want: Want) -> Option<(Value, Span)> {
        let attr = attr?;
        self.value(&attr.value, &want).map(|v| (v, attr.value.span))
    }

    fn int(&mut self, attr: Option<&Attribute>, min: i64) -> Option<Spanned<u64>> {
        let name = attr.map(|a| a.name.name.to_string()).unwrap_or_default();
        match self.get(attr, Want::Int)? {
            (Value::Int(v), span) if v >= min => u64::try_from(v).ok().map(|value| Spanned { value, span }),
            (Value::Int(v), span) => {
                self.bounds(
                    span,
                    format!("`{name}` must be at least {min}, found {v}"),
                    format!("below {min}"),
                );
                None
            }
            _ => None,
        }
    }

    /// A float in [0, 1] (rates).
    fn rate(&mut self, value: Option<(f64, Span)>, name: &str) -> Option<f64> {
        let (v, span) = value?;
        if (0.0..=1.0).contains(&v) {
            Some(v)
        } else {
            self.bounds(span, format!("`{name}` is a rate in [0, 1], found {v}"), "outside [0, 1]");
            None
        }
    }

    fn money(&mut self, attr: Option<&Attribute>) -> Option<(f64, Span)> {
        match self.get(attr, Want::Money)? {
            (Value::Money(v), span) => Some((v, span)),
            _ => None,
        }
    }

    /// A standalone money expression.
    pub(crate) fn money_value(&mut self, expr: &crate::ast::Expr) -> Option<f64> {
        match self.value(expr, &Want::Money)? {
            Value::Money(v) => Some(v),
            _ => None,
        }
    }

    /// A standalone percentage expression, as a fraction.
    pub(crate) fn percent_value(&mut self, expr: &crate::ast::Expr) -> Option<f64> {
        match self.value(expr, &Want::Percent)? {
            Value::Percent(v) => Some(v),
            _ => None,
        }
    }

    fn percent(&mut self, attr: Option<&Attribute>) -> Option<(f64, Span)> {
        match self.get(attr, Want::Percent)? {
            (Value::Percent(v), span) => Some((v, span)),
            _ => None,
        }
    }

    /// A TCP port, 1..65535 (E0009 outside).
    fn port(&mut self, attr: Option<&Attribute>) -> Option<u16> {
        let p = self.int(attr, 1)?;
        u16::try_from(p.value).ok().or_else(|| {
            self.bounds(p.span, format!("a port must be in 1..65535, found {}", p.value), "not a port");
            None
        })
    }

    /// A list of IPv4 or IPv6 CIDR blocks (`"10.0.0.0/16"`), each checked (E0009).
    fn cidrs(&mut self, attr: Option<&Attribute>) -> Vec<String> {
        let Some((Value::List(items), _)) = self.get(attr, Want::List(Box::new(Want::Str))) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (item, span) in items {
            let Value::Str(text) = item else { continue };
            if is_cidr(&text) {
                out.push(text);
            } else {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("`{text}` is not a CIDR block"),
                    span,
                    "not ADDRESS/PREFIX",
                )
                .with_help(
                    "write an address and a prefix length, such as \"10.0.0.0/16\" or \"203.0.113.7/32\"",
                );
                self.report(d);
            }
        }
        out
    }

    /// A duration in seconds, zero allowed (an alert's `for`).
    fn duration_or_zero(&mut self, attr: Option<&Attribute>) -> Option<f64> {
        match self.get(attr, Want::Duration)? {
            (Value::Duration(v), _) if v >= 0.0 => Some(v),
            (Value::Duration(_), span) => {
                self.bounds(span, "a duration cannot be negative", "negative");
                None
            }
            _ => None,
        }
    }

    /// A positive duration in seconds.
    fn duration(&mut self, attr: Option<&Attribute>) -> Option<f64> {
        match self.get(attr, Want::Duration)? {
            (Value::Duration(v), _) if v > 0.0 => Some(v),
            (Value::Duration(_), span) => {
                self.bounds(span, "a duration must be positive", "not positive");
                None
            }
            _ => None,
        }
    }

    fn string(&mut self, attr: Option<&Attribute>) -> Option<Spanned<String>> {
        match self.get(attr, Want::Str)? {
            (Value::Str(value), span) => Some(Spanned { value, span }),
            _ => None,
        }
    }

    fn boolean(&mut self, attr: Option<&Attribute>) -> Option<bool> {
        match self.get(attr, Want::Bool)? {
            (Value::Bool(b), _) => Some(b),
            _ => None,
        }
    }

    fn keyword<K: Keyword>(&mut self, attr: Option<&Attribute>) -> Option<Spanned<K>> {
        match self.get(attr, keyword_want::<K>())? {
            (Value::Keyword(word), span) => K::from_keyword(word).map(|value| Spanned { value, span }),
            _ => None,
        }
    }

    fn reference(&mut self, attr: Option<&Attribute>, kind: Kind) -> Option<Spanned<usize>> {
        match self.get(attr, Want::Ref(kind))? {
            (Value::Ref(_, value), span) => Some(Spanned { value, span }),
            _ => None,
        }
    }

    /// Reports a value out of bounds (E0009).
    fn bounds(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.report(Diagnostic::new(Code::E0009, message, span, label));
    }

    /// W0003 for quotas, budgets, spot policies, computes and lets nothing references.
    fn unused(&mut self) {
        for kind in [Kind::Quota, Kind::Budget, Kind::SpotPolicy, Kind::Compute] {
            for (i, block) in self.symbols.blocks.get(kind).iter().enumerate() {
                let (used, Some(label)) = (self.used.get(kind).get(i).copied().unwrap_or(true), &block.label)
                else {
                    continue;
                };
                if !used {
                    let referrer = match kind {
                        Kind::Compute => "a job or service",
                        Kind::SpotPolicy => "a worker group (`spot = ...`)",
                        _ => "a compute",
                    };
                    self.report(
                        Diagnostic::new(
                            Code::W0003,
                            format!("{} `{}` is never used", kind.keyword(), label.name),
                            label.span,
                            "nothing references this",
                        )
                        .with_help(format!("reference it from {referrer}, or remove it")),
                    );
                }
            }
        }
        for (i, l) in self.symbols.lets.iter().enumerate() {
            // A let in a cycle is already an error (E0012).
            // A let in a cycle, or whose value is an error, is reported already.
            let cyclic = self.symbols.cyclic.get(i).copied().unwrap_or(true);
            let failed = matches!(self.let_states.get(i), Some(LetState::Done(None)));
            if !cyclic && !failed && !self.let_used.get(i).copied().unwrap_or(true) {
                self.report(
                    Diagnostic::new(
                        Code::W0003,
                        format!("let `{}` is never used", l.name.name),
                        l.name.span,
                        "nothing references this",
                    )
                    .with_help("use it, or remove it"),
                );
            }
        }
    }
}

fn keyword_want<K: Keyword>() -> Want {
    Want::Keyword { what: K::WHAT, members: K::MEMBERS }
}

/// `ADDRESS/PREFIX` with an IPv4 or IPv6 address and a prefix length that fits it.
fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else { return false };
    let Ok(prefix) = prefix.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}
