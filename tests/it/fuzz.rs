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
    "é",
    "\u{0}",
    "\r\n",
];

fn mutate(rng: &mut StdRng, base: &str) -> String {
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

fn random_bytes(rng: &mut StdRng) -> String {
    let bytes: Vec<u8> = (0..rng.random_range(0..200)).map(|_| rng.random()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs one input through check and fmt; panics (failing the test) on any broken promise.
pub fn exercise(text: &str) {
    let source = SourceFile::new("fuzz.gaf", text);
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
        .chain(crate::support::gaf_files("tests/fixtures/fmt"))
        .map(|p| std::fs::read_to_string(p).expect("seed"))
        .collect();
    let mut rng = StdRng::seed_from_u64(0x9af0);
    let started = std::time::Instant::now();
    for i in 0..iterations {
        let input = match i % 4 {
            0 => random_bytes(&mut rng),
            1 => random_tokens(&mut rng),
            _ => {
                let seed = rng.random_range(0..seeds.len());
                mutate(&mut rng, &seeds[seed])
            }
        };
        exercise(&input);
    }
    eprintln!("fuzz: {iterations} inputs in {:.1?}", started.elapsed());
}
