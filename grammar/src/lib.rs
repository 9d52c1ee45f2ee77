//! The pest grammar of the gaform language. Owns the syntax only: no AST, no semantics.
//! The compiler turns the pairs this produces into its AST.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

// pest is built without `std` (see the workspace Cargo.toml); its generated code names `alloc`.
extern crate alloc;

use pest_derive::Parser;

/// The parser generated from `gaf.pest`.
#[derive(Parser)]
#[grammar = "gaf.pest"]
pub struct GafParser;

/// What a user would call the thing a rule matches, for "expected ..." messages.
pub fn human_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::block => "a block",
        Rule::attribute => "an attribute",
        Rule::assign => "`=`",
        Rule::comma => "`,`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::ident | Rule::name => "a name",
        Rule::expr | Rule::paren => "a value",
        Rule::neg | Rule::sub => "`-`",
        Rule::add => "`+`",
        Rule::mul => "`*`",
        Rule::div => "`/`",
        Rule::le => "`<=`",
        Rule::ge => "`>=`",
        Rule::eq => "`==`",
        Rule::ne => "`!=`",
        Rule::lt => "`<`",
        Rule::gt => "`>`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
        Rule::kw_step => "`step`",
        Rule::number | Rule::bound => "a number",
        Rule::range => "a range",
        Rule::money => "an amount of money",
        Rule::percent => "a percentage",
        Rule::duration => "a duration",
        Rule::string | Rule::string_part | Rule::text => "a string",
        Rule::escape => "an escape (`\\\"`, `\\\\` or `\\n`)",
        Rule::list => "a list",
        Rule::args => "an argument list",
        Rule::argument | Rule::named_arg => "an argument",
        Rule::file | Rule::item_at | Rule::end_at => "a block or `let`",
        Rule::expr_at => "a value",
        Rule::body_item => "an attribute or a block",
        Rule::ident_char => "a letter, digit, `_` or `-`",
        Rule::operand | Rule::primary => "a value",
        Rule::infix => "an operator",
        Rule::digits | Rule::exponent => "a digit",
        Rule::WHITESPACE | Rule::comment => "whitespace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pest::Parser;

    #[test]
    fn parses_every_literal_kind() {
        let src = r#"let a = [1, 1_000, 0.1, 1e-3, "s\"x", true, $1_000.5, 80%, 30s, 2..50, 0.01..0.5, -3]"#;
        assert!(GafParser::parse(Rule::file, src).is_ok());
    }

    #[test]
    fn range_bounds_are_not_floats() {
        let pairs = GafParser::parse(Rule::expr, "2..50")
            .map(|p| p.flatten().map(|p| p.as_rule()).collect::<Vec<_>>());
        assert_eq!(pairs.ok(), Some(vec![Rule::expr, Rule::range, Rule::bound, Rule::bound]));
    }

    #[test]
    fn names_may_contain_dashes() {
        assert!(GafParser::parse(Rule::file, "budget genetic-algorithm-budget { amount = $1 }").is_ok());
    }
}
