//! The file's names, from the parse alone: where each block (cloud, quota, budget, spot
//! policy, strategy, compute, worker group, job, service, monitor), strategy gene and `let`
//! is defined, and where each is referenced. A reference's kind is what the attribute that holds it takes, by the
//! compiler's schema (`cloud = c` names a cloud, `workers = cpu` a worker group of the job's
//! compute, `spot = cheap` a spot policy); any other bare name is a `let`'s when such a
//! `let` exists. Go to
//! definition, find references and rename all stand on `occurrences`.

use gaform_compiler::ast::{Block, BodyItem, Expr, ExprKind, File, Ident, Item};
use gaform_compiler::schema::{self, Takes};

/// What a name names: a top-level block by kind, a worker group of a compute, or a `let`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Block {
        kind: String,
        name: String,
    },
    Group {
        compute: String,
        name: String,
    },
    /// A gene of a strategy: declared in its `genes`, used in its rules and narrowed by jobs.
    Gene {
        strategy: String,
        name: String,
    },
    Let(String),
}

/// One place a name is written: its byte span, and whether it is the definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start: usize,
    pub end: usize,
    pub definition: bool,
}

/// Every name written in the parsed `file`, with what it names.
pub fn index(file: &File) -> Vec<(Target, Occurrence)> {
    let mut out = Vec::new();
    let lets: Vec<&str> = file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Let(l) => Some(&*l.name.name),
            Item::Block(_) => None,
        })
        .collect();
    for item in &file.items {
        match item {
            Item::Let(l) => {
                out.push((Target::Let(l.name.name.to_string()), at(&l.name, true)));
                references(file, &lets, None, None, &l.value, &mut out);
            }
            Item::Block(b) => {
                if let Some(label) = &b.label {
                    let target =
                        Target::Block { kind: b.kind.name.to_string(), name: label.name.to_string() };
                    out.push((target, at(label, true)));
                }
                if &*b.kind.name == "strategy" {
                    strategy(&lets, b, &mut out);
                    continue;
                }
                let compute =
                    (&*b.kind.name == "compute").then(|| b.label.as_ref().map(|l| &*l.name)).flatten();
                walk(file, &lets, b, &mut Vec::new(), compute, &mut out);
            }
        }
    }
    out
}

fn walk<'f>(
    file: &'f File,
    lets: &[&str],
    block: &'f Block,
    path: &mut Vec<&'f str>,
    compute: Option<&str>,
    out: &mut Vec<(Target, Occurrence)>,
) {
    path.push(&block.kind.name);
    // A job's `workers = cpu` names a group of the compute its `compute` names.
    let job_compute = (&*block.kind.name == "job")
        .then(|| attribute(block, "compute"))
        .flatten()
        .and_then(|e| single_name(e))
        .map(|i| &*i.name);
    for item in &block.body {
        match item {
            BodyItem::Attribute(a) => {
                let takes = schema::at(path).and_then(|s| s.attribute(&a.name.name)).map(|a| a.takes);
                references(file, lets, job_compute.or(compute), takes, &a.value, out);
            }
            BodyItem::Block(inner) => {
                if let (Some(compute), "workers", Some(label)) = (compute, &*inner.kind.name, &inner.label) {
                    let target = Target::Group { compute: compute.to_string(), name: label.name.to_string() };
                    out.push((target, at(label, true)));
                }
                walk(file, lets, inner, path, compute, out);
            }
        }
    }
    path.pop();
}

/// A strategy block: its genes where declared and where its rules use them (a bare name,
/// or the call of a gene that picks an indicator); other names in its rules are lets'.
fn strategy(lets: &[&str], block: &Block, out: &mut Vec<(Target, Occurrence)>) {
    let name = block.label.as_ref().map_or("", |l| &*l.name);
    let mut genes: Vec<&str> = Vec::new();
    for item in &block.body {
        if let BodyItem::Block(g) = item {
            if &*g.kind.name == "genes" {
                for gene in &g.body {
                    if let BodyItem::Attribute(a) = gene {
                        genes.push(&a.name.name);
                        let target =
                            Target::Gene { strategy: name.to_string(), name: a.name.name.to_string() };
                        out.push((target, at(&a.name, true)));
                    }
                }
            }
        }
    }
    for item in &block.body {
        if let BodyItem::Attribute(a) = item {
            rule_references(name, &genes, lets, &a.value, out);
        }
    }
}

