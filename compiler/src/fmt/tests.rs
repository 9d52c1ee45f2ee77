use super::*;
use crate::ast::shape;

fn fmt(text: &str) -> String {
    match format(&SourceFile::new("t.gaf", text)) {
        Ok(out) => out,
        Err(e) => panic!("{e:#?}"),
    }
}

fn same_meaning(a: &str, b: &str) -> bool {
    let mut p = Problems::default();
    shape(&parse::parse(&SourceFile::new("a", a), &mut p))
        == shape(&parse::parse(&SourceFile::new("b", b), &mut p))
}

#[test]
fn aligns_runs_and_expands_blocks() {
    let text = "cloud c {\nprovider=local\n  region =  \"x\" }\ncompute x { cloud = c\n head { instance_type = \"m5.large\" }\n\n  max_cpus = 5 }";
    let out = fmt(text);
    assert_eq!(
        out,
        "cloud c {\n  provider = local\n  region   = \"x\"\n}\n\ncompute x {\n  cloud = c\n  head {\n    instance_type = \"m5.large\"\n  }\n\n  max_cpus = 5\n}\n"
    );
    assert_eq!(fmt(&out), out);
    assert!(same_meaning(text, &out));
}

#[test]
fn keeps_every_comment() {
    let text = "# top\n\n# about c\ncloud c { # opening\n  # inside\n  provider = local # trailing\n  tags = [1, # in a value\n 2]\n  # before close\n}\n# end\n";
    let out = fmt(text);
    for c in [
        "# top",
        "# about c",
        "# opening",
        "# inside",
        "# trailing",
        "# in a value",
        "# before close",
        "# end",
    ] {
        assert!(out.contains(c), "{c} lost:\n{out}");
    }
    assert_eq!(fmt(&out), out, "not idempotent:\n{out}");
    assert!(same_meaning(text, &out));
}

#[test]
fn canonical_expressions_keep_literals() {
    let out = fmt("let x=(1_000+$2.50)*-3\nlet y = f( a=1,2 )\n\n\n\nlet z = [ \"a\" ,\"b\\\"\" ]");
    assert_eq!(out, "let x = (1_000 + $2.50) * -3\nlet y = f(a = 1, 2)\n\nlet z = [\"a\", \"b\\\"\"]\n");
}

#[test]
fn broken_files_are_not_formatted() {
    assert!(format(&SourceFile::new("t", "cloud c { x = = 1 }")).is_err());
}

#[test]
fn trailing_comment_stays_with_the_last_item_on_its_line() {
    let out = fmt("b {\n  alert { at = 1 action = 2 } # after alert\n  min = 1 max = 2 # after max\n}\n");
    assert_eq!(
        out,
        "b {\n  alert {\n    at     = 1\n    action = 2\n  } # after alert\n  min = 1\n  max = 2 # after max\n}\n"
    );
}

#[test]
fn comment_between_name_and_value_is_kept() {
    // Found by the fuzz test.
    let text = "compute x {\n  auto_terminate = #80%\n c\n  a # why\n = 1\n}\nlet y = # note\n 2\n";
    let out = fmt(text);
    assert!(out.contains("#80%") && out.contains("# why") && out.contains("# note"), "{out}");
    assert_eq!(fmt(&out), out);
    assert!(same_meaning(text, &out));
}
