//! The Python quant stack gaform is held to: pandas (the indicators' reference definitions)
//! and backtesting.py 0.6.6 (the backtester's), installed into target/quant on first use.
//! `GAFORM_QUANT_VENV` names a venv of one's own.

use std::path::PathBuf;
use std::sync::OnceLock;

/// What the venv holds. A change here reinstalls it.
const REQUIREMENTS: [&str; 2] = ["pandas==3.1.1", "backtesting==0.6.6"];

/// The venv's python, installing the venv first if need be.
pub fn python() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let venv = VENV.get_or_init(|| match std::env::var_os("GAFORM_QUANT_VENV") {
        Some(own) => Ok(PathBuf::from(own)),
        None => crate::provision::component("quant", &REQUIREMENTS.join("\n"), |dir| {
            crate::provision::python_venv(dir, &REQUIREMENTS)
        }),
    });
    let venv =
        venv.clone().unwrap_or_else(|e| panic!("the reference tests need pandas and backtesting.py: {e}"));
    venv.join("bin/python")
}

/// Runs each script as `python SCRIPT` would (as `__main__`, its own globals), all in one
/// interpreter, and gives each one's stdout or its traceback. Importing pandas and
/// backtesting.py costs a second of CPU, more than a backtest: once per batch, not per script.
pub fn run_scripts(scripts: &[PathBuf]) -> Vec<Result<String, String>> {
    const RUNNER: &str = r#"
import contextlib, io, json, runpy, sys, traceback
for path in sys.argv[1:]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as e:
                if e.code not in (None, 0):
                    raise
        answer = {"ok": out.getvalue()}
    except BaseException:
        answer = {"error": traceback.format_exc()}
    print(json.dumps(answer), flush=True)
"#;
    if scripts.is_empty() {
        return Vec::new();
    }
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(RUNNER)
        .args(scripts)
        .output()
        .expect("python starts");
    assert!(out.status.success(), "the runner: {}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<Result<String, String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let answer: serde_json::Value = serde_json::from_str(line).expect("the runner's JSON");
            match answer["ok"].as_str() {
                Some(stdout) => Ok(stdout.to_string()),
                None => Err(answer["error"].as_str().unwrap_or_default().to_string()),
            }
        })
        .collect();
    assert_eq!(answers.len(), scripts.len(), "one answer per script");
    answers
}