fn rule_references(
    strategy: &str,
    genes: &[&str],
    lets: &[&str],
    expr: &Expr,
    out: &mut Vec<(Target, Occurrence)>,
) {
    let gene = |ident: &Ident| Target::Gene { strategy: strategy.to_string(), name: ident.name.to_string() };
    match &expr.kind {
        ExprKind::Path(parts) => {
            if let [one] = parts.as_slice() {
                if genes.contains(&&*one.name) {
                    out.push((gene(one), at(one, false)));
                } else if lets.contains(&&*one.name) {
                    out.push((Target::Let(one.name.to_string()), at(one, false)));
                }
            }
        }
        ExprKind::Call(call) => {
            if genes.contains(&&*call.name.name) {
                out.push((gene(&call.name), at(&call.name, false)));
            }
            for a in &call.args {
                rule_references(strategy, genes, lets, &a.value, out);
            }
        }
        ExprKind::Output(e, _) | ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Paren(e) => {
            rule_references(strategy, genes, lets, e, out)
        }
        ExprKind::Binary(_, a, b) => {
            rule_references(strategy, genes, lets, a, out);
            rule_references(strategy, genes, lets, b, out);
        }
        ExprKind::List(items) => items.iter().for_each(|e| rule_references(strategy, genes, lets, e, out)),
        _ => {}
    }
}

/// A job's `strategy`: a strategy block's name, and the genes its call narrows.
fn strategy_reference(file: &File, expr: &Expr, out: &mut Vec<(Target, Occurrence)>) -> bool {
    let (name, args) = match &expr.kind {
        ExprKind::Path(parts) if parts.len() == 1 => (parts.first(), &[][..]),
        ExprKind::Call(call) => (Some(&call.name), call.args.as_slice()),
        _ => (None, &[][..]),
    };
    let Some(name) = name.filter(|n| defined(file, "strategy", &n.name)) else { return false };
    out.push((Target::Block { kind: "strategy".into(), name: name.name.to_string() }, at(name, false)));
    for arg in args {
        if let Some(gene) = &arg.name {
            let target = Target::Gene { strategy: name.name.to_string(), name: gene.name.to_string() };
            out.push((target, at(gene, false)));
        }
    }
    true
}

/// The references inside `expr`, the value of an attribute that `takes` it.
fn references(
    file: &File,
    lets: &[&str],
    compute: Option<&str>,
    takes: Option<Takes>,
    expr: &Expr,
    out: &mut Vec<(Target, Occurrence)>,
) {
    if matches!(takes, Some(Takes::Call { what: "strategy", .. })) && strategy_reference(file, expr, out) {
        return;
    }
    match &expr.kind {
        ExprKind::Path(parts) => match parts.as_slice() {
            [name] => {
                let target = match takes {
                    Some(Takes::WorkerGroup) => {
                        compute.map(|c| Target::Group { compute: c.to_string(), name: name.name.to_string() })
                    }
                    Some(Takes::Ref(kind)) if defined(file, kind.keyword(), &name.name) => {
                        Some(Target::Block { kind: kind.keyword().to_string(), name: name.name.to_string() })
                    }
                    _ if lets.contains(&&*name.name) => Some(Target::Let(name.name.to_string())),
                    _ => None,
                };
                out.extend(target.map(|t| (t, at(name, false))));
            }
            [c, group] => {
                out.push((Target::Block { kind: "compute".into(), name: c.name.to_string() }, at(c, false)));
                out.push((
                    Target::Group { compute: c.name.to_string(), name: group.name.to_string() },
                    at(group, false),
                ));
            }
            _ => {}
        },
        ExprKind::List(items) => items.iter().for_each(|e| references(file, lets, compute, takes, e, out)),
        ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Paren(e) | ExprKind::Output(e, _) => {
            references(file, lets, compute, takes, e, out)
        }
        ExprKind::Binary(_, a, b) => {
            references(file, lets, compute, None, a, out);
            references(file, lets, compute, None, b, out);
        }
        ExprKind::Call(call) => {
            call.args.iter().for_each(|a| references(file, lets, compute, None, &a.value, out))
        }
        _ => {}
    }
}

fn defined(file: &File, kind: &str, name: &str) -> bool {
    file.items.iter().any(|item| match item {
        Item::Block(b) => &*b.kind.name == kind && b.label.as_ref().is_some_and(|l| &*l.name == name),
        Item::Let(_) => false,
    })
}

/// The value of attribute `name` in `block`, if written.
pub(crate) fn attribute<'b>(block: &'b Block, name: &str) -> Option<&'b Expr> {
    block.body.iter().find_map(|item| match item {
        BodyItem::Attribute(a) if &*a.name.name == name => Some(&a.value),
        _ => None,
    })
}

fn single_name(expr: &Expr) -> Option<&Ident> {
    match &expr.kind {
        ExprKind::Path(parts) if parts.len() == 1 => parts.first(),
        _ => None,
    }
}

