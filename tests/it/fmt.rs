//! `gaform fmt`: canonical output (snapshotted), idempotent, meaning-preserving, and the
//! command's `--check`, stdin and in-place modes.

use crate::support::{gaf_files, gaform, rel, root};
use gaform_compiler::ast::shape;
use gaform_compiler::diag::Problems;
use gaform_compiler::source::SourceFile;

fn format(text: &str) -> Option<String> {
    gaform_compiler::fmt::format(&SourceFile::new("t.gaf", text)).ok()
}

fn shape_of(text: &str) -> String {
    shape(&gaform_compiler::parse::parse(&SourceFile::new("t.gaf", text), &mut Problems::default()))
}

fn all_fixtures() -> Vec<std::path::PathBuf> {
    let mut files = gaf_files("examples");
    for dir in ["valid", "invalid", "warnings", "fmt"] {
        files.extend(gaf_files(&format!("tests/fixtures/{dir}")));
    }
    files
}

#[test]
fn formatting_is_idempotent_and_keeps_meaning() {
    for f in all_fixtures() {
        let text = std::fs::read_to_string(&f).expect("fixture");
        let Some(once) = format(&text) else { continue };
        assert_eq!(format(&once).as_deref(), Some(once.as_str()), "{} is not stable", rel(&f));
        assert_eq!(shape_of(&once), shape_of(&text), "{} changed meaning", rel(&f));
    }
}

#[test]
fn examples_are_already_formatted() {
    for f in gaf_files("examples") {
        let text = std::fs::read_to_string(&f).expect("example");
        assert_eq!(format(&text).as_deref(), Some(text.as_str()), "run `gaform fmt {}`", rel(&f));
    }
}

#[test]
fn formatted_output() {
    insta::glob!("../fixtures", "{fmt,valid}/*.gaf", |path| {
        let text = std::fs::read_to_string(path).expect("fixture");
        insta::assert_snapshot!(format(&text).expect("formats"));
    });
}

#[test]
fn check_lists_files_that_would_change() {
    let out = gaform(&["fmt", "--check", "examples/quickstart.gaf", "tests/fixtures/fmt/messy.gaf"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tests/fixtures/fmt/messy.gaf\n");
}

#[test]
fn stdin_to_stdout() {
    let out = gaform(&["fmt", "-"], Some("cloud c {provider=local}"));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cloud c {\n  provider = local\n}\n");
}

#[test]
fn rewrites_in_place_and_refuses_broken_files() {
    let dir = root().join("target/fmt-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.gaf");
    let bad = dir.join("bad.gaf");
    std::fs::write(&good, "cloud c {provider=local}").expect("write");
    std::fs::write(&bad, "cloud c { provider = = local }").expect("write");
    let out = gaform(&["fmt", &rel(&good), &rel(&bad)], None);
    assert_eq!(out.status.code(), Some(1), "the broken file fails the run");
    assert_eq!(std::fs::read_to_string(&good).expect("read"), "cloud c {\n  provider = local\n}\n");
    assert_eq!(
        std::fs::read_to_string(&bad).expect("read"),
        "cloud c { provider = = local }",
        "left untouched"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0001"));
    let leftovers = std::fs::read_dir(&dir)
        .expect("dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with('.')))
        .count();
    assert_eq!(leftovers, 0, "no temporary files left behind");
}
