use crate::diag::Code;
use crate::ir::{Callee, Choice, Distance, Domain, Node, Price, Side};
use crate::source::SourceFile;
use crate::{check, CheckOptions, Checked, NoHost};

fn checked(text: &str) -> Checked {
    check(&SourceFile::new("s.gaf", text), &NoHost, &CheckOptions::default())
}

/// The (code, line, message) of every diagnostic.
fn problems(text: &str) -> Vec<(Code, usize, String)> {
    let source = SourceFile::new("s.gaf", text);
    checked(text)
        .diagnostics
        .iter()
        .map(|d| (d.code, source.line_col(d.primary_span().start as usize).0, d.message.clone()))
        .collect()
}

/// Asserts exactly one diagnostic, with `code` on `line`, whose message or help has `word`.
fn fails(text: &str, code: Code, line: usize, word: &str) {
    let source = SourceFile::new("s.gaf", text);
    let found = checked(text).diagnostics;
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!((d.code, source.line_col(d.primary_span().start as usize).0), (code, line), "{d:#?}");
    let said = format!("{} {}", d.message, d.help.clone().unwrap_or_default());
    assert!(said.contains(word), "{word:?} not in {said:?}");
}

const EMA_RSI: &str = "strategy ema_rsi {
  genes {
    fast  = 5..50
    slow  = 20..200
    level = 50.0..80.0 step 0.5
    ma    = [sma, ema, wma]
    stop  = [1%, 2%, 4%]
  }
  where = fast < slow
  entry = crosses_above(ma(close, fast), ma(close, slow)) and rsi(close, 14) < level
  exit  = crosses_below(ma(close, fast), ma(close, slow))
  side  = long
  stop_loss     = stop
  take_profit   = 6%
  trailing_stop = 3 * atr(14)
  size          = 100%
}
";

#[test]
fn the_specs_example_checks_clean_into_typed_rules() {
    let result = checked(EMA_RSI);
    assert!(result.diagnostics.is_empty(), "{:#?}", result.diagnostics);
    let program = result.program.expect("program");
    let s = &program.strategies[0];
    assert_eq!(s.name, "ema_rsi");
    assert_eq!(
        s.genes.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["fast", "slow", "level", "ma", "stop"]
    );
    assert_eq!(s.genes[2].domain, Domain::Float { lo: 50.0, hi: 80.0, step: Some(0.5) });
    assert_eq!(
        s.genes[3].domain,
        Domain::Choice(vec![Choice::Indicator("sma"), Choice::Indicator("ema"), Choice::Indicator("wma")])
    );
    assert_eq!(s.side, Side::Long);
    let ma = |period| Node::Indicator {
        callee: Callee::Gene(3),
        args: vec![Node::Price(Price::Close), Node::Gene(period)],
        output: 0,
    };
    assert_eq!(
        s.exit,
        Some(Node::CrossesAbove(Box::new(ma(1)), Box::new(ma(0)))),
        "crosses_below(a, b) is crosses_above(b, a)"
    );
    assert_eq!(s.stop_loss, Some(Distance::Fraction(Node::Gene(4))));
    assert_eq!(s.take_profit, Some(Distance::Fraction(Node::Const(0.06))));
    assert!(matches!(s.trailing_stop, Some(Distance::Price(Node::Arith(..)))));
    assert_eq!(s.size, Node::Const(1.0));
}

