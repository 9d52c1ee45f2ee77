//! Name resolution: which top-level blocks and lets exist. Reports unknown block kinds
//! (E0002), duplicate names (E0004), missing block names (E0001) and cycles among lets
//! (E0012). Lets are order-free: a let may use one defined below it.

use crate::ast::{Block, Expr, ExprKind, File, Item, Let};
use crate::diag::{suggest, Code, Diagnostic, Problems};
use petgraph::graphmap::DiGraphMap;
use std::collections::HashMap;

/// The top-level block kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Cloud,
    Quota,
    Budget,
    SpotPolicy,
    Strategy,
    Compute,
    Job,
    Service,
    Monitor,
}

impl Kind {
    /// In dependency order: a block only references kinds before its own.
    pub const ALL: [Kind; 9] = [
        Kind::Cloud,
        Kind::Quota,
        Kind::Budget,
        Kind::SpotPolicy,
        Kind::Strategy,
        Kind::Compute,
        Kind::Job,
        Kind::Service,
        Kind::Monitor,
    ];

    /// The keyword that opens the block.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Cloud => "cloud",
            Kind::Quota => "quota",
            Kind::Budget => "budget",
            Kind::SpotPolicy => "spot_policy",
            Kind::Strategy => "strategy",
            Kind::Compute => "compute",
            Kind::Job => "job",
            Kind::Service => "service",
            Kind::Monitor => "monitor",
        }
    }

    /// The kind a keyword opens.
    pub fn from_keyword(word: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.keyword() == word)
    }
}

/// One `T` per block kind.
#[derive(Clone, Debug, Default)]
pub struct PerKind<T> {
    cloud: T,
    quota: T,
    budget: T,
    spot_policy: T,
    strategy: T,
    compute: T,
    job: T,
    service: T,
    monitor: T,
}

impl<T> PerKind<T> {
    /// Built by calling `f` for each kind.
    pub fn from_fn(mut f: impl FnMut(Kind) -> T) -> PerKind<T> {
        PerKind {
            cloud: f(Kind::Cloud),
            quota: f(Kind::Quota),
            budget: f(Kind::Budget),
            spot_policy: f(Kind::SpotPolicy),
            strategy: f(Kind::Strategy),
            compute: f(Kind::Compute),
            job: f(Kind::Job),
            service: f(Kind::Service),
            monitor: f(Kind::Monitor),
        }
    }

    /// The value for `kind`.
    pub fn get(&self, kind: Kind) -> &T {
        match kind {
            Kind::Cloud => &self.cloud,
            Kind::Quota => &self.quota,
            Kind::Budget => &self.budget,
            Kind::SpotPolicy => &self.spot_policy,
            Kind::Strategy => &self.strategy,
            Kind::Compute => &self.compute,
            Kind::Job => &self.job,
            Kind::Service => &self.service,
            Kind::Monitor => &self.monitor,
        }
    }

    /// The value for `kind`, mutably.
    pub fn get_mut(&mut self, kind: Kind) -> &mut T {
        match kind {
            Kind::Cloud => &mut self.cloud,
            Kind::Quota => &mut self.quota,
            Kind::Budget => &mut self.budget,
            Kind::SpotPolicy => &mut self.spot_policy,
            Kind::Strategy => &mut self.strategy,
            Kind::Compute => &mut self.compute,
            Kind::Job => &mut self.job,
            Kind::Service => &mut self.service,
            Kind::Monitor => &mut self.monitor,
        }
    }
}

/// What exists in a file, by name.
#[derive(Default)]
pub struct Symbols<'a> {
    /// Per kind, the blocks in source order; duplicates dropped.
    pub blocks: PerKind<Vec<&'a Block>>,
    index: HashMap<(Kind, &'a str), usize>,
    kinds_by_name: HashMap<&'a str, Vec<Kind>>,
    /// Lets in source order; duplicates dropped.
    pub lets: Vec<&'a Let>,
    let_index: HashMap<&'a str, usize>,
    /// Lets that are part of a cycle: their value is unknown and already reported.
    pub cyclic: Vec<bool>,
}

impl<'a> Symbols<'a> {
    /// The index (within its kind) of the block `name`.
    pub fn block(&self, kind: Kind, name: &str) -> Option<usize> {
        self.index.get(&(kind, name)).copied()
    }

    /// The kinds that have a block called `name`.
    pub fn kinds_named(&self, name: &str) -> &[Kind] {
        self.kinds_by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The names of every block of `kind`.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &'a str> + '_ {
        self.blocks.get(kind).iter().filter_map(|b| b.label.as_ref().map(|l| &*l.name))
    }

    /// The index of the let `name`.
    pub fn let_(&self, name: &str) -> Option<usize> {
        self.let_index.get(name).copied()
    }

    /// The names of every let.
    pub fn let_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.lets.iter().map(|l| &*l.name.name)
    }
}

/// Collects the file's names and reports what is wrong with them.
pub fn resolve<'a>(file: &'a File, problems: &mut Problems) -> Symbols<'a> {
    let mut symbols = Symbols::default();
    for item in &file.items {
        match item {
            Item::Let(l) => add_let(&mut symbols, l, problems),
            Item::Block(b) => add_block(&mut symbols, b, problems),
        }
    }
    symbols.cyclic = find_cycles(&symbols, problems);
    symbols
}

fn add_let<'a>(symbols: &mut Symbols<'a>, l: &'a Let, problems: &mut Problems) {
    if let Some(&first) = symbols.let_index.get(&*l.name.name) {
        if let Some(first) = symbols.lets.get(first) {
            problems.push(duplicate("let", &l.name.name, l.name.span, first.name.span));
        }
        return;
    }
    symbols.let_index.insert(&l.name.name, symbols.lets.len());
    symbols.lets.push(l);
}

