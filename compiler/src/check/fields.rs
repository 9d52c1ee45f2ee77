//! A block's attributes and nested blocks, checked against what the block accepts:
//! unknown names (E0003), duplicates (E0004), an attribute written as a block or the other
//! way round (E0007), and missing required attributes (E0008).

use super::Checker;
use crate::ast::{Attribute, Block, BodyItem};
use crate::diag::{suggest, Code, Diagnostic};
use crate::schema::Schema;

/// The checked contents of one block.
pub(super) struct Fields<'a> {
    pub block: &'a Block,
    attributes: Vec<&'a Attribute>,
    blocks: Vec<&'a Block>,
    /// Names suggested for unknown attributes: their absence is already explained.
    suggested: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// The attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&'a Attribute> {
        self.attributes.iter().copied().find(|a| &*a.name.name == name)
    }

    /// True when an unknown attribute was probably a misspelling of `name`.
    pub fn was_suggested(&self, name: &str) -> bool {
        self.suggested.contains(&name)
    }

    /// Every nested block of kind `kind`, in source order.
    pub fn blocks(&self, kind: &'static str) -> impl Iterator<Item = &'a Block> + '_ {
        self.blocks.iter().copied().filter(move |b| &*b.kind.name == kind)
    }
}

/// `NAME` of a top-level or nested block, for messages: `workers w`.
pub(super) fn title(block: &Block) -> String {
    match &block.label {
        Some(l) => format!("{} {}", block.kind.name, l.name),
        None => block.kind.name.to_string(),
    }
}

impl Checker<'_> {
    /// Sorts `block`'s body into known attributes and nested blocks, reporting the rest.
    pub(super) fn fields<'a>(&mut self, block: &'a Block, schema: &Schema) -> Fields<'a> {
        let mut fields = Fields { block, attributes: Vec::new(), blocks: Vec::new(), suggested: Vec::new() };
        // Every name the block accepts, for suggestions: only built when a name is unknown.
        let every = || schema.names();
        for item in &block.body {
            let name = item.name();
            match item {
                BodyItem::Attribute(a) if schema.attribute(&name.name).is_some() => {
                    if let Some(first) = fields.attr(&name.name) {
                        self.report(duplicate_attribute(&name.name, name.span, first.name.span));
                    } else {
                        fields.attributes.push(a);
                    }
                }
                BodyItem::Block(b) if schema.child(&name.name).is_some() => {
                    let repeatable = schema.child(&name.name).is_some_and(|c| c.repeatable);
                    let first = fields.blocks.iter().find(|f| f.kind.name == name.name).map(|f| f.kind.span);
                    match first {
                        Some(first) if !repeatable => {
                            self.report(duplicate_attribute(&name.name, name.span, first));
                        }
                        _ => fields.blocks.push(b),
                    }
                }
                BodyItem::Attribute(_) if schema.child(&name.name).is_some() => {
                    self.report(
                        Diagnostic::new(
                            Code::E0007,
                            format!("`{}` is a block, not an attribute", name.name),
                            item.span(),
                            "expected a block",
                        )
                        .with_help(format!("write `{} {{ ... }}`", name.name)),
                    );
                }
                BodyItem::Block(_) if schema.attribute(&name.name).is_some() => {
                    self.report(
                        Diagnostic::new(
                            Code::E0007,
                            format!("`{}` is an attribute, not a block", name.name),
                            name.span,
                            "expected `=`",
                        )
                        .with_help(format!("write `{} = VALUE`", name.name)),
                    );
                }
                _ => {
                    let noun = if matches!(item, BodyItem::Block(_)) { "block" } else { "attribute" };
                    let nearest = suggest::nearest(&name.name, every());
                    fields.suggested.extend(nearest);
                    let help = nearest.map(|n| format!("did you mean `{n}`?")).unwrap_or_else(|| {
                        format!("`{}` takes: {}", schema.what, every().collect::<Vec<_>>().join(", "))
                    });
                    self.report(
                        Diagnostic::new(
                            Code::E0003,
                            format!("unknown {noun} `{}` in `{}`", name.name, schema.what),
                            name.span,
                            format!("not an attribute of `{}`", schema.what),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        fields
    }

    /// The attribute `name` of `fields`, reporting E0008 if it is absent.
    pub(super) fn required<'a>(
        &mut self,
        fields: &Fields<'a>,
        name: &str,
        example: &str,
    ) -> Option<&'a Attribute> {
        let found = fields.attr(name);
        if found.is_none() && !fields.suggested.contains(&name) {
            self.missing(fields.block, name, &format!("add `{name} = {example}`"));
        }
        found
    }

    /// Reports that `block` lacks `name` (E0008), pointing at the block's header.
    pub(super) fn missing(&mut self, block: &Block, name: &str, help: &str) {
        self.report(
            Diagnostic::new(
                Code::E0008,
                format!("missing required attribute `{name}` in `{}`", title(block)),
                block.header,
                format!("`{name}` is required here"),
            )
            .with_help(help),
        );
    }

    /// A nested block must (or must not) have a name.
    pub(super) fn expect_label(&mut self, block: &Block, wanted: bool) {
        match (&block.label, wanted) {
            (Some(label), true) if block.quoted => self.report(crate::resolve::quoted_name(block, label)),
            (Some(label), false) => self.report(
                Diagnostic::new(
                    Code::E0001,
                    format!("`{}` takes no name", block.kind.name),
                    label.span,
                    "unexpected name",
                )
                .with_help(format!("write `{} {{ ... }}`", block.kind.name)),
            ),
            (None, true) => self.report(
                Diagnostic::new(
                    Code::E0001,
                    format!("expected a name after `{}`", block.kind.name),
                    block.kind.span,
                    "this block needs a name",
                )
                .with_help(format!("write `{} NAME {{ ... }}`", block.kind.name)),
            ),
            _ => {}
        }
    }
}

fn duplicate_attribute(name: &str, again: crate::source::Span, first: crate::source::Span) -> Diagnostic {
    Diagnostic::new(Code::E0004, format!("`{name}` is set twice"), again, "set again here")
        .with_label(first, "first set here")
        .with_help(format!("remove one of the `{name}`s"))
}
