//! `textDocument/completion`: block kinds at the top level, the attributes and blocks a
//! block accepts, and values by what the attribute takes (`schema::Takes`): keyword
//! members, names of blocks of the right kind, worker groups, instance types with their
//! price in the compute's region, regions and images, strategy and operator calls with
//! their parameters, metrics. Every list comes from the compiler's own tables.

use crate::context::{self, Context, Frame, State};
use crate::hover;
use crate::text::{Encoding, Text};
use gaform_compiler::ast::File;
use gaform_compiler::catalog::{Catalog, FALLBACK_PRICE_REGION};
use gaform_compiler::indicators;
use gaform_compiler::resolve::Kind;
use gaform_compiler::schema::{self, Arg, Signature, Takes};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent, MarkupKind,
    Position, TextEdit,
};

/// The completions at `position`.
/// `file` is the parse of `text` (for the names a cloud gives its region).
pub fn complete(text: &Text, file: &File, position: Position, encoding: Encoding) -> Vec<CompletionItem> {
    let offset = text.offset(position, encoding);
    let context = context::at(text.as_str(), offset);
    let range = text.range(context.start, offset, encoding);
    // Everything that fits goes back: clients filter (often fuzzily) as the user types.
    candidates(text.as_str(), file, offset, &context)
        .into_iter()
        .enumerate()
        .map(|(n, c)| CompletionItem {
            label: c.label,
            kind: Some(c.kind),
            detail: c.detail,
            documentation: c.documentation.map(|value| {
                Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value })
            }),
            // Keep the tables' order (most used first) rather than the client's alphabet.
            sort_text: Some(format!("{n:04}")),
            filter_text: Some(c.filter),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text: c.insert })),
            ..CompletionItem::default()
        })
        .collect()
}

/// One completion before it becomes the protocol's item.
struct Candidate {
    label: String,
    kind: CompletionItemKind,
    detail: Option<String>,
    documentation: Option<String>,
    /// What the typed prefix is matched against.
    filter: String,
    insert: String,
}

