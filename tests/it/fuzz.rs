//! No input makes `check` or `fmt` panic or hang: random bytes, random tokens, and valid
//! programs with random edits. Whenever `fmt` succeeds its output must be stable and mean
//! the same. Bounded here; `GAFORM_FUZZ_ITERS=N` runs longer (see BENCHMARKS.md).

use gaform_compiler::ast::shape;
use gaform_compiler::diag::Problems;
use gaform_compiler::source::SourceFile;
use gaform_compiler::{check, CheckOptions, NoHost};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "=",
    "==",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    ",",
    ".",
    "..",
    "$",
    "%",
    "\"",
    "\\",
    "#",
    "//",
    "\n",
    " ",
    "let",
    "cloud",
    "compute",
    "job",
    "workers",
    "head",
    "alert",
    "migration",
    "x",
    "a-b",
    "_",
    "1",
    "0.5",
    "1e999",
    "99999999999999999999",
    "$1_000",
    "80%",
    "30m",
    "2..50",
    "-3..-1",
    "true",
    "sma_crossover",
    "tournament",
    "max",
    "min",
    "instance_type",
    "\"c5.large\"",
    "and",
    "or",
    "not",
    "step",
    "stepx",
    ".line",
    "strategy",
    "genes",
    "where",
    "0.5..1.5 step 0.25",
    "crosses_above",
    "é",
    "\u{0}",
    "\r\n",
];

