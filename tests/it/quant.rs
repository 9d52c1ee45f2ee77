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
