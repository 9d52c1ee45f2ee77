//! `textDocument/documentSymbol`: the file's outline, from the parse alone (so it is there
//! while the file has type errors): each top-level block and `let`, and inside a block its
//! nested blocks (a compute's head and worker groups, a budget's alerts).

use crate::text::{Encoding, Text};
use gaform_compiler::ast::{Block, BodyItem, File, Item};
use lsp_types::{DocumentSymbol, SymbolKind};

/// The outline of `file`, the parse of `text`.
pub fn symbols(text: &Text, file: &File, encoding: Encoding) -> Vec<DocumentSymbol> {
    file.items
        .iter()
        .map(|item| match item {
            Item::Block(b) => block(b, text, encoding),
            Item::Let(l) => symbol(
                format!("let {}", l.name.name),
                SymbolKind::CONSTANT,
                text.range(l.span.start as usize, l.span.end as usize, encoding),
                text.range(l.name.span.start as usize, l.name.span.end as usize, encoding),
                None,
            ),
        })
        .collect()
}

fn block(b: &Block, text: &Text, encoding: Encoding) -> DocumentSymbol {
    let name = match &b.label {
        Some(label) => format!("{} {}", b.kind.name, label.name),
        None => b.kind.name.to_string(),
    };
    let chosen = b.label.as_ref().map_or(b.kind.span, |l| l.span);
    let children: Vec<DocumentSymbol> = b
        .body
        .iter()
        .filter_map(|item| match item {
            BodyItem::Block(inner) => Some(block(inner, text, encoding)),
            BodyItem::Attribute(_) => None,
        })
        .collect();
    let kind = match &*b.kind.name {
        "cloud" => SymbolKind::NAMESPACE,
        "compute" | "workers" | "head" => SymbolKind::CLASS,
        "job" => SymbolKind::FUNCTION,
        "budget" | "quota" | "spot_policy" => SymbolKind::OBJECT,
        "service" => SymbolKind::INTERFACE,
        "monitor" | "alert" => SymbolKind::EVENT,
        _ => SymbolKind::STRUCT,
    };
    symbol(
        name,
        kind,
        text.range(b.span.start as usize, b.span.end as usize, encoding),
        text.range(chosen.start as usize, chosen.end as usize, encoding),
        (!children.is_empty()).then_some(children),
    )
}

#[allow(deprecated)] // `deprecated` is a field the protocol still requires to be settable.
fn symbol(
    name: String,
    kind: SymbolKind,
    range: lsp_types::Range,
    selection_range: lsp_types::Range,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range,
        children,
    }
}