impl Candidate {
    fn new(label: &str, kind: CompletionItemKind) -> Candidate {
        Candidate {
            label: label.to_string(),
            kind,
            detail: None,
            documentation: None,
            filter: label.to_string(),
            insert: label.to_string(),
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Candidate {
        self.detail = Some(detail.into());
        self
    }

    fn documentation(mut self, doc: impl Into<String>) -> Candidate {
        self.documentation = Some(doc.into());
        self
    }

    fn insert(mut self, insert: impl Into<String>) -> Candidate {
        self.insert = insert.into();
        self
    }
}

fn candidates(text: &str, file: &File, offset: usize, context: &Context) -> Vec<Candidate> {
    let (frame, state) = context.innermost();
    let at_statement = matches!(state, State::Start | State::Operand);
    match frame {
        Frame::Top if at_statement && !context.in_string => top_level(),
        Frame::Block(_) if at_statement && !context.in_string => {
            let Some(schema) = schema::at(&context.block_path()) else { return Vec::new() };
            let followed_by_assign =
                text.get(offset..).and_then(|rest| rest.lines().next()).is_some_and(|line| {
                    let line = line.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
                    line.trim_start().starts_with('=')
                });
            block_body(schema, context, followed_by_assign)
        }
        Frame::Call(callee) if state == State::Start && !context.in_string => {
            let mut out = parameters(callee);
            // A rule's call takes expressions: what a rule may name goes there too.
            let in_rule = context.attribute().and_then(|(path, key)| schema::at(&path)?.attribute(key));
            if in_rule.is_some_and(|a| matches!(a.takes, Takes::Rule)) {
                out.extend(rule_words(text, file, offset));
            }
            out
        }
        _ => match context.attribute() {
            Some((path, key)) => {
                let takes = schema::at(&path).and_then(|s| s.attribute(key)).map(|a| a.takes);
                takes.map_or_else(Vec::new, |t| values(text, file, offset, context, t))
            }
            None => Vec::new(),
        },
    }
}

fn top_level() -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Kind::ALL
        .into_iter()
        .map(|k| {
            let schema = schema::top_level(k);
            Candidate::new(k.keyword(), CompletionItemKind::KEYWORD)
                .detail(format!("{} NAME {{ ... }}", k.keyword()))
                .documentation(format!("takes: {}", schema.names().collect::<Vec<_>>().join(", ")))
                .insert(format!("{} ", k.keyword()))
        })
        .collect();
    out.push(Candidate::new("let", CompletionItemKind::KEYWORD).detail("let NAME = VALUE").insert("let "));
    out
}

fn block_body(schema: &schema::Schema, context: &Context, followed_by_assign: bool) -> Vec<Candidate> {
    let set: Vec<&str> = context.already_set().collect();
    let attributes = schema.attributes.iter().filter(|a| !set.contains(&a.name)).map(|a| {
        let insert = if followed_by_assign { a.name.to_string() } else { format!("{} = ", a.name) };
        Candidate::new(a.name, CompletionItemKind::PROPERTY).detail(takes_phrase(a.takes)).insert(insert)
    });
    let blocks = schema.blocks.iter().map(|c| {
        let header = if c.kind == "workers" { "workers NAME" } else { c.kind };
        Candidate::new(c.kind, CompletionItemKind::MODULE)
            .detail(format!("{header} {{ ... }}"))
            .documentation(format!("takes: {}", c.schema.names().collect::<Vec<_>>().join(", ")))
            .insert(format!("{} ", c.kind))
    });
    attributes.chain(blocks).collect()
}

/// What an attribute takes, in words, for a completion's detail.
fn takes_phrase(takes: Takes) -> String {
    match takes {
        Takes::Keyword { what, members } => format!("{what}: {}", members.join(" | ")),
        Takes::Keywords { what, .. } => format!("list of {what}s"),
        Takes::Ref(kind) => format!("{} name", kind.keyword()),
        Takes::WorkerGroup => "worker group of the job's compute".into(),
        Takes::InstanceType => "instance type, e.g. \"c5.large\"".into(),
        Takes::InstanceTypes => "list of instance types".into(),
        Takes::OneOf(choices) => {
            format!("one of: {}", choices.iter().take(4).cloned().collect::<Vec<_>>().join(", "))
        }
        Takes::Call { what, signatures } => {
            format!("{what}: {}", signatures.iter().map(|s| s.name).collect::<Vec<_>>().join(" | "))
        }
        Takes::Fitness => "expression over metrics, e.g. sharpe".into(),
        Takes::Condition => "condition, e.g. best_fitness < 0.5".into(),
        Takes::Bool => "true | false".into(),
        Takes::Value(example) => format!("e.g. {example}"),
        Takes::Rule => {
            "rule over series, genes and indicators, e.g. crosses_above(sma(close, 10), sma(close, 30))"
                .into()
        }
    }
}

fn values(text: &str, file: &File, offset: usize, context: &Context, takes: Takes) -> Vec<Candidate> {
    let quoted = |s: &str| if context.in_string { s.to_string() } else { format!("\"{s}\"") };
    let (frame, state) = context.innermost();
    let in_list = *frame == Frame::List;
    match takes {
        _ if context.in_string
            && !matches!(takes, Takes::InstanceType | Takes::InstanceTypes | Takes::OneOf(_)) =>
        {
            Vec::new()
        }
        Takes::Keyword { what, members } if !in_list => keywords(what, members),
        Takes::Keywords { what, members } if in_list => keywords(what, members),
        Takes::Ref(kind) if !in_list => defined(text, |d| match d.kinds.as_slice() {
            [k] if k == kind.keyword() => Some(kind.keyword().to_string()),
            _ => None,
        }),
        Takes::WorkerGroup if !in_list => {
            let compute = context.written("compute", true);
            let computes = context::definitions(text);
            let mut groups = Vec::new();
            // A group is written inside its compute: the compute is the last one defined before it.
            let mut current = None;
            for d in computes {
                match d.kinds.as_slice() {
                    [k] if k == "compute" => current = Some(d.name),
                    [c, w] if c == "compute" && w == "workers" => {
                        if let Some(of) =
                            current.as_deref().filter(|of| compute.is_none_or(|want| want == *of))
                        {
                            groups.push(
                                Candidate::new(&d.name, CompletionItemKind::REFERENCE)
                                    .detail(format!("worker group of compute {of}")),
                            );
                        }
                    }
                    _ => {}
                }
            }
            groups
        }
        Takes::InstanceType | Takes::InstanceTypes if in_list == matches!(takes, Takes::InstanceTypes) => {
            let region = context.written("cloud", true).and_then(|cloud| hover::region_of_cloud(file, cloud));
            instance_types(region, quoted)
        }
        Takes::OneOf(choices) if !in_list => {
            choices.iter().map(|c| Candidate::new(c, CompletionItemKind::VALUE).insert(quoted(c))).collect()
        }
        Takes::Call { what, signatures } if !in_list && state == State::Value => {
            let mut out = calls(what, signatures);
            if what == "strategy" {
                out.extend(defined(text, |d| {
                    (d.kinds == ["strategy"]).then(|| "strategy written in this file".to_string())
                }));
            }
            out
        }
        Takes::Fitness if state == State::Value => {
            let mut out = meanings(schema::METRIC_MEANINGS, "metric");
            out.extend(defined(text, |d| (d.kinds == ["let"]).then(|| "let".to_string())));
            out
        }
        Takes::Condition if state == State::Value && *frame != Frame::Paren => {
            meanings(schema::MONITOR_METRIC_MEANINGS, "monitor metric")
        }
        Takes::Bool if !in_list => keywords("bool", &["true", "false"]),
        Takes::Rule if !in_list => rule_words(text, file, offset),
        _ => Vec::new(),
    }
}

/// What a strategy's rule may name: its genes, the price series, the indicators (with their
/// parameters and pandas definition), the rule functions and the file's lets.
fn rule_words(text: &str, file: &File, offset: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = genes_here(text, file, offset)
        .into_iter()
        .map(|(name, domain)| {
            Candidate::new(&name, CompletionItemKind::VARIABLE).detail(format!("gene: {domain}"))
        })
        .collect();
    out.extend(
        indicators::SERIES
            .iter()
            .map(|s| Candidate::new(s, CompletionItemKind::VARIABLE).detail("price series")),
    );
    out.extend(indicators::INDICATORS.iter().map(|i| {
        let outputs =
            if i.outputs.is_empty() { String::new() } else { format!(" .{}", i.outputs.join(" | .")) };
        Candidate::new(i.name, CompletionItemKind::FUNCTION)
            .detail(format!("indicator: {}{outputs}", i.shape()))
            .documentation(format!("```python\n{}\n```", i.pandas))
            .insert(format!("{}(", i.name))
    }));
    out.extend(indicators::FUNCTIONS.iter().map(|(name, meaning)| {
        Candidate::new(name, CompletionItemKind::FUNCTION)
            .detail("rule function")
            .documentation(*meaning)
            .insert(format!("{name}("))
    }));
    out.extend(keywords("logic", &["and", "or", "not"]));
    out.extend(defined(text, |d| (d.kinds == ["let"]).then(|| "let".to_string())));
    out
}

/// The genes of the strategy block the cursor is in, with their values as written: from
/// the parse when the block parsed, else read off the text of its `genes { ... }`.
fn genes_here(text: &str, file: &File, offset: usize) -> Vec<(String, String)> {
    use gaform_compiler::ast::{BodyItem, Item};
    let inside =
        |b: &gaform_compiler::ast::Block| (b.span.start as usize) <= offset && offset <= b.span.end as usize;
    let parsed = file.items.iter().find_map(|item| match item {
        Item::Block(b) if &*b.kind.name == "strategy" && inside(b) => Some(b),
        _ => None,
    });
    if let Some(block) = parsed {
        return block
            .body
            .iter()
            .filter_map(|item| match item {
                BodyItem::Block(g) if &*g.kind.name == "genes" => Some(g),
                _ => None,
            })
            .flat_map(|g| g.body.iter())
            .filter_map(|item| match item {
                BodyItem::Attribute(a) => {
                    let written =
                        text.get(a.value.span.start as usize..a.value.span.end as usize).unwrap_or("");
                    Some((a.name.name.to_string(), written.to_string()))
                }
                BodyItem::Block(_) => None,
            })
            .collect();
    }
    // The block around the cursor did not parse (it is being written): its genes as typed.
    let before = text.get(..offset).unwrap_or("");
    let Some(header) =
        before.rfind("\nstrategy ").map(|i| i + 1).or_else(|| before.starts_with("strategy ").then_some(0))
    else {
        return Vec::new();
    };
    let block = before.get(header..).unwrap_or("");
    let Some(genes) = block
        .find("genes")
        .and_then(|g| block.get(g..))
        .and_then(|g| g.find('{').and_then(|o| g.get(o + 1..)))
    else {
        return Vec::new();
    };
    let body = genes.split('}').next().unwrap_or("");
    body.split(['\n', ';'])
        .filter_map(|line| {
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            let ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            ok.then(|| (name.to_string(), value.split('#').next().unwrap_or("").trim().to_string()))
        })
        .collect()
}

fn keywords(what: &str, members: &[&str]) -> Vec<Candidate> {
    members.iter().map(|m| Candidate::new(m, CompletionItemKind::ENUM_MEMBER).detail(what)).collect()
}

fn meanings(table: &[(&str, &str)], what: &str) -> Vec<Candidate> {
    table
        .iter()
        .map(|(word, meaning)| {
            Candidate::new(word, CompletionItemKind::CONSTANT).detail(what).documentation(*meaning)
        })
        .collect()
}

/// The names the file defines that `pick` keeps, each with its detail, once each.
fn defined(text: &str, pick: impl Fn(&context::Defined) -> Option<String>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for d in context::definitions(text) {
        if let Some(detail) = pick(&d) {
            if !out.iter().any(|c| c.label == d.name) {
                out.push(Candidate::new(&d.name, CompletionItemKind::REFERENCE).detail(detail));
            }
        }
    }
    out
}

fn instance_types(region: Option<&str>, quoted: impl Fn(&str) -> String) -> Vec<Candidate> {
    let region = region.unwrap_or(FALLBACK_PRICE_REGION);
    let mut types: Vec<_> = Catalog::get().types().iter().collect();
    // Cheapest first: what a research budget reaches for.
    types.sort_by(|a, b| {
        let price =
            |t: &gaform_compiler::catalog::InstanceType| t.price(region).map_or(f64::INFINITY, |p| p.0);
        price(a).total_cmp(&price(b)).then_with(|| a.name.cmp(&b.name))
    });
    types
        .into_iter()
        .map(|t| {
            let price = t.price(region).map_or_else(|| "no price".to_string(), |(p, _)| format!("${p}/h"));
            let gpus = if t.gpus == 0 { String::new() } else { format!(", {} × {}", t.gpus, t.gpu_model) };
            Candidate::new(&t.name, CompletionItemKind::VALUE)
                .detail(format!("{} vCPUs, {} GiB{gpus}, {price} in {region}", t.vcpus, t.memory_gib))
                .insert(quoted(&t.name))
        })
        .collect()
}

fn calls(what: &str, signatures: &[Signature]) -> Vec<Candidate> {
    signatures
        .iter()
        .map(|s| {
            Candidate::new(s.name, CompletionItemKind::FUNCTION)
                .detail(format!("{what}: {}", s.line()))
                .documentation(s.meaning)
                .insert(s.example)
        })
        .collect()
}

/// The parameters of the call named `callee`.
fn parameters(callee: &str) -> Vec<Candidate> {
    if let Some(indicator) = indicators::indicator(callee) {
        return indicator
            .params
            .iter()
            .map(|(name, kind)| {
                let detail = match kind {
                    indicators::Param::Series => "a series: close, another indicator, arithmetic",
                    indicators::Param::Period => "a period in bars: an int or an int gene",
                    indicators::Param::Number => "a number or a gene",
                };
                Candidate::new(name, CompletionItemKind::FIELD).detail(detail).insert(format!("{name} = "))
            })
            .collect();
    }
    let Some((_, signature)) = schema::signature(callee) else { return Vec::new() };
    signature
        .params
        .iter()
        .map(|(name, arg, _)| {
            let detail = match arg {
                Arg::Range => match schema::prelude_range(signature.name, name) {
                    Some((lo, hi)) => format!("integer range the GA searches, default {lo}..{hi}"),
                    None => "integer range the GA searches, e.g. 2..50".to_string(),
                },
                Arg::Int(d) => format!("integer, default {d}"),
                Arg::Float(d) => format!("number, default {d}"),
            };
            Candidate::new(name, CompletionItemKind::FIELD).detail(detail).insert(format!("{name} = "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gaform_compiler::ast::{Block, BodyItem, ExprKind, Item};
    use gaform_compiler::diag::{Code, Problems};
    use gaform_compiler::source::SourceFile;
    use gaform_compiler::{CheckOptions, NoHost};

    fn examples() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "gaf"))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        out.sort();
        assert!(out.len() >= 5, "the examples are where the test expects them");
        out
    }

    /// The completions at byte `offset`, as (label, text inserted).
    fn offered(text: &str, offset: usize) -> Vec<(String, String)> {
        let file = gaform_compiler::parse::parse(&SourceFile::new("x", text), &mut Problems::default());
        let text = Text::new(text.to_string());
        let position = text.position(offset, Encoding::Utf8);
        complete(&text, &file, position, Encoding::Utf8)
            .into_iter()
            .map(|i| {
                let insert = match i.text_edit {
                    Some(CompletionTextEdit::Edit(e)) => e.new_text,
                    _ => panic!("every item carries its edit"),
                };
                (i.label, insert)
            })
            .collect()
    }

    fn without(text: &str, start: usize, end: usize) -> String {
        format!("{}{}", &text[..start], &text[end..])
    }

    /// Codes that would mean a completion offered something the attribute does not take.
    const WRONG: [Code; 8] = [
        Code::E0001,
        Code::E0003,
        Code::E0005,
        Code::E0006,
        Code::E0007,
        Code::E0009,
        Code::E0010,
        Code::E0013,
    ];

    fn attributes<'b>(
        block: &'b Block,
        path: &mut Vec<&'b str>,
        out: &mut Vec<(Vec<&'b str>, &'b gaform_compiler::ast::Attribute)>,
    ) {
        path.push(&block.kind.name);
        for item in &block.body {
            match item {
                BodyItem::Attribute(a) => out.push((path.clone(), a)),
                BodyItem::Block(b) => attributes(b, path, out),
            }
        }
        path.pop();
    }

    /// Over every example: each value an example writes for an attribute with known values is
    /// offered when that value is deleted, and every value offered there checks clean once
    /// inserted; each attribute, block kind and top-level kind is offered where its name is.
    #[test]
    fn what_is_offered_is_what_the_examples_write_and_what_the_checker_accepts() {
        let mut values_checked = 0;
        for (path, text) in examples() {
            let file =
                gaform_compiler::parse::parse(&SourceFile::new("x", text.as_str()), &mut Problems::default());
            let mut all = Vec::new();
            for item in &file.items {
                if let Item::Block(b) = item {
                    let (s, e) = (b.kind.span.start as usize, b.kind.span.end as usize);
                    let labels: Vec<String> =
                        offered(&without(&text, s, e), s).into_iter().map(|o| o.0).collect();
                    assert!(
                        labels.contains(&b.kind.name.to_string()),
                        "{path}: `{}` not offered: {labels:?}",
                        b.kind.name
                    );
                    attributes(b, &mut Vec::new(), &mut all);
                }
            }
            for (blocks, attribute) in all {
                if matches!(blocks.last(), Some(&"tags" | &"genes")) {
                    continue; // free `key = "value"` pairs, a strategy's genes
                }
                let (s, e) = (attribute.name.span.start as usize, attribute.name.span.end as usize);
                let labels: Vec<String> =
                    offered(&without(&text, s, e), s).into_iter().map(|o| o.0).collect();
                assert!(
                    labels.contains(&attribute.name.name.to_string()),
                    "{path}: `{}` in {blocks:?} not offered",
                    attribute.name.name
                );

                let takes =
                    schema::at(&blocks).and_then(|s| s.attribute(&attribute.name.name)).unwrap().takes;
                if matches!(takes, Takes::Value(_) | Takes::Condition | Takes::Fitness | Takes::Rule) {
                    continue;
                }
                let value = match &attribute.value.kind {
                    ExprKind::List(items) => items.first().unwrap(),
                    _ => &attribute.value,
                };
                let (written, s, e) = match &value.kind {
                    ExprKind::Path(parts) => (
                        parts.last().unwrap().name.to_string(),
                        value.span.start as usize,
                        value.span.end as usize,
                    ),
                    ExprKind::Call(call) => {
                        (call.name.name.to_string(), value.span.start as usize, value.span.end as usize)
                    }
                    ExprKind::Str(s) => (s.to_string(), value.span.start as usize, value.span.end as usize),
                    ExprKind::Bool(b) => (b.to_string(), value.span.start as usize, value.span.end as usize),
                    other => panic!("{path}: {other:?} for {}", attribute.name.name),
                };
                let hole = without(&text, s, e);
                let offers = offered(&hole, s);
                assert!(
                    offers.iter().any(|o| o.0 == written),
                    "{path}: `{written}` not offered for {}: {offers:?}",
                    attribute.name.name
                );
                for (label, insert) in offers {
                    let filled = format!("{}{insert}{}", &hole[..s], &hole[s..]);
                    let checked = gaform_compiler::check(
                        &SourceFile::new("x", filled.as_str()),
                        &NoHost,
                        &CheckOptions::default(),
                    );
                    let end = s + insert.len();
                    let wrong = checked.diagnostics.iter().find(|d| {
                        WRONG.contains(&d.code)
                            && d.labels
                                .first()
                                .is_some_and(|l| (l.span.start as usize) < end && s < l.span.end as usize)
                    });
                    assert!(wrong.is_none(), "{path}: `{label}` for {} gives {wrong:?}", attribute.name.name);
                    values_checked += 1;
                }
            }
        }
        assert!(values_checked > 500, "{values_checked}");
    }
}
