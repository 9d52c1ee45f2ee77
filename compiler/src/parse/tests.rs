use super::*;
use crate::diag::Code;

fn parse_ok(text: &str) -> File {
    let mut problems = Problems::default();
    let file = parse(&SourceFile::new("t.gaf", text), &mut problems);
    let found = problems.finish(text.len());
    assert!(found.is_empty(), "{found:#?}");
    file
}

fn errors(text: &str) -> Vec<(Code, String, usize)> {
    let mut problems = Problems::default();
    let source = SourceFile::new("t.gaf", text);
    parse(&source, &mut problems);
    problems
        .finish(text.len())
        .into_iter()
        .map(|d| (d.code, d.message.clone(), source.line_col(d.primary_span().start as usize).0))
        .collect()
}

#[test]
fn precedence_and_units() {
    let file = parse_ok("let x = 1 + 2 * -3 / (4 - $5) < 80%\nlet d = 1.5h");
    assert_eq!(
        shape(&file),
        "(let x (< (+ 1 (/ (* 2 (- 3)) (paren (- 4 $5.0)))) 80.0%))(let d 5400.0sHours)"
    );
}

#[test]
fn blocks_calls_lists_paths() {
    let file = parse_ok(
        "job j { strategy = sma(fast = 2..50, 3) workers = evo.cpu\n xs = [\"a\", \"b\\\"\",] inner { a = true } }",
    );
    assert_eq!(
        shape(&file),
        r#"(job Some("j") (strategy sma(fast=Int(2)..Int(50),3,)) (workers evo.cpu) (xs ["a","b\"",]) (inner None (a true)))"#
    );
}

#[test]
fn syntax_error_says_what_was_expected() {
    let errs = errors("cloud c {\n  max = = 1\n}\n");
    assert_eq!(errs, vec![(Code::E0001, "expected a value, found `=`".to_string(), 2)]);
}

#[test]
fn every_broken_item_is_reported() {
    let errs = errors("a x {\n b = \n}\nc y {\n d = 1 }\ne z {\n f = = 2\n}\n");
    let lines: Vec<usize> = errs.iter().map(|e| e.2).collect();
    assert_eq!(lines, vec![3, 7]);
}

#[test]
fn end_of_input_points_at_last_token() {
    let errs = errors("cloud c {\n  provider = local\n\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].2, 2);
    assert!(errs[0].1.contains("end of file"), "{:?}", errs[0]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("let x = {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(errors(&text)[0].0, Code::E0001);
}

#[test]
fn long_chains_are_an_error_not_a_crash() {
    let text = format!("let x = 1{}", " + 1".repeat(100_000));
    assert_eq!(errors(&text)[0].0, Code::E0001);
}

#[test]
fn names_are_ascii() {
    let errs = errors("cloud café {\n  provider = local\n}\n");
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].0, errs[0].2), (Code::E0001, 1));
    assert!(errors("cloud c-1_x { provider = local }").is_empty());
}

#[test]
fn huge_integer_is_out_of_range() {
    assert_eq!(errors("let x = 99999999999999999999")[0].0, Code::E0009);
}

#[test]
fn spans_end_at_the_last_token() {
    let text = "cloud c {\n  a = b   # note\n  c = evo.cpu  \n  d = f(x)  \n}\n";
    let file = parse_ok(text);
    let Some(Item::Block(block)) = file.items.first() else { panic!("no block") };
    let values: Vec<&str> = block
        .body
        .iter()
        .map(|item| match item {
            BodyItem::Attribute(a) => &text[a.value.span.start as usize..a.value.span.end as usize],
            BodyItem::Block(_) => "",
        })
        .collect();
    assert_eq!(values, vec!["b", "evo.cpu", "f(x)"]);
}

#[test]
fn syntax_errors_are_capped() {
    let text = "a x {\n  b = = 1\n}\n".repeat(MAX_SYNTAX_ERRORS + 20);
    let errs = errors(&text);
    assert_eq!(errs.len(), MAX_SYNTAX_ERRORS + 1);
    assert!(errs.iter().any(|e| e.1.contains("too many syntax errors")));
}

#[test]
fn messages_for_common_slips() {
    let first = |text: &str| errors(text).into_iter().next().map(|e| (e.1, e.2));
    assert_eq!(
        first("cloud c {\n  provider local\n}\n"),
        Some(("expected `=` between `provider` and `local`".into(), 2))
    );
    assert_eq!(first("job j { s = f(a = 1 b = 2) }"), Some(("expected `,` or `)`, found `b`".into(), 1)));
    assert_eq!(first("cloud c {\n  region = \"us\n}\n"), Some(("unterminated string".into(), 2)));
    assert_eq!(first("let y = \"a\\qb\""), Some(("unknown escape `\\q` in a string".into(), 1)));
    assert_eq!(
        first("cloud c {\n  p = \"a\" \"b\"\n}"),
        Some(("expected `}` or a name, found `\"b\"`".into(), 2))
    );
}

