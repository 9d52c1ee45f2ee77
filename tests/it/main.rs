//! The one integration test binary (one build shared by every topic).

mod apply;
mod backtest;
mod cli;
mod codes;
mod fixtures;
mod fmt;
mod fuzz;
mod plan;
mod run;
mod support;