#[test]
fn a_file_of_strategies_alone_is_a_library_and_checks_clean() {
    let text = format!(
        "{EMA_RSI}\nstrategy macd_both {{\n  genes {{ k = 5..15 }}\n  side = both\n  entry = crosses_above(macd(close, 12, 26, k).line, 0)\n  exit = macd(close, 12, 26, k).hist < 0\n  entry_short = crosses_below(macd(close, 12, 26, k).line, 0)\n  exit_short = not (macd(close, 12, 26, k).hist < 0)\n}}\n"
    );
    let found = problems(&text);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_indicator_of_the_library_is_callable_as_documented() {
    let rules = [
        "sma(close, 5) > ema(close, 5)",
        "wma(close, 5) > 0 and rsi(close, 14) < 30",
        "bollinger(close, 20, 2.5).upper < close",
        "atr(14) > 1 or adx(14) > 25",
        "stochastic(14, 3).k > stochastic(14, 3).d",
        "cci(20) < -100 and obv() > lag(obv(), 5)",
        "roc(close, 10) > 0 and highest(high, 20) > lowest(low, 20)",
        "vwap(20) < close and close > lag(highest(high, 20), 1)",
        "(close - open) / open > 1% and volume > 2 * sma(volume, 20)",
    ];
    for rule in rules {
        let text = format!("strategy s {{\n  entry = {rule}\n}}\n");
        let found = problems(&text);
        assert!(found.is_empty(), "{rule}: {found:#?}");
    }
}

fn with_rule(genes: &str, rule: &str) -> String {
    format!("strategy s {{\n  genes {{ {genes} }}\n  entry = {rule}\n}}\n")
}

#[test]
fn names_calls_and_arities_are_checked_with_did_you_mean() {
    fails(
        &with_rule("fast = 5..50", "crosses_above(sma(close, fast), smaa(close, 20))"),
        Code::E0013,
        3,
        "did you mean `sma`?",
    );
    fails(&with_rule("fast = 5..50", "sma(closs, fast) > 0"), Code::E0005, 3, "did you mean `close`?");
    fails(&with_rule("fast = 5..50", "sma(close, fsat) > 0"), Code::E0005, 3, "did you mean `fast`?");
    fails(&with_rule("fast = 5..50", "sma(close) > 0"), Code::E0008, 3, "sma(x, n)");
    fails(&with_rule("fast = 5..50", "sma(close, fast, 3) > 0"), Code::E0003, 3, "takes 2");
    fails(&with_rule("fast = 5..50", "sma(close, m = 3) > 0"), Code::E0003, 3, "did you mean `n`?");
    fails(&with_rule("fast = 5..50", "macd(close, 12, 26, 9) > 0"), Code::E0007, 3, "`.line`");
    fails(
        &with_rule("fast = 5..50", "macd(close, 12, 26, 9).lin > 0"),
        Code::E0013,
        3,
        "did you mean `line`?",
    );
    fails(&with_rule("fast = 5..50", "sma(close, 3).upper > 0"), Code::E0013, 3, "one output");
    fails(&with_rule("fast = 5..50", "obv > 0"), Code::E0007, 3, "obv()");
}

#[test]
fn periods_must_be_ints_fixed_per_genome() {
    fails(&with_rule("level = 0.5..2.5", "sma(close, level) > 0"), Code::E0007, 3, "float gene `level`");
    fails(&with_rule("n = 5..50", "sma(close, close) > 0"), Code::E0007, 3, "a series");
    fails(&with_rule("n = 5..50", "sma(close, 2.5) > 0"), Code::E0007, 3, "a float");
    fails(&with_rule("n = 0..50", "sma(close, n) > 0"), Code::E0009, 3, "at least 1");
    fails(&with_rule("n = 5..50", "sma(20, n) > 0"), Code::E0007, 3, "a series");
    fails(&with_rule("ma = [sma, ema]", "ma > close"), Code::E0007, 3, "ma(x, n)");
}

#[test]
fn rules_must_be_conditions_and_where_must_be_over_genes() {
    fails(&with_rule("n = 5..50", "sma(close, n)"), Code::E0007, 3, "a condition for `entry`");
    fails(&with_rule("n = 5..50", "close > 1 and sma(close, n)"), Code::E0007, 3, "a condition for `and`");
    fails(
        "strategy s {\n  genes { n = 5..50 }\n  where = close > n\n  entry = close > 1\n}\n",
        Code::E0007,
        3,
        "genes alone",
    );
}

#[test]
fn gene_declarations_are_checked() {
    fails(&with_rule("n = 50..5", "close > n"), Code::E0009, 2, "`5..50`");
    fails(&with_rule("x = 0.5..2.5 step 0", "close > x"), Code::E0009, 2, "step");
    fails(&with_rule("x = []", "close > 1"), Code::E0009, 2, "at least one");
    fails(&with_rule("x = [sma, 2]", "close > 1"), Code::E0007, 2, "mixes");
    fails(&with_rule("x = [sma, atr]", "close > 1"), Code::E0007, 2, "different parameters");
    fails(&with_rule("x = [1, 1]", "close > 1"), Code::E0004, 2, "twice");
    fails(&with_rule("close = 1..5", "close > 1"), Code::E0004, 2, "price series");
    fails(&with_rule("x = \"a\"", "close > 1"), Code::E0007, 2, "range");
    fails(&with_rule("x = 1..5  x = 2..6", "close > x"), Code::E0004, 2, "twice");
}

#[test]
fn a_where_no_genes_satisfy_is_an_error() {
    fails(
        "strategy s {\n  genes {\n    fast = 50..100\n    slow = 5..40\n  }\n  where = fast < slow\n  entry = close > 1\n}\n",
        Code::E0018,
        6,
        "`fast`, `slow`",
    );
    // Satisfiable only at the very end of both ranges: found.
    let ok = "strategy s {\n  genes {\n    fast = 5..40\n    slow = 40..90\n  }\n  where = fast >= slow\n  entry = close > 1\n}\n";
    assert!(problems(ok).is_empty());
    // A continuous float gene is not judged.
    let float =
        "strategy s {\n  genes { x = 0.0..1.0 }\n  where = x > 0.3 and x < 0.30001\n  entry = close > 1\n}\n";
    assert!(problems(float).is_empty());
}

#[test]
fn sides_and_their_rules_must_agree() {
    fails("strategy s {\n  entry = close > 1\n  entry_short = close < 1\n}\n", Code::E0019, 3, "side = both");
    fails(
        "strategy s {\n  side = short\n  entry = close > 1\n  entry_short = close < 1\n}\n",
        Code::E0019,
        3,
        "entry_short",
    );
    fails("strategy s {\n  side = short\n  exit_short = close < 1\n}\n", Code::E0008, 1, "entry_short");
    fails("strategy s {\n  side = sideways\n  entry = close > 1\n}\n", Code::E0013, 2, "side");
}

#[test]
fn stops_targets_and_size_are_checked() {
    fails(
        "strategy s {\n  entry = close > 1\n  stop_loss = 150%\n}\n",
        Code::E0009,
        3,
        "between 0% and 100%",
    );
    fails(
        "strategy s {\n  entry = close > 1\n  stop_loss = close > 1\n}\n",
        Code::E0007,
        3,
        "percent or a price distance",
    );
    fails("strategy s {\n  entry = close > 1\n  size = 0.5\n}\n", Code::E0007, 3, "50%");
    fails("strategy s {\n  entry = close > 1\n  size = 120%\n}\n", Code::E0009, 3, "(0%, 100%]");
    fails(
        "strategy s {\n  entry = close > 1\n  stop_los = 2%\n}\n",
        Code::E0003,
        3,
        "did you mean `stop_loss`?",
    );
}

#[test]
fn logic_and_steps_outside_strategies_are_type_errors() {
    fails("let x = 1 and 2\n", Code::E0007, 1, "strategy's rules");
    fails("let x = 1..5 step 1\n", Code::E0007, 1, "genes");
}
