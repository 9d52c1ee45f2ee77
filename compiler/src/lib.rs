//! The gaform compiler: `.gaf` text → AST → resolved, type-checked IR, plus the formatter.
//! Pure: no IO (the one host need, probing data files, goes through `Host`), no async.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod ast;
pub mod diag;
pub mod parse;
pub mod source;
pub mod trivia;
