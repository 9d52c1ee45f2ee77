//! `textDocument/hover`, from the parse alone (it works while the file has type errors):
//! over an instance type, its vCPUs, memory, GPUs and on-demand price in its compute's
//! cloud's region from the bundled catalog; over a name in a value, the block or `let` it
//! names; over a metric, strategy or operator, what it means.

use crate::names::attribute;
use crate::text::{Encoding, Text};
use gaform_compiler::ast::{Block, BodyItem, Expr, ExprKind, File, Item};
use gaform_compiler::catalog::Catalog;
use gaform_compiler::schema;
use gaform_compiler::source::Span;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

/// What to show over `position`, if anything.
pub fn hover(text: &Text, file: &File, position: Position, encoding: Encoding) -> Option<Hover> {
    let offset = text.offset(position, encoding);
    let (top, attribute, expr) = find(file, offset)?;
    let markdown =
        match &expr.kind {
            ExprKind::Str(name) if matches!(attribute, "instance_type" | "instance_types") => {
                instance_type(name, region_of(file, top))?
            }
            ExprKind::Path(parts) => reference(file, text, parts.iter().map(|p| &*p.name).collect())
                .or_else(|| match parts.as_slice() {
                    [word] => gene(top, text, &word.name).or_else(|| meaning(&word.name)),
                    _ => None,
                })?,
            ExprKind::Call(call) => {
                let markdown = gene(top, text, &call.name.name).or_else(|| meaning(&call.name.name))?;
                return Some(markup(text, markdown, call.name.span, encoding));
            }
            _ => return None,
        };
    Some(markup(text, markdown, expr.span, encoding))
}

fn markup(text: &Text, markdown: String, span: Span, encoding: Encoding) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: Some(text.range(span.start as usize, span.end as usize, encoding)),
    }
}

/// A gene of the strategy block `top`, with its values as declared.
fn gene(top: &Block, text: &Text, word: &str) -> Option<String> {
    if &*top.kind.name != "strategy" {
        return None;
    }
    top.body.iter().find_map(|item| match item {
        BodyItem::Block(genes) if &*genes.kind.name == "genes" => genes.body.iter().find_map(|g| match g {
            BodyItem::Attribute(a) if &*a.name.name == word => {
                let written = text.as_str().get(a.value.span.start as usize..a.value.span.end as usize)?;
                Some(format!(
                    "```gaf\n{word} = {written}\n```\ngene of strategy `{}`",
                    top.label.as_ref().map_or("", |l| &*l.name)
                ))
            }
            _ => None,
        }),
        _ => None,
    })
}

/// What a metric, strategy, operator, indicator, rule function or price series means; a
/// call's signature with it.
fn meaning(word: &str) -> Option<String> {
    if let Some(i) = gaform_compiler::indicators::indicator(word) {
        let outputs = if i.outputs.is_empty() {
            String::new()
        } else {
            format!("\noutputs: `.{}`", i.outputs.join("`, `."))
        };
        return Some(format!(
            "```gaf\n{}\n```\nindicator (STRATEGIES.md), in pandas:\n```python\n{}\n```{outputs}",
            i.shape(),
            i.pandas
        ));
    }
    if let Some((_, meaning)) = gaform_compiler::indicators::FUNCTIONS.iter().find(|f| f.0 == word) {
        return Some(format!("**{word}** (rule function): {meaning}"));
    }
    if gaform_compiler::indicators::SERIES.contains(&word) {
        return Some(format!("**{word}** (price series): the data's `{}` column, one value per bar", word));
    }
    let (what, meaning) = schema::meaning(word)?;
    Some(match schema::signature(word) {
        Some((_, s)) => match gaform_compiler::prelude::text(word) {
            // A built-in: its call, what it does, and its definition in the prelude.
            Some(text) => format!(
                "```gaf\n{}\n```\n{what}: {meaning}\n\nIn the prelude:\n```gaf\n{text}\n```",
                s.line()
            ),
            None => format!("```gaf\n{}\n```\n{what}: {meaning}", s.line()),
        },
        None => format!("**{word}** ({what}): {meaning}"),
    })
}

/// The top-level block, the attribute's name and the innermost literal or name at `offset`.
fn find(file: &File, offset: usize) -> Option<(&Block, &str, &Expr)> {
    let within = |start: u32, end: u32| (start as usize) <= offset && offset <= end as usize;
    file.items.iter().find_map(|item| match item {
        Item::Block(top) if within(top.span.start, top.span.end) => {
            in_block(top, offset).map(|(a, e)| (top, a, e))
        }
        _ => None,
    })
}

