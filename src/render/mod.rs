//! Rendering for people (miette) and programs (JSON).

pub mod diagnostics;
