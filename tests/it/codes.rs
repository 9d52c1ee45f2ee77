//! The diagnostic registry matches the language doc's tables, and every error code that a
//! program alone can trigger has an invalid fixture.

use gaform_compiler::diag::Code;

#[test]
fn registry_matches_the_language_doc() {
    let doc =
        std::fs::read_to_string(crate::support::root().join("docs/language.md")).expect("docs/language.md");
    let documented: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|c| {
            c.len() == 5
                && (c.starts_with('E') || c.starts_with('W'))
                && c[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    let registered: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, registered);
}

#[test]
fn every_error_code_has_a_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    for dir in ["tests/fixtures/invalid", "tests/fixtures/warnings"] {
        for f in crate::support::gaf_files(dir) {
            let text = std::fs::read_to_string(f).expect("fixture");
            seen.insert(crate::support::expectation(&text).code);
        }
    }
    for code in Code::ALL {
        assert!(seen.contains(code.as_str()), "no fixture for {code}");
    }
}