fn in_block(block: &Block, offset: usize) -> Option<(&str, &Expr)> {
    block.body.iter().find_map(|item| match item {
        BodyItem::Attribute(a) => innermost(&a.value, offset).map(|e| (&*a.name.name, e)),
        BodyItem::Block(inner) => in_block(inner, offset),
    })
}

fn innermost(expr: &Expr, offset: usize) -> Option<&Expr> {
    if offset < expr.span.start as usize || offset > expr.span.end as usize {
        return None;
    }
    match &expr.kind {
        ExprKind::List(items) => items.iter().find_map(|e| innermost(e, offset)),
        ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Paren(e) | ExprKind::Output(e, _) => {
            innermost(e, offset)
        }
        ExprKind::Binary(_, a, b) => innermost(a, offset).or_else(|| innermost(b, offset)),
        ExprKind::Call(call) if offset > call.name.span.end as usize => {
            call.args.iter().find_map(|a| innermost(&a.value, offset))
        }
        _ => Some(expr),
    }
}

/// The region of the cloud a compute block names, when it is an aws cloud with one.
fn region_of<'f>(file: &'f File, compute: &'f Block) -> Option<&'f str> {
    let cloud = attribute(compute, "cloud").and_then(|e| match &e.kind {
        ExprKind::Path(parts) if parts.len() == 1 => Some(&*parts[0].name),
        _ => None,
    })?;
    region_of_cloud(file, cloud)
}

/// The region of the cloud named `cloud` in `file`, if it is written.
pub fn region_of_cloud<'f>(file: &'f File, cloud: &str) -> Option<&'f str> {
    let block = top_blocks(file).find(|b| &*b.kind.name == "cloud" && label(b) == Some(cloud))?;
    match &attribute(block, "region")?.kind {
        ExprKind::Str(region) => Some(region),
        _ => None,
    }
}

fn instance_type(name: &str, region: Option<&str>) -> Option<String> {
    let t = Catalog::get().lookup(name)?;
    let gpus = if t.gpus == 0 { "no GPU".to_string() } else { format!("{} × {}", t.gpus, t.gpu_model) };
    let region_shown = region.unwrap_or("us-east-1");
    let price = match t.price(region_shown) {
        Some((p, true)) => format!("${p}/hour on demand in {region_shown}"),
        Some((p, false)) => {
            format!("${p}/hour on demand (us-east-1's price: the catalog has none for {region_shown})")
        }
        None => "no on-demand price in the catalog".to_string(),
    };
    Some(format!("**{}**: {} vCPUs, {} GiB, {gpus}, {}\n\n{price}", t.name, t.vcpus, t.memory_gib, t.arch))
}

/// The block (`compute evo`, or `evo.cpu` for a worker group) or `let` a name refers to.
fn reference(file: &File, text: &Text, parts: Vec<&str>) -> Option<String> {
    let first_line = |start: u32| {
        let rest = &text.as_str()[start as usize..];
        rest.lines().next().unwrap_or("").trim_end().to_string()
    };
    let line_of = |start: u32| text.as_str()[..start as usize].matches('\n').count() + 1;
    match parts.as_slice() {
        [name] => {
            if let Some(b) = top_blocks(file).find(|b| label(b) == Some(name)) {
                return Some(format!(
                    "```gaf\n{}\n```\n{} `{name}`, line {}",
                    first_line(b.span.start),
                    b.kind.name,
                    line_of(b.span.start)
                ));
            }
            file.items.iter().find_map(|item| match item {
                Item::Let(l) if &*l.name.name == *name => Some(format!(
                    "```gaf\n{}\n```\nlet `{name}`, line {}",
                    first_line(l.span.start),
                    line_of(l.span.start)
                )),
                _ => None,
            })
        }
        [compute, group] => {
            let c = top_blocks(file).find(|b| &*b.kind.name == "compute" && label(b) == Some(compute))?;
            let g = c.body.iter().find_map(|item| match item {
                BodyItem::Block(b) if &*b.kind.name == "workers" && label(b) == Some(group) => Some(b),
                _ => None,
            })?;
            Some(format!(
                "```gaf\n{}\n```\nworker group `{group}` of compute `{compute}`, line {}",
                first_line(g.span.start).trim_start(),
                line_of(g.span.start)
            ))
        }
        _ => None,
    }
}

fn top_blocks(file: &File) -> impl Iterator<Item = &Block> {
    file.items.iter().filter_map(|item| match item {
        Item::Block(b) => Some(b),
        Item::Let(_) => None,
    })
}

fn label(block: &Block) -> Option<&str> {
    block.label.as_ref().map(|l| &*l.name)
}
