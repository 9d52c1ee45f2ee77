//! Command-line behaviour: exit codes, the `validate` alias, JSON purity, errors for
//! unreadable files.

use crate::support::gaform;

#[test]
fn validate_is_an_alias_of_check() {
    let out = gaform(&["validate", "examples/quickstart.gaf"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn missing_file_is_an_error_with_its_path() {
    let out = gaform(&["check", "no/such.gaf"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such.gaf"));
}

#[test]
fn unreadable_file_still_gets_its_json_line() {
    let out = gaform(&["check", "--format", "json", "no/such.gaf"], None);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["file"], "no/such.gaf");
    assert!(json["error"].as_str().is_some_and(|e| e.contains("cannot read")));
}

#[test]
fn several_files_give_one_json_line_each() {
    let out = gaform(
        &[
            "check",
            "--format",
            "json",
            "examples/quickstart.gaf",
            "tests/fixtures/invalid/e0004-duplicate.gaf",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["diagnostics"].as_array().map(Vec::len), Some(0));
    assert_eq!(lines[1]["diagnostics"][0]["code"], "E0004");
    let labels = lines[1]["diagnostics"][0]["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 2, "both definitions are labelled");
}

#[test]
fn json_positions_are_one_based_lines_and_character_columns() {
    let out = gaform(&["check", "--format", "json", "tests/fixtures/invalid/e0007-type-mismatch.gaf"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = json["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["code"] == "E0007")
        .cloned()
        .expect("E0007");
    let label = &d["labels"][0];
    assert_eq!((label["line"].as_u64(), label["column"].as_u64()), (Some(6), Some(20)));
    assert_eq!(label["length"].as_u64(), Some(3));
    assert_eq!(d["message"], "expected duration, found percent");
}

#[test]
fn human_output_has_code_label_and_help() {
    let out = gaform(&["check", "tests/fixtures/invalid/e0005-unresolved.gaf"], None);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("E0005")
            && text.contains("no cloud named `aws_wset`")
            && text.contains("did you mean `aws_west`?")
    );
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
}