fn add_block<'a>(symbols: &mut Symbols<'a>, b: &'a Block, problems: &mut Problems) {
    let Some(kind) = Kind::from_keyword(&b.kind.name) else {
        let kinds = Kind::ALL.map(Kind::keyword);
        let help = suggest::did_you_mean(&b.kind.name, kinds)
            .unwrap_or_else(|| format!("block kinds are: {}", kinds.join(", ")));
        problems.push(
            Diagnostic::new(
                Code::E0002,
                format!("unknown block kind `{}`", b.kind.name),
                b.kind.span,
                "not a block kind",
            )
            .with_help(help),
        );
        return;
    };
    let Some(label) = &b.label else {
        problems.push(
            Diagnostic::new(
                Code::E0001,
                format!("expected a name after `{}`", b.kind.name),
                b.kind.span,
                "this block needs a name",
            )
            .with_help(format!("write `{} NAME {{ ... }}`", b.kind.name)),
        );
        return;
    };
    if b.quoted {
        problems.push(quoted_name(b, label));
        return;
    }
    let blocks = symbols.blocks.get_mut(kind);
    if let Some(&first) = symbols.index.get(&(kind, &*label.name)) {
        if let Some(first) = blocks.get(first).and_then(|f| f.label.as_ref()) {
            problems.push(duplicate(kind.keyword(), &label.name, label.span, first.span));
        }
        return;
    }
    symbols.index.insert((kind, &label.name), blocks.len());
    symbols.kinds_by_name.entry(&label.name).or_default().push(kind);
    blocks.push(b);
}

/// A string where a block's name must be an identifier (only an alert's may be quoted).
pub(crate) fn quoted_name(block: &crate::ast::Block, label: &crate::ast::Ident) -> Diagnostic {
    let plain: String = label.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Diagnostic::new(
        Code::E0001,
        format!("a `{}`'s name is an identifier, not a string", block.kind.name),
        label.span,
        "a string",
    )
    .with_help(format!(
        "names are identifiers (letters, digits, `_`, `-`): write `{} {plain} {{ ... }}`; only an alert's name may be a string",
        block.kind.name
    ))
}

fn duplicate(what: &str, name: &str, again: crate::source::Span, first: crate::source::Span) -> Diagnostic {
    Diagnostic::new(Code::E0004, format!("{what} `{name}` is defined twice"), again, "defined again here")
        .with_label(first, "first defined here")
        .with_help(format!("rename one of them or remove the second `{name}`"))
}

/// Lets named by single-segment paths inside `expr`.
fn let_uses<'a>(expr: &'a Expr, symbols: &Symbols<'_>, out: &mut Vec<(usize, &'a Expr)>) {
    match &expr.kind {
        ExprKind::Path(parts) if parts.len() == 1 => {
            if let Some(i) = parts.first().and_then(|p| symbols.let_(&p.name)) {
                out.push((i, expr));
            }
        }
        ExprKind::List(items) => items.iter().for_each(|e| let_uses(e, symbols, out)),
        ExprKind::Call(call) => call.args.iter().for_each(|a| let_uses(&a.value, symbols, out)),
        ExprKind::Neg(inner) | ExprKind::Not(inner) | ExprKind::Paren(inner) | ExprKind::Output(inner, _) => {
            let_uses(inner, symbols, out)
        }
        ExprKind::Binary(_, l, r) => {
            let_uses(l, symbols, out);
            let_uses(r, symbols, out);
        }
        _ => {}
    }
}

/// Reports each cycle once (E0012) and marks its lets.
fn find_cycles(symbols: &Symbols<'_>, problems: &mut Problems) -> Vec<bool> {
    let mut graph = DiGraphMap::<usize, (), std::hash::RandomState>::new();
    for (i, l) in symbols.lets.iter().enumerate() {
        graph.add_node(i);
        let mut uses = Vec::new();
        let_uses(&l.value, symbols, &mut uses);
        for (j, _) in uses {
            graph.add_edge(i, j, ());
        }
    }
    let mut cyclic = vec![false; symbols.lets.len()];
    for mut scc in petgraph::algo::tarjan_scc(&graph) {
        let is_cycle = scc.len() > 1 || scc.first().is_some_and(|&n| graph.contains_edge(n, n));
        if !is_cycle {
            continue;
        }
        scc.sort_unstable();
        let names: Vec<&str> =
            scc.iter().filter_map(|&i| symbols.lets.get(i)).map(|l| &*l.name.name).collect();
        let Some(first) = scc.first().and_then(|&i| symbols.lets.get(i)) else {
            continue;
        };
        let mut d = Diagnostic::new(
            Code::E0012,
            format!("lets depend on each other in a cycle: {}", cycle_text(&names)),
            first.name.span,
            "this let's value depends on itself",
        );
        for &i in &scc {
            if let Some(c) = cyclic.get_mut(i) {
                *c = true;
            }
            let Some(l) = symbols.lets.get(i) else {
                continue;
            };
            let mut uses = Vec::new();
            let_uses(&l.value, symbols, &mut uses);
            for (j, expr) in uses {
                if let (true, Some(used)) = (scc.contains(&j), symbols.lets.get(j)) {
                    d = d.with_label(expr.span, format!("uses `{}`", used.name.name));
                }
            }
        }
        problems.push(d.with_help("give one of these lets a value that does not use the others"));
    }
    cyclic
}

fn cycle_text(names: &[&str]) -> String {
    let mut text: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    if let Some(first) = text.first().cloned() {
        text.push(first);
    }
    text.join(" → ")
}