#[test]
fn unclosed_brace_is_labelled() {
    let mut problems = Problems::default();
    let text = "cloud c {\n  provider = local\n";
    parse(&SourceFile::new("t", text), &mut problems);
    let found = problems.finish(text.len());
    assert!(
        found[0].labels.iter().any(|l| !l.primary && l.span.start == 8 && l.message.contains("never closed")),
        "{found:#?}"
    );
}

#[test]
fn fast_parser_agrees_with_pest_on_non_ascii_paths() {
    // Found by the differential fuzz test.
    let text = "let v = a.b.éc\ncloud c { x = é }\nlet w = 1é\n";
    let source = SourceFile::new("t", text);
    let (mut a, mut b) = (Problems::default(), Problems::default());
    assert_eq!(parse(&source, &mut a), parse_reference(&source, &mut b));
    assert_eq!(a.finish(text.len()), b.finish(text.len()));
}

#[test]
fn a_block_name_may_be_a_string_and_both_parsers_unescape_it_alike() {
    let file =
        both_agree("monitor m {\n  alert \"low \\\"use\\\"\" { when = cost > 1 }\n  alert plain {}\n}\n");
    let Some(crate::ast::Item::Block(monitor)) = file.items.first() else { panic!("{file:?}") };
    let alerts: Vec<_> = monitor
        .body
        .iter()
        .filter_map(|i| match i {
            crate::ast::BodyItem::Block(b) => {
                Some((b.label.as_ref().map(|l| l.name.to_string()), b.quoted, b.header))
            }
            _ => None,
        })
        .collect();
    assert_eq!(alerts[0].0.as_deref(), Some("low \"use\""));
    assert!(alerts[0].1 && !alerts[1].1);
    assert_eq!(alerts[0].2, crate::source::Span::new(14, 33), "the header runs to the closing quote");
}

/// Both parsers on `text`: the same tree (spans included) and no error.
fn both_agree(text: &str) -> File {
    let fast = parse_ok(text);
    let mut problems = Problems::default();
    let reference = parse_reference(&SourceFile::new("t.gaf", text), &mut problems);
    assert!(problems.finish(text.len()).is_empty());
    assert_eq!(fast, reference, "{text}");
    fast
}

#[test]
fn logic_binds_looser_than_comparisons_and_not_binds_between() {
    let file = both_agree("let r = not a < b and c > 1 or not not d * 2 == e and f");
    assert_eq!(shape(&file), "(let r (or (and (not (< a b)) (> c 1)) (and (not (not (== (* d 2) e))) f)))");
    // A name that starts with a keyword is a name.
    assert_eq!(shape(&both_agree("let r = nota < andx or order")), "(let r (or (< nota andx) order))");
}

#[test]
fn a_range_may_have_a_step_and_a_call_an_output() {
    let file = both_agree("strategy s {\n genes { level = 50.0..80.0 step 0.5\n n = 5..50 }\n entry = macd(close, 12, 26, 9).line > 0\n}");
    assert_eq!(
        shape(&file),
        "(strategy Some(\"s\") (genes None (level Float(50.0)..Float(80.0)stepFloat(0.5)) (n Int(5)..Int(50))) (entry (> (output macd(close,12,26,9,) line) 0)))"
    );
    // An attribute named `step` after a range is not the range's step.
    assert_eq!(
        shape(&both_agree("genes { a = 1..5\n step = 2 }")),
        "(genes None (a Int(1)..Int(5)) (step 2))"
    );
}

#[test]
fn a_not_with_nothing_after_it_is_a_syntax_error() {
    let errs = errors("strategy s {\n entry = not\n}\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Code::E0001);
}

#[test]
fn durations_take_weeks_and_calendar_months_and_years() {
    let file = both_agree("let a = [30s, 6m, 1.5h, 2d, 3w, 6mo, 2y]");
    assert_eq!(
        shape(&file),
        "(let a [30.0sSeconds,360.0sMinutes,5400.0sHours,172800.0sDays,1814400.0sWeeks,6.0mo,24.0mo,])"
    );
    // A unit runs into a name: not a duration, in either parser.
    for text in ["let a = 6min", "let a = 6moo", "let a = 2yr", "let a = 3wk"] {
        assert_eq!(errors(text).first().map(|e| e.0), Some(Code::E0001), "{text}");
        let (mut fast, mut reference) = (Problems::default(), Problems::default());
        let source = SourceFile::new("t", text);
        assert_eq!(parse(&source, &mut fast), parse_reference(&source, &mut reference), "{text}");
    }
}
