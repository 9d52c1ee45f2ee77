//! The spec's fixtures: valid programs and examples check clean; each invalid program
//! fails with the code, line and help word its first line names; rendered diagnostics
//! are snapshotted.

use crate::support::{expectation, gaf_files, gaform, rel};
use serde_json::Value;

fn json_check(file: &str, deny_warnings: bool) -> (i32, Value) {
    let mut args = vec!["check", "--format", "json", file];
    if deny_warnings {
        args.push("--deny-warnings");
    }
    let out = gaform(&args, None);
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "one JSON line per file:\n{stdout}");
    let json: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    (out.status.code().unwrap_or(-1), json)
}

fn assert_expected(file: &str, deny_warnings: bool) {
    let text = std::fs::read_to_string(crate::support::root().join(file)).expect("fixture");
    let want = expectation(&text);
    let (code, json) = json_check(file, deny_warnings);
    assert_eq!(code, 1, "{file} must fail");
    assert_eq!(json["file"], file);
    let found = json["diagnostics"].as_array().expect("diagnostics").iter().any(|d| {
        let primary_on_line = d["labels"].as_array().is_some_and(|ls| {
            ls.iter().any(|l| l["primary"] == true && want.lines.contains(&l["line"].as_u64().unwrap_or(0)))
        });
        let help_ok =
            want.help.as_ref().is_none_or(|w| d["help"].as_str().is_some_and(|h| h.contains(w.as_str())));
        d["code"] == want.code.as_str() && primary_on_line && help_ok
    });
    assert!(found, "{file}: expected {want:?}, got {json:#}");
}

#[test]
fn invalid_programs_fail_as_their_first_line_says() {
    let files = gaf_files("tests/fixtures/invalid");
    assert!(files.len() >= 13);
    for f in files {
        assert_expected(&rel(&f), false);
    }
}

#[test]
fn warnings_are_reported_and_denied_on_request() {
    for f in gaf_files("tests/fixtures/warnings") {
        let file = rel(&f);
        let (code, json) = json_check(&file, false);
        assert_eq!(code, 0, "{file}: warnings alone exit 0: {json}");
        assert!(json["diagnostics"].as_array().is_some_and(|d| d.iter().all(|d| d["severity"] == "warning")));
        assert_expected(&file, true);
    }
}

#[test]
fn valid_programs_and_examples_check_clean() {
    let mut files = gaf_files("tests/fixtures/valid");
    files.extend(gaf_files("examples"));
    assert!(files.len() >= 7);
    for f in files {
        let file = rel(&f);
        let (code, json) = json_check(&file, false);
        assert_eq!(code, 0, "{file}: {json:#}");
        let errors: Vec<&Value> = json["diagnostics"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
}

#[test]
fn examples_have_no_warnings_but_the_production_budget() {
    for f in gaf_files("examples") {
        let file = rel(&f);
        let (_, json) = json_check(&file, false);
        let codes: Vec<&str> =
            json["diagnostics"].as_array().expect("list").iter().filter_map(|d| d["code"].as_str()).collect();
        let expected: &[&str] = if file.ends_with("seed-production.gaf") { &["W0001"] } else { &[] };
        assert_eq!(codes, expected, "{file}");
    }
}

#[test]
fn rendered_diagnostics() {
    rendered("rendered_diagnostics", "invalid/*.gaf");
}

#[test]
fn rendered_warnings() {
    rendered("rendered_warnings", "warnings/*.gaf");
}

fn rendered(name: &str, pattern: &str) {
    insta::glob!("../fixtures", pattern, |path| {
        let file = rel(path);
        let text = std::fs::read_to_string(path).expect("fixture");
        let out = gaform(&["check", &file], None);
        let rendered = String::from_utf8(out.stdout).expect("utf-8");
        insta::assert_snapshot!(name, format!("----- SOURCE\n{text}\n----- DIAGNOSTICS\n{rendered}"));
    });
}