fn at(ident: &Ident, definition: bool) -> Occurrence {
    Occurrence { start: ident.span.start as usize, end: ident.span.end as usize, definition }
}

/// The target of the name at byte `offset`, and every occurrence of it (definition first),
/// from a file's `index`.
pub fn occurrences(index: &[(Target, Occurrence)], offset: usize) -> Option<(Target, Vec<Occurrence>)> {
    let (target, _) = index.iter().find(|(_, o)| o.start <= offset && offset <= o.end)?.clone();
    let mut found: Vec<Occurrence> = index.iter().filter(|(t, _)| *t == target).map(|(_, o)| *o).collect();
    found.sort_by_key(|o| (!o.definition, o.start));
    Some((target, found))
}

/// Whether `name` may name a block: `[a-zA-Z_][a-zA-Z0-9_-]*`, and not a boolean.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(name, "true" | "false" | "and" | "or" | "not")
}

/// Whether `target`'s kind already has something called `name`, in a file's `index`.
pub fn taken(index: &[(Target, Occurrence)], target: &Target, name: &str) -> bool {
    // A gene may not take the name of a price series, an indicator or a rule function.
    let library = gaform_compiler::indicators::SERIES.contains(&name)
        || gaform_compiler::indicators::indicator(name).is_some()
        || gaform_compiler::indicators::FUNCTIONS.iter().any(|f| f.0 == name);
    if library && matches!(target, Target::Gene { .. }) {
        return true;
    }
    index.iter().any(|(t, o)| {
        o.definition
            && match (t, target) {
                (Target::Block { kind: a, name: n }, Target::Block { kind: b, .. }) => a == b && n == name,
                (Target::Group { compute: a, name: n }, Target::Group { compute: b, .. }) => {
                    a == b && n == name
                }
                (Target::Let(n), Target::Let(_)) => n == name,
                (Target::Gene { strategy: a, name: n }, Target::Gene { strategy: b, .. }) => {
                    a == b && n == name
                }
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gaform_compiler::diag::Problems;
    use gaform_compiler::source::SourceFile;

    fn parsed(text: &str) -> File {
        gaform_compiler::parse::parse(&SourceFile::new("names", text), &mut Problems::default())
    }

    const FILE: &str = "let n = 2\ncloud c { provider = local }\ncompute c {\n  cloud = c\n  head { instance_type = \"m5.large\" }\n  workers cpu { instance_type = \"c5.large\"  max = n * 2 }\n}\njob j {\n  compute = c\n  workers = cpu\n}\nservice s {\n  job = j\n  compute = c\n}\n";

    fn spans(text: &str, found: &[Occurrence]) -> Vec<String> {
        found
            .iter()
            .map(|o| format!("{}@{}{}", &text[o.start..o.end], o.start, if o.definition { "*" } else { "" }))
            .collect()
    }

    #[test]
    fn a_cloud_and_a_compute_of_one_name_are_told_apart_by_the_attribute() {
        let cloud_ref = FILE.find("cloud = c").unwrap() + 8;
        let (target, found) = occurrences(&index(&parsed(FILE)), cloud_ref).unwrap();
        assert_eq!(target, Target::Block { kind: "cloud".into(), name: "c".into() });
        assert_eq!(spans(FILE, &found), ["c@16*".to_string(), format!("c@{cloud_ref}")]);
        let compute_def = FILE.find("compute c").unwrap() + 8;
        let (_, found) = occurrences(&index(&parsed(FILE)), compute_def).unwrap();
        assert_eq!(found.len(), 3, "its definition, the job's and the service's `compute = c`");
    }

    #[test]
    fn worker_groups_and_lets_have_their_references() {
        let (target, found) =
            occurrences(&index(&parsed(FILE)), FILE.find("workers = cpu").unwrap() + 11).unwrap();
        assert_eq!(target, Target::Group { compute: "c".into(), name: "cpu".into() });
        assert_eq!(found.len(), 2);
        let use_of_n = FILE.find("max = n").unwrap() + 6;
        let (_, found) = occurrences(&index(&parsed(FILE)), use_of_n).unwrap();
        assert_eq!(spans(FILE, &found), ["n@4*".to_string(), format!("n@{use_of_n}")]);
        assert!(taken(&index(&parsed(FILE)), &Target::Block { kind: "cloud".into(), name: "x".into() }, "c"));
        assert!(!taken(&index(&parsed(FILE)), &Target::Block { kind: "job".into(), name: "x".into() }, "c"));
        assert!(
            is_valid_name("evo-2")
                && !is_valid_name("2evo")
                && !is_valid_name("a b")
                && !is_valid_name("true")
        );
    }
}
