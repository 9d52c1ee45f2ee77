//! The GA runtime: knows nothing of the `.gaf` language. Owns market data, indicators,
//! strategies (the built-ins, and `rules`: those written in a file, as typed programs), the backtester (`backtest`, which follows backtesting.py 0.6.6's conventions
//! so that a winner found here can be re-checked there), the evolution engine (`ga`), the
//! store islands meet in (`store`) and the results files (`results`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod atomic;
pub mod backtest;
pub mod data;
pub mod ga;
pub mod hex;
pub mod indicators;
pub mod results;
pub mod rng;
pub mod rules;
pub mod store;
pub mod strategy;
pub mod stream;
pub mod telemetry;
pub mod windows;