pub(crate) fn mutate(rng: &mut StdRng, base: &str) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..6) {
        let len = bytes.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..=len) };
        match rng.random_range(0..5) {
            0 if len > 0 => {
                let end = (at + rng.random_range(1..40)).min(len);
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            2 if len > 0 => {
                let from = rng.random_range(0..len);
                let end = (from + rng.random_range(1..80)).min(len);
                let chunk: Vec<u8> = bytes[from..end].to_vec();
                bytes.splice(at..at, chunk);
            }
            3 if at < len => bytes[at] = rng.random(),
            _ => bytes.insert(at, rng.random_range(b' '..=b'~')),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The text of every comment, in order.
fn comments(text: &str) -> Vec<String> {
    gaform_compiler::trivia::comments(text)
        .iter()
        .map(|c| text[c.start as usize..c.end as usize].trim_end().to_string())
        .collect()
}

fn random_tokens(rng: &mut StdRng) -> String {
    (0..rng.random_range(0..60))
        .map(|_| TOKENS[rng.random_range(0..TOKENS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A random program the grammar accepts (it need not type-check): every literal form,
/// operators, calls, lists, paths, comments and odd but legal spacing.
fn random_program(rng: &mut StdRng) -> String {
    let mut out = String::new();
    for _ in 0..rng.random_range(1..5) {
        if rng.random_bool(0.3) {
            out.push_str(&format!("let v{} ={}", rng.random_range(0..9), space(rng)));
            out.push_str(&random_expr(rng, 3));
        } else {
            random_block(rng, &mut out, 2);
        }
        out.push_str(if rng.random_bool(0.2) { " # done\n" } else { "\n" });
    }
    out
}

fn space(rng: &mut StdRng) -> &'static str {
    [" ", "  ", "\t", "\n ", " // c\n", "\r\n", " #x\n  "][rng.random_range(0..7)]
}

fn random_block(rng: &mut StdRng, out: &mut String, depth: u32) {
    out.push_str(
        ["cloud", "job", "workers", "head", "x-y_z", "strategy", "genes", "alert"][rng.random_range(0..8)],
    );
    if rng.random_bool(0.7) {
        out.push_str(&format!(" n{}", rng.random_range(0..5)));
    } else if rng.random_bool(0.3) {
        // A quoted name (an alert's), escapes and all.
        out.push_str([" \"low-utilisation\"", " \"a \\\"b\\\" c\"", " \"\""][rng.random_range(0..3)]);
    }
    out.push_str(space(rng));
    out.push('{');
    for _ in 0..rng.random_range(0..4) {
        out.push_str(space(rng));
        if depth > 0 && rng.random_bool(0.25) {
            random_block(rng, out, depth - 1);
        } else {
            out.push_str(&format!("a{}{}={}", rng.random_range(0..5), space(rng), space(rng)));
            out.push_str(&random_expr(rng, 3));
        }
    }
    out.push_str(space(rng));
    out.push('}');
}

fn random_expr(rng: &mut StdRng, depth: u32) -> String {
    let leaf = |rng: &mut StdRng| -> String {
        const LEAVES: &[&str] = &[
            "1",
            "1_000",
            "0.5",
            "1e-3",
            "2E+4",
            "12.5e3",
            "$3",
            "$0.384",
            "$1_000.5",
            "80%",
            "0.1%",
            "30s",
            "15m",
            "2h",
            "1.5d",
            "2..50",
            "0.01..0.5",
            "-3..-1",
            "1..-2",
            "\"s\"",
            "\"a\\\"b\\\\c\\n\"",
            "\"\"",
            "\"é#x\"",
            "true",
            "false",
            "spot",
            "aws_west",
            "evo.cpu",
            "a.b.c",
            "genetic-algorithm",
            "true_x",
            "let",
            "_x",
            "10..50 step 5",
            "0.5..2.5 step 0.25",
            "1..2\tstep\n-1",
            "close",
            "nota",
            "order",
            "andx",
        ];
        LEAVES[rng.random_range(0..LEAVES.len())].to_string()
    };
    if depth == 0 {
        return leaf(rng);
    }
    match rng.random_range(0..10) {
        8 => format!(
            "not{}{}",
            [" ", "  ", "\n", " #c\n"][rng.random_range(0..4)],
            random_expr(rng, depth - 1)
        ),
        9 => {
            let call = format!(
                "macd{}(close, {})",
                if rng.random_bool(0.2) { " " } else { "" },
                random_expr(rng, depth - 1)
            );
            format!("{call}.{}", ["line", "signal", "_h", "x1"][rng.random_range(0..4)])
        }
        0 => {
            // One minus per operand: a leaf that starts with one goes in parentheses.
            let inner = leaf(rng);
            let inner = if inner.starts_with('-') { format!("({inner})") } else { inner };
            format!("-{}{inner}", if rng.random_bool(0.3) { " " } else { "" })
        }
        1 => {
            let op =
                ["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or"][rng.random_range(0..12)];
            format!(
                "{}{}{op}{}{}",
                random_expr(rng, depth - 1),
                space(rng),
                space(rng),
                random_expr(rng, depth - 1)
            )
        }
        2 => format!("({}{})", space(rng), random_expr(rng, depth - 1)),
        3 => {
            let items: Vec<String> =
                (0..rng.random_range(0..4)).map(|_| random_expr(rng, depth - 1)).collect();
            let trailing = if !items.is_empty() && rng.random_bool(0.3) { "," } else { "" };
            format!("[{}{trailing}]", items.join(&format!(",{}", space(rng))))
        }
        4 => {
            let args: Vec<String> = (0..rng.random_range(0..4))
                .map(|i| {
                    if rng.random_bool(0.5) {
                        format!("k{i}{}={}{}", space(rng), space(rng), random_expr(rng, depth - 1))
                    } else {
                        random_expr(rng, depth - 1)
                    }
                })
                .collect();
            format!("f{}({})", if rng.random_bool(0.2) { " " } else { "" }, args.join(", "))
        }
        _ => leaf(rng),
    }
}

fn random_bytes(rng: &mut StdRng) -> String {
    let bytes: Vec<u8> = (0..rng.random_range(0..200)).map(|_| rng.random()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs one input through check and fmt; panics (failing the test) on any broken promise.
pub fn exercise(text: &str) {
    let source = SourceFile::new("fuzz.gaf", text);
    // The fast parser must build exactly pest's tree, spans included, and the same errors.
    let (mut fast_problems, mut reference_problems) = (Problems::default(), Problems::default());
    let fast = gaform_compiler::parse::parse(&source, &mut fast_problems);
    let reference = gaform_compiler::parse::parse_reference(&source, &mut reference_problems);
    assert_eq!(fast, reference, "the parsers disagree on {text:?}");
    assert_eq!(fast_problems.finish(text.len()), reference_problems.finish(text.len()), "on {text:?}");
    let checked = check(&source, &NoHost, &CheckOptions::default());
    for d in &checked.diagnostics {
        for l in &d.labels {
            assert!(
                l.span.end as usize <= text.len() && l.span.start <= l.span.end,
                "label out of range: {d:?}"
            );
        }
    }
    if let Ok(once) = gaform_compiler::fmt::format(&source) {
        let again = gaform_compiler::fmt::format(&SourceFile::new("fuzz.gaf", once.as_str()));
        assert_eq!(again.as_deref().ok(), Some(once.as_str()), "fmt not stable for {text:?}");
        let mut p = Problems::default();
        let before = shape(&gaform_compiler::parse::parse(&source, &mut p));
        let after = shape(&gaform_compiler::parse::parse(&SourceFile::new("f", once.as_str()), &mut p));
        assert_eq!(before, after, "fmt changed meaning of {text:?}");
        assert_eq!(comments(text), comments(&once), "fmt lost or moved a comment of {text:?}");
    }
}

#[test]
fn no_input_panics() {
    let iterations: u64 =
        std::env::var("GAFORM_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let seeds: Vec<String> = crate::support::gaf_files("examples")
        .into_iter()
        .chain(crate::support::gaf_files("tests/fixtures/invalid"))
        .chain(crate::support::gaf_files("tests/fixtures/valid"))
        .chain(crate::support::gaf_files("tests/fixtures/fmt"))
        .map(|p| std::fs::read_to_string(p).expect("seed"))
        .collect();
    let mut rng = StdRng::seed_from_u64(0x9af0);
    let started = std::time::Instant::now();
    for i in 0..iterations {
        let input = match i % 6 {
            0 => random_bytes(&mut rng),
            1 => random_tokens(&mut rng),
            2 => random_program(&mut rng),
            3 => {
                let program = random_program(&mut rng);
                mutate(&mut rng, &program)
            }
            _ => {
                let seed = rng.random_range(0..seeds.len());
                mutate(&mut rng, &seeds[seed])
            }
        };
        exercise(&input);
    }
    eprintln!("fuzz: {iterations} inputs in {:.1?}", started.elapsed());
}

/// One small edit as a user makes them, near the cursor (which now and then jumps): a token
/// typed, a few bytes deleted, a line duplicated, or (rarely) brackets past the nesting limit.
fn edit(rng: &mut StdRng, text: &str, cursor: &mut usize) -> String {
    *cursor = if rng.random_bool(0.1) {
        rng.random_range(0..=text.len())
    } else {
        (*cursor + rng.random_range(0..40)).saturating_sub(20).min(text.len())
    };
    let mut at = *cursor;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let (before, after) = text.split_at(at);
    match rng.random_range(0..10) {
        0..=4 => format!("{before}{}{after}", TOKENS[rng.random_range(0..TOKENS.len())]),
        5..=7 => {
            let mut end = (at + rng.random_range(1..12)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            format!("{before}{}", &text[end..])
        }
        8 => {
            let line = after.split_inclusive('\n').next().unwrap_or("");
            format!("{before}{line}{after}")
        }
        _ => format!("{before}{}{after}", "[".repeat(rng.random_range(30..80))),
    }
}

/// The language server reparses each new version reusing the last one's items: after any
/// chain of edits, small or wholesale, the result is the whole parse's, errors included,
/// and most items of a long file are reused rather than parsed again.
#[test]
fn a_reparse_after_any_edit_is_the_whole_parse() {
    let read = |dir: &str| -> Vec<String> {
        crate::support::gaf_files(dir)
            .into_iter()
            .map(|p| std::fs::read_to_string(p).expect("seed"))
            .collect()
    };
    let (examples, invalid) = (read("examples"), read("tests/fixtures/invalid"));
    let mut rng = StdRng::seed_from_u64(0x5e9a);
    // Over chains of small edits to valid files: how many items were reused.
    let (mut reused, mut items) = (0, 0);
    for round in 0..300 {
        // Several seeds in one file, so that there is a prefix and a suffix to reuse.
        let seeds = if round % 2 == 0 { &examples } else { &invalid };
        let mut text: String = (0..4).map(|_| seeds[rng.random_range(0..seeds.len())].as_str()).collect();
        let mut parsed = gaform_compiler::parse::reparse(
            &SourceFile::new("r", text.as_str()),
            &mut Problems::default(),
            None,
        );
        let wholesale = round % 5 == 1;
        let mut cursor = rng.random_range(0..text.len());
        for _ in 0..20 {
            text = if wholesale { mutate(&mut rng, &text) } else { edit(&mut rng, &text, &mut cursor) };
            let source = SourceFile::new("r", text.as_str());
            let (mut again, mut whole) = (Problems::default(), Problems::default());
            parsed = gaform_compiler::parse::reparse(&source, &mut again, Some(parsed));
            let expected = gaform_compiler::parse::parse(&source, &mut whole);
            assert_eq!(parsed.file(), &expected, "reparse differs on {text:?}");
            assert_eq!(again.finish(text.len()), whole.finish(text.len()), "errors differ on {text:?}");
            if round % 2 == 0 {
                reused += parsed.reused();
                items += expected.items.len();
            }
        }
    }
    eprintln!("reparse: {reused} of {items} items reused over chains of small edits");
    assert!(reused * 10 > items * 7, "most items are reused: {reused} of {items}");
}

#[test]
fn generated_programs_parse() {
    // Keeps the generator honest: its programs must be accepted, or the differential
    // test above would compare two parsers that both give up.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let text = random_program(&mut rng);
        let mut problems = Problems::default();
        gaform_compiler::parse::parse_reference(&SourceFile::new("g", text.as_str()), &mut problems);
        let found = problems.finish(text.len());
        assert!(found.iter().all(|d| d.code != gaform_compiler::diag::Code::E0001), "{text}\n{found:#?}");
    }
}
